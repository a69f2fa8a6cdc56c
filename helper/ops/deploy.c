/* deploy.c — the deploy engine: the pending certificates into the files
 * httpd serves, with no restart and no failed handshake (manual §5).
 *
 * A batch deploys many certificates with one reload: each is verified,
 * backed up, written and switched on its own; then one configtest and one
 * graceful serve them all; then each is checked with its SNI, and those
 * whose check failed are switched back (with one more graceful for all
 * of them).  A deploy of one certificate is a batch of one.
 *
 * Every step is journalled before it starts, so a helper killed at any
 * point leaves enough for the next deploy or status to put the previous
 * pair back: a certificate's own steps in its status.json ("deploying"),
 * the steps taken once for the whole batch (configtest, graceful,
 * check-up, check-served) once, in the batch's journal beside the
 * certificates (state_dir/deploy-batch.PID.json), which each
 * certificate's entry names.  A thousand certificates cost four writes
 * there instead of four thousand. */
#include "ops/deploy.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apr_strings.h"

#include "ops/cert_info.h"
#include "ops/cert_state.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "ops/key_file.h"
#include "ops/deploy_live.h"
#include "acme/acme_json.h"
#include "ops/notify.h"
#include "ops/parallel.h"
#include "ops/httpd_ctl.h"
#include "base/state.h"
#include "base/tls_probe.h"

typedef enum {
    STEP_VERIFY,
    STEP_ADOPT,
    STEP_WRITE,
    STEP_SWITCH,
    STEP_CONFIGTEST,
    STEP_GRACEFUL,
    STEP_CHECK_UP,
    STEP_CHECK_SERVED,
    STEP_COUNT
} deploy_step_t;

static const char *const step_names[] = {
    [STEP_VERIFY] = "verify",         [STEP_ADOPT] = "backup",
    [STEP_WRITE] = "write",           [STEP_SWITCH] = "switch",
    [STEP_CONFIGTEST] = "configtest", [STEP_GRACEFUL] = "graceful",
    [STEP_CHECK_UP] = "check-up",     [STEP_CHECK_SERVED] = "check-served",
};
_Static_assert(sizeof(step_names) / sizeof(step_names[0]) == STEP_COUNT,
               "one name per step");

/* Polls start fast and slow down: a reload is usually done in tens of
 * milliseconds, but a busy server can take seconds. */
#define POLL_FIRST (apr_time_from_msec(10))
#define POLL_MAX (apr_time_from_msec(200))

static void poll_pause(apr_interval_time_t *delay)
{
    apr_sleep(*delay);
    *delay = *delay * 2 > POLL_MAX ? POLL_MAX : *delay * 2;
}

/* One pair of the certificate: the first, or the second of an RSA +
 * ECDSA certificate (pending2.pem, key2.pem, cert_file2). */
typedef struct {
    const char *pending; /* file names in the certificate's directory */
    const char *keyfile;
    char *chain_pem;
    apr_size_t chain_len;
    char *key_pem;
    apr_size_t key_len;
    X509 *leaf;
    tls_probe_kind_t kind; /* what the check offers */
} deploy_pair_t;

typedef struct {
    ops_ctx_t ctx; /* the batch's, with this certificate's pool */
    deploy_request_t *req;
    cert_state_t *cert;
    const expacme_cert_conf_t *conf;
    deploy_live_t live;
    deploy_step_t step;
    const char *old_gen;
    const char *new_gen;
    deploy_pair_t pairs[2];
    int npairs;
    const char *sni;
    apr_time_t started;
    int active; /* still in the batch: nothing failed so far */
    int reload; /* recovering it switched a pair back: httpd must reload */
    const char *batch; /* the batch journal's id */
    apr_status_t rv;   /* of the last step run in a thread */
    const char *err;
} deploy_job_t;

static int step_from_name(const char *name)
{
    for (int i = 0; i < STEP_COUNT; i++) {
        if (name != NULL && strcmp(step_names[i], name) == 0)
            return i;
    }
    return -1;
}

/* A step's allocations go in a scratch pool: a batch keeps a thousand
 * jobs alive at once, each with only what the later steps need. */
static apr_pool_t *scratch_begin(deploy_job_t *job)
{
    apr_pool_t *keep = job->ctx.pool;
    apr_pool_t *scratch = NULL;
    apr_pool_create(&scratch, keep);
    job->ctx.pool = scratch;
    return keep;
}

static void scratch_end(deploy_job_t *job, apr_pool_t *keep, const char **err)
{
    apr_pool_t *scratch = job->ctx.pool;
    job->ctx.pool = keep;
    if (err != NULL && *err != NULL)
        *err = apr_pstrdup(keep, *err);
    apr_pool_destroy(scratch);
}

