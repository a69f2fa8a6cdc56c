/* cmd_sign.c — `sign [--profile NAME]` (manual §4): runs the sign
 * operation for --cert and prints what it staged. */
#include "cmd/commands.h"

#include "ops/sign.h"

static const cli_opt_spec_t sign_options[] = {{"profile", CLI_OPT_VALUE},
                                              {NULL, 0}};

cli_exit_t cmd_sign_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, sign_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    /* From here a signal ends the order cleanly: tokens withdrawn. */
    cli_trap_signals();
    sign_result_t res;
    ops_error_t error = {0};
    code = cli_report(cli,
                      sign_run(&res, &error, &cli->ctx, cli->cert_name,
                               cli_option(cli, "profile"), NULL),
                      &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result =
        json_pack("{s:s, s:s, s:s, s:s?, s:i}", "cert", cli->cert_name, "state",
                  "pending", "provider", res.provider, "issuer", res.issuer,
                  "alternates", res.alternates);
    cli_say(cli,
            "signed by %s: pending certificate for %s staged (see "
            "'expacmectl pending show')\n",
            res.provider, cli->cert_name);
    return CLI_EXIT_OK;
}
