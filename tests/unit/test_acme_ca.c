/* Unit tests of the shared CA view (acme/acme_ca.h) under threads: every
 * nonce handed out once and none lost, the rate gate seen by every
 * thread and only lengthened, the lanes (a newOrder and an
 * authorization request never in flight together, neither starved), and
 * sessions attached with their own handle and pool but the directory
 * shared. */
#include "tap.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "apr_general.h"
#include "apr_hash.h"
#include "apr_strings.h"
#include "apr_time.h"

#include "acme/acme_ca.h"

#define THREADS 8
#define ROUNDS 2000

static apr_pool_t *pool;
static acme_ca_t *ca;

typedef struct {
    int id;
    int taken;
    char (*got)[64];
} worker_t;

/* Each thread puts a nonce of its own, then takes one (maybe another's). */
static void *nonce_worker(void *data)
{
    worker_t *w = data;
    for (int i = 0; i < ROUNDS; i++) {
        char nonce[64];
        snprintf(nonce, sizeof(nonce), "n%d-%d", w->id, i);
        acme_ca_nonce_put(ca, nonce);
        char buf[256];
        if (acme_ca_nonce_take(ca, buf, sizeof(buf)))
            apr_cpystrn(w->got[w->taken++], buf, sizeof(w->got[0]));
    }
    return NULL;
}

static void test_nonces(void)
{
    worker_t w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        w[i].taken = 0;
        w[i].got = apr_pcalloc(pool, sizeof(*w[i].got) * ROUNDS);
        pthread_create(&t[i], NULL, nonce_worker, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    apr_hash_t *seen = apr_hash_make(pool);
    int taken = 0, twice = 0, foreign = 0;
    for (int i = 0; i < THREADS; i++) {
        for (int k = 0; k < w[i].taken; k++) {
            const char *n = w[i].got[k];
            if (apr_hash_get(seen, n, APR_HASH_KEY_STRING))
                twice++;
            apr_hash_set(seen, n, APR_HASH_KEY_STRING, n);
            if (n[0] != 'n' || strchr(n, '-') == NULL)
                foreign++;
            taken++;
        }
    }
    char buf[256];
    int left = 0;
    while (acme_ca_nonce_take(ca, buf, sizeof(buf)))
        left++;
    is_int(twice, 0, "no nonce was handed out twice");
    is_int(foreign, 0, "every nonce taken was one put");
    /* At most THREADS are ever outstanding: far below the pool's slots,
     * so none may have been dropped. */
    is_int(taken + left, THREADS * ROUNDS, "none lost: taken + left = put");
    ok(!acme_ca_nonce_take(ca, buf, sizeof(buf)), "empty at the end");
    char small[8];
    acme_ca_nonce_put(ca, "abc");
    ok(!acme_ca_nonce_take(ca, small, sizeof(small)),
       "a buffer too small gets nothing");
    ok(acme_ca_nonce_take(ca, buf, sizeof(buf)) && strcmp(buf, "abc") == 0,
       "and the nonce is still there");
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    acme_ca_nonce_put(ca, big);
    ok(!acme_ca_nonce_take(ca, buf, sizeof(buf)),
       "an oversized nonce is dropped");
}

static long seen_remaining[THREADS];

static void *gate_worker(void *data)
{
    int i = *(int *)data;
    apr_pool_t *p = NULL;
    apr_pool_create_unmanaged_ex(&p, NULL, NULL);
    acme_problem_t *why = NULL;
    seen_remaining[i] = acme_ca_gate_remaining(ca, &why, p);
    if (why == NULL || why->type == NULL ||
        strcmp(why->type, ACME_ERROR_PREFIX "rateLimited") != 0)
        seen_remaining[i] = -1;
    apr_pool_destroy(p);
    return NULL;
}

static void test_gate(void)
{
    acme_problem_t *why = NULL;
    is_int(acme_ca_gate_remaining(ca, &why, pool), 0, "the gate starts open");
    ok(why == NULL, "with no problem");
    acme_problem_t p = {429, ACME_ERROR_PREFIX "rateLimited", "slow down", 30,
                        NULL};
    acme_ca_gate_close(ca, &p, 30);
    acme_problem_t shorter = {503, "other", "x", 5, NULL};
    acme_ca_gate_close(ca, &shorter, 5);
    pthread_t t[THREADS];
    int ids[THREADS];
    for (int i = 0; i < THREADS; i++) {
        ids[i] = i;
        pthread_create(&t[i], NULL, gate_worker, &ids[i]);
    }
    int all = 1;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        if (seen_remaining[i] < 29 || seen_remaining[i] > 30)
            all = 0;
    }
    ok(all, "every thread sees the longer wait, with the CA's problem");
    long r = acme_ca_gate_remaining(ca, &why, pool);
    ok(why != NULL && why->http_status == 429 && why->retry_after_s == r &&
           strcmp(why->detail, "slow down") == 0,
       "the problem that closed it, with the time left");
    acme_ca_gate_close(ca, &p, 0);
    ok(acme_ca_gate_remaining(ca, &why, pool) >= 29,
       "a zero wait changes nothing");
}

