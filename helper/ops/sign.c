/* sign.c — the stored CSR through an ACME order to a verified, staged
 * pending certificate (manual §4). */
#include "ops/sign.h"

#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "apr_strings.h"

#include "acme/acme_order.h"
#include "ops/cert_state.h"
#include "ops/challenge_publish.h"
#include "challenge_store.h"
#include "ops/challenge_window.h"
#include "ops/challenge_alpn.h"
#include "ops/challenge_dns.h"
#include "crypto/crypt_challenge.h"
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
    const expacme_cert_conf_t *conf; /* challenges, dns_hook */
} sign_publisher_t;

static int is_type(const acme_challenge_t *c, const char *type)
{
    return strcmp(c->type, type) == 0;
}

/* What withdraw (or, after a kill -9, the next run) needs: every token,
 * the tls-alpn-01 hosts and the dns-01 records with their hook. */
static void record_published(sign_publisher_t *pub,
                             const apr_array_header_t *list, apr_pool_t *pool)
{
    json_t *signing = json_object_get(pub->cert->status, "signing");
    json_t *tokens = json_array(), *alpn = json_array(), *dns = json_array();
    for (int i = 0; i < list->nelts; i++) {
        const acme_challenge_t *c = &APR_ARRAY_IDX(list, i, acme_challenge_t);
        json_array_append_new(tokens, json_string(c->token));
        if (is_type(c, "tls-alpn-01"))
            json_array_append_new(alpn, json_string(c->host));
        if (is_type(c, "dns-01"))
            json_array_append_new(
                dns, json_pack("[s, s, s]", challenge_dns_record(c->host, pool),
                               crypt_challenge_dns_value(c->keyauth, pool),
                               pub->conf->dns_hook));
    }
    json_object_set_new(signing, "tokens", tokens);
    json_object_set_new(signing, "alpn", alpn);
    json_object_set_new(signing, "dns", dns);
}

/* Every write is checked: one that fails fails the order here, before
 * the CA is told to validate.  A cluster's peers see a newly opened
 * window within a bounded time: the CA is told only after it (settle). */
static apr_status_t publish_http(sign_publisher_t *pub,
                                 const apr_array_header_t *list,
                                 apr_int64_t expires, int *count,
                                 const char **err, apr_pool_t *pool)
{
    *count = 0;
    for (int i = 0; i < list->nelts; i++)
        *count += is_type(&APR_ARRAY_IDX(list, i, acme_challenge_t), "http-01");
    if (*count == 0)
        return APR_SUCCESS;
    challenge_publish_t *store = NULL;
    apr_status_t rv =
        challenge_publish_open(&store, pub->cert->ctx->config, err, pool);
    for (int i = 0; i < list->nelts && rv == APR_SUCCESS; i++) {
        const acme_challenge_t *c = &APR_ARRAY_IDX(list, i, acme_challenge_t);
        const char *why = NULL;
        if (!is_type(c, "http-01"))
            continue;
        rv = challenge_publish_put(store, c->host, c->token, c->keyauth,
                                   expires, &why);
        if (rv != APR_SUCCESS)
            *err = apr_psprintf(pool, "cannot publish the challenge for %s: %s",
                                c->host, why);
    }
    if (store == NULL)
        return rv;
    if (rv == APR_SUCCESS)
        challenge_publish_settle(store);
    challenge_publish_close(store);
    return rv;
}

static apr_status_t publish_alpn(sign_publisher_t *pub,
                                 const apr_array_header_t *list,
                                 apr_int64_t expires, const char **err,
                                 apr_pool_t *pool)
{
    apr_status_t rv = APR_SUCCESS;
    for (int i = 0; i < list->nelts && rv == APR_SUCCESS; i++) {
        const acme_challenge_t *c = &APR_ARRAY_IDX(list, i, acme_challenge_t);
        if (is_type(c, "tls-alpn-01"))
            rv = challenge_alpn_put(pub->cert->ctx->config, c->host, c->keyauth,
                                    expires, err, pool);
    }
    return rv;
}

