/* pending.h — the pending certificate of a managed certificate (what
 * sign staged and deploy takes): `pending show` and `pending discard`. */
#ifndef EXPACME_PENDING_H
#define EXPACME_PENDING_H

#include "apr_tables.h"

#include "ops/ops.h"

typedef struct {
    const char *pem;           /* pending.pem as stored */
    apr_array_header_t *chain; /* crypt_cert_info_t, leaf first; NULL
                                * when only the PEM was asked for */
} pending_show_result_t;

/* pem_only: the chain is checked to parse, but not decoded. */
ops_status_t pending_show(pending_show_result_t *result, ops_error_t *error,
                          const ops_ctx_t *ctx, const char *name, int pem_only);

typedef struct {
    const char *state; /* of the certificate afterwards (SPEC §2) */
} pending_discard_result_t;

ops_status_t pending_discard(pending_discard_result_t *result,
                             ops_error_t *error, const ops_ctx_t *ctx,
                             const char *name);

#endif
