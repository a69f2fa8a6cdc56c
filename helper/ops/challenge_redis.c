/* challenge_redis.c — see challenge_redis.h and common/redis_layout.h. */
#include "ops/challenge_redis.h"

#include <string.h>

#include "apr_strings.h"

#include "redis_layout.h"

#define SCAN_ROUNDS_MAX 1000

typedef struct {
    char chal[REDIS_LAYOUT_KEY_MAX];
    char open[REDIS_LAYOUT_KEY_MAX];
    char field[TOKEN_RULES_HOST_MAX + 1];
    char value[REDIS_LAYOUT_VALUE_MAX];
    const char *exp;
    const char *now;
} keys_t;

static apr_status_t build_keys(keys_t *k, redis_conn_t *conn, const char *token,
                               apr_int64_t now, const char **err,
                               apr_pool_t *pool)
{
    const char *prefix = redis_conn_where(conn)->prefix;
    if (redis_layout_challenge_key(k->chal, sizeof(k->chal), prefix, token,
                                   strlen(token)) == 0) {
        *err = "token must be 1-255 base64url characters";
        return APR_EINVAL;
    }
    redis_layout_open_key(k->open, sizeof(k->open), prefix);
    k->now = apr_psprintf(pool, "(%" APR_INT64_T_FMT, now);
    return APR_SUCCESS;
}

static apr_int64_t reply_int(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER ? (apr_int64_t)r->integer : -1;
}

apr_status_t challenge_redis_put(redis_conn_t *conn, const char *host,
                                 const char *token, const char *keyauth,
                                 apr_int64_t expires, apr_int64_t now,
                                 int *opened, const char **err,
                                 apr_pool_t *pool)
{
    keys_t k;
    apr_status_t rv = build_keys(&k, conn, token, now, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (redis_layout_host_field(k.field, sizeof(k.field), host, strlen(host)) ==
            0 ||
        redis_layout_challenge_value(k.value, sizeof(k.value), expires,
                                     keyauth) == 0) {
        *err = "host or key authorization breaks the token rules";
        return APR_EINVAL;
    }
    k.exp = apr_psprintf(pool, "%" APR_INT64_T_FMT, expires);
    const char *past = apr_psprintf(pool, "%" APR_INT64_T_FMT, now);
    /* The key's TTL never shortens (NX sets the first, GT lengthens);
     * ZADD GT keeps a token's latest expiry; expired members go. */
    const char *const zcount[] = {"ZCOUNT", k.open, k.now, "+inf", NULL};
    const char *const hset[] = {"HSET", k.chal, k.field, k.value, NULL};
    const char *const key_nx[] = {"EXPIREAT", k.chal, k.exp, "NX", NULL};
    const char *const key_gt[] = {"EXPIREAT", k.chal, k.exp, "GT", NULL};
    const char *const zadd[] = {"ZADD", k.open, "GT", k.exp, token, NULL};
    const char *const open_nx[] = {"EXPIREAT", k.open, k.exp, "NX", NULL};
    const char *const open_gt[] = {"EXPIREAT", k.open, k.exp, "GT", NULL};
    const char *const purge[] = {"ZREMRANGEBYSCORE", k.open, "-inf", past,
                                 NULL};
    const char *const *const cmds[] = {zcount, hset,    key_nx,  key_gt,
                                       zadd,   open_nx, open_gt, purge};
    redisReply *replies = NULL;
    rv = redis_conn_multi(conn, &replies, cmds, 8, err);
    if (rv == APR_SUCCESS)
        *opened = reply_int(replies->element[0]) == 0;
    return rv;
}

apr_status_t challenge_redis_del(redis_conn_t *conn, const char *token,
                                 apr_int64_t now, unsigned *removed,
                                 int *closed, const char **err,
                                 apr_pool_t *pool)
{
    keys_t k;
    apr_status_t rv = build_keys(&k, conn, token, now, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    const char *const before[] = {"ZCOUNT", k.open, k.now, "+inf", NULL};
    const char *const hlen[] = {"HLEN", k.chal, NULL};
    const char *const del[] = {"DEL", k.chal, NULL};
    const char *const zrem[] = {"ZREM", k.open, token, NULL};
    const char *const after[] = {"ZCOUNT", k.open, k.now, "+inf", NULL};
    const char *const *const cmds[] = {before, hlen, del, zrem, after};
    redisReply *replies = NULL;
    rv = redis_conn_multi(conn, &replies, cmds, 5, err);
    if (rv != APR_SUCCESS)
        return rv;
    apr_int64_t n = reply_int(replies->element[1]);
    *removed = n > 0 ? (unsigned)n : 0;
    *closed = reply_int(replies->element[0]) > 0 &&
              reply_int(replies->element[4]) == 0;
    return APR_SUCCESS;
}

/* One HGETALL reply: field/value pairs of one token. */
static void visit_fields(const redisReply *r, const char *token,
                         challenge_store_visit_fn *visit, void *baton)
{
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements;
         i += 2) {
        const redisReply *f = r->element[i], *v = r->element[i + 1];
        challenge_store_entry_t e;
        const char *ka = NULL;
        size_t ka_len = 0;
        int64_t expires = 0;
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            f->len > TOKEN_RULES_HOST_MAX ||
            redis_layout_challenge_parse(v->str, v->len, &expires, &ka,
                                         &ka_len) != 0)
            continue;
        memset(&e, 0, sizeof(e));
        memcpy(e.host, f->str, f->len);
        apr_cpystrn(e.token, token, sizeof(e.token));
        memcpy(e.keyauth, ka, ka_len);
        e.expires = expires;
        if (visit(&e, baton) != 0)
            return;
    }
}

