/* challenge_dns.c — see challenge_dns.h. */
#include "ops/challenge_dns.h"

#include <string.h>

#include "apr_strings.h"

#include "acme/acme.h"
#include "base/dns_client.h"
#include "base/run_command.h"

#define POLL_FIRST (apr_time_from_msec(100))
#define POLL_MAX (apr_time_from_sec(2))
#define QUERY_TIMEOUT (apr_time_from_sec(2))

const char *challenge_dns_record(const char *host, apr_pool_t *pool)
{
    return apr_pstrcat(pool, "_acme-challenge.", host, NULL);
}

apr_status_t challenge_dns_hook(const ops_ctx_t *ctx, const char *hook,
                                const char *verb, const char *record,
                                const char *value, const char **err)
{
    apr_pool_t *pool = ctx->pool;
    apr_array_header_t *argv = apr_array_make(pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(argv, const char *) = hook;
    APR_ARRAY_PUSH(argv, const char *) = verb;
    APR_ARRAY_PUSH(argv, const char *) = record;
    APR_ARRAY_PUSH(argv, const char *) = value;
    run_command_result_t res;
    const char *run_err = NULL;
    apr_status_t rv = run_command(
        &res, argv, NULL, apr_time_from_sec(ctx->config->dns_hook_timeout),
        &run_err, pool);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(pool, "dns_hook %s %s: %s", verb, record, run_err);
        return rv;
    }
    if (res.timed_out) {
        *err = apr_psprintf(pool, "dns_hook %s %s: no exit within %lu s%s%s",
                            verb, record, ctx->config->dns_hook_timeout,
                            *res.output ? ": " : "",
                            acme_escape(res.output, 300, pool));
        return APR_TIMEUP;
    }
    if (res.exit_code != 0) {
        *err = apr_psprintf(pool, "dns_hook %s %s: exit status %d%s%s", verb,
                            record, res.exit_code, *res.output ? ": " : "",
                            acme_escape(res.output, 300, pool));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

static int has_value(const apr_array_header_t *answers, const char *value)
{
    for (int i = 0; i < answers->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(answers, i, const char *), value) == 0)
            return 1;
    }
    return 0;
}

apr_status_t challenge_dns_wait(const ops_ctx_t *ctx, const char *record,
                                const char *value, const char **err)
{
    apr_pool_t *pool = ctx->pool;
    const char *resolver = ctx->config->dns_resolver;
    apr_time_t deadline =
        apr_time_now() + apr_time_from_sec(ctx->config->dns_wait);
    apr_interval_time_t delay = POLL_FIRST;
    for (;;) {
        apr_array_header_t *answers = NULL;
        const char *said = NULL;
        apr_status_t rv =
            dns_client_query(&answers, resolver, record, DNS_CLIENT_TXT,
                             QUERY_TIMEOUT, &said, pool);
        if (rv == APR_SUCCESS && has_value(answers, value))
            return APR_SUCCESS;
        if (apr_time_now() + delay > deadline) {
            *err = apr_psprintf(
                pool,
                "the TXT record %s did not show the challenge value "
                "within %lu s (resolver %s %s%s)",
                record, ctx->config->dns_wait,
                dns_client_resolver_name(resolver, pool), said,
                rv == APR_SUCCESS && answers->nelts ? " other values" : "");
            return APR_TIMEUP;
        }
        if (ops_interrupted(ctx)) {
            *err = "interrupted";
            return APR_EINTR;
        }
        apr_sleep(delay);
        delay = delay * 2 > POLL_MAX ? POLL_MAX : delay * 2;
    }
}
