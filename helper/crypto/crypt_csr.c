/* crypt_csr.c — checking, building, signing and reading CSRs (see
 * crypt_csr.h).  Names follow crypt_name.c's rules, so a CSR never asks
 * for what a chain would later be refused for.  After a failure the
 * OpenSSL error queue is cleared (crypt_pool_fail). */
#include "crypto/crypt_csr.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "apr_strings.h"

#include "crypto/crypt_key.h"
#include "crypto/crypt_name.h"
#include "crypto/crypt_pool.h"

#define CSR_MAX_BYTES (1024 * 1024)

/* --- checks -------------------------------------------------------------- */

/* CN first, then the other names, without duplicates. */
static apr_array_header_t *spec_names(const crypt_csr_spec_t *spec,
                                      apr_pool_t *pool)
{
    apr_array_header_t *names = apr_array_make(pool, 8, sizeof(const char *));
    crypt_name_add_unique(names, spec->cn);
    for (int i = 0; spec->names != NULL && i < spec->names->nelts; i++)
        crypt_name_add_unique(names,
                              APR_ARRAY_IDX(spec->names, i, const char *));
    return names;
}

static apr_status_t check_name(const char *name, const char **err,
                               apr_pool_t *pool)
{
    const char *why = NULL;
    if (crypt_name_is_ip(name) || crypt_name_valid_fqdn(name, &why, pool))
        return APR_SUCCESS;
    *err = apr_psprintf(pool, "invalid name '%s': %s",
                        crypt_pool_shown(name, pool), why);
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
                            crypt_pool_shown(c, pool));
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
        *err = apr_psprintf(pool, "invalid CN '%s': %s",
                            crypt_pool_shown(cn, pool), why);
        return APR_EINVAL;
    }
    if (strlen(cn) > 64) {
        *err = apr_psprintf(pool,
                            "CN '%s' is longer than 64 characters "
                            "(RFC 5280): choose a shorter CN and give this "
                            "name as a SAN",
                            crypt_pool_shown(cn, pool));
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

/* --- building ------------------------------------------------------------ */

static apr_status_t add_entry(X509_NAME *name, const char *field,
                              const char *value, const char **err,
                              apr_pool_t *pool)
{
    if (value == NULL)
        return APR_SUCCESS;
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   (const unsigned char *)value, -1, -1,
                                   0) != 1)
        return crypt_pool_fail(err, pool, APR_EINVAL,
                               "cannot put %s '%s' in the "
                               "subject",
                               field, crypt_pool_shown(value, pool));
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
        rv = crypt_pool_fail(err, pool, APR_ENOMEM,
                             "cannot build the CSR subject");
    for (size_t i = 0; rv == APR_SUCCESS && i < 6; i++)
        rv = add_entry(name, fields[i][0], fields[i][1], err, pool);
    if (rv == APR_SUCCESS && X509_REQ_set_subject_name(req, name) != 1)
        rv = crypt_pool_fail(err, pool, APR_EGENERAL,
                             "cannot set the CSR subject");
    X509_NAME_free(name);
    return rv;
}

static GENERAL_NAME *general_name(const char *name)
{
    unsigned char addr[16];
    int addr_len = crypt_name_ip_bytes(name, addr);
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
        return crypt_pool_fail(err, pool, APR_EGENERAL,
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
    X509_REQ *req = crypt_pool_req(X509_REQ_new(), pool);
    if (req == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
        X509_REQ_set_pubkey(req, key) != 1)
        return crypt_pool_fail(err, pool, APR_EGENERAL, "cannot build a CSR");
    rv = set_subject(req, spec, err, pool);
    if (rv == APR_SUCCESS)
        rv = add_extensions(req, spec_names(spec, pool),
                            EVP_PKEY_is_a(key, "RSA"), err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (X509_REQ_sign(req, key, crypt_digest_md(spec->digest)) <= 0)
        return crypt_pool_fail(err, pool, APR_EGENERAL, "cannot sign the CSR");
    *out = req;
    return APR_SUCCESS;
}

/* --- reading ------------------------------------------------------------- */

apr_status_t crypt_csr_load(X509_REQ **out, const char *pem, apr_size_t len,
                            const char **err, apr_pool_t *pool)
{
    *out = NULL;
    if (len > CSR_MAX_BYTES) {
        *err = "CSR larger than 1 MiB";
        return APR_EINVAL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509_REQ *req = NULL;
    if (bio != NULL)
        req =
            crypt_pool_req(PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL), pool);
    BIO_free(bio);
    if (req == NULL)
        return crypt_pool_fail(err, pool, APR_EINVAL,
                               "not a PEM certificate request");
    EVP_PKEY *key = X509_REQ_get0_pubkey(req);
    if (key == NULL || X509_REQ_verify(req, key) != 1)
        return crypt_pool_fail(err, pool, APR_EINVAL,
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
        pem = crypt_pool_bio_text(bio, pool);
    BIO_free(bio);
    ERR_clear_error();
    return pem;
}

const char *crypt_csr_der_b64url(X509_REQ *csr, apr_pool_t *pool)
{
    return crypt_pool_der_b64url(csr, ASN1_ITEM_rptr(X509_REQ), pool);
}

apr_array_header_t *crypt_csr_names(X509_REQ *csr, apr_pool_t *pool)
{
    apr_array_header_t *names = apr_array_make(pool, 4, sizeof(const char *));
    const char *cn = crypt_name_cn(X509_REQ_get_subject_name(csr), pool);
    if (cn != NULL)
        crypt_name_add_unique(names, cn);
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
    GENERAL_NAMES *gens = NULL;
    if (exts != NULL)
        gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
    crypt_name_add_general(names, gens, pool);
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
        text = crypt_pool_bio_text(bio, pool);
    BIO_free(bio);
    ERR_clear_error();
    return text;
}

EVP_PKEY *crypt_csr_public_key(X509_REQ *csr)
{
    return X509_REQ_get0_pubkey(csr);
}
