/* cmd_provider.c — `provider list` and `provider add`. */
#include "cmd/commands.h"

#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "base/base64url.h"
#include "ops/provider.h"
#include "base/state.h"

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
    apr_array_header_t *list = NULL;
    const char *err = NULL;
    if (provider_list(&list, &cli->ctx, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2201, "%s", err);
    const char *current = NULL;
    const char *ignored = NULL;
    provider_current(&current, &cli->ctx, &ignored);
    json_t *out = json_array();
    for (int i = 0; i < list->nelts; i++) {
        const provider_t *p = APR_ARRAY_IDX(list, i, const provider_t *);
        json_array_append_new(out, provider_json(p, current));
        cli_say(cli, "%c %-22s %s%s%s%s\n",
                current && strcmp(current, p->name) == 0 ? '*' : ' ', p->name,
                p->directory, p->builtin ? " (built-in)" : "",
                p->eab_kid ? " (EAB)" : "",
                p->fallback ? apr_psprintf(cli->pool, " (fallback %s)",
                                           p->fallback)
                            : "");
    }
    cli->result = json_pack("{s:o}", "providers", out);
    return CLI_EXIT_OK;
}

/* The HMAC key file must be the operator's secret alone: 0600 or
 * tighter, a regular file, base64url (as Sectigo and others issue it). */
static cli_exit_t read_eab_key(cli_t *cli, const char *path,
                               unsigned char **key, apr_size_t *len)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return cli_fail(cli, CLI_EXIT_USAGE, 2211,
                        "--eab-hmac-key-file %s: not a readable file", path);
    if (st.st_mode & 077)
        return cli_fail(cli, CLI_EXIT_USAGE, 2212,
                        "--eab-hmac-key-file %s: must be mode 0600 (it is "
                        "%04o)", path, (unsigned)(st.st_mode & 07777));
    char *text = NULL;
    apr_size_t text_len = 0;
    const char *err = NULL;
    if (state_read_file(&text, &text_len, path, 4096, &err, cli->pool) !=
        APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2213, "%s",
                        err ? err : "cannot read the EAB key file");
    while (text_len > 0 && (text[text_len - 1] == '\n' ||
                            text[text_len - 1] == '\r' ||
                            text[text_len - 1] == ' '))
        text[--text_len] = '\0';
    apr_status_t rv = base64url_decode(key, len, text, cli->pool);
    OPENSSL_cleanse(text, text_len);
    if (rv != APR_SUCCESS || *len < 16)
        return cli_fail(cli, CLI_EXIT_USAGE, 2214,
                        "--eab-hmac-key-file %s: not a base64url HMAC key of "
                        "at least 16 bytes", path);
    return CLI_EXIT_OK;
}

static cli_exit_t check_add(cli_t *cli, const provider_t *p,
                            const char *key_file)
{
    const provider_t *existing = NULL;
    const char *err = NULL;
    if (!config_name_valid(p->name))
        return cli_fail(cli, CLI_EXIT_USAGE, 2215, "provider name: letters, "
                        "digits, '.', '-', '_'");
    if (provider_find(&existing, &cli->ctx, p->name, &err) == APR_SUCCESS &&
        existing->builtin)
        return cli_fail(cli, CLI_EXIT_USAGE, 2216,
                        "%s is a built-in provider", p->name);
    if (p->directory == NULL || strncmp(p->directory, "https://", 8) != 0)
        return cli_fail(cli, CLI_EXIT_USAGE, 2217,
                        "--directory must be an https:// URL");
    if ((p->eab_kid == NULL) != (key_file == NULL))
        return cli_fail(cli, CLI_EXIT_USAGE, 2218,
                        "--eab-kid and --eab-hmac-key-file go together");
    if (p->ca_bundle != NULL) {
        char *pem = NULL;
        apr_size_t len = 0;
        if (p->ca_bundle[0] != '/' ||
            state_read_file(&pem, &len, p->ca_bundle, STATE_FILE_MAX, &err,
                            cli->pool) != APR_SUCCESS ||
            strstr(pem, "-----BEGIN CERTIFICATE-----") == NULL)
            return cli_fail(cli, CLI_EXIT_USAGE, 2219,
                            "--ca-bundle %s: not an absolute path to a PEM "
                            "file of certificates", p->ca_bundle);
    }
    if (p->fallback != NULL &&
        (strcmp(p->fallback, p->name) == 0 ||
         provider_find(&existing, &cli->ctx, p->fallback, &err) != APR_SUCCESS))
        return cli_fail(cli, CLI_EXIT_USAGE, 2220,
                        "--fallback %s: not another known provider",
                        p->fallback);
    return CLI_EXIT_OK;
}

static const cli_opt_spec_t add_options[] = {
    {"directory", CLI_OPT_VALUE},       {"ca-bundle", CLI_OPT_VALUE},
    {"eab-kid", CLI_OPT_VALUE},         {"eab-hmac-key-file", CLI_OPT_VALUE},
    {"fallback", CLI_OPT_VALUE},        {"preferred-chain", CLI_OPT_VALUE},
    {"profile", CLI_OPT_VALUE},         {NULL, 0}};

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
    const char *key_file = cli_option(cli, "eab-hmac-key-file");
    code = check_add(cli, &p, key_file);
    if (code != CLI_EXIT_OK)
        return code;
    unsigned char *key = NULL;
    apr_size_t key_len = 0;
    if (key_file != NULL) {
        code = read_eab_key(cli, key_file, &key, &key_len);
        if (code != CLI_EXIT_OK)
            return code;
    }
    const char *err = NULL;
    apr_status_t rv = provider_save(&cli->ctx, &p, key, key_len, &err);
    if (key != NULL)
        OPENSSL_cleanse(key, key_len);
    if (rv != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2221, "%s", err);
    cli->result = json_pack("{s:o}", "provider", provider_json(&p, NULL));
    cli_say(cli, "provider %s: %s%s\n", p.name, p.directory,
            p.eab_kid ? " (with External Account Binding)" : "");
    return CLI_EXIT_OK;
}

cli_exit_t cmd_provider_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {{"list", provider_list_run},
                                       {"add", provider_add_run},
                                       {NULL, NULL}};
    return cli_run_verb(cli, "provider", verbs, 2200);
}
