/* revoke.h — `revoke CERTFILE` (RFC 8555 §7.6): signed by the account
 * key, which needs valid authorizations for every name, or by the
 * certificate's own key.  The certificate a managed certificate serves
 * now is refused unless forced: revoking it would break service. */
#ifndef EXPACME_REVOKE_H
#define EXPACME_REVOKE_H

#include "ops/ops.h"

typedef struct {
    const char *cert_file; /* PEM, leaf first */
    const char *provider;  /* NULL: the current one */
    const char *key_file;  /* the certificate's key, or NULL: the account's */
    int reason;            /* RFC 5280 CRLReason */
    int force;             /* also the certificate deployed now */
} revoke_request_t;

typedef struct {
    const char *serial;
    const char *provider; /* the CA asked (a fallback, maybe) */
    long ca_status;       /* its HTTP status */
} revoke_result_t;

ops_status_t revoke_run(revoke_result_t *result, ops_error_t *error,
                        const ops_ctx_t *ctx, const revoke_request_t *req);

#endif
