/* http.h — the only HTTP client of expacmectl, on libcurl: https only,
 * connect and total timeouts, a low-speed cut-off for trickling peers, a
 * size cap on every body, no redirects followed, and the response headers
 * ACME needs (Replay-Nonce, Location, Link, Retry-After) picked out. */
#ifndef EXPACME_HTTP_H
#define EXPACME_HTTP_H

#include "apr_pools.h"
#include "apr_tables.h"

typedef struct http_client http_client_t;

/* Idle libcurl handles kept for the next client: a client created with
 * options.handles takes one there (with its open connections, TLS
 * session and DNS cache, so the next order to the same CA skips the
 * connect and handshake) and gives it back when its pool goes.  Any
 * thread may take or give; the handles left are closed with pool. */
typedef struct http_handles http_handles_t;
apr_status_t http_handles_create(http_handles_t **out, apr_pool_t *pool);

typedef struct {
    long connect_timeout_s; /* default 10 */
    long total_timeout_s;   /* default 60 */
    apr_size_t max_body;    /* default 1 MiB */
    const char *ca_bundle;  /* PEM trust roots; NULL: the system's */
    const char *ca_pem;     /* the same in memory (wins over ca_bundle) */
    apr_size_t ca_pem_len;
    /* Set by signal handlers: aborts a transfer in progress. */
    volatile int *interrupted;
    http_handles_t *handles; /* NULL: a handle of its own */
} http_options_t;

typedef struct {
    const char *url;
    const char *rel;
} http_link_t;

typedef struct {
    long status;
    char *body; /* NUL-terminated; body_len excludes the NUL */
    apr_size_t body_len;
    const char *content_type;
    const char *location;
    const char *replay_nonce;
    const char *retry_after;
    apr_array_header_t *links; /* http_link_t */
} http_response_t;

apr_status_t http_client_create(http_client_t **out,
                                const http_options_t *options, const char **err,
                                apr_pool_t *pool);

/* Caps the total timeout of the requests that follow at seconds (never
 * raising it); returns the previous value, to be given back to
 * http_client_set_timeout. */
long http_client_cap_timeout(http_client_t *client, long seconds);
void http_client_set_timeout(http_client_t *client, long seconds);

/* method "GET", "HEAD" or "POST" (body/len with content_type).  Returns
 * APR_SUCCESS for any HTTP status; errors are transport failures, with
 * *err naming the URL and cause (timeout, TLS, too large, ...).
 * APR_TIMEUP for timeouts, APR_ECONNREFUSED-like codes as APR_EGENERAL. */
apr_status_t http_request(http_response_t **out, http_client_t *client,
                          const char *method, const char *url,
                          const char *content_type, const char *accept,
                          const void *body, apr_size_t len, const char **err,
                          apr_pool_t *pool);

/* 1 when the failure was "could not reach the peer at all" (DNS,
 * connection refused, connect timeout): what makes a fallback CA worth
 * trying. */
int http_error_unreachable(apr_status_t rv);

/* Seconds to wait from a Retry-After value (delta-seconds or HTTP date),
 * or -1 when absent or unparseable. */
long http_retry_after_seconds(const char *value, apr_time_t now);

/* Appends the links of one Link header value (RFC 8288, as ACME uses it:
 * <url>;rel="name", ...) to links (http_link_t). */
void http_links_parse(apr_array_header_t *links, const char *value,
                      apr_pool_t *pool);

#define HTTP_E_UNREACHABLE (APR_OS_START_USERERR + 101)

#endif
