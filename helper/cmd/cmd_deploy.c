/* cmd_deploy.c — `deploy` (manual §5): runs the deploy operation for
 * --cert and says what is served now. */
#include "cmd/commands.h"

#include "ops/deploy.h"

cli_exit_t cmd_deploy_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    deploy_result_t res;
    ops_error_t error = {0};
    code = cli_report(
        cli, deploy_run(&res, &error, &cli->ctx, cli->cert_name, NULL), &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result = json_pack("{s:s, s:s, s:s}", "cert", cli->cert_name, "state",
                            "deployed", "generation", res.generation);
    cli_say(cli, "deployed: %s now serves the new certificate of %s\n",
            cli->config->https_address, cli->cert_name);
    return CLI_EXIT_OK;
}
