/* ops.c — the operation context and the error it reports. */
#include "ops/ops.h"

#include "net/net_start.h"

#include <time.h>

#include "apr_strings.h"

ops_status_t ops_fail_text(ops_error_t *error, ops_status_t status, int logno,
                           const char *message)
{
    error->message = message;
    error->logno = logno;
    return status;
}

ops_status_t ops_fail(ops_error_t *error, ops_status_t status, int logno,
                      apr_pool_t *pool, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error->message = apr_pvsprintf(pool, fmt, ap);
    va_end(ap);
    error->logno = logno;
    return status;
}

static void progress_v(const ops_ctx_t *ctx, const char *fmt, va_list ap)
{
    if (ctx->progress != NULL)
        ctx->progress(ctx->progress_baton, fmt, ap);
}

void ops_progress(const ops_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    progress_v(ctx, fmt, ap);
    va_end(ap);
}

void ops_progress_relay(void *baton, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    progress_v(baton, fmt, ap);
    va_end(ap);
}

int ops_interrupted(const ops_ctx_t *ctx)
{
    return ctx->interrupted != NULL && *ctx->interrupted;
}

apr_int64_t ops_now(const ops_ctx_t *ctx)
{
    return ctx->now != NULL ? ctx->now() : (apr_int64_t)time(NULL);
}

void ops_ctx_sub(ops_ctx_t *sub, const ops_ctx_t *ctx, apr_pool_t *pool)
{
    *sub = *ctx;
    sub->pool = pool;
}

apr_status_t ops_net_start(const ops_ctx_t *ctx, const char **err)
{
    unsigned long channels = ctx->config->renew_concurrency;
    return net_start(channels > 0 && channels < 1024 ? (int)channels : 1,
                     ctx->config->network_user, err);
}

void ops_net_early(const ops_ctx_t *ctx)
{
    const char *err = NULL;
    ops_net_start(ctx, &err);
}
