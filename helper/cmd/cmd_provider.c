/* cmd_provider.c — `provider list` and `provider add`: parse, run the
 * operation (ops/provider_admin.h), print the providers. */
#include "cmd/commands.h"

#include <string.h>

#include "apr_strings.h"

#include "ops/provider_admin.h"

static json_t *provider_json(const provider_t *p, const char *current)
{
    json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:b}", "name", p->name,
                          "directory", p->directory, "builtin", p->builtin,
                          "eab", p->eab_kid != NULL, "current",
                          current != NULL && strcmp(current, p->name) == 0);
    if (p->ca_bundle)
        json_object_set_new(o, "ca_bundle", json_string(p->ca_bundle));
    if (p->fallback)
        json_object_set_new(o, "fallback", json_string(p->fallback));
    if (p->preferred_chain)
        json_object_set_new(o, "preferred_chain",
                            json_string(p->preferred_chain));
    if (p->profile)
        json_object_set_new(o, "profile", json_string(p->profile));
    return o;
}

static cli_exit_t provider_list_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    provider_admin_list_result_t res;
    ops_error_t error = {0};
    code =
        cli_report(cli, provider_admin_list(&res, &error, &cli->ctx), &error);
    if (code != CLI_EXIT_OK)
        return code;
    const char *current = res.current;
    json_t *out = json_array();
    for (int i = 0; i < res.providers->nelts; i++) {
        const provider_t *p =
            APR_ARRAY_IDX(res.providers, i, const provider_t *);
        json_array_append_new(out, provider_json(p, current));
        cli_say(cli, "%c %-22s %s%s%s%s\n",
                current && strcmp(current, p->name) == 0 ? '*' : ' ', p->name,
                p->directory, p->builtin ? " (built-in)" : "",
                p->eab_kid ? " (EAB)" : "",
                p->fallback
                    ? apr_psprintf(cli->pool, " (fallback %s)", p->fallback)
                    : "");
    }
    cli->result = json_pack("{s:o}", "providers", out);
    return CLI_EXIT_OK;
}

static const cli_opt_spec_t add_options[] = {
    {"directory", CLI_OPT_VALUE}, {"ca-bundle", CLI_OPT_VALUE},
    {"eab-kid", CLI_OPT_VALUE},   {"eab-hmac-key-file", CLI_OPT_VALUE},
    {"fallback", CLI_OPT_VALUE},  {"preferred-chain", CLI_OPT_VALUE},
    {"profile", CLI_OPT_VALUE},   {NULL, 0}};

static cli_exit_t provider_add_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, add_options, 1, 1);
    if (code != CLI_EXIT_OK)
        return code;
    provider_t p = {cli->argv[0],
                    cli_option(cli, "directory"),
                    cli_option(cli, "ca-bundle"),
                    cli_option(cli, "eab-kid"),
                    cli_option(cli, "fallback"),
                    cli_option(cli, "preferred-chain"),
                    cli_option(cli, "profile"),
                    0};
    ops_error_t error = {0};
    code = cli_report(cli,
                      provider_admin_add(&error, &cli->ctx, &p,
                                         cli_option(cli, "eab-hmac-key-file")),
                      &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result = json_pack("{s:o}", "provider", provider_json(&p, NULL));
    cli_say(cli, "provider %s: %s%s\n", p.name, p.directory,
            p.eab_kid ? " (with External Account Binding)" : "");
    return CLI_EXIT_OK;
}

cli_exit_t cmd_provider_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {
        {"list", provider_list_run}, {"add", provider_add_run}, {NULL, NULL}};
    return cli_run_verb(cli, "provider", verbs, 2200, 2290);
}
