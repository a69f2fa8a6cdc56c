/* sign.h — the sign operation (manual §4): the stored CSR of a managed
 * certificate through an ACME order to a verified pending certificate.
 * Tokens are published before the CA is told to validate and withdrawn
 * on every exit path; an order a killed helper left behind is cleaned up
 * first. */
#ifndef EXPACME_SIGN_H
#define EXPACME_SIGN_H

#include "ops/ops.h"
#include "ops/preflight.h"

/* The pre-flight check (SPEC §12, ops/preflight.h). */
typedef enum {
    SIGN_CHECK = 0,      /* check, then sign when every name passes */
    SIGN_CHECK_ONLY = 1, /* `sign --check`: the checks (and the public
                            path, as information) and nothing else */
    SIGN_CHECK_SKIP = 2  /* `sign --no-check` */
} sign_check_t;

typedef struct {
    const char *provider;      /* the CA that signed (a fallback, maybe) */
    const char *issuer;        /* of the chain staged */
    int alternates;            /* alternate chains the CA offered */
    int recovered;             /* an interrupted sign was cleaned up first */
    preflight_result_t checks; /* checks == NULL when skipped */
    apr_array_header_t *validated; /* acme_validated_t: type per name */
} sign_result_t;

/* profile: NULL for the provider's default; replaces: the ARI id of the
 * certificate this one renews (RFC 9773), or NULL. */
ops_status_t sign_run(sign_result_t *result, ops_error_t *error,
                      const ops_ctx_t *ctx, const char *name,
                      const char *profile, const char *replaces,
                      sign_check_t check);

/* How a sign's validations read in status.json and --json output:
 * {"www.example.org": "http-01", "*.example.org": "dns-01"} (a new
 * reference). */
json_t *sign_validated_json(const apr_array_header_t *validated);

#endif
