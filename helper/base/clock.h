/* clock.h — the time renewal decisions use: time(NULL), or
 * $EXPACME_TEST_NOW (epoch seconds), which only the test suite sets, to
 * run years of renewals in seconds. */
#ifndef EXPACME_CLOCK_H
#define EXPACME_CLOCK_H

#include "apr.h"

apr_int64_t clock_now(void);

#endif
