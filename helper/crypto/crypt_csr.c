/* crypt.c — OpenSSL 3 for expacmectl (see crypt.h).  Every object handed
 * to a caller is bound to a pool; temporaries are freed before return.
 * After a failure the OpenSSL error queue is cleared so that a later,
 * unrelated error is not reported with a stale reason. */
#include "crypto/crypt.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "apr_strings.h"

#include "base/base64url.h"
#include "base/state.h"

#define KEY_FILE_MAX (64 * 1024)
#define CHAIN_MAX_CERTS 10
#define CHAIN_MAX_BYTES (1024 * 1024)
#define SHOWN_MAX 80 /* characters of a bad value quoted in a message */

typedef struct {
    const char *name;
    int bits;          /* RSA modulus size */
    int curve_nid;     /* EC: the named curve */
    const char *curve; /* EC: group name for keygen and JWK "crv";
                          NULL for RSA */
    const char *jws_alg;
    const char *jws_digest;
    int coord_len; /* EC: bytes of r and s in a JWS signature */
} key_info_t;

static const key_info_t key_types[] = {
    [CRYPT_KEY_RSA2048] = {"rsa2048", 2048, 0, NULL, "RS256", "SHA256", 0},
    [CRYPT_KEY_RSA3072] = {"rsa3072", 3072, 0, NULL, "RS256", "SHA256", 0},
    [CRYPT_KEY_RSA4096] = {"rsa4096", 4096, 0, NULL, "RS256", "SHA256", 0},
    [CRYPT_KEY_EC256] = {"ec256", 256, NID_X9_62_prime256v1, "P-256", "ES256",
                         "SHA256", 32},
    [CRYPT_KEY_EC384] = {"ec384", 384, NID_secp384r1, "P-384", "ES384",
                         "SHA384", 48},
};
_Static_assert(sizeof(key_types) / sizeof(key_types[0]) == CRYPT_KEY_TYPE_COUNT,
               "one key_types entry per crypt_key_type_t");

typedef struct {
    const char *name;
    const EVP_MD *(*md)(void);
} digest_info_t;

static const digest_info_t digests[] = {
    [CRYPT_DIGEST_SHA256] = {"sha256", EVP_sha256},
    [CRYPT_DIGEST_SHA384] = {"sha384", EVP_sha384},
    [CRYPT_DIGEST_SHA512] = {"sha512", EVP_sha512},
};
_Static_assert(sizeof(digests) / sizeof(digests[0]) == CRYPT_DIGEST_COUNT,
               "one digests entry per crypt_digest_t");

/* --- plumbing ------------------------------------------------------------ */

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}

static apr_status_t req_cleanup(void *data)
{
    X509_REQ_free(data);
    return APR_SUCCESS;
}

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static EVP_PKEY *pool_pkey(EVP_PKEY *key, apr_pool_t *pool)
{
    if (key != NULL)
        apr_pool_cleanup_register(pool, key, pkey_cleanup,
                                  apr_pool_cleanup_null);
    return key;
}

static X509_REQ *pool_req(X509_REQ *req, apr_pool_t *pool)
{
    if (req != NULL)
        apr_pool_cleanup_register(pool, req, req_cleanup,
                                  apr_pool_cleanup_null);
    return req;
}

static X509 *pool_x509(X509 *cert, apr_pool_t *pool)
{
    if (cert != NULL)
        apr_pool_cleanup_register(pool, cert, x509_cleanup,
                                  apr_pool_cleanup_null);
    return cert;
}

/* Sets *err to the message plus OpenSSL's reason for the oldest queued
 * error (reasons are fixed strings: never key material), clears the
 * queue, and returns rv. */
static apr_status_t fail(const char **err, apr_pool_t *pool, apr_status_t rv,
                         const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static apr_status_t fail(const char **err, apr_pool_t *pool, apr_status_t rv,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *message = apr_pvsprintf(pool, fmt, ap);
    va_end(ap);
    const char *reason = ERR_reason_error_string(ERR_peek_error());
    if (reason != NULL)
        message = apr_pstrcat(pool, message, ": ", reason, NULL);
    *err = message;
    ERR_clear_error();
    return rv;
}

/* A value safe to quote in a one-line message: printable ASCII only,
 * shortened. */
static const char *shown(const char *value, apr_pool_t *pool)
{
    size_t len = strlen(value);
    size_t keep = len > SHOWN_MAX ? SHOWN_MAX : len;
    char *out = apr_pstrndup(pool, value, keep);
    for (char *p = out; *p; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    }
    return len > keep ? apr_pstrcat(pool, out, "...", NULL) : out;
}

/* The contents of a memory BIO as a pool string. */
static const char *bio_text(BIO *bio, apr_pool_t *pool)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len < 0 || data == NULL)
        return len == 0 ? "" : NULL;
    return apr_pstrmemdup(pool, data, (apr_size_t)len);
}

static const char *hex_colons(const unsigned char *data, unsigned len,
                              apr_pool_t *pool)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(pool, len * 3 + 1);
    char *p = out;
    for (unsigned i = 0; i < len; i++) {
        if (i > 0)
            *p++ = ':';
        *p++ = hex[data[i] >> 4];
        *p++ = hex[data[i] & 15];
    }
    *p = '\0';
    return out;
}

/* --- names of key types and digests ------------------------------------- */

apr_status_t crypt_key_type_parse(crypt_key_type_t *out, const char *name,
                                  const char **err, apr_pool_t *pool)
{
    for (int i = 0; i < CRYPT_KEY_TYPE_COUNT; i++) {
        if (strcasecmp(name, key_types[i].name) == 0) {
            *out = (crypt_key_type_t)i;
            return APR_SUCCESS;
        }
    }
    *err = apr_psprintf(pool,
                        "key type '%s' is not accepted: use rsa2048, "
                        "rsa3072, rsa4096, ec256 or ec384",
                        shown(name, pool));
    return APR_EINVAL;
}

