/* Unit tests of deploy recovery (ops/deploy.h deploy_recover): a deploy
 * killed at each step leaves its "deploying" journal in status.json and
 * real generations on disk (made with ops/deploy_live.h, in the order the
 * engine makes them); the next run must put the previous pair back (or,
 * for a first deploy, take the live links away), record Last Deploy
 * Status "interrupted" naming the step, and reload httpd only when it may
 * have read the new pair.  configtest and graceful are commands of our
 * own, so no httpd is needed; graceful leaves a mark to count. */
#include "tap.h"
#include "dir_fixture.h"

#include <time.h>

#include "apr_file_info.h"
#include "apr_general.h"

#include "ops/cert_state.h"
#include "ops/deploy.h"
#include "ops/deploy_live.h"
#include "ops_fixture.h"

static char dir[] = "/tmp/expacme-deploy-recover-test.XXXXXX";
static int case_count;

/* The engine's steps (ops/deploy.c), in order, as the journal names them. */
typedef enum {
    VERIFY,
    BACKUP,
    WRITE,
    SWITCH,
    CONFIGTEST,
    GRACEFUL,
    CHECK_UP,
    CHECK_SERVED,
    STEPS
} step_t;
static const char *const step_names[] = {
    [VERIFY] = "verify",         [BACKUP] = "backup",
    [WRITE] = "write",           [SWITCH] = "switch",
    [CONFIGTEST] = "configtest", [GRACEFUL] = "graceful",
    [CHECK_UP] = "check-up",     [CHECK_SERVED] = "check-served",
};
_Static_assert(sizeof(step_names) / sizeof(step_names[0]) == STEPS,
               "one name per step");

typedef enum { FIRST_EMPTY, FIRST_OVER_FILES, LATER, SCENARIOS } scenario_t;
static const char *const scenario_names[] = {
    [FIRST_EMPTY] = "first deploy, nothing live",
    [FIRST_OVER_FILES] = "first deploy over hand-installed files",
    [LATER] = "later deploy",
};
_Static_assert(sizeof(scenario_names) / sizeof(scenario_names[0]) == SCENARIOS,
               "one name per scenario");

/* Pair 0 is the previous one, pair 1 the one being deployed. */
static const char *const chains[] = {"chain 0: the previous one\n",
                                     "chain 1: the new, longer one\n"};
static const char *const keys[] = {"key 0\n", "key 1: new\n"};

typedef struct {
    ops_fixture_case_t base; /* dir, marker, config, ctx */
    deploy_live_t live;
    const char *before_gen; /* current before this deploy, or NULL */
    const char *old_gen, *new_gen;
} case_t;

static int case_make(case_t *c, apr_pool_t *pool)
{
    memset(c, 0, sizeof(*c));
    if (!ops_fixture_case(&c->base, pool, dir, &case_count))
        return 0;
    deploy_live_init(&c->live, config_cert(c->base.config, "server"), pool);
    return 1;
}

static int pair_of(const char *path, const char *const *known, apr_pool_t *pool)
{
    apr_size_t len = 0;
    const char *data = ops_fixture_slurp(pool, path, &len);
    for (int i = 0; data != NULL && i < 2; i++) {
        if (len == strlen(known[i]) && memcmp(data, known[i], len) == 0)
            return i;
    }
    return data == NULL ? -1 : -2;
}

/* What httpd would read: "pair N", "none", or the mix. */
static const char *live_state(const case_t *c, apr_pool_t *pool)
{
    int cert = pair_of(c->live.cert_file, chains, pool);
    int key = pair_of(c->live.key_file, keys, pool);
    if (cert == -1 && key == -1)
        return "none";
    if (cert == key && cert >= 0)
        return apr_psprintf(pool, "pair %d", cert);
    return apr_psprintf(pool, "cert %d, key %d", cert, key);
}

/* A status.json "deploying" record as enter() writes it. */
static int journal(case_t *c, pid_t pid, const char *step)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    if (cert_state_open(&cert, &c->base.ctx, "server", &err) != APR_SUCCESS)
        return 0;
    json_object_set_new(
        cert->status, "deploying",
        json_pack("{s:I, s:I, s:s, s:s?, s:s?}", "pid", (json_int_t)pid,
                  "started", (json_int_t)time(NULL), "step", step, "old_gen",
                  c->old_gen, "new_gen", c->new_gen));
    return cert_state_save(cert, &err) == APR_SUCCESS;
}

