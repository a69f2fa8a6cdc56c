/* test_keyproc.c — the key process (net/keyproc.h), started for real in
 * a child: it signs with the keys root loaded, only on request of the
 * network side's channels, and refuses everything else. */
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "base/base64url.h"
#include "base/wire.h"
#include "crypto/crypt_jose.h"
#include "crypto/crypt_key.h"
#include "net/keyproc.h"
#include "net/net_proto.h"
#include "tap.h"

static int control[2], sign[2];
static pid_t child;

static void start(void)
{
    socketpair(AF_UNIX, SOCK_STREAM, 0, control);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sign);
    child = fork();
    if (child == 0) {
        close(control[0]);
        close(sign[0]);
        privdrop_t drop = {NULL, NULL, 1, 0}; /* stays this uid; no files */
        int fds[1] = {sign[1]};
        _exit(keyproc_main(control[1], fds, 1, &drop, 0, 0));
    }
    close(control[1]);
    close(sign[1]);
}

/* The answer's type, with its one field (bytes or reason) in *field. */
static apr_uint32_t ask(int fd, wire_out_t *w, const unsigned char **field,
                        apr_size_t *len, apr_pool_t *pool)
{
    wire_in_t in;
    const char *why = NULL;
    *field = NULL;
    *len = 0;
    if (wire_send(fd, w) != APR_SUCCESS ||
        wire_recv(&in, fd, 65536, 5000, pool) != APR_SUCCESS)
        return 0;
    if (in.type == KEY_SIGNATURE)
        wire_get_bytes(&in, field, len, 8192);
    if (in.type == KEY_REFUSED && wire_get_str(&in, &why, 4096, pool)) {
        *field = (const unsigned char *)why;
        *len = strlen(why);
    }
    return in.type;
}

static apr_uint32_t load(int fd, int slot, int kind, const void *p,
                         apr_size_t n, apr_pool_t *pool)
{
    wire_out_t w;
    const unsigned char *f;
    apr_size_t len;
    wire_begin(&w, KEY_LOAD, pool);
    wire_put_int(&w, slot);
    wire_put_int(&w, kind);
    wire_put_bytes(&w, p, n);
    return ask(fd, &w, &f, &len, pool);
}

static apr_uint32_t sign_with(int fd, int slot, const char *data,
                              const unsigned char **sig, apr_size_t *len,
                              apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, KEY_SIGN, pool);
    wire_put_int(&w, slot);
    wire_put_bytes(&w, data, strlen(data));
    return ask(fd, &w, sig, len, pool);
}

static const char *input(const char *payload, apr_pool_t *pool);
static apr_uint32_t allow(int what, const char *value, apr_pool_t *pool);

/* ES256 in JOSE form (r || s, 32 bytes each) checked with the public
 * key. */
static int es256_verifies(EVP_PKEY *key, const char *data,
                          const unsigned char *sig, apr_size_t len)
{
    if (len != 64)
        return 0;
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int good = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
               EVP_DigestVerify(md, der, (size_t)der_len,
                                (const unsigned char *)data, strlen(data)) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return good;
}

