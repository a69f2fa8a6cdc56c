/* cmd_revoke.c — `revoke CERTFILE`: RFC 8555 §7.6, signed by the account
 * key (which needs valid authorizations for every name) or, with --key,
 * by the certificate's own key. */
#include "cmd/commands.h"

#include <string.h>

#include "apr_strings.h"

#include "acme/acme.h"
#include "acme/acme_json.h"
#include "base/state.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "crypto/crypt_key.h"
#include "ops/cert_state.h"
#include "ops/key_file.h"
#include "ops/provider.h"

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

/* The managed certificate currently deployed with this serial, if any. */
static const char *deployed_as(cli_t *cli, const char *serial)
{
    for (int i = 0; i < cli->config->certs->nelts; i++) {
        const expacme_cert_conf_t *c =
            APR_ARRAY_IDX(cli->config->certs, i, expacme_cert_conf_t *);
        json_t *rec = NULL;
        const char *err = NULL;
        const char *path =
            apr_pstrcat(cli->pool, cli->config->state_dir, "/certs/", c->name,
                        "/deployed.json", NULL);
        if (state_read_json(&rec, path, &err, cli->pool) != APR_SUCCESS)
            continue;
        const char *s = acme_json_string_member(rec, "serial");
        if (s != NULL && strcmp(s, serial) == 0)
            return c->name;
    }
    return NULL;
}

static cli_exit_t load_target(cli_t *cli, const char *file, X509 **leaf,
                              crypt_cert_info_t *info)
{
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_array_header_t *chain = NULL;
    if (state_read_file(&pem, &len, file, STATE_FILE_MAX, &err, cli->pool) !=
            APR_SUCCESS ||
        crypt_chain_parse(&chain, pem, len, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2701, "%s: %s", file,
                        err ? err : "not found");
    *leaf = APR_ARRAY_IDX(chain, 0, X509 *);
    if (crypt_cert_info(info, *leaf, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2702, "%s: cannot decode", file);
    return CLI_EXIT_OK;
}

/* --key: the request is signed by the certificate's key, with its jwk. */
static cli_exit_t use_cert_key(cli_t *cli, provider_conn_t *conn, X509 *leaf,
                               const char *key_file)
{
    EVP_PKEY *key = NULL;
    const char *err = NULL;
    if (key_file_load(&key, key_file, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2703, "--key: %s", err);
    if (!crypt_key_public_equal(key, crypt_cert_public_key(leaf)))
        return cli_fail(cli, CLI_EXIT_USAGE, 2704,
                        "--key %s is not the key "
                        "of this certificate",
                        key_file);
    provider_signer(&conn->session->signer, key, cli->pool);
    return CLI_EXIT_OK;
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
    int rcode = reason ? reason_code(reason) : 0;
    if (rcode < 0)
        return cli_fail(cli, CLI_EXIT_USAGE, 2705,
                        "--reason must be "
                        "unspecified, keyCompromise, superseded or "
                        "cessationOfOperation");
    X509 *leaf = NULL;
    crypt_cert_info_t info;
    code = load_target(cli, cli->argv[0], &leaf, &info);
    if (code != CLI_EXIT_OK)
        return code;
    const char *live = deployed_as(cli, info.serial);
    if (live != NULL && cli_option(cli, "force") == NULL)
        return cli_fail(cli, CLI_EXIT_FAILED, 2706,
                        "refusing to revoke the "
                        "certificate deployed for %s (serial %s): it would "
                        "break service; deploy a new one first or add --force",
                        live, info.serial);
    provider_conn_t conn;
    const char *err = NULL;
    const char *key_file = cli_option(cli, "key");
    const provider_t *known = NULL;
    if (cli_option(cli, "provider") != NULL &&
        provider_find(&known, &cli->ctx, cli_option(cli, "provider"), &err) !=
            APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2710, "--provider: %s", err);
    if (provider_connect(&conn, &cli->ctx, cli_option(cli, "provider"),
                         key_file == NULL, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2707, "%s", err);
    if (key_file != NULL) {
        code = use_cert_key(cli, &conn, leaf, key_file);
        if (code != CLI_EXIT_OK)
            return code;
    }
    if (conn.session->revoke_cert_url == NULL)
        return cli_fail(cli, CLI_EXIT_FAILED, 2708,
                        "this CA offers no "
                        "revokeCert");
    json_t *payload = json_pool_bind(
        json_pack("{s:s, s:i}", "certificate",
                  crypt_cert_der_b64url(leaf, cli->pool), "reason", rcode),
        cli->pool);
    http_response_t *resp = NULL;
    if (acme_post(&resp, conn.session, conn.session->revoke_cert_url, payload,
                  NULL, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2709, "revoke: %s", err);
    cli->result = json_pack(
        "{s:s, s:s, s:i, s:s, s:i}", "serial", info.serial, "reason",
        reason ? reason : "unspecified", "reason_code", rcode, "provider",
        conn.provider->name, "ca_status", (int)resp->status);
    cli_say(cli, "revoked serial %s at %s (reason %s); the CA answered %ld\n",
            info.serial, conn.provider->name, reason ? reason : "unspecified",
            resp->status);
    return CLI_EXIT_OK;
}