static volatile int in_lane[ACME_LANES];
static volatile int lane_clash;

static void *lane_worker(void *data)
{
    acme_lane_t lane = *(acme_lane_t *)data;
    acme_lane_t other =
        lane == ACME_LANE_AUTHZ ? ACME_LANE_NEW_ORDER : ACME_LANE_AUTHZ;
    for (int i = 0; i < ROUNDS / 4; i++) {
        if (acme_ca_lane_enter(ca, lane, NULL) != APR_SUCCESS)
            __atomic_store_n(&lane_clash, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&in_lane[lane], 1, __ATOMIC_SEQ_CST);
        for (int spin = 0; spin < 200; spin++)
            if (__atomic_load_n(&in_lane[other], __ATOMIC_SEQ_CST) != 0)
                __atomic_store_n(&lane_clash, 1, __ATOMIC_SEQ_CST);
        __atomic_sub_fetch(&in_lane[lane], 1, __ATOMIC_SEQ_CST);
        acme_ca_lane_leave(ca, lane);
    }
    return NULL;
}

typedef struct {
    acme_lane_t lane;
    volatile int entered;
} lane_probe_t;

static void *lane_probe(void *data)
{
    lane_probe_t *p = data;
    if (acme_ca_lane_enter(ca, p->lane, NULL) == APR_SUCCESS)
        __atomic_store_n(&p->entered, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&p->entered, __ATOMIC_SEQ_CST) == 1)
        sched_yield(); /* held until the test lets go (entered = 2) */
    acme_ca_lane_leave(ca, p->lane);
    return NULL;
}

/* Polls cond with a deadline of 10 s; 1 when it came true. */
static int lane_until(int (*cond)(void *), void *arg)
{
    for (int i = 0; i < 10000; i++) {
        if (cond(arg))
            return 1;
        apr_sleep(1000);
    }
    return 0;
}

static int authz_waits(void *arg)
{
    (void)arg;
    return acme_ca_lane_waiting(ca, ACME_LANE_AUTHZ) == 1;
}

static int order_waits(void *arg)
{
    (void)arg;
    return acme_ca_lane_waiting(ca, ACME_LANE_NEW_ORDER) == 1;
}

static int probe_entered(void *arg)
{
    return __atomic_load_n(&((lane_probe_t *)arg)->entered, __ATOMIC_SEQ_CST) ==
           1;
}

static void test_lane_turns(void)
{
    ok(acme_ca_lane_enter(ca, ACME_LANE_NEW_ORDER, NULL) == APR_SUCCESS &&
           acme_ca_lane_enter(ca, ACME_LANE_NEW_ORDER, NULL) == APR_SUCCESS,
       "two newOrders are in flight together");
    acme_ca_lane_leave(ca, ACME_LANE_NEW_ORDER);
    lane_probe_t authz = {ACME_LANE_AUTHZ, 0};
    lane_probe_t order = {ACME_LANE_NEW_ORDER, 0};
    pthread_t ta, to;
    pthread_create(&ta, NULL, lane_probe, &authz);
    ok(lane_until(authz_waits, NULL), "an authorization waits for it");
    pthread_create(&to, NULL, lane_probe, &order);
    ok(lane_until(order_waits, NULL),
       "a newOrder coming after the waiting authorization waits too");
    volatile int stop = 1;
    is_int(acme_ca_lane_enter(ca, ACME_LANE_AUTHZ, &stop), APR_EINTR,
           "an interrupted wait gives up");
    acme_ca_lane_leave(ca, ACME_LANE_NEW_ORDER);
    ok(lane_until(probe_entered, &authz),
       "the authorization goes first when the newOrder is done");
    ok(!order.entered && acme_ca_lane_waiting(ca, ACME_LANE_NEW_ORDER) == 1,
       "the later newOrder still waits");
    __atomic_store_n(&authz.entered, 2, __ATOMIC_SEQ_CST);
    ok(lane_until(probe_entered, &order), "then the newOrder goes");
    __atomic_store_n(&order.entered, 2, __ATOMIC_SEQ_CST);
    pthread_join(ta, NULL);
    pthread_join(to, NULL);
    is_int(acme_ca_lane_enter(ca, ACME_LANE_ANY, &stop), APR_SUCCESS,
           "a request of no lane never waits");
}