static void signing(apr_pool_t *pool)
{
    EVP_PKEY *key = NULL;
    char *pem = NULL;
    apr_size_t pem_len = 0;
    const char *err = NULL;
    const unsigned char *sig = NULL;
    apr_size_t len = 0;
    crypt_key_type_t type;
    crypt_key_type_parse(&type, "ec256", &err, pool);
    crypt_key_generate(&key, type, &err, pool);
    crypt_key_serialise_pem(&pem, &pem_len, key, &err, pool);
    is_int(load(control[0], 3, KEY_KIND_PRIVATE, pem, pem_len, pool), KEY_DONE,
           "root loads a key into slot 3");
    const char *request = input("{\"identifiers\":[]}", pool);
    is_int(sign_with(sign[0], 3, request, &sig, &len, pool), KEY_SIGNATURE,
           "the network side gets a signature with slot 3");
    ok(es256_verifies(key, request, sig, len),
       "and it verifies with the key's public half");
    is_int(sign_with(sign[0], 5, "x", &sig, &len, pool), KEY_REFUSED,
           "an empty slot signs nothing");
    is_int(load(control[0], 3, KEY_KIND_PRIVATE, "not a key", 9, pool),
           KEY_REFUSED, "a key that does not parse is refused");
    is_int(sign_with(sign[0], 3, "x", &sig, &len, pool), KEY_REFUSED,
           "and the slot it was meant for is empty after it");
    is_int(load(control[0], 9, KEY_KIND_HMAC, "secret", 6, pool), KEY_DONE,
           "an EAB HMAC key is loaded");
    const char *jwk = "{\"kty\":\"EC\"}";
    const char *binding = input(jwk, pool);
    unsigned char want[32];
    allow(KEY_ALLOW_EAB_JWK, jwk, pool);
    crypt_jose_hmac_sha256(want, "secret", 6, binding, strlen(binding));
    ok(sign_with(sign[0], 9, binding, &sig, &len, pool) == KEY_SIGNATURE &&
           len == 32 && memcmp(sig, want, 32) == 0,
       "it computes HS256 with it (over the binding of root's key)");
    wire_out_t w;
    const unsigned char *f;
    wire_begin(&w, KEY_DROP, pool);
    wire_put_int(&w, 9);
    is_int(ask(control[0], &w, &f, &len, pool), KEY_DONE, "root drops it");
    is_int(sign_with(sign[0], 9, binding, &sig, &len, pool), KEY_REFUSED,
           "and it signs no more");
}

static void refusals(apr_pool_t *pool)
{
    const unsigned char *f = NULL;
    apr_size_t len = 0;
    is_int(load(sign[0], 1, KEY_KIND_HMAC, "k", 1, pool), KEY_REFUSED,
           "the network side cannot load a key");
    is_int(sign_with(control[0], 3, "x", &f, &len, pool), KEY_REFUSED,
           "the control channel does not sign");
    wire_out_t w;
    wire_begin(&w, 0x4e01, pool);
    is_int(ask(sign[0], &w, &f, &len, pool), KEY_REFUSED,
           "a frame of another kind is refused");
    wire_begin(&w, KEY_SIGN, pool);
    wire_put_int(&w, 64);
    wire_put_bytes(&w, "x", 1);
    is_int(ask(sign[0], &w, &f, &len, pool), KEY_REFUSED,
           "a slot out of range is refused");
    static char huge[NET_SIGN_MAX + 1024];
    memset(huge, 'a', sizeof(huge) - 1);
    ok(sign_with(sign[0], 3, huge, &f, &len, pool) == 0,
       "a frame over the cap ends that channel");
}

/* "header.payload" as jws.c makes it, the payload given as JSON. */
static const char *input(const char *payload, apr_pool_t *pool)
{
    const char *h = base64url_encode(pool, "{\"alg\":\"ES256\"}", 15);
    return apr_pstrcat(pool, h, ".",
                       base64url_encode(pool, payload, strlen(payload)), NULL);
}

static apr_uint32_t allow(int what, const char *value, apr_pool_t *pool)
{
    wire_out_t w;
    const unsigned char *f;
    apr_size_t len;
    wire_begin(&w, KEY_ALLOW, pool);
    wire_put_int(&w, what);
    wire_put_bytes(&w, value, strlen(value));
    return ask(control[0], &w, &f, &len, pool);
}

static int signs(int slot, const char *payload, apr_pool_t *pool)
{
    const unsigned char *sig;
    apr_size_t len;
    return sign_with(sign[0], slot, input(payload, pool), &sig, &len, pool) ==
           KEY_SIGNATURE;
}