static apr_status_t x509_free_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

/* EXPACME_TEST_CRASH_AT=<step> makes the helper kill itself as the step
 * starts, once it is journalled: how the tests prove that a kill -9 at
 * any step leaves a working pair (never set it outside tests). */
static void crash_point(deploy_step_t step)
{
    const char *crash = getenv("EXPACME_TEST_CRASH_AT");
    if (crash != NULL && strcmp(crash, step_names[step]) == 0)
        raise(SIGKILL);
}

static void step_progress(deploy_job_t *job, deploy_step_t step)
{
    job->step = step;
    if (job->started == 0)
        job->started = apr_time_now();
    ops_progress(&job->ctx, "deploy %s: %s (%" APR_TIME_T_FMT " ms)",
                 job->cert->name, step_names[step],
                 apr_time_as_msec(apr_time_now() - job->started));
}

/* Records one of the certificate's own steps about to run. */
static apr_status_t enter_step(deploy_job_t *job, deploy_step_t step,
                               const char **err)
{
    step_progress(job, step);
    json_object_set_new(
        job->cert->status, "deploying",
        json_pack("{s:I, s:I, s:s, s:s?, s:s?, s:s?}", "pid",
                  (json_int_t)getpid(), "started", (json_int_t)time(NULL),
                  "step", step_names[step], "old_gen", job->old_gen, "new_gen",
                  job->new_gen, "batch", job->batch));
    apr_status_t rv = cert_state_save(job->cert, err);
    crash_point(step);
    return rv;
}

static const char *batch_journal_path(const expacme_config_t *config,
                                      json_int_t pid, apr_pool_t *pool)
{
    return apr_psprintf(pool, "%s/deploy-batch.%" APR_INT64_T_FMT ".json",
                        config->state_dir, (apr_int64_t)pid);
}

/* The batch step a killed helper had reached when it is later than the
 * certificate's own (its entry names the batch; the journal must be the
 * same batch's, not one a reused pid wrote since). */
static int batch_step_reached(const ops_ctx_t *ctx, json_t *d, int step)
{
    const char *id = acme_json_string_member(d, "batch");
    json_t *j = NULL;
    const char *err = NULL;
    if (id == NULL ||
        state_read_json(
            &j,
            batch_journal_path(ctx->config,
                               json_integer_value(json_object_get(d, "pid")),
                               ctx->pool),
            &err, ctx->pool) != APR_SUCCESS)
        return step;
    const char *their = acme_json_string_member(j, "id");
    int reached = step_from_name(acme_json_string_member(j, "step"));
    return their != NULL && strcmp(their, id) == 0 && reached > step ? reached
                                                                     : step;
}

static tls_probe_kind_t leaf_kind(X509 *leaf)
{
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    int id = key ? EVP_PKEY_get_base_id(key) : 0;
    return id == EVP_PKEY_EC ? TLS_PROBE_ECDSA : TLS_PROBE_RSA;
}

