/* deploy.c — the deploy engine: the pending certificate into the files
 * httpd serves, with no restart and no failed handshake (manual §5).
 *
 * Every step is written to the certificate's status.json ("deploying")
 * before it starts, so a helper killed at any point leaves enough for the
 * next deploy or status to put the previous pair back. */
#include "ops/deploy.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apr_strings.h"

#include "ops/cert_state.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "ops/key_file.h"
#include "ops/deploy_live.h"
#include "acme/acme_json.h"
#include "ops/notify.h"
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

typedef struct {
    const ops_ctx_t *ctx;
    cert_state_t *cert;
    const expacme_cert_conf_t *conf;
    deploy_live_t live;
    deploy_step_t step;
    const char *old_gen;
    const char *new_gen;
    char *chain_pem;
    apr_size_t chain_len;
    char *key_pem;
    apr_size_t key_len;
    X509 *leaf;
    const char *sni;
    apr_time_t started;
} deploy_job_t;

static int step_from_name(const char *name)
{
    for (int i = 0; i < STEP_COUNT; i++) {
        if (name != NULL && strcmp(step_names[i], name) == 0)
            return i;
    }
    return -1;
}

/* Records the step about to run.  EXPACME_TEST_CRASH_AT=<step> makes the
 * helper kill itself right there: how the tests prove that a kill -9 at
 * any step leaves a working pair (never set it outside tests). */
static apr_status_t enter(deploy_job_t *job, deploy_step_t step,
                          const char **err)
{
    job->step = step;
    if (job->started == 0)
        job->started = apr_time_now();
    ops_progress(job->ctx, "deploy %s: %s (%" APR_TIME_T_FMT " ms)",
                 job->cert->name, step_names[step],
                 apr_time_as_msec(apr_time_now() - job->started));
    json_object_set_new(
        job->cert->status, "deploying",
        json_pack("{s:I, s:I, s:s, s:s?, s:s?}", "pid", (json_int_t)getpid(),
                  "started", (json_int_t)time(NULL), "step", step_names[step],
                  "old_gen", job->old_gen, "new_gen", job->new_gen));
    apr_status_t rv = cert_state_save(job->cert, err);
    const char *crash = getenv("EXPACME_TEST_CRASH_AT");
    if (crash != NULL && strcmp(crash, step_names[step]) == 0)
        raise(SIGKILL);
    return rv;
}

