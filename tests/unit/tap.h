/* tap.h — just enough TAP for the unit tests: `ok`, `is_int`, `is_str`,
 * and a plan printed at the end (done_testing). */
#ifndef EXPACME_TAP_H
#define EXPACME_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static int tap_ok(int cond, const char *what, const char *file, int line)
{
    tap_count++;
    if (cond) {
        printf("ok %d - %s\n", tap_count, what);
    } else {
        tap_failed++;
        printf("not ok %d - %s\n#   at %s line %d\n", tap_count, what, file,
               line);
    }
    fflush(stdout);
    return cond;
}

#define ok(cond, what) tap_ok((cond) != 0, (what), __FILE__, __LINE__)
#define is_int(got, want, what)                                                \
    do {                                                                       \
        long long got_ = (long long)(got), want_ = (long long)(want);          \
        if (!ok(got_ == want_, what))                                          \
            printf("#   got %lld, want %lld\n", got_, want_);                  \
    } while (0)
#define is_str(got, want, what)                                                \
    do {                                                                       \
        const char *got_ = (got), *want_ = (want);                             \
        int same_ = got_ != NULL && want_ != NULL && strcmp(got_, want_) == 0; \
        if (!ok(same_, what))                                                  \
            printf("#   got '%s', want '%s'\n", got_ ? got_ : "(null)",        \
                   want_ ? want_ : "(null)");                                  \
    } while (0)

static int done_testing(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed == 0 && tap_count > 0 ? 0 : 1;
}

#endif
