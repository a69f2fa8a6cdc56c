/* cmd_account.c — `account register|show|rollover|deactivate`. */
#include "cmd/commands.h"

#include <ctype.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "acme/acme_account.h"
#include "base/state.h"
#include "crypto/crypt_key.h"
#include "ops/key_file.h"
#include "ops/provider.h"

static int file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static int email_valid(const char *email)
{
    const char *at = strchr(email, '@');
    if (at == NULL || at == email || strchr(at + 1, '@') != NULL ||
        strlen(email) > 254 || strchr(at + 1, '.') == NULL)
        return 0;
    for (const char *p = email; *p; p++) {
        if (!isgraph((unsigned char)*p) || *p == ',' || *p == '<' ||
            *p == '>' || *p == '"' || *p == '\\')
            return 0;
    }
    return 1;
}

static const char *account_file(const provider_conn_t *c, const char *name,
                                apr_pool_t *pool)
{
    return apr_pstrcat(pool, c->account_dir, "/", name, NULL);
}

static json_t *account_record(const provider_conn_t *c, const char *url,
                              const char *email, json_t *account)
{
    const char *status = json_string_value(json_object_get(account, "status"));
    json_t *rec = json_pack(
        "{s:s, s:s, s:s, s:I}", "url", url, "provider", c->provider->name,
        "status", status ? status : "valid", "created", (json_int_t)time(NULL));
    if (email != NULL)
        json_object_set_new(rec, "email", json_string(email));
    if (c->session->terms_of_service != NULL)
        json_object_set_new(rec, "terms_of_service",
                            json_string(c->session->terms_of_service));
    return rec;
}

