/* challenge_alpn.c — see challenge_alpn.h. */
#include "ops/challenge_alpn.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "apr_strings.h"

#include "alpn_store.h"
#include "crypto/crypt_challenge.h"

static apr_status_t store_error(alpn_store_status_t st, const char *host,
                                const char **err, apr_pool_t *pool)
{
    *err = apr_psprintf(pool, "tls-alpn-01 answer for %s: %s%s%s", host,
                        alpn_store_status_text(st),
                        st == ALPN_STORE_IO ? ": " : "",
                        st == ALPN_STORE_IO ? strerror(errno) : "");
    return APR_EGENERAL;
}

/* The answers are files beside an shm: store, which the module reads; a
 * Redis store has no such place, and an answer only this peer could give
 * would fail whenever the CA asks another peer. */
static const char *answers_dir(const expacme_config_t *config, const char **err)
{
    if (strncmp(config->challenge_store, "redis", 5) == 0) {
        *err = "tls-alpn-01 needs an shm: challenge store (its answers are "
               "files beside it); with a Redis store use http-01 or dns-01";
        return NULL;
    }
    return config_store_path(config, err);
}

apr_status_t challenge_alpn_put(const expacme_config_t *config,
                                const char *host, const char *keyauth,
                                apr_int64_t expires, const char **err,
                                apr_pool_t *pool)
{
    const char *store = answers_dir(config, err);
    if (store == NULL)
        return APR_EINVAL;
    const char *cert = NULL, *key = NULL;
    unsigned purged = 0;
    /* What a killed helper left (a probe, say) goes once it expired. */
    alpn_store_purge(store, (int64_t)time(NULL), &purged);
    apr_status_t rv =
        crypt_challenge_alpn_cert(&cert, &key, host, keyauth, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    alpn_store_status_t st = alpn_store_put(store, host, cert, key, expires);
    return st == ALPN_STORE_OK ? APR_SUCCESS : store_error(st, host, err, pool);
}

apr_status_t challenge_alpn_del(const expacme_config_t *config,
                                const char *host, const char **err,
                                apr_pool_t *pool)
{
    const char *store = answers_dir(config, err);
    if (store == NULL)
        return APR_EINVAL;
    alpn_store_status_t st = alpn_store_del(store, host);
    return st == ALPN_STORE_OK ? APR_SUCCESS : store_error(st, host, err, pool);
}
