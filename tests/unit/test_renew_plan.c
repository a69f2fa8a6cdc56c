/* Unit tests of renew's planning (ops/renew_plan.h): one configuration
 * with a certificate in each state a fleet holds — nothing to sign yet,
 * a first certificate to sign, one current, one due for renewal, one
 * pending for its deploy slot, one whose deploy failed (waiting, then
 * due again), one in backoff after failed orders, one in manual mode
 * past two-thirds, one whose schedule.json is broken — planned as
 * `renew` and as `renew --now` on a fixed clock.  The files are written
 * as the helper writes them; the PEM files hold no PEM at all, so a plan
 * that parsed one would fail. */
#include "tap.h"
#include "dir_fixture.h"

#include "apr_general.h"

#include "ops/renew_plan.h"
#include "ops_fixture.h"

#define NOW ((apr_int64_t)1800000000) /* 2027-01-15 08:00 UTC */
#define DAY ((apr_int64_t)86400)

static char dir[] = "/tmp/expacme-renew-plan-test.XXXXXX";

static apr_int64_t fixed_now(void)
{
    return NOW;
}

static const char *const names[] = {
    "nocsr",  "fresh",      "current", "due",    "pending",
    "failed", "failedwait", "backoff", "manual", "broken",
};
#define NCERTS ((int)(sizeof(names) / sizeof(names[0])))

static const expacme_config_t *fleet_config(apr_pool_t *pool)
{
    const char *text = apr_psprintf(pool,
                                    "state_dir = %s/state\n"
                                    "challenge_store = shm:%s/run/ch\n"
                                    "configtest_command = /bin/true\n"
                                    "graceful_command = /bin/true\n",
                                    dir, dir);
    for (int i = 0; i < NCERTS; i++)
        text = apr_psprintf(pool,
                            "%s\n[cert %s]\ncert_file = %s/live/%s.pem\n"
                            "key_file = %s/live/%s.key\n",
                            text, names[i], dir, names[i], dir, names[i]);
    return ops_fixture_config(
        pool, apr_pstrcat(pool, dir, "/expacme.conf", NULL), text);
}

static const char *cert_file(apr_pool_t *pool, const char *cert,
                             const char *file)
{
    return apr_psprintf(pool, "%s/state/certs/%s/%s", dir, cert, file);
}

static void put(apr_pool_t *pool, const char *cert, const char *file,
                const char *text)
{
    const char *err = NULL;
    const char *path = cert_file(pool, cert, file);
    if (state_write_file(path, text, strlen(text), 0600, &err, pool) !=
        APR_SUCCESS)
        printf("# cannot write %s: %s\n", path, err);
}

static void put_json(apr_pool_t *pool, const char *cert, const char *file,
                     json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    put(pool, cert, file, text ? text : "");
    free(text);
    json_decref(j);
}

/* deployed.json for a 90-day certificate issued `age` days ago. */
static void put_deployed(apr_pool_t *pool, const char *cert, apr_int64_t age)
{
    apr_int64_t nb = NOW - age * DAY;
    put_json(pool, cert, "deployed.json",
             json_pack("{s:I, s:I, s:s}", "not_before", (json_int_t)nb,
                       "not_after", (json_int_t)(nb + 90 * DAY), "serial",
                       "01"));
}

static void put_pending(apr_pool_t *pool, const char *cert)
{
    put(pool, cert, "pending.pem", "not a PEM\n");
    put_json(pool, cert, "pending.json",
             json_pack("{s:I}", "signed", (json_int_t)(NOW - 2 * DAY)));
}

/* Automated, every day at 03:00; more members from extra (stolen). */
static void put_schedule(apr_pool_t *pool, const char *cert, int automated,
                         json_t *extra)
{
    json_t *s =
        json_pack("{s:b, s:i, s:i, s:I}", "automated", automated, "days", 0x7f,
                  "minute", 180, "ari_next_check", (json_int_t)(NOW + DAY));
    if (extra != NULL) {
        json_object_update(s, extra);
        json_decref(extra);
    }
    put_json(pool, cert, "schedule.json", s);
}

