/* crypt.h — every use of OpenSSL 3 in expacmectl: keys, JWK and JWS
 * signatures, HMAC for External Account Binding, CSRs, and certificate
 * chains.  Objects are bound to the pool they are made in (a cleanup frees
 * them), so callers never free by hand; private key bytes are cleansed.
 * Errors come back as APR status plus a one-line *err (never key bytes). */
#ifndef EXPACME_CRYPT_H
#define EXPACME_CRYPT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "apr_pools.h"
#include "apr_tables.h"

typedef enum {
    CRYPT_KEY_RSA2048,
    CRYPT_KEY_RSA3072,
    CRYPT_KEY_RSA4096,
    CRYPT_KEY_EC256,
    CRYPT_KEY_EC384,
    CRYPT_KEY_TYPE_COUNT
} crypt_key_type_t;

typedef enum {
    CRYPT_DIGEST_SHA256,
    CRYPT_DIGEST_SHA384,
    CRYPT_DIGEST_SHA512,
    CRYPT_DIGEST_COUNT
} crypt_digest_t;

/* "rsa2048" ... "ec384"; APR_EINVAL (with *err saying what is accepted,
 * e.g. for "rsa8192" or "rsa1024") for anything else. */
apr_status_t crypt_key_type_parse(crypt_key_type_t *out, const char *name,
                                  const char **err, apr_pool_t *pool);
const char *crypt_key_type_name(crypt_key_type_t type);
/* "sha256" | "sha384" | "sha512"; "sha1" and others refused with *err. */
apr_status_t crypt_digest_parse(crypt_digest_t *out, const char *name,
                                const char **err, apr_pool_t *pool);
const char *crypt_digest_name(crypt_digest_t digest);

/* --- keys ---------------------------------------------------------------- */
apr_status_t crypt_key_generate(EVP_PKEY **out, crypt_key_type_t type,
                                const char **err, apr_pool_t *pool);
/* PEM private key from a file (size-capped); refuses anything that is not
 * one of the supported key types, and encrypted keys (never prompts).  An
 * absent file gives an APR_STATUS_IS_ENOENT status (with *err set), so
 * callers can tell "no key yet". */
apr_status_t crypt_key_load(EVP_PKEY **out, const char *path,
                            const char **err, apr_pool_t *pool);
/* Writes the key as PKCS#8 PEM, mode 0600, atomically (temp file, fsync,
 * rename, fsync dir); the PEM buffer is cleansed afterwards. */
apr_status_t crypt_key_save(EVP_PKEY *key, const char *path, const char **err,
                            apr_pool_t *pool);
/* The type of a loaded key, or APR_EINVAL. */
apr_status_t crypt_key_type_of(crypt_key_type_t *out, EVP_PKEY *key);
/* 1 when both hold the same public key. */
int crypt_key_public_equal(EVP_PKEY *a, EVP_PKEY *b);

/* --- JOSE ---------------------------------------------------------------- */
/* Public JWK with exactly the RFC 7638 required members: EC {crv,kty,x,y},
 * RSA {e,kty,n}. New reference. */
json_t *crypt_jwk_public(EVP_PKEY *key);
/* RFC 7638 thumbprint (SHA-256 over the canonical JWK), base64url. */
const char *crypt_jwk_thumbprint(EVP_PKEY *key, apr_pool_t *pool);
/* "ES256" (P-256), "ES384" (P-384), "RS256" (RSA). */
const char *crypt_jws_alg(EVP_PKEY *key);
/* JWS signature of data: RSASSA-PKCS1-v1_5 SHA-256, or ECDSA in the
 * fixed-size r||s form of RFC 7518 §3.4 (not DER). */
apr_status_t crypt_jws_sign(unsigned char **sig, apr_size_t *sig_len,
                            EVP_PKEY *key, const void *data, apr_size_t len,
                            apr_pool_t *pool);