const char *crypt_key_type_name(crypt_key_type_t type)
{
    return (unsigned)type < CRYPT_KEY_TYPE_COUNT ? key_types[type].name : NULL;
}

apr_status_t crypt_digest_parse(crypt_digest_t *out, const char *name,
                                const char **err, apr_pool_t *pool)
{
    for (int i = 0; i < CRYPT_DIGEST_COUNT; i++) {
        if (strcasecmp(name, digests[i].name) == 0) {
            *out = (crypt_digest_t)i;
            return APR_SUCCESS;
        }
    }
    if (strcasecmp(name, "sha1") == 0 || strcasecmp(name, "sha-1") == 0)
        *err = "SHA-1 is refused: collisions are practical and CAs reject "
               "it; use sha256, sha384 or sha512";
    else
        *err = apr_psprintf(pool,
                            "digest '%s' is not accepted: use sha256, "
                            "sha384 or sha512",
                            shown(name, pool));
    return APR_EINVAL;
}

const char *crypt_digest_name(crypt_digest_t digest)
{
    return (unsigned)digest < CRYPT_DIGEST_COUNT ? digests[digest].name : NULL;
}

/* --- keys ---------------------------------------------------------------- */

apr_status_t crypt_key_generate(EVP_PKEY **out, crypt_key_type_t type,
                                const char **err, apr_pool_t *pool)
{
    *out = NULL;
    if ((unsigned)type >= CRYPT_KEY_TYPE_COUNT) {
        *err = "unknown key type";
        return APR_EINVAL;
    }
    const key_info_t *info = &key_types[type];
    EVP_PKEY *key =
        info->curve != NULL
            ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", info->curve)
            : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)info->bits);
    if (key == NULL)
        return fail(err, pool, APR_EGENERAL, "cannot generate a %s key",
                    info->name);
    *out = pool_pkey(key, pool);
    return APR_SUCCESS;
}

