/* net_session.c — see net_session.h. */
#include "net/net_session.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "base/json_pool.h"
#include "base/state.h"
#include "crypto/crypt_jose.h"
#include "crypto/crypt_key.h"
#include "net/net_proto.h"
#include "net/net_start.h"
#include "net/net_wire.h"

/* What a request waits for, and what it may be asked meanwhile. */
typedef struct {
    apr_uint32_t want;
    const net_order_t *order; /* NULL: no publishing in this request */
    int published;            /* withdraw still owed */
    int publishes;            /* asked so far: one per order */
} call_t;

static apr_status_t session_release(void *data)
{
    net_session_t *s = data;
    if (s->fd >= 0)
        net_channel_give(s->fd, 0);
    s->fd = -1;
    return APR_SUCCESS;
}

static apr_status_t broken(net_session_t *s, const char *why, const char **err)
{
    *err = why;
    net_channel_give(s->fd, 1);
    s->fd = -1;
    return APR_EGENERAL;
}

static int one_of(const apr_array_header_t *list, const char *s)
{
    for (int i = 0; list != NULL && i < list->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(list, i, const char *), s) == 0)
            return 1;
    return 0;
}

/* A challenge root may publish: for a name of this CSR, of a type this
 * order allows, with this account's key authorization. */
static const char *challenge_fault(const net_order_t *o,
                                   const acme_challenge_t *c, apr_pool_t *pool)
{
    const char *host = strncmp(c->name, "*.", 2) == 0 ? c->name + 2 : c->name;
    if (!one_of(o->names, c->name) || strcmp(host, c->host) != 0)
        return apr_psprintf(pool, "a challenge for a name not in the CSR");
    if (o->types ? !one_of(o->types, c->type) : strcmp(c->type, "http-01"))
        return "a challenge of a type this certificate does not allow";
    if (strcmp(c->keyauth,
               apr_pstrcat(pool, c->token, ".", o->thumbprint, NULL)) != 0)
        return "a key authorization not of this account";
    return NULL;
}

static void answer_publish(net_session_t *s, apr_status_t rv, const char *err,
                           apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, NET_PUBLISHED, pool);
    wire_put_int(&w, rv == APR_SUCCESS);
    wire_put_str(&w, rv == APR_SUCCESS ? NULL : err);
    wire_send(s->fd, &w);
}

#define OUT_OF_TURN "the network process spoke out of turn"

static const char *on_publish(net_session_t *s, call_t *call, wire_in_t *in,
                              apr_pool_t *pool)
{
    apr_int64_t expires = 0;
    apr_array_header_t *list = NULL;
    const char *err = NULL;
    apr_int64_t now = (apr_int64_t)time(NULL);
    /* One publish per order (a second would replace the record of the
     * first, whose tokens then nothing withdraws). */
    if (call->order == NULL || call->publishes++ > 0 ||
        !wire_get_int(in, &expires, now, now + call->order->timeout_s + 3600) ||
        !net_wire_get_challenges(in, &list, pool) || !wire_done(in))
        return OUT_OF_TURN;
    for (int i = 0; i < list->nelts; i++)
        if ((err = challenge_fault(call->order,
                                   &APR_ARRAY_IDX(list, i, acme_challenge_t),
                                   pool)) != NULL)
            return apr_pstrcat(pool, "the network process asked to publish ",
                               err, NULL);
    const acme_publisher_t *p = call->order->publisher;
    call->published = 1;
    apr_status_t rv = p->publish(p->baton, list, expires, &err, pool);
    answer_publish(s, rv, err, pool);
    return NULL;
}

static const char *on_withdraw(net_session_t *s, call_t *call, wire_in_t *in,
                               apr_pool_t *pool)
{
    const char *err = NULL;
    if (call->order == NULL || !call->published || !wire_done(in))
        return OUT_OF_TURN;
    const acme_publisher_t *p = call->order->publisher;
    apr_status_t rv = p->withdraw(p->baton, NULL, &err, pool);
    call->published = rv != APR_SUCCESS;
    answer_publish(s, rv, err, pool);
    return NULL;
}

/* A frame other than the answer: NULL when handled, else what is wrong. */
static const char *on_aside(net_session_t *s, call_t *call, wire_in_t *in,
                            apr_pool_t *pool)
{
    const char *line = NULL;
    switch (in->type) {
    case NET_PROGRESS:
        if (!wire_get_str(in, &line, NET_STR_MAX, pool) || line == NULL ||
            !wire_done(in))
            return OUT_OF_TURN;
        /* Printed on root's terminal: nothing of the network process's
         * reaches it unescaped. */
        if (s->progress != NULL)
            s->progress(s->progress_baton, "%s",
                        acme_escape(line, NET_STR_MAX, pool));
        return NULL;
    case NET_PUBLISH:
        return on_publish(s, call, in, pool);
    case NET_WITHDRAW:
        return on_withdraw(s, call, in, pool);
    default:
        return OUT_OF_TURN;
    }
}

