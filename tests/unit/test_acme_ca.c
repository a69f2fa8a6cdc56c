/* Unit tests of the shared CA view (acme/acme_ca.h) under threads: every
 * nonce handed out once and none lost, the rate gate seen by every
 * thread and only lengthened, and sessions attached with their own
 * handle and pool but the directory shared. */
#include "tap.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "apr_general.h"
#include "apr_hash.h"
#include "apr_strings.h"

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
    test_attach();
    int rc = done_testing();
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