apr_status_t crypt_key_type_of(crypt_key_type_t *out, EVP_PKEY *key)
{
    char group[64];
    int is_ec = EVP_PKEY_is_a(key, "EC");
    if (!is_ec && !EVP_PKEY_is_a(key, "RSA"))
        return APR_EINVAL;
    if (is_ec &&
        !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), NULL)) {
        ERR_clear_error();
        return APR_EINVAL;
    }
    int nid = is_ec ? OBJ_txt2nid(group) : NID_undef;
    int bits = EVP_PKEY_get_bits(key);
    for (int i = 0; i < CRYPT_KEY_TYPE_COUNT; i++) {
        const key_info_t *info = &key_types[i];
        int match = is_ec ? info->curve != NULL && info->curve_nid == nid
                          : info->curve == NULL && info->bits == bits;
        if (match) {
            *out = (crypt_key_type_t)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

/* Keys are stored unencrypted (0600, root); an encrypted one must fail
 * instead of prompting on a terminal nobody watches. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static apr_status_t key_from_pem(EVP_PKEY **out, const char *pem,
                                 apr_size_t len, const char *path,
                                 const char **err, apr_pool_t *pool)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = NULL;
    if (bio != NULL)
        key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    if (key == NULL)
        return fail(err, pool, APR_EINVAL,
                    "%s: not an unencrypted PEM private key", path);
    crypt_key_type_t type;
    if (crypt_key_type_of(&type, key) != APR_SUCCESS) {
        EVP_PKEY_free(key);
        *err = apr_psprintf(pool,
                            "%s: unsupported key (accepted: rsa2048, "
                            "rsa3072, rsa4096, ec256, ec384)",
                            path);
        return APR_EINVAL;
    }
    *out = pool_pkey(key, pool);
    return APR_SUCCESS;
}

apr_status_t crypt_key_load(EVP_PKEY **out, const char *path, const char **err,
                            apr_pool_t *pool)
{
    char *pem = NULL;
    apr_size_t len = 0;
    *out = NULL;
    apr_status_t rv =
        state_read_file(&pem, &len, path, KEY_FILE_MAX, err, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        *err = apr_psprintf(pool, "%s: no such key file", path);
    if (rv != APR_SUCCESS)
        return rv;
    rv = key_from_pem(out, pem, len, path, err, pool);
    OPENSSL_cleanse(pem, len);
    return rv;
}

apr_status_t crypt_key_save(EVP_PKEY *key, const char *path, const char **err,
                            apr_pool_t *pool)
{
    /* A secure-memory BIO: its buffer is cleansed whenever it grows or is
     * freed, so no copy of the PEM is left in freed heap memory. */
    BIO *bio = BIO_new(BIO_s_secmem());
    char *pem = NULL;
    long len = 0;
    apr_status_t rv;
    if (bio != NULL &&
        PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
        len = BIO_get_mem_data(bio, &pem);
    if (len <= 0 || pem == NULL) {
        rv =
            fail(err, pool, APR_EGENERAL, "cannot encode the key for %s", path);
    } else {
        rv = state_write_file(path, pem, (apr_size_t)len, 0600, err, pool);
        OPENSSL_cleanse(pem, (size_t)len);
    }
    BIO_free(bio);
    return rv;
}

int crypt_key_public_equal(EVP_PKEY *a, EVP_PKEY *b)
{
    int eq = a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;
    ERR_clear_error();
    return eq;
}

/* --- JOSE ---------------------------------------------------------------- */

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
    crypt_key_type_t type;
    if (crypt_key_type_of(&type, key) != APR_SUCCESS)
        return NULL;
    const key_info_t *info = &key_types[type];
    if (info->curve == NULL) {
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
    return json_pack("{s:s, s:s, s:s, s:s}", "crv", info->curve, "kty", "EC",
                     "x", x, "y", y);
}

json_t *crypt_jwk_public(EVP_PKEY *key)
{
    /* A scratch pool: the interface has none and the JWK outlives it. */
    apr_pool_t *scratch = NULL;
    if (apr_pool_create(&scratch, NULL) != APR_SUCCESS)
        return NULL;
    json_t *jwk = jwk_build(key, scratch);
    apr_pool_destroy(scratch);
    return jwk;
}

const char *crypt_jwk_thumbprint(EVP_PKEY *key, apr_pool_t *pool)
{
    json_t *jwk = crypt_jwk_public(key);
    /* RFC 7638 §3.3: required members only, sorted, no whitespace; none of
     * the values needs escaping, so jansson's compact form is canonical. */
    char *text =
        jwk != NULL ? json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(jwk);
    const char *thumbprint =
        text != NULL ? crypt_sha256_b64url(text, strlen(text), pool) : NULL;
    free(text);
    return thumbprint;
}

const char *crypt_jws_alg(EVP_PKEY *key)
{
    crypt_key_type_t type;
    if (crypt_key_type_of(&type, key) != APR_SUCCESS)
        return NULL;
    return key_types[type].jws_alg;
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

apr_status_t crypt_jws_sign(unsigned char **sig, apr_size_t *sig_len,
                            EVP_PKEY *key, const void *data, apr_size_t len,
                            apr_pool_t *pool)
{
    crypt_key_type_t type;
    *sig = NULL;
    *sig_len = 0;
    if (crypt_key_type_of(&type, key) != APR_SUCCESS)
        return APR_EINVAL;
    const key_info_t *info = &key_types[type];
    apr_status_t rv = APR_EGENERAL;
    unsigned char *out = NULL;
    size_t out_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestSignInit_ex(ctx, NULL, info->jws_digest, NULL,
                                             NULL, key, NULL) != 1)
        goto cleanup;
    if (EVP_DigestSign(ctx, NULL, &out_len, data, len) != 1)
        goto cleanup;
    out = apr_palloc(pool, out_len);
    if (EVP_DigestSign(ctx, out, &out_len, data, len) != 1)
        goto cleanup;
    if (info->coord_len == 0) {
        *sig = out;
        *sig_len = out_len;
        rv = APR_SUCCESS;
    } else {
        rv = ecdsa_raw(sig, sig_len, out, out_len, info->coord_len, pool);
    }
cleanup:
    EVP_MD_CTX_free(ctx);
    if (rv != APR_SUCCESS)
        ERR_clear_error();
    return rv;
}

apr_status_t crypt_hmac_sha256(unsigned char out[32], const void *key,
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

const char *crypt_sha256_b64url(const void *data, apr_size_t len,
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

/* --- names --------------------------------------------------------------- */

int crypt_name_is_ip(const char *name)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, name, addr) == 1 ||
           inet_pton(AF_INET6, name, addr) == 1;
}

/* The address bytes of an IP literal: 4, 16, or 0 when name is none. */
static int ip_bytes(const char *name, unsigned char addr[16])
{
    if (inet_pton(AF_INET, name, addr) == 1)
        return 4;
    if (inet_pton(AF_INET6, name, addr) == 1)
        return 16;
    return 0;
}

/* What is wrong with one DNS label, or NULL. */
static const char *label_problem(const char *label, size_t len,
                                 apr_pool_t *pool)
{
    if (len == 0)
        return "empty label (two dots in a row, or a leading dot)";
    if (len > 63)
        return "a label is longer than 63 characters";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)label[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-')
            continue;
        if (c == '_')
            return "underscores are not allowed in host names";
        if (c >= 0x80)
            return "non-ASCII characters: give the IDNA form (xn--...)";
        if (c > 0x20 && c < 0x7f)
            return apr_psprintf(pool, "invalid character '%c'", c);
        return apr_psprintf(pool, "invalid character 0x%02x", c);
    }
    if (label[0] == '-' || label[len - 1] == '-')
        return "a label starts or ends with a hyphen";
    return NULL;
}

static int refuse(const char **why, const char *reason)
{
    *why = reason;
    return 0;
}

int crypt_name_valid_fqdn(const char *name, const char **why, apr_pool_t *pool)
{
    size_t len = strlen(name);
    if (len == 0)
        return refuse(why, "empty name");
    if (strchr(name, '*') != NULL)
        return refuse(why, "wildcards need dns-01, which this service does "
                           "not do");
    if (crypt_name_is_ip(name))
        return refuse(why, "an IP address is not a DNS name");
    if (len > 253)
        return refuse(why, "longer than 253 characters");
    if (name[len - 1] == '.')
        return refuse(why, "trailing dot: give the name without it");
    const char *label = name;
    int labels = 0;
    for (;;) {
        const char *dot = strchr(label, '.');
        size_t label_len = dot != NULL ? (size_t)(dot - label) : strlen(label);
        const char *problem = label_problem(label, label_len, pool);
        if (problem != NULL)
            return refuse(why, problem);
        labels++;
        if (dot == NULL)
            break;
        label = dot + 1;
    }
    if (labels < 2)
        return refuse(why, "not fully qualified (a host name needs its "
                           "domain, e.g. host.example.org)");
    if (strspn(label, "0123456789") == strlen(label))
        return refuse(why, "the last label is numeric: not a DNS name");
    *why = NULL;
    return 1;
}

/* Same identifier: IPs as addresses, DNS names case-insensitively. */
static int names_equal(const char *a, const char *b)
{
    unsigned char addr_a[16];
    unsigned char addr_b[16];
    int len_a = ip_bytes(a, addr_a);
    int len_b = ip_bytes(b, addr_b);
    if (len_a != 0 || len_b != 0)
        return len_a == len_b && memcmp(addr_a, addr_b, (size_t)len_a) == 0;
    return strcasecmp(a, b) == 0;
}

static int names_contain(const apr_array_header_t *names, const char *name)
{
    for (int i = 0; i < names->nelts; i++) {
        if (names_equal(APR_ARRAY_IDX(names, i, const char *), name))
            return 1;
    }
    return 0;
}

static void names_add_unique(apr_array_header_t *names, const char *name)
{
    if (!names_contain(names, name))
        APR_ARRAY_PUSH(names, const char *) = name;
}

/* --- CSRs ---------------------------------------------------------------- */

/* Text from a certificate or CSR, safe to print: control characters (and,
 * with ascii_only, every non-ASCII byte) become '?'. */
static const char *clean_text(const unsigned char *data, size_t len,
                              int ascii_only, apr_pool_t *pool)
{
    char *out = apr_pstrmemdup(pool, (const char *)data, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f || (ascii_only && c > 0x7f))
            out[i] = '?';
    }
    return out;
}

