/* schedule.h — when to sign and when to deploy (manual §6), as a pure
 * function of the facts and the time, so that tests can run years of
 * renewals in seconds through an injected clock. */
#ifndef EXPACME_SCHEDULE_H
#define EXPACME_SCHEDULE_H

#include "apr.h"

typedef struct {
    int automated;
    unsigned days;     /* bit n: deploy on tm_wday n (0 = Sunday) */
    int minute_of_day; /* deploy time, local time */
} schedule_conf_t;

typedef struct {
    int has_csr;
    int has_pending;
    apr_int64_t pending_signed;
    int has_deployed;
    apr_int64_t not_before; /* of the deployed certificate */
    apr_int64_t not_after;
    apr_int64_t ari_time;     /* a moment inside the CA's ARI window, or 0 */
    apr_int64_t next_attempt; /* backoff / Retry-After, or 0 */
    int failures;             /* failed attempts since the last success */
    apr_int64_t resubmit[2];  /* the stored random resubmission times */
} schedule_facts_t;

typedef enum {
    SCHEDULE_NOTHING,
    SCHEDULE_SIGN,
    SCHEDULE_DEPLOY
} schedule_action_t;

typedef struct {
    schedule_action_t action;
    const char *why;
    apr_int64_t renewal_due; /* 0 without a deployed certificate */
    apr_int64_t next_slot;   /* next deploy slot, 0 when not automated */
} schedule_decision_t;

/* Two-thirds of the lifetime; half for lifetimes under ten days. */
apr_int64_t schedule_renewal_due(apr_int64_t not_before, apr_int64_t not_after);

/* The first deploy slot at or after t. */
apr_int64_t schedule_next_slot(const schedule_conf_t *conf, apr_int64_t t);

void schedule_decide(schedule_decision_t *out, const schedule_conf_t *conf,
                     const schedule_facts_t *facts, apr_int64_t now);

/* Two new random resubmission times from now: one in each of the next two
 * periods of 12 hours, or shorter periods when the certificate's time left
 * after its renewal is due would not hold three of them. */
void schedule_plan_resubmit(apr_int64_t out[2], apr_int64_t now,
                            apr_int64_t due, apr_int64_t not_after,
                            unsigned (*random_below)(unsigned bound));

/* The wait before the next try after `failures` failed ones: about 1 min,
 * 10 min, 100 min, then a day, each jittered by +-25 %. */
apr_int64_t schedule_backoff(int failures,
                             unsigned (*random_below)(unsigned bound));

/* "mon,tue,..." to a day mask; 0 on a bad name. */
unsigned schedule_parse_days(const char *list);
/* The days of mask, Monday first ("mon", "wed", ...), into names (room
 * for seven); returns how many. */
int schedule_day_names(unsigned mask, const char *names[7]);
/* "HH:MM" to minutes; -1 when malformed. */
int schedule_parse_time(const char *hhmm);

#endif
