/* What a compromised network process can send root (net/net_wire.h,
 * base/wire.h): the first byte picks the reader, the rest is a frame
 * body.  Whatever the bytes, a reader either refuses them or gives back
 * NUL-free strings within their caps, and never reads past the body. */
#include "fuzz.h"

#include "base/wire.h"
#include "net/net_proto.h"
#include "net/net_wire.h"

static void check_str(const char *s)
{
    if (s != NULL && strlen(s) > NET_STR_MAX)
        abort();
}

static void read_frame(int which, wire_in_t *in, apr_pool_t *pool)
{
    acme_problem_t *problem = NULL;
    apr_array_header_t *list = NULL;
    apr_status_t status = 0;
    const char *err = NULL;
    switch (which % 4) {
    case 0:
        if (net_wire_get_problem(in, &problem, pool) && problem != NULL) {
            check_str(problem->type);
            check_str(problem->detail);
            for (int i = 0; i < problem->subproblems->nelts; i++)
                check_str(
                    APR_ARRAY_IDX(problem->subproblems, i, acme_subproblem_t)
                        .detail);
        }
        break;
    case 1:
        if (net_wire_get_challenges(in, &list, pool))
            for (int i = 0; i < list->nelts; i++)
                check_str(APR_ARRAY_IDX(list, i, acme_challenge_t).keyauth);
        break;
    case 2:
        if (net_wire_get_failed(in, &status, &err, &problem, pool) &&
            (err == NULL || status == 0))
            abort();
        break;
    default:
        if (net_wire_get_strings(in, &list, pool))
            for (int i = 0; i < list->nelts; i++)
                check_str(APR_ARRAY_IDX(list, i, const char *));
    }
    if (in->pos > in->len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    apr_pool_t *pool = fuzz_pool_new();
    wire_in_t in;
    memset(&in, 0, sizeof(in));
    /* A copy of exactly the body: ASan sees a read one byte past it. */
    unsigned char *body = apr_palloc(pool, size - 1 ? size - 1 : 1);
    memcpy(body, data + 1, size - 1);
    in.body = body;
    in.len = size - 1;
    read_frame(data[0], &in, pool);
    apr_pool_destroy(pool);
    return 0;
}
