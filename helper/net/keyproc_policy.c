/* keyproc_policy.c — see keyproc_policy.h. */
#include "net/keyproc_policy.h"

#include <string.h>

#include <jansson.h>

#include "apr_hash.h"
#include "apr_strings.h"

#include "base/base64url.h"
#include "base/json_pool.h"
#include "net/net_proto.h"

#define ALLOWED_CSRS_MAX 4096

struct keyproc_policy {
    apr_pool_t *pool;
    apr_hash_t *csrs; /* DER base64url -> "" */
    json_t *new_jwk;  /* a keyChange allowed to this key, or NULL */
    int deactivate;
    const char *revoke; /* the certificate, or NULL */
    json_t *eab_jwk;    /* or NULL */
};

keyproc_policy_t *keyproc_policy_create(apr_pool_t *pool)
{
    keyproc_policy_t *p = apr_pcalloc(pool, sizeof(*p));
    p->pool = pool;
    p->csrs = apr_hash_make(pool);
    return p;
}

const char *keyproc_policy_allow(keyproc_policy_t *p, int what,
                                 const unsigned char *value, apr_size_t len)
{
    const char *v = apr_pstrmemdup(p->pool, (const char *)value, len);
    switch (what) {
    case KEY_ALLOW_CSR:
        if (apr_hash_count(p->csrs) >= ALLOWED_CSRS_MAX)
            return "too many CSRs allowed";
        apr_hash_set(p->csrs, v, APR_HASH_KEY_STRING, "");
        return NULL;
    case KEY_ALLOW_KEY_CHANGE:
        json_decref(p->new_jwk);
        p->new_jwk = json_loads(v, 0, NULL);
        return p->new_jwk ? NULL : "the JWK does not parse";
    case KEY_ALLOW_DEACTIVATE:
        p->deactivate = 1;
        return NULL;
    case KEY_ALLOW_REVOKE:
        p->revoke = v;
        return NULL;
    case KEY_ALLOW_EAB_JWK:
        json_decref(p->eab_jwk);
        p->eab_jwk = json_loads(v, 0, NULL);
        return p->eab_jwk ? NULL : "the JWK does not parse";
    default:
        return "refused: not an allowance";
    }
}

static json_t *decode_json(const char *b64, apr_pool_t *pool)
{
    unsigned char *bytes = NULL;
    apr_size_t n = 0;
    if (b64 == NULL || base64url_decode(&bytes, &n, b64, pool) != APR_SUCCESS)
        return NULL;
    return json_pool_bind(json_loadb((const char *)bytes, n, 0, NULL), pool);
}

/* The payload of a signing input: NULL for POST-as-GET's empty one. */
static const char *payload_of(json_t **out, const char *data, apr_size_t len,
                              apr_pool_t *pool)
{
    const char *dot = memchr(data, '.', len);
    *out = NULL;
    if (dot == NULL)
        return "not a JWS signing input";
    const char *p64 =
        apr_pstrmemdup(pool, dot + 1, len - (apr_size_t)(dot + 1 - data));
    if (*p64 == '\0')
        return NULL;
    *out = decode_json(p64, pool);
    return json_is_object(*out) ? NULL
                                : "the payload is no base64url JSON object";
}

/* An outer JWS whose payload is itself a JWS: a keyChange (RFC 8555
 * §7.3.5), to the key root asked for.  (An allowance lasts: a badNonce
 * answer makes the same request signed again with a new nonce.) */
static const char *check_nested(keyproc_policy_t *p, json_t *payload,
                                apr_pool_t *pool)
{
    json_t *inner = decode_json(
        json_string_value(json_object_get(payload, "payload")), pool);
    json_t *header = decode_json(
        json_string_value(json_object_get(payload, "protected")), pool);
    if (json_object_get(inner, "oldKey") == NULL)
        return "a nested JWS that is no keyChange";
    if (p->new_jwk == NULL ||
        !json_equal(json_object_get(header, "jwk"), p->new_jwk))
        return "a keyChange root did not ask for";
    return NULL;
}

static const char *check_account_key(keyproc_policy_t *p, json_t *payload,
                                     apr_pool_t *pool)
{
    if (json_object_get(payload, "signature") != NULL)
        return check_nested(p, payload, pool);
    const char *csr = json_string_value(json_object_get(payload, "csr"));
    const char *cert =
        json_string_value(json_object_get(payload, "certificate"));
    const char *status = json_string_value(json_object_get(payload, "status"));
    if (json_object_get(payload, "csr") != NULL &&
        (csr == NULL ||
         apr_hash_get(p->csrs, csr, APR_HASH_KEY_STRING) == NULL))
        return "a finalize for a CSR root did not send";
    /* (a keyChange's inner JWS, signed by the new key, carries oldKey:
     * it is the outer one, by the account key, that counts) */
    if (status != NULL && strcmp(status, "deactivated") == 0)
        return p->deactivate ? NULL : "a deactivation root did not ask for";
    if (json_object_get(payload, "certificate") != NULL) {
        if (cert == NULL || p->revoke == NULL || strcmp(cert, p->revoke) != 0)
            return "a revocation root did not ask for";
    }
    return NULL;
}

const char *keyproc_policy_check(keyproc_policy_t *p, const char *data,
                                 apr_size_t len, int hmac, apr_pool_t *pool)
{
    json_t *payload = NULL;
    const char *why = payload_of(&payload, data, len, pool);
    if (why != NULL)
        return why;
    if (hmac) /* EAB: the binding of the account key root loaded, only */
        return payload != NULL && p->eab_jwk != NULL &&
                       json_equal(payload, p->eab_jwk)
                   ? NULL
                   : "an EAB binding of another key";
    return payload == NULL ? NULL : check_account_key(p, payload, pool);
}
