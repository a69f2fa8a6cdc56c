/* cmd_pending.c — `pending show [--pem]` and `pending discard`: run the
 * operation (ops/pending.h) and print the chain or what is left. */
#include "cmd/commands.h"

#include "ops/cert_info.h"
#include "ops/pending.h"

static const cli_opt_spec_t show_options[] = {{"pem", CLI_OPT_FLAG}, {NULL, 0}};

static cli_exit_t pending_show_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, show_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    int pem_only = cli_option(cli, "pem") != NULL;
    pending_show_result_t res;
    ops_error_t error = {0};
    code = cli_report(
        cli, pending_show(&res, &error, &cli->ctx, cli->cert_name, pem_only),
        &error);
    if (code != CLI_EXIT_OK)
        return code;
    if (pem_only) {
        cli->result =
            json_pack("{s:s, s:s}", "cert", cli->cert_name, "pem", res.pem);
        cli_say(cli, "%s", res.pem);
        return CLI_EXIT_OK;
    }
    json_t *list = json_array();
    for (int i = 0; i < res.chain->nelts; i++) {
        const crypt_cert_info_t *info =
            &APR_ARRAY_IDX(res.chain, i, crypt_cert_info_t);
        json_array_append_new(list, cert_info_json(info));
        cli_print_cert(cli, i == 0 ? "certificate:" : "chain:", info);
    }
    cli->result =
        json_pack("{s:s, s:o}", "cert", cli->cert_name, "chain", list);
    return CLI_EXIT_OK;
}

static cli_exit_t pending_discard_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    pending_discard_result_t res;
    ops_error_t error = {0};
    code = cli_report(
        cli, pending_discard(&res, &error, &cli->ctx, cli->cert_name), &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result =
        json_pack("{s:s, s:s}", "cert", cli->cert_name, "state", res.state);
    cli_say(cli, "pending certificate of %s discarded\n", cli->cert_name);
    return CLI_EXIT_OK;
}

cli_exit_t cmd_pending_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {{"show", pending_show_run},
                                       {"discard", pending_discard_run},
                                       {NULL, NULL}};
    return cli_run_verb(cli, "pending", verbs, 2500, 2590);
}
