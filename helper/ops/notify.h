/* notify.h — the operator's notify_command, run on sign and deploy
 * results and on the renewal warning, with the details in environment
 * variables (EXPACME_EVENT, EXPACME_CERT, EXPACME_DETAIL): never a secret,
 * never through a shell. */
#ifndef EXPACME_NOTIFY_H
#define EXPACME_NOTIFY_H

#include "ops/ops.h"

void notify_event(const ops_ctx_t *ctx, const char *event, const char *cert,
                  const char *detail);

#endif
