/* clock.c — see clock.h. */
#include "base/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#define CLOCK_FAKE_MAX (1ULL << 40)

apr_int64_t clock_now(void)
{
    const char *fake = getenv("EXPACME_TEST_NOW");
    if (fake != NULL && *fake >= '0' && *fake <= '9') {
        char *end = NULL;
        errno = 0;
        unsigned long long t = strtoull(fake, &end, 10);
        if (errno == 0 && *end == '\0' && t <= CLOCK_FAKE_MAX)
            return (apr_int64_t)t;
    }
    return (apr_int64_t)time(NULL);
}
