/* Unit tests of the renewal schedule: lifetimes, deploy slots, random
 * resubmission, backoff and the decision table, on fixed times (UTC). */
#include "tap.h"

#include <stdlib.h>
#include <time.h>

#include "base/schedule.h"

#define DAY 86400
/* Monday 2026-11-23 00:00:00 UTC */
#define MONDAY ((apr_int64_t)1795392000)

static unsigned fixed_half(unsigned bound)
{
    return bound / 2;
}

static unsigned fixed_zero(unsigned bound)
{
    return 0;
}

static unsigned fixed_max(unsigned bound)
{
    return bound ? bound - 1 : 0;
}

static void test_due(void)
{
    is_int(schedule_renewal_due(0, 90 * DAY), 60 * DAY,
           "90 days: due after 60");
    is_int(schedule_renewal_due(1000, 1000 + 30 * DAY), 1000 + 20 * DAY,
           "30 days: two-thirds");
    is_int(schedule_renewal_due(0, 6 * DAY), 3 * DAY,
           "6 days (short-lived): half");
    is_int(schedule_renewal_due(0, 3600 * 6), 3600 * 3, "6 hours: half");
}

static void test_slots(void)
{
    schedule_conf_t c = {1, schedule_parse_days("wed,fri"), 3 * 60};
    is_int(schedule_next_slot(&c, MONDAY), MONDAY + 2 * DAY + 3 * 3600,
           "Monday: next slot Wednesday 03:00");
    is_int(schedule_next_slot(&c, MONDAY + 2 * DAY + 3 * 3600),
           MONDAY + 2 * DAY + 3 * 3600, "at the slot itself: that slot");
    is_int(schedule_next_slot(&c, MONDAY + 2 * DAY + 3 * 3600 + 1),
           MONDAY + 4 * DAY + 3 * 3600, "just after: Friday");
    c.days = schedule_parse_days("mon");
    is_int(schedule_next_slot(&c, MONDAY + 4 * 3600),
           MONDAY + 7 * DAY + 3 * 3600,
           "Monday 04:00, Monday only: a week later");
    c.days = 0;
    is_int(schedule_next_slot(&c, MONDAY), 0, "no days: no slot");
}

static void test_parse(void)
{
    is_int(schedule_parse_days("mon,tue,wed,thu,fri,sat,sun"), 0x7f,
           "every day");
    is_int(schedule_parse_days("Sun"), 1, "case-insensitive");
    is_int(schedule_parse_days("mon,funday"), 0, "unknown day refused");
    is_int(schedule_parse_days("monday"), 0, "long names refused");
    is_int(schedule_parse_time("03:30"), 210, "03:30");
    is_int(schedule_parse_time("23:59"), 1439, "23:59");
    is_int(schedule_parse_time("24:00"), -1, "24:00 refused");
    is_int(schedule_parse_time("3:30"), -1, "H:MM refused");
    is_int(schedule_parse_time("03:60"), -1, "minute 60 refused");
}

static void test_backoff(void)
{
    is_int(schedule_backoff(1, fixed_half), 60, "first failure ~1 min");
    is_int(schedule_backoff(2, fixed_half), 600, "second ~10 min");
    is_int(schedule_backoff(3, fixed_half), 6000, "third ~100 min");
    is_int(schedule_backoff(4, fixed_half), DAY, "then daily");
    is_int(schedule_backoff(40, fixed_half), DAY, "and stays daily");
    ok(schedule_backoff(1, fixed_zero) == 45 &&
           schedule_backoff(1, fixed_max) == 75,
       "jitter +-25 %");
}

static void test_resubmit(void)
{
    apr_int64_t t[2];
    schedule_plan_resubmit(t, MONDAY, MONDAY - DAY, MONDAY + 30 * DAY,
                           fixed_zero);
    is_int(t[0], MONDAY, "long life: first chance in the next 12 h");
    is_int(t[1], MONDAY + DAY / 2, "second in the 12 h after");
    /* 6-hour certificate, due after 3 h: the 3 h left hold 4 periods. */
    apr_int64_t nb = MONDAY, na = MONDAY + 6 * 3600;
    apr_int64_t due = schedule_renewal_due(nb, na);
    schedule_plan_resubmit(t, due, due, na, fixed_max);
    ok(t[1] < na && (na - due) / (t[1] - due + 1) >= 1,
       "short life: both chances before expiry");
    ok(t[0] - due < 3 * 3600 / 3, "short life: a chance within a third of "
                                  "the time left");
}