/* A keyChange's outer payload: the inner JWS, its header naming jwk. */
static const char *key_change(const char *jwk, apr_pool_t *pool)
{
    const char *h = apr_psprintf(pool, "{\"alg\":\"ES256\",\"jwk\":%s}", jwk);
    const char *p = "{\"account\":\"https://ca/acct/1\",\"oldKey\":{}}";
    return apr_psprintf(pool,
                        "{\"protected\":\"%s\",\"payload\":\"%s\","
                        "\"signature\":\"x\"}",
                        base64url_encode(pool, h, strlen(h)),
                        base64url_encode(pool, p, strlen(p)));
}

/* What the key process signs with the account key beyond plain
 * requests: only what root allowed (net/keyproc_policy.h). */
static void policy(apr_pool_t *pool)
{
    EVP_PKEY *key = NULL;
    char *pem = NULL;
    apr_size_t pem_len = 0;
    const char *err = NULL;
    crypt_key_type_t type;
    crypt_key_type_parse(&type, "ec256", &err, pool);
    crypt_key_generate(&key, type, &err, pool);
    crypt_key_serialise_pem(&pem, &pem_len, key, &err, pool);
    load(control[0], 4, KEY_KIND_PRIVATE, pem, pem_len, pool);
    ok(signs(4, "{\"identifiers\":[]}", pool), "a newOrder is signed");
    const unsigned char *sig;
    apr_size_t len;
    const char *get =
        apr_pstrcat(pool, base64url_encode(pool, "{}", 2), ".", NULL);
    ok(sign_with(sign[0], 4, get, &sig, &len, pool) == KEY_SIGNATURE,
       "a POST-as-GET is signed");
    ok(!signs(4, "{\"csr\":\"MIIBcsr\"}", pool),
       "a finalize for a CSR root did not send is refused");
    is_int(allow(KEY_ALLOW_CSR, "MIIBcsr", pool), KEY_DONE,
           "root allows its CSR");
    ok(signs(4, "{\"csr\":\"MIIBcsr\"}", pool), "its finalize is signed");
    ok(!signs(4, "{\"csr\":\"MIIBother\"}", pool), "and still no other CSR's");
    const char *mine =
        "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"a\",\"y\":\"b\"}";
    const char *theirs =
        "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"c\",\"y\":\"d\"}";
    ok(!signs(4, key_change(mine, pool), pool),
       "a keyChange root did not ask for is refused");
    allow(KEY_ALLOW_KEY_CHANGE, mine, pool);
    ok(!signs(4, key_change(theirs, pool), pool),
       "a keyChange to another key than root's is refused");
    ok(signs(4, key_change(mine, pool), pool),
       "the keyChange to root's new key is signed");
    ok(signs(4, key_change(mine, pool), pool),
       "and again (a badNonce retry signs the same request anew)");
    ok(!signs(4, "{\"status\":\"deactivated\"}", pool),
       "a deactivation root did not ask for is refused");
    allow(KEY_ALLOW_DEACTIVATE, "", pool);
    ok(signs(4, "{\"status\":\"deactivated\"}", pool) &&
           signs(4, "{\"status\":\"deactivated\"}", pool),
       "the one root asked for is signed (again on a badNonce retry)");
    allow(KEY_ALLOW_REVOKE, "MIICcert", pool);
    ok(!signs(4, "{\"certificate\":\"MIICother\",\"reason\":0}", pool),
       "a revocation of another certificate is refused");
    ok(signs(4, "{\"certificate\":\"MIICcert\",\"reason\":0}", pool) &&
           signs(4, "{\"certificate\":\"MIICcert\",\"reason\":0}", pool),
       "the one root asked for is signed (again on a badNonce retry)");
    load(control[0], 5, KEY_KIND_HMAC, "secret", 6, pool);
    allow(KEY_ALLOW_EAB_JWK, mine, pool);
    ok(!signs(5, theirs, pool), "an EAB binding of another key is refused");
    ok(signs(5, mine, pool), "the binding of root's account key is signed");
}

int main(void)
{
    apr_pool_t *pool = NULL;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    start();
    signing(pool);
    policy(pool);
    refusals(pool);
    close(control[0]);
    int status = -1;
    waitpid(child, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "the key process ends when root closes its channel");
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
