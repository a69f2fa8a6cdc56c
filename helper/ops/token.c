/* token.c — `token put|del|list` against the challenge store (see
 * token.h), shm: or Redis.  Times are the system clock's, not ops_now():
 * the module compares the stored expiry with the real time. */
#include "ops/token.h"

#include <string.h>
#include <time.h>

#include "apr_strings.h"

#include "challenge_store.h"
#include "ops/challenge_publish.h"
#include "redis_layout.h"

/* A challenge_store that is not usable is a configuration error; a
 * store that cannot be created, opened or reached is a failure. */
static ops_status_t open_store(challenge_publish_t **store, ops_error_t *error,
                               const ops_ctx_t *ctx)
{
    const char *err = NULL;
    apr_status_t rv =
        challenge_publish_open(store, ctx->config, &err, ctx->pool);
    if (rv == APR_EINVAL)
        return ops_fail(error, OPS_USAGE, 2101, ctx->pool, "%s", err);
    if (rv != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2103, ctx->pool, "%s", err);
    return OPS_OK;
}

/* Both return once every peer sees the change (challenge_publish_settle):
 * a test or an operator may ask any peer right after. */
ops_status_t token_put(token_put_result_t *result, ops_error_t *error,
                       const ops_ctx_t *ctx, const char *host,
                       const char *token, const char *keyauth,
                       unsigned long ttl)
{
    challenge_publish_t *store = NULL;
    ops_status_t st = open_store(&store, error, ctx);
    if (st != OPS_OK)
        return st;
    const char *err = NULL;
    result->expires = (int64_t)time(NULL) + (int64_t)ttl;
    if (challenge_publish_put(store, host, token, keyauth, result->expires,
                              &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2116, ctx->pool, "token put: %s",
                        err);
    challenge_publish_settle(store);
    challenge_publish_close(store);
    return OPS_OK;
}

ops_status_t token_del(token_del_result_t *result, ops_error_t *error,
                       const ops_ctx_t *ctx, const char *token)
{
    challenge_publish_t *store = NULL;
    ops_status_t st = open_store(&store, error, ctx);
    if (st != OPS_OK)
        return st;
    const char *err = NULL;
    result->removed = 0;
    if (challenge_publish_del(store, token, &result->removed, &err) !=
        APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2123, ctx->pool, "token del: %s",
                        err);
    if (result->removed == 0)
        return ops_fail(error, OPS_FAILED, 2122, ctx->pool, "no such token: %s",
                        token);
    challenge_publish_settle(store);
    challenge_publish_close(store);
    return OPS_OK;
}

/* The entries are copied out: the map goes before the caller prints. */
static int copy_entry(const challenge_store_entry_t *entry, void *baton)
{
    apr_array_header_t *entries = baton;
    token_entry_t *e = apr_array_push(entries);
    e->host = apr_pstrdup(entries->pool, entry->host);
    e->token = apr_pstrdup(entries->pool, entry->token);
    e->keyauth = apr_pstrdup(entries->pool, entry->keyauth);
    e->expires = entry->expires;
    return 0;
}

/* A Redis store: SCAN over the challenge keys (nothing is created). */
static ops_status_t list_redis(token_list_result_t *result, ops_error_t *error,
                               const ops_ctx_t *ctx)
{
    challenge_publish_t *store = NULL;
    ops_status_t st = open_store(&store, error, ctx);
    if (st != OPS_OK)
        return st;
    const char *err = NULL;
    if (challenge_publish_list(store, copy_entry, result->entries,
                               &result->window_open, &result->capacity,
                               &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2133, ctx->pool, "%s: %s",
                        result->store, err);
    return OPS_OK;
}

ops_status_t token_list(token_list_result_t *result, ops_error_t *error,
                        const ops_ctx_t *ctx)
{
    const char *err = NULL;
    memset(result, 0, sizeof(*result));
    result->entries = apr_array_make(ctx->pool, 8, sizeof(token_entry_t));
    result->now = (apr_int64_t)time(NULL);
    if (redis_layout_is_url(ctx->config->challenge_store)) {
        result->store = ctx->config->challenge_store;
        return list_redis(result, error, ctx);
    }
    result->store = config_store_path(ctx->config, &err);
    if (result->store == NULL)
        return ops_fail(error, OPS_USAGE, 2131, ctx->pool, "%s", err);
    challenge_store_map_t *map = NULL;
    challenge_store_status_t rv = challenge_store_map(&map, result->store);
    if (rv == CHALLENGE_STORE_ABSENT) {
        result->absent = 1;
        return OPS_OK;
    }
    if (rv != CHALLENGE_STORE_OK)
        return ops_fail(error, OPS_FAILED, 2132, ctx->pool, "%s: %s",
                        result->store, challenge_store_status_text(rv));
    result->capacity = challenge_store_capacity(map);
    result->window_open = challenge_store_window_open(map, result->now);
    challenge_store_foreach(map, copy_entry, result->entries);
    challenge_store_unmap(map);
    return OPS_OK;
}