static schedule_facts_t deployed_facts(void)
{
    schedule_facts_t f = {0};
    f.has_csr = 1;
    f.has_deployed = 1;
    f.not_before = MONDAY;
    f.not_after = MONDAY + 90 * DAY;
    return f;
}

static void test_decide(void)
{
    schedule_conf_t c = {1, 0x7f, 3 * 60};
    schedule_decision_t d;
    schedule_facts_t f = {0};
    f.has_csr = 1;
    schedule_decide(&d, &c, &f, MONDAY);
    is_int(d.action, SCHEDULE_SIGN, "nothing yet: initial sign");
    f.next_attempt = MONDAY + 60;
    schedule_decide(&d, &c, &f, MONDAY);
    is_int(d.action, SCHEDULE_NOTHING, "initial sign waits out backoff");
    memset(&f, 0, sizeof(f));
    f.has_csr = 1;
    f.has_pending = 1;
    f.pending_signed = MONDAY + 3600;
    schedule_decide(&d, &c, &f, MONDAY + 7200);
    is_int(d.action, SCHEDULE_NOTHING, "pending waits for the slot");
    is_int(d.next_slot, MONDAY + 3 * 3600, "slot: the same day, 03:00");
    schedule_decide(&d, &c, &f, MONDAY + 3 * 3600);
    is_int(d.action, SCHEDULE_DEPLOY, "deployed at the slot");
    f = deployed_facts();
    f.has_pending = 1;
    f.pending_signed = MONDAY + 89 * DAY + 3600 * 4;
    schedule_decide(&d, &c, &f, MONDAY + 89 * DAY + 3600 * 5);
    is_int(d.action, SCHEDULE_DEPLOY,
           "live certificate expires before the slot: deployed at once");
    f = deployed_facts();
    schedule_decide(&d, &c, &f, MONDAY + 59 * DAY);
    is_int(d.action, SCHEDULE_NOTHING, "not due at day 59");
    is_int(d.renewal_due, MONDAY + 60 * DAY, "due at day 60");
    f.resubmit[0] = MONDAY + 60 * DAY + 5000;
    f.resubmit[1] = MONDAY + 60 * DAY + 50000;
    schedule_decide(&d, &c, &f, MONDAY + 60 * DAY + 10);
    is_int(d.action, SCHEDULE_NOTHING, "due, before the random time");
    schedule_decide(&d, &c, &f, MONDAY + 60 * DAY + 5000);
    is_int(d.action, SCHEDULE_SIGN, "due, at the random time: resubmit");
    f.next_attempt = MONDAY + 61 * DAY;
    f.failures = 1;
    schedule_decide(&d, &c, &f, MONDAY + 60 * DAY + 6000);
    is_int(d.action, SCHEDULE_NOTHING, "backoff holds the resubmission");
    f.resubmit[0] = MONDAY + 70 * DAY;
    f.resubmit[1] = MONDAY + 71 * DAY;
    schedule_decide(&d, &c, &f, MONDAY + 61 * DAY);
    is_int(d.action, SCHEDULE_SIGN,
           "backoff over: retried then, not at a new random time");
    f = deployed_facts();
    f.ari_time = MONDAY + 40 * DAY;
    f.resubmit[0] = MONDAY + 45 * DAY;
    schedule_decide(&d, &c, &f, MONDAY + 39 * DAY);
    is_int(d.action, SCHEDULE_NOTHING, "before the ARI moment: nothing");
    schedule_decide(&d, &c, &f, MONDAY + 40 * DAY);
    is_int(d.action, SCHEDULE_SIGN,
           "ARI moment earlier than 2/3: signs then, no extra random wait");
    f.ari_time = MONDAY + 70 * DAY;
    schedule_decide(&d, &c, &f, MONDAY + 60 * DAY + 10);
    is_int(d.renewal_due, MONDAY + 60 * DAY, "ARI later than 2/3: ignored");
    f = deployed_facts();
    f.resubmit[0] = MONDAY + 200 * DAY;
    schedule_decide(&d, &c, &f, MONDAY + 90 * DAY - 30);
    is_int(d.action, SCHEDULE_SIGN,
           "about to expire: no waiting for a random time");
    c.automated = 0;
    f = deployed_facts();
    schedule_decide(&d, &c, &f, MONDAY + 80 * DAY);
    is_int(d.action, SCHEDULE_NOTHING, "manual mode: never acts");
    is_int(d.renewal_due, MONDAY + 60 * DAY, "but knows it is due");
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    test_due();
    test_slots();
    test_parse();
    test_backoff();
    test_resubmit();
    test_decide();
    return done_testing();
}
