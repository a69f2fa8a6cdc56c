/* redis_conn.c — see redis_conn.h. */
#include "base/redis_conn.h"

#include <string.h>

#include "apr_strings.h"

#include "redis_auth.h"

struct redis_conn {
    redisContext *ctx;
    redis_layout_url_t where;
    const char *url;
    apr_pool_t *pool;
};

static apr_status_t conn_free(void *data)
{
    redis_conn_t *conn = data;
    if (conn->ctx != NULL)
        redisFree(conn->ctx);
    conn->ctx = NULL;
    return APR_SUCCESS;
}

static apr_status_t reply_free(void *reply)
{
    freeReplyObject(reply);
    return APR_SUCCESS;
}

static redisReply *bind_reply(redis_conn_t *conn, void *reply)
{
    if (reply != NULL)
        apr_pool_cleanup_register(conn->pool, reply, reply_free,
                                  apr_pool_cleanup_null);
    return reply;
}

/* The context's error, or a lost connection: the stream is out of step
 * after either, so the connection is closed. */
static apr_status_t transport_error(redis_conn_t *conn, const char **err)
{
    *err = apr_psprintf(conn->pool, "Redis %s: %s", conn->url,
                        conn->ctx->err ? conn->ctx->errstr : "no reply");
    conn_free(conn);
    return APR_EGENERAL;
}

