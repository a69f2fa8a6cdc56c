/* acme_order.h — RFC 8555 §7.4 end to end: newOrder, the authorizations
 * (each answered with the first type of the caller's preference list the
 * CA offers for it: http-01, tls-alpn-01 or dns-01), publishing every
 * challenge, answering all at once, polling with bounded backoff,
 * finalize and download (with the preferred alternate chain).  What was
 * published is withdrawn on every exit path. */
#ifndef EXPACME_ACME_ORDER_H
#define EXPACME_ACME_ORDER_H

#include "acme/acme.h"

typedef struct {
    const char *type; /* "http-01", "tls-alpn-01" or "dns-01" */
    const char *host; /* the identifier: for a wildcard, its base name */
    const char *name; /* as in the CSR: "*.example.org" for a wildcard */
    const char *token;
    const char *keyauth;
} acme_challenge_t;

/* Which challenge type validated a name ("valid" already: the type of
 * the challenge the CA shows valid, or "reused"). */
typedef struct {
    const char *name;
    const char *type;
} acme_validated_t;

/* Where tokens go while the CA validates: the challenge store.  Both take
 * the whole batch: one lock, one pass. */
typedef struct {
    apr_status_t (*publish)(void *baton, const apr_array_header_t *challenges,
                            apr_int64_t expires, const char **err,
                            apr_pool_t *pool);
    apr_status_t (*withdraw)(void *baton, const apr_array_header_t *challenges,
                             const char **err, apr_pool_t *pool);
    void *baton;
} acme_publisher_t;

typedef struct {
    const char *csr_der_b64url;
    const apr_array_header_t *names; /* const char *: DNS names and IPs */
    const char *thumbprint;          /* of the account key */
    const char *profile;             /* NULL: none asked */
    const char *replaces;            /* ARI certificate id, or NULL */
    const char *preferred_chain;     /* issuer CN, or NULL */
    apr_interval_time_t timeout;     /* whole order */
    const acme_publisher_t *publisher;
    const apr_array_header_t *types; /* const char *, preferred first;
                                        NULL: http-01 */
} acme_order_request_t;

typedef struct {
    const char *order_url;
    const char *chain_pem;         /* as downloaded (the chosen chain) */
    apr_array_header_t *chain;     /* chain_pem parsed (X509 *), leaf first */
    const char *chain_issuer;      /* issuer CN at the top of that chain */
    int alternates;                /* how many other chains the CA offered */
    const char *failed_identifier; /* on validation failure */
    apr_array_header_t *validated; /* acme_validated_t, one per authz */
} acme_order_result_t;

apr_status_t acme_order_run(acme_order_result_t *result,
                            acme_session_t *session,
                            const acme_order_request_t *request,
                            const char **err, apr_pool_t *pool);

/* The type the order will use for name from the preference list types
 * (NULL: http-01) when the CA offers them all: wildcards only dns-01, IP
 * addresses only http-01.  NULL when none fits. */
const char *acme_order_type_for(const apr_array_header_t *types,
                                const char *name);

/* 1 when name is an IP literal (sent as an "ip" identifier, RFC 8738). */
int acme_order_name_is_ip(const char *name);

#endif