static apr_status_t verify_pending(deploy_job_t *job, const char **err)
{
    apr_pool_t *pool = job->ctx->pool;
    apr_array_header_t *chain = NULL;
    EVP_PKEY *key = NULL;
    apr_status_t rv = state_read_file(&job->chain_pem, &job->chain_len,
                                      cert_state_file(job->cert, "pending.pem"),
                                      STATE_FILE_MAX, err, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        *err = apr_psprintf(pool,
                            "no pending certificate for %s: run "
                            "'expacmectl sign' first",
                            job->cert->name);
    if (rv == APR_SUCCESS)
        rv = state_read_file(&job->key_pem, &job->key_len,
                             cert_state_file(job->cert, "key.pem"),
                             STATE_FILE_MAX, err, pool);
    if (rv == APR_SUCCESS)
        rv = key_file_load(&key, cert_state_file(job->cert, "key.pem"), err,
                           pool);
    if (rv == APR_SUCCESS)
        rv = crypt_chain_parse(&chain, job->chain_pem, job->chain_len, err,
                               pool);
    /* configtest does not notice a key that does not match, and a graceful
     * with one takes the httpd parent down: check before touching. */
    if (rv == APR_SUCCESS)
        rv = crypt_chain_verify(chain, key, NULL, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    job->leaf = APR_ARRAY_IDX(chain, 0, X509 *);
    crypt_cert_info_t info;
    if (job->sni == NULL &&
        crypt_cert_info(&info, job->leaf, pool) == APR_SUCCESS &&
        info.names->nelts > 0)
        job->sni = APR_ARRAY_IDX(info.names, 0, const char *);
    return APR_SUCCESS;
}

static apr_status_t wait_listening(deploy_job_t *job, const char **err)
{
    const char *address = job->ctx->config->https_address;
    if (tls_probe_wait_listening(
            address, apr_time_from_sec(job->ctx->config->deploy_timeout),
            job->ctx->pool))
        return APR_SUCCESS;
    *err = apr_psprintf(job->ctx->pool,
                        "httpd is not listening on %s after "
                        "the graceful reload",
                        address);
    return APR_TIMEUP;
}

static apr_status_t wait_served(deploy_job_t *job, X509 *want, const char **err)
{
    apr_pool_t *pool = job->ctx->pool;
    apr_time_t deadline =
        apr_time_now() + apr_time_from_sec(job->ctx->config->deploy_timeout);
    const char *address = job->ctx->config->https_address;
    const char *why = "no answer";
    apr_interval_time_t delay = POLL_FIRST;
    for (;;) {
        X509 *served = NULL;
        const char *probe_err = NULL;
        if (tls_probe_leaf(&served, address, job->sni, apr_time_from_sec(5),
                           &probe_err, pool) == APR_SUCCESS) {
            if (X509_cmp(served, want) == 0)
                return APR_SUCCESS;
            why = "it still presents another certificate";
        } else {
            why = probe_err;
        }
        if (apr_time_now() > deadline) {
            *err = apr_psprintf(pool,
                                "%s (SNI %s) does not present the new "
                                "certificate: %s",
                                address, job->sni ? job->sni : "none", why);
            return APR_TIMEUP;
        }
        poll_pause(&delay);
    }
}

static apr_status_t run_steps(deploy_job_t *job, const char **err)
{
    apr_pool_t *pool = job->ctx->pool;
    apr_status_t rv = enter(job, STEP_VERIFY, err);
    if (rv == APR_SUCCESS)
        rv = verify_pending(job, err);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_ADOPT, err);
    if (rv == APR_SUCCESS)
        rv = deploy_live_adopt(&job->old_gen, &job->live, err, pool);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_WRITE, err);
    if (rv == APR_SUCCESS)
        rv = deploy_live_write(&job->new_gen, &job->live, job->chain_pem,
                               job->chain_len, job->key_pem, job->key_len, err,
                               pool);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_SWITCH, err);
    if (rv == APR_SUCCESS)
        rv = deploy_live_switch(&job->live, job->new_gen, err, pool);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_CONFIGTEST, err);
    if (rv == APR_SUCCESS)
        rv = httpd_ctl_run(job->ctx, HTTPD_CTL_CONFIGTEST, err);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_GRACEFUL, err);
    if (rv == APR_SUCCESS)
        rv = httpd_ctl_run(job->ctx, HTTPD_CTL_GRACEFUL, err);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_CHECK_UP, err);
    if (rv == APR_SUCCESS)
        rv = wait_listening(job, err);
    if (rv == APR_SUCCESS)
        rv = enter(job, STEP_CHECK_SERVED, err);
    if (rv == APR_SUCCESS)
        rv = wait_served(job, job->leaf, err);
    return rv;
}

/* Puts the previous pair back; a reload only when httpd may have read the
 * new one already. */
