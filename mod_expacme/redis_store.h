/* redis_store.h — the module's view of a Redis challenge store (SPEC §8;
 * the key layout is common/redis_layout.h).
 *
 * Connections: each httpd child keeps a small list of idle connections,
 * one per worker thread that needed one at the same time, and reuses them
 * across requests.  Every exchange is non-blocking with one deadline
 * (ExpAcmeRedisTimeout) covering connect, AUTH, write and read, so a Redis
 * that is down, slow, frozen or answering garbage costs a challenge
 * request at most the timeout and then 404.  After a failure the child
 * backs off (100 ms doubling to 1 s) and, while it does, answers challenge
 * requests 404 at once; one request per child probes when the backoff is
 * over.  Failures are logged once per REDIS_STORE_LOG_INTERVAL_MS per
 * child, with the number of failures not logged.
 *
 * The window rule costs no round trip per request: the answer of ZCOUNT
 * on PREFIX:open is trusted for REDIS_LAYOUT_OPEN_CHECK_MS per child, and
 * asked again (pipelined with the lookup, so still one round trip) only
 * by a challenge-path GET that finds it older.  Nothing but a challenge-
 * path GET ever reaches this file. */
#ifndef EXPACME_REDIS_STORE_H
#define EXPACME_REDIS_STORE_H

#include "apr_pools.h"
#include "apr_tables.h"
#include "httpd.h"

#include "redis_auth.h"
#include "redis_layout.h"

#define REDIS_STORE_DEFAULT_TIMEOUT_MS 100
#define REDIS_STORE_MAX_TIMEOUT_MS 10000
#define REDIS_STORE_LOG_INTERVAL_MS 10000

/* Everything the directives say about Redis (server config, global), and
 * what check_config adds in the parent.  One per configuration, shared by
 * every virtual host. */
typedef struct expacme_redis_conf {
    const char *url; /* as configured, for messages; NULL: shm */
    redis_layout_url_t where;
    const char *auth_file; /* ExpAcmeRedisAuthFile */
    int timeout_ms;        /* ExpAcmeRedisTimeout; 0: the default */
    /* set by redis_store_check_config, read-only afterwards: */
    redis_auth_t *auth;
    char address[64]; /* the TCP host, resolved once */
} expacme_redis_conf_t;

typedef enum {
    REDIS_STORE_CLOSED,     /* no challenge open: the path is not special */
    REDIS_STORE_FOUND,      /* keyauth filled in */
    REDIS_STORE_NOT_FOUND,  /* open, but not this token for this host */
    REDIS_STORE_UNAVAILABLE /* Redis down, slow, refusing or garbled: 404 */
} redis_store_result_t;

/* check_config, in the parent (as root): reads the auth file, resolves
 * the host, and proves the credentials with one exchange.  Refusing
 * credentials or permissions fails the configuration (configtest says
 * why); an unreachable Redis only warns: challenges then get 404 until
 * it answers. */
int redis_store_check_config(expacme_redis_conf_t *conf, apr_pool_t *pconf,
                             apr_pool_t *ptemp, server_rec *s);

/* child_init: conf may be NULL (the store is shm:). */
apr_status_t redis_store_child_init(apr_pool_t *pchild, server_rec *s,
                                    const expacme_redis_conf_t *conf);

/* For a challenge-path GET: token[0..token_len) is already known to be a
 * valid token, or token_len is 0 for an invalid one (then only the
 * window matters).  The host is the request's. */
redis_store_result_t redis_store_lookup(request_rec *r, const char *token,
                                        size_t token_len, char *keyauth,
                                        size_t keyauth_size,
                                        size_t *keyauth_len);

/* The status page of a cluster: every peer's last report
 * (PREFIX:peer:*), sorted by peer name. */
typedef struct {
    const char *peer;
    apr_int64_t reported; /* epoch seconds */
    const char *status;   /* the JSON the peer's helper published */
    const char *flat;     /* the same in common/status_flat.h's form, or
                             NULL */
} redis_store_peer_t;

/* APR_SUCCESS with *peers (possibly empty), or an error when Redis
 * cannot be asked (logged like a failed lookup). */
apr_status_t redis_store_peers(request_rec *r, apr_array_header_t **peers);

#endif
