/* httpd_ctl.c — see httpd_ctl.h. */
#include "ops/httpd_ctl.h"

#include "apr_strings.h"

#include "base/run_command.h"

#define COMMAND_TIMEOUT (apr_time_from_sec(60))

apr_status_t httpd_ctl_run(const ops_ctx_t *ctx, httpd_ctl_verb_t verb,
                           const char **err)
{
    const expacme_config_t *config = ctx->config;
    const char *configured = verb == HTTPD_CTL_CONFIGTEST
                                 ? config->configtest_command
                                 : config->graceful_command;
    const char *line =
        configured ? configured
                   : apr_pstrcat(ctx->pool, config->apachectl, " ",
                                 verb == HTTPD_CTL_CONFIGTEST ? "configtest"
                                                              : "graceful",
                                 NULL);
    run_command_result_t res;
    apr_status_t rv = run_command(&res, run_command_split(line, ctx->pool),
                                  NULL, COMMAND_TIMEOUT, err, ctx->pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (res.exit_code != 0) {
        *err = apr_psprintf(ctx->pool, "%s %s (exit %d): %s", line,
                            res.timed_out ? "timed out" : "failed",
                            res.exit_code, res.output);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
