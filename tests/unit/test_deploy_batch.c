/* Unit tests of the deploy batch's own journal (ops/deploy.c): the steps
 * taken once for a whole batch (configtest, graceful, check-up,
 * check-served) are journalled once, in state_dir/deploy-batch.PID.json,
 * and each certificate's "deploying" entry stays at its last own step
 * (switch) naming the batch.  Recovery after a kill must see the batch's
 * step — a graceful reached means httpd may have read the new pair, so
 * the rollback reloads — and must not take the step of another batch
 * that reused the pid, nor invent one when the batch journal is gone. */
#include "tap.h"
#include "dir_fixture.h"

#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "apr_general.h"

#include "crypto/crypt_key.h"
#include "ops/cert_state.h"
#include "ops/deploy.h"
#include "ops/key_file.h"
#include "ops_fixture.h"

static char dir[] = "/tmp/expacme-deploy-batch-test.XXXXXX";
static int case_count;

typedef ops_fixture_case_t case_t;

static int case_make(case_t *c, apr_pool_t *pool)
{
    return ops_fixture_case(c, pool, dir, &case_count);
}

/* The certificate's entry as a batch leaves it after its own steps. */
static int journal_switch(case_t *c, pid_t pid, const char *batch)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    if (cert_state_open(&cert, &c->ctx, "server", &err) != APR_SUCCESS)
        return 0;
    json_object_set_new(
        cert->status, "deploying",
        json_pack("{s:I, s:I, s:s, s:s?}", "pid", (json_int_t)pid, "started",
                  (json_int_t)time(NULL), "step", "switch", "batch", batch));
    return cert_state_save(cert, &err) == APR_SUCCESS;
}

static int journal_batch(case_t *c, pid_t pid, const char *id, const char *step,
                         apr_pool_t *pool)
{
    const char *err = NULL;
    json_t *j =
        json_pool_bind(json_pack("{s:I, s:s, s:s}", "pid", (json_int_t)pid,
                                 "id", id, "step", step),
                       pool);
    const char *path = apr_psprintf(pool, "%s/deploy-batch.%ld.json",
                                    c->config->state_dir, (long)pid);
    return state_write_json(path, j, &err, pool) == APR_SUCCESS;
}

/* Recovers and returns the step Last Deploy Status names. */
static const char *recovered_step(case_t *c, apr_pool_t *pool)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    int recovered = 0;
    if (cert_state_open(&cert, &c->ctx, "server", &err) != APR_SUCCESS ||
        deploy_recover(&c->ctx, cert, &recovered) != APR_SUCCESS || !recovered)
        return NULL;
    json_t *s = ops_fixture_status(c->config, "server", pool);
    if (json_object_get(s, "deploying") != NULL)
        return "(journal left)";
    return ops_fixture_json_str(s, "last_deploy.step", pool);
}

static void one_case(apr_pool_t *pool, const char *what, const char *batch_id,
                     const char *batch_step, const char *want, int reload)
{
    case_t c;
    pid_t pid = ops_fixture_dead_pid();
    if (!ok(case_make(&c, pool) && journal_switch(&c, pid, "b-1"),
            apr_psprintf(pool, "%s: state built", what)))
        return;
    if (batch_id != NULL &&
        !ok(journal_batch(&c, pid, batch_id, batch_step, pool),
            apr_psprintf(pool, "%s: batch journal written", what)))
        return;
    is_str(recovered_step(&c, pool), want,
           apr_psprintf(pool, "%s: recovered as killed at %s", what, want));
    is_int(ops_fixture_exists(c.marker), reload,
           apr_psprintf(pool, "%s: %s", what,
                        reload ? "httpd reloaded" : "no reload"));
}

static void test_batch_steps(apr_pool_t *pool)
{
    static const char *const steps[] = {"configtest", "graceful", "check-up",
                                        "check-served"};
    for (int i = 0; i < 4; i++)
        one_case(pool, apr_psprintf(pool, "batch at %s", steps[i]), "b-1",
                 steps[i], steps[i], i > 0);
}

static void test_not_this_batch(apr_pool_t *pool)
{
    one_case(pool, "another batch's journal (pid reused)", "b-2", "graceful",
             "switch", 0);
    one_case(pool, "no batch journal (killed before the batch steps)", NULL,
             NULL, "switch", 0);
    one_case(pool, "a batch journal naming no step", "b-1", "no-such-step",
             "switch", 0);
}

/* A self-signed certificate for key (CN name), as PEM. */
static const char *self_signed_pem(EVP_PKEY *key, const char *name,
                                   apr_pool_t *pool)
{
    X509 *x = X509_new();
    X509_NAME *subject = X509_NAME_new();
    BIO *bio = BIO_new(BIO_s_mem());
    const char *pem = NULL;
    if (x != NULL && subject != NULL && bio != NULL && X509_set_version(x, 2) &&
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
        X509_gmtime_adj(X509_getm_notBefore(x), -60) &&
        X509_gmtime_adj(X509_getm_notAfter(x), 86400) &&
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                   (const unsigned char *)name, -1, -1, 0) &&
        X509_set_subject_name(x, subject) && X509_set_issuer_name(x, subject) &&
        X509_set_pubkey(x, key) && X509_sign(x, key, EVP_sha256()) &&
        PEM_write_bio_X509(bio, x)) {
        char *data = NULL;
        long len = BIO_get_mem_data(bio, &data);
        pem = apr_pstrndup(pool, data, (apr_size_t)len);
    }
    BIO_free(bio);
    X509_NAME_free(subject);
    X509_free(x);
    return pem;
}

