/* challenge_redis.h — the Redis challenge store of a cluster, written by
 * expacmectl (SPEC §8) in the layout of common/redis_layout.h: the same
 * operations as the shm: store, plus each peer's status report.  Every
 * write is one MULTI, checked element by element, so a put that fails
 * fails the order before the CA is asked to validate. */
#ifndef EXPACME_CHALLENGE_REDIS_H
#define EXPACME_CHALLENGE_REDIS_H

#include "apr_pools.h"

#include "base/redis_conn.h"
#include "challenge_store.h"

/* Publishes keyauth for (host, token) until expires; *opened is 1 when
 * no challenge was open before (the window opened with this put). */
apr_status_t challenge_redis_put(redis_conn_t *conn, const char *host,
                                 const char *token, const char *keyauth,
                                 apr_int64_t expires, apr_int64_t now,
                                 int *opened, const char **err,
                                 apr_pool_t *pool);

/* Removes every host of token; *removed says how many, *closed is 1 when
 * this closed the window. */
apr_status_t challenge_redis_del(redis_conn_t *conn, const char *token,
                                 apr_int64_t now, unsigned *removed,
                                 int *closed, const char **err,
                                 apr_pool_t *pool);

/* Calls visit for every entry (expired ones too, until Redis drops them)
 * and says whether the window is open at now. */
apr_status_t challenge_redis_list(redis_conn_t *conn, apr_int64_t now,
                                  challenge_store_visit_fn *visit, void *baton,
                                  int *window_open, const char **err,
                                  apr_pool_t *pool);

/* This peer's status report: PREFIX:peer:PEER, with a TTL. */
apr_status_t challenge_redis_report(redis_conn_t *conn, const char *peer,
                                    const char *status_json,
                                    const char *status_flat, apr_int64_t now,
                                    const char **err, apr_pool_t *pool);

#endif
