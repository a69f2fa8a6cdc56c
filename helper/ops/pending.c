/* pending.c — see pending.h. */
#include "ops/pending.h"

#include "base/state.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "ops/cert_state.h"

static ops_status_t open_cert(cert_state_t **cert, ops_error_t *error,
                              const ops_ctx_t *ctx, const char *name)
{
    const char *err = NULL;
    if (cert_state_open(cert, ctx, name, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2506, ctx->pool, "%s", err);
    return OPS_OK;
}

/* Each certificate of the chain as the admin sees it. */
static ops_status_t chain_info(apr_array_header_t **out, ops_error_t *error,
                               const ops_ctx_t *ctx,
                               const apr_array_header_t *chain)
{
    *out = apr_array_make(ctx->pool, chain->nelts, sizeof(crypt_cert_info_t));
    for (int i = 0; i < chain->nelts; i++) {
        crypt_cert_info_t *info = apr_array_push(*out);
        if (crypt_cert_info(info, APR_ARRAY_IDX(chain, i, X509 *), ctx->pool) !=
            APR_SUCCESS)
            return ops_fail(error, OPS_FAILED, 2503, ctx->pool,
                            "cannot decode certificate %d of the chain", i);
    }
    return OPS_OK;
}

ops_status_t pending_show(pending_show_result_t *result, ops_error_t *error,
                          const ops_ctx_t *ctx, const char *name, int pem_only)
{
    cert_state_t *cert = NULL;
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    result->chain = NULL;
    ops_status_t st = open_cert(&cert, error, ctx, name);
    if (st != OPS_OK)
        return st;
    apr_status_t rv =
        state_read_file(&pem, &len, cert_state_file(cert, "pending.pem"),
                        STATE_FILE_MAX, &err, ctx->pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return ops_fail(error, OPS_FAILED, 2501, ctx->pool,
                        "no pending certificate for %s", cert->name);
    apr_array_header_t *chain = NULL;
    if (rv == APR_SUCCESS)
        rv = crypt_chain_parse(&chain, pem, len, &err, ctx->pool);
    if (rv != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2502, ctx->pool, "%s", err);
    result->pem = pem;
    return pem_only ? OPS_OK : chain_info(&result->chain, error, ctx, chain);
}

ops_status_t pending_discard(pending_discard_result_t *result,
                             ops_error_t *error, const ops_ctx_t *ctx,
                             const char *name)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    ops_status_t st = open_cert(&cert, error, ctx, name);
    if (st != OPS_OK)
        return st;
    if (!cert_state_has(cert, "pending.pem"))
        return ops_fail(error, OPS_FAILED, 2504, ctx->pool,
                        "no pending certificate for %s", cert->name);
    /* pending.pem first: it alone makes the certificate pending, so a
     * discard cut short leaves at most a pending.json the next sign
     * overwrites. */
    if (cert_state_lock(cert, &err) != APR_SUCCESS ||
        state_remove(cert_state_file(cert, "pending.pem"), &err, ctx->pool) !=
            APR_SUCCESS ||
        state_remove(cert_state_file(cert, "pending.json"), &err, ctx->pool) !=
            APR_SUCCESS ||
        state_remove(cert_state_file(cert, "pending2.pem"), &err, ctx->pool) !=
            APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2505, ctx->pool, "%s", err);
    result->state = cert_state_name(cert);
    return OPS_OK;
}
