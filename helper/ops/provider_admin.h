/* provider_admin.h — the operator's side of providers: `provider list`
 * (every provider and the current one) and `provider add` (the checks a
 * new provider passes before it is saved, EAB key file included).
 * Connecting to a provider is ops/provider.h. */
#ifndef EXPACME_PROVIDER_ADMIN_H
#define EXPACME_PROVIDER_ADMIN_H

#include "apr_tables.h"

#include "ops/ops.h"
#include "ops/provider.h"

typedef struct {
    apr_array_header_t *providers; /* const provider_t *, built-in first */
    const char *current;           /* the current account's, or NULL */
} provider_admin_list_result_t;

ops_status_t provider_admin_list(provider_admin_list_result_t *result,
                                 ops_error_t *error, const ops_ctx_t *ctx);

/* Adds or replaces provider (builtin 0); eab_key_file is the operator's
 * base64url HMAC key file (0600) when provider has an eab_kid, else
 * NULL.  What is wrong with the arguments is OPS_USAGE. */
ops_status_t provider_admin_add(ops_error_t *error, const ops_ctx_t *ctx,
                                const provider_t *provider,
                                const char *eab_key_file);

#endif
