/* renew.h — `renew [--now]`: whatever is due for every managed
 * certificate of the configuration, one at a time.  sign and deploy run
 * as operations (ops/sign.h, ops/deploy.h); one certificate failing never
 * stops the others. */
#ifndef EXPACME_RENEW_H
#define EXPACME_RENEW_H

#include "apr_tables.h"

#include "ops/ops.h"

typedef struct {
    const char *cert;
    const char *action;      /* "none", "sign", "deploy"; NULL: not decided */
    const char *why;         /* the schedule's reason */
    apr_int64_t renewal_due; /* epoch seconds, 0 when unknown */
    apr_int64_t next_slot;
    const char *result;  /* "success" / "failure" when something was done */
    const char *error;   /* what went wrong, or NULL */
    int logno;           /* its message number (EXPnnnnn), 0 if none */
    const char *warning; /* the manual-mode warning, or NULL */
    int save_failed;     /* schedule.json could not be written */
} renew_entry_t;

typedef struct {
    apr_array_header_t *entries; /* renew_entry_t, configuration order */
} renew_result_t;

/* now_flag: sign and deploy every certificate at once, whatever is due.
 * OPS_FAILED when any certificate failed (each entry says which). */
ops_status_t renew_run(renew_result_t *result, const ops_ctx_t *ctx,
                       int now_flag);

#endif
