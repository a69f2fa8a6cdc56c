/* deploy.h — the deploy engine (manual §5): verify the pending pair, switch
 * the live files to it (ops/deploy_live.h), configtest, graceful, check
 * that the listener is up and serves the new leaf; any failure rolls
 * back.  Each step is journalled in the certificate's status.json before
 * it starts, so that a helper killed anywhere is rolled back by the next
 * run (deploy_recover). */
#ifndef EXPACME_DEPLOY_H
#define EXPACME_DEPLOY_H

#include "ops/cert_state.h"
#include "ops/ops.h"

typedef struct {
    const char *generation; /* the generation now live */
    int recovered;          /* an interrupted deploy was rolled back first */
} deploy_result_t;

/* reason: why renew deploys now, recorded in Last Deploy Status (NULL
 * for a deploy the operator asked for). */
ops_status_t deploy_run(deploy_result_t *result, ops_error_t *error,
                        const ops_ctx_t *ctx, const char *name,
                        const char *reason);

/* A deploy killed mid-way (its pid gone): puts the previous pair back and
 * records what happened in Last Deploy Status. */
apr_status_t deploy_recover(const ops_ctx_t *ctx, cert_state_t *cert,
                            int *recovered);

#endif
