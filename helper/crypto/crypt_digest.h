/* crypt_digest.h — the digests a CSR may be signed with, by name: the
 * table behind `--digest` and crypt_csr_spec_t.digest.  Its own file so
 * that the names keep the <file>_<verb> rule without renaming. */
#ifndef EXPACME_CRYPT_DIGEST_H
#define EXPACME_CRYPT_DIGEST_H

#include <openssl/evp.h>

#include "apr_pools.h"

typedef enum {
    CRYPT_DIGEST_SHA256,
    CRYPT_DIGEST_SHA384,
    CRYPT_DIGEST_SHA512,
    CRYPT_DIGEST_COUNT
} crypt_digest_t;

/* "sha256" | "sha384" | "sha512"; "sha1" and others refused with *err. */
apr_status_t crypt_digest_parse(crypt_digest_t *out, const char *name,
                                const char **err, apr_pool_t *pool);
const char *crypt_digest_name(crypt_digest_t digest);
/* OpenSSL's digest, or NULL for an out-of-range value. */
const EVP_MD *crypt_digest_md(crypt_digest_t digest);

#endif
