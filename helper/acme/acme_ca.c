/* acme_ca.c — see acme_ca.h. */
#include "acme/acme_ca.h"

#include <string.h>

#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_time.h"

/* Enough for every thread of a run to find one waiting; a nonce longer
 * than a slot is dropped (the CA gives another with the next answer). */
#define NONCE_SLOTS 64
#define NONCE_MAX 256

struct acme_ca {
    acme_session_t *base; /* the directory, read only once opened */
    apr_thread_mutex_t *mutex;
    http_handles_t *handles; /* every session's libcurl handle, reused */
    char nonces[NONCE_SLOTS][NONCE_MAX];
    int nonce_count;
    apr_time_t gate_until;
    int gate_status;
    char gate_type[128];
    char gate_detail[512];
    apr_thread_cond_t *lane_changed;
    int lane_active[ACME_LANES];
    int lane_waiting[ACME_LANES];
    acme_lane_t lane_turn; /* the lane next in when both have waiters */
    apr_interval_time_t validation; /* smoothed; 0: none seen yet */
};

apr_status_t acme_ca_wrap(acme_ca_t **out, acme_session_t *base,
                          const char **err, apr_pool_t *pool)
{
    acme_ca_t *ca = apr_pcalloc(pool, sizeof(*ca));
    *out = NULL;
    apr_status_t rv =
        apr_thread_mutex_create(&ca->mutex, APR_THREAD_MUTEX_DEFAULT, pool);
    if (rv != APR_SUCCESS) {
        *err = "cannot create the CA view's mutex";
        return rv;
    }
    rv = apr_thread_cond_create(&ca->lane_changed, pool);
    if (rv != APR_SUCCESS) {
        *err = "cannot create the CA view's condition";
        return rv;
    }
    rv = http_handles_create(&ca->handles, pool);
    if (rv != APR_SUCCESS) {
        *err = "cannot create the CA view's handle cache";
        return rv;
    }
    ca->base = base;
    *out = ca;
    return APR_SUCCESS;
}

apr_status_t acme_ca_open(acme_ca_t **out, const char *directory_url,
                          const acme_options_t *options, const char **err,
                          apr_pool_t *pool)
{
    acme_session_t *base = NULL;
    *out = NULL;
    apr_status_t rv =
        acme_session_open(&base, directory_url, options, err, pool);
    if (rv == APR_SUCCESS)
        rv = acme_ca_wrap(out, base, err, pool);
    return rv;
}

apr_status_t acme_ca_attach(acme_session_t **out, acme_ca_t *ca,
                            const acme_options_t *options, const char **err,
                            apr_pool_t *pool)
{
    acme_session_t *s = apr_palloc(pool, sizeof(*s));
    *out = NULL;
    /* The directory's URLs and JSON are shared, read only. */
    *s = *ca->base;
    s->pool = pool;
    s->ca = ca;
    s->options = *options;
    acme_options_defaults(&s->options);
    /* A thousand orders, one TLS handshake per thread rather than per
     * order: the connection of the previous order to this CA is kept. */
    s->options.http.handles = ca->handles;
    s->nonces = apr_array_make(pool, 4, sizeof(const char *));
    memset(&s->signer, 0, sizeof(s->signer));
    s->problem = NULL;
    apr_status_t rv = http_client_create(&s->http, &s->options.http, err, pool);
    if (rv == APR_SUCCESS)
        *out = s;
    return rv;
}

void acme_ca_nonce_put(acme_ca_t *ca, const char *nonce)
{
    apr_size_t len = strlen(nonce);
    if (len >= NONCE_MAX)
        return;
    apr_thread_mutex_lock(ca->mutex);
    if (ca->nonce_count == NONCE_SLOTS) {
        /* Full: the oldest goes, it is the likeliest to have expired. */
        memmove(ca->nonces[0], ca->nonces[1],
                sizeof(ca->nonces[0]) * (NONCE_SLOTS - 1));
        ca->nonce_count--;
    }
    memcpy(ca->nonces[ca->nonce_count++], nonce, len + 1);
    apr_thread_mutex_unlock(ca->mutex);
}

int acme_ca_nonce_take(acme_ca_t *ca, char *buf, apr_size_t size)
{
    int found = 0;
    apr_thread_mutex_lock(ca->mutex);
    if (ca->nonce_count > 0 && size >= NONCE_MAX) {
        /* The newest first, as a session of its own does. */
        memcpy(buf, ca->nonces[--ca->nonce_count], NONCE_MAX);
        found = 1;
    }
    apr_thread_mutex_unlock(ca->mutex);
    return found;
}

static void copy_text(char *dst, apr_size_t size, const char *src)
{
    if (src == NULL)
        src = "";
    apr_cpystrn(dst, src, size);
}

