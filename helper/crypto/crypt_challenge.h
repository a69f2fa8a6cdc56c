/* crypt_challenge.h — what dns-01 and tls-alpn-01 derive from a key
 * authorization: the TXT value (RFC 8555 §8.4) and the self-signed
 * challenge certificate with its acmeIdentifier extension (RFC 8737 §3),
 * on a throwaway key made for that one challenge. */
#ifndef EXPACME_CRYPT_CHALLENGE_H
#define EXPACME_CRYPT_CHALLENGE_H

#include <openssl/x509.h>

#include "apr_pools.h"

/* base64url(SHA-256(keyauth)): the TXT record of dns-01. */
const char *crypt_challenge_dns_value(const char *keyauth, apr_pool_t *pool);

/* A new P-256 key and a certificate for host (SAN dNSName, the critical
 * id-pe-acmeIdentifier holding SHA-256(keyauth)), both PEM; the key's
 * bytes are cleansed when pool goes. */
apr_status_t crypt_challenge_alpn_cert(const char **cert_pem,
                                       const char **key_pem, const char *host,
                                       const char *keyauth, const char **err,
                                       apr_pool_t *pool);

/* 1 when cert carries the acmeIdentifier of keyauth. */
int crypt_challenge_alpn_matches(X509 *cert, const char *keyauth);

#endif
