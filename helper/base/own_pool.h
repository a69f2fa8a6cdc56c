/* own_pool.h — a root pool with an allocator of its own, for one thread
 * (APR pools sharing an allocator are not thread-safe) or one job that
 * must give its memory back when it ends. */
#ifndef EXPACME_OWN_POOL_H
#define EXPACME_OWN_POOL_H

#include "apr_pools.h"

/* What the allocator keeps of the blocks its pools gave back; the rest
 * goes back to malloc at once.  APR's default keeps every block for
 * good: a deploy batch holds a thousand job pools, each with its own
 * allocator, and each kept the peak of its own steps (about 100 KiB a
 * certificate, 120 MiB at 1,000) although it needed none of it later. */
#define OWN_POOL_MAX_FREE (16 * 1024)

/* NULL when APR cannot make one; destroying the pool frees its
 * allocator. */
apr_pool_t *own_pool_create(void);

#endif
