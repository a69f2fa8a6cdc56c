/* crypt_digest.c — names of the CSR signature digests (see
 * crypt_digest.h): one table, indexed by crypt_digest_t. */
#include "crypto/crypt_digest.h"

#include <strings.h>

#include "apr_strings.h"

#include "crypto/crypt_pool.h"

typedef struct {
    const char *name;
    const EVP_MD *(*md)(void);
} digest_info_t;

static const digest_info_t digests[] = {
    [CRYPT_DIGEST_SHA256] = {"sha256", EVP_sha256},
    [CRYPT_DIGEST_SHA384] = {"sha384", EVP_sha384},
    [CRYPT_DIGEST_SHA512] = {"sha512", EVP_sha512},
};
_Static_assert(sizeof(digests) / sizeof(digests[0]) == CRYPT_DIGEST_COUNT,
               "one digests entry per crypt_digest_t");

apr_status_t crypt_digest_parse(crypt_digest_t *out, const char *name,
                                const char **err, apr_pool_t *pool)
{
    for (int i = 0; i < CRYPT_DIGEST_COUNT; i++) {
        if (strcasecmp(name, digests[i].name) == 0) {
            *out = (crypt_digest_t)i;
            return APR_SUCCESS;
        }
    }
    if (strcasecmp(name, "sha1") == 0 || strcasecmp(name, "sha-1") == 0)
        *err = "SHA-1 is refused: collisions are practical and CAs reject "
               "it; use sha256, sha384 or sha512";
    else
        *err = apr_psprintf(pool,
                            "digest '%s' is not accepted: use sha256, "
                            "sha384 or sha512",
                            crypt_pool_shown(name, pool));
    return APR_EINVAL;
}

const char *crypt_digest_name(crypt_digest_t digest)
{
    return (unsigned)digest < CRYPT_DIGEST_COUNT ? digests[digest].name : NULL;
}

const EVP_MD *crypt_digest_md(crypt_digest_t digest)
{
    return (unsigned)digest < CRYPT_DIGEST_COUNT ? digests[digest].md() : NULL;
}
