/* ops.h — what every operation takes and what it gives back.
 *
 * Operations (sign, deploy, renew, ...) never print and never see the
 * command line: they run in a context (pool, configuration, clock,
 * progress callback, interrupted flag) and report failure as a status
 * plus an ops_error_t.  Only the command layer turns that into text,
 * JSON, syslog and an exit code — which is what lets renew call sign and
 * deploy directly, and what lets the operations run in other processes
 * later. */
#ifndef EXPACME_OPS_H
#define EXPACME_OPS_H

#include <stdarg.h>

#include "apr_pools.h"

#include "acme/acme.h"
#include "base/config.h"

/* The same values as the exit codes (manual §3). */
typedef enum {
    OPS_OK = 0,
    OPS_FAILED = 1, /* the operation failed: CA refused, rolled back, ... */
    OPS_USAGE = 2   /* usage or configuration error */
} ops_status_t;

typedef void ops_progress_fn(void *baton, const char *fmt, va_list ap);

typedef struct {
    apr_pool_t *pool; /* everything the operation allocates */
    const expacme_config_t *config;
    apr_int64_t (*now)(void);  /* the clock renewal decisions use */
    ops_progress_fn *progress; /* may be NULL */
    void *progress_baton;
    volatile int *interrupted; /* set by SIGINT/SIGTERM; may be NULL */
    /* A concurrent run: its orders share one view of each CA in the
     * network process (acme/acme_ca.h); 0: each opens its own. */
    int shared_ca;
} ops_ctx_t;

typedef struct {
    int logno;                     /* EXPnnnnn of the message */
    const char *message;           /* one line, CA strings escaped */
    const char *step;              /* where it failed, or NULL */
    const acme_problem_t *problem; /* the CA's problem document, or NULL */
} ops_error_t;

/* Fills error with a constant message, allocating nothing (where no
 * pool may be used: out of memory, a pool of another thread). */
ops_status_t ops_fail_text(ops_error_t *error, ops_status_t status, int logno,
                           const char *message);

/* Fills error (message from fmt) and returns status. */
ops_status_t ops_fail(ops_error_t *error, ops_status_t status, int logno,
                      apr_pool_t *pool, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Progress of a long operation, through the context's callback. */
void ops_progress(const ops_ctx_t *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same as an acme_progress_fn, the baton being the ops_ctx_t. */
void ops_progress_relay(void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int ops_interrupted(const ops_ctx_t *ctx);
apr_int64_t ops_now(const ops_ctx_t *ctx);

/* The network and key processes (net/net_start.h), started once, with
 * a channel for each order renew may run at once.  Called first before
 * any thread of the run exists. */
apr_status_t ops_net_start(const ops_ctx_t *ctx, const char **err);

/* The same at the start of an operation that will speak to a CA, before
 * it reads a key, a CSR or a credential: the two processes are forked
 * copies of root, and hold whatever root holds then.  A failure is
 * reported by the connection that needs them. */
void ops_net_early(const ops_ctx_t *ctx);

/* The same context with its own pool: one per certificate in renew, so
 * each certificate's allocations go when it is done. */
void ops_ctx_sub(ops_ctx_t *sub, const ops_ctx_t *ctx, apr_pool_t *pool);

#endif
