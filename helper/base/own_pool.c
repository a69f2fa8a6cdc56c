/* own_pool.c — see own_pool.h. */
#include "base/own_pool.h"

#include "apr_allocator.h"

apr_pool_t *own_pool_create(void)
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
    apr_allocator_max_free_set(allocator, OWN_POOL_MAX_FREE);
    return pool;
}
