/* cmd_token.c — `token put|del|list`: checks the arguments against the
 * token rules, runs the operation (ops/token.h) and prints the store. */
#include "cmd/commands.h"

#include <string.h>

#include "ops/token.h"
#include "token_rules.h"

#define TOKEN_DEFAULT_TTL 600
#define TOKEN_MAX_TTL (7 * 24 * 3600)

static const cli_opt_spec_t put_options[] = {
    {"host", CLI_OPT_VALUE}, {"ttl", CLI_OPT_VALUE}, {NULL, 0}};

/* Everything from the command line, before the store is touched. */
static cli_exit_t check_put(cli_t *cli, const char *token, const char *keyauth,
                            const char *host, unsigned long *ttl)
{
    if (host == NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2111, "token put needs --host");
    if (!token_rules_token_valid(token, strlen(token)))
        return cli_fail(cli, CLI_EXIT_USAGE, 2112,
                        "token must be 1-255 base64url characters");
    if (!token_rules_keyauth_valid(keyauth, strlen(keyauth)))
        return cli_fail(cli, CLI_EXIT_USAGE, 2113,
                        "key authorization must be 1-511 characters of "
                        "base64url and '.'");
    if (!token_rules_host_valid(host, strlen(host)))
        return cli_fail(cli, CLI_EXIT_USAGE, 2114,
                        "--host must be a DNS name or IP address");
    if (cli_option(cli, "ttl") != NULL &&
        (cli_parse_uint(cli_option(cli, "ttl"), TOKEN_MAX_TTL, ttl) != 0 ||
         *ttl == 0))
        return cli_fail(cli, CLI_EXIT_USAGE, 2115,
                        "--ttl must be 1..%d seconds", TOKEN_MAX_TTL);
    return CLI_EXIT_OK;
}

static cli_exit_t token_put_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, put_options, 2, 2);
    if (code != CLI_EXIT_OK)
        return code;
    const char *token = cli->argv[0];
    const char *host = cli_option(cli, "host");
    unsigned long ttl = TOKEN_DEFAULT_TTL;
    code = check_put(cli, token, cli->argv[1], host, &ttl);
    if (code != CLI_EXIT_OK)
        return code;
    token_put_result_t res;
    ops_error_t error = {0};
    code = cli_report(
        cli, token_put(&res, &error, &cli->ctx, host, token, cli->argv[1], ttl),
        &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result = json_pack("{s:s, s:s, s:I}", "token", token, "host", host,
                            "expires", (json_int_t)res.expires);
    cli_say(cli, "published %s for %s, expires in %lus\n", token, host, ttl);
    return CLI_EXIT_OK;
}

static cli_exit_t token_del_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 1, 1);
    if (code != CLI_EXIT_OK)
        return code;
    const char *token = cli->argv[0];
    if (!token_rules_token_valid(token, strlen(token)))
        return cli_fail(cli, CLI_EXIT_USAGE, 2121,
                        "token must be 1-255 base64url characters");
    token_del_result_t res;
    ops_error_t error = {0};
    code = cli_report(cli, token_del(&res, &error, &cli->ctx, token), &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result =
        json_pack("{s:s, s:i}", "token", token, "removed", res.removed);
    cli_say(cli, "removed %s (%u entr%s)\n", token, res.removed,
            res.removed == 1 ? "y" : "ies");
    return CLI_EXIT_OK;
}

static json_t *entry_json(const token_entry_t *e, apr_int64_t now)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:b}", "host", e->host, "token",
                     e->token, "keyauth", e->keyauth, "expires",
                     (json_int_t)e->expires, "expired", e->expires <= now);
}

static void print_entries(cli_t *cli, const token_list_result_t *res,
                          json_t *list)
{
    for (int i = 0; i < res->entries->nelts; i++) {
        const token_entry_t *e = &APR_ARRAY_IDX(res->entries, i, token_entry_t);
        apr_int64_t left = e->expires - res->now;
        json_array_append_new(list, entry_json(e, res->now));
        if (left > 0)
            cli_say(cli, "%-40s %-45s %llds\n", e->host, e->token,
                    (long long)left);
        else
            cli_say(cli, "%-40s %-45s expired\n", e->host, e->token);
    }
    if (res->entries->nelts == 0)
        cli_say(cli, "no open challenges\n");
}

static cli_exit_t token_list_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    token_list_result_t res;
    ops_error_t error = {0};
    ops_status_t st = token_list(&res, &error, &cli->ctx);
    json_t *list = json_array();
    /* A store that cannot be read is still named in --json output. */
    if (res.store != NULL)
        cli->result =
            json_pack("{s:s, s:o}", "store", res.store, "tokens", list);
    else
        json_decref(list);
    if (st != OPS_OK)
        return cli_report(cli, st, &error);
    if (res.absent) {
        cli_say(cli, "no challenge store yet at %s\n", res.store);
        return CLI_EXIT_OK;
    }
    json_object_set_new(cli->result, "capacity", json_integer(res.capacity));
    json_object_set_new(cli->result, "window_open",
                        json_boolean(res.window_open));
    print_entries(cli, &res, list);
    return CLI_EXIT_OK;
}

cli_exit_t cmd_token_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {{"put", token_put_run},
                                       {"del", token_del_run},
                                       {"list", token_list_run},
                                       {NULL, NULL}};
    return cli_run_verb(cli, "token", verbs, 2100, 2190);
}
