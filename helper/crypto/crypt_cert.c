/* crypt_cert.c — facts about one certificate and its encodings (see
 * crypt_cert.h).  Read-only: every function leaves the certificate as it
 * is and the OpenSSL error queue empty. */
#include "crypto/crypt_cert.h"

#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "apr_strings.h"

#include "base/base64url.h"
#include "crypto/crypt_key.h"
#include "crypto/crypt_name.h"
#include "crypto/crypt_pool.h"

/* --- crypt_cert_info ----------------------------------------------------- */

static const char *key_label(EVP_PKEY *key, apr_pool_t *pool)
{
    crypt_key_type_t type;
    if (key == NULL)
        return NULL;
    if (crypt_key_type_of(&type, key) == APR_SUCCESS)
        return crypt_key_type_name(type);
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
    out->subject = crypt_name_line(X509_get_subject_name(cert), pool);
    out->issuer = crypt_name_line(X509_get_issuer_name(cert), pool);
    out->issuer_cn = crypt_name_cn(X509_get_issuer_name(cert), pool);
    out->names = crypt_cert_names(cert, pool);
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

apr_array_header_t *crypt_cert_names(X509 *cert, apr_pool_t *pool)
{
    apr_array_header_t *names = apr_array_make(pool, 4, sizeof(const char *));
    GENERAL_NAMES *gens =
        X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    crypt_name_add_general(names, gens, pool);
    GENERAL_NAMES_free(gens);
    ERR_clear_error();
    return names;
}

/* --- encodings ----------------------------------------------------------- */

const char *crypt_cert_pem(X509 *cert, apr_pool_t *pool)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *pem = NULL;
    if (bio != NULL && PEM_write_bio_X509(bio, cert) == 1)
        pem = crypt_pool_bio_text(bio, pool);
    BIO_free(bio);
    ERR_clear_error();
    return pem;
}

EVP_PKEY *crypt_cert_public_key(X509 *cert)
{
    return X509_get0_pubkey(cert);
}

const char *crypt_cert_der_b64url(X509 *cert, apr_pool_t *pool)
{
    return crypt_pool_der_b64url(cert, ASN1_ITEM_rptr(X509), pool);
}

const char *crypt_cert_ari_id(X509 *cert, apr_pool_t *pool)
{
    AUTHORITY_KEYID *akid =
        X509_get_ext_d2i(cert, NID_authority_key_identifier, NULL, NULL);
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
    id = apr_pstrcat(
        pool,
        base64url_encode(pool, ASN1_STRING_get0_data(akid->keyid),
                         (apr_size_t)ASN1_STRING_length(akid->keyid)),
        ".", base64url_encode(pool, der + 2, der[1]), NULL);
cleanup:
    AUTHORITY_KEYID_free(akid);
    ERR_clear_error();
    return id;
}