/* The state before the deploy of pair 1: what httpd serves. */
static const char *scenario_make(case_t *c, scenario_t s, apr_pool_t *pool)
{
    const char *err = NULL, *gen = NULL;
    if (s == FIRST_EMPTY)
        return "none";
    state_write_file(c->live.cert_file, chains[0], strlen(chains[0]), 0644,
                     &err, pool);
    state_write_file(c->live.key_file, keys[0], strlen(keys[0]), 0600, &err,
                     pool);
    if (s == LATER)
        deploy_live_adopt(&gen, &c->live, &err, pool);
    c->before_gen = gen;
    return "pair 0";
}

/* What the engine has done when killed at step: on entry (the journal
 * written, the step's work not begun) or after its work.  Returns 0 when
 * the fixture could not be built. */
static int run_until(case_t *c, step_t step, int after, pid_t pid,
                     apr_pool_t *pool)
{
    const char *err = NULL;
    apr_status_t rv = APR_SUCCESS;
    for (step_t s = VERIFY; s <= step && rv == APR_SUCCESS; s++) {
        if (!journal(c, pid, step_names[s]))
            return 0;
        if (s == step && !after)
            break;
        if (s == BACKUP)
            rv = deploy_live_adopt(&c->old_gen, &c->live, &err, pool);
        else if (s == WRITE)
            rv = deploy_live_write(&c->new_gen, &c->live, chains[1],
                                   strlen(chains[1]), keys[1], strlen(keys[1]),
                                   &err, pool);
        else if (s == SWITCH)
            rv = deploy_live_switch(&c->live, c->new_gen, &err, pool);
    }
    if (rv != APR_SUCCESS)
        printf("#   %s\n", err ? err : "(no error text)");
    return rv == APR_SUCCESS;
}

static const char *gen_path(const case_t *c, const char *gen, apr_pool_t *pool)
{
    return apr_pstrcat(pool, c->live.root, "/", gen, NULL);
}

/* The generations kept beside the live files (not `current`), sorted and
 * joined by spaces: "" when there are none. */
static const char *generations(const case_t *c, apr_pool_t *pool)
{
    apr_array_header_t *names = apr_array_make(pool, 4, sizeof(char *));
    apr_dir_t *d = NULL;
    apr_finfo_t fi;
    if (apr_dir_open(&d, c->live.root, pool) != APR_SUCCESS)
        return "";
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (strcmp(fi.name, ".") && strcmp(fi.name, "..") &&
            strcmp(fi.name, "current"))
            APR_ARRAY_PUSH(names, char *) = apr_pstrdup(pool, fi.name);
    }
    apr_dir_close(d);
    if (names->nelts == 2 && strcmp(APR_ARRAY_IDX(names, 0, char *),
                                    APR_ARRAY_IDX(names, 1, char *)) > 0) {
        char *first = APR_ARRAY_IDX(names, 0, char *);
        APR_ARRAY_IDX(names, 0, char *) = APR_ARRAY_IDX(names, 1, char *);
        APR_ARRAY_IDX(names, 1, char *) = first;
    }
    return apr_array_pstrcat(pool, names, ' ');
}

/* Recovers c as the next run would (status.json read again) into
 * *status (what it saved); *recovered as deploy_recover says. */
static apr_status_t recover(case_t *c, int *recovered, json_t **status,
                            apr_pool_t *pool)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    *recovered = -1;
    *status = NULL;
    apr_status_t rv = cert_state_open(&cert, &c->base.ctx, "server", &err);
    if (rv != APR_SUCCESS)
        return rv;
    rv = deploy_recover(&c->base.ctx, cert, recovered);
    if (*recovered && json_object_get(cert->status, "deploying") != NULL)
        printf("#   \"deploying\" still in memory\n");
    *status = ops_fixture_status(c->base.config, "server", pool);
    return rv;
}

