/* json_pool.c — jansson values released with their pool. */
#include "base/json_pool.h"

static apr_status_t json_pool_cleanup(void *data)
{
    json_decref(data);
    return APR_SUCCESS;
}

json_t *json_pool_bind(json_t *json, apr_pool_t *pool)
{
    if (json != NULL)
        apr_pool_cleanup_register(pool, json, json_pool_cleanup,
                                  apr_pool_cleanup_null);
    return json;
}
