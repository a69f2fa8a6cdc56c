/* challenge_alpn.h — tls-alpn-01 answers (RFC 8737) for the module: a
 * throwaway key and challenge certificate per name, written beside the
 * challenge store (common/alpn_store.h has the layout and why). */
#ifndef EXPACME_CHALLENGE_ALPN_H
#define EXPACME_CHALLENGE_ALPN_H

#include "apr_pools.h"

#include "base/config.h"

apr_status_t challenge_alpn_put(const expacme_config_t *config,
                                const char *host, const char *keyauth,
                                apr_int64_t expires, const char **err,
                                apr_pool_t *pool);

/* Absent answers are no error. */
apr_status_t challenge_alpn_del(const expacme_config_t *config,
                                const char *host, const char **err,
                                apr_pool_t *pool);

#endif
