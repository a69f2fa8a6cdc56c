/* challenge_publish.h — the helper's side of the challenge store: opening
 * the configured store for writing (its directory made on the way) and
 * withdrawing tokens.  Used by `token`, by sign, and by the recovery of an
 * order a killed helper left behind. */
#ifndef EXPACME_CHALLENGE_PUBLISH_H
#define EXPACME_CHALLENGE_PUBLISH_H

#include "apr_pools.h"
#include "apr_tables.h"

#include "challenge_store.h"
#include "base/config.h"

/* APR_EINVAL (with *err) when challenge_store is not a usable shm: path;
 * another error when the store cannot be created or opened. */
apr_status_t challenge_publish_open(challenge_store_writer_t **writer,
                                    const expacme_config_t *config,
                                    const char **err, apr_pool_t *pool);

/* Removes every entry of each token (const char *); absent ones are no
 * error, they may have expired or been withdrawn already. */
apr_status_t challenge_publish_withdraw(const expacme_config_t *config,
                                        const apr_array_header_t *tokens,
                                        const char **err, apr_pool_t *pool);

#endif
