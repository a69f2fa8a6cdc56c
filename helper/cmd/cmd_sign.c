/* cmd_sign.c — `sign [--profile NAME] [--check | --no-check]` (manual
 * §4, §12): runs the sign operation for --cert and prints what it
 * staged; the pre-flight check reports one line per name as progress,
 * and in --json's "checks". */
#include "cmd/commands.h"

#include "acme/acme_order.h"
#include "ops/sign.h"

static const cli_opt_spec_t sign_options[] = {{"profile", CLI_OPT_VALUE},
                                              {"check", CLI_OPT_FLAG},
                                              {"no-check", CLI_OPT_FLAG},
                                              {NULL, 0}};

static json_t *checks_json(const preflight_result_t *checks)
{
    json_t *list = json_array();
    for (int i = 0; checks->checks != NULL && i < checks->checks->nelts; i++) {
        const preflight_check_t *c =
            &APR_ARRAY_IDX(checks->checks, i, preflight_check_t);
        json_array_append_new(list, json_pack("{s:s, s:s*, s:b, s:s, s:s*}",
                                              "name", c->name, "type", c->type,
                                              "ok", c->ok, "detail", c->detail,
                                              "public_path", c->public_path));
    }
    return list;
}

cli_exit_t cmd_sign_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, sign_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    int only = cli_option(cli, "check") != NULL;
    int skip = cli_option(cli, "no-check") != NULL;
    if (only && skip)
        return cli_fail(cli, CLI_EXIT_USAGE, 2452,
                        "--check and --no-check exclude each other");
    /* From here a signal ends the order cleanly: tokens withdrawn. */
    cli_trap_signals();
    sign_result_t res;
    ops_error_t error = {0};
    ops_status_t st = sign_run(&res, &error, &cli->ctx, cli->cert_name,
                               cli_option(cli, "profile"), NULL,
                               only   ? SIGN_CHECK_ONLY
                               : skip ? SIGN_CHECK_SKIP
                                      : SIGN_CHECK);
    code = cli_report(cli, st, &error);
    if (code != CLI_EXIT_OK)
        return code;
    if (only) {
        cli->result = json_pack("{s:s, s:o}", "cert", cli->cert_name, "checks",
                                checks_json(&res.checks));
        cli_say(cli, "pre-flight check of %s passed for every name\n",
                cli->cert_name);
        return CLI_EXIT_OK;
    }
    cli->result = json_pack(
        "{s:s, s:s, s:s, s:s?, s:i, s:o, s:o}", "cert", cli->cert_name, "state",
        "pending", "provider", res.provider, "issuer", res.issuer, "alternates",
        res.alternates, "validated", sign_validated_json(res.validated),
        "checks", checks_json(&res.checks));
    cli_say(cli,
            "signed by %s: pending certificate for %s staged (see "
            "'expacmectl pending show')\n",
            res.provider, cli->cert_name);
    return CLI_EXIT_OK;
}
