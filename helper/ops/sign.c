/* sign.c — the stored CSR through an ACME order to a verified, staged
 * pending certificate (manual §4). */
#include "ops/sign.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apr_strings.h"

#include "acme/acme_order.h"
#include "ops/cert_state.h"
#include "ops/challenge_publish.h"
#include "challenge_store.h"
#include "ops/challenge_window.h"
#include "crypto/crypt_key.h"
#include "crypto/crypt_jose.h"
#include "crypto/crypt_csr.h"
#include "crypto/crypt_chain.h"
#include "ops/key_file.h"
#include "ops/notify.h"
#include "ops/provider.h"
#include "base/state.h"

typedef struct {
    cert_state_t *cert;
} sign_publisher_t;

/* The tokens are recorded before they are published, so that a helper
 * killed at any point leaves a list the next run can withdraw. */
static apr_status_t publish(void *baton, const apr_array_header_t *list,
                            apr_int64_t expires, const char **err,
                            apr_pool_t *pool)
{
    sign_publisher_t *pub = baton;
    json_t *signing = json_object_get(pub->cert->status, "signing");
    json_t *tokens = json_array();
    for (int i = 0; i < list->nelts; i++)
        json_array_append_new(
            tokens,
            json_string(APR_ARRAY_IDX(list, i, acme_challenge_t).token));
    json_object_set_new(signing, "tokens", tokens);
    apr_status_t rv = cert_state_save(pub->cert, err);
    challenge_store_writer_t *w = NULL;
    if (rv == APR_SUCCESS)
        rv = challenge_publish_open(&w, pub->cert->ctx->config, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    apr_int64_t now = (apr_int64_t)time(NULL);
    for (int i = 0; i < list->nelts && rv == APR_SUCCESS; i++) {
        const acme_challenge_t *c = &APR_ARRAY_IDX(list, i, acme_challenge_t);
        challenge_store_status_t st =
            challenge_store_put(w, c->host, c->token, c->keyauth, expires, now);
        if (st != CHALLENGE_STORE_OK) {
            *err = apr_psprintf(pool,
                                "cannot publish the challenge for %s: "
                                "%s",
                                c->host, challenge_store_status_text(st));
            rv = APR_EGENERAL;
        }
    }
    challenge_store_writer_close(w);
    ops_progress(pub->cert->ctx, "published %d challenge%s", list->nelts,
                 list->nelts == 1 ? "" : "s");
    if (rv == APR_SUCCESS)
        rv = challenge_window_open(pub->cert->ctx, err);
    return rv;
}

static apr_status_t withdraw(void *baton, const apr_array_header_t *list,
                             const char **err, apr_pool_t *pool)
{
    sign_publisher_t *pub = baton;
    apr_array_header_t *tokens =
        apr_array_make(pool, list->nelts, sizeof(const char *));
    for (int i = 0; i < list->nelts; i++)
        APR_ARRAY_PUSH(tokens, const char *) =
            APR_ARRAY_IDX(list, i, acme_challenge_t).token;
    apr_status_t rv =
        challenge_publish_withdraw(pub->cert->ctx->config, tokens, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    const char *window_err = NULL;
    if (challenge_window_close(pub->cert->ctx, &window_err) != APR_SUCCESS)
        ops_progress(pub->cert->ctx, "warning: %s", window_err);
    json_object_del(json_object_get(pub->cert->status, "signing"), "tokens");
    return cert_state_save(pub->cert, err);
}

typedef struct {
    const ops_ctx_t *ctx;
    ops_error_t *error;
    cert_state_t *cert;
    X509_REQ *csr;
    EVP_PKEY *key;
    apr_array_header_t *names;
    provider_conn_t conn;
} sign_job_t;

static ops_status_t load_csr(sign_job_t *job)
{
    apr_pool_t *pool = job->ctx->pool;
    const char *err = NULL;
    char *pem = NULL;
    apr_size_t len = 0;
    if (!cert_state_has(job->cert, "csr.pem"))
        return ops_fail(job->error, OPS_FAILED, 2401, pool,
                        "no CSR for %s: "
                        "run 'expacmectl --cert %s csr generate --cn FQDN' "
                        "first",
                        job->cert->name, job->cert->name);
    if (state_read_file(&pem, &len, cert_state_file(job->cert, "csr.pem"),
                        STATE_FILE_MAX, &err, pool) != APR_SUCCESS ||
        crypt_csr_load(&job->csr, pem, len, &err, pool) != APR_SUCCESS ||
        key_file_load(&job->key, cert_state_file(job->cert, "key.pem"), &err,
                      pool) != APR_SUCCESS)
        return ops_fail(job->error, OPS_FAILED, 2402, pool, "%s", err);
    if (!crypt_key_public_equal(job->key, crypt_csr_public_key(job->csr)))
        return ops_fail(job->error, OPS_FAILED, 2403, pool,
                        "%s: key.pem "
                        "does not match csr.pem; generate the CSR again",
                        job->cert->dir);
    job->names = crypt_csr_names(job->csr, pool);
    return OPS_OK;
}

static apr_status_t
stage_pending(sign_job_t *job, const acme_order_result_t *res, const char **err)
{
    apr_pool_t *pool = job->ctx->pool;
    apr_array_header_t *chain = NULL;
    apr_status_t rv = crypt_chain_parse(&chain, res->chain_pem,
                                        strlen(res->chain_pem), err, pool);
    if (rv == APR_SUCCESS)
        rv = crypt_chain_verify(chain, job->key, job->names, err, pool);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(pool, "the CA's certificate fails the checks: %s",
                            *err);
        return rv;
    }
    json_t *meta = json_pool_bind(
        json_pack("{s:s, s:s?, s:s, s:I, s:i}", "provider",
                  job->conn.provider->name, "order", res->order_url, "issuer",
                  res->chain_issuer, "signed", (json_int_t)time(NULL),
                  "alternates", res->alternates),
        pool);
    rv = state_write_file(cert_state_file(job->cert, "pending.pem"),
                          res->chain_pem, strlen(res->chain_pem), 0644, err,
                          pool);
    if (rv == APR_SUCCESS)
        rv = state_write_json(cert_state_file(job->cert, "pending.json"), meta,
                              err, pool);
    return rv;
}

static void request_init(acme_order_request_t *req, sign_job_t *job,
                         sign_publisher_t *pub, acme_publisher_t *publisher,
                         const char *profile)
{
    apr_pool_t *pool = job->ctx->pool;
    memset(req, 0, sizeof(*req));
    publisher->publish = publish;
    publisher->withdraw = withdraw;
    publisher->baton = pub;
    req->csr_der_b64url = crypt_csr_der_b64url(job->csr, pool);
    req->names = job->names;
    req->thumbprint = crypt_jose_thumbprint(job->conn.account_key, pool);
    req->profile = profile ? profile : job->conn.provider->profile;
    req->preferred_chain = job->conn.provider->preferred_chain;
    req->timeout = apr_time_from_sec(job->ctx->config->order_timeout);
    req->publisher = publisher;
}

/* The order in flight is recorded first: a helper killed mid-order
 * leaves what the next run needs to withdraw its tokens. */
static apr_status_t mark_signing(sign_job_t *job, const char **err)
{
    json_object_set_new(job->cert->status, "signing",
                        json_pack("{s:I, s:I, s:s}", "pid",
                                  (json_int_t)getpid(), "started",
                                  (json_int_t)time(NULL), "provider",
                                  job->conn.provider->name));
    return cert_state_save(job->cert, err);
}

static void record_outcome(sign_job_t *job, apr_status_t rv, const char *err)
{
    json_object_del(job->cert->status, "signing");
    const char *result = rv == APR_SUCCESS           ? "success"
                         : ops_interrupted(job->ctx) ? "interrupted"
                                                     : "failure";
    cert_state_set_sign(job->cert, result,
                        rv == APR_SUCCESS ? "certificate signed and pending"
                                          : err,
                        job->conn.provider->name,
                        rv == APR_SUCCESS ? NULL : job->conn.session->problem);
    const char *save_err = NULL;
    cert_state_save(job->cert, &save_err);
}

static ops_status_t run_order(sign_result_t *result, sign_job_t *job,
                              const char *profile, const char *replaces)
{
    apr_pool_t *pool = job->ctx->pool;
    const char *err = NULL;
    sign_publisher_t pub = {job->cert};
    /* A store the helper cannot use is a configuration error: found
     * before the CA is asked for anything. */
    if (config_store_path(job->ctx->config, &err) == NULL)
        return ops_fail(job->error, OPS_USAGE, 2404, pool, "%s", err);
    if (mark_signing(job, &err) != APR_SUCCESS)
        return ops_fail(job->error, OPS_FAILED, 2405, pool, "%s", err);
    acme_publisher_t publisher;
    acme_order_request_t req;
    request_init(&req, job, &pub, &publisher, profile);
    if (replaces != NULL && job->conn.session->renewal_info_url != NULL)
        req.replaces = replaces;
    acme_order_result_t res;
    apr_status_t rv = acme_order_run(&res, job->conn.session, &req, &err, pool);
    if (rv == APR_SUCCESS)
        rv = stage_pending(job, &res, &err);
    record_outcome(job, rv, err);
    if (rv != APR_SUCCESS) {
        job->error->problem = job->conn.session->problem;
        return ops_fail(job->error, OPS_FAILED, 2406, pool, "sign: %s", err);
    }
    result->provider = job->conn.provider->name;
    result->issuer = res.chain_issuer;
    result->alternates = res.alternates;
    return OPS_OK;
}

static ops_status_t open_cert(sign_result_t *result, sign_job_t *job,
                              const char *name)
{
    apr_pool_t *pool = job->ctx->pool;
    const char *err = NULL;
    if (cert_state_open(&job->cert, job->ctx, name, &err) != APR_SUCCESS)
        return ops_fail(job->error, OPS_FAILED, 2407, pool, "%s", err);
    if (cert_state_lock(job->cert, &err) != APR_SUCCESS)
        return ops_fail(job->error, OPS_FAILED, 2408, pool, "%s", err);
    if (cert_state_recover(job->cert, &result->recovered, &err) != APR_SUCCESS)
        return ops_fail(job->error, OPS_FAILED, 2409, pool, "%s", err);
    if (result->recovered)
        ops_progress(job->ctx,
                     "withdrew the challenges of an interrupted sign");
    return OPS_OK;
}

ops_status_t sign_run(sign_result_t *result, ops_error_t *error,
                      const ops_ctx_t *ctx, const char *name,
                      const char *profile, const char *replaces)
{
    sign_job_t job = {ctx, error, NULL, NULL, NULL, NULL, {0}};
    const char *err = NULL;
    memset(result, 0, sizeof(*result));
    ops_status_t st = open_cert(result, &job, name);
    if (st == OPS_OK)
        st = load_csr(&job);
    if (st != OPS_OK)
        return st;
    if (provider_connect(&job.conn, ctx, NULL, 1, &err) != APR_SUCCESS) {
        cert_state_set_sign(job.cert, "failure", err, NULL, NULL);
        const char *save_err = NULL;
        cert_state_save(job.cert, &save_err);
        notify_event(ctx, "sign-failure", name, err);
        return ops_fail(error, OPS_FAILED, 2410, ctx->pool, "sign: %s", err);
    }
    ops_progress(ctx, "signing %s for %d name%s with %s", job.cert->name,
                 job.names->nelts, job.names->nelts == 1 ? "" : "s",
                 job.conn.provider->name);
    st = run_order(result, &job, profile, replaces);
    json_t *sign = json_object_get(job.cert->status, "last_sign");
    notify_event(ctx, st == OPS_OK ? "sign-success" : "sign-failure", name,
                 json_string_value(json_object_get(sign, "detail")));
    return st;
}