/* A live pair (CN old.example) and a pending one (CN new.example) for
 * [cert server] of the case. */
static int pairs_make(case_t *c, apr_pool_t *pool)
{
    EVP_PKEY *old_key = NULL, *new_key = NULL;
    const char *err = NULL;
    const char *certs = apr_pstrcat(pool, c->config->state_dir, "/certs", NULL);
    const char *state = apr_pstrcat(pool, certs, "/server", NULL);
    mkdir(c->config->state_dir, 0700);
    mkdir(certs, 0700);
    mkdir(state, 0700);
    if (crypt_key_generate(&old_key, CRYPT_KEY_EC256, &err, pool) !=
            APR_SUCCESS ||
        crypt_key_generate(&new_key, CRYPT_KEY_EC256, &err, pool) !=
            APR_SUCCESS)
        return 0;
    const char *old_pem = self_signed_pem(old_key, "old.example", pool);
    const char *new_pem = self_signed_pem(new_key, "new.example", pool);
    const char *live = apr_pstrcat(pool, c->dir, "/live/server", NULL);
    return old_pem != NULL && new_pem != NULL &&
           key_file_save(old_key, apr_pstrcat(pool, live, ".key", NULL), &err,
                         pool) == APR_SUCCESS &&
           state_write_file(apr_pstrcat(pool, live, ".pem", NULL), old_pem,
                            strlen(old_pem), 0644, &err, pool) == APR_SUCCESS &&
           key_file_save(new_key, apr_pstrcat(pool, state, "/key.pem", NULL),
                         &err, pool) == APR_SUCCESS &&
           state_write_file(apr_pstrcat(pool, state, "/pending.pem", NULL),
                            new_pem, strlen(new_pem), 0644, &err,
                            pool) == APR_SUCCESS;
}

/* Which of the two certificates cert_file holds: "old", "new" or NULL. */
static const char *live_cn(case_t *c, apr_pool_t *pool)
{
    const char *pem = ops_fixture_slurp(
        pool, apr_pstrcat(pool, c->dir, "/live/server.pem", NULL), NULL);
    if (pem == NULL)
        return NULL;
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    char cn[64] = "";
    if (x != NULL)
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                  sizeof(cn));
    X509_free(x);
    BIO_free(bio);
    return strcmp(cn, "new.example") == 0   ? "new"
           : strcmp(cn, "old.example") == 0 ? "old"
                                            : NULL;
}

/* renew starts each certificate's deploy as soon as it is signed; an
 * interrupted run gives the batch up: what was switched goes back, with
 * no reload (httpd never read it), and stays pending for the next run. */
static void test_started_then_abandoned(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool) && pairs_make(&c, pool),
            "abandon: live and pending pairs made"))
        return;
    deploy_batch_t *b = deploy_batch_open(3, &c.ctx);
    deploy_request_t req;
    memset(&req, 0, sizeof(req));
    req.name = "server";
    deploy_batch_start(b, 1, &req);
    is_str(live_cn(&c, pool), "new",
           "abandon: started alone (slot 1 of 3), the new pair is switched in");
    deploy_batch_abandon(b, "interrupted before the reload");
    ok(req.status == OPS_FAILED && req.error.message != NULL &&
           strstr(req.error.message, "interrupted before the reload") != NULL,
       "abandon: the started one fails, saying why");
    is_str(live_cn(&c, pool), "old", "abandon: the previous pair is back");
    ok(!ops_fixture_exists(c.marker),
       "abandon: no reload (httpd never read it)");
    ok(ops_fixture_exists(apr_pstrcat(pool, c.config->state_dir,
                                      "/certs/server/pending.pem", NULL)),
       "abandon: still pending for the next run");
    json_t *s = ops_fixture_status(c.config, "server", pool);
    ok(json_object_get(s, "deploying") == NULL,
       "abandon: no journal entry left behind");
}

/* close takes the batch steps for the started slots only: configtest and
 * graceful run once, and a check that fails switches the pair back. */
static void test_started_then_closed(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool) && pairs_make(&c, pool),
            "close: live and pending pairs made"))
        return;
    /* Nothing listens on port 1: check-up fails after deploy_timeout. */
    ((expacme_config_t *)c.config)->deploy_timeout = 1;
    deploy_batch_t *b = deploy_batch_open(3, &c.ctx);
    deploy_request_t req;
    memset(&req, 0, sizeof(req));
    req.name = "server";
    deploy_batch_start(b, 2, &req);
    deploy_batch_close(b);
    ok(ops_fixture_exists(c.marker), "close: the graceful ran");
    ok(req.status == OPS_FAILED && req.error.step != NULL &&
           strcmp(req.error.step, "check-up") == 0,
       "close: the started one fails at check-up (nothing listens)");
    is_str(live_cn(&c, pool), "old", "close: its previous pair is back");
}

int main(void)
{
    apr_pool_t *pool = NULL;
    if (!test_dir_begin(&pool, dir))
        return 1;
    test_batch_steps(pool);
    test_not_this_batch(pool);
    test_started_then_abandoned(pool);
    test_started_then_closed(pool);
    apr_pool_destroy(pool);
    test_dir_remove(dir);
    apr_terminate();
    return done_testing();
}
