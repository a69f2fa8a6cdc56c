/* token.h — the challenge store by hand (`token put|del|list`), for
 * diagnostics and tests.  The sign operation publishes through the same
 * challenge_publish_put, so what works here works there, on either kind
 * of store.  The arguments
 * are checked against the token rules by the caller (they are usage
 * errors); what is left here is the store itself. */
#ifndef EXPACME_TOKEN_H
#define EXPACME_TOKEN_H

#include "apr_tables.h"

#include "ops/ops.h"

typedef struct {
    apr_int64_t expires; /* seconds since the epoch */
} token_put_result_t;

/* Publishes keyauth for token on host for ttl seconds. */
ops_status_t token_put(token_put_result_t *result, ops_error_t *error,
                       const ops_ctx_t *ctx, const char *host,
                       const char *token, const char *keyauth,
                       unsigned long ttl);

typedef struct {
    unsigned removed; /* entries (one per host) */
} token_del_result_t;

ops_status_t token_del(token_del_result_t *result, ops_error_t *error,
                       const ops_ctx_t *ctx, const char *token);

typedef struct {
    const char *host;
    const char *token;
    const char *keyauth;
    apr_int64_t expires;
} token_entry_t;

typedef struct {
    const char *store;           /* its path or URL; NULL: not configured */
    int absent;                  /* no store there yet */
    apr_array_header_t *entries; /* token_entry_t, expired ones too */
    unsigned capacity;           /* shm: slots; Redis: 0 */
    int window_open;
    apr_int64_t now; /* what the entries' time left counts from */
} token_list_result_t;

/* Every entry of the store.  result->store is set as soon as it is
 * known, also when reading the store fails after. */
ops_status_t token_list(token_list_result_t *result, ops_error_t *error,
                        const ops_ctx_t *ctx);

#endif
