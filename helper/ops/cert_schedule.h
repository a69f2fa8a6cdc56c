/* cert_schedule.h — a managed certificate's schedule.json: automated on
 * or off, deploy days and time (set by `schedule`), and what renew keeps
 * between runs (resubmission times, backoff, the ARI window). */
#ifndef EXPACME_CERT_SCHEDULE_H
#define EXPACME_CERT_SCHEDULE_H

#include <jansson.h>

#include "ops/cert_state.h"
#include "ops/ops.h"

#define CERT_SCHEDULE_ALL_DAYS 0x7f
#define CERT_SCHEDULE_DEFAULT_MINUTE (3 * 60)

/* {} when there is none yet; bound to the certificate's pool. */
apr_status_t cert_schedule_load(json_t **out, cert_state_t *cert,
                                const char **err);
apr_status_t cert_schedule_save(cert_state_t *cert, json_t *sched,
                                const char **err);

/* `schedule --auto on|off --days ... --time ...` for certificate name:
 * days a mask of schedule_parse_days, minute of the day. */
ops_status_t cert_schedule_set(ops_error_t *error, const ops_ctx_t *ctx,
                               const char *name, int automated, unsigned days,
                               int minute);

#endif
