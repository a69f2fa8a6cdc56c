/* cert_schedule.c — see cert_schedule.h. */
#include "ops/cert_schedule.h"

#include "base/state.h"

apr_status_t cert_schedule_load(json_t **out, cert_state_t *cert,
                                const char **err)
{
    apr_status_t rv = state_read_json(
        out, cert_state_file(cert, "schedule.json"), err, cert->ctx->pool);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *out = json_pool_bind(json_object(), cert->ctx->pool);
        return APR_SUCCESS;
    }
    return rv;
}

apr_status_t cert_schedule_save(cert_state_t *cert, json_t *sched,
                                const char **err)
{
    return state_write_json(cert_state_file(cert, "schedule.json"), sched, err,
                            cert->ctx->pool);
}

ops_status_t cert_schedule_set(ops_error_t *error, const ops_ctx_t *ctx,
                               const char *name, int automated, unsigned days,
                               int minute)
{
    cert_state_t *cert = NULL;
    json_t *sched = NULL;
    const char *err = NULL;
    if (cert_state_open(&cert, ctx, name, &err) != APR_SUCCESS ||
        cert_schedule_load(&sched, cert, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2954, ctx->pool, "%s", err);
    json_object_set_new(sched, "automated", json_boolean(automated));
    json_object_set_new(sched, "days", json_integer(days));
    json_object_set_new(sched, "minute", json_integer(minute));
    if (cert_schedule_save(cert, sched, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2955, ctx->pool, "%s", err);
    return OPS_OK;
}
