/* redis_conn.h — expacmectl's connection to the cluster's Redis (SPEC
 * §8): the store URL and auth file of expacme.conf, one blocking hiredis
 * connection with a timeout on connect and on every reply, AUTH first.
 * What goes in which key is common/redis_layout.h, used by
 * ops/challenge_redis.c; this file only speaks the protocol. */
#ifndef EXPACME_REDIS_CONN_H
#define EXPACME_REDIS_CONN_H

#include <hiredis/hiredis.h>

#include "apr_pools.h"

#include "redis_layout.h"

/* Connect, reply and AUTH timeout of every step. */
#define REDIS_CONN_TIMEOUT_MS 5000

typedef struct redis_conn redis_conn_t;

/* Connects to url and authenticates with auth_file (required: see
 * common/redis_auth.h for its rules).  APR_EINVAL with *err for a bad
 * URL or auth file (configuration errors), APR_EACCES when Redis refuses
 * the credentials, another error when it cannot be reached.  The
 * connection lives as long as pool. */
apr_status_t redis_conn_open(redis_conn_t **out, const char *url,
                             const char *auth_file, const char **err,
                             apr_pool_t *pool);

const redis_layout_url_t *redis_conn_where(const redis_conn_t *conn);

/* Closes the connection before its pool goes (idempotent). */
void redis_conn_close(redis_conn_t *conn);

/* Runs one command; *reply stays valid until the pool goes.  An error
 * reply (NOPERM, WRONGTYPE, ...) is APR_EGENERAL with its text in *err. */
apr_status_t redis_conn_run(redis_conn_t *conn, redisReply **reply, int argc,
                            const char *const *argv, const char **err);

/* MULTI, the n commands (cmds[i] is a NULL-terminated argv), EXEC, in one
 * round trip: *replies is EXEC's array, one reply per command.  Any
 * command refused while queued, or failing inside, is APR_EGENERAL. */
apr_status_t redis_conn_multi(redis_conn_t *conn, redisReply **replies,
                              const char *const *const *cmds, int n,
                              const char **err);

#endif
