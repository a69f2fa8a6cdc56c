/* cmd_account.c — `account register|show|rollover|deactivate`: parse,
 * run the operation (ops/account.h), print the account. */
#include "cmd/commands.h"

#include <ctype.h>
#include <string.h>

#include "ops/account.h"

static int email_valid(const char *email)
{
    const char *at = strchr(email, '@');
    if (at == NULL || at == email || strchr(at + 1, '@') != NULL ||
        strlen(email) > 254 || strchr(at + 1, '.') == NULL)
        return 0;
    for (const char *p = email; *p; p++) {
        if (!isgraph((unsigned char)*p) || *p == ',' || *p == '<' ||
            *p == '>' || *p == '"' || *p == '\\')
            return 0;
    }
    return 1;
}

static const cli_opt_spec_t register_options[] = {{"provider", CLI_OPT_VALUE},
                                                  {"email", CLI_OPT_VALUE},
                                                  {"agree-tos", CLI_OPT_FLAG},
                                                  {"key-type", CLI_OPT_VALUE},
                                                  {NULL, 0}};

/* --key-type T, when given, into *type. */
static cli_exit_t parse_key_type(cli_t *cli, crypt_key_type_t *type, int logno)
{
    const char *err = NULL;
    const char *opt = cli_option(cli, "key-type");
    if (opt != NULL &&
        crypt_key_type_parse(type, opt, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, logno, "--key-type: %s", err);
    return CLI_EXIT_OK;
}

static cli_exit_t account_register_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, register_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    account_register_request_t req = {
        cli_option(cli, "provider"), cli_option(cli, "email"),
        cli_option(cli, "agree-tos") != NULL, CRYPT_KEY_EC256};
    if (req.provider == NULL || req.email == NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2301,
                        "account register needs --provider and --email");
    if (!email_valid(req.email))
        return cli_fail(cli, CLI_EXIT_USAGE, 2302,
                        "--email %s: not an "
                        "e-mail address",
                        req.email);
    code = parse_key_type(cli, &req.key_type, 2303);
    if (code != CLI_EXIT_OK)
        return code;
    account_register_result_t res;
    ops_error_t error = {0};
    ops_status_t st = account_register(&res, &error, &cli->ctx, &req);
    /* --json shows which terms the operator has to read. */
    if (res.needs_agreement)
        cli->result =
            json_pack("{s:s?}", "terms_of_service", res.terms_of_service);
    code = cli_report(cli, st, &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result = json_pack("{s:O}", "account", res.record);
    cli_say(cli, "account %s registered at %s\n", res.url, req.provider);
    return CLI_EXIT_OK;
}

static cli_exit_t account_show_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    account_show_result_t res;
    ops_error_t error = {0};
    code = cli_report(cli, account_show(&res, &error, &cli->ctx), &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result =
        json_pack("{s:s, s:s, s:s, s:s, s:O*}", "provider", res.provider, "url",
                  res.url, "status", res.status ? res.status : "unknown",
                  "key_type", res.key_type, "contact", res.contact);
    cli_say(cli, "provider: %s\naccount:  %s\nstatus:   %s\nkey:      %s\n",
            res.provider, res.url, acme_escape(res.status, 32, cli->pool),
            res.key_type);
    size_t i;
    json_t *item;
    json_array_foreach(res.contact, i, item)
    {
        cli_say(cli, "contact:  %s\n",
                acme_escape(json_string_value(item), 256, cli->pool));
    }
    return CLI_EXIT_OK;
}

static const cli_opt_spec_t rollover_options[] = {{"key-type", CLI_OPT_VALUE},
                                                  {NULL, 0}};

static cli_exit_t account_rollover_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, rollover_options, 0, 0);
    crypt_key_type_t type = CRYPT_KEY_EC256;
    if (code == CLI_EXIT_OK)
        code = parse_key_type(cli, &type, 2322);
    if (code != CLI_EXIT_OK)
        return code;
    account_rollover_result_t res;
    ops_error_t error = {0};
    code =
        cli_report(cli,
                   account_rollover(&res, &error, &cli->ctx,
                                    cli_option(cli, "key-type") ? &type : NULL),
                   &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result =
        json_pack("{s:s, s:s}", "url", res.url, "key_type", res.key_type);
    cli_say(cli, "account key rolled over to a new %s key\n", res.key_type);
    return CLI_EXIT_OK;
}

static cli_exit_t account_deactivate_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    account_deactivate_result_t res;
    ops_error_t error = {0};
    code = cli_report(cli, account_deactivate(&res, &error, &cli->ctx), &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result = json_pack("{s:s, s:s}", "url", res.url, "status",
                            res.status ? res.status : "deactivated");
    cli_say(cli, "account %s: %s\n", res.url,
            acme_escape(res.status, 32, cli->pool));
    return CLI_EXIT_OK;
}

cli_exit_t cmd_account_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {{"register", account_register_run},
                                       {"show", account_show_run},
                                       {"rollover", account_rollover_run},
                                       {"deactivate", account_deactivate_run},
                                       {NULL, NULL}};
    return cli_run_verb(cli, "account", verbs, 2300, 2390);
}
