/* status_lines.h — the status document in the line form the module's
 * status page reads (common/status_flat.h), published beside the JSON. */
#ifndef EXPACME_STATUS_LINES_H
#define EXPACME_STATUS_LINES_H

#include <jansson.h>

#include "ops/ops.h"

/* The line form's path for status_file: ".json" -> ".flat". */
const char *status_lines_path(const char *status_file, apr_pool_t *pool);

/* Writes doc (as ops/status.h builds it, times in epoch seconds) to path,
 * atomically, mode 0644; *written (when not NULL): the text on disk now,
 * or NULL when nothing was written. */
apr_status_t status_lines_write(const ops_ctx_t *ctx, json_t *doc,
                                const char *path, const char **written,
                                const char **err);

#endif
