/* parallel.c — see parallel.h. */
#include "ops/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/own_pool.h"

typedef struct {
    ops_parallel_fn *fn;
    void *baton;
    int count;
    atomic_int next;
} parallel_run_t;

apr_pool_t *ops_parallel_pool(void)
{
    return own_pool_create();
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
