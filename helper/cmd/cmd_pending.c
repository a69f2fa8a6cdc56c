/* cmd_pending.c — `pending show [--pem]` and `pending discard`. */
#include "cmd/commands.h"

#include <string.h>
#include <time.h>

#include "apr_strings.h"

#include "ops/cert_info.h"
#include "ops/cert_state.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "base/state.h"

static const cli_opt_spec_t show_options[] = {{"pem", CLI_OPT_FLAG},
                                              {NULL, 0}};

static cli_exit_t open_cert(cli_t *cli, cert_state_t **cert)
{
    const char *err = NULL;
    if (cert_state_open(cert, &cli->ctx, cli->cert_name, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2506, "%s", err);
    return CLI_EXIT_OK;
}

static cli_exit_t pending_show(cli_t *cli)
{
    cert_state_t *cert = NULL;
    cli_exit_t code = cli_parse_options(cli, show_options, 0, 0);
    if (code == CLI_EXIT_OK)
        code = open_cert(cli, &cert);
    if (code != CLI_EXIT_OK)
        return code;
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_status_t rv = state_read_file(&pem, &len,
                                      cert_state_file(cert, "pending.pem"),
                                      STATE_FILE_MAX, &err, cli->pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return cli_fail(cli, CLI_EXIT_FAILED, 2501, "no pending certificate "
                        "for %s", cert->name);
    apr_array_header_t *chain = NULL;
    if (rv == APR_SUCCESS)
        rv = crypt_chain_parse(&chain, pem, len, &err, cli->pool);
    if (rv != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2502, "%s", err);
    if (cli_option(cli, "pem") != NULL) {
        cli->result = json_pack("{s:s, s:s}", "cert", cert->name, "pem", pem);
        cli_say(cli, "%s", pem);
        return CLI_EXIT_OK;
    }
    json_t *list = json_array();
    for (int i = 0; i < chain->nelts; i++) {
        crypt_cert_info_t info;
        if (crypt_cert_info(&info, APR_ARRAY_IDX(chain, i, X509 *),
                            cli->pool) != APR_SUCCESS)
            return cli_fail(cli, CLI_EXIT_FAILED, 2503,
                            "cannot decode certificate %d of the chain", i);
        json_array_append_new(list, cert_info_json(&info));
        cli_print_cert(cli, i == 0 ? "certificate:" : "chain:", &info);
    }
    cli->result = json_pack("{s:s, s:o}", "cert", cert->name, "chain", list);
    return CLI_EXIT_OK;
}

static cli_exit_t pending_discard(cli_t *cli)
{
    cert_state_t *cert = NULL;
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code == CLI_EXIT_OK)
        code = open_cert(cli, &cert);
    if (code != CLI_EXIT_OK)
        return code;
    const char *err = NULL;
    if (!cert_state_has(cert, "pending.pem"))
        return cli_fail(cli, CLI_EXIT_FAILED, 2504, "no pending certificate "
                        "for %s", cert->name);
    if (cert_state_lock(cert, &err) != APR_SUCCESS ||
        state_remove(cert_state_file(cert, "pending.pem"), &err, cli->pool) !=
            APR_SUCCESS ||
        state_remove(cert_state_file(cert, "pending.json"), &err, cli->pool) !=
            APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2505, "%s", err);
    cli->result = json_pack("{s:s, s:s}", "cert", cert->name, "state",
                            cert_state_name(cert));
    cli_say(cli, "pending certificate of %s discarded\n", cert->name);
    return CLI_EXIT_OK;
}

cli_exit_t cmd_pending_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {{"show", pending_show},
                                       {"discard", pending_discard},
                                       {NULL, NULL}};
    return cli_run_verb(cli, "pending", verbs, 2500);
}