/* How long root waits for an answer: what the network process's own
 * timeouts allow, and then some (it is the backstop against one that
 * hangs); after a signal was passed on, 30 s. */
static apr_time_t deadline_of(const net_session_t *s, const call_t *call)
{
    long seconds = call->order ? call->order->timeout_s + 300
                               : 10 * s->total_timeout_s + 300;
    return apr_time_now() + apr_time_from_sec(seconds);
}

/* Waits for the answer; a signal to root is passed on (the orders then
 * end, withdrawing what they published: each publish or withdraw root
 * does for them gives them the grace again, progress does not). */
static apr_status_t await(wire_in_t *in, net_session_t *s, call_t *call,
                          const char **err, apr_pool_t *pool)
{
    const apr_time_t grace = apr_time_from_sec(5);
    int passed_on = 0;
    apr_time_t deadline = deadline_of(s, call);
    apr_pool_t *frame = NULL; /* the frames aside, one at a time */
    apr_pool_create(&frame, pool);
    for (;;) {
        if (s->interrupted && *s->interrupted && !passed_on++) {
            kill(net_pid(), SIGTERM);
            deadline = apr_time_now() + grace;
        }
        if (apr_time_now() > deadline)
            return broken(s, "the network process did not answer in time", err);
        apr_pool_clear(frame);
        apr_status_t rv = wire_recv(in, s->fd, NET_FRAME_MAX, 250, frame);
        if (rv == APR_TIMEUP)
            continue;
        if (rv != APR_SUCCESS)
            return broken(s, "the network process has gone", err);
        if (in->type == call->want || in->type == NET_FAILED)
            break;
        const char *fault = on_aside(s, call, in, frame);
        if (fault != NULL)
            return broken(s, fault, err);
        if (passed_on && in->type != NET_PROGRESS)
            deadline = apr_time_now() + grace;
    }
    if (in->type == call->want)
        return APR_SUCCESS;
    apr_status_t status = APR_EGENERAL;
    if (!net_wire_get_failed(in, &status, err, &s->problem, pool))
        return broken(s, "the network process sent a malformed answer", err);
    *err = acme_escape(*err, NET_STR_MAX, pool);
    return status;
}

/* One request and its answer (in); the channel is given up when the
 * other side misbehaves, and what was published is withdrawn here. */
static apr_status_t call(wire_in_t *in, net_session_t *s, const wire_out_t *w,
                         call_t *c, const char **err, apr_pool_t *pool)
{
    s->problem = NULL;
    if (s->fd < 0) {
        *err = "the network process has gone";
        return APR_EGENERAL;
    }
    if (wire_send(s->fd, w) != APR_SUCCESS)
        return broken(s, "the network process has gone", err);
    apr_status_t rv = await(in, s, c, err, pool);
    if (c->published) {
        const char *werr = NULL;
        c->order->publisher->withdraw(c->order->publisher->baton, NULL, &werr,
                                      pool);
    }
    return rv;
}

static apr_status_t read_ca_bundle(const char **pem, apr_size_t *len,
                                   const char *path, const char **err,
                                   apr_pool_t *pool)
{
    char *text = NULL;
    *pem = NULL;
    *len = 0;
    if (path == NULL)
        return APR_SUCCESS;
    apr_status_t rv = state_read_file(&text, len, path, NET_PEM_MAX, err, pool);
    *pem = text;
    return rv;
}

static apr_status_t read_opened(net_session_t *s, wire_in_t *in,
                                const char **err)
{
    if (!wire_get_str(in, &s->terms_of_service, NET_STR_MAX, s->pool) ||
        !wire_get_str(in, &s->renewal_info_url, NET_STR_MAX, s->pool) ||
        !wire_get_str(in, &s->revoke_cert_url, NET_STR_MAX, s->pool) ||
        !wire_done(in))
        return broken(s, "the network process sent a malformed answer", err);
    return APR_SUCCESS;
}

