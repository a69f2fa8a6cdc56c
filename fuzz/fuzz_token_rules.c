/* Token, key authorization and host rules, the one check on every trust
 * boundary: what they accept is safe to store and to put in a header. */
#include "fuzz.h"

#include "token_rules.h"

static int b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    if (token_rules_token_valid(s, size)) {
        if (size == 0 || size > TOKEN_RULES_TOKEN_MAX)
            abort();
        for (size_t i = 0; i < size; i++) {
            if (!b64url_char(data[i]))
                abort();
        }
    }
    if (token_rules_keyauth_valid(s, size) &&
        (size == 0 || size > TOKEN_RULES_KEYAUTH_MAX))
        abort();
    if (token_rules_host_valid(s, size)) {
        if (size == 0 || size > TOKEN_RULES_HOST_MAX)
            abort();
        for (size_t i = 0; i < size; i++) {
            if (data[i] <= ' ' || data[i] >= 0x7f || data[i] == '/')
                abort(); /* would break a header or a URL */
        }
        const char *h = s;
        size_t n = size;
        token_rules_host_bare(&h, &n);
        if (h < s || h + n > s + size || !token_rules_host_equal(h, n, h, n))
            abort();
    }
    size_t half = size / 2;
    if (token_rules_host_equal(s, half, s + half, size - half) !=
        token_rules_host_equal(s + half, size - half, s, half))
        abort();
    return 0;
}