/* The CN of a distinguished name, UTF-8, or NULL. */
static const char *name_cn(const X509_NAME *name, apr_pool_t *pool)
{
    int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (index < 0)
        return NULL;
    const ASN1_STRING *value =
        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, value);
    if (len < 0) {
        ERR_clear_error();
        return NULL;
    }
    const char *cn = clean_text(utf8, (size_t)len, 0, pool);
    OPENSSL_free(utf8);
    return cn;
}

/* A DNS or IP SAN as text (IPs in inet_ntop form); NULL for other kinds.
 * A malformed DNS name comes back mangled, so it never matches. */
static const char *general_name_text(const GENERAL_NAME *gen, apr_pool_t *pool)
{
    int type = 0;
    const ASN1_STRING *value = GENERAL_NAME_get0_value(gen, &type);
    if (value == NULL || (type != GEN_DNS && type != GEN_IPADD))
        return NULL;
    const unsigned char *data = ASN1_STRING_get0_data(value);
    int len = ASN1_STRING_length(value);
    if (type == GEN_DNS)
        return clean_text(data, len > 0 ? (size_t)len : 0, 1, pool);
    char buf[INET6_ADDRSTRLEN];
    int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : AF_UNSPEC;
    if (family == AF_UNSPEC ||
        inet_ntop(family, data, buf, sizeof(buf)) == NULL)
        return "(malformed IP address)";
    return apr_pstrdup(pool, buf);
}

static void names_add_general(apr_array_header_t *names,
                              const GENERAL_NAMES *gens, apr_pool_t *pool)
{
    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const char *name =
            general_name_text(sk_GENERAL_NAME_value(gens, i), pool);
        if (name != NULL)
            names_add_unique(names, name);
    }
}

/* CN first, then the other names, without duplicates. */
static apr_array_header_t *spec_names(const crypt_csr_spec_t *spec,
                                      apr_pool_t *pool)
{
    apr_array_header_t *names = apr_array_make(pool, 8, sizeof(const char *));
    names_add_unique(names, spec->cn);
    for (int i = 0; spec->names != NULL && i < spec->names->nelts; i++)
        names_add_unique(names, APR_ARRAY_IDX(spec->names, i, const char *));
    return names;
}

static apr_status_t check_name(const char *name, const char **err,
                               apr_pool_t *pool)
{
    const char *why = NULL;
    if (crypt_name_is_ip(name) || crypt_name_valid_fqdn(name, &why, pool))
        return APR_SUCCESS;
    *err = apr_psprintf(pool, "invalid name '%s': %s", shown(name, pool), why);
    return APR_EINVAL;
}

/* A subject attribute: not empty, no control characters, at most max
 * characters (UTF-8 continuation bytes do not count). */
