/* crypt_cert.h — one certificate: what status and the journal show of it
 * (crypt_cert_info), and the encodings the CA and the deploy need (PEM,
 * base64url DER, the ARI CertID).  Certificates come from
 * crypt_chain_parse; nothing here checks one against another. */
#ifndef EXPACME_CRYPT_CERT_H
#define EXPACME_CRYPT_CERT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "apr_pools.h"
#include "apr_tables.h"

typedef struct {
    const char *subject; /* one line, RFC 2253 */
    const char *issuer;
    const char *issuer_cn;     /* NULL when the issuer has no CN */
    apr_array_header_t *names; /* SANs: const char * */
    apr_int64_t not_before;    /* seconds since the epoch */
    apr_int64_t not_after;
    const char *key_type; /* "ec256", "rsa2048", ...; else e.g. "RSA1024" */
    const char *serial;   /* hex, upper case */
    const char *sha256;   /* fingerprint, AA:BB:... */
    const char *sha1;
} crypt_cert_info_t;

apr_status_t crypt_cert_info(crypt_cert_info_t *out, X509 *cert,
                             apr_pool_t *pool);
/* The DNS and IP SANs (const char *; IPs in inet_ntop form), in order,
 * without duplicates. */
apr_array_header_t *crypt_cert_names(X509 *cert, apr_pool_t *pool);
const char *crypt_cert_pem(X509 *cert, apr_pool_t *pool);
/* base64url DER, as revokeCert and ARI want it. */
const char *crypt_cert_der_b64url(X509 *cert, apr_pool_t *pool);
/* RFC 9773 §4.1 CertID: base64url(authority key identifier) "."
 * base64url(serial number bytes); NULL without an AKI. */
const char *crypt_cert_ari_id(X509 *cert, apr_pool_t *pool);
/* The public key of a certificate (owned by the certificate). */
EVP_PKEY *crypt_cert_public_key(X509 *cert);

#endif
