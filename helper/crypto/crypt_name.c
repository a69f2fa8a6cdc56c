/* crypt_name.c — name rules (FQDN, IP literal) and names read out of
 * X.509 structures (see crypt_name.h).  CSR creation and certificate
 * checks share these, so that "the same name" means one thing. */
#include "crypto/crypt_name.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "apr_strings.h"

#include "crypto/crypt_pool.h"

/* --- rules --------------------------------------------------------------- */

int crypt_name_is_ip(const char *name)
{
    unsigned char addr[16];
    return crypt_name_ip_bytes(name, addr) != 0;
}

int crypt_name_ip_bytes(const char *name, unsigned char addr[16])
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

/* --- lists of names ------------------------------------------------------ */

int crypt_name_equal(const char *a, const char *b)
{
    unsigned char addr_a[16];
    unsigned char addr_b[16];
    int len_a = crypt_name_ip_bytes(a, addr_a);
    int len_b = crypt_name_ip_bytes(b, addr_b);
    if (len_a != 0 || len_b != 0)
        return len_a == len_b && memcmp(addr_a, addr_b, (size_t)len_a) == 0;
    return strcasecmp(a, b) == 0;
}

int crypt_name_contains(const apr_array_header_t *names, const char *name)
{
    for (int i = 0; i < names->nelts; i++) {
        if (crypt_name_equal(APR_ARRAY_IDX(names, i, const char *), name))
            return 1;
    }
    return 0;
}

void crypt_name_add_unique(apr_array_header_t *names, const char *name)
{
    if (!crypt_name_contains(names, name))
        APR_ARRAY_PUSH(names, const char *) = name;
}

/* --- names in X.509 structures ------------------------------------------- */

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

const char *crypt_name_cn(const X509_NAME *name, apr_pool_t *pool)
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

const char *crypt_name_line(const X509_NAME *name, apr_pool_t *pool)
{
    BIO *bio = BIO_new(BIO_s_mem());
    const char *line = NULL;
    if (bio != NULL && X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0)
        line = crypt_pool_bio_text(bio, pool);
    BIO_free(bio);
    return line;
}

/* A DNS or IP SAN as text (IPs in inet_ntop form); NULL for other kinds. */
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

void crypt_name_add_general(apr_array_header_t *names,
                            const GENERAL_NAMES *gens, apr_pool_t *pool)
{
    for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        const char *name =
            general_name_text(sk_GENERAL_NAME_value(gens, i), pool);
        if (name != NULL)
            crypt_name_add_unique(names, name);
    }
}
