/* renew.c — what the timer runs every few minutes: for every managed
 * certificate, decide (base/schedule.h) and do what is due — sign, deploy
 * or nothing — keeping backoff, resubmission times and the ARI window in
 * its schedule.json.
 *
 * A run has three phases: plan (one pass over the certificates, reading
 * only the small JSON records the decision needs — no PEM, no CA unless
 * an ARI check is due), sign (the orders run in renew_concurrency
 * threads of this process, each with its own pool, session and libcurl
 * handle, all on one shared view per CA; a certificate signed starts its
 * deploy's own steps in the same thread at once), and deploy (every
 * certificate started goes through one configtest and one graceful). */
#include "ops/renew.h"
#include "ops/renew_plan.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <string.h>

#include "apr_strings.h"

#include "acme/acme_json.h"
#include "base/log.h"
#include "base/schedule.h"
#include "base/state.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "crypto/crypt_random.h"
#include "ops/cert_schedule.h"
#include "ops/cert_state.h"
#include "ops/deploy.h"
#include "ops/notify.h"
#include "ops/parallel.h"
#include "ops/provider.h"
#include "ops/sign.h"

#define WARN_INTERVAL 86400

typedef struct {
    cert_state_t *cert;
    json_t *sched; /* schedule.json */
    schedule_conf_t conf;
    schedule_facts_t facts;
} renew_cert_t;

