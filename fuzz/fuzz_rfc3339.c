/* RFC 3339 timestamps (ARI windows, order expiry): -1 or a time. */
#include "fuzz.h"

#include "acme/acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool_new();
    apr_int64_t t = acme_parse_rfc3339(fuzz_cstring(data, size, pool));
    if (t < -1)
        abort();
    apr_pool_destroy(pool);
    return 0;
}