static apr_status_t connect_to(redis_conn_t *conn, const char **err)
{
    struct timeval tv = {REDIS_CONN_TIMEOUT_MS / 1000,
                         (REDIS_CONN_TIMEOUT_MS % 1000) * 1000};
    conn->ctx =
        conn->where.socket[0] != '\0'
            ? redisConnectUnixWithTimeout(conn->where.socket, tv)
            : redisConnectWithTimeout(conn->where.host, conn->where.port, tv);
    if (conn->ctx == NULL) {
        *err = "Redis: out of memory";
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(conn->pool, conn, conn_free,
                              apr_pool_cleanup_null);
    if (conn->ctx->err != 0 || redisSetTimeout(conn->ctx, tv) != REDIS_OK) {
        *err = apr_psprintf(conn->pool, "Redis %s: cannot connect: %s",
                            conn->url, conn->ctx->errstr);
        conn_free(conn);
        return APR_ECONNREFUSED;
    }
    return APR_SUCCESS;
}

static apr_status_t authenticate(redis_conn_t *conn, const char *auth_file,
                                 const char **err)
{
    char why[512];
    redis_auth_t auth;
    if (redis_auth_read(&auth, auth_file, why, sizeof(why)) != 0) {
        *err = apr_pstrdup(conn->pool, why);
        return APR_EINVAL;
    }
    const char *argv[3] = {"AUTH", auth.user, auth.password};
    int argc = 3;
    if (auth.user[0] == '\0') {
        argv[1] = auth.password;
        argc = 2;
    }
    redisReply *reply = NULL;
    const char *why_not = NULL;
    apr_status_t rv = redis_conn_run(conn, &reply, argc, argv, &why_not);
    redis_auth_clear(&auth);
    if (rv != APR_SUCCESS && reply != NULL) {
        *err = apr_psprintf(conn->pool,
                            "Redis %s refused the credentials "
                            "of %s: %s",
                            conn->url, auth_file, why_not);
        return APR_EACCES;
    }
    *err = why_not;
    return rv;
}

apr_status_t redis_conn_open(redis_conn_t **out, const char *url,
                             const char *auth_file, const char **err,
                             apr_pool_t *pool)
{
    *out = NULL;
    const char *why = NULL;
    redis_conn_t *conn = apr_pcalloc(pool, sizeof(*conn));
    conn->pool = pool;
    conn->url = url;
    if (redis_layout_url_parse(&conn->where, url, &why) != 0) {
        *err = apr_psprintf(pool, "challenge_store: %s", why);
        return APR_EINVAL;
    }
    if (auth_file == NULL) {
        *err = "challenge_store redis: needs challenge_store_auth_file: a "
               "store anyone can write lets them obtain certificates for "
               "our names";
        return APR_EINVAL;
    }
    apr_status_t rv = connect_to(conn, err);
    if (rv == APR_SUCCESS)
        rv = authenticate(conn, auth_file, err);
    if (rv == APR_SUCCESS)
        *out = conn;
    return rv;
}

void redis_conn_close(redis_conn_t *conn)
{
    conn_free(conn);
}

const redis_layout_url_t *redis_conn_where(const redis_conn_t *conn)
{
    return &conn->where;
}

static size_t *arg_lengths(apr_pool_t *pool, int argc, const char *const *argv)
{
    size_t *len = apr_palloc(pool, sizeof(*len) * (size_t)(argc + 1));
    for (int i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    return len;
}

apr_status_t redis_conn_run(redis_conn_t *conn, redisReply **reply, int argc,
                            const char *const *argv, const char **err)
{
    *reply = NULL;
    if (conn->ctx == NULL) {
        *err = apr_psprintf(conn->pool, "Redis %s: connection lost", conn->url);
        return APR_EGENERAL;
    }
    *reply =
        bind_reply(conn, redisCommandArgv(conn->ctx, argc, (const char **)argv,
                                          arg_lengths(conn->pool, argc, argv)));
    if (*reply == NULL)
        return transport_error(conn, err);
    if ((*reply)->type == REDIS_REPLY_ERROR) {
        *err = apr_pstrdup(conn->pool, (*reply)->str);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static int argv_count(const char *const *argv)
{
    int n = 0;
    while (argv[n] != NULL)
        n++;
    return n;
}

/* Reads one reply of a pipeline; NULL on a transport error. */
static redisReply *next_reply(redis_conn_t *conn)
{
    void *reply = NULL;
    if (redisGetReply(conn->ctx, &reply) != REDIS_OK)
        return NULL;
    return bind_reply(conn, reply);
}

static apr_status_t first_error(redis_conn_t *conn, const redisReply *r,
                                const char *what, const char **err)
{
    if (r->type != REDIS_REPLY_ERROR)
        return APR_SUCCESS;
    *err = apr_psprintf(conn->pool, "%s: %s", what, r->str);
    return APR_EGENERAL;
}

apr_status_t redis_conn_multi(redis_conn_t *conn, redisReply **replies,
                              const char *const *const *cmds, int n,
                              const char **err)
{
    static const char *const multi[] = {"MULTI", NULL};
    static const char *const exec[] = {"EXEC", NULL};
    *replies = NULL;
    if (conn->ctx == NULL)
        return redis_conn_run(conn, replies, 0, multi, err);
    for (int i = -1; i <= n; i++) {
        const char *const *argv = i < 0 ? multi : i == n ? exec : cmds[i];
        int argc = argv_count(argv);
        redisAppendCommandArgv(conn->ctx, argc, (const char **)argv,
                               arg_lengths(conn->pool, argc, argv));
    }
    apr_status_t rv = APR_SUCCESS;
    for (int i = -1; i <= n; i++) {
        redisReply *r = next_reply(conn);
        if (r == NULL)
            return transport_error(conn, err);
        if (rv == APR_SUCCESS)
            rv = first_error(conn, r, i < 0 ? "MULTI" : cmds[i < n ? i : 0][0],
                             err);
        if (i == n)
            *replies = r;
    }
    if (rv != APR_SUCCESS)
        return rv;
    if ((*replies)->type != REDIS_REPLY_ARRAY ||
        (*replies)->elements != (size_t)n) {
        *err = apr_psprintf(conn->pool,
                            "Redis %s: EXEC did not run the "
                            "transaction",
                            conn->url);
        return APR_EGENERAL;
    }
    for (int i = 0; i < n && rv == APR_SUCCESS; i++)
        rv = first_error(conn, (*replies)->element[i], cmds[i][0], err);
    return rv;
}
