/* base64url: whatever decodes re-encodes to exactly the input (only
 * canonical encodings are accepted). */
#include "fuzz.h"

#include "base/base64url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool_new();
    char *s = fuzz_cstring(data, size, pool);
    unsigned char *out = NULL;
    apr_size_t len = 0;
    if (base64url_decode(&out, &len, s, pool) == APR_SUCCESS) {
        const char *again = base64url_encode(pool, out, len);
        if (strlen(s) == size && strcmp(again, s) != 0)
            abort();
    }
    const char *enc = base64url_encode(pool, data, size);
    if (base64url_decode(&out, &len, enc, pool) != APR_SUCCESS || len != size ||
        (size > 0 && memcmp(out, data, size) != 0))
        abort();
    apr_pool_destroy(pool);
    return 0;
}
