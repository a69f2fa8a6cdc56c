/* crypt_challenge.c — see crypt_challenge.h. */
#include "crypto/crypt_challenge.h"

#include <string.h>

#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "apr_strings.h"

#include "base/base64url.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_key.h"
#include "crypto/crypt_pool.h"

#define ACME_IDENTIFIER_OID "1.3.6.1.5.5.7.1.31"
#define CHALLENGE_CERT_DAYS 7

const char *crypt_challenge_dns_value(const char *keyauth, apr_pool_t *pool)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)keyauth, strlen(keyauth), digest);
    return base64url_encode(pool, digest, sizeof(digest));
}

/* The extension's value is the DER of an OCTET STRING holding the
 * digest (RFC 8737 §3: Authorization ::= OCTET STRING (SIZE (32))). */
static X509_EXTENSION *acme_identifier(const char *keyauth)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)keyauth, strlen(keyauth), digest);
    ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING *outer = ASN1_OCTET_STRING_new();
    ASN1_OBJECT *oid = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    unsigned char *der = NULL;
    int len = -1;
    X509_EXTENSION *ext = NULL;
    if (inner != NULL && outer != NULL && oid != NULL &&
        ASN1_OCTET_STRING_set(inner, digest, sizeof(digest)) == 1)
        len = i2d_ASN1_OCTET_STRING(inner, &der);
    if (len > 0 && ASN1_OCTET_STRING_set(outer, der, len) == 1)
        ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, outer);
    OPENSSL_free(der);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(inner);
    ASN1_OCTET_STRING_free(outer);
    return ext;
}

static int add_san(X509 *cert, const char *host)
{
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    GENERAL_NAME *name = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    int ok = names != NULL && name != NULL && ia5 != NULL &&
             ASN1_STRING_set(ia5, host, (int)strlen(host)) == 1;
    if (ok) {
        GENERAL_NAME_set0_value(name, GEN_DNS, ia5);
        ia5 = NULL;
        ok = sk_GENERAL_NAME_push(names, name) > 0;
        if (ok)
            name = NULL;
    }
    ok = ok && X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 1, 0) == 1;
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(name);
    GENERAL_NAMES_free(names);
    return ok;
}

static int fill_cert(X509 *cert, EVP_PKEY *key, const char *host,
                     const char *keyauth)
{
    X509_NAME *subject = X509_get_subject_name(cert);
    X509_EXTENSION *ext = acme_identifier(keyauth);
    int ok = ext != NULL && X509_set_version(cert, 2) == 1 &&
             ASN1_INTEGER_set(X509_get_serialNumber(cert),
                              (long)(apr_time_now() & 0x7fffffff)) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(cert),
                             CHALLENGE_CERT_DAYS * 86400L) != NULL &&
             X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                                        (const unsigned char *)host, -1, -1,
                                        0) == 1 &&
             X509_set_issuer_name(cert, subject) == 1 &&
             X509_set_pubkey(cert, key) == 1 && add_san(cert, host) &&
             X509_add_ext(cert, ext, -1) == 1 &&
             X509_sign(cert, key, EVP_sha256()) > 0;
    X509_EXTENSION_free(ext);
    return ok;
}

apr_status_t crypt_challenge_alpn_cert(const char **cert_pem,
                                       const char **key_pem, const char *host,
                                       const char *keyauth, const char **err,
                                       apr_pool_t *pool)
{
    EVP_PKEY *key = NULL;
    char *kp = NULL;
    apr_size_t klen = 0;
    apr_status_t rv = crypt_key_generate(&key, CRYPT_KEY_EC256, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    X509 *cert = crypt_pool_x509(X509_new(), pool);
    if (cert == NULL || strlen(host) > 64 ||
        !fill_cert(cert, key, host, keyauth))
        return crypt_pool_fail(err, pool, APR_EGENERAL,
                               "cannot make the tls-alpn-01 certificate");
    rv = crypt_key_serialise_pem(&kp, &klen, key, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    *cert_pem = crypt_cert_pem(cert, pool);
    *key_pem = kp;
    return APR_SUCCESS;
}

int crypt_challenge_alpn_matches(X509 *cert, const char *keyauth)
{
    ASN1_OBJECT *oid = OBJ_txt2obj(ACME_IDENTIFIER_OID, 1);
    int at = oid != NULL ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
    ASN1_OBJECT_free(oid);
    if (at < 0)
        return 0;
    ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(cert, at));
    const unsigned char *p = ASN1_STRING_get0_data(data);
    ASN1_OCTET_STRING *inner =
        d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(data));
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)keyauth, strlen(keyauth), digest);
    int ok = inner != NULL && ASN1_STRING_length(inner) == sizeof(digest) &&
             memcmp(ASN1_STRING_get0_data(inner), digest, sizeof(digest)) == 0;
    ASN1_OCTET_STRING_free(inner);
    return ok;
}
