/* challenge_window.c — see challenge_window.h. */
#include "ops/challenge_window.h"

#include <string.h>
#include <unistd.h>

#include "apr_strings.h"

#include "ops/httpd_ctl.h"
#include "base/state.h"
#include "base/tls_probe.h"

#define LISTEN_WAIT (apr_time_from_sec(10))

static int configured(const cli_t *cli)
{
    return cli->config->challenge_window_include != NULL &&
           cli->config->challenge_window_listen != NULL;
}

/* "80" listens everywhere; "192.0.2.1:80" or "[2001:db8::1]:80" on one
 * address. */
static const char *vhost_address(const char *listen, apr_pool_t *pool)
{
    return strchr(listen, ':') ? listen : apr_pstrcat(pool, "*:", listen,
                                                      NULL);
}

static const char *probe_address(const char *listen, apr_pool_t *pool)
{
    return strchr(listen, ':') ? listen
                               : apr_pstrcat(pool, "127.0.0.1:", listen,
                                             NULL);
}

apr_status_t challenge_window_open(cli_t *cli, const char **err)
{
    if (!configured(cli))
        return APR_SUCCESS;
    const char *listen = cli->config->challenge_window_listen;
    const char *text = apr_psprintf(
        cli->pool,
        "# Written by expacmectl while ACME challenges are open; removed\n"
        "# when the order ends.  Do not edit.\n"
        "Listen %s\n<VirtualHost %s>\n    ExpAcmeHttpMode challenge-only\n"
        "</VirtualHost>\n",
        listen, vhost_address(listen, cli->pool));
    apr_status_t rv = state_write_file(cli->config->challenge_window_include,
                                       text, strlen(text), 0644, err,
                                       cli->pool);
    if (rv == APR_SUCCESS)
        rv = httpd_ctl_run(cli, HTTPD_CTL_GRACEFUL, err);
    if (rv != APR_SUCCESS)
        return rv;
    cli_progress(cli, "opened port %s for the challenge window", listen);
    const char *probe = probe_address(listen, cli->pool);
    if (tls_probe_wait_listening(probe, LISTEN_WAIT, cli->pool))
        return APR_SUCCESS;
    *err = apr_psprintf(cli->pool, "httpd does not listen on %s after the "
                        "reload", probe);
    return APR_TIMEUP;
}

apr_status_t challenge_window_close(cli_t *cli, const char **err)
{
    if (!configured(cli) ||
        access(cli->config->challenge_window_include, F_OK) != 0)
        return APR_SUCCESS;
    apr_status_t rv = state_remove(cli->config->challenge_window_include, err,
                                   cli->pool);
    if (rv == APR_SUCCESS)
        rv = httpd_ctl_run(cli, HTTPD_CTL_GRACEFUL, err);
    if (rv == APR_SUCCESS)
        cli_progress(cli, "closed port %s again",
                     cli->config->challenge_window_listen);
    return rv;
}