static void make_fleet(apr_pool_t *pool)
{
    mkdir(apr_pstrcat(pool, dir, "/state", NULL), 0700);
    mkdir(apr_pstrcat(pool, dir, "/state/certs", NULL), 0700);
    for (int i = 0; i < NCERTS; i++) {
        mkdir(cert_file(pool, names[i], ""), 0700);
        if (strcmp(names[i], "nocsr") != 0)
            put(pool, names[i], "csr.pem", "not a PEM\n");
    }
    put_schedule(pool, "nocsr", 1, NULL);
    put_schedule(pool, "fresh", 1, NULL);
    put_deployed(pool, "current", 10);
    put_schedule(pool, "current", 1, NULL);
    /* Past two-thirds (day 60), both resubmission times passed. */
    put_deployed(pool, "due", 70);
    put_schedule(pool, "due", 1,
                 json_pack("{s:[I, I], s:s}", "resubmit",
                           (json_int_t)(NOW - 3600), (json_int_t)(NOW - 60),
                           "ari_id", "aaaa.bbbb"));
    put_deployed(pool, "pending", 30);
    put_pending(pool, "pending");
    put_schedule(pool, "pending", 1, NULL);
    /* A deploy that failed: its backoff is over, or not yet. */
    put_deployed(pool, "failed", 30);
    put_pending(pool, "failed");
    put_schedule(pool, "failed", 1,
                 json_pack("{s:i, s:I}", "failures", 1, "next_attempt",
                           (json_int_t)(NOW - 60)));
    put_deployed(pool, "failedwait", 30);
    put_pending(pool, "failedwait");
    put_schedule(pool, "failedwait", 1,
                 json_pack("{s:i, s:I}", "failures", 1, "next_attempt",
                           (json_int_t)(NOW + 600)));
    /* Orders that failed twice: waiting an hour. */
    put_schedule(pool, "backoff", 1,
                 json_pack("{s:i, s:I}", "failures", 2, "next_attempt",
                           (json_int_t)(NOW + 3600)));
    put_deployed(pool, "manual", 70);
    put_schedule(pool, "manual", 0, NULL);
    put(pool, "broken", "schedule.json", "{\"automated\": tru");
}

typedef struct {
    renew_plan_t plans[NCERTS];
    renew_entry_t entries[NCERTS];
    int saved;
} planned_t;

static void plan(planned_t *p, const ops_ctx_t *ctx, int now_flag)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < NCERTS; i++) {
        p->entries[i].cert = names[i];
        p->plans[i].entry = &p->entries[i];
    }
    p->saved = renew_plan(p->plans, NCERTS, ctx, now_flag);
}

static const renew_plan_t *of(const planned_t *p, const char *name)
{
    for (int i = 0; i < NCERTS; i++) {
        if (strcmp(names[i], name) == 0)
            return &p->plans[i];
    }
    return NULL;
}

static apr_pool_t *text_pool; /* the test descriptions */

static void is_plan(const planned_t *p, const char *name, const char *action,
                    const char *why)
{
    const renew_plan_t *r = of(p, name);
    schedule_action_t want = strcmp(action, "sign") == 0     ? SCHEDULE_SIGN
                             : strcmp(action, "deploy") == 0 ? SCHEDULE_DEPLOY
                                                             : SCHEDULE_NOTHING;
    const char *what = name;
    is_str(r->entry->action, action,
           apr_psprintf(text_pool, "%s: %s", what, action));
    is_int(r->action, want,
           apr_psprintf(text_pool, "%s: the job holds the same", what));
    if (why != NULL)
        is_str(r->entry->why, why, apr_psprintf(text_pool, "%s: why", what));
}

static json_t *schedule_of(apr_pool_t *pool, const char *cert)
{
    json_t *j = NULL;
    const char *err = NULL;
    if (state_read_json(&j, cert_file(pool, cert, "schedule.json"), &err,
                        pool) != APR_SUCCESS)
        return NULL;
    return j;
}

static const char *file_text(apr_pool_t *pool, const char *cert,
                             const char *file)
{
    return ops_fixture_slurp(pool, cert_file(pool, cert, file), NULL);
}

