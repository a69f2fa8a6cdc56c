/* renew_plan.h — the first phase of renew (ops/renew.h) on its own: for
 * each managed certificate, what this run does (sign, deploy or nothing)
 * and why, decided from the small records alone (which files exist,
 * schedule.json, pending.json, deployed.json; no PEM is parsed and no CA
 * asked unless an ARI check is due).  schedule.json is written only when
 * the decision changed it (new resubmission times, an ARI window, the
 * manual-mode warning's day).  renew_run plans this way before its
 * orders; the unit tests call it alone. */
#ifndef EXPACME_RENEW_PLAN_H
#define EXPACME_RENEW_PLAN_H

#include "base/schedule.h"
#include "ops/ops.h"
#include "ops/renew.h"

typedef struct {
    /* entry->cert names the certificate; action, why, renewal_due,
     * next_slot, warning, error and logno are filled in. */
    renew_entry_t *entry;
    schedule_action_t action;
    const char *replaces; /* ARI id of the certificate renewed, or NULL */
    int then_deploy;      /* renew --now: deploy what gets signed */
} renew_plan_t;

/* Plans plans[0..count) in order, strings in ctx->pool (now_flag: what
 * `renew --now` does).  Returns 1 when some schedule.json was written. */
int renew_plan(renew_plan_t *plans, int count, const ops_ctx_t *ctx,
               int now_flag);

#endif
