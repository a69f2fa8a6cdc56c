/* sign.h — the sign operation (manual §4): the stored CSR of a managed
 * certificate through an ACME order to a verified pending certificate.
 * Tokens are published before the CA is told to validate and withdrawn
 * on every exit path; an order a killed helper left behind is cleaned up
 * first. */
#ifndef EXPACME_SIGN_H
#define EXPACME_SIGN_H

#include "ops/ops.h"

typedef struct {
    const char *provider; /* the CA that signed (a fallback, maybe) */
    const char *issuer;   /* of the chain staged */
    int alternates;       /* alternate chains the CA offered */
    int recovered;        /* an interrupted sign was cleaned up first */
} sign_result_t;

/* profile: NULL for the provider's default; replaces: the ARI id of the
 * certificate this one renews (RFC 9773), or NULL. */
ops_status_t sign_run(sign_result_t *result, ops_error_t *error,
                      const ops_ctx_t *ctx, const char *name,
                      const char *profile, const char *replaces);

#endif
