/* crypt_jose.c — JWK, thumbprint, JWS signatures and HMAC (see
 * crypt_jose.h).  The JOSE names of each key type are kept here, beside
 * the only code that uses them; crypt_key.c knows the types themselves. */
#include "crypto/crypt_jose.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "base/base64url.h"
#include "crypto/crypt_key.h"

typedef struct {
    const char *crv; /* JWK "crv"; NULL for RSA */
    const char *alg;
    const char *digest;
    int coord_len; /* EC: bytes of r and s in a JWS signature */
} jose_info_t;

static const jose_info_t jose_types[] = {
    [CRYPT_KEY_RSA2048] = {NULL, "RS256", "SHA256", 0},
    [CRYPT_KEY_RSA3072] = {NULL, "RS256", "SHA256", 0},
    [CRYPT_KEY_RSA4096] = {NULL, "RS256", "SHA256", 0},
    [CRYPT_KEY_EC256] = {"P-256", "ES256", "SHA256", 32},
    [CRYPT_KEY_EC384] = {"P-384", "ES384", "SHA384", 48},
};
_Static_assert(sizeof(jose_types) / sizeof(jose_types[0]) ==
                   CRYPT_KEY_TYPE_COUNT,
               "one jose_types entry per crypt_key_type_t");

static const jose_info_t *jose_of(EVP_PKEY *key)
{
    crypt_key_type_t type;
    if (crypt_key_type_of(&type, key) != APR_SUCCESS)
        return NULL;
    return &jose_types[type];
}

/* --- JWK ----------------------------------------------------------------- */

/* A key parameter as big-endian bytes (left-padded to pad bytes when pad
 * is non-zero), base64url. */
static const char *param_b64url(EVP_PKEY *key, const char *param, int pad,
                                apr_pool_t *pool)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(key, param, &bn) != 1) {
        ERR_clear_error();
        return NULL;
    }
    int len = pad > 0 ? pad : BN_num_bytes(bn);
    unsigned char *buf = apr_palloc(pool, len > 0 ? (apr_size_t)len : 1);
    int written = BN_bn2binpad(bn, buf, len);
    BN_free(bn);
    if (written != len)
        return NULL;
    return base64url_encode(pool, buf, (apr_size_t)len);
}

static json_t *jwk_build(EVP_PKEY *key, apr_pool_t *pool)
{
    const jose_info_t *info = jose_of(key);
    if (info == NULL)
        return NULL;
    if (info->crv == NULL) {
        const char *n = param_b64url(key, OSSL_PKEY_PARAM_RSA_N, 0, pool);
        const char *e = param_b64url(key, OSSL_PKEY_PARAM_RSA_E, 0, pool);
        if (n == NULL || e == NULL)
            return NULL;
        return json_pack("{s:s, s:s, s:s}", "e", e, "kty", "RSA", "n", n);
    }
    const char *x =
        param_b64url(key, OSSL_PKEY_PARAM_EC_PUB_X, info->coord_len, pool);
    const char *y =
        param_b64url(key, OSSL_PKEY_PARAM_EC_PUB_Y, info->coord_len, pool);
    if (x == NULL || y == NULL)
        return NULL;
    return json_pack("{s:s, s:s, s:s, s:s}", "crv", info->crv, "kty", "EC", "x",
                     x, "y", y);
}

json_t *crypt_jose_jwk_public(EVP_PKEY *key)
{
    /* A scratch pool: the interface has none and the JWK outlives it. */
    apr_pool_t *scratch = NULL;
    if (apr_pool_create(&scratch, NULL) != APR_SUCCESS)
        return NULL;
    json_t *jwk = jwk_build(key, scratch);
    apr_pool_destroy(scratch);
    return jwk;
}

const char *crypt_jose_thumbprint(EVP_PKEY *key, apr_pool_t *pool)
{
    json_t *jwk = crypt_jose_jwk_public(key);
    /* RFC 7638 §3.3: required members only, sorted, no whitespace; none of
     * the values needs escaping, so jansson's compact form is canonical. */
    char *text =
        jwk != NULL ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(jwk);
    const char *thumbprint =
        text != NULL ? crypt_jose_sha256_b64url(text, strlen(text), pool)
                     : NULL;
    free(text);
    return thumbprint;
}

