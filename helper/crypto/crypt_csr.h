/* crypt_csr.h — certificate signing requests: the checks on what a CSR
 * may ask for, building and signing one, reading one from PEM bytes, and
 * what callers show of it.  CSRs are bound to the pool they are made in. */
#ifndef EXPACME_CRYPT_CSR_H
#define EXPACME_CRYPT_CSR_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "apr_pools.h"
#include "apr_tables.h"

#include "crypto/crypt_digest.h"

typedef struct {
    const char *cn;            /* also the first SAN */
    apr_array_header_t *names; /* const char *: DNS names and IPs */
    crypt_digest_t digest;
    const char *org, *unit, *locality, *state, *country; /* may be NULL */
} crypt_csr_spec_t;

/* What crypt_csr_create checks before it builds anything, for callers that
 * want to refuse bad input before generating a key: the CN is an FQDN of
 * at most 64 characters (RFC 5280 ub-common-name), every name an FQDN or
 * an IP literal, at most CRYPT_CSR_MAX_NAMES distinct names, C two ASCII
 * letters, O/OU at most 64 and L/ST at most 128 characters, no control
 * characters.  *err names the offending value. */
#define CRYPT_CSR_MAX_NAMES 100
apr_status_t crypt_csr_spec_check(const crypt_csr_spec_t *spec,
                                  const char **err, apr_pool_t *pool);

/* Builds and signs a CSR: subject from the spec (CN plus optional O, OU, L,
 * ST, C), SAN with every name (CN first, no duplicates; IP SANs for IP
 * literals), EKU serverAuth + clientAuth, keyUsage digitalSignature (+
 * keyEncipherment for RSA). names may be NULL (CN only) and need not
 * repeat the CN.  DNS names are used as given: callers lowercase. */
apr_status_t crypt_csr_create(X509_REQ **out, EVP_PKEY *key,
                              const crypt_csr_spec_t *spec, const char **err,
                              apr_pool_t *pool);
/* One PEM CSR whose self-signature verifies. */
apr_status_t crypt_csr_load(X509_REQ **out, const char *pem, apr_size_t len,
                            const char **err, apr_pool_t *pool);
const char *crypt_csr_pem(X509_REQ *csr, apr_pool_t *pool);
/* base64url DER, as newOrder's finalize wants it. */
const char *crypt_csr_der_b64url(X509_REQ *csr, apr_pool_t *pool);
/* The identifiers (CN and SANs, deduplicated, in order; DNS and IP, IPs in
 * inet_ntop form). */
apr_array_header_t *crypt_csr_names(X509_REQ *csr, apr_pool_t *pool);
/* Like `openssl req -text -noout`. */
const char *crypt_csr_text(X509_REQ *csr, apr_pool_t *pool);
/* The CSR's key, owned by the CSR (valid as long as it is). */
EVP_PKEY *crypt_csr_public_key(X509_REQ *csr);

#endif
