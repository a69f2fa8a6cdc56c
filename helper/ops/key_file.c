/* key_file.c — loading and saving private key files (see key_file.h):
 * state_read_file / state_write_file around crypt_key_parse_pem and
 * crypt_key_serialise_pem. */
#include "ops/key_file.h"

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "base/state.h"
#include "crypto/crypt_key.h"

apr_status_t key_file_read(char **pem, apr_size_t *len, const char *path,
                           const char **err, apr_pool_t *pool)
{
    apr_status_t rv =
        state_read_file(pem, len, path, CRYPT_KEY_PEM_MAX, err, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        *err = apr_psprintf(pool, "%s: no such key file", path);
    return rv;
}

apr_status_t key_file_parse(EVP_PKEY **out, const char *path, const char *pem,
                            apr_size_t len, const char **err, apr_pool_t *pool)
{
    apr_status_t rv = crypt_key_parse_pem(out, pem, len, err, pool);
    if (rv != APR_SUCCESS)
        *err = apr_psprintf(pool, "%s: %s", path, *err);
    return rv;
}

apr_status_t key_file_load(EVP_PKEY **out, const char *path, const char **err,
                           apr_pool_t *pool)
{
    char *pem = NULL;
    apr_size_t len = 0;
    *out = NULL;
    apr_status_t rv = key_file_read(&pem, &len, path, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    rv = key_file_parse(out, path, pem, len, err, pool);
    OPENSSL_cleanse(pem, len);
    return rv;
}

apr_status_t key_file_save(EVP_PKEY *key, const char *path, const char **err,
                           apr_pool_t *pool)
{
    /* The PEM lives in a subpool, so that it is cleansed (by its pool
     * cleanup) as soon as it is written, not when the caller's pool goes. */
    apr_pool_t *scratch = NULL;
    char *pem = NULL;
    apr_size_t len = 0;
    apr_status_t rv = apr_pool_create(&scratch, pool);
    if (rv != APR_SUCCESS) {
        *err = "out of memory";
        return rv;
    }
    rv = crypt_key_serialise_pem(&pem, &len, key, err, scratch);
    if (rv == APR_SUCCESS)
        rv = state_write_file(path, pem, len, 0600, err, scratch);
    else
        *err = apr_psprintf(scratch, "%s: %s", path, *err);
    if (rv != APR_SUCCESS)
        *err = apr_pstrdup(pool, *err);
    apr_pool_destroy(scratch);
    return rv;
}
