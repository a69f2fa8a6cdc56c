/* http_probe.h — one plain-HTTP GET, the way an ACME CA asks for an
 * http-01 token (RFC 8555 §8.3): to an address, with the name as Host.
 * The pre-flight check's only HTTP client: no redirects followed, a
 * small body cap, timeouts on connect, send and receive. */
#ifndef EXPACME_HTTP_PROBE_H
#define EXPACME_HTTP_PROBE_H

#include "apr_pools.h"

typedef struct {
    int status;           /* 0 when no HTTP answer came */
    const char *body;     /* at most 4 KiB, NUL-terminated */
    const char *location; /* of a redirect, or NULL */
} http_probe_result_t;

/* address "127.0.0.1:80" or "[::1]:80".  APR_SUCCESS when an HTTP answer
 * came (whatever its status); otherwise *err says what happened. */
apr_status_t http_probe_get(http_probe_result_t *result, const char *address,
                            const char *host, const char *path,
                            apr_interval_time_t timeout, const char **err,
                            apr_pool_t *pool);

#endif
