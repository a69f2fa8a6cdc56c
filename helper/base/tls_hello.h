/* tls_hello.h — which certificate a TLS 1.2 server presents, read in the
 * clear from its first flight: a ClientHello with SNI, the ServerHello
 * and Certificate messages that answer it, and the connection closed
 * before any key exchange.  Deploy asks that question once per
 * certificate after a reload; a full handshake makes OpenSSL 3.0 parse
 * the whole chain into X509 objects (a decoder context for each public
 * key) and do the key exchange, about two thirds of a probe's CPU.  A
 * server that does not answer this way (a TLS 1.3-only listener, an
 * alert) is for tls_probe.c's full handshake to ask. */
#ifndef EXPACME_TLS_HELLO_H
#define EXPACME_TLS_HELLO_H

#include "apr_pools.h"

#include "base/tls_probe.h"

/* The ClientHello record: TLS 1.2 only, SNI sni (NULL: none), offering
 * only the cipher suites and signature algorithms of kind.  APR_EINVAL
 * for an SNI no ClientHello can carry. */
apr_status_t tls_hello_client(const unsigned char **record, apr_size_t *len,
                              const char *sni, tls_probe_kind_t kind,
                              apr_pool_t *pool);

typedef enum {
    TLS_HELLO_MORE, /* the flight so far ends inside a record or message */
    TLS_HELLO_LEAF, /* *leaf points at the first certificate's DER */
    TLS_HELLO_BAD   /* *err says why (an alert, no certificate, ...) */
} tls_hello_state_t;

/* The server's flight received so far (flight, len bytes).  scratch (len
 * bytes at least) gets the handshake messages joined across records;
 * *leaf points into it.  Reads nothing outside the two buffers. */
tls_hello_state_t tls_hello_parse(const unsigned char *flight, apr_size_t len,
                                  unsigned char *scratch,
                                  const unsigned char **leaf,
                                  apr_size_t *leaf_len, const char **err);

/* The leaf's DER that the server on fd (connected, with receive and send
 * timeouts) presents to this ClientHello, read until deadline; *leaf
 * points into the flight's buffers in pool (up to 128 KiB: give it a
 * scratch pool).  APR_EGENERAL: the server answered otherwise (refused the
 * hello, not TLS, closed); APR_TIMEUP or another status: no answer in
 * time, or the connection failed.  The caller closes fd: nothing more
 * is said on it. */
apr_status_t tls_hello_leaf(const unsigned char **leaf, apr_size_t *leaf_len,
                            int fd, const char *sni, tls_probe_kind_t kind,
                            apr_time_t deadline, const char **err,
                            apr_pool_t *pool);

#endif
