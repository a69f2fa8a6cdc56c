/* csr.c — see csr.h.  The order of the file operations is what keeps a
 * certificate consistent whenever the helper is stopped: a csr.pem never
 * exists without its csr.json and key, and the old key stays reachable
 * until the new CSR is in place. */
#include "ops/csr.h"
#include "ops/key_file.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apr_strings.h"

#include "base/state.h"
#include "ops/cert_info.h"
#include "ops/cert_state.h"

static ops_status_t open_locked(cert_state_t **cert, ops_error_t *error,
                                const ops_ctx_t *ctx, const char *name)
{
    const char *err = NULL;
    if (cert_state_open(cert, ctx, name, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2806, ctx->pool, "%s", err);
    if (cert_state_lock(*cert, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2807, ctx->pool, "%s", err);
    return OPS_OK;
}

static ops_status_t no_csr(ops_error_t *error, const ops_ctx_t *ctx, int logno,
                           const char *name)
{
    return ops_fail(error, OPS_FAILED, logno, ctx->pool,
                    "no CSR for certificate %s: run 'expacmectl --cert %s "
                    "csr generate --cn FQDN'",
                    name, name);
}

/* A pending certificate was signed for the key being replaced or
 * removed: it can no longer be deployed. */
static const char *pending_warning(const cert_state_t *cert)
{
    if (!cert_state_has(cert, "pending.pem"))
        return NULL;
    return "the pending certificate belongs to the key just replaced or "
           "removed and can no longer be deployed: 'pending discard' it";
}

/* The stored key for --reuse-key; its type wins unless --key-type asks
 * for another one, which is a contradiction. */
static ops_status_t reuse_key(EVP_PKEY **key, ops_error_t *error,
                              cert_state_t *cert, csr_request_t *req)
{
    apr_pool_t *pool = cert->ctx->pool;
    const char *err = NULL;
    crypt_key_type_t type = CRYPT_KEY_EC256;
    apr_status_t rv =
        key_file_load(key, cert_state_file(cert, "key.pem"), &err, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return ops_fail(error, OPS_FAILED, 2811, pool,
                        "--reuse-key: certificate %s has no key yet; "
                        "generate a CSR without --reuse-key first",
                        cert->name);
    if (rv != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2812, pool, "%s", err);
    crypt_key_type_of(&type, *key); /* key_file_load checked it */
    if (req->key_type_given && type != req->key_type)
        return ops_fail(error, OPS_USAGE, 2813, pool,
                        "--reuse-key: the stored key is %s, not %s",
                        crypt_key_type_name(type),
                        crypt_key_type_name(req->key_type));
    req->key_type = type;
    return OPS_OK;
}

/* Removes the CSR, csr.pem first: whatever happens next, a csr.pem never
 * exists without its csr.json and key. */
static apr_status_t remove_csr(cert_state_t *cert, const char **err)
{
    apr_status_t rv =
        state_remove(cert_state_file(cert, "csr.pem"), err, cert->ctx->pool);
    if (rv == APR_SUCCESS)
        rv = state_remove(cert_state_file(cert, "csr.json"), err,
                          cert->ctx->pool);
    return rv;
}

/* key.pem becomes a new key; the old one stays reachable as key.pem.prev
 * (a hard link, so its bytes never pass through memory) until the new CSR
 * is in place. */
static apr_status_t replace_key(cert_state_t *cert, EVP_PKEY *key,
                                const char **err)
{
    apr_pool_t *pool = cert->ctx->pool;
    const char *path = cert_state_file(cert, "key.pem");
    const char *prev = cert_state_file(cert, "key.pem.prev");
    apr_status_t rv = state_remove(prev, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (link(path, prev) != 0 && errno != ENOENT) {
        rv = errno;
        *err = apr_psprintf(pool, "cannot keep %s as %s: %s", path, prev,
                            strerror(rv));
        return rv;
    }
    return key_file_save(key, path, err, pool);
}

static json_t *subject_json(const crypt_csr_spec_t *spec)
{
    return json_pack("{s:s*, s:s*, s:s*, s:s*, s:s*}", "org", spec->org, "unit",
                     spec->unit, "locality", spec->locality, "state",
                     spec->state, "country", spec->country);
}

/* csr.json: what was asked for, as `csr show` and `status` present it. */
static json_t *csr_record(const csr_request_t *req,
                          const apr_array_header_t *names)
{
    json_t *record =
        json_pack("{s:s, s:o, s:s, s:s, s:o, s:I}", "cn", req->spec.cn, "names",
                  cert_info_names_json(names), "key_type",
                  crypt_key_type_name(req->key_type), "digest",
                  crypt_digest_name(req->spec.digest), "subject",
                  subject_json(&req->spec), "created", (json_int_t)time(NULL));
    if (req->has_second)
        json_object_set_new(record, "key_type2",
                            json_string(crypt_key_type_name(req->key_type2)));
    return record;
}

/* New key (unless reused), then csr.json, then csr.pem; the old CSR is
 * gone before the key changes. */
static ops_status_t store_csr(ops_error_t *error, cert_state_t *cert,
                              const csr_request_t *req, EVP_PKEY *key,
                              json_t *record, const char *pem)
{
    apr_pool_t *pool = cert->ctx->pool;
    const char *err = NULL;
    apr_status_t rv = remove_csr(cert, &err);
    if (rv == APR_SUCCESS && !req->reuse_key)
        rv = replace_key(cert, key, &err);
    if (rv == APR_SUCCESS)
        rv = state_write_json(cert_state_file(cert, "csr.json"), record, &err,
                              pool);
    if (rv == APR_SUCCESS)
        rv = state_write_file(cert_state_file(cert, "csr.pem"), pem,
                              strlen(pem), 0644, &err, pool);
    if (rv == APR_SUCCESS)
        rv = state_remove(cert_state_file(cert, "key.pem.prev"), &err, pool);
    if (rv != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2816, pool, "%s", err);
    return OPS_OK;
}

/* The second pair (key2.pem 0600, csr2.pem) of an RSA + ECDSA
 * certificate, or none: a CSR of one key removes an earlier second. */
static apr_status_t store_second(cert_state_t *cert, EVP_PKEY *key2,
                                 const char *pem2, const char **err)
{
    apr_pool_t *pool = cert->ctx->pool;
    const char *key_path = cert_state_file(cert, "key2.pem");
    const char *csr_path = cert_state_file(cert, "csr2.pem");
    apr_status_t rv = state_remove(csr_path, err, pool);
    if (rv == APR_SUCCESS && key2 == NULL)
        return state_remove(key_path, err, pool);
    if (rv == APR_SUCCESS)
        rv = key_file_save(key2, key_path, err, pool);
    if (rv == APR_SUCCESS)
        rv = state_write_file(csr_path, pem2, strlen(pem2), 0644, err, pool);
    return rv;
}

/* Key and CSR are made in memory first: a failure here leaves the
 * stored CSR and key as they were. */
static ops_status_t make_csr(X509_REQ **csr, EVP_PKEY **key, ops_error_t *error,
                             const ops_ctx_t *ctx, const csr_request_t *req)
{
    const char *err = NULL;
    if ((!req->reuse_key && crypt_key_generate(key, req->key_type, &err,
                                               ctx->pool) != APR_SUCCESS) ||
        crypt_csr_create(csr, *key, &req->spec, &err, ctx->pool) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2814, ctx->pool, "%s", err);
    return OPS_OK;
}

ops_status_t csr_generate(csr_generate_result_t *result, ops_error_t *error,
                          const ops_ctx_t *ctx, const char *name,
                          const csr_request_t *request)
{
    csr_request_t req = *request;
    cert_state_t *cert = NULL;
    EVP_PKEY *key = NULL;
    X509_REQ *csr = NULL;
    memset(result, 0, sizeof(*result));
    ops_status_t st = open_locked(&cert, error, ctx, name);
    if (st == OPS_OK && req.reuse_key)
        st = reuse_key(&key, error, cert, &req);
    if (st == OPS_OK)
        st = make_csr(&csr, &key, error, ctx, &req);
    if (st != OPS_OK)
        return st;
    result->pem = crypt_csr_pem(csr, ctx->pool);
    if (result->pem == NULL)
        return ops_fail(error, OPS_FAILED, 2815, ctx->pool,
                        "cannot encode the CSR");
    result->record = json_pool_bind(
        csr_record(&req, crypt_csr_names(csr, ctx->pool)), ctx->pool);
    EVP_PKEY *key2 = NULL;
    X509_REQ *csr2 = NULL;
    const char *pem2 = NULL;
    if (req.has_second) {
        csr_request_t second = req;
        second.key_type = req.key_type2;
        second.reuse_key = 0;
        st = make_csr(&csr2, &key2, error, ctx, &second);
        if (st != OPS_OK)
            return st;
        pem2 = crypt_csr_pem(csr2, ctx->pool);
        if (pem2 == NULL)
            return ops_fail(error, OPS_FAILED, 2843, ctx->pool,
                            "cannot encode the second CSR");
    }
    st = store_csr(error, cert, &req, key, result->record, result->pem);
    if (st != OPS_OK)
        return st;
    const char *err2 = NULL;
    if (store_second(cert, key2, pem2, &err2) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2844, ctx->pool, "%s", err2);
    result->dir = cert->dir;
    result->key_type = req.key_type;
    result->warning = req.reuse_key ? NULL : pending_warning(cert);
    return OPS_OK;
}

static ops_status_t load_stored(X509_REQ **csr, csr_show_result_t *result,
                                ops_error_t *error, const cert_state_t *cert)
{
    apr_pool_t *pool = cert->ctx->pool;
    const char *path = cert_state_file(cert, "csr.pem");
    const char *err = NULL;
    char *pem = NULL;
    apr_size_t len = 0;
    apr_status_t rv =
        state_read_file(&pem, &len, path, STATE_FILE_MAX, &err, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return no_csr(error, cert->ctx, 2832, cert->name);
    if (rv != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2833, pool, "%s", err);
    if (crypt_csr_load(csr, pem, len, &err, pool) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2835, pool, "%s: %s", path, err);
    result->pem = pem;
    return OPS_OK;
}

/* The names and key come from the CSR itself, the rest from csr.json
 * when it is readable. */
ops_status_t csr_show(csr_show_result_t *result, ops_error_t *error,
                      const ops_ctx_t *ctx, const char *name)
{
    cert_state_t *cert = NULL;
    X509_REQ *csr = NULL;
    const char *err = NULL;
    memset(result, 0, sizeof(*result));
    if (cert_state_open(&cert, ctx, name, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2831, ctx->pool, "%s", err);
    ops_status_t st = load_stored(&csr, result, error, cert);
    if (st != OPS_OK)
        return st;
    result->text = crypt_csr_text(csr, ctx->pool);
    if (result->text == NULL)
        return ops_fail(error, OPS_FAILED, 2834, ctx->pool, "cannot decode %s",
                        cert_state_file(cert, "csr.pem"));
    result->names = crypt_csr_names(csr, ctx->pool);
    if (result->names->nelts > 0)
        result->cn = APR_ARRAY_IDX(result->names, 0, const char *);
    crypt_key_type_t type;
    if (crypt_key_type_of(&type, crypt_csr_public_key(csr)) == APR_SUCCESS)
        result->key_type = crypt_key_type_name(type);
    if (state_read_json(&result->record, cert_state_file(cert, "csr.json"),
                        &err, ctx->pool) != APR_SUCCESS)
        result->record = NULL;
    return OPS_OK;
}

ops_status_t csr_discard(csr_discard_result_t *result, ops_error_t *error,
                         const ops_ctx_t *ctx, const char *name)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    ops_status_t st = open_locked(&cert, error, ctx, name);
    if (st != OPS_OK)
        return st;
    if (!cert_state_has(cert, "csr.pem"))
        return no_csr(error, ctx, 2821, cert->name);
    /* CSR first, then its key: never a CSR without its key. */
    apr_status_t rv = remove_csr(cert, &err);
    if (rv == APR_SUCCESS)
        rv = state_remove(cert_state_file(cert, "key.pem"), &err, ctx->pool);
    if (rv == APR_SUCCESS)
        rv = state_remove(cert_state_file(cert, "key.pem.prev"), &err,
                          ctx->pool);
    if (rv == APR_SUCCESS)
        rv = store_second(cert, NULL, NULL, &err);
    if (rv != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2822, ctx->pool, "%s", err);
    result->warning = pending_warning(cert);
    return OPS_OK;
}
