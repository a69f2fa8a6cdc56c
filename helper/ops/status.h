/* status.h — the status document (manual §3 `status`, §7 status page): one
 * entry per managed certificate, with no secrets in it.  Building it also
 * cleans up after a sign or deploy a killed helper left behind. */
#ifndef EXPACME_STATUS_H
#define EXPACME_STATUS_H

#include <jansson.h>

#include "ops/ops.h"

/* {"generated": T, "certificates": [...]}; a new reference. */
json_t *status_document(const ops_ctx_t *ctx);

/* Writes doc to status_file (what the module's status page shows). */
void status_publish(const ops_ctx_t *ctx, json_t *doc);

/* Rebuilds and publishes the document: what every command that changed
 * the state directory does on its way out. */
void status_refresh(const ops_ctx_t *ctx);

#endif
