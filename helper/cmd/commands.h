/* commands.h — one entry point per command area (one file each); each
 * parses its options, runs one operation (ops/) and prints the result. */
#ifndef EXPACME_COMMANDS_H
#define EXPACME_COMMANDS_H

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
cli_exit_t cmd_status_run(cli_t *cli);

#endif