/* HMAC-SHA256 (EAB's HS256).  An empty key is refused (APR_EINVAL). */
apr_status_t crypt_hmac_sha256(unsigned char out[32], const void *key,
                               apr_size_t key_len, const void *data,
                               apr_size_t len);
/* SHA-256 of data, base64url (key authorizations, ARI). */
const char *crypt_sha256_b64url(const void *data, apr_size_t len,
                                apr_pool_t *pool);

/* A uniformly random number below bound (bound 0: 0), from the CSPRNG. */
unsigned crypt_random_below(unsigned bound);

/* --- CSRs ---------------------------------------------------------------- */
typedef struct {
    const char *cn;                /* also the first SAN */
    apr_array_header_t *names;     /* const char *: DNS names and IPs */
    crypt_digest_t digest;
    const char *org, *unit, *locality, *state, *country; /* may be NULL */
} crypt_csr_spec_t;

/* 1 when name is an acceptable DNS identifier for a certificate: FQDN
 * (at least two labels, LDH labels, no wildcard, not an IP address);
 * otherwise 0 with *why. IP addresses are accepted separately by
 * crypt_name_is_ip. */
int crypt_name_valid_fqdn(const char *name, const char **why,
                          apr_pool_t *pool);
/* 1 when name is a literal IPv4 or IPv6 address (RFC 8738 identifier). */
int crypt_name_is_ip(const char *name);

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

/* --- certificates -------------------------------------------------------- */
/* Parses a PEM chain (leaf first).  Refuses: no certificate, anything but
 * CERTIFICATE blocks (a PRIVATE KEY block in a download is an error),
 * more than 10 certificates, trailing garbage. X509 * elements. */
apr_status_t crypt_chain_parse(apr_array_header_t **out, const char *pem,
                               apr_size_t len, const char **err,
                               apr_pool_t *pool);
/* The checks before staging or deploying: the leaf's public key is key's,
 * the leaf's SANs are exactly the names (as sets: DNS names compared
 * case-insensitively, IPs as addresses; names NULL skips this check),
 * each certificate is issued and signed by the next one.  *err names the
 * first failure. */
apr_status_t crypt_chain_verify(const apr_array_header_t *chain,
                                EVP_PKEY *key, const apr_array_header_t *names,
                                const char **err, apr_pool_t *pool);
/* Verifies the chain up to a trust anchor from ca_file (PEM), the chain's
 * other certificates as untrusted intermediates, for the TLS server
 * purpose, at the current time. */
apr_status_t crypt_chain_verify_root(const apr_array_header_t *chain,
                                     const char *ca_file, const char **err,
                                     apr_pool_t *pool);

typedef struct {
    const char *subject;     /* one line, RFC 2253 */
    const char *issuer;
    const char *issuer_cn;   /* NULL when the issuer has no CN */
    apr_array_header_t *names; /* SANs: const char * */
    apr_int64_t not_before;  /* seconds since the epoch */
    apr_int64_t not_after;
    const char *key_type;    /* "ec256", "rsa2048", ...; else e.g. "RSA1024" */
    const char *serial;      /* hex, upper case */
    const char *sha256;      /* fingerprint, AA:BB:... */
    const char *sha1;
} crypt_cert_info_t;

apr_status_t crypt_cert_info(crypt_cert_info_t *out, X509 *cert,
                             apr_pool_t *pool);
const char *crypt_cert_pem(X509 *cert, apr_pool_t *pool);
/* base64url DER, as revokeCert and ARI want it. */
const char *crypt_cert_der_b64url(X509 *cert, apr_pool_t *pool);
/* RFC 9773 §4.1 CertID: base64url(authority key identifier) "."
 * base64url(serial number bytes); NULL without an AKI. */
const char *crypt_cert_ari_id(X509 *cert, apr_pool_t *pool);
/* The public key of a certificate (owned by the certificate). */
EVP_PKEY *crypt_cert_public_key(X509 *cert);

#endif
