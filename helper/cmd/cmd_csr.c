/* cmd_csr.c — `csr generate|show|discard`: the CSR request from the
 * command line (names normalised, every option checked before anything
 * is touched), the operation (ops/csr.h), and what it made or found. */
#include "cmd/commands.h"

#include <string.h>

#include "apr_strings.h"

#include "ops/cert_info.h"
#include "ops/csr.h"

static const cli_opt_spec_t generate_options[] = {{"cn", CLI_OPT_VALUE},
                                                  {"san", CLI_OPT_VALUE},
                                                  {"key-type", CLI_OPT_VALUE},
                                                  {"digest", CLI_OPT_VALUE},
                                                  {"org", CLI_OPT_VALUE},
                                                  {"unit", CLI_OPT_VALUE},
                                                  {"locality", CLI_OPT_VALUE},
                                                  {"state", CLI_OPT_VALUE},
                                                  {"country", CLI_OPT_VALUE},
                                                  {"reuse-key", CLI_OPT_FLAG},
                                                  {NULL, 0}};

static const cli_opt_spec_t show_options[] = {{"pem", CLI_OPT_FLAG}, {NULL, 0}};

/* DNS names are case-insensitive: CAs and status compare them lowercased;
 * country codes are conventionally upper case. */
static const char *ascii_case(const char *s, int upper, apr_pool_t *pool)
{
    char *out = apr_pstrdup(pool, s);
    for (char *p = out; *p; p++) {
        if (upper && *p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
        else if (!upper && *p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return out;
}

static const char *trimmed(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        s[--len] = '\0';
    return s;
}

/* CN first, then each --san item (comma-separated, blanks around the
 * commas allowed); duplicates are left to crypt_csr_create. */
static cli_exit_t parse_names(cli_t *cli, csr_request_t *req)
{
    apr_array_header_t *names =
        apr_array_make(cli->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(names, const char *) = req->spec.cn;
    req->spec.names = names;
    const char *san = cli_option(cli, "san");
    if (san == NULL)
        return CLI_EXIT_OK;
    char *item = apr_pstrdup(cli->pool, san);
    for (;;) {
        char *comma = strchr(item, ',');
        if (comma != NULL)
            *comma = '\0';
        const char *name = trimmed(item);
        if (*name == '\0')
            return cli_fail(cli, CLI_EXIT_USAGE, 2802,
                            "--san: empty name in the list");
        APR_ARRAY_PUSH(names, const char *) = ascii_case(name, 0, cli->pool);
        if (comma == NULL)
            return CLI_EXIT_OK;
        item = comma + 1;
    }
}

/* Everything from the command line, validated before any file or key is
 * touched: a usage error changes nothing. */
static cli_exit_t parse_request(cli_t *cli, csr_request_t *req)
{
    const char *err = NULL;
    const char *opt = NULL;
    memset(req, 0, sizeof(*req));
    req->key_type = CRYPT_KEY_EC256;
    req->spec.digest = CRYPT_DIGEST_SHA256;
    if (cli_option(cli, "cn") == NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2801,
                        "csr generate needs --cn FQDN");
    req->spec.cn = ascii_case(cli_option(cli, "cn"), 0, cli->pool);
    opt = cli_option(cli, "key-type");
    const char *comma = opt ? strchr(opt, ',') : NULL;
    if (comma != NULL) {
        /* "ec256,rsa2048": a second key of the other kind (SPEC §2). */
        if (crypt_key_type_parse(&req->key_type2, comma + 1, &err, cli->pool) !=
            APR_SUCCESS)
            return cli_fail(cli, CLI_EXIT_USAGE, 2840, "%s", err);
        opt = apr_pstrndup(cli->pool, opt, (apr_size_t)(comma - opt));
        req->has_second = 1;
    }
    if (opt != NULL && crypt_key_type_parse(&req->key_type, opt, &err,
                                            cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2803, "%s", err);
    req->key_type_given = opt != NULL;
    if (req->has_second && crypt_key_type_is_rsa(req->key_type) ==
                               crypt_key_type_is_rsa(req->key_type2))
        return cli_fail(cli, CLI_EXIT_USAGE, 2841,
                        "--key-type: two keys are one ECDSA and one RSA "
                        "(e.g. ec256,rsa2048)");
    if (req->has_second && cli_option(cli, "reuse-key") != NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2842,
                        "--reuse-key keeps one key: it cannot be combined "
                        "with two key types");
    opt = cli_option(cli, "digest");
    if (opt != NULL && crypt_digest_parse(&req->spec.digest, opt, &err,
                                          cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2804, "%s", err);
    req->spec.org = cli_option(cli, "org");
    req->spec.unit = cli_option(cli, "unit");
    req->spec.locality = cli_option(cli, "locality");
    req->spec.state = cli_option(cli, "state");
    opt = cli_option(cli, "country");
    req->spec.country = opt != NULL ? ascii_case(opt, 1, cli->pool) : NULL;
    req->reuse_key = cli_option(cli, "reuse-key") != NULL;
    const expacme_cert_conf_t *conf = config_cert(cli->config, cli->cert_name);
    req->spec.allow_wildcard =
        conf != NULL && config_cert_allows(conf, "dns-01");
    cli_exit_t code = parse_names(cli, req);
    if (code != CLI_EXIT_OK)
        return code;
    if (crypt_csr_spec_check(&req->spec, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2805, "%s", err);
    return CLI_EXIT_OK;
}

static void say_names(cli_t *cli, json_t *names)
{
    size_t i;
    json_t *name;
    cli_say(cli, "  names:");
    json_array_foreach(names, i, name)
        cli_say(cli, "%s %s", i > 0 ? "," : "", json_string_value(name));
    cli_say(cli, "\n");
}

/* On stderr as every warning, and in --json's "warnings". */
static void warn(cli_t *cli, const char *warning)
{
    if (warning == NULL)
        return;
    cli_progress(cli, "warning: %s", warning);
    json_object_set_new(cli->result, "warnings", json_pack("[s]", warning));
}

static void report_generated(cli_t *cli, const csr_request_t *req,
                             const csr_generate_result_t *res)
{
    cli->result = json_deep_copy(res->record);
    json_object_set_new(cli->result, "cert", json_string(cli->cert_name));
    json_object_set_new(cli->result, "key_reused",
                        json_boolean(req->reuse_key));
    json_object_set_new(cli->result, "pem", json_string(res->pem));
    warn(cli, res->warning);
    cli_say(cli, "CSR for %s generated (%s %s key, %s), stored in %s\n",
            req->spec.cn, req->reuse_key ? "stored" : "new",
            crypt_key_type_name(res->key_type),
            crypt_digest_name(req->spec.digest), res->dir);
    say_names(cli, json_object_get(res->record, "names"));
}

static cli_exit_t csr_generate_run(cli_t *cli)
{
    csr_request_t req;
    cli_exit_t code = cli_parse_options(cli, generate_options, 0, 0);
    if (code == CLI_EXIT_OK)
        code = parse_request(cli, &req);
    if (code != CLI_EXIT_OK)
        return code;
    csr_generate_result_t res;
    ops_error_t error = {0};
    code = cli_report(
        cli, csr_generate(&res, &error, &cli->ctx, cli->cert_name, &req),
        &error);
    if (code == CLI_EXIT_OK)
        report_generated(cli, &req, &res);
    return code;
}

/* The CSR's own names and key, the rest as csr.json recorded it. */
static json_t *show_json(cli_t *cli, const csr_show_result_t *res)
{
    json_t *o = json_pack("{s:s, s:s?, s:o, s:s?, s:s, s:s}", "cert",
                          cli->cert_name, "cn", res->cn, "names",
                          cert_info_names_json(res->names), "key_type",
                          res->key_type, "pem", res->pem, "text", res->text);
    static const char *const copied[] = {"digest", "subject", "created"};
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
        json_t *value =
            res->record ? json_object_get(res->record, copied[i]) : NULL;
        json_object_set_new(o, copied[i],
                            value ? json_deep_copy(value) : json_null());
    }
    return o;
}

static cli_exit_t csr_show_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, show_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    csr_show_result_t res;
    ops_error_t error = {0};
    code = cli_report(cli, csr_show(&res, &error, &cli->ctx, cli->cert_name),
                      &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result = show_json(cli, &res);
    cli_say(cli, "%s", cli_option(cli, "pem") != NULL ? res.pem : res.text);
    return CLI_EXIT_OK;
}

static cli_exit_t csr_discard_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    csr_discard_result_t res;
    ops_error_t error = {0};
    code = cli_report(cli, csr_discard(&res, &error, &cli->ctx, cli->cert_name),
                      &error);
    if (code != CLI_EXIT_OK)
        return code;
    cli->result =
        json_pack("{s:s, s:b}", "cert", cli->cert_name, "discarded", 1);
    warn(cli, res.warning);
    cli_say(cli, "CSR and key of %s discarded\n", cli->cert_name);
    return CLI_EXIT_OK;
}

cli_exit_t cmd_csr_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {{"generate", csr_generate_run},
                                       {"show", csr_show_run},
                                       {"discard", csr_discard_run},
                                       {NULL, NULL}};
    return cli_run_verb(cli, "csr", verbs, 2800, 2890);
}