static const char *roll_back(deploy_job_t *job, deploy_step_t failed_at)
{
    apr_pool_t *pool = job->ctx->pool;
    const char *err = NULL;
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
    if (failed_at >= STEP_GRACEFUL &&
        httpd_ctl_run(job->ctx, HTTPD_CTL_GRACEFUL, &err) != APR_SUCCESS)
        return apr_psprintf(pool,
                            "previous pair restored, but the graceful "
                            "reload failed: %s",
                            err);
    return job->old_gen ? "previous certificate restored"
                        : "first deploy: live links removed";
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

static apr_status_t record_deployed(deploy_job_t *job, const char **err)
{
    apr_pool_t *pool = job->ctx->pool;
    crypt_cert_info_t info;
    apr_status_t rv = crypt_cert_info(&info, job->leaf, pool);
    if (rv != APR_SUCCESS) {
        *err = "cannot read the deployed certificate";
        return rv;
    }
    json_t *rec = json_pool_bind(
        json_pack("{s:I, s:s, s:s, s:I, s:I, s:s}", "time",
                  (json_int_t)time(NULL), "serial", info.serial, "sha256",
                  info.sha256, "not_before", (json_int_t)info.not_before,
                  "not_after", (json_int_t)info.not_after, "generation",
                  job->new_gen),
        pool);
    rv = state_write_json(cert_state_file(job->cert, "deployed.json"), rec, err,
                          pool);
    if (rv == APR_SUCCESS)
        rv = state_remove(cert_state_file(job->cert, "pending.pem"), err, pool);
    if (rv == APR_SUCCESS)
        rv =
            state_remove(cert_state_file(job->cert, "pending.json"), err, pool);
    deploy_live_prune(&job->live, job->new_gen, job->old_gen, pool);
    return rv;
}

apr_status_t deploy_recover(const ops_ctx_t *ctx, cert_state_t *cert,
                            int *recovered)
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
    job.ctx = ctx;
    job.cert = cert;
    job.conf = conf;
    deploy_live_init(&job.live, conf, ctx->pool);
    int step = step_from_name(acme_json_string_member(d, "step"));
    job.old_gen = acme_json_string_member(d, "old_gen");
    job.new_gen = acme_json_string_member(d, "new_gen");
    const char *what = roll_back(&job, step < 0 ? STEP_SWITCH : step);
    set_deploy_status(&job, "interrupted", step >= 0 ? step_names[step] : "?",
                      apr_psprintf(ctx->pool,
                                   "the previous deploy was killed "
                                   "at step %s; %s",
                                   step >= 0 ? step_names[step] : "?", what));
    *recovered = 1;
    return APR_SUCCESS;
}

static ops_status_t finish(deploy_result_t *result, ops_error_t *error,
                           deploy_job_t *job, apr_status_t rv, const char *err,
                           const char *reason)
{
    apr_pool_t *pool = job->ctx->pool;
    if (rv != APR_SUCCESS) {
        deploy_step_t at = job->step;
        const char *what = roll_back(job, at);
        set_deploy_status(job, "failure", step_names[at], err);
        error->step = step_names[at];
        return ops_fail(error, OPS_FAILED, 2603, pool,
                        "deploy failed at "
                        "step %s: %s; %s",
                        step_names[at], err, what);
    }
    const char *rec_err = NULL;
    if (record_deployed(job, &rec_err) != APR_SUCCESS)
        ops_progress(job->ctx, "warning: %s", rec_err);
    set_deploy_status(job, "success", "done",
                      reason ? apr_psprintf(pool,
                                            "new certificate "
                                            "served (%s)",
                                            reason)
                             : "new certificate served");
    result->generation = job->new_gen;
    return OPS_OK;
}

static ops_status_t check_conf(ops_error_t *error, const ops_ctx_t *ctx,
                               const expacme_cert_conf_t *conf,
                               const char *name)
{
    if (conf == NULL)
        return ops_fail(error, OPS_USAGE, 2600, ctx->pool,
                        "no [cert %s] "
                        "section names the files to deploy to",
                        name);
    if (strcmp(conf->cert_file, conf->key_file) == 0)
        return ops_fail(error, OPS_USAGE, 2601, ctx->pool,
                        "[cert %s]: "
                        "cert_file and key_file must be two files",
                        name);
    return OPS_OK;
}

ops_status_t deploy_run(deploy_result_t *result, ops_error_t *error,
                        const ops_ctx_t *ctx, const char *name,
                        const char *reason)
{
    deploy_job_t job;
    memset(&job, 0, sizeof(job));
    memset(result, 0, sizeof(*result));
    job.ctx = ctx;
    job.conf = config_cert(ctx->config, name);
    const char *err = NULL;
    ops_status_t st = check_conf(error, ctx, job.conf, name);
    if (st != OPS_OK)
        return st;
    if (cert_state_open(&job.cert, ctx, name, &err) != APR_SUCCESS ||
        cert_state_lock(job.cert, &err) != APR_SUCCESS ||
        deploy_recover(ctx, job.cert, &result->recovered) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2602, ctx->pool, "%s", err);
    if (result->recovered)
        ops_progress(ctx, "an interrupted deploy was rolled back first");
    deploy_live_init(&job.live, job.conf, ctx->pool);
    job.sni = job.conf->sni;
    apr_status_t rv = run_steps(&job, &err);
    st = finish(result, error, &job, rv, err, reason);
    notify_event(ctx, st == OPS_OK ? "deploy-success" : "deploy-failure", name,
                 st == OPS_OK ? "new certificate served" : err);
    return st;
}
