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

#include "apr_general.h"

#include "ops/cert_state.h"
#include "ops/deploy.h"
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

int main(void)
{
    apr_pool_t *pool = NULL;
    if (!test_dir_begin(&pool, dir))
        return 1;
    test_batch_steps(pool);
    test_not_this_batch(pool);
    apr_pool_destroy(pool);
    test_dir_remove(dir);
    apr_terminate();
    return done_testing();
}
