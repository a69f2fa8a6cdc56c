/* account.h — the ACME account at a provider (RFC 8555 §7.3): register
 * (or find again, for a key an interrupted registration left), show,
 * key rollover and deactivation.  state_dir/accounts/<provider>/ holds
 * account.json (no secrets) and account.key (0600). */
#ifndef EXPACME_ACCOUNT_H
#define EXPACME_ACCOUNT_H

#include <jansson.h>

#include "crypto/crypt_key.h"
#include "ops/ops.h"

typedef struct {
    const char *provider;      /* its name */
    const char *email;         /* checked by the caller */
    int agree_tos;             /* the operator accepted the terms of service */
    crypt_key_type_t key_type; /* of a new account key */
} account_register_request_t;

typedef struct {
    const char *url;
    const char *terms_of_service; /* NULL: none published */
    int needs_agreement; /* refused for want of agree_tos (OPS_USAGE) */
    json_t *record;      /* account.json as written, bound to the pool */
} account_register_result_t;

/* The terms of service go to the progress callback before anything is
 * agreed to. */
ops_status_t account_register(account_register_result_t *result,
                              ops_error_t *error, const ops_ctx_t *ctx,
                              const account_register_request_t *req);

typedef struct {
    const char *provider;
    const char *url;
    const char *status;   /* as the CA says, or NULL */
    const char *key_type; /* of the account key */
    json_t *contact;      /* the CA's array, or NULL; bound to the pool */
} account_show_result_t;

/* The current provider's account, as the CA has it now. */
ops_status_t account_show(account_show_result_t *result, ops_error_t *error,
                          const ops_ctx_t *ctx);

typedef struct {
    const char *url;
    const char *key_type; /* of the new key */
} account_rollover_result_t;

/* key_type NULL: a new key of the current key's type. */
ops_status_t account_rollover(account_rollover_result_t *result,
                              ops_error_t *error, const ops_ctx_t *ctx,
                              const crypt_key_type_t *key_type);

typedef struct {
    const char *url;
    const char *status; /* as the CA says, or NULL */
} account_deactivate_result_t;

ops_status_t account_deactivate(account_deactivate_result_t *result,
                                ops_error_t *error, const ops_ctx_t *ctx);

#endif
