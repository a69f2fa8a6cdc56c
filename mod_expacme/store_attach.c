/* store_attach.c — the per-process mapping of the challenge store (see
 * store_attach.h).  Reference counting instead of a lock: a reader takes a
 * reference only while the count is non-zero, and the mapping goes away
 * when the count reaches zero, so no reader ever touches an unmapped
 * page.  The small bookkeeping structs live as long as the child. */
#include "store_attach.h"
#include "mod_expacme.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "apr_thread_mutex.h"
#include "http_log.h"

APLOG_USE_MODULE(expacme);

struct store_attach_ref {
    challenge_store_map_t *map;
    _Atomic long refs; /* one held by `current`, one per reader */
};

static const char *store_path;
static apr_pool_t *child_pool;
static apr_thread_mutex_t *remap_mutex;
static store_attach_ref_t *_Atomic current;
static _Atomic int last_logged_status = CHALLENGE_STORE_OK;

static int ref_get_unless_zero(store_attach_ref_t *ref)
{
    long refs = atomic_load(&ref->refs);
    do {
        if (refs == 0)
            return 0;
    } while (!atomic_compare_exchange_weak(&ref->refs, &refs, refs + 1));
    return 1;
}

void store_attach_release(store_attach_ref_t *ref)
{
    if (ref != NULL && atomic_fetch_sub(&ref->refs, 1) == 1) {
        challenge_store_unmap(ref->map);
        ref->map = NULL;
    }
}

const challenge_store_map_t *store_attach_map(store_attach_ref_t *ref)
{
    return ref->map;
}

static void replace_current(store_attach_ref_t *next)
{
    store_attach_ref_t *old = atomic_exchange(&current, next);
    store_attach_release(old);
}

static apr_status_t detach_all(void *unused)
{
    replace_current(NULL);
    return APR_SUCCESS;
}

apr_status_t store_attach_child_init(apr_pool_t *pchild, server_rec *s,
                                     const char *path)
{
    store_path = path;
    child_pool = pchild;
    apr_pool_cleanup_register(pchild, NULL, detach_all, apr_pool_cleanup_null);
    return apr_thread_mutex_create(&remap_mutex, APR_THREAD_MUTEX_DEFAULT,
                                   pchild);
}

/* Logs a mapping failure once per change of cause, not once per request. */
static void note_status(request_rec *r, challenge_store_status_t status)
{
    int previous = atomic_exchange(&last_logged_status, (int)status);
    if (previous == (int)status || status == CHALLENGE_STORE_OK ||
        status == CHALLENGE_STORE_ABSENT)
        return;
    apr_status_t rv = status == CHALLENGE_STORE_IO ? errno : 0;
    /* A file that is no store (truncated, a FIFO, foreign) is a notice:
     * the next expacmectl write replaces it; an I/O error is a warning. */
    int level =
        status == CHALLENGE_STORE_CORRUPT ? APLOG_NOTICE : APLOG_WARNING;
    ap_log_rerror(APLOG_MARK, level, rv, r,
                  EXPLOGNO(01001) "challenge store %s unusable: %s; "
                                  "challenges are not answered until "
                                  "expacmectl rewrites it",
                  store_path, challenge_store_status_text(status));
}

/* The size is compared before the mapping is touched: a store truncated
 * or rewritten in place (`: > file`, `cp backup file`) keeps its identity,
 * and reading the old mapping past the new end would kill the child with
 * SIGBUS. */
static int is_current_file(const store_attach_ref_t *ref, const struct stat *st)
{
    dev_t dev;
    ino_t ino;
    challenge_store_identity(ref->map, &dev, &ino);
    return dev == st->st_dev && ino == st->st_ino &&
           (uint64_t)st->st_size == challenge_store_size(ref->map) &&
           !challenge_store_retired(ref->map);
}

/* Under remap_mutex: maps the file now at store_path. */
static void remap(request_rec *r)
{
    challenge_store_map_t *map = NULL;
    challenge_store_status_t status = challenge_store_map(&map, store_path);
    note_status(r, status);
    if (status != CHALLENGE_STORE_OK) {
        replace_current(NULL);
        return;
    }
    store_attach_ref_t *ref = apr_pcalloc(child_pool, sizeof(*ref));
    ref->map = map;
    atomic_init(&ref->refs, 1);
    replace_current(ref);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "mapped challenge store %s (%u slots)", store_path,
                  challenge_store_capacity(map));
}

static store_attach_ref_t *acquire_if_current(const struct stat *st)
{
    store_attach_ref_t *ref = atomic_load(&current);
    if (ref == NULL || !ref_get_unless_zero(ref))
        return NULL;
    if (ref->map != NULL && is_current_file(ref, st))
        return ref;
    store_attach_release(ref);
    return NULL;
}

store_attach_ref_t *store_attach_acquire(request_rec *r)
{
    struct stat st;
    if (store_path == NULL)
        return NULL;
    /* A stat per challenge request (never per redirect) notices a store
     * that was removed, replaced or truncated out of band.  Anything but
     * a regular file (a FIFO would block open()) is not even opened. */
    int found = stat(store_path, &st) == 0;
    if (!found || !S_ISREG(st.st_mode)) {
        if (found)
            note_status(r, CHALLENGE_STORE_CORRUPT);
        if (atomic_load(&current) != NULL) {
            apr_thread_mutex_lock(remap_mutex);
            replace_current(NULL);
            apr_thread_mutex_unlock(remap_mutex);
        }
        return NULL;
    }
    store_attach_ref_t *ref = acquire_if_current(&st);
    if (ref != NULL)
        return ref;
    apr_thread_mutex_lock(remap_mutex);
    ref = acquire_if_current(&st);
    if (ref == NULL) {
        remap(r);
        ref = acquire_if_current(&st);
    }
    apr_thread_mutex_unlock(remap_mutex);
    return ref;
}
