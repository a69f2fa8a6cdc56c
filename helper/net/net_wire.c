/* net_wire.c — see net_wire.h. */
#include "net/net_wire.h"

#include "net/net_proto.h"

static int get_str(wire_in_t *in, const char **s, apr_pool_t *pool)
{
    return wire_get_str(in, s, NET_STR_MAX, pool);
}

void net_wire_put_problem(wire_out_t *w, const acme_problem_t *p)
{
    wire_put_int(w, p != NULL);
    if (p == NULL)
        return;
    wire_put_int(w, p->http_status);
    wire_put_str(w, p->type);
    wire_put_str(w, p->detail);
    wire_put_int(w, p->retry_after_s);
    int n = p->subproblems ? p->subproblems->nelts : 0;
    wire_put_int(w, n);
    for (int i = 0; i < n; i++) {
        const acme_subproblem_t *s =
            &APR_ARRAY_IDX(p->subproblems, i, acme_subproblem_t);
        wire_put_str(w, s->identifier);
        wire_put_str(w, s->type);
        wire_put_str(w, s->detail);
    }
}

int net_wire_get_problem(wire_in_t *in, acme_problem_t **out, apr_pool_t *pool)
{
    apr_int64_t present = 0, status = 0, retry = 0, n = 0;
    *out = NULL;
    if (!wire_get_int(in, &present, 0, 1))
        return 0;
    if (!present)
        return 1;
    acme_problem_t *p = apr_pcalloc(pool, sizeof(*p));
    if (!wire_get_int(in, &status, 0, 999) || !get_str(in, &p->type, pool) ||
        !get_str(in, &p->detail, pool) ||
        !wire_get_int(in, &retry, -1, 1L << 40) ||
        !wire_get_int(in, &n, 0, NET_LIST_MAX))
        return 0;
    p->http_status = (int)status;
    p->retry_after_s = (long)retry;
    p->subproblems =
        apr_array_make(pool, (int)n + 1, sizeof(acme_subproblem_t));
    for (apr_int64_t i = 0; i < n; i++) {
        acme_subproblem_t *s = apr_array_push(p->subproblems);
        if (!get_str(in, &s->identifier, pool) ||
            !get_str(in, &s->type, pool) || !get_str(in, &s->detail, pool))
            return 0;
    }
    *out = p;
    return 1;
}

void net_wire_put_challenges(wire_out_t *w, const apr_array_header_t *list)
{
    wire_put_int(w, list->nelts);
    for (int i = 0; i < list->nelts; i++) {
        const acme_challenge_t *c = &APR_ARRAY_IDX(list, i, acme_challenge_t);
        wire_put_str(w, c->type);
        wire_put_str(w, c->host);
        wire_put_str(w, c->name);
        wire_put_str(w, c->token);
        wire_put_str(w, c->keyauth);
    }
}

int net_wire_get_challenges(wire_in_t *in, apr_array_header_t **out,
                            apr_pool_t *pool)
{
    apr_int64_t n = 0;
    *out = NULL;
    if (!wire_get_int(in, &n, 0, NET_LIST_MAX))
        return 0;
    apr_array_header_t *list =
        apr_array_make(pool, (int)n + 1, sizeof(acme_challenge_t));
    for (apr_int64_t i = 0; i < n; i++) {
        acme_challenge_t *c = apr_array_push(list);
        if (!get_str(in, &c->type, pool) || !get_str(in, &c->host, pool) ||
            !get_str(in, &c->name, pool) || !get_str(in, &c->token, pool) ||
            !get_str(in, &c->keyauth, pool) || c->type == NULL ||
            c->host == NULL || c->name == NULL || c->token == NULL ||
            c->keyauth == NULL)
            return 0;
    }
    *out = list;
    return 1;
}

apr_status_t net_wire_send_failed(int fd, apr_status_t status, const char *err,
                                  const acme_problem_t *problem,
                                  apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, NET_FAILED, pool);
    wire_put_int(&w, status == APR_SUCCESS ? APR_EGENERAL : status);
    wire_put_str(&w, err ? err : "failed");
    net_wire_put_problem(&w, problem);
    return wire_send(fd, &w);
}

int net_wire_get_failed(wire_in_t *in, apr_status_t *status, const char **err,
                        acme_problem_t **problem, apr_pool_t *pool)
{
    apr_int64_t st = 0;
    if (!wire_get_int(in, &st, 1, 1L << 31) || !get_str(in, err, pool) ||
        *err == NULL || !net_wire_get_problem(in, problem, pool) ||
        !wire_done(in))
        return 0;
    *status = (apr_status_t)st;
    return 1;
}

void net_wire_put_strings(wire_out_t *w, const apr_array_header_t *list)
{
    int n = list ? list->nelts : 0;
    wire_put_int(w, n);
    for (int i = 0; i < n; i++)
        wire_put_str(w, APR_ARRAY_IDX(list, i, const char *));
}

int net_wire_get_strings(wire_in_t *in, apr_array_header_t **out,
                         apr_pool_t *pool)
{
    apr_int64_t n = 0;
    *out = NULL;
    if (!wire_get_int(in, &n, 0, NET_LIST_MAX))
        return 0;
    apr_array_header_t *list =
        apr_array_make(pool, (int)n + 1, sizeof(const char *));
    for (apr_int64_t i = 0; i < n; i++) {
        const char *s = NULL;
        if (!get_str(in, &s, pool) || s == NULL)
            return 0;
        APR_ARRAY_PUSH(list, const char *) = s;
    }
    *out = list;
    return 1;
}
