/* chain_file.c — a chain checked against the trust anchors of a file
 * (see chain_file.h). */
#include "ops/chain_file.h"

#include "apr_strings.h"

#include "base/state.h"
#include "crypto/crypt_chain.h"

apr_status_t chain_file_verify_root(const apr_array_header_t *chain,
                                    const char *ca_file, const char **err,
                                    apr_pool_t *pool)
{
    char *pem = NULL;
    apr_size_t len = 0;
    apr_status_t rv = state_read_file(&pem, &len, ca_file,
                                      CRYPT_CHAIN_ANCHORS_MAX, err, pool);
    /* As any other anchors that cannot be loaded: APR_EINVAL. */
    if (APR_STATUS_IS_ENOENT(rv))
        *err = apr_psprintf(pool,
                            "cannot load trust anchors from %s: no "
                            "such file",
                            ca_file);
    if (rv != APR_SUCCESS)
        return APR_EINVAL;
    return crypt_chain_verify_root(chain, pem, len, ca_file, err, pool);
}
