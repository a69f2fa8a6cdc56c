/* RFC 7807 problem documents as a CA sends them, then the one line the
 * helper prints from one (escaped, capped). */
#include "fuzz.h"

#include "acme/acme.h"
#include "acme/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool_new();
    http_response_t resp;
    memset(&resp, 0, sizeof(resp));
    resp.status = 400;
    resp.body = fuzz_cstring(data, size, pool);
    resp.body_len = size;
    resp.content_type = "application/problem+json";
    resp.links = apr_array_make(pool, 0, sizeof(http_link_t));
    acme_problem_t *p = acme_problem_parse(&resp, pool);
    if (p != NULL) {
        const char *text = acme_problem_text(p, pool);
        for (const char *c = text; c && *c; c++) {
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                abort(); /* CA strings must come out escaped */
        }
    }
    apr_pool_destroy(pool);
    return 0;
}
