/* netproc_order.c — NET_ORDER inside the network process: the whole
 * order for root's CSR (its DER and names, nothing to parse here), root
 * asked to publish and withdraw the challenges, and the chain parsed
 * here first (the CA's bytes are parsed where a fault costs nothing);
 * root checks it against the key and names before staging it. */
#include "net/netproc_run.h"

#include <string.h>

#include "apr_strings.h"

#include "acme/acme_order.h"
#include "net/net_proto.h"
#include "net/net_wire.h"

/* Asks root to publish or withdraw; root's answer is 0 or an error. */
static apr_status_t ask_root(netproc_thread_t *t, wire_out_t *w,
                             const char **err, apr_pool_t *pool)
{
    wire_in_t in;
    apr_int64_t ok = 0;
    const char *why = NULL;
    if (wire_send(t->root_fd, w) != APR_SUCCESS ||
        wire_recv(&in, t->root_fd, NET_STR_MAX + 64, -1, pool) != APR_SUCCESS ||
        in.type != NET_PUBLISHED || !wire_get_int(&in, &ok, 0, 1) ||
        !wire_get_str(&in, &why, NET_STR_MAX, pool) || !wire_done(&in)) {
        *err = "root did not answer the publish request";
        return APR_EGENERAL;
    }
    if (ok)
        return APR_SUCCESS;
    *err = why ? why : "root refused";
    return APR_EGENERAL;
}

static apr_status_t publish_remote(void *baton, const apr_array_header_t *list,
                                   apr_int64_t expires, const char **err,
                                   apr_pool_t *pool)
{
    wire_out_t w;
    if (netproc_test_twice()) {
        const char *ignored = NULL;
        wire_begin(&w, NET_PUBLISH, pool);
        wire_put_int(&w, expires);
        net_wire_put_challenges(&w, netproc_test_forge(list, pool));
        ask_root(baton, &w, &ignored, pool);
    } else
        list = netproc_test_forge(list, pool);
    wire_begin(&w, NET_PUBLISH, pool);
    wire_put_int(&w, expires);
    net_wire_put_challenges(&w, list);
    return ask_root(baton, &w, err, pool);
}

static apr_status_t withdraw_remote(void *baton, const apr_array_header_t *list,
                                    const char **err, apr_pool_t *pool)
{
    (void)list; /* root withdraws what it published */
    wire_out_t w;
    wire_begin(&w, NET_WITHDRAW, pool);
    return ask_root(baton, &w, err, pool);
}

typedef struct {
    const char *csr_der, *thumbprint, *profile, *replaces, *chain;
    apr_array_header_t *names;
    apr_int64_t timeout_s;
    apr_array_header_t *types;
} order_args_t;

static int read_order(order_args_t *a, wire_in_t *in, apr_pool_t *pool)
{
    memset(a, 0, sizeof(*a));
    return wire_get_str(in, &a->csr_der, NET_SIGN_MAX, pool) &&
           a->csr_der != NULL && net_wire_get_strings(in, &a->names, pool) &&
           a->names->nelts > 0 && wire_get_str(in, &a->thumbprint, 128, pool) &&
           a->thumbprint != NULL &&
           wire_get_str(in, &a->profile, NET_STR_MAX, pool) &&
           wire_get_str(in, &a->replaces, NET_STR_MAX, pool) &&
           wire_get_str(in, &a->chain, NET_STR_MAX, pool) &&
           wire_get_int(in, &a->timeout_s, 1, 86400) &&
           net_wire_get_strings(in, &a->types, pool) && wire_done(in);
}

static void send_ordered(netproc_thread_t *t, const acme_order_result_t *res,
                         apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, NET_ORDERED, pool);
    wire_put_str(&w, netproc_fit(res->order_url));
    wire_put_str(&w, res->chain_pem);
    wire_put_str(&w, netproc_fit(res->chain_issuer));
    wire_put_int(&w, res->alternates);
    int n = res->validated ? res->validated->nelts : 0;
    wire_put_int(&w, n);
    for (int i = 0; i < n; i++) {
        const acme_validated_t *v =
            &APR_ARRAY_IDX(res->validated, i, acme_validated_t);
        wire_put_str(&w, v->name);
        wire_put_str(&w, v->type);
    }
    wire_send(t->root_fd, &w);
}

void netproc_order(netproc_thread_t *t, wire_in_t *in, apr_pool_t *pool)
{
    order_args_t a;
    const char *err = NULL;
    if (!read_order(&a, in, pool)) {
        net_wire_send_failed(t->root_fd, APR_EINVAL, "malformed NET_ORDER",
                             NULL, pool);
        return;
    }
    acme_publisher_t publisher = {publish_remote, withdraw_remote, t};
    acme_order_request_t req = {
        .csr_der_b64url = netproc_test_forge_csr(a.csr_der, a.names, pool),
        .names = a.names,
        .thumbprint = a.thumbprint,
        .profile = a.profile,
        .replaces = a.replaces,
        .preferred_chain = a.chain,
        .timeout = apr_time_from_sec(a.timeout_s),
        .publisher = &publisher,
        .types = a.types->nelts ? a.types : NULL,
    };
    acme_order_result_t res;
    memset(&res, 0, sizeof(res));
    apr_status_t rv = acme_order_run(&res, t->session, &req, &err, pool);
    if (rv != APR_SUCCESS && t->key_refused[0] != '\0')
        err =
            apr_psprintf(pool, "%s (the key process %s)", err, t->key_refused);
    if (rv != APR_SUCCESS)
        net_wire_send_failed(t->root_fd, rv, err, t->session->problem, pool);
    else
        send_ordered(t, &res, pool);
}
