/* token.c — `token put|del|list` against the challenge store (see
 * token.h).  Times are the system clock's, not ops_now(): the module
 * compares the stored expiry with the real time. */
#include "ops/token.h"

#include <string.h>
#include <time.h>

#include "apr_strings.h"

#include "challenge_store.h"
#include "ops/challenge_publish.h"

/* A challenge_store that is not a usable shm: path is a configuration
 * error; a store that cannot be created or opened is a failure. */
static ops_status_t open_writer(challenge_store_writer_t **writer,
                                ops_error_t *error, const ops_ctx_t *ctx)
{
    const char *err = NULL;
    apr_status_t rv =
        challenge_publish_open(writer, ctx->config, &err, ctx->pool);
    if (rv == APR_EINVAL)
        return ops_fail(error, OPS_USAGE, 2101, ctx->pool, "%s", err);
    if (rv != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2103, ctx->pool, "%s", err);
    return OPS_OK;
}

ops_status_t token_put(token_put_result_t *result, ops_error_t *error,
                       const ops_ctx_t *ctx, const char *host,
                       const char *token, const char *keyauth,
                       unsigned long ttl)
{
    challenge_store_writer_t *writer = NULL;
    ops_status_t st = open_writer(&writer, error, ctx);
    if (st != OPS_OK)
        return st;
    int64_t now = (int64_t)time(NULL);
    result->expires = now + (int64_t)ttl;
    challenge_store_status_t rv =
        challenge_store_put(writer, host, token, keyauth, result->expires, now);
    challenge_store_writer_close(writer);
    if (rv != CHALLENGE_STORE_OK)
        return ops_fail(error, OPS_FAILED, 2116, ctx->pool, "token put: %s",
                        challenge_store_status_text(rv));
    return OPS_OK;
}

ops_status_t token_del(token_del_result_t *result, ops_error_t *error,
                       const ops_ctx_t *ctx, const char *token)
{
    challenge_store_writer_t *writer = NULL;
    ops_status_t st = open_writer(&writer, error, ctx);
    if (st != OPS_OK)
        return st;
    result->removed = 0;
    challenge_store_status_t rv =
        challenge_store_del(writer, token, &result->removed);
    challenge_store_writer_close(writer);
    if (rv == CHALLENGE_STORE_NOT_FOUND)
        return ops_fail(error, OPS_FAILED, 2122, ctx->pool, "no such token: %s",
                        token);
    if (rv != CHALLENGE_STORE_OK)
        return ops_fail(error, OPS_FAILED, 2123, ctx->pool, "token del: %s",
                        challenge_store_status_text(rv));
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

ops_status_t token_list(token_list_result_t *result, ops_error_t *error,
                        const ops_ctx_t *ctx)
{
    const char *err = NULL;
    memset(result, 0, sizeof(*result));
    result->entries = apr_array_make(ctx->pool, 8, sizeof(token_entry_t));
    result->now = (apr_int64_t)time(NULL);
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
