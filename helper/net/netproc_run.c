/* netproc_run.c — see netproc_run.h. */
#include "net/netproc_run.h"

#include <stdio.h>
#include <string.h>

#include "apr_hash.h"
#include "apr_strings.h"

#include "acme/acme_account.h"
#include "acme/acme_ca.h"
#include "acme/acme_order.h"
#include "base/json_pool.h"
#include "crypto/crypt_chain.h"
#include "crypto/crypt_csr.h"
#include "net/net_proto.h"
#include "net/net_wire.h"

static apr_status_t refuse(netproc_thread_t *t, const char *why,
                           apr_pool_t *pool)
{
    return net_wire_send_failed(t->root_fd, APR_EINVAL, why, NULL, pool);
}

static void progress_send(void *baton, const char *fmt, ...)
{
    netproc_thread_t *t = baton;
    apr_pool_t *pool = NULL;
    apr_pool_create(&pool, t->pool);
    va_list ap;
    va_start(ap, fmt);
    const char *line = apr_pvsprintf(pool, fmt, ap);
    va_end(ap);
    wire_out_t w;
    wire_begin(&w, NET_PROGRESS, pool);
    wire_put_str(&w, strlen(line) < NET_STR_MAX ? line : "(progress too long)");
    wire_send(t->root_fd, &w);
    apr_pool_destroy(pool);
}

/* jws_sign_fn: the bytes go to the key process, the signature comes
 * back; the key never comes here. */
static apr_status_t sign_remote(unsigned char **sig, apr_size_t *sig_len,
                                const void *data, apr_size_t len, void *baton,
                                apr_pool_t *pool)
{
    netproc_key_t *key = baton;
    wire_out_t w;
    wire_in_t in;
    wire_begin(&w, KEY_SIGN, pool);
    wire_put_int(&w, key->slot);
    wire_put_bytes(&w, data, len);
    const unsigned char *p = NULL;
    const char *why = NULL;
    if (wire_send(key->thread->key_fd, &w) != APR_SUCCESS ||
        wire_recv(&in, key->thread->key_fd, 16 * 1024, -1, pool) != APR_SUCCESS)
        return APR_EGENERAL;
    if (in.type == KEY_REFUSED && wire_get_str(&in, &why, 1024, pool) && why)
        snprintf(key->thread->key_refused, sizeof(key->thread->key_refused),
                 "%s", why);
    if (in.type != KEY_SIGNATURE || !wire_get_bytes(&in, &p, sig_len, 8192) ||
        !wire_done(&in))
        return APR_EGENERAL;
    *sig = apr_pmemdup(pool, p, *sig_len);
    return APR_SUCCESS;
}

/* The shared view of a directory, opened by the first thread that asks
 * (the others wait for that one fetch); one that failed is not kept. */
static apr_status_t view_get(acme_ca_t **out, netproc_t *np, const char *dir,
                             const acme_options_t *options, const char **err,
                             apr_pool_t *pool)
{
    pthread_mutex_lock(&np->views_lock);
    acme_ca_t *ca = apr_hash_get(np->views, dir, APR_HASH_KEY_STRING);
    apr_status_t rv = APR_SUCCESS;
    if (ca == NULL) {
        acme_options_t quiet = *options;
        const char *open_err = NULL;
        quiet.progress = NULL;
        quiet.progress_baton = NULL;
        if (quiet.http.ca_pem != NULL)
            quiet.http.ca_pem =
                apr_pmemdup(np->pool, quiet.http.ca_pem, quiet.http.ca_pem_len);
        const char *key = apr_pstrdup(np->pool, dir);
        rv = acme_ca_open(&ca, key, &quiet, &open_err, np->pool);
        if (rv == APR_SUCCESS)
            apr_hash_set(np->views, key, APR_HASH_KEY_STRING, ca);
        else
            *err = apr_pstrdup(pool, open_err);
    }
    pthread_mutex_unlock(&np->views_lock);
    *out = rv == APR_SUCCESS ? ca : NULL;
    return rv;
}

/* A CA's string as root accepts it, or none: an oversized one is no
 * reason for root to give up on this process. */
const char *netproc_fit(const char *s)
{
    return s != NULL && strlen(s) < NET_STR_MAX ? s : NULL;
}

static void send_opened(netproc_thread_t *t, apr_pool_t *pool)
{
    const acme_session_t *s = t->session;
    wire_out_t w;
    wire_begin(&w, NET_OPENED, pool);
    wire_put_str(&w, netproc_fit(s->terms_of_service));
    wire_put_str(&w, netproc_fit(s->renewal_info_url));
    wire_put_str(&w, netproc_fit(s->revoke_cert_url));
    wire_send(t->root_fd, &w);
}

