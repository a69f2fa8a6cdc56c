/* crypt_key.h — private keys: the supported types and their names,
 * generation, and PEM in and out as bytes (files are ops/key_file.h's
 * business: crypto/ does no file I/O).  Keys are bound to the pool they
 * are made in; PEM bytes of a private key are cleansed when their pool
 * goes.  Errors are an APR status plus a one-line *err, never key bytes. */
#ifndef EXPACME_CRYPT_KEY_H
#define EXPACME_CRYPT_KEY_H

#include <openssl/evp.h>

#include "apr_pools.h"

typedef enum {
    CRYPT_KEY_RSA2048,
    CRYPT_KEY_RSA3072,
    CRYPT_KEY_RSA4096,
    CRYPT_KEY_EC256,
    CRYPT_KEY_EC384,
    CRYPT_KEY_TYPE_COUNT
} crypt_key_type_t;

/* Larger PEM input is refused before OpenSSL sees it. */
#define CRYPT_KEY_PEM_MAX (64 * 1024)

/* "rsa2048" ... "ec384"; APR_EINVAL (with *err saying what is accepted,
 * e.g. for "rsa8192" or "rsa1024") for anything else. */
/* 1 for the RSA types, 0 for ECDSA. */
int crypt_key_type_is_rsa(crypt_key_type_t type);

apr_status_t crypt_key_type_parse(crypt_key_type_t *out, const char *name,
                                  const char **err, apr_pool_t *pool);
const char *crypt_key_type_name(crypt_key_type_t type);

apr_status_t crypt_key_generate(EVP_PKEY **out, crypt_key_type_t type,
                                const char **err, apr_pool_t *pool);
/* The type of a key, or APR_EINVAL for one we do not support. */
apr_status_t crypt_key_type_of(crypt_key_type_t *out, EVP_PKEY *key);
/* 1 when both hold the same public key. */
int crypt_key_public_equal(EVP_PKEY *a, EVP_PKEY *b);

/* One PEM private key (at most CRYPT_KEY_PEM_MAX bytes); refuses anything
 * that is not one of the supported key types, and encrypted keys (never
 * prompts).  The caller cleanses pem. */
apr_status_t crypt_key_parse_pem(EVP_PKEY **out, const char *pem,
                                 apr_size_t len, const char **err,
                                 apr_pool_t *pool);
/* How many decoder contexts crypt_key_parse_pem has built in this
 * process: one per thread, and one more after each refused input (the
 * unit tests show with it that parsing reuses them). */
unsigned crypt_key_decoders_built(void);

/* The key as unencrypted PKCS#8 PEM, NUL-terminated (len excludes the
 * NUL); the bytes are cleansed when pool goes, and no other copy is left
 * in freed memory. */
apr_status_t crypt_key_serialise_pem(char **pem, apr_size_t *len, EVP_PKEY *key,
                                     const char **err, apr_pool_t *pool);

#endif