static json_int_t int_member(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void conf_from_json(schedule_conf_t *c, json_t *sched)
{
    c->automated = json_is_true(json_object_get(sched, "automated"));
    json_t *days = json_object_get(sched, "days");
    c->days = json_is_integer(days) ? (unsigned)json_integer_value(days)
                                    : CERT_SCHEDULE_ALL_DAYS;
    json_t *minute = json_object_get(sched, "minute");
    c->minute_of_day = json_is_integer(minute) ? (int)json_integer_value(minute)
                                               : CERT_SCHEDULE_DEFAULT_MINUTE;
}

static void facts_gather(renew_cert_t *rc)
{
    cert_state_t *cert = rc->cert;
    schedule_facts_t *f = &rc->facts;
    const char *err = NULL;
    json_t *j = NULL;
    memset(f, 0, sizeof(*f));
    f->has_csr = cert_state_has(cert, "csr.pem");
    f->has_pending = cert_state_has(cert, "pending.pem");
    if (f->has_pending &&
        state_read_json(&j, cert_state_file(cert, "pending.json"), &err,
                        cert->ctx->pool) == APR_SUCCESS)
        f->pending_signed = int_member(j, "signed");
    if (state_read_json(&j, cert_state_file(cert, "deployed.json"), &err,
                        cert->ctx->pool) == APR_SUCCESS) {
        f->has_deployed = 1;
        f->not_before = int_member(j, "not_before");
        f->not_after = int_member(j, "not_after");
    }
    f->next_attempt = int_member(rc->sched, "next_attempt");
    f->failures = (int)int_member(rc->sched, "failures");
    f->ari_time = int_member(rc->sched, "ari_time");
    json_t *times = json_object_get(rc->sched, "resubmit");
    f->resubmit[0] = json_integer_value(json_array_get(times, 0));
    f->resubmit[1] = json_integer_value(json_array_get(times, 1));
}

/* New random resubmission times once both stored ones have passed. */
static void plan_resubmit(renew_cert_t *rc, apr_int64_t now)
{
    schedule_facts_t *f = &rc->facts;
    if (!f->has_deployed || f->has_pending ||
        (f->resubmit[0] > now || f->resubmit[1] > now))
        return;
    apr_int64_t due = schedule_renewal_due(f->not_before, f->not_after);
    schedule_plan_resubmit(f->resubmit, now, due, f->not_after,
                           crypt_random_below);
    json_object_set_new(rc->sched, "resubmit",
                        json_pack("[I, I]", (json_int_t)f->resubmit[0],
                                  (json_int_t)f->resubmit[1]));
}

#define ARI_DEFAULT_RECHECK (6 * 3600)

static apr_int64_t clamp_recheck(long retry_after)
{
    if (retry_after < 0)
        return ARI_DEFAULT_RECHECK;
    if (retry_after < 60)
        return 60;
    return retry_after > 86400 ? 86400 : retry_after;
}

/* The deployed leaf, read back from the live file. */
static X509 *deployed_leaf(const ops_ctx_t *ctx, const char *name)
{
    const expacme_cert_conf_t *conf = config_cert(ctx->config, name);
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_array_header_t *chain = NULL;
    if (conf == NULL ||
        state_read_file(&pem, &len, conf->cert_file, STATE_FILE_MAX, &err,
                        ctx->pool) != APR_SUCCESS ||
        crypt_chain_parse(&chain, pem, len, &err, ctx->pool) != APR_SUCCESS)
        return NULL;
    return APR_ARRAY_IDX(chain, 0, X509 *);
}

/* RFC 9773: asks the CA (when it offers renewalInfo, and when its last
 * Retry-After has passed) for its window, and keeps a uniformly random
 * moment in it; the schedule uses it when it is earlier than 2/3. */
static void ari_refresh(const ops_ctx_t *ctx, renew_cert_t *rc, apr_int64_t now)
{
    if (!rc->facts.has_deployed || rc->facts.has_pending ||
        int_member(rc->sched, "ari_next_check") > now)
        return;
    X509 *leaf = deployed_leaf(ctx, rc->cert->name);
    const char *id = leaf ? crypt_cert_ari_id(leaf, ctx->pool) : NULL;
    provider_conn_t conn;
    const char *err = NULL;
    apr_int64_t start = 0, end = 0;
    long retry_after = -1;
    if (id == NULL ||
        provider_connect(&conn, ctx, NULL, 0, &err) != APR_SUCCESS)
        return;
    apr_status_t rv = net_renewal_info(&start, &end, &retry_after, conn.session,
                                       id, &err, ctx->pool);
    json_object_set_new(rc->sched, "ari_next_check",
                        json_integer(now + clamp_recheck(retry_after)));
    if (rv != APR_SUCCESS) {
        if (rv != APR_ENOTIMPL)
            ops_progress(ctx, "%s: ARI: %s", rc->cert->name, err);
        return;
    }
    if (int_member(rc->sched, "ari_start") != start ||
        int_member(rc->sched, "ari_end") != end ||
        strcmp(acme_json_string_member(rc->sched, "ari_id")
                   ? acme_json_string_member(rc->sched, "ari_id")
                   : "",
               id) != 0) {
        apr_int64_t span = end - start;
        apr_int64_t pick =
            start +
            (span > 0 ? crypt_random_below(
                            (unsigned)(span > UINT32_MAX ? UINT32_MAX : span))
                      : 0);
        json_object_set_new(rc->sched, "ari_id", json_string(id));
        json_object_set_new(rc->sched, "ari_start", json_integer(start));
        json_object_set_new(rc->sched, "ari_end", json_integer(end));
        json_object_set_new(rc->sched, "ari_time", json_integer(pick));
    }
}

/* The failed try's wait: the backoff step, or the CA's Retry-After when
 * that is longer (a rate limit is remembered across runs this way). */
static void note_failure(renew_cert_t *rc, apr_int64_t now)
{
    json_int_t failures = int_member(rc->sched, "failures") + 1;
    apr_int64_t wait = schedule_backoff((int)failures, crypt_random_below);
    json_t *sign = json_object_get(rc->cert->status, "last_sign");
    json_t *problem = json_object_get(sign, "problem");
    json_int_t retry_after = int_member(problem, "retry_after");
    /* At most what http.c accepts from a CA (366 days); a wait that
     * would outlast the certificate counts for nothing (schedule.c). */
    if (retry_after > 366L * 86400)
        retry_after = 366L * 86400;
    if (retry_after > wait)
        wait = retry_after;
    json_object_set_new(rc->sched, "failures", json_integer(failures));
    json_object_set_new(rc->sched, "next_attempt",
                        json_integer((json_int_t)(now + wait)));
}

static void note_success(renew_cert_t *rc)
{
    static const char *const spent[] = {"failures", "next_attempt",  "resubmit",
                                        "ari_id",   "ari_start",     "ari_end",
                                        "ari_time", "ari_next_check"};
    for (size_t i = 0; i < sizeof(spent) / sizeof(spent[0]); i++)
        json_object_del(rc->sched, spent[i]);
}

/* Manual mode past two-thirds: the warning (stderr, syslog, notify) once
 * a day; returned so that renew --json carries it too. */
static const char *warn_manual(const ops_ctx_t *ctx, renew_cert_t *rc,
                               const schedule_decision_t *d, apr_int64_t now)
{
    if (rc->conf.automated || !rc->facts.has_deployed || now < d->renewal_due ||
        now - int_member(rc->sched, "last_warned") < WARN_INTERVAL)
        return NULL;
    const char *msg = apr_psprintf(ctx->pool,
                                   "two-thirds of the lifetime "
                                   "of certificate %s has elapsed: sign and "
                                   "deploy a new one",
                                   rc->cert->name);
    log_warning(2960, "%s", msg);
    ops_progress(ctx, "warning: %s", msg);
    notify_event(ctx, "renewal-warning", rc->cert->name, msg);
    json_object_set_new(rc->sched, "last_warned", json_integer(now));
    return msg;
}

static schedule_action_t forced_action(const renew_cert_t *rc,
                                       const schedule_decision_t *d,
                                       apr_int64_t now)
{
    if (rc->facts.has_pending)
        return SCHEDULE_DEPLOY;
    if (rc->facts.has_csr && (!rc->facts.has_deployed || now >= d->renewal_due))
        return SCHEDULE_SIGN;
    return SCHEDULE_NOTHING;
}

static void decide(schedule_decision_t *d, const ops_ctx_t *ctx,
                   renew_cert_t *rc, apr_int64_t now)
{
    conf_from_json(&rc->conf, rc->sched);
    facts_gather(rc);
    if (rc->conf.automated) {
        ari_refresh(ctx, rc, now);
        rc->facts.ari_time = int_member(rc->sched, "ari_time");
    }
    schedule_decide(d, &rc->conf, &rc->facts, now);
    /* New random times only once the stored ones were used or missed:
     * a time that passed between two runs still counts (decided above). */
    if (rc->conf.automated && d->action == SCHEDULE_NOTHING) {
        plan_resubmit(rc, now);
        schedule_decide(d, &rc->conf, &rc->facts, now);
    }
}

/* One certificate of the run: what the plan decided (ops/renew_plan.h)
 * and what came of it.  Strings live in the run's pool (copied under
 * keep_lock by workers). */
typedef renew_plan_t renew_job_t;

typedef struct {
    const ops_ctx_t *ctx; /* the run's: config, clock, progress, views */
    renew_job_t *jobs;
    int count;
    int now_flag;
    atomic_int saved;          /* some schedule.json was written */
    pthread_mutex_t keep_lock; /* guards ctx->pool */
    deploy_batch_t *batch;     /* every deploy of the run */
    deploy_request_t *deploys; /* one slot per job; named once started */
} renew_run_t;

/* Whether job i's deploy was started (its request named): read after
 * ops_parallel has joined the threads that start them. */
static int deploy_started(const renew_run_t *run, int i)
{
    return run->deploys[i].name != NULL;
}

static const char *keep(renew_run_t *run, const char *s)
{
    if (s == NULL)
        return NULL;
    pthread_mutex_lock(&run->keep_lock);
    const char *copy = apr_pstrdup(run->ctx->pool, s);
    pthread_mutex_unlock(&run->keep_lock);
    return copy;
}

/* schedule.json is written only when the run changed it: a thousand
 * certificates with nothing due cost a thousand reads, no writes. */
static void schedule_save_changed(renew_run_t *run, renew_entry_t *entry,
                                  const ops_ctx_t *ctx, renew_cert_t *rc,
                                  json_t *before)
{
    const char *err = NULL;
    if (before != NULL && json_equal(before, rc->sched))
        return;
    atomic_store(&run->saved, 1);
    if (cert_schedule_save(rc->cert, rc->sched, &err) != APR_SUCCESS) {
        ops_progress(ctx, "warning: %s", err);
        entry->save_failed = 1;
    }
}

static void plan_one(renew_run_t *run, renew_job_t *job, const ops_ctx_t *ctx)
{
    renew_entry_t *entry = job->entry;
    renew_cert_t rc;
    memset(&rc, 0, sizeof(rc));
    const char *err = NULL;
    if (cert_state_open(&rc.cert, ctx, entry->cert, &err) != APR_SUCCESS ||
        cert_schedule_load(&rc.sched, rc.cert, &err) != APR_SUCCESS) {
        ops_error_t error = {0};
        ops_fail(&error, OPS_FAILED, 2961, ctx->pool, "%s", err);
        entry->error = keep(run, error.message);
        entry->logno = error.logno;
        return;
    }
    json_t *before = json_pool_bind(json_deep_copy(rc.sched), ctx->pool);
    apr_int64_t now = ops_now(ctx);
    schedule_decision_t d;
    decide(&d, ctx, &rc, now);
    entry->warning = keep(run, warn_manual(ctx, &rc, &d, now));
    schedule_action_t action =
        run->now_flag ? forced_action(&rc, &d, now) : d.action;
    if (run->now_flag && action != SCHEDULE_NOTHING)
        d.why = "renew --now";
    entry->why = keep(run, d.why);
    entry->renewal_due = d.renewal_due;
    entry->next_slot = d.next_slot;
    entry->action = action == SCHEDULE_NOTHING ? "none"
                    : action == SCHEDULE_SIGN  ? "sign"
                                               : "deploy";
    job->action = action;
    job->then_deploy = run->now_flag && action == SCHEDULE_SIGN;
    /* A renewal tells the CA which certificate it replaces (RFC 9773). */
    if (action == SCHEDULE_SIGN && rc.facts.has_deployed)
        job->replaces = keep(run, acme_json_string_member(rc.sched, "ari_id"));
    if (action != SCHEDULE_NOTHING)
        ops_progress(ctx, "%s: %s (%s)", entry->cert, entry->action, d.why);
    schedule_save_changed(run, entry, ctx, &rc, before);
}

/* After a sign or deploy: the outcome into schedule.json (backoff, or the
 * spent times cleared) and into the entry. */
static void record(renew_run_t *run, renew_job_t *job, const ops_ctx_t *ctx,
                   ops_status_t st, const ops_error_t *error)
{
    renew_entry_t *entry = job->entry;
    renew_cert_t rc;
    memset(&rc, 0, sizeof(rc));
    const char *err = NULL;
    /* Reread what sign or deploy wrote (last_sign with its problem). */
    if (cert_state_open(&rc.cert, ctx, entry->cert, &err) != APR_SUCCESS ||
        cert_schedule_load(&rc.sched, rc.cert, &err) != APR_SUCCESS) {
        entry->save_failed = 1;
        return;
    }
    /* A first success changes nothing in it: not rewritten (a thousand
     * file replacements fewer in a fleet's first run). */
    json_t *before = json_pool_bind(json_deep_copy(rc.sched), ctx->pool);
    if (st == OPS_OK)
        note_success(&rc);
    else
        note_failure(&rc, ops_now(ctx));
    entry->result = st == OPS_OK ? "success" : "failure";
    if (st != OPS_OK) {
        entry->error = keep(run, error->message);
        entry->logno = error->logno;
    }
    schedule_save_changed(run, entry, ctx, &rc, before);
}

static void sign_one(renew_run_t *run, renew_job_t *job, const ops_ctx_t *ctx)
{
    ops_error_t error = {0};
    sign_result_t signed_;
    ops_status_t st = sign_run(&signed_, &error, ctx, job->entry->cert, NULL,
                               job->replaces, SIGN_CHECK);
    record(run, job, ctx, st, &error);
    if (st != OPS_OK)
        job->then_deploy = 0;
}

/* A certificate signed (or pending from before) starts its deploy here,
 * in the same thread, while the other orders are still running: its own
 * steps (verify, backup, write, switch) are done by the time the last
 * order is, and only the batch's reload and checks are left.  The sign
 * runs in a pool of its own, gone (with the certificate's lock) before
 * the deploy takes the lock again. */
static void sign_job(void *baton, int i, apr_pool_t *scratch)
{
    renew_run_t *run = baton;
    renew_job_t *job = &run->jobs[i];
    if (job->action == SCHEDULE_SIGN && !ops_interrupted(run->ctx)) {
        apr_pool_t *sign_pool = NULL;
        int have_pool = apr_pool_create(&sign_pool, scratch) == APR_SUCCESS;
        ops_ctx_t ctx;
        ops_ctx_sub(&ctx, run->ctx, have_pool ? sign_pool : scratch);
        if (!have_pool) {
            ops_error_t error = {0};
            record(run, job, &ctx,
                   ops_fail_text(&error, OPS_FAILED, 2612,
                                 "out of memory starting the sign"),
                   &error);
            return;
        }
        sign_one(run, job, &ctx);
        apr_pool_destroy(sign_pool);
    }
    if ((job->action == SCHEDULE_DEPLOY || job->then_deploy) &&
        !ops_interrupted(run->ctx)) {
        deploy_request_t *req = &run->deploys[i];
        req->name = job->entry->cert;
        req->reason = job->entry->why;
        deploy_batch_start(run->batch, i, req);
    }
}

/* Every order of the run at once, at most renew_concurrency at a time
 * (ops/parallel.h); one failing never waits for, blocks or undoes
 * another. */
static void sign_all(renew_run_t *run)
{
    int signing = 0;
    for (int i = 0; i < run->count && !signing; i++)
        signing = run->jobs[i].action == SCHEDULE_SIGN;
    /* Forked before the threads exist and before any order reads its
     * key (planning reads none); a failure is each order's to report. */
    if (signing)
        ops_net_early(run->ctx);
    ops_parallel(run->count, (int)run->ctx->config->renew_concurrency, sign_job,
                 run);
}

/* One deployed certificate's outcome in its schedule (a thread of
 * ops_parallel: each certificate has its own lock and files). */
static void record_deploy(void *baton, int i, apr_pool_t *scratch)
{
    renew_run_t *run = baton;
    if (!deploy_started(run, i))
        return;
    deploy_request_t *req = &run->deploys[i];
    renew_job_t *job = &run->jobs[i];
    ops_ctx_t cert_ctx;
    ops_ctx_sub(&cert_ctx, run->ctx, scratch);
    if (job->then_deploy)
        job->entry->deploy_result =
            req->status == OPS_OK ? "success" : "failure";
    record(run, job, &cert_ctx, req->status, &req->error);
}

/* The batch every deploy of the run started in: one configtest and one
 * graceful for all of them, then each checked; an interrupted run puts
 * back what it switched instead. */
static void deploy_all(renew_run_t *run)
{
    const ops_ctx_t *ctx = run->ctx;
    int started = 0;
    for (int i = 0; i < run->count; i++)
        started += deploy_started(run, i);
    if (started == 0)
        return;
    if (ops_interrupted(ctx))
        deploy_batch_abandon(run->batch, "interrupted before the reload");
    else
        deploy_batch_close(run->batch);
    /* In parallel: a fleet's thousand rereads were a serial tail. */
    ops_parallel(run->count, (int)ctx->config->renew_concurrency, record_deploy,
                 run);
}

static void plan_all(renew_run_t *run)
{
    const ops_ctx_t *ctx = run->ctx;
    for (int i = 0; i < run->count; i++) {
        /* A pool per certificate: its locks and objects go with it. */
        apr_pool_t *sub = NULL;
        apr_pool_create(&sub, ctx->pool);
        ops_ctx_t cert_ctx;
        ops_ctx_sub(&cert_ctx, ctx, sub);
        plan_one(run, &run->jobs[i], &cert_ctx);
        apr_pool_destroy(sub);
    }
}

int renew_plan(renew_plan_t *plans, int count, const ops_ctx_t *ctx,
               int now_flag)
{
    renew_run_t run;
    memset(&run, 0, sizeof(run));
    run.ctx = ctx;
    run.jobs = plans;
    run.count = count;
    run.now_flag = now_flag;
    pthread_mutex_init(&run.keep_lock, NULL);
    plan_all(&run);
    pthread_mutex_destroy(&run.keep_lock);
    return atomic_load(&run.saved);
}

/* A deploy batch holds every certificate's lock at once. */
static void raise_fd_limit(int certs)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)certs * 2 + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur =
        rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

