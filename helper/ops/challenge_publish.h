/* challenge_publish.h — the helper's side of the challenge store, either
 * kind: the shm: file (its directory made on the way) or the Redis of a
 * cluster (ops/challenge_redis.c).  Opening, publishing, withdrawing and
 * listing tokens; used by `token`, by sign, by the recovery of an order a
 * killed helper left behind, and by status for the cluster's reports. */
#ifndef EXPACME_CHALLENGE_PUBLISH_H
#define EXPACME_CHALLENGE_PUBLISH_H

#include "apr_pools.h"
#include "apr_tables.h"

#include <jansson.h>

#include "challenge_store.h"
#include "base/config.h"
#include "ops/ops.h"

typedef struct challenge_publish challenge_publish_t;

/* APR_EINVAL (with *err) when challenge_store (or its auth file) is not
 * usable: a configuration error; another error when the store cannot be
 * created, opened or reached.  The handle lives as long as pool. */
apr_status_t challenge_publish_open(challenge_publish_t **pub,
                                    const expacme_config_t *config,
                                    const char **err, apr_pool_t *pool);

/* NULL, or the configuration error that would stop challenge_publish_open
 * (checked before the CA is asked for anything). */
const char *challenge_publish_check(const expacme_config_t *config,
                                    apr_pool_t *pool);

/* "shm:/path" or the Redis URL, for messages and `token list`. */
const char *challenge_publish_where(const challenge_publish_t *pub);

apr_status_t challenge_publish_put(challenge_publish_t *pub, const char *host,
                                   const char *token, const char *keyauth,
                                   apr_int64_t expires, const char **err);

/* Removes every entry of token (any host); *removed says how many. */
apr_status_t challenge_publish_del(challenge_publish_t *pub, const char *token,
                                   unsigned *removed, const char **err);

/* Every entry (expired ones too, while the store keeps them); capacity is
 * 0 for Redis, which has no fixed table. */
apr_status_t challenge_publish_list(challenge_publish_t *pub,
                                    challenge_store_visit_fn *visit,
                                    void *baton, int *window_open,
                                    unsigned *capacity, const char **err);

/* Releases the store now (the shm: writer's lock, the Redis connection)
 * rather than with the pool: withdrawing opens it again. */
void challenge_publish_close(challenge_publish_t *pub);

/* After puts and dels: when they opened or closed the window of a Redis
 * store, waits until no httpd child can still act on the old state
 * (REDIS_LAYOUT_OPEN_SETTLE_MS; an shm: store is read afresh by every
 * request and needs no wait).  Then every peer serves what was put. */
void challenge_publish_settle(challenge_publish_t *pub);

/* Removes every entry of each token (const char *); absent ones are no
 * error, they may have expired or been withdrawn already. */
apr_status_t challenge_publish_withdraw(const expacme_config_t *config,
                                        const apr_array_header_t *tokens,
                                        const char **err, apr_pool_t *pool);

/* Withdraws what a sign recorded in its status "signing" object before
 * publishing: "tokens" from the store, "alpn" answers by host, and "dns"
 * records ([name, value, hook] each) through their hook's del.  Carries
 * on past a failing step, so one stuck record never keeps the others
 * published; the first error is returned. */
apr_status_t challenge_publish_withdraw_all(const ops_ctx_t *ctx,
                                            json_t *signing, const char **err);
/* With a Redis store, this peer's status document under PREFIX:peer:
 * (cluster_peer): what every peer's status page lists.  APR_SUCCESS and
 * nothing done with an shm: store. */
apr_status_t challenge_publish_report(const expacme_config_t *config,
                                      const char *status_json,
                                      const char *status_flat, const char **err,
                                      apr_pool_t *pool);

#endif
