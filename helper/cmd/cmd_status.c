/* cmd_status.c — `status`: the status document (ops/status.h) printed
 * for people, or as it is for --json; published on the way. */
#include "cmd/commands.h"

#include <string.h>

#include "apr_strings.h"

#include "acme/acme_json.h"
#include "ops/cert_info.h"
#include "ops/status.h"

static void print_sign(cli_t *cli, const char *label, json_t *s)
{
    if (!json_is_object(s)) {
        cli_say(cli, "  %-20s never\n", label);
        return;
    }
    cli_say(cli, "  %-20s %s at %s: %s\n", label,
            acme_json_string_member(s, "result"),
            cert_info_time(json_integer_value(json_object_get(s, "time")),
                           cli->pool),
            acme_json_string_member(s, "detail")
                ? acme_json_string_member(s, "detail")
                : "");
}

/* Which challenge type validated each name in the last good sign. */
static void print_validated(cli_t *cli, json_t *validated)
{
    const char *name;
    json_t *type;
    int first = 1;
    json_object_foreach(validated, name, type)
    {
        cli_say(cli, "  %-20s %s by %s\n", first ? "validated" : "", name,
                json_string_value(type) ? json_string_value(type) : "?");
        first = 0;
    }
}

static void print_time(cli_t *cli, const char *label, json_t *t)
{
    if (json_is_integer(t) && json_integer_value(t) > 0)
        cli_say(cli, "  %-20s %s\n", label,
                cert_info_time(json_integer_value(t), cli->pool));
}

/* "deploy days  mon, wed, fri at 04:30" */
static void print_days(cli_t *cli, json_t *c)
{
    const char *list = NULL;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(c, "deploy_days"), i, d)
    {
        list = list == NULL ? json_string_value(d)
                            : apr_pstrcat(cli->pool, list, ", ",
                                          json_string_value(d), NULL);
    }
    if (list == NULL)
        return;
    const char *at = acme_json_string_member(c, "deploy_time");
    cli_say(cli, "  %-20s %s%s%s\n", "deploy days", list, at ? " at " : "",
            at ? at : "");
}

/* The CA's ARI window (RFC 9773) and the moment chosen inside it. */
static void print_ari(cli_t *cli, json_t *ari)
{
    json_t *start = json_object_get(ari, "start");
    json_t *end = json_object_get(ari, "end");
    if (!json_is_integer(start) || !json_is_integer(end))
        return;
    cli_say(cli, "  %-20s %s to %s\n", "ARI window",
            cert_info_time(json_integer_value(start), cli->pool),
            cert_info_time(json_integer_value(end), cli->pool));
    print_time(cli, "ARI time", json_object_get(ari, "time"));
}

/* Names, key and the validity of the deployed and pending leaves. */
static void print_leaves(cli_t *cli, json_t *c)
{
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(c, "names"), i, n)
    {
        cli_say(cli, "  %-20s %s\n", i == 0 ? "names" : "",
                json_string_value(n));
    }
    if (acme_json_string_member(c, "key_type"))
        cli_say(cli, "  %-20s %s\n", "key",
                acme_json_string_member(c, "key_type"));
    static const char *const which[] = {"deployed", "pending"};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = acme_json_object_member(c, which[k]);
        if (v == NULL)
            continue;
        const char *rule = acme_json_string_member(v, "renewal_rule");
        cli_say(
            cli, "  %-20s not before %s, not after %s, renewal due %s%s%s%s\n",
            which[k],
            cert_info_time(json_integer_value(json_object_get(v, "not_before")),
                           cli->pool),
            cert_info_time(json_integer_value(json_object_get(v, "not_after")),
                           cli->pool),
            cert_info_time(
                json_integer_value(json_object_get(v, "renewal_due")),
                cli->pool),
            rule ? " (" : "", rule ? rule : "", rule ? ")" : "");
    }
}

/* Automated renewal: on/off, the deploy slot and days, ARI, the
 * resubmission times and the backoff. */
static void print_renewal(cli_t *cli, json_t *c)
{
    cli_say(cli, "  %-20s %s\n", "automated",
            json_is_true(json_object_get(c, "automated")) ? "on" : "off");
    print_time(cli, "next deploy slot", json_object_get(c, "next_deploy_slot"));
    print_days(cli, c);
    print_ari(cli, json_object_get(c, "ari"));
    json_t *times = json_object_get(c, "resubmit");
    print_time(cli, "resubmission at", json_array_get(times, 0));
    print_time(cli, "resubmission at", json_array_get(times, 1));
    print_time(cli, "next attempt after", json_object_get(c, "next_attempt"));
}

static void print_cert(cli_t *cli, json_t *c)
{
    const char *error = acme_json_string_member(c, "error");
    if (error != NULL) {
        /* cert_status found its state unreadable: say why, not "(null)" */
        cli_say(cli, "%s: state unreadable: %s\n",
                acme_json_string_member(c, "name"), error);
        return;
    }
    cli_say(cli, "%s: %s\n", acme_json_string_member(c, "name"),
            acme_json_string_member(c, "state"));
    print_leaves(cli, c);
    print_renewal(cli, c);
    const char *provider = acme_json_string_member(c, "provider");
    const char *account = acme_json_string_member(c, "account");
    cli_say(cli, "  %-20s %s\n", "provider", provider ? provider : "(none)");
    cli_say(cli, "  %-20s %s\n", "account", account ? account : "(none)");
    print_sign(cli, "last sign status", json_object_get(c, "last_sign"));
    print_validated(
        cli, json_object_get(json_object_get(c, "last_sign"), "validated"));
    print_sign(cli, "last deploy status", json_object_get(c, "last_deploy"));
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(c, "warnings"), i, n)
    {
        cli_say(cli, "  warning: %s\n", json_string_value(n));
    }
}

cli_exit_t cmd_status_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    json_t *doc = status_document(&cli->ctx);
    status_publish(&cli->ctx, doc);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "certificates"), i, c)
    {
        if (strcmp(cli->cert_name, "server") == 0 ||
            strcmp(acme_json_string_member(c, "name"), cli->cert_name) == 0)
            print_cert(cli, c);
    }
    cli->result = doc;
    return CLI_EXIT_OK;
}
