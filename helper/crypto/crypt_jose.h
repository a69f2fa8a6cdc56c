/* crypt_jose.h — the cryptography of JOSE as ACME uses it: the public JWK
 * and its RFC 7638 thumbprint, JWS algorithms and signatures, HMAC-SHA256
 * for External Account Binding, and SHA-256 in base64url.  The ACME layer
 * reaches keys only through a signing callback built on crypt_jose_sign. */
#ifndef EXPACME_CRYPT_JOSE_H
#define EXPACME_CRYPT_JOSE_H

#include <jansson.h>
#include <openssl/evp.h>

#include "apr_pools.h"

/* Public JWK with exactly the RFC 7638 required members: EC {crv,kty,x,y},
 * RSA {e,kty,n}. New reference; NULL for an unsupported key. */
json_t *crypt_jose_jwk_public(EVP_PKEY *key);
/* RFC 7638 thumbprint (SHA-256 over the canonical JWK), base64url. */
const char *crypt_jose_thumbprint(EVP_PKEY *key, apr_pool_t *pool);
/* "ES256" (P-256), "ES384" (P-384), "RS256" (RSA). */
const char *crypt_jose_alg(EVP_PKEY *key);
/* JWS signature of data: RSASSA-PKCS1-v1_5 SHA-256, or ECDSA in the
 * fixed-size r||s form of RFC 7518 §3.4 (not DER). */
apr_status_t crypt_jose_sign(unsigned char **sig, apr_size_t *sig_len,
                             EVP_PKEY *key, const void *data, apr_size_t len,
                             apr_pool_t *pool);
/* HMAC-SHA256 (EAB's HS256).  An empty key is refused (APR_EINVAL). */
apr_status_t crypt_jose_hmac_sha256(unsigned char out[32], const void *key,
                                    apr_size_t key_len, const void *data,
                                    apr_size_t len);
/* SHA-256 of data, base64url (key authorizations, thumbprints). */
const char *crypt_jose_sha256_b64url(const void *data, apr_size_t len,
                                     apr_pool_t *pool);

#endif
