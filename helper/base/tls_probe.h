/* tls_probe.h — which certificate does the HTTPS listener present?  A TLS
 * handshake with SNI to host:port, trusting nothing and comparing only
 * the leaf, as deploy needs. */
#ifndef EXPACME_TLS_PROBE_H
#define EXPACME_TLS_PROBE_H

#include <openssl/x509.h>

#include "apr_pools.h"

/* The leaf a client offering only alpn ("acme-tls/1") gets; fails
 * unless the server selects it (RFC 8737 §3).  address "127.0.0.1:443",
 * "[::1]:8443" or "host:port".  *leaf is bound to pool. */
apr_status_t tls_probe_alpn_leaf(X509 **leaf, const char *address,
                                 const char *sni, const char *alpn,
                                 apr_interval_time_t timeout, const char **err,
                                 apr_pool_t *pool);

/* A TCP connection to address with send and receive timeouts: the fd,
 * or -1. */
int tls_probe_connect(const char *address, apr_interval_time_t timeout,
                      apr_pool_t *pool);

/* The key kind a client offers signature algorithms (and TLS 1.2 suites)
 * for: how deploy checks both pairs of an RSA + ECDSA certificate are
 * served (SPEC §2). */
typedef enum {
    TLS_PROBE_ANY,
    TLS_PROBE_ECDSA,
    TLS_PROBE_RSA,
    TLS_PROBE_KINDS
} tls_probe_kind_t;

/* Whether a client with SNI sni offering only kind gets der (a
 * certificate's DER) as the leaf: *presents 1 when it does, byte for
 * byte.  Asked with a TLS 1.2 hello read in the clear (base/tls_hello.h).
 * A full TLS handshake decides when that gets another leaf (a listener
 * holding two pairs may pick by TLS version) or no TLS 1.2 answer (a TLS
 * 1.3-only listener); its error is the one reported.  A listener that
 * does not answer in time, or cannot be reached, is not asked twice. */
apr_status_t tls_probe_presents(int *presents, const char *address,
                                const char *sni, tls_probe_kind_t kind,
                                const unsigned char *der, apr_size_t der_len,
                                apr_interval_time_t timeout, const char **err,
                                apr_pool_t *pool);

/* 1 when something accepts TCP connections on address. */
int tls_probe_listening(const char *address, apr_interval_time_t timeout,
                        apr_pool_t *pool);

/* Polls (10 ms, doubling to 200 ms) until something listens on address or
 * `wait` has passed: what follows a graceful reload. 1 when it listens. */
int tls_probe_wait_listening(const char *address, apr_interval_time_t wait,
                             apr_pool_t *pool);

#endif