static void on_open(netproc_thread_t *t, wire_in_t *in, apr_pool_t *pool)
{
    const char *dir = NULL, *err = NULL;
    const unsigned char *ca = NULL;
    apr_size_t ca_len = 0;
    apr_int64_t connect_s = 0, total_s = 0, shared = 0;
    if (!wire_get_str(in, &dir, NET_STR_MAX, pool) || dir == NULL ||
        !wire_get_bytes(in, &ca, &ca_len, NET_PEM_MAX) ||
        !wire_get_int(in, &connect_s, 1, 3600) ||
        !wire_get_int(in, &total_s, 1, 3600) ||
        !wire_get_int(in, &shared, 0, 1) || !wire_done(in)) {
        refuse(t, "malformed NET_OPEN", pool);
        return;
    }
    if (t->session_pool != NULL)
        apr_pool_destroy(t->session_pool);
    t->session = NULL;
    apr_pool_create(&t->session_pool, t->pool);
    acme_options_t o;
    memset(&o, 0, sizeof(o));
    o.http.connect_timeout_s = (long)connect_s;
    o.http.total_timeout_s = (long)total_s;
    o.http.ca_pem = ca_len ? apr_pmemdup(t->session_pool, ca, ca_len) : NULL;
    o.http.ca_pem_len = ca_len;
    o.http.interrupted = t->np->interrupted;
    o.progress = progress_send;
    o.progress_baton = t;
    acme_ca_t *view = NULL;
    dir = apr_pstrdup(t->session_pool, dir);
    apr_status_t rv =
        shared ? view_get(&view, t->np, dir, &o, &err, pool)
               : acme_session_open(&t->session, dir, &o, &err, t->session_pool);
    if (rv == APR_SUCCESS && shared)
        rv = acme_ca_attach(&t->session, view, &o, &err, t->session_pool);
    if (rv != APR_SUCCESS) {
        t->session = NULL;
        net_wire_send_failed(t->root_fd, rv, err, NULL, pool);
        return;
    }
    send_opened(t, pool);
}

/* A signer of this thread: slot, alg and public JWK as root sent them. */
static int read_signer(jws_signer_t *signer, netproc_key_t *key,
                       netproc_thread_t *t, wire_in_t *in, int with_kid)
{
    apr_int64_t slot = 0;
    const char *alg = NULL, *jwk = NULL, *kid = NULL;
    apr_pool_t *pool = t->session_pool;
    if (!wire_get_int(in, &slot, 0, NET_SLOTS - 1) ||
        !wire_get_str(in, &alg, 16, pool) || alg == NULL ||
        !wire_get_str(in, &jwk, NET_STR_MAX, pool) || jwk == NULL ||
        (with_kid && !wire_get_str(in, &kid, NET_STR_MAX, pool)) ||
        !wire_done(in))
        return 0;
    json_t *parsed = json_loads(jwk, 0, NULL);
    if (!json_is_object(parsed)) {
        json_decref(parsed);
        return 0;
    }
    key->thread = t;
    key->slot = (int)slot;
    memset(signer, 0, sizeof(*signer));
    signer->alg = alg;
    signer->jwk = json_pool_bind(parsed, pool);
    signer->kid = kid;
    signer->sign = sign_remote;
    signer->baton = key;
    return 1;
}

static void send_ok(netproc_thread_t *t, apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, NET_OK, pool);
    wire_send(t->root_fd, &w);
}

static void on_signer(netproc_thread_t *t, wire_in_t *in, apr_pool_t *pool)
{
    if (!read_signer(&t->session->signer, &t->account, t, in, 1)) {
        refuse(t, "malformed NET_SIGNER", pool);
        return;
    }
    send_ok(t, pool);
}

static void send_account(netproc_thread_t *t, const char *url,
                         const json_t *account, apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, NET_ACCOUNT, pool);
    wire_put_str(&w, netproc_fit(url));
    /* What root accepts, or nothing: a CA's odd status is no reason for
     * root to give up on this process. */
    const char *status = json_string_value(json_object_get(account, "status"));
    wire_put_str(&w, status && strlen(status) <= 64 ? status : NULL);
    const json_t *contact = json_object_get(account, "contact");
    apr_array_header_t *list = apr_array_make(pool, 2, sizeof(const char *));
    for (size_t i = 0; json_is_array(contact) && i < json_array_size(contact);
         i++) {
        const char *c = json_string_value(json_array_get(contact, i));
        if (c != NULL && strlen(c) < NET_STR_MAX && list->nelts < NET_LIST_MAX)
            APR_ARRAY_PUSH(list, const char *) = c;
    }
    net_wire_put_strings(&w, list);
    wire_send(t->root_fd, &w);
}

static void on_register(netproc_thread_t *t, wire_in_t *in, apr_pool_t *pool)
{
    const char *email = NULL, *eab_kid = NULL, *url = NULL, *err = NULL;
    apr_int64_t agree = 0, slot = 0;
    if (!wire_get_str(in, &email, NET_STR_MAX, pool) ||
        !wire_get_int(in, &agree, 0, 1) ||
        !wire_get_str(in, &eab_kid, NET_STR_MAX, pool) ||
        !wire_get_int(in, &slot, 0, NET_SLOTS - 1) || !wire_done(in)) {
        refuse(t, "malformed NET_REGISTER", pool);
        return;
    }
    t->eab = (netproc_key_t){t, (int)slot};
    acme_eab_t eab = {eab_kid, NULL, 0, sign_remote, &t->eab};
    json_t *account = NULL;
    apr_status_t rv =
        acme_account_register(&url, &account, t->session, email, (int)agree,
                              eab_kid ? &eab : NULL, &err, pool);
    if (rv != APR_SUCCESS) {
        net_wire_send_failed(t->root_fd, rv, err, t->session->problem, pool);
        return;
    }
    t->session->signer.kid = apr_pstrdup(t->session_pool, url);
    send_account(t, url, account, pool);
}

