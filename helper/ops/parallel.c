/* parallel.c — see parallel.h. */
#include "ops/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "apr_allocator.h"

/* What an allocator keeps of the blocks its pools gave back; the rest
 * goes back to malloc at once.  APR's default keeps every block for
 * good: a deploy batch holds a thousand job pools, each with its own
 * allocator, and each kept the peak of its own steps (about 100 KiB a
 * certificate, 120 MiB at 1,000) although it needed none of it later. */
#define PARALLEL_MAX_FREE (16 * 1024)

typedef struct {
    ops_parallel_fn *fn;
    void *baton;
    int count;
    atomic_int next;
} parallel_run_t;

apr_pool_t *ops_parallel_pool(void)
{
    apr_allocator_t *allocator = NULL;
    apr_pool_t *pool = NULL;
    if (apr_allocator_create(&allocator) != APR_SUCCESS)
        return NULL;
    if (apr_pool_create_unmanaged_ex(&pool, NULL, allocator) != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        return NULL;
    }
    apr_allocator_owner_set(allocator, pool);
    apr_allocator_max_free_set(allocator, PARALLEL_MAX_FREE);
    return pool;
}

static void *worker(void *data)
{
    parallel_run_t *run = data;
    apr_pool_t *root = ops_parallel_pool();
    if (root == NULL)
        return NULL;
    for (;;) {
        int i = atomic_fetch_add(&run->next, 1);
        if (i >= run->count)
            break;
        apr_pool_t *scratch = NULL;
        apr_pool_create(&scratch, root);
        run->fn(run->baton, i, scratch);
        apr_pool_destroy(scratch);
    }
    apr_pool_destroy(root);
    return NULL;
}

void ops_parallel(int count, int threads, ops_parallel_fn *fn, void *baton)
{
    parallel_run_t run = {fn, baton, count, 0};
    if (count <= 0)
        return;
    if (threads > count)
        threads = count;
    if (threads < 1)
        threads = 1;
    pthread_t *ids = calloc((size_t)threads, sizeof(*ids));
    int started = 0;
    for (; ids != NULL && threads > 1 && started < threads; started++) {
        if (pthread_create(&ids[started], NULL, worker, &run) != 0)
            break;
    }
    /* No thread to be had (or one asked for): this one does the rest. */
    if (started == 0)
        worker(&run);
    for (int i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
    free(ids);
}