static void check_recovered(case_t *c, const char *what, const char *old,
                            step_t step, int after, apr_pool_t *pool)
{
    int recovered = 0;
    json_t *s = NULL;
    is_int(recover(c, &recovered, &s, pool), APR_SUCCESS,
           apr_psprintf(pool, "%s: recover", what));
    is_int(recovered, 1, apr_psprintf(pool, "%s: recovered", what));
    is_str(live_state(c, pool), old,
           apr_psprintf(pool, "%s: the previous pair is live", what));
    if (strcmp(old, "none") == 0)
        ok(!ops_fixture_exists(c->live.cert_file) &&
               !ops_fixture_exists(c->live.key_file),
           apr_psprintf(pool, "%s: no live links", what));
    else if (c->old_gen == NULL && c->before_gen == NULL)
        ok(deploy_live_current(&c->live, pool) == NULL,
           apr_psprintf(pool, "%s: the files never adopted, no current", what));
    else
        is_str(
            deploy_live_current(&c->live, pool),
            c->old_gen ? c->old_gen : c->before_gen,
            apr_psprintf(pool, "%s: current names the old generation", what));
    if (step >= SWITCH)
        ok(!ops_fixture_exists(gen_path(c, c->new_gen, pool)),
           apr_psprintf(pool, "%s: the journalled new generation is gone",
                        what));
    const char *live_gen = c->old_gen ? c->old_gen : c->before_gen;
    const char *kept = generations(c, pool);
    const char *want_kept = live_gen ? live_gen : "";
    is_str(kept, want_kept,
           apr_psprintf(pool, "%s: only the live generation kept", what));
    ok(s && !json_object_get(s, "deploying"),
       apr_psprintf(pool, "%s: journal removed", what));
    is_str(ops_fixture_json_str(s, "last_deploy.result", pool), "interrupted",
           apr_psprintf(pool, "%s: Last Deploy Status interrupted", what));
    is_str(ops_fixture_json_str(s, "last_deploy.step", pool), step_names[step],
           apr_psprintf(pool, "%s: names the step", what));
    const char *detail = ops_fixture_json_str(s, "last_deploy.detail", pool);
    ok(detail && strstr(detail, apr_psprintf(pool, "killed at step %s",
                                             step_names[step])),
       apr_psprintf(pool, "%s: detail says where it was killed", what));
    is_int(ops_fixture_exists(c->base.marker), step >= GRACEFUL,
           apr_psprintf(pool, "%s: %s", what,
                        step >= GRACEFUL ? "reloaded (httpd may have read "
                                           "the new pair)"
                                         : "no reload"));
}

static void test_each_step(apr_pool_t *pool)
{
    for (int s = 0; s < SCENARIOS; s++) {
        for (int step = VERIFY; step < STEPS; step++) {
            for (int after = 0; after <= 1; after++) {
                case_t c;
                const char *what = apr_psprintf(
                    pool, "%s, killed %s %s", scenario_names[s],
                    after ? "after" : "on entry to", step_names[step]);
                if (!ok(case_make(&c, pool), what))
                    continue;
                const char *old = scenario_make(&c, (scenario_t)s, pool);
                if (!ok(run_until(&c, (step_t)step, after,
                                  ops_fixture_dead_pid(), pool),
                        apr_psprintf(pool, "%s: state built", what)))
                    continue;
                const char *want =
                    step > SWITCH || (step == SWITCH && after) ? "pair 1" : old;
                is_str(live_state(&c, pool), want,
                       apr_psprintf(pool, "%s: before recovery %s is live",
                                    what, want));
                check_recovered(&c, what, old, (step_t)step, after, pool);
            }
        }
    }
}

/* A deploy still running (its pid alive) is not rolled back. */
static void test_live_pid(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "live pid: case"))
        return;
    scenario_make(&c, LATER, pool);
    ops_fixture_child_t child;
    ops_fixture_child_start(&child);
    ok(run_until(&c, GRACEFUL, 1, child.pid, pool),
       "live pid: a deploy at graceful, its process alive");
    int recovered = -1;
    json_t *s = NULL;
    is_int(recover(&c, &recovered, &s, pool), APR_SUCCESS, "live pid: recover");
    is_int(recovered, 0, "live pid: nothing recovered");
    is_str(live_state(&c, pool), "pair 1", "live pid: the new pair stays live");
    is_str(ops_fixture_json_str(s, "deploying.step", pool), "graceful",
           "live pid: its journal stays");
    ok(s && !json_object_get(s, "last_deploy"),
       "live pid: no Last Deploy Status");
    ok(!ops_fixture_exists(c.base.marker), "live pid: no reload");
    ops_fixture_child_end(&child);
    is_int(recover(&c, &recovered, &s, pool), APR_SUCCESS,
           "once it is gone: recover");
    is_int(recovered, 1, "once it is gone: recovered");
    is_str(live_state(&c, pool), "pair 0", "once it is gone: previous pair");
}

