/* challenge_publish.c — see challenge_publish.h. */
#include "ops/challenge_publish.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "base/log.h"
#include "base/redis_conn.h"
#include "base/state.h"
#include "ops/challenge_alpn.h"
#include "ops/challenge_dns.h"
#include "ops/challenge_redis.h"
#include "redis_layout.h"

struct challenge_publish {
    challenge_store_writer_t *writer; /* shm: */
    redis_conn_t *redis;              /* or Redis */
    const char *where;
    int changed_window; /* a put opened it, or a del closed it */
    apr_pool_t *pool;
};

static apr_status_t writer_close(void *data)
{
    challenge_publish_t *pub = data;
    if (pub->writer != NULL)
        challenge_store_writer_close(pub->writer);
    pub->writer = NULL;
    return APR_SUCCESS;
}

static apr_status_t open_shm(challenge_publish_t *pub,
                             const expacme_config_t *config, const char *path,
                             const char **err)
{
    /* World-traversable: httpd's workers must reach the file. */
    char *dir = apr_pstrdup(pub->pool, path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        apr_status_t rv = state_make_dir(dir, 0755, err, pub->pool);
        if (rv != APR_SUCCESS)
            return rv;
    }
    challenge_store_status_t st = challenge_store_writer_open(
        &pub->writer, path, (uint32_t)config->challenge_capacity);
    if (st != CHALLENGE_STORE_OK) {
        *err = apr_psprintf(pub->pool, "challenge store %s: %s%s%s", path,
                            challenge_store_status_text(st),
                            st == CHALLENGE_STORE_IO ? ": " : "",
                            st == CHALLENGE_STORE_IO ? strerror(errno) : "");
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(pub->pool, pub, writer_close,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}

apr_status_t challenge_publish_open(challenge_publish_t **out,
                                    const expacme_config_t *config,
                                    const char **err, apr_pool_t *pool)
{
    *out = NULL;
    challenge_publish_t *pub = apr_pcalloc(pool, sizeof(*pub));
    pub->pool = pool;
    pub->where = config->challenge_store;
    apr_status_t rv;
    if (redis_layout_is_url(config->challenge_store)) {
        rv = redis_conn_open(&pub->redis, config->challenge_store,
                             config->challenge_store_auth_file, err, pool);
    } else {
        const char *path = config_store_path(config, err);
        if (path == NULL)
            return APR_EINVAL;
        rv = open_shm(pub, config, path, err);
    }
    if (rv == APR_SUCCESS)
        *out = pub;
    return rv;
}

const char *challenge_publish_check(const expacme_config_t *config,
                                    apr_pool_t *pool)
{
    const char *err = NULL;
    redis_layout_url_t where;
    if (!redis_layout_is_url(config->challenge_store))
        return config_store_path(config, &err) == NULL ? err : NULL;
    if (redis_layout_url_parse(&where, config->challenge_store, &err) != 0)
        return apr_psprintf(pool, "challenge_store: %s", err);
    if (config->challenge_store_auth_file == NULL)
        return "challenge_store redis: needs challenge_store_auth_file: a "
               "store anyone can write lets them obtain certificates for "
               "our names";
    return NULL;
}

const char *challenge_publish_where(const challenge_publish_t *pub)
{
    return pub->where;
}

apr_status_t challenge_publish_put(challenge_publish_t *pub, const char *host,
                                   const char *token, const char *keyauth,
                                   apr_int64_t expires, const char **err)
{
    apr_int64_t now = (apr_int64_t)time(NULL);
    if (pub->redis != NULL) {
        int opened = 0;
        apr_status_t rv =
            challenge_redis_put(pub->redis, host, token, keyauth, expires, now,
                                &opened, err, pub->pool);
        pub->changed_window |= opened;
        return rv;
    }
    challenge_store_status_t st =
        challenge_store_put(pub->writer, host, token, keyauth, expires, now);
    if (st == CHALLENGE_STORE_OK)
        return APR_SUCCESS;
    *err = challenge_store_status_text(st);
    return st == CHALLENGE_STORE_INVALID ? APR_EINVAL : APR_EGENERAL;
}

apr_status_t challenge_publish_del(challenge_publish_t *pub, const char *token,
                                   unsigned *removed, const char **err)
{
    *removed = 0;
    if (pub->redis != NULL) {
        int closed = 0;
        apr_status_t rv =
            challenge_redis_del(pub->redis, token, (apr_int64_t)time(NULL),
                                removed, &closed, err, pub->pool);
        pub->changed_window |= closed;
        return rv;
    }
    challenge_store_status_t st =
        challenge_store_del(pub->writer, token, removed);
    if (st == CHALLENGE_STORE_OK || st == CHALLENGE_STORE_NOT_FOUND)
        return APR_SUCCESS;
    *err = challenge_store_status_text(st);
    return APR_EGENERAL;
}

apr_status_t challenge_publish_list(challenge_publish_t *pub,
                                    challenge_store_visit_fn *visit,
                                    void *baton, int *window_open,
                                    unsigned *capacity, const char **err)
{
    apr_int64_t now = (apr_int64_t)time(NULL);
    *capacity = 0;
    if (pub->redis != NULL)
        return challenge_redis_list(pub->redis, now, visit, baton, window_open,
                                    err, pub->pool);
    const challenge_store_map_t *map = challenge_store_writer_map(pub->writer);
    *capacity = challenge_store_capacity(map);
    *window_open = challenge_store_window_open(map, now);
    challenge_store_foreach(map, visit, baton);
    return APR_SUCCESS;
}

void challenge_publish_close(challenge_publish_t *pub)
{
    if (pub->writer != NULL)
        apr_pool_cleanup_run(pub->pool, pub, writer_close);
    if (pub->redis != NULL)
        redis_conn_close(pub->redis);
    pub->redis = NULL;
}

void challenge_publish_settle(challenge_publish_t *pub)
{
    if (pub->changed_window)
        apr_sleep(apr_time_from_msec(REDIS_LAYOUT_OPEN_SETTLE_MS));
    pub->changed_window = 0;
}

apr_status_t challenge_publish_withdraw(const expacme_config_t *config,
                                        const apr_array_header_t *tokens,
                                        const char **err, apr_pool_t *pool)
{
    if (tokens->nelts == 0)
        return APR_SUCCESS;
    challenge_publish_t *pub = NULL;
    apr_status_t rv = challenge_publish_open(&pub, config, err, pool);
    for (int i = 0; i < tokens->nelts && rv == APR_SUCCESS; i++) {
        unsigned removed = 0;
        rv = challenge_publish_del(pub, APR_ARRAY_IDX(tokens, i, const char *),
                                   &removed, err);
    }
    if (pub != NULL)
        challenge_publish_close(pub);
    return rv;
}

apr_status_t challenge_publish_report(const expacme_config_t *config,
                                      const char *status_json,
                                      const char *status_flat, const char **err,
                                      apr_pool_t *pool)
{
    if (!redis_layout_is_url(config->challenge_store))
        return APR_SUCCESS;
    redis_conn_t *conn = NULL;
    apr_status_t rv =
        redis_conn_open(&conn, config->challenge_store,
                        config->challenge_store_auth_file, err, pool);
    if (rv == APR_SUCCESS)
        rv = challenge_redis_report(conn, config->cluster_peer, status_json,
                                    status_flat, (apr_int64_t)time(NULL), err,
                                    pool);
    return rv;
}

static void keep_first(apr_status_t *rv, const char **err, apr_status_t step,
                       const char *step_err)
{
    if (step != APR_SUCCESS && *rv == APR_SUCCESS) {
        *rv = step;
        *err = step_err;
    }
}

/* A del that fails is logged, never an error: the record is the
 * operator's DNS, and a hook broken for good must not block every later
 * sign of this certificate. */
static void withdraw_dns(const ops_ctx_t *ctx, json_t *list)
{
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
    {
        const char *name = json_string_value(json_array_get(r, 0));
        const char *value = json_string_value(json_array_get(r, 1));
        const char *hook = json_string_value(json_array_get(r, 2));
        const char *step_err = NULL;
        if (name == NULL || value == NULL || hook == NULL)
            continue;
        if (challenge_dns_hook(ctx, hook, "del", name, value, &step_err) !=
            APR_SUCCESS)
            log_warning(2450, "the TXT record may still be published: %s",
                        step_err);
    }
}

apr_status_t challenge_publish_withdraw_all(const ops_ctx_t *ctx,
                                            json_t *signing, const char **err)
{
    apr_pool_t *pool = ctx->pool;
    apr_array_header_t *tokens = apr_array_make(pool, 8, sizeof(const char *));
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(signing, "tokens"), i, t)
    {
        if (json_is_string(t))
            APR_ARRAY_PUSH(tokens, const char *) = json_string_value(t);
    }
    const char *step_err = NULL;
    apr_status_t rv = APR_SUCCESS;
    /* The step runs before keep_first reads step_err: argument order of
     * evaluation is unspecified. */
    apr_status_t step =
        challenge_publish_withdraw(ctx->config, tokens, &step_err, pool);
    keep_first(&rv, err, step, step_err);
    json_array_foreach(json_object_get(signing, "alpn"), i, t)
    {
        if (!json_is_string(t))
            continue;
        step = challenge_alpn_del(ctx->config, json_string_value(t), &step_err,
                                  pool);
        keep_first(&rv, err, step, step_err);
    }
    withdraw_dns(ctx, json_object_get(signing, "dns"));
    return rv;
}