static apr_status_t list_token(redis_conn_t *conn, const char *key,
                               size_t prefix_len,
                               challenge_store_visit_fn *visit, void *baton,
                               const char **err)
{
    const char *token = key + prefix_len;
    if (!token_rules_token_valid(token, strlen(token)))
        return APR_SUCCESS; /* not ours to list */
    const char *const argv[] = {"HGETALL", key};
    redisReply *r = NULL;
    apr_status_t rv = redis_conn_run(conn, &r, 2, argv, err);
    if (rv == APR_SUCCESS)
        visit_fields(r, token, visit, baton);
    return rv;
}

apr_status_t challenge_redis_list(redis_conn_t *conn, apr_int64_t now,
                                  challenge_store_visit_fn *visit, void *baton,
                                  int *window_open, const char **err,
                                  apr_pool_t *pool)
{
    const char *prefix = redis_conn_where(conn)->prefix;
    const char *match = apr_pstrcat(pool, prefix, ":challenge:*", NULL);
    size_t prefix_len = strlen(match) - 1;
    char open[REDIS_LAYOUT_KEY_MAX];
    redis_layout_open_key(open, sizeof(open), prefix);
    const char *since = apr_psprintf(pool, "(%" APR_INT64_T_FMT, now);
    const char *const zcount[] = {"ZCOUNT", open, since, "+inf"};
    redisReply *r = NULL;
    apr_status_t rv = redis_conn_run(conn, &r, 4, zcount, err);
    if (rv != APR_SUCCESS)
        return rv;
    *window_open = reply_int(r) > 0;
    const char *cursor = "0";
    for (int round = 0; round < SCAN_ROUNDS_MAX && rv == APR_SUCCESS; round++) {
        const char *const scan[] = {"SCAN", cursor,  "MATCH",
                                    match,  "COUNT", "1000"};
        rv = redis_conn_run(conn, &r, 6, scan, err);
        if (rv != APR_SUCCESS)
            return rv;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            *err = "Redis: SCAN answered something else than a cursor and "
                   "keys";
            return APR_EGENERAL;
        }
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements && rv == APR_SUCCESS; i++)
            if (keys->element[i]->type == REDIS_REPLY_STRING)
                rv = list_token(conn, keys->element[i]->str, prefix_len, visit,
                                baton, err);
        cursor = apr_pstrdup(pool, r->element[0]->str);
        if (strcmp(cursor, "0") == 0)
            break;
    }
    return rv;
}

apr_status_t challenge_redis_report(redis_conn_t *conn, const char *peer,
                                    const char *status_json,
                                    const char *status_flat, apr_int64_t now,
                                    const char **err, apr_pool_t *pool)
{
    char key[REDIS_LAYOUT_KEY_MAX];
    if (redis_layout_peer_key(key, sizeof(key), redis_conn_where(conn)->prefix,
                              peer) == 0) {
        *err = apr_psprintf(pool, "cluster_peer '%s' is not a host name", peer);
        return APR_EINVAL;
    }
    const char *reported = apr_psprintf(pool, "%" APR_INT64_T_FMT, now);
    const char *ttl = apr_psprintf(pool, "%d", REDIS_LAYOUT_PEER_TTL);
    const char *const hset[] = {"HSET",
                                key,
                                REDIS_LAYOUT_PEER_REPORTED,
                                reported,
                                REDIS_LAYOUT_PEER_STATUS,
                                status_json,
                                REDIS_LAYOUT_PEER_FLAT,
                                status_flat,
                                NULL};
    const char *const expire[] = {"EXPIRE", key, ttl, NULL};
    const char *const *const cmds[] = {hset, expire};
    redisReply *replies = NULL;
    return redis_conn_multi(conn, &replies, cmds, 2, err);
}
