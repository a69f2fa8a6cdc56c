/* crypt_pool.c — the plumbing of crypto/ (see crypt_pool.h): pool
 * cleanups for OpenSSL objects and secret bytes, the error helper, and
 * text conversions.  Nothing here knows about keys, CSRs or chains. */
#include "crypto/crypt_pool.h"

#include <stdarg.h>
#include <string.h>

#include <openssl/err.h>

#include "apr_strings.h"

#include "base/base64url.h"

#define SHOWN_MAX 80 /* characters of a bad value quoted in a message */

typedef struct {
    void *data;
    apr_size_t len;
} secret_t;

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

static apr_status_t secret_cleanup(void *data)
{
    secret_t *secret = data;
    OPENSSL_cleanse(secret->data, secret->len);
    return APR_SUCCESS;
}

EVP_PKEY *crypt_pool_pkey(EVP_PKEY *key, apr_pool_t *pool)
{
    if (key != NULL)
        apr_pool_cleanup_register(pool, key, pkey_cleanup,
                                  apr_pool_cleanup_null);
    return key;
}

X509_REQ *crypt_pool_req(X509_REQ *req, apr_pool_t *pool)
{
    if (req != NULL)
        apr_pool_cleanup_register(pool, req, req_cleanup,
                                  apr_pool_cleanup_null);
    return req;
}

X509 *crypt_pool_x509(X509 *cert, apr_pool_t *pool)
{
    if (cert != NULL)
        apr_pool_cleanup_register(pool, cert, x509_cleanup,
                                  apr_pool_cleanup_null);
    return cert;
}

void crypt_pool_secret(void *data, apr_size_t len, apr_pool_t *pool)
{
    secret_t *secret = apr_palloc(pool, sizeof(*secret));
    secret->data = data;
    secret->len = len;
    apr_pool_cleanup_register(pool, secret, secret_cleanup,
                              apr_pool_cleanup_null);
}

apr_status_t crypt_pool_fail(const char **err, apr_pool_t *pool,
                             apr_status_t rv, const char *fmt, ...)
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

const char *crypt_pool_shown(const char *value, apr_pool_t *pool)
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

const char *crypt_pool_bio_text(BIO *bio, apr_pool_t *pool)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len < 0 || data == NULL)
        return len == 0 ? "" : NULL;
    return apr_pstrmemdup(pool, data, (apr_size_t)len);
}

const char *crypt_pool_der_b64url(const void *obj, const ASN1_ITEM *it,
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

int crypt_pool_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}