static apr_status_t verify_pair(deploy_job_t *job, deploy_pair_t *pair,
                                const char **err)
{
    apr_pool_t *pool = job->ctx.pool;
    apr_array_header_t *chain = NULL;
    EVP_PKEY *key = NULL;
    apr_status_t rv = state_read_file(&pair->chain_pem, &pair->chain_len,
                                      cert_state_file(job->cert, pair->pending),
                                      STATE_FILE_MAX, err, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        *err = apr_psprintf(pool,
                            "no pending certificate for %s%s: run "
                            "'expacmectl sign' first",
                            job->cert->name,
                            pair == &job->pairs[1] ? " (second key)" : "");
    if (rv == APR_SUCCESS)
        rv = state_read_file(&pair->key_pem, &pair->key_len,
                             cert_state_file(job->cert, pair->keyfile),
                             STATE_FILE_MAX, err, pool);
    if (rv == APR_SUCCESS)
        rv = key_file_load(&key, cert_state_file(job->cert, pair->keyfile), err,
                           pool);
    if (rv == APR_SUCCESS)
        rv = crypt_chain_parse(&chain, pair->chain_pem, pair->chain_len, err,
                               pool);
    /* configtest does not notice a key that does not match, and a graceful
     * with one takes the httpd parent down: check before touching. */
    if (rv == APR_SUCCESS)
        rv = crypt_chain_verify(chain, key, NULL, err, pool);
    if (rv == APR_SUCCESS)
        pair->leaf = APR_ARRAY_IDX(chain, 0, X509 *);
    return rv;
}

/* The state directory as its real path: what the generations directory
 * records as its owner. */
static const char *owner_of(const deploy_job_t *job)
{
    char real[PATH_MAX];
    const char *dir = job->ctx.config->state_dir;
    return realpath(dir, real) ? apr_pstrdup(job->ctx.pool, real) : dir;
}

static apr_status_t verify_pending(deploy_job_t *job, const char **err)
{
    apr_pool_t *pool = job->ctx.pool;
    job->pairs[0].pending = "pending.pem";
    job->pairs[0].keyfile = "key.pem";
    job->pairs[1].pending = "pending2.pem";
    job->pairs[1].keyfile = "key2.pem";
    job->npairs = job->conf->cert_file2 != NULL ? 2 : 1;
    apr_status_t rv = APR_SUCCESS;
    for (int i = 0; i < job->npairs && rv == APR_SUCCESS; i++)
        rv = verify_pair(job, &job->pairs[i], err);
    if (rv != APR_SUCCESS)
        return rv;
    for (int i = 0; i < job->npairs; i++)
        job->pairs[i].kind =
            job->npairs == 1 ? TLS_PROBE_ANY : leaf_kind(job->pairs[i].leaf);
    if (job->npairs == 2 && job->pairs[0].kind == job->pairs[1].kind) {
        *err = apr_psprintf(pool,
                            "[cert %s]: cert_file2 needs a key of the other "
                            "kind (RSA beside ECDSA): csr generate "
                            "--key-type ec256,rsa2048",
                            job->cert->name);
        return APR_EINVAL;
    }
    crypt_cert_info_t info;
    if (job->sni == NULL &&
        crypt_cert_info(&info, job->pairs[0].leaf, pool) == APR_SUCCESS &&
        info.names->nelts > 0)
        job->sni = APR_ARRAY_IDX(info.names, 0, const char *);
    return APR_SUCCESS;
}

static apr_status_t write_generation(deploy_job_t *job, const char **err)
{
    apr_pool_t *pool = job->ctx.pool;
    deploy_pair_t *p = &job->pairs[0];
    apr_status_t rv =
        deploy_live_write(&job->new_gen, &job->live, p->chain_pem, p->chain_len,
                          p->key_pem, p->key_len, err, pool);
    if (rv == APR_SUCCESS && job->npairs == 2) {
        p = &job->pairs[1];
        rv = deploy_live_write_second(&job->live, job->new_gen, p->chain_pem,
                                      p->chain_len, p->key_pem, p->key_len, err,
                                      pool);
    }
    return rv;
}

static apr_status_t enter(deploy_job_t *job, deploy_step_t step,
                          const char **err)
{
    apr_pool_t *keep = scratch_begin(job);
    apr_status_t rv = enter_step(job, step, err);
    scratch_end(job, keep, rv == APR_SUCCESS ? NULL : err);
    return rv;
}

/* This certificate's own steps, up to the switch. */
static apr_status_t own_steps(deploy_job_t *job, const char **err)
{
    apr_pool_t *pool = job->ctx.pool;
    apr_status_t rv = enter(job, STEP_VERIFY, err);
    if (rv == APR_SUCCESS)
        rv = verify_pending(job, err);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_ADOPT, err);
    /* Before anything beside cert_file is touched: is it ours? */
    if (rv == APR_SUCCESS)
        rv = deploy_live_claim(&job->live, owner_of(job), err, pool);
    if (rv == APR_SUCCESS)
        rv = deploy_live_adopt(&job->old_gen, &job->live, err, pool);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_WRITE, err);
    if (rv == APR_SUCCESS)
        rv = write_generation(job, err);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_SWITCH, err);
    if (rv == APR_SUCCESS)
        rv = deploy_live_switch(&job->live, job->new_gen, err, pool);
    return rv;
}

/* The own steps in a scratch pool; what the batch steps need after them
 * (generations, SNI, the leaves to look for) is kept. */
static apr_status_t run_own_steps(deploy_job_t *job, const char **err)
{
    apr_pool_t *keep = scratch_begin(job);
    apr_status_t rv = own_steps(job, err);
    job->old_gen = job->old_gen ? apr_pstrdup(keep, job->old_gen) : NULL;
    job->new_gen = job->new_gen ? apr_pstrdup(keep, job->new_gen) : NULL;
    job->sni = job->sni ? apr_pstrdup(keep, job->sni) : NULL;
    for (int i = 0; i < 2; i++) {
        deploy_pair_t *p = &job->pairs[i];
        p->chain_pem = p->key_pem = NULL;
        p->chain_len = p->key_len = 0;
        if (p->leaf == NULL)
            continue;
        p->leaf = X509_dup(p->leaf);
        if (p->leaf != NULL)
            apr_pool_cleanup_register(keep, p->leaf, x509_free_cleanup,
                                      apr_pool_cleanup_null);
    }
    scratch_end(job, keep, rv == APR_SUCCESS ? NULL : err);
    return rv;
}

