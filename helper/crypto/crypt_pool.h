/* crypt_pool.h — plumbing shared by the files of crypto/ and by nothing
 * else: OpenSSL objects and secret bytes bound to APR pools (a cleanup
 * frees or cleanses them, so callers never free by hand), the one-line
 * error helper, and the small text conversions every part needs.  Kept
 * apart so that each of crypt_key.c, crypt_csr.c, crypt_cert.c, ... holds
 * only its own subject. */
#ifndef EXPACME_CRYPT_POOL_H
#define EXPACME_CRYPT_POOL_H

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "apr_pools.h"

/* Bind an object to pool (it is freed when the pool goes); NULL passes
 * through, so a failed constructor can be wrapped directly. */
EVP_PKEY *crypt_pool_pkey(EVP_PKEY *key, apr_pool_t *pool);
X509_REQ *crypt_pool_req(X509_REQ *req, apr_pool_t *pool);
X509 *crypt_pool_x509(X509 *cert, apr_pool_t *pool);
/* Cleanse len bytes at data (allocated from pool) when the pool goes:
 * private key bytes must not stay behind in freed memory. */
void crypt_pool_secret(void *data, apr_size_t len, apr_pool_t *pool);

/* Sets *err to the message plus OpenSSL's reason for the oldest queued
 * error (reasons are fixed strings: never key material), clears the
 * queue, and returns rv. */
apr_status_t crypt_pool_fail(const char **err, apr_pool_t *pool,
                             apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The pem_password_cb for everything we read: keys are stored
 * unencrypted (0600, root) and anchors are never encrypted, so an
 * encrypted PEM fails instead of prompting on a terminal nobody watches. */
int crypt_pool_no_passphrase(char *buf, int size, int rwflag, void *u);

/* A value safe to quote in a one-line message: printable ASCII only,
 * shortened. */
const char *crypt_pool_shown(const char *value, apr_pool_t *pool);
/* The contents of a memory BIO as a pool string ("" when empty). */
const char *crypt_pool_bio_text(BIO *bio, apr_pool_t *pool);
/* DER of any ASN.1 object, base64url (finalize, revokeCert, ARI). */
const char *crypt_pool_der_b64url(const void *obj, const ASN1_ITEM *it,
                                  apr_pool_t *pool);

#endif
