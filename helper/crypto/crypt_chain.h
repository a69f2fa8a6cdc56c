/* crypt_chain.h — certificate chains as a CA delivers them: parsing a PEM
 * download strictly, and the checks before a chain is staged or deployed
 * (it is for our key and names, each certificate signed by the next, and
 * optionally up to a trust anchor).  Trust anchors come in as PEM bytes:
 * ops/chain_file.h reads them from a file. */
#ifndef EXPACME_CRYPT_CHAIN_H
#define EXPACME_CRYPT_CHAIN_H

#include <openssl/evp.h>

#include "apr_pools.h"
#include "apr_tables.h"

#define CRYPT_CHAIN_MAX_CERTS 10
#define CRYPT_CHAIN_MAX_BYTES (1024 * 1024)
/* A system CA bundle is a few hundred KiB. */
#define CRYPT_CHAIN_ANCHORS_MAX (4 * 1024 * 1024)

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
/* The leaf is valid at now (give or take an hour's clock skew for its
 * start): an expired one would be an outage, one from the future none. */
apr_status_t crypt_chain_check_dates(const apr_array_header_t *chain,
                                     apr_int64_t now, const char **err,
                                     apr_pool_t *pool);

apr_status_t crypt_chain_verify(const apr_array_header_t *chain, EVP_PKEY *key,
                                const apr_array_header_t *names,
                                const char **err, apr_pool_t *pool);
/* Verifies the chain up to a trust anchor from anchors (PEM certificates
 * and CRLs, at most CRYPT_CHAIN_ANCHORS_MAX bytes), the chain's other
 * certificates as untrusted intermediates, for the TLS server purpose, at
 * the current time.  anchors_name says in *err where the anchors came
 * from (a file name, say). */
apr_status_t crypt_chain_verify_root(const apr_array_header_t *chain,
                                     const char *anchors,
                                     apr_size_t anchors_len,
                                     const char *anchors_name, const char **err,
                                     apr_pool_t *pool);

#endif