static apr_status_t check_field(const char *label, const char *value,
                                size_t max, const char **err, apr_pool_t *pool)
{
    size_t chars = 0;
    if (value == NULL)
        return APR_SUCCESS;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *err = apr_psprintf(pool, "%s contains a control character", label);
            return APR_EINVAL;
        }
        if ((*p & 0xc0) != 0x80)
            chars++;
    }
    if (chars == 0 || chars > max) {
        *err = apr_psprintf(pool, "%s must be 1 to %lu characters", label,
                            (unsigned long)max);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

static int is_ascii_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static apr_status_t check_subject(const crypt_csr_spec_t *spec,
                                  const char **err, apr_pool_t *pool)
{
    const char *c = spec->country;
    if (c != NULL &&
        !(strlen(c) == 2 && is_ascii_letter(c[0]) && is_ascii_letter(c[1]))) {
        *err = apr_psprintf(pool,
                            "country must be a two-letter code "
                            "(ISO 3166), not '%s'",
                            shown(c, pool));
        return APR_EINVAL;
    }
    /* The upper bounds of RFC 5280 Appendix A. */
    apr_status_t rv = check_field("organization (O)", spec->org, 64, err, pool);
    if (rv == APR_SUCCESS)
        rv = check_field("organizational unit (OU)", spec->unit, 64, err, pool);
    if (rv == APR_SUCCESS)
        rv = check_field("locality (L)", spec->locality, 128, err, pool);
    if (rv == APR_SUCCESS)
        rv = check_field("state (ST)", spec->state, 128, err, pool);
    return rv;
}

static apr_status_t check_cn(const char *cn, const char **err, apr_pool_t *pool)
{
    const char *why = NULL;
    if (cn == NULL || cn[0] == '\0') {
        *err = "a CSR needs a CN";
        return APR_EINVAL;
    }
    if (!crypt_name_valid_fqdn(cn, &why, pool)) {
        *err = apr_psprintf(pool, "invalid CN '%s': %s", shown(cn, pool), why);
        return APR_EINVAL;
    }
    if (strlen(cn) > 64) {
        *err = apr_psprintf(pool,
                            "CN '%s' is longer than 64 characters "
                            "(RFC 5280): choose a shorter CN and give this "
                            "name as a SAN",
                            shown(cn, pool));
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t crypt_csr_spec_check(const crypt_csr_spec_t *spec,
                                  const char **err, apr_pool_t *pool)
{
    apr_status_t rv = check_cn(spec->cn, err, pool);
    int given = spec->names != NULL ? spec->names->nelts : 0;
    for (int i = 0; rv == APR_SUCCESS && i < given; i++)
        rv = check_name(APR_ARRAY_IDX(spec->names, i, const char *), err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    /* Bound the quadratic duplicate check before running it. */
    if (given > 4 * CRYPT_CSR_MAX_NAMES ||
        spec_names(spec, pool)->nelts > CRYPT_CSR_MAX_NAMES) {
        *err = apr_psprintf(pool, "more than %d names in one CSR",
                            CRYPT_CSR_MAX_NAMES);
        return APR_EINVAL;
    }
    return check_subject(spec, err, pool);
}

static apr_status_t add_entry(X509_NAME *name, const char *field,
                              const char *value, const char **err,
                              apr_pool_t *pool)
{
    if (value == NULL)
        return APR_SUCCESS;
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   (const unsigned char *)value, -1, -1,
                                   0) != 1)
        return fail(err, pool, APR_EINVAL,
                    "cannot put %s '%s' in the "
                    "subject",
                    field, shown(value, pool));
    return APR_SUCCESS;
}

static apr_status_t set_subject(X509_REQ *req, const crypt_csr_spec_t *spec,
                                const char **err, apr_pool_t *pool)
{
    char *country = spec->country ? apr_pstrdup(pool, spec->country) : NULL;
    for (char *p = country; p != NULL && *p; p++)
        *p = (char)(*p & ~0x20); /* checked: ASCII letters only */
    const char *fields[][2] = {{"C", country},        {"ST", spec->state},
                               {"L", spec->locality}, {"O", spec->org},
                               {"OU", spec->unit},    {"CN", spec->cn}};
    X509_NAME *name = X509_NAME_new();
    apr_status_t rv = APR_SUCCESS;
    if (name == NULL)
        rv = fail(err, pool, APR_ENOMEM, "cannot build the CSR subject");
    for (size_t i = 0; rv == APR_SUCCESS && i < 6; i++)
        rv = add_entry(name, fields[i][0], fields[i][1], err, pool);
    if (rv == APR_SUCCESS && X509_REQ_set_subject_name(req, name) != 1)
        rv = fail(err, pool, APR_EGENERAL, "cannot set the CSR subject");
    X509_NAME_free(name);
    return rv;
}

static GENERAL_NAME *general_name(const char *name)
{
    unsigned char addr[16];
    int addr_len = ip_bytes(name, addr);
    GENERAL_NAME *gen = GENERAL_NAME_new();
    ASN1_STRING *value =
        addr_len > 0 ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
    int ok = gen != NULL && value != NULL &&
             (addr_len > 0 ? ASN1_OCTET_STRING_set(value, addr, addr_len)
                           : ASN1_STRING_set(value, name, -1)) == 1;
    if (!ok) {
        ASN1_STRING_free(value);
        GENERAL_NAME_free(gen);
        return NULL;
    }
    GENERAL_NAME_set0_value(gen, addr_len > 0 ? GEN_IPADD : GEN_DNS, value);
    return gen;
}

static GENERAL_NAMES *san_list(const apr_array_header_t *names)
{
    GENERAL_NAMES *gens = GENERAL_NAMES_new();
    for (int i = 0; gens != NULL && i < names->nelts; i++) {
        GENERAL_NAME *gen = general_name(APR_ARRAY_IDX(names, i, const char *));
        if (gen == NULL || sk_GENERAL_NAME_push(gens, gen) <= 0) {
            GENERAL_NAME_free(gen);
            GENERAL_NAMES_free(gens);
            return NULL;
        }
    }
    return gens;
}

static apr_status_t add_extensions(X509_REQ *req,
                                   const apr_array_header_t *names, int rsa,
                                   const char **err, apr_pool_t *pool)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    GENERAL_NAMES *sans = san_list(names);
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    ASN1_BIT_STRING *usage = ASN1_BIT_STRING_new();
    /* Bit 0 digitalSignature; bit 2 keyEncipherment, which only RSA key
     * exchange uses. */
    int ok = sans != NULL && eku != NULL && usage != NULL &&
             sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) > 0 &&
             sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) > 0 &&
             ASN1_BIT_STRING_set_bit(usage, 0, 1) == 1 &&
             (!rsa || ASN1_BIT_STRING_set_bit(usage, 2, 1) == 1) &&
             X509V3_add1_i2d(&exts, NID_subject_alt_name, sans, 0,
                             X509V3_ADD_DEFAULT) == 1 &&
             X509V3_add1_i2d(&exts, NID_key_usage, usage, 1,
                             X509V3_ADD_DEFAULT) == 1 &&
             X509V3_add1_i2d(&exts, NID_ext_key_usage, eku, 0,
                             X509V3_ADD_DEFAULT) == 1 &&
             X509_REQ_add_extensions(req, exts) == 1;
    GENERAL_NAMES_free(sans);
    EXTENDED_KEY_USAGE_free(eku);
    ASN1_BIT_STRING_free(usage);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (!ok)
        return fail(err, pool, APR_EGENERAL,
                    "cannot add the CSR "
                    "extensions");
    return APR_SUCCESS;
}

