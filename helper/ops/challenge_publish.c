/* challenge_publish.c — see challenge_publish.h. */
#include "ops/challenge_publish.h"

#include <errno.h>
#include <string.h>

#include "apr_strings.h"

#include "base/log.h"
#include "base/state.h"
#include "ops/challenge_alpn.h"
#include "ops/challenge_dns.h"

apr_status_t challenge_publish_open(challenge_store_writer_t **writer,
                                    const expacme_config_t *config,
                                    const char **err, apr_pool_t *pool)
{
    *writer = NULL;
    const char *path = config_store_path(config, err);
    if (path == NULL)
        return APR_EINVAL;
    /* World-traversable: httpd's workers must reach the file. */
    char *dir = apr_pstrdup(pool, path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        apr_status_t rv = state_make_dir(dir, 0755, err, pool);
        if (rv != APR_SUCCESS)
            return rv;
    }
    challenge_store_status_t st = challenge_store_writer_open(
        writer, path, (uint32_t)config->challenge_capacity);
    if (st == CHALLENGE_STORE_OK)
        return APR_SUCCESS;
    *err = apr_psprintf(pool, "challenge store %s: %s%s%s", path,
                        challenge_store_status_text(st),
                        st == CHALLENGE_STORE_IO ? ": " : "",
                        st == CHALLENGE_STORE_IO ? strerror(errno) : "");
    return APR_EGENERAL;
}

apr_status_t challenge_publish_withdraw(const expacme_config_t *config,
                                        const apr_array_header_t *tokens,
                                        const char **err, apr_pool_t *pool)
{
    if (tokens->nelts == 0)
        return APR_SUCCESS;
    challenge_store_writer_t *w = NULL;
    apr_status_t rv = challenge_publish_open(&w, config, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    for (int i = 0; i < tokens->nelts; i++) {
        unsigned removed = 0;
        challenge_store_del(w, APR_ARRAY_IDX(tokens, i, const char *),
                            &removed);
    }
    challenge_store_writer_close(w);
    return APR_SUCCESS;
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
