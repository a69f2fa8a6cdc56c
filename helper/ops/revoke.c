/* revoke.c — see revoke.h.  The file and the key are the operator's
 * arguments: what is wrong with them is a usage error. */
#include "ops/revoke.h"

#include <string.h>

#include "apr_strings.h"

#include "acme/acme.h"
#include "acme/acme_json.h"
#include "base/state.h"
#include "crypto/crypt_key.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "ops/key_file.h"
#include "ops/provider.h"

/* The managed certificate currently deployed with this serial, if any. */
static const char *deployed_as(const ops_ctx_t *ctx, const char *serial)
{
    for (int i = 0; i < ctx->config->certs->nelts; i++) {
        const expacme_cert_conf_t *c =
            APR_ARRAY_IDX(ctx->config->certs, i, expacme_cert_conf_t *);
        json_t *rec = NULL;
        const char *err = NULL;
        const char *path =
            apr_pstrcat(ctx->pool, ctx->config->state_dir, "/certs/", c->name,
                        "/deployed.json", NULL);
        if (state_read_json(&rec, path, &err, ctx->pool) != APR_SUCCESS)
            continue;
        const char *s = acme_json_string_member(rec, "serial");
        if (s != NULL && strcmp(s, serial) == 0)
            return c->name;
    }
    return NULL;
}

static ops_status_t load_target(X509 **leaf, crypt_cert_info_t *info,
                                ops_error_t *error, const ops_ctx_t *ctx,
                                const char *file)
{
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_array_header_t *chain = NULL;
    if (state_read_file(&pem, &len, file, STATE_FILE_MAX, &err, ctx->pool) !=
            APR_SUCCESS ||
        crypt_chain_parse(&chain, pem, len, &err, ctx->pool) != APR_SUCCESS)
        return ops_fail(error, OPS_USAGE, 2701, ctx->pool, "%s: %s", file,
                        err ? err : "not found");
    *leaf = APR_ARRAY_IDX(chain, 0, X509 *);
    if (crypt_cert_info(info, *leaf, ctx->pool) != APR_SUCCESS)
        return ops_fail(error, OPS_USAGE, 2702, ctx->pool, "%s: cannot decode",
                        file);
    return OPS_OK;
}

/* --key: the request is signed by the certificate's key, with its jwk. */
static ops_status_t use_cert_key(provider_conn_t *conn, ops_error_t *error,
                                 const ops_ctx_t *ctx, X509 *leaf,
                                 const char *key_file)
{
    EVP_PKEY *key = NULL;
    const char *err = NULL;
    if (key_file_load(&key, key_file, &err, ctx->pool) != APR_SUCCESS)
        return ops_fail(error, OPS_USAGE, 2703, ctx->pool, "--key: %s", err);
    if (!crypt_key_public_equal(key, crypt_cert_public_key(leaf)))
        return ops_fail(error, OPS_USAGE, 2704, ctx->pool,
                        "--key %s is not "
                        "the key of this certificate",
                        key_file);
    const char *why = NULL;
    if (net_session_use_key(conn->session, key, NULL, &why) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2711, ctx->pool, "--key: %s", why);
    return OPS_OK;
}

/* The session that signs the request: the account's, or --key's. */
static ops_status_t open_session(provider_conn_t *conn, ops_error_t *error,
                                 const ops_ctx_t *ctx,
                                 const revoke_request_t *req, X509 *leaf)
{
    const char *err = NULL;
    const provider_t *known = NULL;
    if (req->provider != NULL &&
        provider_find(&known, ctx, req->provider, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_USAGE, 2710, ctx->pool, "--provider: %s",
                        err);
    if (provider_connect(conn, ctx, req->provider, req->key_file == NULL,
                         &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2707, ctx->pool, "%s", err);
    if (req->key_file != NULL)
        return use_cert_key(conn, error, ctx, leaf, req->key_file);
    return OPS_OK;
}

ops_status_t revoke_run(revoke_result_t *result, ops_error_t *error,
                        const ops_ctx_t *ctx, const revoke_request_t *req)
{
    ops_net_early(ctx);
    X509 *leaf = NULL;
    crypt_cert_info_t info;
    ops_status_t st = load_target(&leaf, &info, error, ctx, req->cert_file);
    if (st != OPS_OK)
        return st;
    const char *live = deployed_as(ctx, info.serial);
    if (live != NULL && !req->force)
        return ops_fail(error, OPS_FAILED, 2706, ctx->pool,
                        "refusing to "
                        "revoke the certificate deployed for %s (serial %s): "
                        "it would break service; deploy a new one first or "
                        "add --force",
                        live, info.serial);
    provider_conn_t conn;
    st = open_session(&conn, error, ctx, req, leaf);
    if (st != OPS_OK)
        return st;
    if (conn.session->revoke_cert_url == NULL)
        return ops_fail(error, OPS_FAILED, 2708, ctx->pool,
                        "this CA offers "
                        "no revokeCert");
    const char *err = NULL;
    long ca_status = 0;
    if (net_revoke(&ca_status, conn.session,
                   crypt_cert_der_b64url(leaf, ctx->pool), req->reason, &err,
                   ctx->pool) != APR_SUCCESS) {
        error->problem = conn.session->problem;
        return ops_fail(error, OPS_FAILED, 2709, ctx->pool, "revoke: %s", err);
    }
    result->serial = info.serial;
    result->provider = conn.provider->name;
    result->ca_status = ca_status;
    return OPS_OK;
}
