/* Unit tests of the protocol pieces that need no CA: JWS shape, External
 * Account Binding against a fixed vector, problem documents, hostile JSON,
 * Retry-After, escaping of CA strings. */
#include "tap.h"

#include <stdlib.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "acme/acme.h"
#include <openssl/x509v3.h>

#include "base/base64url.h"
#include "crypto/crypt_cert.h"
#include "acme/acme_json.h"
#include "acme/jws.h"

static apr_pool_t *pool;

static json_t *decode_part(const char *b64)
{
    unsigned char *raw = NULL;
    apr_size_t len = 0;
    if (base64url_decode(&raw, &len, b64, pool) != APR_SUCCESS)
        return NULL;
    return json_loadb((const char *)raw, len, 0, NULL);
}

static apr_status_t fake_sign(unsigned char **sig, apr_size_t *sig_len,
                              const void *data, apr_size_t len, void *baton,
                              apr_pool_t *p)
{
    (*(int *)baton)++;
    *sig = (unsigned char *)apr_pstrdup(p, "sig");
    *sig_len = 3;
    return APR_SUCCESS;
}

static void test_jws_shape(void)
{
    int calls = 0;
    json_t *jwk = json_pack("{s:s, s:s}", "kty", "EC", "crv", "P-256");
    jws_signer_t signer = {"ES256", jwk, NULL, fake_sign, &calls};
    const char *err = NULL;
    json_t *jws = NULL;
    json_t *payload = json_pack("{s:b}", "termsOfServiceAgreed", 1);
    is_int(jws_build_json(&jws, &signer, "https://ca.test/acct", "n0nce",
                          payload, &err, pool),
           APR_SUCCESS, "JWS with jwk built");
    is_int(calls, 1, "signed once");
    json_t *prot =
        decode_part(json_string_value(json_object_get(jws, "protected")));
    is_str(json_string_value(json_object_get(prot, "alg")), "ES256", "alg");
    is_str(json_string_value(json_object_get(prot, "nonce")), "n0nce", "nonce");
    is_str(json_string_value(json_object_get(prot, "url")),
           "https://ca.test/acct", "url");
    ok(json_object_get(prot, "jwk") && !json_object_get(prot, "kid"),
       "jwk, no kid");
    is_str(json_string_value(json_object_get(jws, "signature")), "c2ln",
           "signature base64url");
    json_decref(prot);
    signer.kid = "https://ca.test/acct/1";
    is_int(jws_build_json(&jws, &signer, "https://ca.test/order/1", "n1", NULL,
                          &err, pool),
           APR_SUCCESS, "POST-as-GET built");
    prot = decode_part(json_string_value(json_object_get(jws, "protected")));
    ok(json_object_get(prot, "kid") && !json_object_get(prot, "jwk"),
       "kid, no jwk");
    is_str(json_string_value(json_object_get(jws, "payload")), "",
           "POST-as-GET payload is empty");
    json_decref(prot);
    json_decref(payload);
    json_decref(jwk);
}

static void test_eab_vector(void)
{
    unsigned char *key = NULL;
    apr_size_t key_len = 0;
    base64url_decode(&key, &key_len,
                     "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsU"
                     "DkMTQ12W",
                     pool);
    json_t *jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", "P-256", "kty", "EC",
                            "x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                            "y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0");
    json_t *eab = NULL;
    const char *err = NULL;
    is_int(jws_build_eab(&eab, jwk, "kid-1", key, key_len,
                         "https://ca.test/new-acct", &err, pool),
           APR_SUCCESS, "EAB built");
    is_str(json_string_value(json_object_get(eab, "protected")),
           "eyJhbGciOiJIUzI1NiIsImtpZCI6ImtpZC0xIiwidXJsIjoiaHR0cHM6Ly9jYS50"
           "ZXN0L25ldy1hY2N0In0",
           "EAB protected header: HS256, kid, url, no nonce");
    is_str(json_string_value(json_object_get(eab, "payload")),
           "eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImY4M09KM0QyeEYxQmc4dnVi"
           "OXRMZTFnSE16Vjc2ZThUdXM5dVBIdlJWRVUiLCJ5IjoieF9GRXpSdTltMzZITE5f"
           "dHVlNjU5TE5wWFc2cEN5U3Rpa1lqS0lXSTVhMCJ9",
           "EAB payload is the account JWK");
    is_str(json_string_value(json_object_get(eab, "signature")),
           "OlNc9nEZxwul8mQbQseS1P33JPKY9ITnixPoMclq0Cw",
           "EAB HS256 signature matches the independent computation");
    json_decref(jwk);
}

static http_response_t *response(long status, const char *body,
                                 const char *retry_after)
{
    http_response_t *r = apr_pcalloc(pool, sizeof(*r));
    r->status = status;
    r->body = apr_pstrdup(pool, body);
    r->body_len = strlen(body);
    r->retry_after = retry_after;
    return r;
}

