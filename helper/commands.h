/* commands.h — one entry point per command area (one file each). */
#ifndef EXPACME_COMMANDS_H
#define EXPACME_COMMANDS_H

#include "cli.h"

cli_exit_t cmd_token_run(cli_t *cli);

#endif
