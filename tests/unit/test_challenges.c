/* Unit tests of what the other challenge types rest on: the challenges /
 * dns_hook keys of expacme.conf, the type chosen per name, the dns-01
 * TXT value, and the tls-alpn-01 certificate (RFC 8737 §3). */
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "acme/acme_order.h"
#include "base/config.h"
#include "crypto/crypt_challenge.h"
#include "ops/challenge_alpn.h"

static char dir[] = "/tmp/expacme-challenges-test.XXXXXX";

static const char *load(apr_pool_t *pool, const char *text,
                        expacme_config_t **config)
{
    const char *path = apr_pstrcat(pool, dir, "/c.conf", NULL);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    const char *err = NULL;
    config_load(config, &err, path, pool);
    return *config == NULL ? err : NULL;
}

static int contains(const char *s, const char *part)
{
    return s != NULL && strstr(s, part) != NULL;
}

static void test_config(apr_pool_t *pool)
{
    expacme_config_t *c = NULL;
    ok(load(pool,
            "dns_resolver = 127.0.0.1:5353\n[cert w]\n"
            "challenges = tls-alpn-01 dns-01\ndns_hook = /usr/bin/hook\n",
            &c) == NULL,
       "challenges and dns_hook accepted");
    const expacme_cert_conf_t *w = c ? config_cert(c, "w") : NULL;
    ok(w && w->challenge_types->nelts == 2 &&
           strcmp(APR_ARRAY_IDX(w->challenge_types, 0, const char *),
                  "tls-alpn-01") == 0,
       "preference order kept");
    ok(w && config_cert_allows(w, "dns-01") &&
           !config_cert_allows(w, "http-01"),
       "config_cert_allows");
    ok(c && strcmp(c->check_http_address, "127.0.0.1:80") == 0 &&
           strcmp(c->check_tls_address, "127.0.0.1:443") == 0,
       "check addresses default to this host's 80 and 443");
    const expacme_cert_conf_t *s = c ? config_cert(c, "server") : NULL;
    ok(s && s->challenge_types->nelts == 1 && config_cert_allows(s, "http-01"),
       "default: http-01 only");
    ok(contains(load(pool, "[cert a]\nchallenges = dns-02\n", &c),
                "unknown challenge type 'dns-02'"),
       "unknown type refused, named");
    ok(contains(load(pool, "[cert a]\nchallenges = http-01 http-01\n", &c),
                "given twice"),
       "a type twice refused");
    ok(contains(load(pool, "[cert a]\nchallenges = dns-01\n", &c),
                "no dns_hook"),
       "dns-01 without dns_hook refused");
    ok(contains(load(pool, "[cert a]\ndns_hook = hook.sh\n", &c),
                "absolute path"),
       "relative dns_hook refused");
}

static void test_type_for(apr_pool_t *pool)
{
    apr_array_header_t *t = apr_array_make(pool, 3, sizeof(const char *));
    APR_ARRAY_PUSH(t, const char *) = "http-01";
    APR_ARRAY_PUSH(t, const char *) = "dns-01";
    is_str(acme_order_type_for(t, "www.example.org"), "http-01",
           "first preference for a plain name");
    is_str(acme_order_type_for(t, "*.example.org"), "dns-01",
           "a wildcard only by dns-01");
    is_str(acme_order_type_for(t, "192.0.2.1"), "http-01",
           "an IP address by http-01");
    apr_array_clear(t);
    APR_ARRAY_PUSH(t, const char *) = "tls-alpn-01";
    ok(acme_order_type_for(t, "*.example.org") == NULL,
       "a wildcard with tls-alpn-01 only: none fits");
    ok(acme_order_type_for(NULL, "*.example.org") == NULL,
       "a wildcard by default: none fits");
}

static void test_values(apr_pool_t *pool)
{
    /* SHA-256("abc") = ba7816bf...: base64url without padding. */
    is_str(crypt_challenge_dns_value("abc", pool),
           "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0",
           "dns-01 value: base64url(SHA-256(keyauth))");
    const char *cert_pem = NULL, *key_pem = NULL, *err = NULL;
    ok(crypt_challenge_alpn_cert(&cert_pem, &key_pem, "www.example.org",
                                 "tok.thumb", &err, pool) == APR_SUCCESS,
       "tls-alpn-01 certificate made");
    BIO *bio = BIO_new_mem_buf(cert_pem, -1);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ok(x != NULL, "it parses");
    ok(x && crypt_challenge_alpn_matches(x, "tok.thumb"),
       "it carries the acmeIdentifier of its key authorization");
    ok(x && !crypt_challenge_alpn_matches(x, "tok.other"), "and not another's");
    int crit = -1;
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
    int at = x ? X509_get_ext_by_OBJ(x, oid, -1) : -1;
    if (at >= 0)
        crit = X509_EXTENSION_get_critical(X509_get_ext(x, at));
    ASN1_OBJECT_free(oid);
    ok(crit == 1, "acmeIdentifier is critical");
    GENERAL_NAMES *sans =
        x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
    ok(sans && sk_GENERAL_NAME_num(sans) == 1, "exactly one SAN");
    GENERAL_NAMES_free(sans);
    ok(contains(key_pem, "BEGIN PRIVATE KEY"), "its own key, PKCS#8");
    X509_free(x);
}

/* A Redis store has no place for the answer files: refused, saying so,
 * and nothing written. */
static void test_alpn_redis(apr_pool_t *pool)
{
    expacme_config_t config;
    memset(&config, 0, sizeof(config));
    config.challenge_store = "redis://127.0.0.1:1/x";
    const char *err = NULL;
    ok(challenge_alpn_put(&config, "www.example.test", "a.b", 1, &err, pool) !=
           APR_SUCCESS,
       "tls-alpn-01 answer refused on a Redis store");
    ok(contains(err, "needs an shm: challenge store"), "saying why");
    err = NULL;
    ok(challenge_alpn_del(&config, "www.example.test", &err, pool) !=
               APR_SUCCESS &&
           contains(err, "Redis store"),
       "withdrawal refused the same way");
}

int main(void)
{
    apr_pool_t *pool = NULL;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (mkdtemp(dir) == NULL)
        return 1;
    test_config(pool);
    test_type_for(pool);
    test_values(pool);
    test_alpn_redis(pool);
    unlink(apr_pstrcat(pool, dir, "/c.conf", NULL));
    rmdir(dir);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
