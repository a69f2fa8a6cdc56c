/* fuzz.h — what every libFuzzer target here shares: one APR pool per
 * input, created and destroyed around the call, so a leak or a use after
 * the pool shows up under ASan at once. */
#ifndef EXPACME_FUZZ_H
#define EXPACME_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_pools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static apr_pool_t *fuzz_pool_new(void)
{
    static int initialised;
    apr_pool_t *pool = NULL;
    if (!initialised) {
        apr_initialize();
        initialised = 1;
    }
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        abort();
    return pool;
}

/* A NUL-terminated copy: most parsers here take C strings. */
static char *fuzz_cstring(const uint8_t *data, size_t size, apr_pool_t *pool)
{
    char *s = apr_palloc(pool, size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
