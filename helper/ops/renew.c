/* cmd_schedule.c — `schedule` (automated renewal on or off, deploy days
 * and time) and `renew` (what the timer runs every few minutes). */
#include "cmd/commands.h"

#include <string.h>
#include <syslog.h>

#include "apr_strings.h"

#include "ops/cert_state.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "crypto/crypt_random.h"
#include "acme/json.h"
#include "ops/notify.h"
#include "ops/provider.h"
#include "base/schedule.h"
#include "base/state.h"

#define ALL_DAYS 0x7f
#define DEFAULT_MINUTE (3 * 60)
#define WARN_INTERVAL 86400

typedef struct {
    cert_state_t *cert;
    json_t *sched; /* schedule.json */
    schedule_conf_t conf;
    schedule_facts_t facts;
} renew_cert_t;

static apr_status_t load_schedule(json_t **out, cert_state_t *cert,
                                  const char **err)
{
    apr_status_t rv = state_read_json(out, cert_state_file(cert,
                                                           "schedule.json"),
                                      err, cert->cli->pool);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *out = json_pool_bind(json_object(), cert->cli->pool);
        return APR_SUCCESS;
    }
    return rv;
}

static apr_status_t save_schedule(cert_state_t *cert, json_t *sched,
                                  const char **err)
{
    return state_write_json(cert_state_file(cert, "schedule.json"), sched,
                            err, cert->cli->pool);
}

