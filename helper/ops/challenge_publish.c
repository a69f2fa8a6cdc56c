/* challenge_publish.c — see challenge_publish.h. */
#include "ops/challenge_publish.h"

#include <errno.h>
#include <string.h>

#include "apr_strings.h"

#include "base/state.h"

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
