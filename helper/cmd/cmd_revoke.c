/* cmd_revoke.c — `revoke CERTFILE`: the reason by name, the revoke
 * operation (ops/revoke.h), and what the CA answered. */
#include "cmd/commands.h"

#include <string.h>

#include "ops/revoke.h"

typedef struct {
    const char *name;
    int code; /* RFC 5280 CRLReason */
} reason_t;

static const reason_t reasons[] = {
    {"unspecified", 0},
    {"keyCompromise", 1},
    {"superseded", 4},
    {"cessationOfOperation", 5},
};

static int reason_code(const char *name)
{
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (strcmp(reasons[i].name, name) == 0)
            return reasons[i].code;
    }
    return -1;
}

static const cli_opt_spec_t revoke_options[] = {{"provider", CLI_OPT_VALUE},
                                                {"key", CLI_OPT_VALUE},
                                                {"reason", CLI_OPT_VALUE},
                                                {"force", CLI_OPT_FLAG},
                                                {NULL, 0}};

cli_exit_t cmd_revoke_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, revoke_options, 1, 1);
    if (code != CLI_EXIT_OK)
        return code;
    const char *reason = cli_option(cli, "reason");
    revoke_request_t req = {
        cli->argv[0], cli_option(cli, "provider"), cli_option(cli, "key"),
        reason ? reason_code(reason) : 0, cli_option(cli, "force") != NULL};
    if (req.reason < 0)
        return cli_fail(cli, CLI_EXIT_USAGE, 2705,
                        "--reason must be "
                        "unspecified, keyCompromise, superseded or "
                        "cessationOfOperation");
    revoke_result_t res;
    ops_error_t error = {0};
    code = cli_report(cli, revoke_run(&res, &error, &cli->ctx, &req), &error);
    if (code != CLI_EXIT_OK)
        return code;
    reason = reason ? reason : "unspecified";
    cli->result =
        json_pack("{s:s, s:s, s:i, s:s, s:i}", "serial", res.serial, "reason",
                  reason, "reason_code", req.reason, "provider", res.provider,
                  "ca_status", (int)res.ca_status);
    cli_say(cli, "revoked serial %s at %s (reason %s); the CA answered %ld\n",
            res.serial, res.provider, reason, res.ca_status);
    return CLI_EXIT_OK;
}