static apr_status_t wait_listening(const ops_ctx_t *ctx, const char **err)
{
    const char *address = ctx->config->https_address;
    if (tls_probe_wait_listening(
            address, apr_time_from_sec(ctx->config->deploy_timeout), ctx->pool))
        return APR_SUCCESS;
    *err = apr_psprintf(ctx->pool,
                        "httpd is not listening on %s after "
                        "the graceful reload",
                        address);
    return APR_TIMEUP;
}

static const char *kind_name(tls_probe_kind_t kind)
{
    return kind == TLS_PROBE_ECDSA ? "ECDSA"
           : kind == TLS_PROBE_RSA ? "RSA"
                                   : NULL;
}

static apr_status_t wait_served(deploy_job_t *job, const deploy_pair_t *pair,
                                const char **err)
{
    apr_pool_t *pool = job->ctx.pool;
    apr_time_t deadline =
        apr_time_now() + apr_time_from_sec(job->ctx.config->deploy_timeout);
    const char *address = job->ctx.config->https_address;
    const char *why = "no answer";
    apr_interval_time_t delay = POLL_FIRST;
    int der_len = i2d_X509(pair->leaf, NULL);
    unsigned char *der =
        der_len > 0 ? apr_palloc(pool, (apr_size_t)der_len) : NULL;
    unsigned char *end = der;
    if (der == NULL || i2d_X509(pair->leaf, &end) != der_len) {
        *err = "cannot encode the new certificate";
        return APR_EGENERAL;
    }
    for (;;) {
        int presents = 0;
        const char *probe_err = NULL;
        if (tls_probe_presents(&presents, address, job->sni, pair->kind, der,
                               (apr_size_t)der_len, apr_time_from_sec(5),
                               &probe_err, pool) == APR_SUCCESS) {
            if (presents)
                return APR_SUCCESS;
            why = "it still presents another certificate";
        } else {
            why = probe_err;
        }
        if (apr_time_now() > deadline) {
            const char *kind = kind_name(pair->kind);
            *err = apr_psprintf(pool,
                                "%s (SNI %s%s%s) does not present the new "
                                "certificate: %s",
                                address, job->sni ? job->sni : "none",
                                kind ? ", offering only " : "",
                                kind ? kind : "", why);
            return APR_TIMEUP;
        }
        poll_pause(&delay);
    }
}

static apr_status_t check_served(deploy_job_t *job, const char **err)
{
    apr_status_t rv = APR_SUCCESS;
    for (int i = 0; i < job->npairs && rv == APR_SUCCESS; i++)
        rv = wait_served(job, &job->pairs[i], err);
    return rv;
}

/* Puts the previous pair back on disk; *reload says whether httpd may
 * have read the new one (and so needs a graceful).  NULL text: restored,
 * the caller words it after the reload. */
static const char *switch_back(deploy_job_t *job, deploy_step_t failed_at,
                               int *reload)
{
    apr_pool_t *pool = job->ctx.pool;
    const char *err = NULL;
    *reload = 0;
    if (failed_at < STEP_SWITCH) {
        /* A generation a killed helper was still writing is in no
         * journal: keep only what is live. */
        deploy_live_prune(&job->live, job->old_gen,
                          deploy_live_current(&job->live, pool), pool);
        return "nothing live was changed";
    }
    if (deploy_live_switch(&job->live, job->old_gen, &err, pool) != APR_SUCCESS)
        return apr_psprintf(pool, "ROLLBACK FAILED: %s", err);
    deploy_live_prune(&job->live, job->old_gen, NULL, pool);
    *reload = failed_at >= STEP_GRACEFUL;
    return NULL;
}

static const char *restored_text(const deploy_job_t *job,
                                 const char *reload_err)
{
    if (reload_err != NULL)
        return apr_psprintf(job->ctx.pool,
                            "previous pair restored, but the graceful "
                            "reload failed: %s",
                            reload_err);
    return job->old_gen ? "previous certificate restored"
                        : "first deploy: live links removed";
}

