/* schedule.c — see schedule.h. */
#include "base/schedule.h"

#include <string.h>
#include <strings.h>
#include <time.h>

#define DAY 86400
#define HALF_DAY 43200
#define MIN_PERIOD 300

apr_int64_t schedule_renewal_due(apr_int64_t not_before, apr_int64_t not_after)
{
    apr_int64_t life = not_after - not_before;
    if (life < 10 * DAY)
        return not_before + life / 2;
    return not_before + life / 3 * 2;
}

apr_int64_t schedule_next_slot(const schedule_conf_t *conf, apr_int64_t t)
{
    if (conf->days == 0)
        return 0;
    time_t start = (time_t)t;
    struct tm tm;
    localtime_r(&start, &tm);
    tm.tm_hour = conf->minute_of_day / 60;
    tm.tm_min = conf->minute_of_day % 60;
    tm.tm_sec = 0;
    for (int i = 0; i < 8; i++) {
        struct tm day = tm;
        day.tm_mday += i;
        day.tm_isdst = -1;
        time_t slot = mktime(&day);
        struct tm check;
        localtime_r(&slot, &check);
        if (slot >= start && (conf->days & (1u << check.tm_wday)))
            return (apr_int64_t)slot;
    }
    return 0;
}

static void decide_pending(schedule_decision_t *out,
                           const schedule_conf_t *conf,
                           const schedule_facts_t *f, apr_int64_t now)
{
    out->next_slot = schedule_next_slot(conf, f->pending_signed);
    if (f->next_attempt > now) {
        out->why = "waiting after a failed attempt";
    } else if (out->next_slot != 0 && now >= out->next_slot) {
        out->action = SCHEDULE_DEPLOY;
        out->why = "deploy slot reached";
    } else if (f->has_deployed && f->not_after <= out->next_slot) {
        out->action = SCHEDULE_DEPLOY;
        out->why = "deployed at once: the current certificate expires "
                   "before the next deploy slot";
    } else {
        out->why = "pending certificate waits for the next deploy slot";
    }
}

static void decide_renewal(schedule_decision_t *out, const schedule_facts_t *f,
                           apr_int64_t now)
{
    apr_int64_t due = out->renewal_due;
    /* The ARI moment is already a random time the CA chose the window
     * for: no second draw on top of it. */
    int by_ari = f->ari_time > 0 && f->ari_time < due;
    if (by_ari)
        due = f->ari_time;
    out->renewal_due = due;
    apr_int64_t chance = f->resubmit[0];
    if (f->resubmit[1] > 0 && (chance == 0 || f->resubmit[1] < chance))
        chance = f->resubmit[1];
    if (now < due) {
        out->why = "renewal not due yet";
    } else if (f->next_attempt > now && f->next_attempt < f->not_after) {
        /* (a wait that outlasts the certificate counts for nothing) */
        out->why = "waiting after a failed attempt";
    } else if (f->failures > 0) {
        out->action = SCHEDULE_SIGN;
        out->why = "renewal due: trying again after a failed attempt";
    } else if (by_ari) {
        out->action = SCHEDULE_SIGN;
        out->why = "inside the CA's renewal window (ARI)";
    } else if ((chance > 0 && chance <= now) || now >= f->not_after - 60) {
        out->action = SCHEDULE_SIGN;
        out->why = "renewal due: resubmitting the CSR";
    } else {
        out->why = "renewal due: waiting for the next random resubmission "
                   "time";
    }
}

void schedule_decide(schedule_decision_t *out, const schedule_conf_t *conf,
                     const schedule_facts_t *f, apr_int64_t now)
{
    memset(out, 0, sizeof(*out));
    out->action = SCHEDULE_NOTHING;
    if (f->has_deployed)
        out->renewal_due = schedule_renewal_due(f->not_before, f->not_after);
    if (!conf->automated) {
        out->why = "automated renewal is off";
        return;
    }
    if (f->has_pending) {
        decide_pending(out, conf, f, now);
        return;
    }
    out->next_slot = schedule_next_slot(conf, now);
    if (!f->has_deployed) {
        if (!f->has_csr)
            out->why = "no CSR to sign";
        else if (f->next_attempt > now)
            out->why = "waiting after a failed attempt";
        else {
            out->action = SCHEDULE_SIGN;
            out->why = "initial certificate";
        }
        return;
    }
    decide_renewal(out, f, now);
}

void schedule_plan_resubmit(apr_int64_t out[2], apr_int64_t now,
                            apr_int64_t due, apr_int64_t not_after,
                            unsigned (*random_below)(unsigned bound))
{
    apr_int64_t period = HALF_DAY;
    apr_int64_t window = not_after - (due > now ? due : now);
    /* At least three chances before expiry, however short the life. */
    if (window < 4 * period)
        period = window / 4;
    if (period < MIN_PERIOD)
        period = MIN_PERIOD;
    apr_int64_t base = due > now ? due : now;
    for (int i = 0; i < 2; i++)
        out[i] = base + i * period + random_below((unsigned)period);
}

apr_int64_t schedule_backoff(int failures,
                             unsigned (*random_below)(unsigned bound))
{
    static const apr_int64_t steps[] = {60, 600, 6000, DAY};
    int i = failures < 1 ? 0 : failures > 4 ? 3 : failures - 1;
    apr_int64_t base = steps[i];
    /* +-25 %: peers and certificates that failed together spread out. */
    return base * 3 / 4 + random_below((unsigned)(base / 2 + 1));
}

unsigned schedule_parse_days(const char *list)
{
    static const char *const names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat"};
    unsigned mask = 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        int found = -1;
        for (int d = 0; d < 7; d++) {
            if (n == 3 && strncasecmp(p, names[d], 3) == 0)
                found = d;
        }
        if (found < 0)
            return 0;
        mask |= 1u << found;
        p += n;
        if (*p == ',')
            p++;
    }
    return mask;
}

int schedule_day_names(unsigned mask, const char *names[7])
{
    static const char *const week[] = {"mon", "tue", "wed", "thu",
                                       "fri", "sat", "sun"};
    int n = 0;
    for (int i = 0; i < 7; i++) {
        if (mask & (1u << ((i + 1) % 7))) /* bit 0 is Sunday */
            names[n++] = week[i];
    }
    return n;
}

int schedule_parse_time(const char *hhmm)
{
    if (strlen(hhmm) != 5 || hhmm[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++) {
        if (i != 2 && (hhmm[i] < '0' || hhmm[i] > '9'))
            return -1;
    }
    int h = (hhmm[0] - '0') * 10 + hhmm[1] - '0';
    int m = (hhmm[3] - '0') * 10 + hhmm[4] - '0';
    if (h > 23 || m > 59)
        return -1;
    return h * 60 + m;
}
