/* parallel.h — a bounded pool of threads for the many-certificate
 * operations (renew's orders, a deploy batch's own steps, journal writes
 * and checks): one job index at a time from a shared counter.
 *
 * APR pools are not thread-safe: each thread gets a root pool with an
 * allocator of its own, and each call a scratch pool below it, destroyed
 * after the call.  Whatever a call keeps must live in memory only that
 * job touches (e.g. a pool of its own, ops_parallel_pool). */
#ifndef EXPACME_PARALLEL_H
#define EXPACME_PARALLEL_H

#include "apr_pools.h"

typedef void ops_parallel_fn(void *baton, int index, apr_pool_t *scratch);

/* fn(baton, i, scratch) for every i in [0, count), at most threads at a
 * time (1: in the calling thread, in order).  Returns when all are done. */
void ops_parallel(int count, int threads, ops_parallel_fn *fn, void *baton);

/* A pool with an allocator of its own, usable by any one thread at a
 * time; destroy it with apr_pool_destroy.  NULL when out of memory. */
apr_pool_t *ops_parallel_pool(void);

#endif