apr_status_t crypt_csr_create(X509_REQ **out, EVP_PKEY *key,
                              const crypt_csr_spec_t *spec, const char **err,
                              apr_pool_t *pool)
{
    crypt_key_type_t type;
    *out = NULL;
    if (crypt_key_type_of(&type, key) != APR_SUCCESS ||
        (unsigned)spec->digest >= CRYPT_DIGEST_COUNT) {
        *err = "unsupported key type or digest for a CSR";
        return APR_EINVAL;
    }
    apr_status_t rv = crypt_csr_spec_check(spec, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    X509_REQ *req = pool_req(X509_REQ_new(), pool);
    if (req == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
        X509_REQ_set_pubkey(req, key) != 1)
        return fail(err, pool, APR_EGENERAL, "cannot build a CSR");
    rv = set_subject(req, spec, err, pool);
    if (rv == APR_SUCCESS)
        rv = add_extensions(req, spec_names(spec, pool),
                            key_types[type].curve == NULL, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (X509_REQ_sign(req, key, digests[spec->digest].md()) <= 0)
        return fail(err, pool, APR_EGENERAL, "cannot sign the CSR");
    *out = req;
    return APR_SUCCESS;
}

apr_status_t crypt_csr_load(X509_REQ **out, const char *pem, apr_size_t len,
                            const char **err, apr_pool_t *pool)
{
    *out = NULL;
    if (len > CHAIN_MAX_BYTES) {
        *err = "CSR larger than 1 MiB";
        return APR_EINVAL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509_REQ *req = NULL;
    if (bio != NULL)
        req = pool_req(PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL), pool);
    BIO_free(bio);
    if (req == NULL)
        return fail(err, pool, APR_EINVAL, "not a PEM certificate request");
    EVP_PKEY *key = X509_REQ_get0_pubkey(req);
    if (key == NULL || X509_REQ_verify(req, key) != 1)
        return fail(err, pool, APR_EINVAL,
                    "the CSR's signature does not "
                    "verify");
    *out = req;
    return APR_SUCCESS;
}

const char *crypt_csr_pem(X509_REQ *csr, apr_pool_t *pool)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *pem = NULL;
    if (bio != NULL && PEM_write_bio_X509_REQ(bio, csr) == 1)
        pem = bio_text(bio, pool);
    BIO_free(bio);
    ERR_clear_error();
    return pem;
}

/* DER of any ASN.1 object, base64url. */
static const char *der_b64url(const void *obj, const ASN1_ITEM *it,
                              apr_pool_t *pool)
{
    unsigned char *der = NULL;
    int len = ASN1_item_i2d((const ASN1_VALUE *)obj, &der, it);
    if (len <= 0) {
        ERR_clear_error();
        return NULL;
    }
    const char *out = base64url_encode(pool, der, (apr_size_t)len);
    OPENSSL_free(der);
    return out;
}

const char *crypt_csr_der_b64url(X509_REQ *csr, apr_pool_t *pool)
{
    return der_b64url(csr, ASN1_ITEM_rptr(X509_REQ), pool);
}

const char *crypt_cert_der_b64url(X509 *cert, apr_pool_t *pool)
{
    return der_b64url(cert, ASN1_ITEM_rptr(X509), pool);
}

apr_array_header_t *crypt_csr_names(X509_REQ *csr, apr_pool_t *pool)
{
    apr_array_header_t *names = apr_array_make(pool, 4, sizeof(const char *));
    const char *cn = name_cn(X509_REQ_get_subject_name(csr), pool);
    if (cn != NULL)
        names_add_unique(names, cn);
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
    GENERAL_NAMES *gens = NULL;
    if (exts != NULL)
        gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
    names_add_general(names, gens, pool);
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ERR_clear_error();
    return names;
}

const char *crypt_csr_text(X509_REQ *csr, apr_pool_t *pool)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *text = NULL;
    /* As `openssl req -text`, but UTF-8 shown as such, not \XX escapes. */
    unsigned long name_flags = XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB;
    if (bio != NULL &&
        X509_REQ_print_ex(bio, csr, name_flags, X509_FLAG_COMPAT) == 1)
        text = bio_text(bio, pool);
    BIO_free(bio);
    ERR_clear_error();
    return text;
}

EVP_PKEY *crypt_csr_public_key(X509_REQ *csr)
{
    return X509_REQ_get0_pubkey(csr);
}

/* --- certificates -------------------------------------------------------- */

static const char begin_cert[] = "-----BEGIN CERTIFICATE-----";

static apr_size_t skip_space(const char *text, apr_size_t len, apr_size_t pos)
{
    while (pos < len && (text[pos] == ' ' || text[pos] == '\t' ||
                         text[pos] == '\r' || text[pos] == '\n'))
        pos++;
    return pos;
}

/* PEM_read_bio skips any text before a BEGIN line; a download must hold
 * nothing but certificates, so the next block is checked here first. */
static apr_status_t check_block_start(const char *p, apr_size_t avail,
                                      int count, const char **err,
                                      apr_pool_t *pool)
{
    apr_size_t n = sizeof(begin_cert) - 1;
    if (avail > n && memcmp(p, begin_cert, n) == 0 &&
        (p[n] == '\n' || (p[n] == '\r' && avail > n + 1 && p[n + 1] == '\n')))
        return APR_SUCCESS;
    if (avail > 11 && memcmp(p, "-----BEGIN ", 11) == 0) {
        const char *end = memchr(p, '\n', avail);
        apr_size_t line = end != NULL ? (apr_size_t)(end - p) : avail;
        *err = apr_psprintf(pool,
                            "unexpected PEM block '%s' (a chain holds "
                            "CERTIFICATE blocks only)",
                            shown(apr_pstrmemdup(pool, p, line), pool));
    } else if (count == 0) {
        *err = "not a PEM certificate chain (text before the first "
               "certificate)";
    } else {
        *err = apr_psprintf(pool,
                            "text that is not a certificate after "
                            "certificate %d",
                            count);
    }
    return APR_EINVAL;
}