long acme_ca_gate_remaining(acme_ca_t *ca, acme_problem_t **why,
                            apr_pool_t *pool)
{
    apr_time_t now = apr_time_now();
    long remaining = 0;
    *why = NULL;
    apr_thread_mutex_lock(ca->mutex);
    if (ca->gate_until > now) {
        remaining =
            (long)apr_time_sec(ca->gate_until - now + APR_USEC_PER_SEC - 1);
        acme_problem_t *p = apr_pcalloc(pool, sizeof(*p));
        p->http_status = ca->gate_status;
        p->type = apr_pstrdup(pool, ca->gate_type);
        p->detail = apr_pstrdup(pool, ca->gate_detail);
        p->retry_after_s = remaining;
        p->subproblems = apr_array_make(pool, 0, sizeof(acme_subproblem_t));
        *why = p;
    }
    apr_thread_mutex_unlock(ca->mutex);
    return remaining;
}

void acme_ca_gate_close(acme_ca_t *ca, const acme_problem_t *why, long seconds)
{
    if (seconds <= 0)
        return;
    apr_time_t until = apr_time_now() + apr_time_from_sec(seconds);
    apr_thread_mutex_lock(ca->mutex);
    if (until > ca->gate_until) {
        ca->gate_until = until;
        ca->gate_status = why->http_status;
        copy_text(ca->gate_type, sizeof(ca->gate_type), why->type);
        copy_text(ca->gate_detail, sizeof(ca->gate_detail), why->detail);
    }
    apr_thread_mutex_unlock(ca->mutex);
}

static acme_lane_t lane_other(acme_lane_t lane)
{
    return lane == ACME_LANE_NEW_ORDER ? ACME_LANE_AUTHZ : ACME_LANE_NEW_ORDER;
}

/* A lane waits while the other has requests in flight, or has waiters
 * and the turn.  The first to wait behind the other lane takes the turn,
 * so neither lane starves the other under a steady stream. */
apr_status_t acme_ca_lane_enter(acme_ca_t *ca, acme_lane_t lane,
                                volatile int *interrupted)
{
    if (lane == ACME_LANE_ANY)
        return APR_SUCCESS;
    acme_lane_t other = lane_other(lane);
    apr_status_t rv = APR_SUCCESS;
    apr_thread_mutex_lock(ca->mutex);
    ca->lane_waiting[lane]++;
    while (ca->lane_active[other] > 0 ||
           (ca->lane_waiting[other] > 0 && ca->lane_turn == other)) {
        if (ca->lane_active[other] > 0)
            ca->lane_turn = lane;
        if (interrupted != NULL && *interrupted) {
            rv = APR_EINTR;
            break;
        }
        /* Timed, so an interrupted run does not wait out a slow CA. */
        apr_thread_cond_timedwait(ca->lane_changed, ca->mutex, 100000);
    }
    ca->lane_waiting[lane]--;
    if (rv == APR_SUCCESS)
        ca->lane_active[lane]++;
    apr_thread_mutex_unlock(ca->mutex);
    return rv;
}

void acme_ca_lane_leave(acme_ca_t *ca, acme_lane_t lane)
{
    if (lane == ACME_LANE_ANY)
        return;
    apr_thread_mutex_lock(ca->mutex);
    if (--ca->lane_active[lane] == 0) {
        ca->lane_turn = lane_other(lane);
        apr_thread_cond_broadcast(ca->lane_changed);
    }
    apr_thread_mutex_unlock(ca->mutex);
}

int acme_ca_lane_waiting(acme_ca_t *ca, acme_lane_t lane)
{
    apr_thread_mutex_lock(ca->mutex);
    int n =
        lane > ACME_LANE_ANY && lane < ACME_LANES ? ca->lane_waiting[lane] : 0;
    apr_thread_mutex_unlock(ca->mutex);
    return n;
}

/* A first look never waits longer than this, whatever the CA took. */
#define VALIDATION_WAIT_MAX (apr_time_from_sec(1))

apr_interval_time_t acme_ca_validation_expected(acme_ca_t *ca)
{
    apr_thread_mutex_lock(ca->mutex);
    apr_interval_time_t wait = ca->validation * 3 / 4;
    apr_thread_mutex_unlock(ca->mutex);
    return wait > VALIDATION_WAIT_MAX ? VALIDATION_WAIT_MAX : wait;
}

void acme_ca_validation_note(acme_ca_t *ca, apr_interval_time_t took)
{
    if (took < 0)
        return;
    apr_thread_mutex_lock(ca->mutex);
    /* One slow order moves the mean an eighth of the way. */
    ca->validation =
        ca->validation == 0 ? took : (ca->validation * 7 + took) / 8;
    apr_thread_mutex_unlock(ca->mutex);
}
