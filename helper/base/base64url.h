/* base64url.h — RFC 4648 §5 base64url without padding, as JOSE and ACME
 * use it. */
#ifndef EXPACME_BASE64URL_H
#define EXPACME_BASE64URL_H

#include "apr_pools.h"

/* NUL-terminated encoding of data[0..len) allocated from pool. */
const char *base64url_encode(apr_pool_t *pool, const void *data,
                             apr_size_t len);

/* Decodes s (no padding, no whitespace); APR_EINVAL on any other
 * character, an impossible length (1 mod 4) or non-zero unused bits in the
 * last character (a non-canonical encoding).  *out is NUL-terminated for
 * convenience; *out_len excludes it. */
apr_status_t base64url_decode(unsigned char **out, apr_size_t *out_len,
                              const char *s, apr_pool_t *pool);

#endif