ops_status_t renew_run(renew_result_t *result, const ops_ctx_t *ctx,
                       int now_flag)
{
    const expacme_config_t *config = ctx->config;
    int n = config->certs->nelts;
    result->entries = apr_array_make(ctx->pool, n, sizeof(renew_entry_t));
    renew_run_t run;
    memset(&run, 0, sizeof(run));
    ops_ctx_t shared = *ctx;
    shared.shared_ca = 1;
    run.ctx = &shared;
    run.count = n;
    run.now_flag = now_flag;
    run.jobs = apr_pcalloc(ctx->pool, sizeof(renew_job_t) * (n ? n : 1));
    pthread_mutex_init(&run.keep_lock, NULL);
    for (int i = 0; i < n; i++) {
        renew_entry_t *entry = apr_array_push(result->entries);
        memset(entry, 0, sizeof(*entry));
        entry->cert =
            APR_ARRAY_IDX(config->certs, i, expacme_cert_conf_t *)->name;
        run.jobs[i].entry = entry;
    }
    run.deploys = apr_pcalloc(ctx->pool, sizeof(*run.deploys) * (n ? n : 1));
    run.batch = deploy_batch_open(n, &shared);
    raise_fd_limit(n);
    plan_all(&run);
    sign_all(&run);
    deploy_all(&run);
    pthread_mutex_destroy(&run.keep_lock);
    int failed = 0;
    result->changed = atomic_load(&run.saved);
    for (int i = 0; i < n; i++) {
        const renew_entry_t *e =
            &APR_ARRAY_IDX(result->entries, i, renew_entry_t);
        if (e->error != NULL || e->save_failed)
            failed = 1;
        if (e->error != NULL || e->warning != NULL ||
            strcmp(e->action ? e->action : "none", "none") != 0)
            result->changed = 1;
    }
    return failed ? OPS_FAILED : OPS_OK;
}