/* `renew` on the timer: each state's own decision. */
static void test_plan(const ops_ctx_t *ctx, apr_pool_t *pool)
{
    const char *pending_before = file_text(pool, "pending", "schedule.json");
    planned_t p;
    plan(&p, ctx, 0);
    is_plan(&p, "nocsr", "none", "no CSR to sign");
    is_plan(&p, "fresh", "sign", "initial certificate");
    ok(!of(&p, "fresh")->then_deploy, "fresh: signed now, deployed in a slot");
    ok(of(&p, "fresh")->replaces == NULL, "fresh: replaces nothing");
    is_plan(&p, "current", "none", "renewal not due yet");
    is_int(of(&p, "current")->entry->renewal_due, NOW - 10 * DAY + 60 * DAY,
           "current: renewal due at two-thirds of its lifetime");
    is_plan(&p, "due", "sign", "renewal due: resubmitting the CSR");
    is_str(of(&p, "due")->replaces, "aaaa.bbbb",
           "due: the order names the certificate it replaces (ARI id)");
    is_plan(&p, "pending", "deploy", "deploy slot reached");
    ok(of(&p, "pending")->entry->next_slot > 0 &&
           of(&p, "pending")->entry->next_slot <= NOW,
       "pending: its slot is the first after it was signed");
    is_plan(&p, "failed", "deploy", "deploy slot reached");
    is_plan(&p, "failedwait", "none", "waiting after a failed attempt");
    is_plan(&p, "backoff", "none", "waiting after a failed attempt");
    is_plan(&p, "manual", "none", "automated renewal is off");
    ok(of(&p, "manual")->entry->warning != NULL &&
           strstr(of(&p, "manual")->entry->warning, "manual") != NULL,
       "manual: past two-thirds, the warning names the certificate");
    ok(of(&p, "broken")->entry->error != NULL, "broken: an error");
    ok(of(&p, "broken")->entry->logno > 0, "broken: with its message number");
    is_str(file_text(pool, "broken", "schedule.json"), "{\"automated\": tru",
           "broken: its schedule.json is left as it was");
    ok(p.saved, "the plan saved what it changed");
    is_str(file_text(pool, "pending", "schedule.json"), pending_before,
           "pending: schedule.json not rewritten (nothing changed in it)");
    json_t *times = json_object_get(schedule_of(pool, "current"), "resubmit");
    ok(json_array_size(times) == 2 &&
           json_integer_value(json_array_get(times, 0)) > NOW &&
           json_integer_value(json_array_get(times, 1)) > NOW,
       "current: two new resubmission times, both ahead, kept");
    json_t *m = schedule_of(pool, "manual");
    is_int(json_integer_value(json_object_get(m, "last_warned")), NOW,
           "manual: the day of the warning is kept");
    ok(!ops_fixture_exists(cert_file(pool, "fresh", "status.json")),
       "planning writes no status.json");
}

/* The same plan again: the warning once a day, nothing else written. */
static void test_plan_again(const ops_ctx_t *ctx, apr_pool_t *pool)
{
    planned_t p;
    plan(&p, ctx, 0);
    ok(of(&p, "manual")->entry->warning == NULL,
       "manual: no second warning the same day");
    is_plan(&p, "due", "sign", NULL);
    is_plan(&p, "current", "none", NULL);
    ok(!p.saved, "a second plan on the same clock writes nothing");
}

/* `renew --now`: everything that can be done at once is, backoff or
 * slot or not; what is current stays current. */
static void test_plan_now(const ops_ctx_t *ctx)
{
    planned_t p;
    plan(&p, ctx, 1);
    is_plan(&p, "nocsr", "none", NULL);
    is_plan(&p, "fresh", "sign", "renew --now");
    ok(of(&p, "fresh")->then_deploy, "fresh: --now deploys what it signs");
    is_plan(&p, "current", "none", NULL);
    is_plan(&p, "due", "sign", "renew --now");
    ok(of(&p, "due")->then_deploy, "due: deployed in the same run");
    is_plan(&p, "pending", "deploy", "renew --now");
    ok(!of(&p, "pending")->then_deploy, "pending: deployed, nothing signed");
    is_plan(&p, "failedwait", "deploy", "renew --now");
    is_plan(&p, "backoff", "sign", "renew --now");
    is_plan(&p, "manual", "sign", "renew --now");
    ok(of(&p, "broken")->entry->error != NULL, "broken: an error still");
}

int main(void)
{
    apr_pool_t *pool = NULL;
    if (!test_dir_begin(&pool, dir))
        return 1;
    text_pool = pool;
    const expacme_config_t *config = fleet_config(pool);
    if (config == NULL) {
        printf("Bail out! the configuration does not load\n");
        return 1;
    }
    make_fleet(pool);
    ops_ctx_t ctx;
    ops_fixture_ctx(&ctx, pool, config);
    ctx.now = fixed_now;
    test_plan(&ctx, pool);
    test_plan_again(&ctx, pool);
    test_plan_now(&ctx);
    apr_pool_destroy(pool);
    test_dir_remove(dir);
    apr_terminate();
    return done_testing();
}