apr_status_t net_session_open(net_session_t **out, const net_open_t *o,
                              const char **err, apr_pool_t *pool)
{
    const char *ca = NULL;
    apr_size_t ca_len = 0;
    *out = NULL;
    apr_status_t rv = read_ca_bundle(&ca, &ca_len, o->ca_bundle, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    net_session_t *s = apr_pcalloc(pool, sizeof(*s));
    s->pool = pool;
    s->progress = o->progress;
    s->progress_baton = o->progress_baton;
    s->interrupted = o->interrupted;
    s->total_timeout_s = o->total_timeout_s;
    s->fd = net_channel_take();
    if (s->fd < 0) {
        *err = "the network process has gone";
        return APR_EGENERAL;
    }
    apr_pool_cleanup_register(pool, s, session_release, apr_pool_cleanup_null);
    wire_out_t w;
    wire_in_t in;
    wire_begin(&w, NET_OPEN, pool);
    wire_put_str(&w, o->directory);
    wire_put_bytes(&w, ca, ca_len);
    wire_put_int(&w, o->connect_timeout_s);
    wire_put_int(&w, o->total_timeout_s);
    wire_put_int(&w, o->shared);
    call_t c = {NET_OPENED, NULL, 0, 0};
    rv = call(&in, s, &w, &c, err, pool);
    if (rv == APR_SUCCESS)
        rv = read_opened(s, &in, err);
    if (rv == APR_SUCCESS)
        *out = s;
    return rv;
}

/* The key goes to the key process (once per run: its thumbprint names
 * its slot), the network process learns its slot and public half. */
apr_status_t net_signer_make(net_signer_t *out, EVP_PKEY *key, const char **err,
                             apr_pool_t *pool)
{
    json_t *jwk = json_pool_bind(crypt_jose_jwk_public(key), pool);
    char *jwk_text =
        jwk ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    out->key = key;
    out->thumbprint = crypt_jose_thumbprint(key, pool);
    out->jwk = jwk_text ? apr_pstrdup(pool, jwk_text) : NULL;
    free(jwk_text);
    if (out->thumbprint == NULL || out->jwk == NULL) {
        *err = "cannot prepare the key for the key process";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* The key process's slot for signer's key: the one it has under the
 * key's thumbprint, or a new one with the key's PEM (cleansed after). */
static int signer_slot(const net_signer_t *signer, const char **err,
                       apr_pool_t *pool)
{
    int slot = net_key_find(signer->thumbprint);
    if (slot >= 0)
        return slot;
    char *pem = NULL;
    apr_size_t len = 0;
    if (crypt_key_serialise_pem(&pem, &len, signer->key, err, pool) !=
        APR_SUCCESS) {
        *err = "cannot prepare the key for the key process";
        return -1;
    }
    slot = net_key_load(signer->thumbprint, KEY_KIND_PRIVATE, pem, len, err);
    OPENSSL_cleanse(pem, len);
    return slot;
}

static apr_status_t signer_frame(wire_out_t *w, const net_signer_t *signer,
                                 const char **err, apr_pool_t *pool)
{
    int slot = signer_slot(signer, err, pool);
    wire_put_int(w, slot);
    wire_put_str(w, crypt_jose_alg(signer->key));
    wire_put_str(w, signer->jwk);
    return slot < 0 ? APR_EGENERAL : APR_SUCCESS;
}

static apr_status_t expect_ok(net_session_t *s, wire_out_t *w, const char **err,
                              apr_pool_t *pool)
{
    wire_in_t in;
    call_t c = {NET_OK, NULL, 0, 0};
    apr_status_t rv = call(&in, s, w, &c, err, pool);
    if (rv == APR_SUCCESS && !wire_done(&in))
        return broken(s, "the network process sent a malformed answer", err);
    return rv;
}

apr_status_t net_session_use_signer(net_session_t *s,
                                    const net_signer_t *signer, const char *kid,
                                    const char **err)
{
    wire_out_t w;
    wire_begin(&w, NET_SIGNER, s->pool);
    apr_status_t rv = signer_frame(&w, signer, err, s->pool);
    if (rv != APR_SUCCESS)
        return rv;
    s->jwk = signer->jwk;
    wire_put_str(&w, kid);
    return expect_ok(s, &w, err, s->pool);
}

apr_status_t net_session_use_key(net_session_t *s, EVP_PKEY *key,
                                 const char *kid, const char **err)
{
    net_signer_t signer;
    apr_status_t rv = net_signer_make(&signer, key, err, s->pool);
    return rv == APR_SUCCESS ? net_session_use_signer(s, &signer, kid, err)
                             : rv;
}

static int printable_word(const char *s, apr_size_t max)
{
    if (s != NULL && strlen(s) > max)
        return 0;
    for (; s != NULL && *s; s++)
        if (*s <= ' ' || *s > '~')
            return 0;
    return 1;
}

static apr_status_t read_account(json_t **account, const char **url,
                                 net_session_t *s, wire_in_t *in,
                                 const char **err, apr_pool_t *pool)
{
    const char *status = NULL;
    apr_array_header_t *contact = NULL;
    if (!wire_get_str(in, url, NET_STR_MAX, pool) ||
        !wire_get_str(in, &status, NET_STR_MAX, pool) ||
        !net_wire_get_strings(in, &contact, pool) || !wire_done(in))
        return broken(s, "the network process sent a malformed answer", err);
    /* Stored and printed as they are: printable ASCII, no blanks.  An
     * odd status is dropped (a CA's word, noted only); an odd URL, the
     * account's name in every request, ends the channel. */
    if (!printable_word(*url, NET_STR_MAX))
        return broken(s,
                      "the network process sent an account URL with "
                      "control characters",
                      err);
    if (!printable_word(status, 64))
        status = NULL;
    for (int i = 0; i < contact->nelts; i++)
        APR_ARRAY_IDX(contact, i, const char *) =
            acme_escape(APR_ARRAY_IDX(contact, i, const char *), 1000, pool);
    json_t *o = json_object();
    if (status != NULL)
        json_object_set_new(o, "status", json_string(status));
    json_t *list = json_array();
    for (int i = 0; i < contact->nelts; i++)
        json_array_append_new(list,
                              json_string(APR_ARRAY_IDX(contact, i, char *)));
    json_object_set_new(o, "contact", list);
    *account = json_pool_bind(o, pool);
    return APR_SUCCESS;
}

static apr_status_t account_call(json_t **account, const char **url,
                                 net_session_t *s, wire_out_t *w,
                                 const char **err, apr_pool_t *pool)
{
    wire_in_t in;
    call_t c = {NET_ACCOUNT, NULL, 0, 0};
    const char *ignored = NULL;
    *account = NULL;
    apr_status_t rv = call(&in, s, w, &c, err, pool);
    if (rv == APR_SUCCESS)
        rv = read_account(account, url ? url : &ignored, s, &in, err, pool);
    return rv;
}

apr_status_t net_account_register(const char **url, json_t **account,
                                  net_session_t *s, const char *email,
                                  int agree_tos, const char *eab_kid,
                                  const unsigned char *hmac, apr_size_t len,
                                  const char **err, apr_pool_t *pool)
{
    int slot = 0;
    *url = NULL;
    if (eab_kid != NULL &&
        (net_key_allow(KEY_ALLOW_EAB_JWK, s->jwk, err) != APR_SUCCESS ||
         (slot = net_key_load(NULL, KEY_KIND_HMAC, hmac, len, err)) < 0))
        return APR_EGENERAL;
    wire_out_t w;
    wire_begin(&w, NET_REGISTER, pool);
    wire_put_str(&w, email);
    wire_put_int(&w, agree_tos);
    wire_put_str(&w, eab_kid);
    wire_put_int(&w, slot);
    apr_status_t rv = account_call(account, url, s, &w, err, pool);
    /* The HMAC key signed its one request. */
    if (eab_kid != NULL)
        net_key_drop(slot);
    if (rv == APR_SUCCESS &&
        (*url == NULL || strncmp(*url, "https://", 8) != 0)) {
        *err = "CA created the account but sent no https Location";
        rv = APR_EGENERAL;
    }
    return rv;
}

apr_status_t net_account_fetch(json_t **account, net_session_t *s,
                               const char **err, apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, NET_FETCH, pool);
    return account_call(account, NULL, s, &w, err, pool);
}

apr_status_t net_account_deactivate(json_t **account, net_session_t *s,
                                    const char **err, apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, NET_DEACTIVATE, pool);
    if (net_key_allow(KEY_ALLOW_DEACTIVATE, NULL, err) != APR_SUCCESS)
        return APR_EGENERAL;
    return account_call(account, NULL, s, &w, err, pool);
}

apr_status_t net_account_key_change(net_session_t *s, EVP_PKEY *key,
                                    const char **err, apr_pool_t *pool)
{
    wire_out_t w;
    net_signer_t signer;
    wire_begin(&w, NET_KEY_CHANGE, pool);
    apr_status_t rv = net_signer_make(&signer, key, err, pool);
    if (rv == APR_SUCCESS)
        rv = signer_frame(&w, &signer, err, pool);
    if (rv == APR_SUCCESS)
        rv = net_key_allow(KEY_ALLOW_KEY_CHANGE, signer.jwk, err);
    return rv == APR_SUCCESS ? expect_ok(s, &w, err, pool) : rv;
}

static apr_status_t read_ordered(acme_order_result_t *r, net_session_t *s,
                                 wire_in_t *in, const char **err,
                                 apr_pool_t *pool)
{
    apr_int64_t alternates = 0, n = 0;
    memset(r, 0, sizeof(*r));
    if (!wire_get_str(in, &r->order_url, NET_STR_MAX, pool) ||
        !wire_get_str(in, &r->chain_pem, NET_PEM_MAX, pool) ||
        r->chain_pem == NULL ||
        !wire_get_str(in, &r->chain_issuer, NET_STR_MAX, pool) ||
        !wire_get_int(in, &alternates, 0, NET_LIST_MAX) ||
        !wire_get_int(in, &n, 0, NET_LIST_MAX))
        return broken(s, "the network process sent a malformed answer", err);
    r->alternates = (int)alternates;
    r->validated = apr_array_make(pool, (int)n + 1, sizeof(acme_validated_t));
    for (apr_int64_t i = 0; i < n; i++) {
        acme_validated_t *v = apr_array_push(r->validated);
        if (!wire_get_str(in, &v->name, NET_STR_MAX, pool) ||
            !wire_get_str(in, &v->type, 64, pool) || v->name == NULL ||
            v->type == NULL)
            return broken(s, "the network process sent a malformed answer",
                          err);
    }
    return wire_done(in)
               ? APR_SUCCESS
               : broken(s, "the network process sent a malformed answer", err);
}

apr_status_t net_order_run(acme_order_result_t *result, net_session_t *s,
                           const net_order_t *o, const char **err,
                           apr_pool_t *pool)
{
    wire_out_t w;
    wire_in_t in;
    memset(result, 0, sizeof(*result));
    /* The key process signs a finalize for this CSR, and no other. */
    const char *der = o->csr_der_b64url;
    apr_status_t rv = net_key_allow(KEY_ALLOW_CSR, der, err);
    if (rv != APR_SUCCESS)
        return rv;
    wire_begin(&w, NET_ORDER, pool);
    wire_put_str(&w, der);
    net_wire_put_strings(&w, o->names);
    wire_put_str(&w, o->thumbprint);
    wire_put_str(&w, o->profile);
    wire_put_str(&w, o->replaces);
    wire_put_str(&w, o->preferred_chain);
    wire_put_int(&w, o->timeout_s);
    net_wire_put_strings(&w, o->types);
    call_t c = {NET_ORDERED, o, 0, 0};
    rv = call(&in, s, &w, &c, err, pool);
    return rv == APR_SUCCESS ? read_ordered(result, s, &in, err, pool) : rv;
}

apr_status_t net_revoke(long *http_status, net_session_t *s,
                        const char *cert_der_b64url, int reason,
                        const char **err, apr_pool_t *pool)
{
    wire_out_t w;
    wire_in_t in;
    apr_int64_t status = 0;
    if (net_key_allow(KEY_ALLOW_REVOKE, cert_der_b64url, err) != APR_SUCCESS)
        return APR_EGENERAL;
    wire_begin(&w, NET_REVOKE, pool);
    wire_put_str(&w, cert_der_b64url);
    wire_put_int(&w, reason);
    call_t c = {NET_REVOKED, NULL, 0, 0};
    apr_status_t rv = call(&in, s, &w, &c, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (!wire_get_int(&in, &status, 100, 599) || !wire_done(&in))
        return broken(s, "the network process sent a malformed answer", err);
    *http_status = (long)status;
    return APR_SUCCESS;
}

apr_status_t net_renewal_info(apr_int64_t *start, apr_int64_t *end,
                              long *retry_after_s, net_session_t *s,
                              const char *cert_id, const char **err,
                              apr_pool_t *pool)
{
    wire_out_t w;
    wire_in_t in;
    apr_int64_t retry = -1;
    *retry_after_s = -1;
    wire_begin(&w, NET_ARI, pool);
    wire_put_str(&w, cert_id);
    call_t c = {NET_RENEWAL, NULL, 0, 0};
    apr_status_t rv = call(&in, s, &w, &c, err, pool);
    if (rv != APR_SUCCESS) {
        if (s->problem != NULL)
            *retry_after_s = s->problem->retry_after_s;
        return rv;
    }
    if (!wire_get_int(&in, start, 0, APR_INT64_MAX) ||
        !wire_get_int(&in, end, 0, APR_INT64_MAX) ||
        !wire_get_int(&in, &retry, -1, APR_INT64_MAX) || !wire_done(&in))
        return broken(s, "the network process sent a malformed answer", err);
    *retry_after_s = (long)retry;
    return APR_SUCCESS;
}