/* Every record added first, then each waited for: the resolver sees
 * them propagate in parallel. */
static apr_status_t publish_dns(sign_publisher_t *pub,
                                const apr_array_header_t *list,
                                const char **err, apr_pool_t *pool)
{
    const ops_ctx_t *ctx = pub->cert->ctx;
    apr_status_t rv = APR_SUCCESS;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < list->nelts && rv == APR_SUCCESS; i++) {
            const acme_challenge_t *c =
                &APR_ARRAY_IDX(list, i, acme_challenge_t);
            if (!is_type(c, "dns-01"))
                continue;
            const char *record = challenge_dns_record(c->host, pool);
            const char *value = crypt_challenge_dns_value(c->keyauth, pool);
            rv = pass == 0 ? challenge_dns_hook(ctx, pub->conf->dns_hook, "add",
                                                record, value, err)
                           : challenge_dns_wait(ctx, record, value, err);
            if (rv == APR_SUCCESS && pass == 1)
                ops_progress(ctx, "TXT %s visible", record);
        }
    }
    return rv;
}

/* Everything is recorded before it is published, so that a helper
 * killed at any point leaves a list the next run can withdraw. */
static apr_status_t publish(void *baton, const apr_array_header_t *list,
                            apr_int64_t expires, const char **err,
                            apr_pool_t *pool)
{
    sign_publisher_t *pub = baton;
    int http = 0;
    record_published(pub, list, pool);
    apr_status_t rv = cert_state_save(pub->cert, err);
    if (rv == APR_SUCCESS)
        rv = publish_http(pub, list, expires, &http, err, pool);
    if (rv == APR_SUCCESS)
        rv = publish_alpn(pub, list, expires, err, pool);
    if (rv == APR_SUCCESS)
        rv = publish_dns(pub, list, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    ops_progress(pub->cert->ctx, "published %d challenge%s", list->nelts,
                 list->nelts == 1 ? "" : "s");
    if (http > 0)
        rv = challenge_window_open(pub->cert->ctx, err);
    return rv;
}

static apr_status_t withdraw(void *baton, const apr_array_header_t *list,
                             const char **err, apr_pool_t *pool)
{
    sign_publisher_t *pub = baton;
    (void)list; /* what was recorded is what gets withdrawn */
    (void)pool;
    json_t *signing = json_object_get(pub->cert->status, "signing");
    apr_status_t rv =
        challenge_publish_withdraw_all(pub->cert->ctx, signing, err);
    if (rv != APR_SUCCESS)
        return rv;
    const char *window_err = NULL;
    if (challenge_window_release(pub->cert->ctx, &window_err) != APR_SUCCESS)
        ops_progress(pub->cert->ctx, "warning: %s", window_err);
    json_object_del(signing, "tokens");
    json_object_del(signing, "alpn");
    json_object_del(signing, "dns");
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
    const expacme_cert_conf_t *conf;
    X509_REQ *csr2; /* the second key's (SPEC §2), or NULL */
    EVP_PKEY *key2;
} sign_job_t;

/* A certificate without a [cert] section signs with http-01 alone. */
static const expacme_cert_conf_t *cert_conf(const ops_ctx_t *ctx,
                                            const char *name)
{
    const expacme_cert_conf_t *conf = config_cert(ctx->config, name);
    if (conf != NULL)
        return conf;
    expacme_cert_conf_t *dflt = apr_pcalloc(ctx->pool, sizeof(*dflt));
    dflt->name = name;
    dflt->challenge_types = apr_array_make(ctx->pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(dflt->challenge_types, const char *) = "http-01";
    return dflt;
}

/* The same names, in any order (case as crypt_csr_names gives them). */
static int same_names(const apr_array_header_t *a, const apr_array_header_t *b)
{
    if (a->nelts != b->nelts)
        return 0;
    for (int i = 0; i < a->nelts; i++) {
        int found = 0;
        for (int j = 0; j < b->nelts && !found; j++)
            found = strcasecmp(APR_ARRAY_IDX(a, i, const char *),
                               APR_ARRAY_IDX(b, j, const char *)) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

/* csr2.pem and key2.pem of an RSA + ECDSA certificate: one more order. */
static ops_status_t load_second(sign_job_t *job)
{
    apr_pool_t *pool = job->ctx->pool;
    const char *err = NULL;
    char *pem = NULL;
    apr_size_t len = 0;
    if (!cert_state_has(job->cert, "csr2.pem"))
        return OPS_OK;
    if (state_read_file(&pem, &len, cert_state_file(job->cert, "csr2.pem"),
                        STATE_FILE_MAX, &err, pool) != APR_SUCCESS ||
        crypt_csr_load(&job->csr2, pem, len, &err, pool) != APR_SUCCESS ||
        key_file_load(&job->key2, cert_state_file(job->cert, "key2.pem"), &err,
                      pool) != APR_SUCCESS)
        return ops_fail(job->error, OPS_FAILED, 2411, pool, "%s", err);
    if (!crypt_key_public_equal(job->key2, crypt_csr_public_key(job->csr2)))
        return ops_fail(job->error, OPS_FAILED, 2412, pool,
                        "%s: key2.pem does not match csr2.pem; generate the "
                        "CSR again",
                        job->cert->dir);
    /* Both orders publish and are checked for the first CSR's names. */
    if (!same_names(crypt_csr_names(job->csr2, pool), job->names))
        return ops_fail(job->error, OPS_FAILED, 2414, pool,
                        "%s: csr2.pem names other names than csr.pem; "
                        "generate both again",
                        job->cert->dir);
    return OPS_OK;
}

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
    if (job->names->nelts == 0)
        return ops_fail(job->error, OPS_FAILED, 2413, pool,
                        "%s: csr.pem names no DNS name or IP address; "
                        "generate the CSR again",
                        job->cert->dir);
    return load_second(job);
}

/* The CA's chain for key: it parses, links, is for key and names, and
 * is valid now. */
static apr_status_t check_chain(sign_job_t *job, const acme_order_result_t *res,
                                EVP_PKEY *key, const char **err)
{
    apr_pool_t *pool = job->ctx->pool;
    apr_array_header_t *chain = NULL;
    apr_status_t rv = crypt_chain_parse(&chain, res->chain_pem,
                                        strlen(res->chain_pem), err, pool);
    if (rv == APR_SUCCESS)
        rv = crypt_chain_verify(chain, key, job->names, err, pool);
    if (rv == APR_SUCCESS)
        rv = crypt_chain_check_dates(chain, (apr_int64_t)time(NULL), err, pool);
    if (rv != APR_SUCCESS)
        *err = apr_psprintf(pool, "the CA's certificate fails the checks: %s",
                            *err);
    return rv;
}

/* Both pairs staged together (res2 NULL: one key; a second pending from
 * before goes). */
static apr_status_t stage_pending(sign_job_t *job,
                                  const acme_order_result_t *res,
                                  const acme_order_result_t *res2,
                                  const char **err)
{
    apr_pool_t *pool = job->ctx->pool;
    json_t *meta = json_pool_bind(
        json_pack("{s:s, s:s?, s:s?, s:I, s:i}", "provider",
                  job->conn.provider->name, "order", res->order_url, "issuer",
                  res->chain_issuer, "signed", (json_int_t)time(NULL),
                  "alternates", res->alternates),
        pool);
    const char *second = cert_state_file(job->cert, "pending2.pem");
    apr_status_t rv =
        res2 ? state_write_file_spare(second, res2->chain_pem,
                                      strlen(res2->chain_pem), 0600, err, pool)
             : state_remove(second, err, pool);
    /* Through the spares the last deploy retired: a fleet's renewal
     * makes and frees no inode for them.  0600 like every file read back
     * under a lock (state.c, read_lock). */
    if (rv == APR_SUCCESS)
        rv = state_write_file_spare(cert_state_file(job->cert, "pending.pem"),
                                    res->chain_pem, strlen(res->chain_pem),
                                    0600, err, pool);
    if (rv == APR_SUCCESS)
        rv = state_write_json_spare(cert_state_file(job->cert, "pending.json"),
                                    meta, err, pool);
    return rv;
}

static void request_init(net_order_t *req, sign_job_t *job, X509_REQ *csr,
                         sign_publisher_t *pub, acme_publisher_t *publisher,
                         const char *profile)
{
    apr_pool_t *pool = job->ctx->pool;
    memset(req, 0, sizeof(*req));
    publisher->publish = publish;
    publisher->withdraw = withdraw;
    publisher->baton = pub;
    req->csr_der_b64url = crypt_csr_der_b64url(csr, pool);
    req->names = job->names;
    req->thumbprint = job->conn.account_thumbprint;
    req->profile = profile ? profile : job->conn.provider->profile;
    req->preferred_chain = job->conn.provider->preferred_chain;
    req->timeout_s = (long)job->ctx->config->order_timeout;
    req->publisher = publisher;
    req->types = job->conf->challenge_types;
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

json_t *sign_validated_json(const apr_array_header_t *validated)
{
    json_t *o = json_object();
    for (int i = 0; validated != NULL && i < validated->nelts; i++) {
        const acme_validated_t *v =
            &APR_ARRAY_IDX(validated, i, acme_validated_t);
        json_object_set_new(o, v->name, json_string(v->type));
    }
    return o;
}

static void record_outcome(sign_job_t *job, apr_status_t rv, const char *err,
                           const apr_array_header_t *validated)
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
    if (rv == APR_SUCCESS)
        json_object_set_new(json_object_get(job->cert->status, "last_sign"),
                            "validated", sign_validated_json(validated));
    const char *save_err = NULL;
    cert_state_save(job->cert, &save_err);
}

static apr_status_t order_one(acme_order_result_t *res, sign_job_t *job,
                              X509_REQ *csr, EVP_PKEY *key,
                              sign_publisher_t *pub, const char *profile,
                              const char *replaces, const char **err)
{
    acme_publisher_t publisher;
    net_order_t req;
    request_init(&req, job, csr, pub, &publisher, profile);
    if (replaces != NULL && job->conn.session->renewal_info_url != NULL)
        req.replaces = replaces;
    apr_status_t rv =
        net_order_run(res, job->conn.session, &req, err, job->ctx->pool);
    if (rv == APR_SUCCESS)
        rv = check_chain(job, res, key, err);
    return rv;
}

static ops_status_t run_order(sign_result_t *result, sign_job_t *job,
                              const char *profile, const char *replaces)
{
    apr_pool_t *pool = job->ctx->pool;
    const char *err = NULL;
    sign_publisher_t pub = {job->cert, job->conf};
    if (mark_signing(job, &err) != APR_SUCCESS)
        return ops_fail(job->error, OPS_FAILED, 2405, pool, "%s", err);
    acme_order_result_t res, res2;
    apr_status_t rv =
        order_one(&res, job, job->csr, job->key, &pub, profile, replaces, &err);
    if (rv == APR_SUCCESS && job->csr2 != NULL) {
        ops_progress(job->ctx, "%s: the second key's order", job->cert->name);
        /* replaces names the one certificate renewed: the first order's. */
        rv = order_one(&res2, job, job->csr2, job->key2, &pub, profile, NULL,
                       &err);
    }
    if (rv == APR_SUCCESS)
        rv = stage_pending(job, &res, job->csr2 ? &res2 : NULL, &err);
    record_outcome(job, rv, err, res.validated);
    if (rv != APR_SUCCESS) {
        job->error->problem = job->conn.session->problem;
        return ops_fail(job->error, OPS_FAILED, 2406, pool, "sign: %s", err);
    }
    result->provider = job->conn.provider->name;
    result->issuer = res.chain_issuer;
    result->alternates = res.alternates;
    result->validated = res.validated;
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

/* One line naming each name that failed, for the error and status. */
static const char *checks_failed(const preflight_result_t *checks,
                                 apr_pool_t *pool)
{
    const char *out = "";
    for (int i = 0; i < checks->checks->nelts; i++) {
        const preflight_check_t *c =
            &APR_ARRAY_IDX(checks->checks, i, preflight_check_t);
        if (!c->ok)
            out = apr_psprintf(pool, "%s%s%s (%s): %s", out, *out ? "; " : "",
                               c->name, c->type ? c->type : "none", c->detail);
    }
    return out;
}

/* Names that cannot validate stop the sign before any order exists
 * (SPEC §12): a failed validation costs a CA's rate limit. */
static ops_status_t run_checks(sign_result_t *result, sign_job_t *job,
                               sign_check_t check)
{
    apr_pool_t *pool = job->ctx->pool;
    if (check == SIGN_CHECK_SKIP)
        return OPS_OK;
    preflight_run(&result->checks, job->ctx, job->conf, job->names,
                  check == SIGN_CHECK_ONLY);
    for (int i = 0; i < result->checks.checks->nelts; i++) {
        const preflight_check_t *c =
            &APR_ARRAY_IDX(result->checks.checks, i, preflight_check_t);
        ops_progress(job->ctx, "check %s (%s): %s: %s", c->name,
                     c->type ? c->type : "none", c->ok ? "ok" : "FAILED",
                     c->detail);
        if (c->public_path != NULL)
            ops_progress(job->ctx,
                         "check %s: public path (information only): %s",
                         c->name, c->public_path);
    }
    if (result->checks.failed == 0)
        return OPS_OK;
    const char *msg = apr_psprintf(
        pool,
        "pre-flight check failed for %d of %d name%s, no order created: %s",
        result->checks.failed, job->names->nelts,
        job->names->nelts == 1 ? "" : "s",
        checks_failed(&result->checks, pool));
    if (check != SIGN_CHECK_ONLY) {
        cert_state_set_sign(job->cert, "failure", msg, NULL, NULL);
        const char *save_err = NULL;
        cert_state_save(job->cert, &save_err);
        notify_event(job->ctx, "sign-failure", job->cert->name, msg);
    }
    return ops_fail(job->error, OPS_FAILED, 2451, pool, "%s", msg);
}

ops_status_t sign_run(sign_result_t *result, ops_error_t *error,
                      const ops_ctx_t *ctx, const char *name,
                      const char *profile, const char *replaces,
                      sign_check_t check)
{
    ops_net_early(ctx);
    sign_job_t job = {.ctx = ctx, .error = error};
    const char *err = NULL;
    memset(result, 0, sizeof(*result));
    job.conf = cert_conf(ctx, name);
    ops_status_t st = open_cert(result, &job, name);
    if (st == OPS_OK)
        st = load_csr(&job);
    if (st != OPS_OK)
        return st;
    /* A store the helper cannot use is a configuration error: found
     * before the CA is asked for anything. */
    err = challenge_publish_check(ctx->config, ctx->pool);
    if (err != NULL)
        return ops_fail(error, OPS_USAGE, 2404, ctx->pool, "%s", err);
    st = run_checks(result, &job, check);
    if (st != OPS_OK || check == SIGN_CHECK_ONLY)
        return st;
    /* A signal during the checks: stop before the CA is asked. */
    if (ops_interrupted(ctx))
        return ops_fail(error, OPS_FAILED, 2453, ctx->pool,
                        "sign: interrupted before any order was created");
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
