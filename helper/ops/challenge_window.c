/* challenge_window.c — see challenge_window.h. */
#include "ops/challenge_window.h"

#include <pthread.h>
#include <string.h>

#include "apr_strings.h"

#include "ops/httpd_ctl.h"
#include "base/state.h"
#include "base/tls_probe.h"

#define LISTEN_WAIT (apr_time_from_sec(10))

static int configured(const ops_ctx_t *ctx)
{
    return ctx->config->challenge_window_include != NULL &&
           ctx->config->challenge_window_listen != NULL;
}

/* "80" listens everywhere; "192.0.2.1:80" or "[2001:db8::1]:80" on one
 * address. */
static const char *vhost_address(const char *listen, apr_pool_t *pool)
{
    return strchr(listen, ':') ? listen : apr_pstrcat(pool, "*:", listen, NULL);
}

static const char *probe_address(const char *listen, apr_pool_t *pool)
{
    return strchr(listen, ':') ? listen
                               : apr_pstrcat(pool, "127.0.0.1:", listen, NULL);
}

static apr_status_t window_open(const ops_ctx_t *ctx, const char **err)
{
    const char *listen = ctx->config->challenge_window_listen;
    const char *text = apr_psprintf(
        ctx->pool,
        "# Written by expacmectl while ACME challenges are open; removed\n"
        "# when the order ends.  Do not edit.\n"
        "Listen %s\n<VirtualHost %s>\n    ExpAcmeHttpMode challenge-only\n"
        "</VirtualHost>\n",
        listen, vhost_address(listen, ctx->pool));
    apr_status_t rv =
        state_write_file(ctx->config->challenge_window_include, text,
                         strlen(text), 0644, err, ctx->pool);
    if (rv == APR_SUCCESS)
        rv = httpd_ctl_run(ctx, HTTPD_CTL_GRACEFUL, err);
    if (rv != APR_SUCCESS)
        return rv;
    ops_progress(ctx, "opened port %s for the challenge window", listen);
    const char *probe = probe_address(listen, ctx->pool);
    if (tls_probe_wait_listening(probe, LISTEN_WAIT, ctx->pool))
        return APR_SUCCESS;
    *err = apr_psprintf(ctx->pool,
                        "httpd does not listen on %s after the "
                        "reload",
                        probe);
    return APR_TIMEUP;
}

static apr_status_t window_close(const ops_ctx_t *ctx, const char **err)
{
    if (!state_exists(ctx->config->challenge_window_include))
        return APR_SUCCESS;
    apr_status_t rv =
        state_remove(ctx->config->challenge_window_include, err, ctx->pool);
    if (rv == APR_SUCCESS)
        rv = httpd_ctl_run(ctx, HTTPD_CTL_GRACEFUL, err);
    if (rv == APR_SUCCESS)
        ops_progress(ctx, "closed port %s again",
                     ctx->config->challenge_window_listen);
    return rv;
}

/* The orders of a concurrent run share one window: the first opens it
 * (the others wait until it listens), the last one out closes it. */
static pthread_mutex_t window_lock = PTHREAD_MUTEX_INITIALIZER;
static int window_users;

apr_status_t challenge_window_open(const ops_ctx_t *ctx, const char **err)
{
    if (!configured(ctx))
        return APR_SUCCESS;
    apr_status_t rv = APR_SUCCESS;
    pthread_mutex_lock(&window_lock);
    if (window_users == 0)
        rv = window_open(ctx, err);
    if (rv == APR_SUCCESS)
        window_users++;
    pthread_mutex_unlock(&window_lock);
    return rv;
}

apr_status_t challenge_window_release(const ops_ctx_t *ctx, const char **err)
{
    if (!configured(ctx))
        return APR_SUCCESS;
    apr_status_t rv = APR_SUCCESS;
    pthread_mutex_lock(&window_lock);
    if (window_users > 0)
        window_users--;
    if (window_users == 0)
        rv = window_close(ctx, err);
    pthread_mutex_unlock(&window_lock);
    return rv;
}

apr_status_t challenge_window_close(const ops_ctx_t *ctx, const char **err)
{
    if (!configured(ctx))
        return APR_SUCCESS;
    apr_status_t rv = APR_SUCCESS;
    pthread_mutex_lock(&window_lock);
    if (window_users == 0)
        rv = window_close(ctx, err);
    pthread_mutex_unlock(&window_lock);
    return rv;
}