static apr_status_t read_cert(X509 **out, BIO *bio, int number,
                              const char **err, apr_pool_t *pool)
{
    char *name = NULL;
    char *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    if (PEM_read_bio(bio, &name, &header, &data, &len) != 1)
        return fail(err, pool, APR_EINVAL, "certificate %d: malformed PEM",
                    number);
    apr_status_t rv = APR_SUCCESS;
    const unsigned char *p = data;
    X509 *cert = NULL;
    if (strcmp(name, "CERTIFICATE") != 0 || header[0] != '\0')
        rv = fail(err, pool, APR_EINVAL,
                  "certificate %d: not a plain "
                  "CERTIFICATE block",
                  number);
    else
        cert = d2i_X509(NULL, &p, len);
    if (rv == APR_SUCCESS && (cert == NULL || p != data + len)) {
        X509_free(cert);
        rv = fail(err, pool, APR_EINVAL, "certificate %d: malformed DER",
                  number);
    } else if (rv == APR_SUCCESS) {
        *out = pool_x509(cert, pool);
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    return rv;
}

static apr_status_t read_chain(apr_array_header_t *chain, BIO *bio,
                               const char *pem, apr_size_t len,
                               const char **err, apr_pool_t *pool)
{
    for (;;) {
        /* A read-only memory BIO reports what is left to read. */
        apr_size_t pos =
            skip_space(pem, len, len - (apr_size_t)BIO_pending(bio));
        if (pos == len)
            return APR_SUCCESS;
        apr_status_t rv =
            check_block_start(pem + pos, len - pos, chain->nelts, err, pool);
        if (rv != APR_SUCCESS)
            return rv;
        if (chain->nelts == CHAIN_MAX_CERTS) {
            *err = apr_psprintf(pool,
                                "more than %d certificates in the "
                                "chain",
                                CHAIN_MAX_CERTS);
            return APR_EINVAL;
        }
        X509 *cert = NULL;
        rv = read_cert(&cert, bio, chain->nelts + 1, err, pool);
        if (rv != APR_SUCCESS)
            return rv;
        APR_ARRAY_PUSH(chain, X509 *) = cert;
    }
}

apr_status_t crypt_chain_parse(apr_array_header_t **out, const char *pem,
                               apr_size_t len, const char **err,
                               apr_pool_t *pool)
{
    *out = NULL;
    if (len > CHAIN_MAX_BYTES) {
        *err = "certificate chain larger than 1 MiB";
        return APR_EINVAL;
    }
    /* Looked for anywhere, before any parsing: a key in a download means
     * someone else has held it. */
    if (memmem(pem, len, "PRIVATE KEY-----", 16) != NULL) {
        *err = "certificate download contains a private key";
        return APR_EINVAL;
    }
    apr_array_header_t *chain = apr_array_make(pool, 4, sizeof(X509 *));
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        return fail(err, pool, APR_ENOMEM, "cannot read the chain");
    apr_status_t rv = read_chain(chain, bio, pem, len, err, pool);
    BIO_free(bio);
    if (rv == APR_SUCCESS && chain->nelts == 0) {
        *err = "no certificate in the chain";
        rv = APR_EINVAL;
    }
    if (rv == APR_SUCCESS)
        *out = chain;
    return rv;
}

/* A distinguished name on one line (RFC 2253). */
static const char *name_line(const X509_NAME *name, apr_pool_t *pool)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *line = NULL;
    if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0)
        line = bio_text(bio, pool);
    BIO_free(bio);
    return line;
}

static const char *subject_of(X509 *cert, apr_pool_t *pool)
{
    const char *line = name_line(X509_get_subject_name(cert), pool);
    ERR_clear_error();
    return line != NULL && line[0] != '\0' ? line : "empty subject";
}

static apr_array_header_t *cert_names(X509 *cert, apr_pool_t *pool)
{
    apr_array_header_t *names = apr_array_make(pool, 4, sizeof(const char *));
    GENERAL_NAMES *gens =
        X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    names_add_general(names, gens, pool);
    GENERAL_NAMES_free(gens);
    ERR_clear_error();
    return names;
}

static apr_status_t check_names(X509 *leaf, const apr_array_header_t *names,
                                const char **err, apr_pool_t *pool)
{
    apr_array_header_t *sans = cert_names(leaf, pool);
    for (int i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        if (!names_contain(sans, name)) {
            *err = apr_psprintf(pool, "the certificate does not cover %s",
                                shown(name, pool));
            return APR_EINVAL;
        }
    }
    for (int i = 0; i < sans->nelts; i++) {
        const char *san = APR_ARRAY_IDX(sans, i, const char *);
        if (!names_contain(names, san)) {
            *err = apr_psprintf(pool,
                                "the certificate names %s, which was "
                                "not asked for",
                                shown(san, pool));
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t check_links(const apr_array_header_t *chain,
                                const char **err, apr_pool_t *pool)
{
    for (int i = 0; i + 1 < chain->nelts; i++) {
        X509 *cert = APR_ARRAY_IDX(chain, i, X509 *);
        X509 *issuer = APR_ARRAY_IDX(chain, i + 1, X509 *);
        EVP_PKEY *issuer_key = X509_get0_pubkey(issuer);
        if (X509_check_issued(issuer, cert) != X509_V_OK) {
            *err = apr_psprintf(pool,
                                "certificate %d (%s) is not issued by "
                                "certificate %d (%s)",
                                i + 1, subject_of(cert, pool), i + 2,
                                subject_of(issuer, pool));
            ERR_clear_error();
            return APR_EINVAL;
        }
        if (issuer_key == NULL || X509_verify(cert, issuer_key) != 1)
            return fail(err, pool, APR_EINVAL,
                        "the signature of "
                        "certificate %d (%s) does not verify with the key "
                        "of certificate %d",
                        i + 1, subject_of(cert, pool), i + 2);
    }
    return APR_SUCCESS;
}

apr_status_t crypt_chain_verify(const apr_array_header_t *chain, EVP_PKEY *key,
                                const apr_array_header_t *names,
                                const char **err, apr_pool_t *pool)
{
    if (chain == NULL || chain->nelts == 0) {
        *err = "no certificate in the chain";
        return APR_EINVAL;
    }
    X509 *leaf = APR_ARRAY_IDX(chain, 0, X509 *);
    if (!crypt_key_public_equal(X509_get0_pubkey(leaf), key)) {
        *err = "the certificate is not for this key (public keys differ)";
        ERR_clear_error();
        return APR_EINVAL;
    }
    apr_status_t rv = APR_SUCCESS;
    if (names != NULL)
        rv = check_names(leaf, names, err, pool);
    if (rv == APR_SUCCESS)
        rv = check_links(chain, err, pool);
    return rv;
}

static apr_status_t verify_with(X509_STORE *store, X509_STORE_CTX *ctx,
                                STACK_OF(X509) * untrusted,
                                const apr_array_header_t *chain,
                                const char *ca_file, const char **err,
                                apr_pool_t *pool)
{
    if (X509_STORE_load_file(store, ca_file) != 1)
        return fail(err, pool, APR_EINVAL,
                    "cannot load trust anchors from "
                    "%s",
                    ca_file);
    for (int i = 1; i < chain->nelts; i++) {
        if (sk_X509_push(untrusted, APR_ARRAY_IDX(chain, i, X509 *)) <= 0)
            return fail(err, pool, APR_ENOMEM, "cannot verify the chain");
    }
    X509 *leaf = APR_ARRAY_IDX(chain, 0, X509 *);
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1 ||
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) != 1)
        return fail(err, pool, APR_EGENERAL, "cannot verify the chain");
    if (X509_verify_cert(ctx) == 1)
        return APR_SUCCESS;
    int code = X509_STORE_CTX_get_error(ctx);
    *err = apr_psprintf(pool,
                        "the chain does not verify against %s: %s "
                        "(at certificate %d)",
                        ca_file, X509_verify_cert_error_string(code),
                        X509_STORE_CTX_get_error_depth(ctx) + 1);
    ERR_clear_error();
    return APR_EINVAL;
}

apr_status_t crypt_chain_verify_root(const apr_array_header_t *chain,
                                     const char *ca_file, const char **err,
                                     apr_pool_t *pool)
{
    if (chain == NULL || chain->nelts == 0) {
        *err = "no certificate in the chain";
        return APR_EINVAL;
    }
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    apr_status_t rv;
    if (store == NULL || ctx == NULL || untrusted == NULL)
        rv = fail(err, pool, APR_ENOMEM, "cannot verify the chain");
    else
        rv = verify_with(store, ctx, untrusted, chain, ca_file, err, pool);
    /* The stack only borrowed the chain's certificates. */
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rv;
}

static const char *key_label(EVP_PKEY *key, apr_pool_t *pool)
{
    crypt_key_type_t type;
    if (key == NULL)
        return NULL;
    if (crypt_key_type_of(&type, key) == APR_SUCCESS)
        return key_types[type].name;
    const char *name = EVP_PKEY_get0_type_name(key);
    return apr_psprintf(pool, "%s-%d", name != NULL ? name : "unknown",
                        EVP_PKEY_get_bits(key));
}

static const char *serial_hex(X509 *cert, apr_pool_t *pool)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    const char *serial = hex != NULL ? apr_pstrdup(pool, hex) : NULL;
    OPENSSL_free(hex);
    BN_free(bn);
    return serial;
}

