/* crypt_random.c — a uniform random number below a bound (see
 * crypt_random.h). */
#include "crypto/crypt_random.h"

#include <stdint.h>

#include <openssl/rand.h>

unsigned crypt_random_below(unsigned bound)
{
    if (bound == 0)
        return 0;
    /* Rejection sampling: no modulo bias. */
    unsigned limit = UINT32_MAX - UINT32_MAX % bound;
    for (;;) {
        uint32_t r = 0;
        if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
            return 0;
        if (r < limit)
            return r % bound;
    }
}
