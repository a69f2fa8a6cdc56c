/* deploy.h — the deploy engine (manual §5): verify the pending pair, switch
 * the live files to it (ops/deploy_live.h), configtest, graceful, check
 * that the listener is up and serves the new leaf; any failure rolls
 * back.  Each step is journalled in the certificate's status.json before
 * it starts, so that a helper killed anywhere is rolled back by the next
 * run (deploy_recover). */
#ifndef EXPACME_DEPLOY_H
#define EXPACME_DEPLOY_H

#include "apr_tables.h"

#include "ops/cert_state.h"
#include "ops/ops.h"

typedef struct {
    const char *generation; /* the generation now live */
    int recovered;          /* an interrupted deploy was rolled back first */
} deploy_result_t;

/* One certificate of a batch: name and reason in, the rest out. */
typedef struct {
    const char *name;
    const char *reason; /* as deploy_run's, or NULL */
    ops_status_t status;
    ops_error_t error;
    deploy_result_t result;
    apr_pool_t *pool; /* where error and result strings live */
} deploy_request_t;

/* A batch whose certificates are started one at a time, each as soon as
 * it is ready (renew: right after its order, while the others are still
 * being signed), from any thread, one thread per slot.  Starting one
 * runs its own steps (verify, backup, write, switch); close takes the
 * steps shared by all that were started (one configtest, one graceful,
 * then each checked with its SNI) and sets each request's status.  A
 * batch given up (abandon) switches back every one it started, with a
 * graceful only when httpd may have read one.  Slots are [0, n). */
typedef struct deploy_batch deploy_batch_t;
deploy_batch_t *deploy_batch_open(int n, const ops_ctx_t *ctx);
void deploy_batch_start(deploy_batch_t *b, int slot, deploy_request_t *req);
void deploy_batch_close(deploy_batch_t *b);
void deploy_batch_abandon(deploy_batch_t *b, const char *why);

/* Deploys every request of batch (deploy_request_t) with one configtest
 * and one graceful; each is checked with its own SNI, and only those
 * whose check fails are switched back (one more graceful for them all).
 * A certificate failing on its own steps never holds back the others. */
void deploy_batch(apr_array_header_t *batch, const ops_ctx_t *ctx);

/* reason: why renew deploys now, recorded in Last Deploy Status (NULL
 * for a deploy the operator asked for). */
ops_status_t deploy_run(deploy_result_t *result, ops_error_t *error,
                        const ops_ctx_t *ctx, const char *name,
                        const char *reason);

/* A deploy killed mid-way (its pid gone): puts the previous pair back and
 * records what happened in Last Deploy Status, reloading httpd when it
 * may have read the new pair. */
apr_status_t deploy_recover(const ops_ctx_t *ctx, cert_state_t *cert,
                            int *recovered);

/* The same without the reload: sets *reload when one is needed, and the
 * caller reloads once for every certificate it recovered (a batch killed
 * at its graceful: a reload while some pairs were still new would serve
 * them).  reload NULL: as deploy_recover. */
apr_status_t deploy_recover_deferred(const ops_ctx_t *ctx, cert_state_t *cert,
                                     int *recovered, int *reload);

#endif
