/* json_pool.h — jansson values owned by an APR pool, so that no caller
 * decrefs by hand: the value goes when the pool does. */
#ifndef EXPACME_JSON_POOL_H
#define EXPACME_JSON_POOL_H

#include <jansson.h>

#include "apr_pools.h"

/* Binds json (may be NULL) to pool: decref'd when the pool goes.
 * Returns json. */
json_t *json_pool_bind(json_t *json, apr_pool_t *pool);

#endif