typedef apr_status_t account_fn(json_t **account, acme_session_t *session,
                                const char **err, apr_pool_t *pool);

static void on_account(netproc_thread_t *t, wire_in_t *in, account_fn *fn,
                       apr_pool_t *pool)
{
    const char *err = NULL;
    json_t *account = NULL;
    if (!wire_done(in)) {
        refuse(t, "malformed account request", pool);
        return;
    }
    apr_status_t rv = fn(&account, t->session, &err, pool);
    if (rv != APR_SUCCESS)
        net_wire_send_failed(t->root_fd, rv, err, t->session->problem, pool);
    else
        send_account(t, t->session->signer.kid, account, pool);
}

static void on_key_change(netproc_thread_t *t, wire_in_t *in, apr_pool_t *pool)
{
    jws_signer_t next;
    const char *err = NULL;
    if (!read_signer(&next, &t->next, t, in, 0)) {
        refuse(t, "malformed NET_KEY_CHANGE", pool);
        return;
    }
    apr_status_t rv = acme_account_key_change(t->session, &next, &err, pool);
    if (rv != APR_SUCCESS)
        net_wire_send_failed(t->root_fd, rv, err, t->session->problem, pool);
    else
        send_ok(t, pool);
}

static void on_revoke(netproc_thread_t *t, wire_in_t *in, apr_pool_t *pool)
{
    const char *cert = NULL, *err = NULL;
    apr_int64_t reason = 0;
    if (!wire_get_str(in, &cert, NET_PEM_MAX, pool) || cert == NULL ||
        !wire_get_int(in, &reason, 0, 10) || !wire_done(in)) {
        refuse(t, "malformed NET_REVOKE", pool);
        return;
    }
    if (t->session->revoke_cert_url == NULL) {
        refuse(t, "this CA offers no revokeCert", pool);
        return;
    }
    json_t *payload =
        json_pool_bind(json_pack("{s:s, s:I}", "certificate", cert, "reason",
                                 (json_int_t)reason),
                       pool);
    http_response_t *resp = NULL;
    apr_status_t rv = acme_post(&resp, t->session, t->session->revoke_cert_url,
                                payload, NULL, &err, pool);
    if (rv != APR_SUCCESS) {
        net_wire_send_failed(t->root_fd, rv, err, t->session->problem, pool);
        return;
    }
    wire_out_t w;
    wire_begin(&w, NET_REVOKED, pool);
    wire_put_int(&w, resp->status);
    wire_send(t->root_fd, &w);
}

static void on_renewal_info(netproc_thread_t *t, wire_in_t *in,
                            apr_pool_t *pool)
{
    const char *id = NULL, *err = NULL;
    apr_int64_t start = 0, end = 0;
    long retry = -1;
    if (!wire_get_str(in, &id, NET_STR_MAX, pool) || id == NULL ||
        !wire_done(in)) {
        refuse(t, "malformed NET_ARI", pool);
        return;
    }
    apr_status_t rv =
        acme_renewal_info(&start, &end, &retry, t->session, id, &err, pool);
    if (rv != APR_SUCCESS) {
        net_wire_send_failed(t->root_fd, rv, err ? err : "no renewalInfo",
                             t->session->problem, pool);
        return;
    }
    wire_out_t w;
    wire_begin(&w, NET_RENEWAL, pool);
    wire_put_int(&w, start);
    wire_put_int(&w, end);
    wire_put_int(&w, retry);
    wire_send(t->root_fd, &w);
}

void netproc_run(netproc_thread_t *t, wire_in_t *in, apr_pool_t *pool)
{
    t->key_refused[0] = '\0';
    if (in->type == NET_OPEN) {
        on_open(t, in, pool);
        return;
    }
    if (t->session == NULL) {
        refuse(t, "no session: NET_OPEN first", pool);
        return;
    }
    switch (in->type) {
    case NET_SIGNER:
        on_signer(t, in, pool);
        break;
    case NET_REGISTER:
        on_register(t, in, pool);
        break;
    case NET_FETCH:
        on_account(t, in, acme_account_fetch, pool);
        break;
    case NET_DEACTIVATE:
        on_account(t, in, acme_account_deactivate, pool);
        break;
    case NET_KEY_CHANGE:
        on_key_change(t, in, pool);
        break;
    case NET_ORDER:
        netproc_order(t, in, pool);
        break;
    case NET_REVOKE:
        on_revoke(t, in, pool);
        break;
    case NET_ARI:
        on_renewal_info(t, in, pool);
        break;
    default:
        refuse(t, "unknown request", pool);
    }
}