/* Puts the previous pair back, with its own graceful when needed. */
static const char *roll_back(deploy_job_t *job, deploy_step_t failed_at)
{
    int reload = 0;
    const char *what = switch_back(job, failed_at, &reload);
    if (what != NULL)
        return what;
    const char *err = NULL;
    if (reload &&
        httpd_ctl_run(&job->ctx, HTTPD_CTL_GRACEFUL, &err) == APR_SUCCESS)
        err = NULL;
    return restored_text(job, reload ? err : NULL);
}

static void set_deploy_status(deploy_job_t *job, const char *result,
                              const char *step, const char *detail)
{
    json_object_del(job->cert->status, "deploying");
    json_object_set_new(job->cert->status, "last_deploy",
                        json_pack("{s:I, s:s, s:s?, s:s}", "time",
                                  (json_int_t)time(NULL), "result", result,
                                  "step", step, "detail", detail));
    const char *ignored = NULL;
    cert_state_save(job->cert, &ignored);
}

/* What status shows about a leaf, recorded at deploy time so that status
 * never parses a thousand PEM files. */
static json_t *leaf_record(X509 *leaf, apr_pool_t *pool)
{
    crypt_cert_info_t info;
    if (crypt_cert_info(&info, leaf, pool) != APR_SUCCESS)
        return NULL;
    return cert_info_json(&info);
}

static apr_status_t record_deployed(deploy_job_t *job, const char **err)
{
    apr_pool_t *pool = job->ctx.pool;
    crypt_cert_info_t info;
    apr_status_t rv = crypt_cert_info(&info, job->pairs[0].leaf, pool);
    if (rv != APR_SUCCESS) {
        *err = "cannot read the deployed certificate";
        return rv;
    }
    json_t *rec = json_pool_bind(
        json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:o}", "time",
                  (json_int_t)time(NULL), "serial", info.serial, "sha256",
                  info.sha256, "not_before", (json_int_t)info.not_before,
                  "not_after", (json_int_t)info.not_after, "generation",
                  job->new_gen, "info", cert_info_json(&info)),
        pool);
    if (job->npairs == 2) {
        json_t *second = leaf_record(job->pairs[1].leaf, pool);
        if (second != NULL)
            json_object_set_new(rec, "info2", second);
    }
    rv = state_write_json_spare(cert_state_file(job->cert, "deployed.json"),
                                rec, err, pool);
    /* Kept as spares for the next sign to write into (state.h). */
    static const char *const spent[] = {"pending.pem", "pending.json",
                                        "pending2.pem"};
    for (size_t i = 0; i < sizeof(spent) / sizeof(spent[0]); i++) {
        if (rv == APR_SUCCESS && (i < 2 || job->npairs == 2))
            rv = state_retire_file(cert_state_file(job->cert, spent[i]), err,
                                   pool);
    }
    /* job_start recovered (and pruned) what a killed helper left. */
    deploy_live_prune_generations(&job->live, job->new_gen, job->old_gen, pool);
    return rv;
}

apr_status_t deploy_recover(const ops_ctx_t *ctx, cert_state_t *cert,
                            int *recovered)
{
    return deploy_recover_deferred(ctx, cert, recovered, NULL);
}

apr_status_t deploy_recover_deferred(const ops_ctx_t *ctx, cert_state_t *cert,
                                     int *recovered, int *reload)
{
    json_t *d = acme_json_object_member(cert->status, "deploying");
    const expacme_cert_conf_t *conf = config_cert(ctx->config, cert->name);
    *recovered = 0;
    if (d == NULL || conf == NULL)
        return APR_SUCCESS;
    json_int_t pid = json_integer_value(json_object_get(d, "pid"));
    if (pid != getpid() && cert_state_pid_alive(pid))
        return APR_SUCCESS; /* still running */
    deploy_job_t job;
    memset(&job, 0, sizeof(job));
    job.ctx = *ctx;
    job.cert = cert;
    job.conf = conf;
    deploy_live_init(&job.live, conf, ctx->pool);
    deploy_live_init_second(&job.live, conf);
    int step = step_from_name(acme_json_string_member(d, "step"));
    if (step >= 0)
        step = batch_step_reached(ctx, d, step);
    job.old_gen = acme_json_string_member(d, "old_gen");
    job.new_gen = acme_json_string_member(d, "new_gen");
    deploy_step_t at = step < 0 ? STEP_SWITCH : (deploy_step_t)step;
    const char *what = NULL;
    if (reload == NULL) {
        what = roll_back(&job, at);
    } else {
        /* The caller reloads once for every certificate it recovered. */
        int r = 0;
        what = switch_back(&job, at, &r);
        *reload |= r;
        if (what == NULL)
            what = restored_text(&job, NULL);
    }
    set_deploy_status(&job, "interrupted", step >= 0 ? step_names[step] : "?",
                      apr_psprintf(ctx->pool,
                                   "the previous deploy was killed "
                                   "at step %s; %s",
                                   step >= 0 ? step_names[step] : "?", what));
    *recovered = 1;
    return APR_SUCCESS;
}

