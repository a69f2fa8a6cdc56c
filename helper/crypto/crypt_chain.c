/* crypt_chain.c — parsing and verifying certificate chains (see
 * crypt_chain.h).  A download is parsed strictly, block by block, so that
 * nothing but certificates is ever staged; verification only reads. */
#include "crypto/crypt_chain.h"

#include <pthread.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "apr_strings.h"

#include "crypto/crypt_cert.h"
#include "crypto/crypt_key.h"
#include "crypto/crypt_name.h"
#include "crypto/crypt_pool.h"

/* --- parsing ------------------------------------------------------------- */

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
        *err =
            apr_psprintf(pool,
                         "unexpected PEM block '%s' (a chain holds "
                         "CERTIFICATE blocks only)",
                         crypt_pool_shown(apr_pstrmemdup(pool, p, line), pool));
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

/* --- certificates kept parsed --------------------------------------------- */

/* d2i_X509 in OpenSSL 3.0 builds a decoder context for each public key
 * it meets, 1.5 M instructions for an EC certificate: a fleet's renewal
 * parsed the same issuer once per certificate in each process that
 * checks a chain, and each leaf twice in root (its order's check, then
 * its deploy's).  The certificates parsed last are kept by their DER and
 * shared: an X509 is only read once made (what OpenSSL caches in one it
 * caches under the certificate's own lock), so the same bytes give the
 * same certificate. */
#define KEPT_MAX 64
/* What a CA might send larger is parsed each time, not kept: the 64
 * kept stay within a megabyte of DER (a few with the parsed objects)
 * whatever the network process is sent. */
#define KEPT_DER_MAX (16 * 1024)

typedef struct {
    unsigned char *der;
    long len;
    X509 *cert;
} kept_cert_t;

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static kept_cert_t kept[KEPT_MAX];
static int kept_next;

/* A new reference to the certificate with this DER, or NULL. */
static X509 *kept_find(const unsigned char *der, long len)
{
    X509 *found = NULL;
    pthread_mutex_lock(&kept_lock);
    for (int i = 0; i < KEPT_MAX && found == NULL; i++) {
        const kept_cert_t *k = &kept[i];
        if (k->cert != NULL && k->len == len &&
            memcmp(k->der, der, (size_t)len) == 0 && X509_up_ref(k->cert))
            found = k->cert;
    }
    pthread_mutex_unlock(&kept_lock);
    return found;
}

/* Keeps cert (a reference of its own) in place of the oldest. */
static void kept_add(const unsigned char *der, long len, X509 *cert)
{
    unsigned char *copy = OPENSSL_memdup(der, (size_t)len);
    if (copy == NULL || !X509_up_ref(cert)) {
        OPENSSL_free(copy);
        return;
    }
    pthread_mutex_lock(&kept_lock);
    kept_cert_t old = kept[kept_next];
    kept[kept_next] = (kept_cert_t){copy, len, cert};
    kept_next = (kept_next + 1) % KEPT_MAX;
    pthread_mutex_unlock(&kept_lock);
    X509_free(old.cert);
    OPENSSL_free(old.der);
}

/* The certificate of exactly len DER bytes: kept, or parsed (and kept). */
static X509 *parse_der(const unsigned char *der, long len)
{
    X509 *cert = kept_find(der, len);
    if (cert != NULL)
        return cert;
    const unsigned char *p = der;
    cert = d2i_X509(NULL, &p, len);
    if (cert != NULL && p != der + len) {
        X509_free(cert);
        return NULL;
    }
    if (cert != NULL && len <= KEPT_DER_MAX)
        kept_add(der, len, cert);
    return cert;
}