static const char *fingerprint(X509 *cert, const EVP_MD *md, apr_pool_t *pool)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, md, buf, &len) != 1)
        return NULL;
    return hex_colons(buf, len, pool);
}

static int epoch_of(apr_int64_t *out, const ASN1_TIME *time)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (time == NULL || ASN1_TIME_to_tm(time, &tm) != 1)
        return 0;
    *out = (apr_int64_t)timegm(&tm);
    return 1;
}

apr_status_t crypt_cert_info(crypt_cert_info_t *out, X509 *cert,
                             apr_pool_t *pool)
{
    memset(out, 0, sizeof(*out));
    out->subject = name_line(X509_get_subject_name(cert), pool);
    out->issuer = name_line(X509_get_issuer_name(cert), pool);
    out->issuer_cn = name_cn(X509_get_issuer_name(cert), pool);
    out->names = cert_names(cert, pool);
    out->key_type = key_label(X509_get0_pubkey(cert), pool);
    out->serial = serial_hex(cert, pool);
    out->sha256 = fingerprint(cert, EVP_sha256(), pool);
    out->sha1 = fingerprint(cert, EVP_sha1(), pool);
    int times = epoch_of(&out->not_before, X509_get0_notBefore(cert)) &&
                epoch_of(&out->not_after, X509_get0_notAfter(cert));
    ERR_clear_error();
    if (!times || out->subject == NULL || out->issuer == NULL ||
        out->key_type == NULL || out->serial == NULL || out->sha256 == NULL ||
        out->sha1 == NULL)
        return APR_EGENERAL;
    return APR_SUCCESS;
}

const char *crypt_cert_pem(X509 *cert, apr_pool_t *pool)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *pem = NULL;
    if (bio != NULL && PEM_write_bio_X509(bio, cert) == 1)
        pem = bio_text(bio, pool);
    BIO_free(bio);
    ERR_clear_error();
    return pem;
}

EVP_PKEY *crypt_cert_public_key(X509 *cert)
{
    return X509_get0_pubkey(cert);
}

unsigned crypt_random_below(unsigned bound)
{
    if (bound == 0)
        return 0;
    /* Rejection sampling: no modulo bias. */
    unsigned limit = UINT32_MAX - UINT32_MAX % bound;
    for (;;) {
        uint32_t r = 0;
        if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
            return 0;
        if (r < limit)
            return r % bound;
    }
}

const char *crypt_cert_ari_id(X509 *cert, apr_pool_t *pool)
{
    AUTHORITY_KEYID *akid = X509_get_ext_d2i(cert, NID_authority_key_identifier,
                                             NULL, NULL);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
    const char *id = NULL;
    if (akid == NULL || akid->keyid == NULL || serial == NULL)
        goto cleanup;
    /* The serial's DER content octets: i2d gives tag, length, content;
     * serials are at most 20 octets (RFC 5280), so the length is short. */
    int len = i2d_ASN1_INTEGER(serial, NULL);
    if (len <= 2 || len > 24)
        goto cleanup;
    unsigned char der[24];
    unsigned char *p = der;
    i2d_ASN1_INTEGER(serial, &p);
    if (der[1] & 0x80)
        goto cleanup;
    id = apr_pstrcat(pool,
                     base64url_encode(pool, ASN1_STRING_get0_data(akid->keyid),
                                      (apr_size_t)ASN1_STRING_length(
                                          akid->keyid)),
                     ".", base64url_encode(pool, der + 2, der[1]), NULL);
cleanup:
    AUTHORITY_KEYID_free(akid);
    ERR_clear_error();
    return id;
}