static void job_failed(deploy_job_t *job, deploy_step_t at, const char *err,
                       const char *what)
{
    deploy_request_t *req = job->req;
    set_deploy_status(job, "failure", step_names[at], err);
    req->error.step = step_names[at];
    req->status = ops_fail(&req->error, OPS_FAILED, 2603, req->pool,
                           "deploy failed at "
                           "step %s: %s; %s",
                           step_names[at], err, what);
    job->active = 0;
    notify_event(&job->ctx, "deploy-failure", job->cert->name, err);
}

static void job_succeeded(deploy_job_t *job)
{
    apr_pool_t *pool = job->ctx.pool;
    const char *rec_err = NULL;
    if (record_deployed(job, &rec_err) != APR_SUCCESS)
        ops_progress(&job->ctx, "warning: %s", rec_err);
    const char *reason = job->req->reason;
    set_deploy_status(job, "success", "done",
                      reason ? apr_psprintf(pool,
                                            "new certificate "
                                            "served (%s)",
                                            reason)
                             : "new certificate served");
    job->req->status = OPS_OK;
    job->req->result.generation = apr_pstrdup(job->req->pool, job->new_gen);
    job->active = 0;
    notify_event(&job->ctx, "deploy-success", job->cert->name,
                 "new certificate served");
}

/* Those in failed[] fail at their current step: each switched back on
 * disk, then one graceful for all that httpd may have read. */
static void fail_together(deploy_job_t **failed, int n, const char **errs,
                          const ops_ctx_t *ctx)
{
    const char **what = apr_pcalloc(ctx->pool, sizeof(*what) * (n ? n : 1));
    int reload = 0;
    for (int i = 0; i < n; i++) {
        int r = 0;
        what[i] = switch_back(failed[i], failed[i]->step, &r);
        reload |= r;
    }
    const char *reload_err = NULL;
    if (reload &&
        httpd_ctl_run(ctx, HTTPD_CTL_GRACEFUL, &reload_err) == APR_SUCCESS)
        reload_err = NULL;
    for (int i = 0; i < n; i++) {
        if (what[i] == NULL)
            what[i] = restored_text(failed[i], reload ? reload_err : NULL);
        job_failed(failed[i], failed[i]->step, errs[i], what[i]);
    }
}

static ops_status_t check_conf(ops_error_t *error, apr_pool_t *pool,
                               const expacme_cert_conf_t *conf,
                               const char *name)
{
    if (conf == NULL)
        return ops_fail(error, OPS_USAGE, 2600, pool,
                        "no [cert %s] "
                        "section names the files to deploy to",
                        name);
    if (strcmp(conf->cert_file, conf->key_file) == 0)
        return ops_fail(error, OPS_USAGE, 2601, pool,
                        "[cert %s]: "
                        "cert_file and key_file must be two files",
                        name);
    if ((conf->cert_file2 == NULL) != (conf->key_file2 == NULL))
        return ops_fail(error, OPS_USAGE, 2610, pool,
                        "[cert %s]: cert_file2 and key_file2 go together",
                        name);
    return OPS_OK;
}

/* Opens, locks and recovers one certificate, then its own steps. */
static void job_start(deploy_job_t *job)
{
    deploy_request_t *req = job->req;
    req->pool = job->ctx.pool;
    job->conf = config_cert(job->ctx.config, req->name);
    const char *err = NULL;
    req->status = check_conf(&req->error, req->pool, job->conf, req->name);
    if (req->status != OPS_OK)
        return;
    if (cert_state_open(&job->cert, &job->ctx, req->name, &err) !=
            APR_SUCCESS ||
        cert_state_lock(job->cert, &err) != APR_SUCCESS ||
        deploy_recover_deferred(&job->ctx, job->cert, &req->result.recovered,
                                &job->reload) != APR_SUCCESS) {
        req->status =
            ops_fail(&req->error, OPS_FAILED, 2602, req->pool, "%s", err);
        return;
    }
    if (req->result.recovered)
        ops_progress(&job->ctx, "an interrupted deploy was rolled back first");
    deploy_live_init(&job->live, job->conf, job->ctx.pool);
    deploy_live_init_second(&job->live, job->conf);
    job->sni = job->conf->sni;
    job->active = 1;
    if (run_own_steps(job, &err) != APR_SUCCESS) {
        const char *what = roll_back(job, job->step);
        job_failed(job, job->step, err, what);
    }
}

