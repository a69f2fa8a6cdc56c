/* commands.h — one entry point per command area (one file each). */
#ifndef EXPACME_COMMANDS_H
#define EXPACME_COMMANDS_H

#include "ops/cert_state.h"
#include "cmd/cli.h"

cli_exit_t cmd_token_run(cli_t *cli);
cli_exit_t cmd_provider_run(cli_t *cli);
cli_exit_t cmd_account_run(cli_t *cli);
cli_exit_t cmd_csr_run(cli_t *cli);
cli_exit_t cmd_sign_run(cli_t *cli);
cli_exit_t cmd_pending_run(cli_t *cli);
cli_exit_t cmd_deploy_run(cli_t *cli);
cli_exit_t cmd_revoke_run(cli_t *cli);
cli_exit_t cmd_schedule_run(cli_t *cli);
cli_exit_t cmd_renew_run(cli_t *cli);

/* One certificate's sign or deploy, for renew as for the commands. */
cli_exit_t cmd_sign_cert(cli_t *cli, const char *name, const char *profile,
                         const char *replaces);
/* reason: why renew deploys now, recorded in Last Deploy Status. */
cli_exit_t cmd_deploy_cert(cli_t *cli, const char *name, const char *reason);
cli_exit_t cmd_status_run(cli_t *cli);

/* Rewrites status_file (what the module's status page shows) from the
 * state directory; commands that change state call it on their way out. */
void cmd_status_refresh(cli_t *cli);
void cmd_status_publish(cli_t *cli, json_t *doc);

/* A deploy killed mid-way (its pid gone): puts the previous pair back and
 * records what happened in Last Deploy Status. */
apr_status_t cmd_deploy_recover(cli_t *cli, cert_state_t *cert,
                                int *recovered);

#endif
