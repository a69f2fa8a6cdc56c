/* jws.c — see jws.h. */
#include "acme/jws.h"

#include <stdlib.h>
#include <string.h>

#include "apr_strings.h"

#include "base/base64url.h"
#include "crypto/crypt_jose.h"
#include "base/json_pool.h"

static const char *json_compact(const json_t *json, apr_pool_t *pool)
{
    char *text = json_dumps(json, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        return NULL;
    const char *copy = apr_pstrdup(pool, text);
    free(text);
    return copy;
}

static json_t *protected_header(const jws_signer_t *signer, const char *url,
                                const char *nonce)
{
    json_t *h = json_object();
    json_object_set_new(h, "alg", json_string(signer->alg));
    json_object_set_new(h, "url", json_string(url));
    if (nonce != NULL)
        json_object_set_new(h, "nonce", json_string(nonce));
    if (signer->kid != NULL)
        json_object_set_new(h, "kid", json_string(signer->kid));
    else
        json_object_set(h, "jwk", signer->jwk);
    return h;
}

apr_status_t jws_build_json(json_t **out, const jws_signer_t *signer,
                            const char *url, const char *nonce,
                            const json_t *payload, const char **err,
                            apr_pool_t *pool)
{
    *out = NULL;
    if (signer->kid == NULL && signer->jwk == NULL) {
        *err = "JWS needs a kid or a jwk";
        return APR_EINVAL;
    }
    json_t *header = json_pool_bind(protected_header(signer, url, nonce), pool);
    const char *header_text = json_compact(header, pool);
    const char *payload_text = payload ? json_compact(payload, pool) : "";
    if (header_text == NULL || payload_text == NULL) {
        *err = "cannot serialise the JWS";
        return APR_ENOMEM;
    }
    const char *h64 = base64url_encode(pool, header_text, strlen(header_text));
    const char *p64 =
        base64url_encode(pool, payload_text, strlen(payload_text));
    const char *input = apr_pstrcat(pool, h64, ".", p64, NULL);
    unsigned char *sig = NULL;
    apr_size_t sig_len = 0;
    apr_status_t rv =
        signer->sign(&sig, &sig_len, input, strlen(input), signer->baton, pool);
    if (rv != APR_SUCCESS) {
        *err = "signing the request failed";
        return rv;
    }
    *out = json_pool_bind(json_pack("{s:s, s:s, s:s}", "protected", h64,
                                    "payload", p64, "signature",
                                    base64url_encode(pool, sig, sig_len)),
                          pool);
    return APR_SUCCESS;
}

apr_status_t jws_build(const char **out, const jws_signer_t *signer,
                       const char *url, const char *nonce,
                       const json_t *payload, const char **err,
                       apr_pool_t *pool)
{
    json_t *jws = NULL;
    *out = NULL;
    apr_status_t rv =
        jws_build_json(&jws, signer, url, nonce, payload, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    *out = json_compact(jws, pool);
    return *out != NULL ? APR_SUCCESS : APR_ENOMEM;
}

typedef struct {
    const unsigned char *key;
    apr_size_t len;
} hmac_baton_t;

static apr_status_t hmac_sign(unsigned char **sig, apr_size_t *sig_len,
                              const void *data, apr_size_t len, void *baton,
                              apr_pool_t *pool)
{
    const hmac_baton_t *b = baton;
    *sig = apr_palloc(pool, 32);
    *sig_len = 32;
    return crypt_jose_hmac_sha256(*sig, b->key, b->len, data, len);
}

apr_status_t jws_build_eab_with(json_t **out, const json_t *account_jwk,
                                const char *eab_kid, jws_sign_fn *mac,
                                void *baton, const char *new_account_url,
                                const char **err, apr_pool_t *pool)
{
    /* The EAB header names the CA's key id where JWS would put the
     * account URL, and carries no nonce (RFC 8555 §7.3.4). */
    jws_signer_t signer = {"HS256", NULL, eab_kid, mac, baton};
    return jws_build_json(out, &signer, new_account_url, NULL, account_jwk, err,
                          pool);
}

apr_status_t jws_build_eab(json_t **out, const json_t *account_jwk,
                           const char *eab_kid, const unsigned char *hmac_key,
                           apr_size_t hmac_key_len, const char *new_account_url,
                           const char **err, apr_pool_t *pool)
{
    hmac_baton_t baton = {hmac_key, hmac_key_len};
    return jws_build_eab_with(out, account_jwk, eab_kid, hmac_sign, &baton,
                              new_account_url, err, pool);
}