static void test_lanes(void)
{
    pthread_t t[THREADS];
    acme_lane_t lanes[THREADS];
    for (int i = 0; i < THREADS; i++) {
        lanes[i] = i % 2 ? ACME_LANE_AUTHZ : ACME_LANE_NEW_ORDER;
        pthread_create(&t[i], NULL, lane_worker, &lanes[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    ok(!lane_clash, "a newOrder and an authorization were never in together");
    is_int(acme_ca_lane_waiting(ca, ACME_LANE_AUTHZ) +
               acme_ca_lane_waiting(ca, ACME_LANE_NEW_ORDER),
           0, "nobody left waiting");
    test_lane_turns();
}

static void test_attach(void)
{
    acme_options_t o;
    memset(&o, 0, sizeof(o));
    acme_session_t *a = NULL, *b = NULL;
    const char *err = NULL;
    ok(acme_ca_attach(&a, ca, &o, &err, pool) == APR_SUCCESS &&
           acme_ca_attach(&b, ca, &o, &err, pool) == APR_SUCCESS,
       "two sessions attach");
    if (a == NULL || b == NULL)
        return;
    ok(a->ca == ca && b->ca == ca, "both on the view");
    ok(a->http != NULL && b->http != NULL && a->http != b->http,
       "each with a handle of its own");
    is_str(a->new_order_url, "https://ca.test/new-order",
           "the directory is the view's");
    ok(a->nonces != b->nonces, "no nonce array shared");
    is_int(a->options.bad_nonce_retries, 20, "defaults applied");
}

/* The first look at an order's authorizations waits three quarters of
 * a smoothed mean of how long validations took: nothing before the
 * first note, one note moving the mean an eighth of the way, capped. */
static void test_validation_estimate(void)
{
    acme_ca_t *v = NULL;
    acme_session_t *base = apr_pcalloc(pool, sizeof(*base));
    const char *err = NULL;
    if (acme_ca_wrap(&v, base, &err, pool) != APR_SUCCESS) {
        ok(0, err);
        return;
    }
    is_int((int)acme_ca_validation_expected(v), 0,
           "no validation seen: the first look is at once");
    acme_ca_validation_note(v, apr_time_from_msec(80));
    is_int((int)apr_time_as_msec(acme_ca_validation_expected(v)), 60,
           "one of 80 ms: the first look after 60 ms");
    acme_ca_validation_note(v, apr_time_from_msec(880));
    is_int((int)apr_time_as_msec(acme_ca_validation_expected(v)), 135,
           "a slow one moves the mean an eighth of the way (180 ms)");
    acme_ca_validation_note(v, -5);
    is_int((int)apr_time_as_msec(acme_ca_validation_expected(v)), 135,
           "a negative time (the clock stepped back) is ignored");
    for (int i = 0; i < 40; i++)
        acme_ca_validation_note(v, apr_time_from_sec(30));
    is_int((int)apr_time_as_msec(acme_ca_validation_expected(v)), 1000,
           "a CA taking 30 s: the first look still within 1 s");
}

int main(int argc, const char *const *argv)
{
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    acme_session_t *base = apr_pcalloc(pool, sizeof(*base));
    base->new_order_url = "https://ca.test/new-order";
    base->new_nonce_url = "https://ca.test/new-nonce";
    const char *err = NULL;
    if (acme_ca_wrap(&ca, base, &err, pool) != APR_SUCCESS) {
        ok(0, err);
        return done_testing();
    }
    test_nonces();
    test_gate();
    test_lanes();
    test_attach();
    test_validation_estimate();
    int rc = done_testing();
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