static apr_status_t read_cert(X509 **out, BIO *bio, int number,
                              const char **err, apr_pool_t *pool)
{
    char *name = NULL;
    char *header = NULL;
    unsigned char *data = NULL;
    long len = 0;
    if (PEM_read_bio(bio, &name, &header, &data, &len) != 1)
        return crypt_pool_fail(err, pool, APR_EINVAL,
                               "certificate %d: malformed PEM", number);
    apr_status_t rv = APR_SUCCESS;
    X509 *cert = NULL;
    if (strcmp(name, "CERTIFICATE") != 0 || header[0] != '\0')
        rv = crypt_pool_fail(err, pool, APR_EINVAL,
                             "certificate %d: not a plain "
                             "CERTIFICATE block",
                             number);
    else
        cert = parse_der(data, len);
    if (rv == APR_SUCCESS && cert == NULL) {
        rv = crypt_pool_fail(err, pool, APR_EINVAL,
                             "certificate %d: malformed DER", number);
    } else if (rv == APR_SUCCESS) {
        *out = crypt_pool_x509(cert, pool);
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
        if (chain->nelts == CRYPT_CHAIN_MAX_CERTS) {
            *err = apr_psprintf(pool,
                                "more than %d certificates in the "
                                "chain",
                                CRYPT_CHAIN_MAX_CERTS);
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
    if (len > CRYPT_CHAIN_MAX_BYTES) {
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
        return crypt_pool_fail(err, pool, APR_ENOMEM, "cannot read the chain");
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

/* --- verifying ----------------------------------------------------------- */

static const char *subject_of(X509 *cert, apr_pool_t *pool)
{
    const char *line = crypt_name_line(X509_get_subject_name(cert), pool);
    ERR_clear_error();
    return line != NULL && line[0] != '\0' ? line : "empty subject";
}

static apr_status_t check_names(X509 *leaf, const apr_array_header_t *names,
                                const char **err, apr_pool_t *pool)
{
    apr_array_header_t *sans = crypt_cert_names(leaf, pool);
    for (int i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        if (!crypt_name_contains(sans, name)) {
            *err = apr_psprintf(pool, "the certificate does not cover %s",
                                crypt_pool_shown(name, pool));
            return APR_EINVAL;
        }
    }
    for (int i = 0; i < sans->nelts; i++) {
        const char *san = APR_ARRAY_IDX(sans, i, const char *);
        if (!crypt_name_contains(names, san)) {
            *err = apr_psprintf(pool,
                                "the certificate names %s, which was "
                                "not asked for",
                                crypt_pool_shown(san, pool));
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
            return crypt_pool_fail(
                err, pool, APR_EINVAL,
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

/* --- up to a trust anchor ------------------------------------------------ */

/* Every certificate and CRL of the PEM into store, as
 * X509_STORE_load_file does with a file; at least one is needed. */
static int add_anchors(X509_STORE *store, const char *pem, apr_size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509_INFO) *infos = NULL;
    if (bio != NULL)
        infos =
            PEM_X509_INFO_read_bio(bio, NULL, crypt_pool_no_passphrase, NULL);
    BIO_free(bio);
    int count = 0;
    int ok = infos != NULL;
    for (int i = 0; ok && i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *info = sk_X509_INFO_value(infos, i);
        if (info->x509 != NULL) {
            ok = X509_STORE_add_cert(store, info->x509) == 1;
            count++;
        }
        if (ok && info->crl != NULL) {
            ok = X509_STORE_add_crl(store, info->crl) == 1;
            count++;
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    return ok && count > 0;
}

static apr_status_t verify_with(X509_STORE *store, X509_STORE_CTX *ctx,
                                STACK_OF(X509) * untrusted,
                                const apr_array_header_t *chain,
                                const char *anchors_name, const char **err,
                                apr_pool_t *pool)
{
    for (int i = 1; i < chain->nelts; i++) {
        if (sk_X509_push(untrusted, APR_ARRAY_IDX(chain, i, X509 *)) <= 0)
            return crypt_pool_fail(err, pool, APR_ENOMEM,
                                   "cannot verify the chain");
    }
    X509 *leaf = APR_ARRAY_IDX(chain, 0, X509 *);
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1 ||
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) != 1)
        return crypt_pool_fail(err, pool, APR_EGENERAL,
                               "cannot verify the chain");
    if (X509_verify_cert(ctx) == 1)
        return APR_SUCCESS;
    int code = X509_STORE_CTX_get_error(ctx);
    *err = apr_psprintf(pool,
                        "the chain does not verify against %s: %s "
                        "(at certificate %d)",
                        anchors_name, X509_verify_cert_error_string(code),
                        X509_STORE_CTX_get_error_depth(ctx) + 1);
    ERR_clear_error();
    return APR_EINVAL;
}

apr_status_t crypt_chain_verify_root(const apr_array_header_t *chain,
                                     const char *anchors,
                                     apr_size_t anchors_len,
                                     const char *anchors_name, const char **err,
                                     apr_pool_t *pool)
{
    if (chain == NULL || chain->nelts == 0) {
        *err = "no certificate in the chain";
        return APR_EINVAL;
    }
    if (anchors_len > CRYPT_CHAIN_ANCHORS_MAX) {
        *err = apr_psprintf(pool, "%s: trust anchors larger than 4 MiB",
                            anchors_name);
        return APR_EINVAL;
    }
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    apr_status_t rv;
    if (store == NULL || ctx == NULL || untrusted == NULL)
        rv = crypt_pool_fail(err, pool, APR_ENOMEM, "cannot verify the chain");
    else if (!add_anchors(store, anchors, anchors_len))
        rv = crypt_pool_fail(err, pool, APR_EINVAL,
                             "cannot load trust anchors from %s", anchors_name);
    else
        rv = verify_with(store, ctx, untrusted, chain, anchors_name, err, pool);
    /* The stack only borrowed the chain's certificates. */
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return rv;
}

apr_status_t crypt_chain_check_dates(const apr_array_header_t *chain,
                                     apr_int64_t now, const char **err,
                                     apr_pool_t *pool)
{
    crypt_cert_info_t info;
    if (chain->nelts == 0 ||
        crypt_cert_info(&info, APR_ARRAY_IDX(chain, 0, X509 *), pool) !=
            APR_SUCCESS) {
        *err = "the certificate's dates do not parse";
        return APR_EINVAL;
    }
    if (info.not_before > now + 3600 || info.not_after <= now + 60) {
        *err = apr_psprintf(
            pool,
            "the certificate is not valid now (from %" APR_INT64_T_FMT
            " to %" APR_INT64_T_FMT ", now %" APR_INT64_T_FMT ")",
            info.not_before, info.not_after, now);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}