static cli_exit_t register_with_ca(cli_t *cli, provider_conn_t *c,
                                   const char *email, EVP_PKEY *key)
{
    const char *err = NULL;
    acme_eab_t eab = {0};
    unsigned char *hmac = NULL;
    if (c->provider->eab_kid != NULL) {
        if (provider_eab_key(&hmac, &eab.hmac_key_len, &cli->ctx, c->provider,
                             &err) != APR_SUCCESS)
            return cli_fail(cli, CLI_EXIT_FAILED, 2306, "%s", err);
        eab.kid = c->provider->eab_kid;
        eab.hmac_key = hmac;
    }
    provider_signer(&c->session->signer, key, cli->pool);
    const char *url = NULL;
    json_t *account = NULL;
    apr_status_t rv =
        acme_account_register(&url, &account, c->session, email, 1,
                              hmac ? &eab : NULL, &err, cli->pool);
    if (hmac != NULL)
        OPENSSL_cleanse(hmac, eab.hmac_key_len);
    if (rv != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2307, "account register: %s",
                        err);
    json_t *rec =
        json_pool_bind(account_record(c, url, email, account), cli->pool);
    if (state_write_json(account_file(c, "account.json", cli->pool), rec, &err,
                         cli->pool) != APR_SUCCESS ||
        provider_set_current(&cli->ctx, c->provider->name, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2308, "%s", err);
    cli->result = json_pack("{s:O}", "account", rec);
    cli_say(cli, "account %s registered at %s\n", url, c->provider->name);
    return CLI_EXIT_OK;
}

static const cli_opt_spec_t register_options[] = {{"provider", CLI_OPT_VALUE},
                                                  {"email", CLI_OPT_VALUE},
                                                  {"agree-tos", CLI_OPT_FLAG},
                                                  {"key-type", CLI_OPT_VALUE},
                                                  {NULL, 0}};

static cli_exit_t account_register(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, register_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    const char *name = cli_option(cli, "provider");
    const char *email = cli_option(cli, "email");
    const char *err = NULL;
    crypt_key_type_t type = CRYPT_KEY_EC256;
    if (name == NULL || email == NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2301,
                        "account register needs --provider and --email");
    if (!email_valid(email))
        return cli_fail(cli, CLI_EXIT_USAGE, 2302,
                        "--email %s: not an "
                        "e-mail address",
                        email);
    if (cli_option(cli, "key-type") != NULL &&
        crypt_key_type_parse(&type, cli_option(cli, "key-type"), &err,
                             cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2303, "--key-type: %s", err);
    /* A name that does not exist is a usage error (manual §3), not a CA's. */
    const provider_t *known = NULL;
    if (provider_find(&known, &cli->ctx, name, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2304, "%s", err);
    provider_conn_t c;
    apr_status_t rv = provider_connect_direct(&c, &cli->ctx, name, &err);
    if (rv != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2313, "%s", err);
    const char *tos = c.session->terms_of_service;
    cli_progress(cli, "terms of service of %s: %s", name,
                 tos ? acme_escape(tos, 500, cli->pool) : "(none published)");
    if (cli_option(cli, "agree-tos") == NULL) {
        cli->result = json_pack("{s:s?}", "terms_of_service", tos);
        return cli_fail(cli, CLI_EXIT_USAGE, 2305,
                        "read the terms of service (%s) and add --agree-tos "
                        "to accept them",
                        tos ? tos : "none published");
    }
    if (state_account_dir(&c.account_dir, cli->config, name, &err, cli->pool) !=
        APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2308, "%s", err);
    EVP_PKEY *key = NULL;
    const char *key_path = account_file(&c, "account.key", cli->pool);
    /* A key left by an earlier, interrupted registration is reused: the
     * CA answers with the account it already made for it.  Only a missing
     * key is made anew: an unreadable one is the operator's to look at. */
    apr_status_t rv_key = key_file_load(&key, key_path, &err, cli->pool);
    if (APR_STATUS_IS_ENOENT(rv_key))
        rv_key = crypt_key_generate(&key, type, &err, cli->pool);
    if (rv_key == APR_SUCCESS && !file_exists(key_path))
        rv_key = key_file_save(key, key_path, &err, cli->pool);
    if (rv_key != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2309, "account key: %s", err);
    return register_with_ca(cli, &c, email, key);
}

/* The current provider's account, for the verbs that take no options. */
static cli_exit_t connect_account(cli_t *cli, provider_conn_t *c, int logno)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    const char *err = NULL;
    if (provider_connect(c, &cli->ctx, NULL, 1, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, logno, "%s", err);
    return CLI_EXIT_OK;
}

static cli_exit_t account_show(cli_t *cli)
{
    provider_conn_t c;
    const char *err = NULL;
    cli_exit_t code = connect_account(cli, &c, 2311);
    if (code != CLI_EXIT_OK)
        return code;
    json_t *account = NULL;
    if (acme_account_fetch(&account, c.session, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2312, "account show: %s", err);
    crypt_key_type_t type;
    crypt_key_type_of(&type, c.account_key);
    json_t *contact = json_object_get(account, "contact");
    const char *status = json_string_value(json_object_get(account, "status"));
    cli->result =
        json_pack("{s:s, s:s, s:s, s:s, s:O*}", "provider", c.provider->name,
                  "url", c.account_url, "status", status ? status : "unknown",
                  "key_type", crypt_key_type_name(type), "contact", contact);
    cli_say(cli, "provider: %s\naccount:  %s\nstatus:   %s\nkey:      %s\n",
            c.provider->name, c.account_url, acme_escape(status, 32, cli->pool),
            crypt_key_type_name(type));
    size_t i;
    json_t *item;
    json_array_foreach(contact, i, item)
    {
        cli_say(cli, "contact:  %s\n",
                acme_escape(json_string_value(item), 256, cli->pool));
    }
    return CLI_EXIT_OK;
}

static const cli_opt_spec_t rollover_options[] = {{"key-type", CLI_OPT_VALUE},
                                                  {NULL, 0}};

/* The new key is written beside the old one first, so that whatever
 * happens after the CA switched keys, the new key is on disk. */
static cli_exit_t account_rollover(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, rollover_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    provider_conn_t c;
    const char *err = NULL;
    if (provider_connect(&c, &cli->ctx, NULL, 1, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2321, "%s", err);
    crypt_key_type_t type;
    crypt_key_type_of(&type, c.account_key);
    if (cli_option(cli, "key-type") != NULL &&
        crypt_key_type_parse(&type, cli_option(cli, "key-type"), &err,
                             cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2322, "--key-type: %s", err);
    EVP_PKEY *key = NULL;
    const char *next = account_file(&c, "account.key.next", cli->pool);
    const char *current = account_file(&c, "account.key", cli->pool);
    if (crypt_key_generate(&key, type, &err, cli->pool) != APR_SUCCESS ||
        key_file_save(key, next, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2323, "new key: %s", err);
    jws_signer_t signer;
    provider_signer(&signer, key, cli->pool);
    if (acme_account_key_change(c.session, &signer, &err, cli->pool) !=
        APR_SUCCESS) {
        state_remove(next, &err, cli->pool);
        return cli_fail(cli, CLI_EXIT_FAILED, 2324, "account rollover: %s",
                        c.session->problem
                            ? acme_problem_text(c.session->problem, cli->pool)
                            : err);
    }
    if (rename(next, current) != 0)
        return cli_fail(cli, CLI_EXIT_FAILED, 2325,
                        "the CA switched to the "
                        "new key but %s could not replace %s",
                        next, current);
    cli->result = json_pack("{s:s, s:s}", "url", c.account_url, "key_type",
                            crypt_key_type_name(type));
    cli_say(cli, "account key rolled over to a new %s key\n",
            crypt_key_type_name(type));
    return CLI_EXIT_OK;
}

static cli_exit_t account_deactivate(cli_t *cli)
{
    provider_conn_t c;
    const char *err = NULL;
    cli_exit_t code = connect_account(cli, &c, 2331);
    if (code != CLI_EXIT_OK)
        return code;
    json_t *account = NULL;
    if (acme_account_deactivate(&account, c.session, &err, cli->pool) !=
        APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2332, "account deactivate: %s",
                        err);
    json_t *rec = NULL;
    const char *path = account_file(&c, "account.json", cli->pool);
    if (state_read_json(&rec, path, &err, cli->pool) == APR_SUCCESS) {
        json_object_set_new(rec, "status", json_string("deactivated"));
        state_write_json(path, rec, &err, cli->pool);
    }
    const char *status = json_string_value(json_object_get(account, "status"));
    cli->result = json_pack("{s:s, s:s}", "url", c.account_url, "status",
                            status ? status : "deactivated");
    cli_say(cli, "account %s: %s\n", c.account_url,
            acme_escape(status, 32, cli->pool));
    return CLI_EXIT_OK;
}

cli_exit_t cmd_account_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {{"register", account_register},
                                       {"show", account_show},
                                       {"rollover", account_rollover},
                                       {"deactivate", account_deactivate},
                                       {NULL, NULL}};
    return cli_run_verb(cli, "account", verbs, 2300);
}