static void test_problems(void)
{
    acme_problem_t *p = acme_problem_parse(
        response(403,
                 "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
                 "\"detail\":\"Some names were refused\",\"subproblems\":["
                 "{\"type\":\"urn:ietf:params:acme:error:caa\",\"detail\":"
                 "\"CAA forbids\",\"identifier\":{\"type\":\"dns\",\"value\":"
                 "\"a.example\"}},{\"type\":7}]}",
                 NULL),
        pool);
    is_str(p->type, "urn:ietf:params:acme:error:rejectedIdentifier", "type");
    is_str(p->detail, "Some names were refused", "detail");
    is_int(p->subproblems->nelts, 2, "two subproblems, one malformed");
    const acme_subproblem_t *s =
        &APR_ARRAY_IDX(p->subproblems, 0, acme_subproblem_t);
    is_str(s->identifier, "dns:a.example", "subproblem identifier");
    const char *text = acme_problem_text(p, pool);
    ok(strstr(text, "403") && strstr(text, "rejectedIdentifier") &&
           strstr(text, "[dns:a.example]") && strstr(text, "CAA forbids"),
       "one line with type, detail and subproblems verbatim");
    p = acme_problem_parse(response(503, "<html>busy</html>", "7"), pool);
    ok(p->type == NULL && p->http_status == 503, "HTML error: status kept");
    is_int(p->retry_after_s, 7, "Retry-After read");
    ok(strstr(acme_problem_text(p, pool), "(no problem type)") != NULL,
       "missing type said so");
    p = acme_problem_parse(response(400,
                                    "{\"type\":\"x\\u0000y\","
                                    "\"detail\":[1,2]}",
                                    NULL),
                           pool);
    ok(p->type == NULL && p->detail == NULL,
       "NUL inside a string and wrong types rejected");
}

static void test_hostile_json(void)
{
    json_t *o = NULL;
    const char *err = NULL;
    ok(acme_json_parse_object(&o, "[1]", 3, "x", &err, pool) != APR_SUCCESS &&
           strstr(err, "not an object"),
       "array refused");
    ok(acme_json_parse_object(&o, "{\"a\":1,\"a\":2}", 13, "x", &err, pool) !=
           APR_SUCCESS,
       "duplicate members refused");
    ok(acme_json_parse_object(&o, "{\"a\":", 5, "dir", &err, pool) !=
               APR_SUCCESS &&
           strstr(err, "dir: malformed JSON"),
       "truncated JSON named");
    char *big = malloc(20000);
    memset(big, 'a', 20000);
    memcpy(big, "{\"s\":\"", 6);
    memcpy(big + 19998, "\"}", 2);
    ok(acme_json_parse_object(&o, big, 20000, "x", &err, pool) == APR_SUCCESS,
       "huge value parses");
    ok(acme_json_string_member(o, "s") == NULL, "but a huge string is refused");
    free(big);
    const char *text = "{\"u\":\"http://ca.test/x\",\"v\":\"https://ca.test/"
                       "a b\",\"w\":\"https://ca.test/ok\",\"n\":5,"
                       "\"e\":\"\"}";
    acme_json_parse_object(&o, text, strlen(text), "x", &err, pool);
    ok(acme_json_url_member(o, "u") == NULL, "http URL refused");
    ok(acme_json_url_member(o, "v") == NULL, "URL with a space refused");
    is_str(acme_json_url_member(o, "w"), "https://ca.test/ok",
           "https URL taken");
    ok(acme_json_string_member(o, "n") == NULL, "number is not a string");
    ok(acme_json_string_member(o, "e") == NULL, "empty string refused");
    ok(acme_json_string_member(o, "missing") == NULL, "missing member");
    ok(acme_json_array_member(o, "w") == NULL, "string is not an array");
    ok(acme_json_string_member(NULL, "x") == NULL, "NULL object");
}

static void test_retry_after_and_escape(void)
{
    apr_time_t now = apr_time_from_sec(1700000000);
    is_int(http_retry_after_seconds("120", now), 120, "delta seconds");
    is_int(http_retry_after_seconds(NULL, now), -1, "absent");
    is_int(http_retry_after_seconds("soon", now), -1, "garbage");
    is_int(http_retry_after_seconds("-5", now), -1, "negative");
    is_int(http_retry_after_seconds("Tue, 14 Nov 2023 22:14:20 GMT", now), 60,
           "HTTP date");
    is_str(acme_escape("bad\r\nX-Header: 1\x1b[31m", 100, pool),
           "bad\\x0d\\x0aX-Header: 1\\x1b[31m", "control characters escaped");
    is_str(acme_escape("abcdef", 3, pool), "abc...", "long strings cut");
}

/* RFC 9773 §4.1's example: AKI 69:88:5B:..., serial 0x87654321. */
static void test_ari_cert_id(void)
{
    static const unsigned char keyid[] = {
        0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
        0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
    X509 *cert = X509_new();
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    akid->keyid = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(akid->keyid, keyid, sizeof(keyid));
    X509_add1_ext_i2d(cert, NID_authority_key_identifier, akid, 0, 0);
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), 0x87654321);
    is_str(crypt_cert_ari_id(cert, pool), "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
           "ARI CertID matches RFC 9773's example");
    AUTHORITY_KEYID_free(akid);
    X509_free(cert);
    cert = X509_new();
    ok(crypt_cert_ari_id(cert, pool) == NULL, "no AKI: no CertID");
    X509_free(cert);
}

static void test_rfc3339(void)
{
    is_int(acme_parse_rfc3339("2026-11-23T00:00:00Z"), 1795392000, "Z");
    is_int(acme_parse_rfc3339("2026-11-23T01:00:00.123456+01:00"), 1795392000,
           "fraction and offset");
    is_int(acme_parse_rfc3339("2026-11-23 00:00:00"), -1, "no zone refused");
    is_int(acme_parse_rfc3339("2026-13-01T00:00:00Z"), -1, "month 13");
    is_int(acme_parse_rfc3339(NULL), -1, "NULL");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_jws_shape();
    test_eab_vector();
    test_problems();
    test_hostile_json();
    test_retry_after_and_escape();
    test_ari_cert_id();
    test_rfc3339();
    int rc = done_testing();
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
