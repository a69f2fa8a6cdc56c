/* notify.c — see notify.h. */
#include "ops/notify.h"

#include "apr_strings.h"

#include "acme/acme.h"
#include "base/log.h"
#include "base/run_command.h"

#define NOTIFY_TIMEOUT (apr_time_from_sec(30))

void notify_event(const ops_ctx_t *ctx, const char *event, const char *cert,
                  const char *detail)
{
    const char *line = ctx->config ? ctx->config->notify_command : NULL;
    if (line == NULL)
        return;
    apr_array_header_t *env =
        apr_array_make(ctx->pool, 3, sizeof(const char *));
    APR_ARRAY_PUSH(env, const char *) =
        apr_pstrcat(ctx->pool, "EXPACME_EVENT=", event, NULL);
    APR_ARRAY_PUSH(env, const char *) =
        apr_pstrcat(ctx->pool, "EXPACME_CERT=", cert, NULL);
    APR_ARRAY_PUSH(env, const char *) = apr_pstrcat(
        ctx->pool, "EXPACME_DETAIL=", acme_escape(detail, 1000, ctx->pool),
        NULL);
    run_command_result_t res;
    const char *err = NULL;
    if (run_command(&res, run_command_split(line, ctx->pool), env,
                    NOTIFY_TIMEOUT, &err, ctx->pool) != APR_SUCCESS ||
        res.exit_code != 0)
        log_warning(2901, "notify_command failed for %s: %s", event,
                    err ? err : res.output);
}