static json_int_t int_member(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void conf_from_json(schedule_conf_t *c, json_t *sched)
{
    c->automated = json_is_true(json_object_get(sched, "automated"));
    json_t *days = json_object_get(sched, "days");
    c->days = json_is_integer(days) ? (unsigned)json_integer_value(days)
                                    : ALL_DAYS;
    json_t *minute = json_object_get(sched, "minute");
    c->minute_of_day = json_is_integer(minute)
                           ? (int)json_integer_value(minute)
                           : DEFAULT_MINUTE;
}

static void facts_gather(renew_cert_t *rc)
{
    cert_state_t *cert = rc->cert;
    schedule_facts_t *f = &rc->facts;
    const char *err = NULL;
    json_t *j = NULL;
    memset(f, 0, sizeof(*f));
    f->has_csr = cert_state_has(cert, "csr.pem");
    f->has_pending = cert_state_has(cert, "pending.pem");
    if (f->has_pending &&
        state_read_json(&j, cert_state_file(cert, "pending.json"), &err,
                        cert->cli->pool) == APR_SUCCESS)
        f->pending_signed = int_member(j, "signed");
    if (state_read_json(&j, cert_state_file(cert, "deployed.json"), &err,
                        cert->cli->pool) == APR_SUCCESS) {
        f->has_deployed = 1;
        f->not_before = int_member(j, "not_before");
        f->not_after = int_member(j, "not_after");
    }
    f->next_attempt = int_member(rc->sched, "next_attempt");
    f->failures = (int)int_member(rc->sched, "failures");
    f->ari_time = int_member(rc->sched, "ari_time");
    json_t *times = json_object_get(rc->sched, "resubmit");
    f->resubmit[0] = json_integer_value(json_array_get(times, 0));
    f->resubmit[1] = json_integer_value(json_array_get(times, 1));
}

/* New random resubmission times once both stored ones have passed. */
static void plan_resubmit(renew_cert_t *rc, apr_int64_t now)
{
    schedule_facts_t *f = &rc->facts;
    if (!f->has_deployed || f->has_pending ||
        (f->resubmit[0] > now || f->resubmit[1] > now))
        return;
    apr_int64_t due = schedule_renewal_due(f->not_before, f->not_after);
    schedule_plan_resubmit(f->resubmit, now, due, f->not_after,
                           crypt_random_below);
    json_object_set_new(rc->sched, "resubmit",
                        json_pack("[I, I]", (json_int_t)f->resubmit[0],
                                  (json_int_t)f->resubmit[1]));
}

#define ARI_DEFAULT_RECHECK (6 * 3600)

static apr_int64_t clamp_recheck(long retry_after)
{
    if (retry_after < 0)
        return ARI_DEFAULT_RECHECK;
    if (retry_after < 60)
        return 60;
    return retry_after > 86400 ? 86400 : retry_after;
}

/* The deployed leaf, read back from the live file. */
static X509 *deployed_leaf(cli_t *cli, const char *name)
{
    const expacme_cert_conf_t *conf = config_cert(cli->config, name);
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_array_header_t *chain = NULL;
    if (conf == NULL ||
        state_read_file(&pem, &len, conf->cert_file, STATE_FILE_MAX, &err,
                        cli->pool) != APR_SUCCESS ||
        crypt_chain_parse(&chain, pem, len, &err, cli->pool) != APR_SUCCESS)
        return NULL;
    return APR_ARRAY_IDX(chain, 0, X509 *);
}

/* RFC 9773: asks the CA (when it offers renewalInfo, and when its last
 * Retry-After has passed) for its window, and keeps a uniformly random
 * moment in it; the schedule uses it when it is earlier than 2/3. */
static void ari_refresh(cli_t *cli, renew_cert_t *rc, apr_int64_t now)
{
    if (!rc->facts.has_deployed || rc->facts.has_pending ||
        int_member(rc->sched, "ari_next_check") > now)
        return;
    X509 *leaf = deployed_leaf(cli, rc->cert->name);
    const char *id = leaf ? crypt_cert_ari_id(leaf, cli->pool) : NULL;
    provider_conn_t conn;
    const char *err = NULL;
    apr_int64_t start = 0, end = 0;
    long retry_after = -1;
    if (id == NULL || provider_connect(&conn, cli, NULL, 0, &err) !=
                          APR_SUCCESS)
        return;
    apr_status_t rv = acme_renewal_info(&start, &end, &retry_after,
                                        conn.session, id, &err, cli->pool);
    json_object_set_new(rc->sched, "ari_next_check",
                        json_integer(now + clamp_recheck(retry_after)));
    if (rv != APR_SUCCESS) {
        if (rv != APR_ENOTIMPL)
            cli_progress(cli, "%s: ARI: %s", rc->cert->name, err);
        return;
    }
    if (int_member(rc->sched, "ari_start") != start ||
        int_member(rc->sched, "ari_end") != end ||
        strcmp(json_string_member(rc->sched, "ari_id") ? json_string_member(
                                                             rc->sched,
                                                             "ari_id")
                                                       : "",
               id) != 0) {
        apr_int64_t span = end - start;
        apr_int64_t pick = start + (span > 0 ? crypt_random_below(
                                                   (unsigned)(span > UINT32_MAX
                                                                  ? UINT32_MAX
                                                                  : span))
                                             : 0);
        json_object_set_new(rc->sched, "ari_id", json_string(id));
        json_object_set_new(rc->sched, "ari_start", json_integer(start));
        json_object_set_new(rc->sched, "ari_end", json_integer(end));
        json_object_set_new(rc->sched, "ari_time", json_integer(pick));
    }
}

static const cli_opt_spec_t schedule_options[] = {
    {"auto", CLI_OPT_VALUE}, {"days", CLI_OPT_VALUE},
    {"time", CLI_OPT_VALUE}, {NULL, 0}};

cli_exit_t cmd_schedule_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, schedule_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    const char *on = cli_option(cli, "auto");
    const char *days = cli_option(cli, "days");
    const char *time = cli_option(cli, "time");
    if (on == NULL || (strcmp(on, "on") != 0 && strcmp(on, "off") != 0))
        return cli_fail(cli, CLI_EXIT_USAGE, 2951, "schedule needs --auto "
                        "on|off");
    unsigned mask = days ? schedule_parse_days(days) : ALL_DAYS;
    int minute = time ? schedule_parse_time(time) : DEFAULT_MINUTE;
    if (mask == 0)
        return cli_fail(cli, CLI_EXIT_USAGE, 2952, "--days: a list of mon, "
                        "tue, wed, thu, fri, sat, sun");
    if (minute < 0)
        return cli_fail(cli, CLI_EXIT_USAGE, 2953, "--time: HH:MM, 00:00 to "
                        "23:59");
    cert_state_t *cert = NULL;
    json_t *sched = NULL;
    const char *err = NULL;
    if (cert_state_open(&cert, cli, cli->cert_name, &err) != APR_SUCCESS ||
        load_schedule(&sched, cert, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2954, "%s", err);
    json_object_set_new(sched, "automated", json_boolean(strcmp(on, "on") ==
                                                         0));
    json_object_set_new(sched, "days", json_integer(mask));
    json_object_set_new(sched, "minute", json_integer(minute));
    if (save_schedule(cert, sched, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2955, "%s", err);
    cli->result = json_pack("{s:s, s:b, s:i, s:s}", "cert", cert->name,
                            "automated", strcmp(on, "on") == 0, "days",
                            (int)mask, "time",
                            apr_psprintf(cli->pool, "%02d:%02d", minute / 60,
                                         minute % 60));
    cli_say(cli, "automated renewal of %s: %s (deploy at %02d:%02d)\n",
            cert->name, on, minute / 60, minute % 60);
    return CLI_EXIT_OK;
}

/* The failed try's wait: the backoff step, or the CA's Retry-After when
 * that is longer (a rate limit is remembered across runs this way). */
static void note_failure(renew_cert_t *rc, apr_int64_t now)
{
    json_int_t failures = int_member(rc->sched, "failures") + 1;
    apr_int64_t wait = schedule_backoff((int)failures, crypt_random_below);
    json_t *sign = json_object_get(rc->cert->status, "last_sign");
    json_t *problem = json_object_get(sign, "problem");
    json_int_t retry_after = int_member(problem, "retry_after");
    if (retry_after > wait)
        wait = retry_after;
    json_object_set_new(rc->sched, "failures", json_integer(failures));
    json_object_set_new(rc->sched, "next_attempt",
                        json_integer((json_int_t)(now + wait)));
}

static void note_success(renew_cert_t *rc)
{
    static const char *const spent[] = {"failures", "next_attempt",
                                        "resubmit", "ari_id", "ari_start",
                                        "ari_end", "ari_time",
                                        "ari_next_check"};
    for (size_t i = 0; i < sizeof(spent) / sizeof(spent[0]); i++)
        json_object_del(rc->sched, spent[i]);
}

/* Manual mode past two-thirds: the warning (stderr, syslog, notify) once
 * a day; returned so that renew --json carries it too. */
static const char *warn_manual(cli_t *cli, renew_cert_t *rc,
                               const schedule_decision_t *d, apr_int64_t now)
{
    if (rc->conf.automated || !rc->facts.has_deployed ||
        now < d->renewal_due ||
        now - int_member(rc->sched, "last_warned") < WARN_INTERVAL)
        return NULL;
    const char *msg = apr_psprintf(cli->pool, "two-thirds of the lifetime "
                                   "of certificate %s has elapsed: sign and "
                                   "deploy a new one", rc->cert->name);
    syslog(LOG_WARNING, "EXP02960: %s", msg);
    cli_progress(cli, "warning: %s", msg);
    notify_event(cli, "renewal-warning", rc->cert->name, msg);
    json_object_set_new(rc->sched, "last_warned", json_integer(now));
    return msg;
}

static schedule_action_t forced_action(const renew_cert_t *rc,
                                       const schedule_decision_t *d,
                                       apr_int64_t now)
{
    if (rc->facts.has_pending)
        return SCHEDULE_DEPLOY;
    if (rc->facts.has_csr && (!rc->facts.has_deployed || now >= d->renewal_due))
        return SCHEDULE_SIGN;
    return SCHEDULE_NOTHING;
}

static const char *take_error(cli_t *cli)
{
    const char *error = NULL;
    if (cli->result != NULL) {
        const char *e = json_string_member(cli->result, "error");
        error = e ? apr_pstrdup(cli->pool, e) : NULL;
        json_decref(cli->result);
        cli->result = NULL;
    }
    return error;
}

static json_t *renew_act(cli_t *cli, renew_cert_t *rc,
                         const schedule_decision_t *d,
                         schedule_action_t action, apr_int64_t now)
{
    json_t *entry = json_pack("{s:s, s:s, s:I, s:I}", "cert", rc->cert->name,
                              "why", d->why, "renewal_due",
                              (json_int_t)d->renewal_due, "next_slot",
                              (json_int_t)d->next_slot);
    if (action == SCHEDULE_NOTHING) {
        json_object_set_new(entry, "action", json_string("none"));
        return entry;
    }
    const char *verb = action == SCHEDULE_SIGN ? "sign" : "deploy";
    cli_progress(cli, "%s: %s (%s)", rc->cert->name, verb, d->why);
    take_error(cli);
    /* A renewal tells the CA which certificate it replaces (RFC 9773). */
    const char *replaces = rc->facts.has_deployed
                               ? json_string_member(rc->sched, "ari_id")
                               : NULL;
    cli_exit_t code = action == SCHEDULE_SIGN
                          ? cmd_sign_cert(cli, rc->cert->name, NULL, replaces)
                          : cmd_deploy_cert(cli, rc->cert->name, d->why);
    const char *error = take_error(cli);
    /* Reread what sign or deploy wrote (last_sign with its problem). */
    const char *ignored = NULL;
    state_read_json(&rc->cert->status,
                    cert_state_file(rc->cert, "status.json"), &ignored,
                    cli->pool);
    if (code == CLI_EXIT_OK)
        note_success(rc);
    else
        note_failure(rc, now);
    json_object_set_new(entry, "action", json_string(verb));
    json_object_set_new(entry, "result",
                        json_string(code == CLI_EXIT_OK ? "success"
                                                        : "failure"));
    if (error != NULL)
        json_object_set_new(entry, "error", json_string(error));
    return entry;
}

static json_t *renew_one(cli_t *cli, const char *name, int now_flag,
                         int *failed)
{
    renew_cert_t rc;
    memset(&rc, 0, sizeof(rc));
    const char *err = NULL;
    if (cert_state_open(&rc.cert, cli, name, &err) != APR_SUCCESS ||
        load_schedule(&rc.sched, rc.cert, &err) != APR_SUCCESS) {
        *failed = 1;
        return json_pack("{s:s, s:s}", "cert", name, "error", err);
    }
    apr_int64_t now = cli_now();
    conf_from_json(&rc.conf, rc.sched);
    facts_gather(&rc);
    if (rc.conf.automated) {
        ari_refresh(cli, &rc, now);
        rc.facts.ari_time = int_member(rc.sched, "ari_time");
    }
    schedule_decision_t d;
    schedule_decide(&d, &rc.conf, &rc.facts, now);
    /* New random times only once the stored ones were used or missed:
     * a time that passed between two runs still counts (decided above). */
    if (rc.conf.automated && d.action == SCHEDULE_NOTHING) {
        plan_resubmit(&rc, now);
        schedule_decide(&d, &rc.conf, &rc.facts, now);
    }
    const char *warning = warn_manual(cli, &rc, &d, now);
    schedule_action_t action = now_flag ? forced_action(&rc, &d, now)
                                        : d.action;
    if (now_flag && action != SCHEDULE_NOTHING)
        d.why = "renew --now";
    json_t *entry = renew_act(cli, &rc, &d, action, now);
    if (warning != NULL)
        json_object_set_new(entry, "warning", json_string(warning));
    if (json_string_member(entry, "error") != NULL)
        *failed = 1;
    if (save_schedule(rc.cert, rc.sched, &err) != APR_SUCCESS) {
        cli_progress(cli, "warning: %s", err);
        *failed = 1;
    }
    return entry;
}

static const cli_opt_spec_t renew_options[] = {{"now", CLI_OPT_FLAG},
                                               {NULL, 0}};

cli_exit_t cmd_renew_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, renew_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    int now_flag = cli_option(cli, "now") != NULL;
    json_t *list = json_array();
    int failed = 0;
    apr_pool_t *outer = cli->pool;
    const expacme_config_t *config = cli->config;
    for (int i = 0; i < config->certs->nelts; i++) {
        const char *name =
            APR_ARRAY_IDX(config->certs, i, expacme_cert_conf_t *)->name;
        /* A pool per certificate: its locks and objects go with it. */
        apr_pool_t *sub = NULL;
        apr_pool_create(&sub, outer);
        cli->pool = sub;
        json_array_append_new(list, renew_one(cli, name, now_flag, &failed));
        cli->pool = outer;
        apr_pool_destroy(sub);
    }
    cli->result = json_pack("{s:o}", "certificates", list);
    return failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
