/* Retry-After (seconds or an HTTP date) and Link headers: the first line
 * of the input is one, the rest the other. */
#include "fuzz.h"

#include "acme/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool_new();
    char *text = fuzz_cstring(data, size, pool);
    char *link = strchr(text, '\n');
    if (link != NULL)
        *link++ = '\0';
    long s = http_retry_after_seconds(text, apr_time_from_sec(1700000000));
    if (s < -1)
        abort();
    apr_array_header_t *links = apr_array_make(pool, 4, sizeof(http_link_t));
    http_links_parse(links, link ? link : text, pool);
    for (int i = 0; i < links->nelts; i++) {
        const http_link_t *l = &APR_ARRAY_IDX(links, i, http_link_t);
        if (l->url == NULL || l->rel == NULL || strchr(l->url, '>') != NULL)
            abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
