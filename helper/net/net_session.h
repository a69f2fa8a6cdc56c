/* net_session.h — what the operations ask of a CA, from root: each call
 * is a request on a channel to the network process (net_start.h), which
 * speaks to the CA; signatures come from the key process.  The fields
 * are what the CA's directory said. */
#ifndef EXPACME_NET_SESSION_H
#define EXPACME_NET_SESSION_H

#include <openssl/evp.h>

#include "acme/acme_order.h"

typedef struct {
    const char *directory;
    const char *ca_bundle; /* a file (read here, as root), or NULL */
    long connect_timeout_s, total_timeout_s;
    int shared; /* attach to the run's view of this CA (acme_ca.h) */
    acme_progress_fn *progress;
    void *progress_baton;
    volatile int *interrupted;
} net_open_t;

typedef struct net_session {
    const char *terms_of_service;
    const char *renewal_info_url; /* NULL unless the CA offers ARI */
    const char *revoke_cert_url;
    acme_problem_t *problem; /* of the last failed request, or NULL */
    /* the rest is the channel's */
    int fd;
    apr_pool_t *pool;
    acme_progress_fn *progress;
    void *progress_baton;
    volatile int *interrupted;
    long total_timeout_s;
    const char *jwk; /* the signing key's public JWK (JSON), or NULL */
} net_session_t;

/* The session holds a channel until pool is cleared. */
apr_status_t net_session_open(net_session_t **out, const net_open_t *open,
                              const char **err, apr_pool_t *pool);

/* What a session needs to have requests signed with a key, made once
 * per key: a fleet's orders all sign with their account's, and its
 * thumbprint, JWK and PEM cost more than the session does. */
typedef struct {
    EVP_PKEY *key;
    const char *thumbprint; /* RFC 7638 */
    const char *jwk;        /* the public JWK, compact, keys sorted */
} net_signer_t;

apr_status_t net_signer_make(net_signer_t *out, EVP_PKEY *key, const char **err,
                             apr_pool_t *pool);

/* Requests are signed with signer's key (handed to the key process the
 * first time), as kid (the account URL) or, NULL, with the JWK. */
apr_status_t net_session_use_signer(net_session_t *s,
                                    const net_signer_t *signer, const char *kid,
                                    const char **err);

/* The same for a key used once. */
apr_status_t net_session_use_key(net_session_t *s, EVP_PKEY *key,
                                 const char *kid, const char **err);

/* newAccount; with eab_kid, the EAB HMAC key goes to the key process
 * for this one request only.  *account: {status, contact}. */
apr_status_t net_account_register(const char **url, json_t **account,
                                  net_session_t *s, const char *email,
                                  int agree_tos, const char *eab_kid,
                                  const unsigned char *hmac, apr_size_t len,
                                  const char **err, apr_pool_t *pool);
apr_status_t net_account_fetch(json_t **account, net_session_t *s,
                               const char **err, apr_pool_t *pool);
apr_status_t net_account_deactivate(json_t **account, net_session_t *s,
                                    const char **err, apr_pool_t *pool);
/* keyChange to key; on success the session signs with it. */
apr_status_t net_account_key_change(net_session_t *s, EVP_PKEY *key,
                                    const char **err, apr_pool_t *pool);

typedef struct {
    const apr_array_header_t *names; /* the CSR's: what may be published */
    const char *thumbprint;
    const char *profile, *replaces, *preferred_chain;
    long timeout_s;
    const apr_array_header_t *types; /* NULL: http-01 */
    const acme_publisher_t *publisher;
    const char *csr_der_b64url; /* the CSR as finalize sends it */
} net_order_t;

/* The order; what the network process asks to publish is checked (names
 * of this CSR, key authorizations of this account) before it is. */
apr_status_t net_order_run(acme_order_result_t *result, net_session_t *s,
                           const net_order_t *order, const char **err,
                           apr_pool_t *pool);

apr_status_t net_revoke(long *http_status, net_session_t *s,
                        const char *cert_der_b64url, int reason,
                        const char **err, apr_pool_t *pool);

/* RFC 9773 window (APR_ENOTIMPL: the CA has no renewalInfo). */
apr_status_t net_renewal_info(apr_int64_t *start, apr_int64_t *end,
                              long *retry_after_s, net_session_t *s,
                              const char *cert_id, const char **err,
                              apr_pool_t *pool);

#endif