typedef apr_status_t batch_step_fn(const ops_ctx_t *ctx, const char **err);

static apr_status_t configtest(const ops_ctx_t *ctx, const char **err)
{
    return httpd_ctl_run(ctx, HTTPD_CTL_CONFIGTEST, err);
}

static apr_status_t graceful(const ops_ctx_t *ctx, const char **err)
{
    return httpd_ctl_run(ctx, HTTPD_CTL_GRACEFUL, err);
}

/* The batch as the threads see it: each job touched by one thread at a
 * time, in its own pool (ops_parallel_pool).  A slot whose req is NULL
 * was never started. */
struct deploy_batch {
    deploy_job_t *jobs;
    int n;
    int threads;
    const ops_ctx_t *ctx;
    const char *journal; /* its path */
    const char *id;
};
typedef struct deploy_batch batch_t;

/* deploy_batch's requests, each started in a thread of ops_parallel. */
typedef struct {
    batch_t *b;
    apr_array_header_t *requests; /* deploy_request_t */
} starting_t;

static void start_one(void *baton, int i, apr_pool_t *scratch)
{
    (void)scratch;
    starting_t *s = baton;
    deploy_batch_start(s->b, i,
                       &APR_ARRAY_IDX(s->requests, i, deploy_request_t));
}

/* The jobs still in the batch, collected. */
static int batch_active(batch_t *b, deploy_job_t **active)
{
    int count = 0;
    for (int i = 0; i < b->n; i++) {
        if (b->jobs[i].req != NULL && b->jobs[i].active)
            active[count++] = &b->jobs[i];
    }
    return count;
}

/* A step taken once for the whole batch, journalled once for all the
 * certificates still in it (collected in active, *count of them). */
static apr_status_t batch_enter(batch_t *b, deploy_step_t step,
                                deploy_job_t **active, int *count,
                                const char **err)
{
    *count = batch_active(b, active);
    for (int i = 0; i < *count; i++)
        step_progress(active[i], step);
    if (*count == 0)
        return APR_SUCCESS;
    json_t *j =
        json_pool_bind(json_pack("{s:I, s:s, s:s}", "pid", (json_int_t)getpid(),
                                 "id", b->id, "step", step_names[step]),
                       b->ctx->pool);
    apr_status_t rv =
        state_write_json_journal(b->journal, j, err, b->ctx->pool);
    crash_point(step);
    return rv;
}

/* A step taken once for the whole batch: a failure fails them all. */
static void batch_step(batch_t *b, deploy_step_t step, batch_step_fn *fn)
{
    const ops_ctx_t *ctx = b->ctx;
    deploy_job_t **active = apr_pcalloc(ctx->pool, sizeof(*active) * b->n);
    int count = 0;
    const char *err = NULL;
    apr_status_t rv = batch_enter(b, step, active, &count, &err);
    if (count == 0)
        return;
    if (rv == APR_SUCCESS)
        rv = fn(ctx, &err);
    if (rv == APR_SUCCESS)
        return;
    const char **errs = apr_pcalloc(ctx->pool, sizeof(*errs) * count);
    for (int i = 0; i < count; i++) {
        active[i]->step = step;
        errs[i] = err;
    }
    fail_together(active, count, errs, ctx);
}

static void check_one(void *baton, int i, apr_pool_t *scratch)
{
    deploy_job_t *job = &((batch_t *)baton)->jobs[i];
    (void)scratch;
    if (!job->active)
        return;
    job->rv = APR_SUCCESS;
    apr_pool_t *keep = scratch_begin(job);
    if (job->rv == APR_SUCCESS)
        job->rv = check_served(job, &job->err);
    if (job->rv == APR_SUCCESS)
        job_succeeded(job);
    scratch_end(job, keep, &job->err);
}

/* Each active certificate checked with its SNI (in parallel); those not
 * served go back together (all of them when the step could not even be
 * journalled). */
static void check_each(batch_t *b)
{
    const ops_ctx_t *ctx = b->ctx;
    deploy_job_t **failed = apr_pcalloc(ctx->pool, sizeof(*failed) * b->n);
    const char **errs = apr_pcalloc(ctx->pool, sizeof(*errs) * b->n);
    int count = 0;
    const char *err = NULL;
    int journalled =
        batch_enter(b, STEP_CHECK_SERVED, failed, &count, &err) == APR_SUCCESS;
    if (journalled)
        ops_parallel(b->n, b->threads, check_one, b);
    count = batch_active(b, failed);
    for (int i = 0; i < count; i++)
        errs[i] = journalled ? failed[i]->err : err;
    if (count > 0)
        fail_together(failed, count, errs, ctx);
}