/* A journal whose step no version of the engine wrote: recovery assumes
 * the worst short of a reload (the switch may have happened). */
static void test_unknown_step(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "unknown step: case"))
        return;
    scenario_make(&c, LATER, pool);
    run_until(&c, SWITCH, 1, ops_fixture_dead_pid(), pool);
    journal(&c, ops_fixture_dead_pid(), "no-such-step");
    int recovered = -1;
    json_t *s = NULL;
    is_int(recover(&c, &recovered, &s, pool), APR_SUCCESS,
           "unknown step: recover");
    is_int(recovered, 1, "unknown step: recovered");
    is_str(live_state(&c, pool), "pair 0", "unknown step: previous pair back");
    is_str(ops_fixture_json_str(s, "last_deploy.result", pool), "interrupted",
           "unknown step: interrupted");
    ok(!ops_fixture_exists(gen_path(&c, c.new_gen, pool)),
       "unknown step: new generation gone");
}

/* No journal, or no [cert] section for it: nothing to do. */
static void test_nothing(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "nothing: case"))
        return;
    scenario_make(&c, LATER, pool);
    int recovered = -1;
    json_t *s = NULL;
    cert_state_t *cert = NULL;
    const char *err = NULL;
    cert_state_open(&cert, &c.base.ctx, "server", &err);
    is_int(cert ? deploy_recover(&c.base.ctx, cert, &recovered) : -1,
           APR_SUCCESS, "no journal: recover");
    is_int(recovered, 0, "no journal: nothing recovered");
    ok(cert && !cert_state_has(cert, "status.json"), "no journal: no write");
    is_str(live_state(&c, pool), "pair 0", "no journal: live pair untouched");

    cert_state_t *other = NULL;
    if (cert_state_open(&other, &c.base.ctx, "unconfigured", &err) !=
        APR_SUCCESS)
        other = NULL;
    if (other != NULL) {
        json_object_set_new(other->status, "deploying",
                            json_pack("{s:I, s:s}", "pid",
                                      (json_int_t)ops_fixture_dead_pid(),
                                      "step", "switch"));
        cert_state_save(other, &err);
    }
    recovered = -1;
    is_int(other ? deploy_recover(&c.base.ctx, other, &recovered) : -1,
           APR_SUCCESS, "no [cert] section: recover");
    is_int(recovered, 0, "no [cert] section: nothing to put back");
    s = ops_fixture_status(c.base.config, "unconfigured", pool);
    is_str(ops_fixture_json_str(s, "deploying.step", pool), "switch",
           "no [cert] section: journal kept");
}

static int recover_unprivileged(void *baton)
{
    case_t *c = baton;
    apr_pool_t *pool = NULL;
    cert_state_t *cert = NULL;
    const char *err = NULL;
    int recovered = -1;
    if (!ops_fixture_drop())
        return 10;
    apr_pool_create(&pool, NULL);
    ops_fixture_ctx(&c->base.ctx, pool, c->base.config);
    if (cert_state_open(&cert, &c->base.ctx, "server", &err) != APR_SUCCESS ||
        deploy_recover(&c->base.ctx, cert, &recovered) != APR_SUCCESS)
        return 11;
    return recovered;
}

/* A deploy whose process lives but may not be signalled (EPERM) is still
 * running: cert_state_recover leaves such an order alone, and so should
 * deploy recovery. */
static void test_live_unsignalled(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "EPERM: case"))
        return;
    scenario_make(&c, LATER, pool);
    ok(run_until(&c, GRACEFUL, 1, 1, pool) &&
           ops_fixture_give_away(dir, c.base.dir),
       "EPERM: a deploy at graceful by pid 1, recovered as nobody");
    int rc = ops_fixture_in_child(recover_unprivileged, &c);
    ok(rc == 0 || rc == 1, apr_psprintf(pool, "EPERM: recovery ran (%d)", rc));
    ok(rc == 0, "EPERM: a live deploy is not rolled back");
    is_str(live_state(&c, pool), "pair 1", "EPERM: the new pair stays live");
}

int main(void)
{
    apr_pool_t *pool = NULL;
    if (!test_dir_begin(&pool, dir))
        return 1;
    test_each_step(pool);
    test_live_pid(pool);
    test_unknown_step(pool);
    test_nothing(pool);
    test_live_unsignalled(pool);
    apr_pool_destroy(pool);
    test_dir_remove(dir);
    apr_terminate();
    return done_testing();
}
