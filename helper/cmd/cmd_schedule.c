/* cmd_schedule.c — `schedule` (automated renewal on or off, deploy days
 * and time) and `renew` (what the timer runs every few minutes). */
#include "cmd/commands.h"

#include <string.h>

#include "apr_strings.h"

#include "base/schedule.h"
#include "ops/cert_schedule.h"
#include "ops/renew.h"

/* Deploy days as a list of names, Monday first (manual §3). */
static json_t *days_json(unsigned mask)
{
    const char *names[7];
    int n = schedule_day_names(mask, names);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_string(names[i]));
    return list;
}

/* The message number of an error, as cli_fail gives it; NULL for none. */
static json_t *code_json(int logno)
{
    return logno != 0 ? json_sprintf("EXP%05d", logno) : NULL;
}

static const cli_opt_spec_t schedule_options[] = {{"auto", CLI_OPT_VALUE},
                                                  {"days", CLI_OPT_VALUE},
                                                  {"time", CLI_OPT_VALUE},
                                                  {NULL, 0}};

cli_exit_t cmd_schedule_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, schedule_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    const char *on = cli_option(cli, "auto");
    const char *days = cli_option(cli, "days");
    const char *time = cli_option(cli, "time");
    if (on == NULL || (strcmp(on, "on") != 0 && strcmp(on, "off") != 0))
        return cli_fail(cli, CLI_EXIT_USAGE, 2951,
                        "schedule needs --auto "
                        "on|off");
    unsigned mask = days ? schedule_parse_days(days) : CERT_SCHEDULE_ALL_DAYS;
    int minute =
        time ? schedule_parse_time(time) : CERT_SCHEDULE_DEFAULT_MINUTE;
    if (mask == 0)
        return cli_fail(cli, CLI_EXIT_USAGE, 2952,
                        "--days: a list of mon, "
                        "tue, wed, thu, fri, sat, sun");
    if (minute < 0)
        return cli_fail(cli, CLI_EXIT_USAGE, 2953,
                        "--time: HH:MM, 00:00 to "
                        "23:59");
    int automated = strcmp(on, "on") == 0;
    ops_error_t error = {0};
    code = cli_report(cli,
                      cert_schedule_set(&error, &cli->ctx, cli->cert_name,
                                        automated, mask, minute),
                      &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result = json_pack(
        "{s:s, s:b, s:o, s:s}", "cert", cli->cert_name, "automated", automated,
        "days", days_json(mask), "time",
        apr_psprintf(cli->pool, "%02d:%02d", minute / 60, minute % 60));
    cli_say(cli, "automated renewal of %s: %s (deploy at %02d:%02d)\n",
            cli->cert_name, on, minute / 60, minute % 60);
    return CLI_EXIT_OK;
}

static json_t *entry_json(const renew_entry_t *e)
{
    if (e->action == NULL)
        return json_pack("{s:s, s:s?, s:o*}", "cert", e->cert, "error",
                         e->error, "code", code_json(e->logno));
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:I, s:s}", "cert", e->cert, "why", e->why,
                  "renewal_due", (json_int_t)e->renewal_due, "next_slot",
                  (json_int_t)e->next_slot, "action", e->action);
    if (e->result != NULL)
        json_object_set_new(o, "result", json_string(e->result));
    if (e->error != NULL)
        json_object_set_new(o, "error", json_string(e->error));
    if (e->error != NULL && e->logno != 0)
        json_object_set_new(o, "code", code_json(e->logno));
    if (e->warning != NULL)
        json_object_set_new(o, "warning", json_string(e->warning));
    return o;
}

static const cli_opt_spec_t renew_options[] = {{"now", CLI_OPT_FLAG},
                                               {NULL, 0}};

cli_exit_t cmd_renew_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, renew_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    cli_trap_signals();
    renew_result_t res;
    ops_status_t st =
        renew_run(&res, &cli->ctx, cli_option(cli, "now") != NULL);
    json_t *list = json_array();
    for (int i = 0; i < res.entries->nelts; i++)
        json_array_append_new(
            list, entry_json(&APR_ARRAY_IDX(res.entries, i, renew_entry_t)));
    cli->result = json_pack("{s:o}", "certificates", list);
    return st == OPS_OK ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}