/* What the caller keeps, copied out of the jobs' pools before they go. */
static void batch_finish(batch_t *b)
{
    apr_pool_t *pool = b->ctx->pool;
    for (int i = 0; i < b->n; i++) {
        deploy_request_t *req = b->jobs[i].req;
        if (req == NULL)
            continue;
        if (req->error.message != NULL)
            req->error.message = apr_pstrdup(pool, req->error.message);
        if (req->result.generation != NULL)
            req->result.generation = apr_pstrdup(pool, req->result.generation);
        req->pool = pool;
        if (b->jobs[i].ctx.pool != NULL)
            apr_pool_destroy(b->jobs[i].ctx.pool);
    }
}

deploy_batch_t *deploy_batch_open(int n, const ops_ctx_t *ctx)
{
    batch_t *b = apr_pcalloc(ctx->pool, sizeof(*b));
    b->n = n;
    b->threads = (int)ctx->config->renew_concurrency;
    b->ctx = ctx;
    b->journal = batch_journal_path(ctx->config, getpid(), ctx->pool);
    b->id = apr_psprintf(ctx->pool, "%" APR_TIME_T_FMT ".%ld", apr_time_now(),
                         (long)getpid());
    b->jobs = apr_pcalloc(ctx->pool, sizeof(*b->jobs) * (n ? n : 1));
    return b;
}

void deploy_batch_start(deploy_batch_t *b, int slot, deploy_request_t *req)
{
    deploy_job_t *job = &b->jobs[slot];
    job->req = req;
    job->batch = b->id;
    job->ctx = *b->ctx;
    job->ctx.pool = ops_parallel_pool();
    if (job->ctx.pool == NULL) {
        /* Nothing allocated: the batch's pool belongs to the thread that
         * opened it, and this may be an order's. */
        req->status = ops_fail_text(&req->error, OPS_FAILED, 2611,
                                    "out of memory starting the deploy");
        job->req = NULL;
        return;
    }
    job_start(job);
}

void deploy_batch_close(deploy_batch_t *b)
{
    const ops_ctx_t *ctx = b->ctx;
    /* Deploys a killed helper left were switched back on disk: httpd
     * reads the restored pairs before anything new is tried. */
    int reload = 0;
    for (int i = 0; i < b->n; i++)
        reload |= b->jobs[i].reload;
    const char *reload_err = NULL;
    if (reload &&
        httpd_ctl_run(ctx, HTTPD_CTL_GRACEFUL, &reload_err) != APR_SUCCESS)
        ops_progress(ctx, "warning: %s", reload_err);
    batch_step(b, STEP_CONFIGTEST, configtest);
    batch_step(b, STEP_GRACEFUL, graceful);
    batch_step(b, STEP_CHECK_UP, wait_listening);
    check_each(b);
    batch_finish(b);
    /* Every certificate's journal entry is gone: so can the batch's go. */
    const char *err = NULL;
    if (state_remove_journal(b->journal, &err, ctx->pool) != APR_SUCCESS)
        ops_progress(ctx, "warning: %s", err);
}

void deploy_batch_abandon(deploy_batch_t *b, const char *why)
{
    const ops_ctx_t *ctx = b->ctx;
    deploy_job_t **active =
        apr_pcalloc(ctx->pool, sizeof(*active) * (b->n ? b->n : 1));
    int count = batch_active(b, active);
    const char **errs =
        apr_pcalloc(ctx->pool, sizeof(*errs) * (count ? count : 1));
    for (int i = 0; i < count; i++)
        errs[i] = why;
    if (count > 0)
        fail_together(active, count, errs, ctx);
    batch_finish(b);
}

void deploy_batch(apr_array_header_t *batch, const ops_ctx_t *ctx)
{
    starting_t s = {deploy_batch_open(batch->nelts, ctx), batch};
    ops_parallel(s.b->n, s.b->threads, start_one, &s);
    deploy_batch_close(s.b);
}

ops_status_t deploy_run(deploy_result_t *result, ops_error_t *error,
                        const ops_ctx_t *ctx, const char *name,
                        const char *reason)
{
    apr_array_header_t *batch =
        apr_array_make(ctx->pool, 1, sizeof(deploy_request_t));
    deploy_request_t *req = apr_array_push(batch);
    memset(req, 0, sizeof(*req));
    req->name = name;
    req->reason = reason;
    deploy_batch(batch, ctx);
    *result = req->result;
    *error = req->error;
    return req->status;
}