/* --- JWS ----------------------------------------------------------------- */

const char *crypt_jose_alg(EVP_PKEY *key)
{
    const jose_info_t *info = jose_of(key);
    return info != NULL ? info->alg : NULL;
}

/* DER ECDSA-Sig-Value to the fixed-size r||s of RFC 7518 §3.4. */
static apr_status_t ecdsa_raw(unsigned char **sig, apr_size_t *sig_len,
                              const unsigned char *der, size_t der_len,
                              int coord_len, apr_pool_t *pool)
{
    const unsigned char *p = der;
    ECDSA_SIG *ecsig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (ecsig == NULL)
        return APR_EGENERAL;
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;
    ECDSA_SIG_get0(ecsig, &r, &s);
    unsigned char *raw = apr_palloc(pool, (apr_size_t)coord_len * 2);
    int ok = BN_bn2binpad(r, raw, coord_len) == coord_len &&
             BN_bn2binpad(s, raw + coord_len, coord_len) == coord_len;
    ECDSA_SIG_free(ecsig);
    if (!ok)
        return APR_EGENERAL;
    *sig = raw;
    *sig_len = (apr_size_t)coord_len * 2;
    return APR_SUCCESS;
}

/* The signature as OpenSSL makes it: PKCS#1 v1.5 for RSA, DER for ECDSA. */
static apr_status_t sign_digest(unsigned char **out, size_t *out_len,
                                EVP_PKEY *key, const char *digest,
                                const void *data, apr_size_t len,
                                apr_pool_t *pool)
{
    apr_status_t rv = APR_EGENERAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL ||
        EVP_DigestSignInit_ex(ctx, NULL, digest, NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(ctx, NULL, out_len, data, len) != 1)
        goto cleanup;
    *out = apr_palloc(pool, *out_len);
    if (EVP_DigestSign(ctx, *out, out_len, data, len) == 1)
        rv = APR_SUCCESS;
cleanup:
    EVP_MD_CTX_free(ctx);
    return rv;
}

apr_status_t crypt_jose_sign(unsigned char **sig, apr_size_t *sig_len,
                             EVP_PKEY *key, const void *data, apr_size_t len,
                             apr_pool_t *pool)
{
    const jose_info_t *info = jose_of(key);
    unsigned char *out = NULL;
    size_t out_len = 0;
    *sig = NULL;
    *sig_len = 0;
    if (info == NULL)
        return APR_EINVAL;
    apr_status_t rv =
        sign_digest(&out, &out_len, key, info->digest, data, len, pool);
    if (rv == APR_SUCCESS && info->coord_len == 0) {
        *sig = out;
        *sig_len = out_len;
    } else if (rv == APR_SUCCESS) {
        rv = ecdsa_raw(sig, sig_len, out, out_len, info->coord_len, pool);
    }
    if (rv != APR_SUCCESS)
        ERR_clear_error();
    return rv;
}

/* --- MAC and digest ------------------------------------------------------ */

apr_status_t crypt_jose_hmac_sha256(unsigned char out[32], const void *key,
                                    apr_size_t key_len, const void *data,
                                    apr_size_t len)
{
    static const unsigned char nothing = 0;
    size_t out_len = 0;
    if (key == NULL || key_len == 0)
        return APR_EINVAL;
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len,
                  len > 0 ? data : &nothing, len, out, 32, &out_len) == NULL ||
        out_len != 32) {
        ERR_clear_error();
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

const char *crypt_jose_sha256_b64url(const void *data, apr_size_t len,
                                     apr_pool_t *pool)
{
    unsigned char md[32];
    size_t md_len = 0;
    if (EVP_Q_digest(NULL, "SHA256", NULL, data, len, md, &md_len) != 1 ||
        md_len != sizeof(md)) {
        ERR_clear_error();
        return NULL;
    }
    return base64url_encode(pool, md, md_len);
}
