/* base64url.c — RFC 4648 §5 without padding (see base64url.h).  Written
 * here rather than taken from APR or OpenSSL: both speak standard base64
 * with padding and tolerate input JOSE must refuse. */
#include "base/base64url.h"

#include "apr_errno.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

const char *base64url_encode(apr_pool_t *pool, const void *data, apr_size_t len)
{
    const unsigned char *in = data;
    char *out = apr_palloc(pool, (len + 2) / 3 * 4 + 1);
    char *p = out;
    apr_size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 |
                          (unsigned long)in[i + 1] << 8 | in[i + 2];
        *p++ = alphabet[v >> 18 & 63];
        *p++ = alphabet[v >> 12 & 63];
        *p++ = alphabet[v >> 6 & 63];
        *p++ = alphabet[v & 63];
    }
    if (len - i == 1) {
        unsigned long v = (unsigned long)in[i] << 16;
        *p++ = alphabet[v >> 18 & 63];
        *p++ = alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1]
                                                           << 8;
        *p++ = alphabet[v >> 18 & 63];
        *p++ = alphabet[v >> 12 & 63];
        *p++ = alphabet[v >> 6 & 63];
    }
    *p = '\0';
    return out;
}

/* The 6-bit value of c, or -1 for anything outside the alphabet. */
static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

apr_status_t base64url_decode(unsigned char **out, apr_size_t *out_len,
                              const char *s, apr_pool_t *pool)
{
    apr_size_t len = 0;
    *out = NULL;
    *out_len = 0;
    for (; s[len] != '\0'; len++) {
        if (sextet(s[len]) < 0)
            return APR_EINVAL;
    }
    /* One character carries only 6 bits: never a whole byte. */
    if (len % 4 == 1)
        return APR_EINVAL;
    apr_size_t n = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    unsigned char *buf = apr_palloc(pool, n + 1);
    unsigned long acc = 0;
    int bits = 0;
    apr_size_t o = 0;
    for (apr_size_t i = 0; i < len; i++) {
        acc = (acc << 6 | (unsigned long)sextet(s[i])) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    /* The bits left over must be zero: otherwise two encodings would
     * decode to the same bytes (RFC 4648 §3.5). */
    if ((acc & ((1UL << bits) - 1)) != 0)
        return APR_EINVAL;
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return APR_SUCCESS;
}
