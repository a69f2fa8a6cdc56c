/* Unit tests of crypto/ (crypt_*.c) and its file wrappers in ops/
 * (key_file.c, chain_file.c): key types, key PEM as bytes and keys on
 * disk, JWK/JWS, HMAC, names, CSRs, and certificate chains made here from
 * a test CA (root -> intermediate -> leaf) built with OpenSSL. */
#include "tap.h"
#include "dir_fixture.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "base/base64url.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "crypto/crypt_csr.h"
#include "crypto/crypt_digest.h"
#include "crypto/crypt_jose.h"
#include "crypto/crypt_key.h"
#include "crypto/crypt_name.h"
#include "ops/chain_file.h"
#include "ops/key_file.h"

static char dir[] = "/tmp/expacme-crypt-test.XXXXXX";
static EVP_PKEY *keys[CRYPT_KEY_TYPE_COUNT];

static int contains(const char *text, const char *part)
{
    return text != NULL && strstr(text, part) != NULL;
}

static const char *path_in(apr_pool_t *pool, const char *name)
{
    return apr_pstrcat(pool, dir, "/", name, NULL);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* --- key types and digests ----------------------------------------------- */

static void test_type_names(apr_pool_t *pool)
{
    crypt_key_type_t type;
    crypt_digest_t digest;
    const char *err = NULL;
    for (int i = 0; i < CRYPT_KEY_TYPE_COUNT; i++) {
        const char *name = crypt_key_type_name((crypt_key_type_t)i);
        ok(crypt_key_type_parse(&type, name, &err, pool) == APR_SUCCESS &&
               (int)type == i,
           apr_psprintf(pool, "key type %s parses", name));
    }
    const char *refused[] = {"rsa1024", "rsa8192", "ed25519", "ec521", ""};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        err = NULL;
        apr_status_t rv = crypt_key_type_parse(&type, refused[i], &err, pool);
        ok(rv == APR_EINVAL && contains(err, "rsa2048, rsa3072, rsa4096, "
                                             "ec256 or ec384"),
           apr_psprintf(pool, "key type '%s' refused, accepted ones listed",
                        refused[i]));
    }
    is_str(crypt_digest_name(CRYPT_DIGEST_SHA384), "sha384", "digest name");
    ok(crypt_digest_parse(&digest, "sha512", &err, pool) == APR_SUCCESS &&
           digest == CRYPT_DIGEST_SHA512,
       "sha512 parses");
    err = NULL;
    ok(crypt_digest_parse(&digest, "sha1", &err, pool) == APR_EINVAL &&
           contains(err, "SHA-1 is refused: "),
       "sha1 refused with the SHA-1 message");
    ok(crypt_digest_parse(&digest, "md5", &err, pool) == APR_EINVAL &&
           contains(err, "sha256, sha384 or sha512"),
       "md5 refused, accepted ones listed");
}

/* --- keys ------------------------------------------------------------------
 */

static void test_generate(apr_pool_t *pool)
{
    const char *err = NULL;
    EVP_PKEY *key = NULL;
    for (int i = 0; i < CRYPT_KEY_TYPE_COUNT; i++) {
        crypt_key_type_t type = (crypt_key_type_t)i;
        crypt_key_type_t got = CRYPT_KEY_TYPE_COUNT;
        apr_status_t rv = crypt_key_generate(&keys[i], type, &err, pool);
        ok(rv == APR_SUCCESS && keys[i] != NULL &&
               crypt_key_type_of(&got, keys[i]) == APR_SUCCESS && got == type,
           apr_psprintf(pool, "generates %s", crypt_key_type_name(type)));
    }
    ok(crypt_key_generate(&key, CRYPT_KEY_TYPE_COUNT, &err, pool) ==
               APR_EINVAL &&
           key == NULL,
       "no key of an unknown type");
    ok(crypt_key_public_equal(keys[CRYPT_KEY_EC256], keys[CRYPT_KEY_EC256]) &&
           !crypt_key_public_equal(keys[CRYPT_KEY_EC256],
                                   keys[CRYPT_KEY_EC384]) &&
           !crypt_key_public_equal(keys[CRYPT_KEY_EC256], NULL),
       "public_equal");
}

static void test_save_load(apr_pool_t *pool)
{
    const char *err = NULL;
    for (int i = 0; i < CRYPT_KEY_TYPE_COUNT; i++) {
        const char *name = crypt_key_type_name((crypt_key_type_t)i);
        const char *path = path_in(pool, apr_pstrcat(pool, name, ".pem", NULL));
        EVP_PKEY *loaded = NULL;
        struct stat st;
        umask(022);
        apr_status_t rv = key_file_save(keys[i], path, &err, pool);
        ok(rv == APR_SUCCESS && stat(path, &st) == 0 &&
               (st.st_mode & 0777) == 0600,
           apr_psprintf(pool, "%s saved with mode 0600", name));
        rv = key_file_load(&loaded, path, &err, pool);
        ok(rv == APR_SUCCESS && crypt_key_public_equal(loaded, keys[i]) &&
               EVP_PKEY_get_bits(loaded) == EVP_PKEY_get_bits(keys[i]),
           apr_psprintf(pool, "%s loads back, same key", name));
    }
    char *text = NULL;
    FILE *f = fopen(path_in(pool, "ec256.pem"), "r");
    char line[64] = "";
    if (f != NULL && fgets(line, sizeof(line), f) != NULL)
        text = line;
    if (f != NULL)
        fclose(f);
    is_str(text, "-----BEGIN PRIVATE KEY-----\n", "PKCS#8 PEM");
    ok(key_file_save(keys[CRYPT_KEY_EC384], path_in(pool, "ec256.pem"), &err,
                     pool) == APR_SUCCESS,
       "saving over an existing key");
}

static const char *write_key_pem(apr_pool_t *pool, const char *name,
                                 EVP_PKEY *key, const EVP_CIPHER *cipher)
{
    const char *path = path_in(pool, name);
    FILE *f = fopen(path, "w");
    PEM_write_PKCS8PrivateKey(f, key, cipher, NULL, 0, NULL,
                              cipher != NULL ? "secret" : NULL);
    fclose(f);
    return path;
}

static void test_load_refused(apr_pool_t *pool)
{
    const char *err = NULL;
    EVP_PKEY *key = NULL;
    apr_status_t rv =
        key_file_load(&key, path_in(pool, "none.pem"), &err, pool);
    ok(APR_STATUS_IS_ENOENT(rv) && key == NULL && contains(err, "none.pem"),
       "absent key file: ENOENT, named");
    write_text(path_in(pool, "junk.pem"), "not a key\n");
    rv = key_file_load(&key, path_in(pool, "junk.pem"), &err, pool);
    ok(rv == APR_EINVAL && contains(err, "junk.pem"), "garbage refused");
    const char *path = write_key_pem(pool, "encrypted.pem",
                                     keys[CRYPT_KEY_EC256], EVP_aes_256_cbc());
    rv = key_file_load(&key, path, &err, pool);
    ok(rv == APR_EINVAL && contains(err, "unencrypted"),
       "encrypted key refused without prompting");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    path = write_key_pem(pool, "ed25519.pem", ed, NULL);
    EVP_PKEY_free(ed);
    rv = key_file_load(&key, path, &err, pool);
    ok(rv == APR_EINVAL && contains(err, "unsupported key"),
       "ed25519 key refused");
    EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    path = write_key_pem(pool, "p521.pem", p521, NULL);
    EVP_PKEY_free(p521);
    rv = key_file_load(&key, path, &err, pool);
    ok(rv == APR_EINVAL && contains(err, "unsupported key"),
       "P-521 key refused");
    ERR_clear_error();
}

/* --- key PEM as bytes (crypt_key_parse_pem, crypt_key_serialise_pem) ----- */

/* PEM of key written by OpenSSL itself: PKCS#8, encrypted when cipher is
 * given, or the traditional (OpenSSL-specific) form when traditional. */
static const char *pem_written(apr_pool_t *pool, EVP_PKEY *key,
                               const EVP_CIPHER *cipher, int traditional)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *pass = cipher != NULL ? "secret" : NULL;
    int written = traditional ? PEM_write_bio_PrivateKey_traditional(
                                    bio, key, cipher, NULL, 0, NULL, pass)
                              : PEM_write_bio_PKCS8PrivateKey(
                                    bio, key, cipher, NULL, 0, NULL, pass);
    char *data = NULL;
    long len = written == 1 ? BIO_get_mem_data(bio, &data) : 0;
    const char *pem = len > 0 ? apr_pstrmemdup(pool, data, len) : "";
    BIO_free(bio);
    return pem;
}

static apr_status_t pkey_free(void *key)
{
    EVP_PKEY_free(key);
    return APR_SUCCESS;
}

/* The public half of key only, as a key of its own (freed with pool). */
static EVP_PKEY *public_only(apr_pool_t *pool, EVP_PKEY *key, const char **pem)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    PEM_write_bio_PUBKEY(bio, key);
    long len = BIO_get_mem_data(bio, &data);
    *pem = apr_pstrmemdup(pool, data, len > 0 ? (apr_size_t)len : 0);
    EVP_PKEY *pub = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    apr_pool_cleanup_register(pool, pub, pkey_free, apr_pool_cleanup_null);
    return pub;
}

static void test_pem_round_trip(apr_pool_t *pool)
{
    const char *err = NULL;
    for (int i = 0; i < CRYPT_KEY_TYPE_COUNT; i++) {
        const char *name = crypt_key_type_name((crypt_key_type_t)i);
        char *pem = NULL;
        apr_size_t len = 0;
        EVP_PKEY *back = NULL;
        crypt_key_type_t type = CRYPT_KEY_TYPE_COUNT;
        apr_status_t rv =
            crypt_key_serialise_pem(&pem, &len, keys[i], &err, pool);
        ok(rv == APR_SUCCESS && pem != NULL && strlen(pem) == len &&
               strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0,
           apr_psprintf(pool, "%s serialised as PKCS#8 PEM, NUL-terminated",
                        name));
        rv = pem != NULL ? crypt_key_parse_pem(&back, pem, len, &err, pool)
                         : APR_EINVAL;
        ok(rv == APR_SUCCESS && crypt_key_public_equal(back, keys[i]) &&
               crypt_key_type_of(&type, back) == APR_SUCCESS && (int)type == i,
           apr_psprintf(pool, "%s PEM parses back to the same key", name));
    }
    const char *pem = pem_written(pool, keys[CRYPT_KEY_EC384], NULL, 1);
    EVP_PKEY *key = NULL;
    ok(crypt_key_parse_pem(&key, pem, strlen(pem), &err, pool) == APR_SUCCESS &&
           crypt_key_public_equal(key, keys[CRYPT_KEY_EC384]),
       "traditional (EC PRIVATE KEY) PEM accepted");
    const char *glued = apr_pstrcat(pool, pem, "trailing junk", NULL);
    ok(crypt_key_parse_pem(&key, glued, strlen(pem), &err, pool) == APR_SUCCESS,
       "only len bytes are read");
    ok(crypt_key_parse_pem(&key, pem, strlen(pem) / 2, &err, pool) ==
               APR_EINVAL &&
           key == NULL,
       "PEM cut at len refused");
}

/* Every supported type, and the traditional EC form, as PEM. */
static const char **pems_of_every_type(apr_pool_t *pool, int *count)
{
    const char **pems =
        apr_pcalloc(pool, sizeof(*pems) * (CRYPT_KEY_TYPE_COUNT + 1));
    const char *err = NULL;
    for (int i = 0; i < CRYPT_KEY_TYPE_COUNT; i++) {
        char *pem = NULL;
        apr_size_t len = 0;
        crypt_key_serialise_pem(&pem, &len, keys[i], &err, pool);
        pems[i] = pem;
    }
    pems[CRYPT_KEY_TYPE_COUNT] =
        pem_written(pool, keys[CRYPT_KEY_EC256], NULL, 1);
    *count = CRYPT_KEY_TYPE_COUNT + 1;
    return pems;
}

/* Parses every form rounds times in turn; 1 when each came back as the
 * key it was made from (the last form is EC256's traditional one). */
static int parse_all_rounds(const char **pems, int count, int rounds,
                            apr_pool_t *pool)
{
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < count; i++) {
            EVP_PKEY *key = NULL;
            const char *err = NULL;
            EVP_PKEY *want =
                keys[i < CRYPT_KEY_TYPE_COUNT ? i : CRYPT_KEY_EC256];
            if (pems[i] == NULL ||
                crypt_key_parse_pem(&key, pems[i], strlen(pems[i]), &err,
                                    pool) != APR_SUCCESS ||
                !crypt_key_public_equal(key, want))
                return 0;
        }
    }
    return 1;
}

typedef struct {
    const char **pems;
    int count;
    int good;
} parse_thread_t;

static void *parse_thread(void *data)
{
    parse_thread_t *t = data;
    apr_pool_t *pool = NULL;
    apr_pool_create_unmanaged(&pool);
    t->good = parse_all_rounds(t->pems, t->count, 10, pool);
    apr_pool_destroy(pool);
    return NULL;
}

/* crypt_key_parse_pem keeps one decoder per thread: the same answers as
 * a fresh parse for every type in any order, a refusal in between does
 * not spoil the next parse, and threads do not share one. */
static void test_pem_decoder_kept(apr_pool_t *pool)
{
    int count = 0;
    const char **pems = pems_of_every_type(pool, &count);
    unsigned before = crypt_key_decoders_built();
    ok(parse_all_rounds(pems, count, 20, pool),
       "every key type parses right, 20 rounds in turn");
    ok(crypt_key_decoders_built() - before <= 1,
       "one decoder built for 120 parses in one thread");
    EVP_PKEY *key = NULL;
    const char *err = NULL;
    const char *enc =
        pem_written(pool, keys[CRYPT_KEY_EC256], EVP_aes_256_cbc(), 0);
    ok(crypt_key_parse_pem(&key, "not a key\n", 10, &err, pool) == APR_EINVAL &&
           crypt_key_parse_pem(&key, enc, strlen(enc), &err, pool) ==
               APR_EINVAL,
       "garbage and an encrypted key refused in between");
    ok(parse_all_rounds(pems, count, 2, pool),
       "after the refusals every type still parses right");
    pthread_t ids[4];
    parse_thread_t runs[4];
    int started = 0;
    for (int i = 0; i < 4; i++) {
        runs[i] = (parse_thread_t){pems, count, 0};
        if (pthread_create(&ids[i], NULL, parse_thread, &runs[i]) == 0)
            started++;
    }
    int good = started == 4;
    for (int i = 0; i < started; i++) {
        pthread_join(ids[i], NULL);
        good &= runs[i].good;
    }
    ok(good, "4 threads at once: each parse right, 10 rounds each");
}

typedef struct {
    const unsigned char *data;
    apr_size_t len;
    int cleansed;
} watch_t;

/* Runs after the cleanups registered later (APR runs them last in, first
 * out) and before the pool's memory is freed. */
static apr_status_t watch_cleanup(void *data)
{
    watch_t *watch = data;
    watch->cleansed = watch->len > 0;
    for (apr_size_t i = 0; i < watch->len; i++) {
        if (watch->data[i] != 0)
            watch->cleansed = 0;
    }
    return APR_SUCCESS;
}

static void test_pem_cleansed(apr_pool_t *pool)
{
    apr_pool_t *sub = NULL;
    watch_t watch = {NULL, 0, 0};
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_pool_create(&sub, pool);
    apr_pool_cleanup_register(sub, &watch, watch_cleanup,
                              apr_pool_cleanup_null);
    if (crypt_key_serialise_pem(&pem, &len, keys[CRYPT_KEY_EC256], &err, sub) ==
        APR_SUCCESS) {
        watch.data = (const unsigned char *)pem;
        watch.len = len;
    }
    ok(len > 0 && pem[0] == '-', "PEM bytes present while their pool lives");
    apr_pool_destroy(sub);
    ok(watch.cleansed, "private key PEM cleansed when its pool goes");
}

static const char *parse_pem_error(apr_pool_t *pool, const char *pem,
                                   apr_size_t len)
{
    EVP_PKEY *key = NULL;
    const char *err = NULL;
    if (crypt_key_parse_pem(&key, pem, len, &err, pool) == APR_SUCCESS)
        return NULL;
    return key == NULL && err != NULL ? err : "(inconsistent result)";
}

static void test_pem_refused(apr_pool_t *pool)
{
    const char *pub_pem = NULL;
    EVP_PKEY *ec = keys[CRYPT_KEY_EC256];
    public_only(pool, ec, &pub_pem);
    const struct {
        const char *pem, *why, *what;
    } bad[] = {
        {"not a key\n", "not an unencrypted PEM private key", "garbage"},
        {"", "not an unencrypted PEM private key", "empty input"},
        {pub_pem, "not an unencrypted PEM private key", "a PUBLIC KEY block"},
        {pem_written(pool, ec, EVP_aes_256_cbc(), 0), "unencrypted",
         "encrypted PKCS#8 key, without prompting"},
        {pem_written(pool, ec, EVP_aes_128_cbc(), 1), "unencrypted",
         "encrypted traditional key, without prompting"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = parse_pem_error(pool, bad[i].pem, strlen(bad[i].pem));
        ok(contains(err, bad[i].why),
           apr_psprintf(pool, "PEM refused: %s", bad[i].what));
        if (!contains(err, bad[i].why))
            printf("#   err: %s\n", err ? err : "(accepted)");
    }
    char *big = apr_pcalloc(pool, CRYPT_KEY_PEM_MAX + 2);
    memset(big, 'A', CRYPT_KEY_PEM_MAX + 1);
    ok(contains(parse_pem_error(pool, big, CRYPT_KEY_PEM_MAX + 1),
                "larger than 64 KiB"),
       "PEM over 64 KiB refused before parsing");
    ERR_clear_error();
}

static void test_pem_wrong_type(apr_pool_t *pool)
{
    const struct {
        EVP_PKEY *key;
        const char *what;
    } other[] = {
        {EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), "ed25519"},
        {EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521"), "P-521"},
        {EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024), "RSA-1024"},
        {EVP_PKEY_Q_keygen(NULL, NULL, "X25519"), "X25519"},
    };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        const char *pem = pem_written(pool, other[i].key, NULL, 0);
        const char *err = parse_pem_error(pool, pem, strlen(pem));
        ok(pem[0] != '\0' && contains(err, "unsupported key (accepted: "
                                           "rsa2048, rsa3072, rsa4096, "
                                           "ec256, ec384)"),
           apr_psprintf(pool, "%s PEM refused as unsupported", other[i].what));
        EVP_PKEY_free(other[i].key);
    }
    const char *pub_pem = NULL;
    EVP_PKEY *pub = public_only(pool, keys[CRYPT_KEY_EC256], &pub_pem);
    char *pem = "unset";
    apr_size_t len = 1;
    const char *err = NULL;
    ok(crypt_key_serialise_pem(&pem, &len, pub, &err, pool) == APR_EGENERAL &&
           pem == NULL && len == 0 && contains(err, "cannot encode the key"),
       "a public key alone is not serialised as a private key");
    const char *path = path_in(pool, "public-only.pem");
    struct stat st;
    err = NULL;
    ok(key_file_save(pub, path, &err, pool) != APR_SUCCESS &&
           contains(err, path) && stat(path, &st) != 0,
       "key_file_save: encoding failure names the file, writes nothing");
}

/* --- JOSE ------------------------------------------------------------------
 */

static apr_size_t b64_len(json_t *jwk, const char *member, apr_pool_t *pool)
{
    unsigned char *out = NULL;
    apr_size_t len = 0;
    const char *text = json_string_value(json_object_get(jwk, member));
    if (text == NULL || base64url_decode(&out, &len, text, pool) != 0)
        return 0;
    return len;
}

static void test_jwk(apr_pool_t *pool)
{
    json_t *jwk = crypt_jose_jwk_public(keys[CRYPT_KEY_EC256]);
    is_int(json_object_size(jwk), 4, "EC JWK: four members");
    is_str(json_string_value(json_object_get(jwk, "kty")), "EC", "kty EC");
    is_str(json_string_value(json_object_get(jwk, "crv")), "P-256", "P-256");
    ok(b64_len(jwk, "x", pool) == 32 && b64_len(jwk, "y", pool) == 32,
       "x and y are 32 bytes");
    json_decref(jwk);
    jwk = crypt_jose_jwk_public(keys[CRYPT_KEY_EC384]);
    ok(json_object_size(jwk) == 4 &&
           strcmp(json_string_value(json_object_get(jwk, "crv")), "P-384") ==
               0 &&
           b64_len(jwk, "x", pool) == 48 && b64_len(jwk, "y", pool) == 48,
       "P-384 JWK: crv, 48-byte coordinates");
    json_decref(jwk);
    jwk = crypt_jose_jwk_public(keys[CRYPT_KEY_RSA2048]);
    ok(json_object_size(jwk) == 3 &&
           strcmp(json_string_value(json_object_get(jwk, "kty")), "RSA") == 0 &&
           strcmp(json_string_value(json_object_get(jwk, "e")), "AQAB") == 0 &&
           b64_len(jwk, "n", pool) == 256,
       "RSA JWK: e AQAB, 256-byte n, nothing else");
    json_decref(jwk);
    is_str(crypt_jose_alg(keys[CRYPT_KEY_EC256]), "ES256", "alg ES256");
    is_str(crypt_jose_alg(keys[CRYPT_KEY_EC384]), "ES384", "alg ES384");
    is_str(crypt_jose_alg(keys[CRYPT_KEY_RSA3072]), "RS256", "alg RS256");
}

/* RFC 7638 §3.1: the example RSA key and its thumbprint. */
static void test_thumbprint(apr_pool_t *pool)
{
    static const char n64[] =
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK"
        "7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9y"
        "BXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgn"
        "Yb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZ"
        "u0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKg"
        "w";
    unsigned char *n = NULL;
    unsigned char *e = NULL;
    apr_size_t n_len = 0;
    apr_size_t e_len = 0;
    base64url_decode(&n, &n_len, n64, pool);
    base64url_decode(&e, &e_len, "AQAB", pool);
    BIGNUM *bn_n = BN_bin2bn(n, (int)n_len, NULL);
    BIGNUM *bn_e = BN_bin2bn(e, (int)e_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *key = NULL;
    int built = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
                EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
    ok(built, "RFC 7638 example key built from n and e");
    is_str(built ? crypt_jose_thumbprint(key, pool) : NULL,
           "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
           "RFC 7638 §3.1 thumbprint");
    json_t *jwk = built ? crypt_jose_jwk_public(key) : NULL;
    is_str(json_string_value(json_object_get(jwk, "n")), n64,
           "JWK n round-trips");
    json_decref(jwk);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
}

static int verify_der(EVP_PKEY *key, const char *md, const unsigned char *sig,
                      size_t sig_len, const char *data)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok_ =
        EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, key, NULL) == 1 &&
        EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)data,
                         strlen(data)) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok_;
}

/* r||s back to DER, then EVP_DigestVerify. */
static int verify_raw_ecdsa(EVP_PKEY *key, const char *md,
                            const unsigned char *sig, size_t sig_len,
                            const char *data)
{
    ECDSA_SIG *ecsig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)(sig_len / 2), NULL);
    BIGNUM *s = BN_bin2bn(sig + sig_len / 2, (int)(sig_len / 2), NULL);
    ECDSA_SIG_set0(ecsig, r, s);
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(ecsig, &der);
    int ok_ = der_len > 0 && verify_der(key, md, der, (size_t)der_len, data);
    OPENSSL_free(der);
    ECDSA_SIG_free(ecsig);
    return ok_;
}

static void test_jws_sign(apr_pool_t *pool)
{
    const char *data = "eyJhbGciOiJFUzI1NiJ9.eyJoZWxsbyI6IndvcmxkIn0";
    unsigned char *sig = NULL;
    apr_size_t len = 0;
    int all = 1;
    /* Many signatures: some have an r or s with leading zero bytes, which
     * must still come out 32 bytes each. */
    for (int i = 0; i < 64; i++) {
        if (crypt_jose_sign(&sig, &len, keys[CRYPT_KEY_EC256], data,
                            strlen(data), pool) != APR_SUCCESS ||
            len != 64 ||
            !verify_raw_ecdsa(keys[CRYPT_KEY_EC256], "SHA256", sig, len, data))
            all = 0;
    }
    ok(all, "ES256: 64 raw bytes, verifies after conversion to DER (x64)");
    ok(crypt_jose_sign(&sig, &len, keys[CRYPT_KEY_EC384], data, strlen(data),
                       pool) == APR_SUCCESS &&
           len == 96 &&
           verify_raw_ecdsa(keys[CRYPT_KEY_EC384], "SHA384", sig, len, data),
       "ES384: 96 raw bytes, verifies with SHA-384");
    ok(crypt_jose_sign(&sig, &len, keys[CRYPT_KEY_RSA2048], data, strlen(data),
                       pool) == APR_SUCCESS &&
           len == 256 &&
           verify_der(keys[CRYPT_KEY_RSA2048], "SHA256", sig, len, data),
       "RS256 verifies");
    ok(!verify_der(keys[CRYPT_KEY_RSA2048], "SHA256", sig, len, "other"),
       "RS256 signature does not verify other data");
}

static void test_hmac_sha256(apr_pool_t *pool)
{
    /* RFC 4231 §4.3, test case 2. */
    unsigned char mac[32];
    const char *data = "what do ya want for nothing?";
    apr_status_t rv =
        crypt_jose_hmac_sha256(mac, "Jefe", 4, data, strlen(data));
    static const unsigned char want[32] = {
        0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
        0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
        0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    ok(rv == APR_SUCCESS && memcmp(mac, want, 32) == 0,
       "HMAC-SHA256, RFC 4231 test case 2");
    ok(crypt_jose_hmac_sha256(mac, "", 0, data, strlen(data)) == APR_EINVAL,
       "empty HMAC key refused");
    is_str(crypt_jose_sha256_b64url("", 0, pool),
           "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", "SHA-256 of ''");
}

/* --- names -----------------------------------------------------------------
 */

static void test_fqdn_valid(apr_pool_t *pool)
{
    const char *good[] = {"www.example.org", "WWW.Example.ORG",
                          "a-b.example.org", "xn--bcher-kva.example",
                          "1a.example.org",  "example.co.uk",
                          "a.b.c.d.e.f.g",   "123.example.org"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const char *why = "unset";
        ok(crypt_name_valid_fqdn(good[i], &why, pool) == 1 && why == NULL,
           apr_psprintf(pool, "'%s' is a valid FQDN", good[i]));
    }
    char label63[64];
    memset(label63, 'a', 63);
    label63[63] = '\0';
    const char *why = NULL;
    ok(crypt_name_valid_fqdn(apr_pstrcat(pool, label63, ".example.org", NULL),
                             &why, pool),
       "a 63-character label is fine");
}

static void test_fqdn_refused(apr_pool_t *pool)
{
    char label64[65];
    memset(label64, 'a', 64);
    label64[64] = '\0';
    char *long_name = apr_palloc(pool, 260);
    for (int i = 0; i < 254; i += 2)
        memcpy(long_name + i, "a.", 2);
    strcpy(long_name + 253, "x"); /* 254 characters */
    const struct {
        const char *name;
        const char *why;
    } bad[] = {
        {"*.example.org", "wildcards need dns-01, which this service does "
                          "not do"},
        {"localhost", "not fully qualified"},
        {"intranet", "not fully qualified"},
        {"192.0.2.1", "IP address"},
        {"2001:db8::1", "IP address"},
        {apr_pstrcat(pool, label64, ".example.org", NULL), "63"},
        {long_name, "253"},
        {"a_b.example.org", "underscore"},
        {"-a.example.org", "hyphen"},
        {"a-.example.org", "hyphen"},
        {"www.example.org.", "trailing dot"},
        {"a..example.org", "empty label"},
        {".example.org", "empty label"},
        {"", "empty"},
        {"www.example.123", "numeric"},
        {"exa mple.org", "invalid character"},
        {"b\xc3\xbc"
         "cher.example",
         "xn--"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;
        int valid = crypt_name_valid_fqdn(bad[i].name, &why, pool);
        ok(valid == 0 && contains(why, bad[i].why),
           apr_psprintf(pool, "'%.40s' refused: %s", bad[i].name, bad[i].why));
        if (valid || !contains(why, bad[i].why))
            printf("#   why: %s\n", why ? why : "(null)");
    }
}

static void test_is_ip(apr_pool_t *pool)
{
    const char *ips[] = {"192.0.2.1", "2001:db8::1", "::1", "::ffff:192.0.2.1",
                         "0.0.0.0"};
    const char *not_ips[] = {"192.0.2",          "256.1.1.1", "www.example.org",
                             "2001:db8::1%eth0", "",          "[::1]",
                             " 192.0.2.1"};
    for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
        ok(crypt_name_is_ip(ips[i]),
           apr_psprintf(pool, "'%s' is an IP address", ips[i]));
    for (size_t i = 0; i < sizeof(not_ips) / sizeof(not_ips[0]); i++)
        ok(!crypt_name_is_ip(not_ips[i]),
           apr_psprintf(pool, "'%s' is not an IP address", not_ips[i]));
}

/* --- CSRs ------------------------------------------------------------------
 */

static apr_array_header_t *name_list(apr_pool_t *pool, const char *const *names,
                                     int count)
{
    apr_array_header_t *list =
        apr_array_make(pool, count, sizeof(const char *));
    for (int i = 0; i < count; i++)
        APR_ARRAY_PUSH(list, const char *) = names[i];
    return list;
}

static const char *joined(const apr_array_header_t *names, apr_pool_t *pool)
{
    return names != NULL ? apr_array_pstrcat(pool, names, ',') : NULL;
}

static const char *subject_field(X509_REQ *csr, int nid, apr_pool_t *pool)
{
    const X509_NAME *name = X509_REQ_get_subject_name(csr);
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    if (i < 0)
        return NULL;
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(
        &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    const char *value = len >= 0 ? apr_pstrndup(pool, (char *)utf8, len) : NULL;
    OPENSSL_free(utf8);
    return value;
}

/* keyUsage of a CSR: its bits, and whether it is critical. */
static int csr_key_usage(X509_REQ *csr, int *critical)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
    int index = X509v3_get_ext_by_NID(exts, NID_key_usage, -1);
    *critical =
        index >= 0 && X509_EXTENSION_get_critical(X509v3_get_ext(exts, index));
    ASN1_BIT_STRING *usage = X509V3_get_d2i(exts, NID_key_usage, NULL, NULL);
    int bits = 0;
    for (int i = 0; usage != NULL && i < 8; i++)
        bits |= ASN1_BIT_STRING_get_bit(usage, i) << i;
    ASN1_BIT_STRING_free(usage);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return bits;
}

static int csr_has_eku(X509_REQ *csr, int nid)
{
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
    EXTENDED_KEY_USAGE *eku =
        X509V3_get_d2i(exts, NID_ext_key_usage, NULL, NULL);
    int found = 0;
    for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++)
        found |= OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)) == nid;
    EXTENDED_KEY_USAGE_free(eku);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return found;
}

static X509_REQ *full_csr(apr_pool_t *pool, X509_REQ **reloaded)
{
    static const char *const names[] = {
        "www.example.org", "example.org", "WWW.example.org", "192.0.2.10",
        "2001:db8::10",    "example.org", "2001:DB8:0::10"};
    crypt_csr_spec_t spec = {.cn = "www.example.org",
                             .names = name_list(pool, names, 7),
                             .digest = CRYPT_DIGEST_SHA384,
                             .org = "Example Ltd",
                             .unit = "Ops",
                             .locality = "Z\xc3\xbcrich",
                             .state = "ZH",
                             .country = "ch"};
    X509_REQ *csr = NULL;
    const char *err = NULL;
    apr_status_t rv =
        crypt_csr_create(&csr, keys[CRYPT_KEY_EC256], &spec, &err, pool);
    ok(rv == APR_SUCCESS && csr != NULL, "CSR created");
    if (rv != APR_SUCCESS)
        printf("#   %s\n", err);
    const char *pem = csr != NULL ? crypt_csr_pem(csr, pool) : NULL;
    ok(contains(pem, "-----BEGIN CERTIFICATE REQUEST-----"), "CSR PEM");
    *reloaded = NULL;
    rv = pem != NULL ? crypt_csr_load(reloaded, pem, strlen(pem), &err, pool)
                     : APR_EINVAL;
    ok(rv == APR_SUCCESS, "CSR loads back from PEM, signature verifies");
    return csr;
}

static void test_csr_contents(apr_pool_t *pool)
{
    X509_REQ *csr = NULL;
    if (full_csr(pool, &csr) == NULL || csr == NULL)
        return;
    is_str(joined(crypt_csr_names(csr, pool), pool),
           "www.example.org,example.org,192.0.2.10,2001:db8::10",
           "names: CN first, duplicates (any case, any IP form) dropped");
    is_str(subject_field(csr, NID_commonName, pool), "www.example.org", "CN");
    is_str(subject_field(csr, NID_organizationName, pool), "Example Ltd", "O");
    is_str(subject_field(csr, NID_organizationalUnitName, pool), "Ops", "OU");
    is_str(subject_field(csr, NID_localityName, pool), "Z\xc3\xbcrich",
           "L in UTF-8");
    is_str(subject_field(csr, NID_stateOrProvinceName, pool), "ZH", "ST");
    is_str(subject_field(csr, NID_countryName, pool), "CH", "C upper-cased");
    ok(csr_has_eku(csr, NID_server_auth) && csr_has_eku(csr, NID_client_auth),
       "EKU serverAuth and clientAuth");
    int critical = 0;
    is_int(csr_key_usage(csr, &critical), 1,
           "EC keyUsage: digitalSignature only");
    ok(critical, "keyUsage critical");
    is_int(X509_REQ_get_signature_nid(csr), NID_ecdsa_with_SHA384,
           "signed with ECDSA SHA-384");
    ok(crypt_key_public_equal(crypt_csr_public_key(csr), keys[CRYPT_KEY_EC256]),
       "CSR carries the key");
    const char *text = crypt_csr_text(csr, pool);
    ok(contains(text, "Certificate Request:") &&
           contains(text, "DNS:example.org") &&
           contains(text, "IP Address:192.0.2.10") &&
           contains(text, "TLS Web Client Authentication"),
       "text like openssl req -text");
    const char *der64 = crypt_csr_der_b64url(csr, pool);
    unsigned char *der = NULL;
    apr_size_t der_len = 0;
    ok(der64 != NULL &&
           base64url_decode(&der, &der_len, der64, pool) == APR_SUCCESS &&
           (int)der_len == i2d_X509_REQ(csr, NULL),
       "base64url DER for finalize");
}

static void test_csr_rsa(apr_pool_t *pool)
{
    crypt_csr_spec_t spec = {.cn = "rsa.example.org",
                             .digest = CRYPT_DIGEST_SHA256};
    X509_REQ *csr = NULL;
    const char *err = NULL;
    ok(crypt_csr_create(&csr, keys[CRYPT_KEY_RSA2048], &spec, &err, pool) ==
           APR_SUCCESS,
       "RSA CSR without SANs given");
    if (csr == NULL)
        return;
    int critical = 0;
    is_int(csr_key_usage(csr, &critical), 1 | 4,
           "RSA keyUsage: digitalSignature and keyEncipherment");
    is_int(X509_REQ_get_signature_nid(csr), NID_sha256WithRSAEncryption,
           "sha256WithRSAEncryption");
    is_str(joined(crypt_csr_names(csr, pool), pool), "rsa.example.org",
           "the CN is the one SAN");
    ok(subject_field(csr, NID_organizationName, pool) == NULL,
       "no O when none given");
}

static const char *spec_error(apr_pool_t *pool, crypt_csr_spec_t spec,
                              const char *extra_name)
{
    const char *err = NULL;
    X509_REQ *csr = NULL;
    if (extra_name != NULL)
        spec.names = name_list(pool, &extra_name, 1);
    if (crypt_csr_create(&csr, keys[CRYPT_KEY_EC256], &spec, &err, pool) ==
        APR_SUCCESS)
        return NULL;
    return err != NULL ? err : "(no message)";
}

static void test_csr_refused(apr_pool_t *pool)
{
    crypt_csr_spec_t base = {.cn = "www.example.org",
                             .digest = CRYPT_DIGEST_SHA256};
    crypt_csr_spec_t spec = base;
    ok(contains(spec_error(pool, base, "*.example.org"), "'*.example.org'") &&
           contains(spec_error(pool, base, "*.example.org"), "dns-01"),
       "wildcard SAN refused, named");
    ok(contains(spec_error(pool, base, "bad_name.example.org"),
                "'bad_name.example.org'"),
       "underscore SAN refused, named");
    spec.cn = "192.0.2.1";
    ok(contains(spec_error(pool, spec, NULL), "invalid CN '192.0.2.1'"),
       "IP as CN refused");
    spec.cn = "localhost";
    ok(contains(spec_error(pool, spec, NULL), "not fully qualified"),
       "bare host name as CN refused");
    spec.cn = "a-rather-long-host-name-for-a-common-name.departments."
              "example.org";
    ok(contains(spec_error(pool, spec, NULL), "64 characters"),
       "CN over 64 characters refused");
    spec = base;
    spec.country = "CHE";
    ok(contains(spec_error(pool, spec, NULL), "two-letter"),
       "three-letter country refused");
    spec.country = "C1";
    ok(contains(spec_error(pool, spec, NULL), "two-letter"),
       "country with a digit refused");
    spec = base;
    spec.org = "Example\nLtd";
    ok(contains(spec_error(pool, spec, NULL), "control character"),
       "control character in O refused");
    spec.org = "";
    ok(contains(spec_error(pool, spec, NULL), "1 to 64"), "empty O refused");
    spec = base;
    spec.names = apr_array_make(pool, 101, sizeof(const char *));
    for (int i = 0; i < 101; i++)
        APR_ARRAY_PUSH(spec.names, const char *) =
            apr_psprintf(pool, "h%d.example.org", i);
    ok(contains(spec_error(pool, spec, NULL), "more than 100"),
       "101 names refused");
    spec = base;
    spec.digest = CRYPT_DIGEST_COUNT;
    ok(spec_error(pool, spec, NULL) != NULL, "unknown digest refused");
}

static void test_csr_load_refused(apr_pool_t *pool)
{
    X509_REQ *csr = NULL;
    const char *err = NULL;
    ok(crypt_csr_load(&csr, "junk", 4, &err, pool) == APR_EINVAL &&
           contains(err, "not a PEM certificate request"),
       "garbage is not a CSR");
    crypt_csr_spec_t spec = {.cn = "www.example.org",
                             .digest = CRYPT_DIGEST_SHA256};
    crypt_csr_create(&csr, keys[CRYPT_KEY_EC256], &spec, &err, pool);
    /* Swap the key after signing: the self-signature no longer holds. */
    X509_REQ_set_pubkey(csr, keys[CRYPT_KEY_EC384]);
    const char *pem = crypt_csr_pem(csr, pool);
    X509_REQ *loaded = NULL;
    ok(crypt_csr_load(&loaded, pem, strlen(pem), &err, pool) == APR_EINVAL &&
           contains(err, "does not verify"),
       "CSR with a broken signature refused");
}

/* --- certificate chains -----------------------------------------------------
 */

typedef struct {
    EVP_PKEY *root_key, *inter_key, *leaf_key, *other_key;
    X509 *root, *inter, *leaf, *other_root, *fake_inter, *wide_leaf;
    const char *root_file, *other_root_file;
} test_ca_t;

static void add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

/* A certificate for key named cn, signed by issuer (self-signed when
 * NULL).  san NULL makes a CA; ski 0 leaves out the subject key id. */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer,
                       EVP_PKEY *issuer_key, const char *san, int ski)
{
    static long serial = 1000;
    X509 *cert = X509_new();
    X509_set_version(cert, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 86400);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(cert, key);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    add_ext(cert, &ctx, NID_basic_constraints,
            san ? "critical,CA:FALSE" : "critical,CA:TRUE");
    add_ext(cert, &ctx, NID_key_usage,
            san ? "critical,digitalSignature" : "critical,keyCertSign,cRLSign");
    if (ski)
        add_ext(cert, &ctx, NID_subject_key_identifier, "hash");
    if (issuer != NULL)
        add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always");
    if (san != NULL) {
        add_ext(cert, &ctx, NID_subject_alt_name, san);
        add_ext(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256());
    return cert;
}

static const char *pem_of(apr_pool_t *pool, X509 *const *certs, int count)
{
    const char *pem = "";
    for (int i = 0; i < count; i++)
        pem = apr_pstrcat(pool, pem, crypt_cert_pem(certs[i], pool), NULL);
    return pem;
}

static EVP_PKEY *ec_key(apr_pool_t *pool)
{
    EVP_PKEY *key = NULL;
    const char *err = NULL;
    crypt_key_generate(&key, CRYPT_KEY_EC256, &err, pool);
    return key;
}

static void make_test_ca(test_ca_t *ca, apr_pool_t *pool)
{
    ca->root_key = ec_key(pool);
    ca->inter_key = ec_key(pool);
    ca->leaf_key = keys[CRYPT_KEY_EC256];
    ca->other_key = ec_key(pool);
    ca->root = make_cert("Test Root", ca->root_key, NULL, NULL, NULL, 1);
    ca->inter = make_cert("Test Intermediate", ca->inter_key, ca->root,
                          ca->root_key, NULL, 1);
    ca->leaf =
        make_cert("www.example.org", ca->leaf_key, ca->inter, ca->inter_key,
                  "DNS:www.example.org,DNS:Example.ORG,IP:192.0.2.10", 1);
    ca->wide_leaf =
        make_cert("www.example.org", ca->leaf_key, ca->inter, ca->inter_key,
                  "DNS:www.example.org,DNS:example.org,"
                  "DNS:extra.example.org,IP:192.0.2.10",
                  1);
    ca->other_root =
        make_cert("Other Root", ca->other_key, NULL, NULL, NULL, 1);
    /* Same name as the intermediate, another key, no key id to give it
     * away: only the signature check can tell. */
    ca->fake_inter = make_cert("Test Intermediate", ca->other_key, ca->root,
                               ca->root_key, NULL, 0);
    ca->root_file = path_in(pool, "root.pem");
    write_text(ca->root_file, pem_of(pool, &ca->root, 1));
    ca->other_root_file = path_in(pool, "other-root.pem");
    write_text(ca->other_root_file, pem_of(pool, &ca->other_root, 1));
}

static void free_test_ca(test_ca_t *ca)
{
    X509 *certs[] = {ca->root,       ca->inter,      ca->leaf,
                     ca->other_root, ca->fake_inter, ca->wide_leaf};
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
}

static const char *parse_error(apr_pool_t *pool, const char *pem)
{
    apr_array_header_t *chain = NULL;
    const char *err = NULL;
    if (crypt_chain_parse(&chain, pem, strlen(pem), &err, pool) == APR_SUCCESS)
        return NULL;
    return chain == NULL && err != NULL ? err : "(inconsistent result)";
}

static apr_array_header_t *parsed(apr_pool_t *pool, const char *pem)
{
    apr_array_header_t *chain = NULL;
    const char *err = NULL;
    if (crypt_chain_parse(&chain, pem, strlen(pem), &err, pool) != APR_SUCCESS)
        printf("#   parse: %s\n", err);
    return chain;
}

static const char *verify_error(apr_pool_t *pool, apr_array_header_t *chain,
                                EVP_PKEY *key, const char *names)
{
    const char *err = NULL;
    apr_array_header_t *list = NULL;
    if (chain == NULL)
        return "(no chain)";
    if (names != NULL) {
        char *state = NULL;
        list = apr_array_make(pool, 4, sizeof(const char *));
        for (char *n = apr_strtok(apr_pstrdup(pool, names), ",", &state);
             n != NULL; n = apr_strtok(NULL, ",", &state))
            APR_ARRAY_PUSH(list, const char *) = n;
    }
    if (crypt_chain_verify(chain, key, list, &err, pool) == APR_SUCCESS)
        return NULL;
    return err != NULL ? err : "(no message)";
}

static void expect_pass(const char *err, const char *what)
{
    if (!ok(err == NULL, what))
        printf("#   %s\n", err);
}

static void test_chain_good(test_ca_t *ca, apr_pool_t *pool)
{
    X509 *certs[] = {ca->leaf, ca->inter, ca->root};
    const char *pem = pem_of(pool, certs, 2);
    apr_array_header_t *chain = parsed(pool, pem);
    is_int(chain ? chain->nelts : 0, 2, "leaf + intermediate parsed");
    expect_pass(verify_error(pool, chain, ca->leaf_key,
                             "192.0.2.10,EXAMPLE.org,www.example.org"),
                "good chain passes (names in any order and case)");
    expect_pass(verify_error(pool, chain, ca->leaf_key, NULL),
                "names NULL: key and links only");
    const char *err = NULL;
    ok(chain_file_verify_root(chain, ca->root_file, &err, pool) == APR_SUCCESS,
       "verifies up to the test root");
    if (err != NULL)
        printf("#   %s\n", err);
    chain = parsed(pool, pem_of(pool, certs, 3));
    ok(chain != NULL && chain->nelts == 3 &&
           verify_error(pool, chain, ca->leaf_key, NULL) == NULL &&
           chain_file_verify_root(chain, ca->root_file, &err, pool) ==
               APR_SUCCESS,
       "chain with the root included passes too");
    const char *crlf = apr_pstrcat(pool, "\n\n", pem, "  \n\t\n", NULL);
    char *dos = apr_pstrdup(pool, "");
    for (const char *p = crlf; *p; p++)
        dos = apr_pstrcat(pool, dos, *p == '\n' ? "\r\n" : "",
                          *p == '\n' ? "" : apr_pstrndup(pool, p, 1), NULL);
    chain = parsed(pool, dos);
    ok(chain != NULL && chain->nelts == 2,
       "whitespace around blocks and CRLF line ends are fine");
}

static void test_chain_bad_verify(test_ca_t *ca, apr_pool_t *pool)
{
    X509 *good[] = {ca->leaf, ca->inter};
    apr_array_header_t *chain = parsed(pool, pem_of(pool, good, 2));
    const char *names = "www.example.org,example.org,192.0.2.10";
    ok(contains(verify_error(pool, chain, ca->other_key, names),
                "public keys differ"),
       "wrong key refused");
    ok(contains(verify_error(pool, chain, ca->leaf_key,
                             "www.example.org,example.org,192.0.2.10,"
                             "mail.example.org"),
                "does not cover mail.example.org"),
       "missing name refused, named");
    ok(contains(verify_error(pool, chain, ca->leaf_key,
                             "www.example.org,example.org,192.0.2.11"),
                "does not cover 192.0.2.11"),
       "other IP refused");
    X509 *wide[] = {ca->wide_leaf, ca->inter};
    ok(contains(verify_error(pool, parsed(pool, pem_of(pool, wide, 2)),
                             ca->leaf_key, names),
                "extra.example.org, which was not asked for"),
       "extra name refused, named");
    X509 *order[] = {ca->leaf, ca->root, ca->inter};
    ok(contains(verify_error(pool, parsed(pool, pem_of(pool, order, 3)),
                             ca->leaf_key, names),
                "certificate 1 (CN=www.example.org) is not issued by "
                "certificate 2 (CN=Test Root)"),
       "wrong order refused");
    X509 *fake[] = {ca->leaf, ca->fake_inter};
    ok(contains(verify_error(pool, parsed(pool, pem_of(pool, fake, 2)),
                             ca->leaf_key, names),
                "does not verify"),
       "issuer with the right name but another key refused");
    const char *err = NULL;
    ok(chain_file_verify_root(chain, ca->other_root_file, &err, pool) ==
               APR_EINVAL &&
           contains(err, "unable to get local issuer certificate"),
       "unknown root refused with OpenSSL's reason");
    apr_array_header_t *leaf_only = parsed(pool, pem_of(pool, good, 1));
    ok(chain_file_verify_root(leaf_only, ca->root_file, &err, pool) ==
           APR_EINVAL,
       "missing intermediate refused (no partial chains)");
    ok(chain_file_verify_root(chain, path_in(pool, "none.pem"), &err, pool) ==
               APR_EINVAL &&
           contains(err, "none.pem"),
       "absent CA file reported");
}

static const char *anchors_error(apr_pool_t *pool, apr_array_header_t *chain,
                                 const char *anchors, apr_size_t len)
{
    const char *err = NULL;
    if (chain == NULL)
        return "(no chain)";
    if (crypt_chain_verify_root(chain, anchors, len, "test anchors", &err,
                                pool) == APR_SUCCESS)
        return NULL;
    return err != NULL ? err : "(no message)";
}

/* crypt_chain_verify_root takes the anchors as bytes (no file I/O). */
static void test_chain_anchors(test_ca_t *ca, apr_pool_t *pool)
{
    X509 *good[] = {ca->leaf, ca->inter};
    apr_array_header_t *chain = parsed(pool, pem_of(pool, good, 2));
    const char *root = pem_of(pool, &ca->root, 1);
    const char *other = pem_of(pool, &ca->other_root, 1);
    const char *both = apr_pstrcat(pool, other, root, NULL);
    expect_pass(anchors_error(pool, chain, root, strlen(root)),
                "anchors as PEM bytes: verifies up to the test root");
    expect_pass(anchors_error(pool, chain, both, strlen(both)),
                "a bundle of several anchors: the right one is found");
    ok(contains(anchors_error(pool, chain, both, strlen(other)),
                "does not verify against test anchors"),
       "only len bytes of the anchors are used");
    ok(contains(anchors_error(pool, chain, "junk\n", 5),
                "cannot load trust anchors from test anchors"),
       "anchors without a certificate refused, named");
    ok(contains(anchors_error(pool, chain, "", 0),
                "cannot load trust anchors from test anchors"),
       "empty anchors refused");
    char *big = apr_pcalloc(pool, CRYPT_CHAIN_ANCHORS_MAX + 2);
    memset(big, '\n', CRYPT_CHAIN_ANCHORS_MAX + 1);
    ok(contains(anchors_error(pool, chain, big, CRYPT_CHAIN_ANCHORS_MAX + 1),
                "larger than 4 MiB"),
       "anchors over 4 MiB refused");
    ERR_clear_error();
}

static void test_chain_bad_parse(test_ca_t *ca, apr_pool_t *pool)
{
    X509 *certs[] = {ca->leaf, ca->inter};
    const char *leaf = pem_of(pool, certs, 1);
    const char *inter = pem_of(pool, certs + 1, 1);
    const char *key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI"
                      "A==\n-----END PRIVATE KEY-----\n";
    const char *ec_key_block = "-----BEGIN EC PRIVATE KEY-----\nAA==\n"
                               "-----END EC PRIVATE KEY-----\n";
    ok(contains(parse_error(pool, apr_pstrcat(pool, leaf, inter, key, NULL)),
                "certificate download contains a private key"),
       "PRIVATE KEY block after the chain refused");
    ok(contains(parse_error(pool, apr_pstrcat(pool, "junk\n", ec_key_block,
                                              leaf, NULL)),
                "certificate download contains a private key"),
       "EC PRIVATE KEY block anywhere refused");
    ok(contains(parse_error(pool, ""), "no certificate"), "empty refused");
    ok(contains(parse_error(pool, " \n\t\r\n"), "no certificate"),
       "whitespace only refused");
    ok(contains(parse_error(pool, apr_pstrcat(pool, "hello\n", leaf, NULL)),
                "text before the first certificate"),
       "garbage before refused");
    ok(contains(
           parse_error(pool, apr_pstrcat(pool, leaf, "junk\n", inter, NULL)),
           "after certificate 1"),
       "garbage between refused");
    ok(contains(parse_error(pool, apr_pstrcat(pool, leaf, inter, "x", NULL)),
                "after certificate 2"),
       "garbage after refused");
    ok(contains(parse_error(pool, apr_pstrcat(pool, leaf,
                                              "-----BEGIN X509 CRL-----\nAA=="
                                              "\n-----END X509 CRL-----\n",
                                              NULL)),
                "unexpected PEM block"),
       "other PEM block refused");
    char *broken = apr_pstrdup(pool, leaf);
    broken[40] = '#';
    ok(contains(parse_error(pool, broken), "certificate 1: malformed"),
       "corrupt base64 refused");
    char *tail = apr_pstrdup(pool, leaf);
    tail[strlen(tail) - 1] = '\0';
    ok(contains(parse_error(pool, apr_pstrcat(pool, tail, "junk\n", NULL)),
                "certificate 1"),
       "text glued to the END line refused");
    const char *many = "";
    for (int i = 0; i < 11; i++)
        many = apr_pstrcat(pool, many, leaf, NULL);
    ok(contains(parse_error(pool, many), "more than 10"),
       "11 certificates refused");
    ok(parse_error(pool, apr_pstrndup(pool, many, strlen(leaf) * 10)) == NULL,
       "10 certificates accepted");
}

static void test_cert_info(test_ca_t *ca, apr_pool_t *pool)
{
    crypt_cert_info_t info;
    apr_int64_t now = (apr_int64_t)time(NULL);
    ok(crypt_cert_info(&info, ca->leaf, pool) == APR_SUCCESS, "cert info");
    is_str(info.subject, "CN=www.example.org", "subject");
    is_str(info.issuer, "CN=Test Intermediate", "issuer");
    is_str(info.issuer_cn, "Test Intermediate", "issuer CN");
    is_str(joined(info.names, pool), "www.example.org,Example.ORG,192.0.2.10",
           "SANs");
    ok(info.not_before > now - 3700 && info.not_before < now - 3500 &&
           info.not_after > now + 7 * 86400 - 100 &&
           info.not_after < now + 7 * 86400 + 100,
       "notBefore and notAfter as epoch seconds");
    is_str(info.key_type, "ec256", "key type");
    ok(info.serial != NULL && strlen(info.serial) >= 2 &&
           strspn(info.serial, "0123456789ABCDEF") == strlen(info.serial),
       "serial in hex");
    ok(info.sha256 != NULL && strlen(info.sha256) == 95 &&
           info.sha256[2] == ':',
       "SHA-256 fingerprint AA:BB:...");
    ok(info.sha1 != NULL && strlen(info.sha1) == 59, "SHA-1 fingerprint");
    crypt_cert_info_t root;
    ok(crypt_cert_info(&root, ca->root, pool) == APR_SUCCESS &&
           root.names->nelts == 0 && strcmp(root.sha256, info.sha256) != 0,
       "root: no SANs, its own fingerprint");
}

/* The same DER parsed again is the same certificate, shared (kept by
 * crypt_chain.c); other bytes, even of the same length, never are; and
 * after more certificates than are kept, the first still parses. */
static void test_chain_kept(test_ca_t *ca, apr_pool_t *pool)
{
    X509 *certs[] = {ca->leaf, ca->inter};
    X509 *others[] = {ca->wide_leaf, ca->inter};
    apr_array_header_t *a = parsed(pool, pem_of(pool, certs, 2));
    apr_array_header_t *b = parsed(pool, pem_of(pool, certs, 2));
    apr_array_header_t *c = parsed(pool, pem_of(pool, others, 2));
    if (!ok(a != NULL && b != NULL && c != NULL, "three chains parsed"))
        return;
    ok(APR_ARRAY_IDX(a, 0, X509 *) == APR_ARRAY_IDX(b, 0, X509 *) &&
           APR_ARRAY_IDX(a, 1, X509 *) == APR_ARRAY_IDX(b, 1, X509 *),
       "the same bytes twice: the same certificates, shared");
    ok(APR_ARRAY_IDX(c, 0, X509 *) != APR_ARRAY_IDX(a, 0, X509 *) &&
           APR_ARRAY_IDX(c, 1, X509 *) == APR_ARRAY_IDX(a, 1, X509 *),
       "another leaf under the same issuer: its own leaf, the issuer shared");
    /* One byte changed inside the signature: same length, other bytes. */
    unsigned char *der = NULL;
    int len = i2d_X509(ca->leaf, &der);
    der[len - 2] ^= 0x01;
    const unsigned char *p = der;
    X509 *changed = d2i_X509(NULL, &p, len);
    OPENSSL_free(der);
    X509 *changed_chain[] = {changed, ca->inter};
    apr_array_header_t *d =
        changed ? parsed(pool, pem_of(pool, changed_chain, 2)) : NULL;
    ok(d != NULL &&
           APR_ARRAY_IDX(d, 0, X509 *) != APR_ARRAY_IDX(a, 0, X509 *) &&
           X509_cmp(APR_ARRAY_IDX(d, 0, X509 *), changed) == 0,
       "bytes of the same length that differ: never the kept one");
    ok(d != NULL && verify_error(pool, d, ca->leaf_key, NULL) != NULL,
       "and its own verdict (its signature no longer checks)");
    X509_free(changed);
    for (int i = 0; i < 70; i++) {
        X509 *one = make_cert(apr_psprintf(pool, "n%d.example", i),
                              ca->leaf_key, ca->inter, ca->inter_key,
                              apr_psprintf(pool, "DNS:n%d.example", i), 1);
        parsed(pool, pem_of(pool, &one, 1));
        X509_free(one);
    }
    /* A certificate larger than is kept: parsed each time. */
    const char *san = "DNS:big.example";
    for (int i = 0; i < 1200; i++)
        san = apr_psprintf(pool, "%s,DNS:n%04d.big.example", san, i);
    X509 *big = make_cert("big.example", ca->leaf_key, ca->inter, ca->inter_key,
                          san, 1);
    apr_array_header_t *f = parsed(pool, pem_of(pool, &big, 1));
    apr_array_header_t *g = parsed(pool, pem_of(pool, &big, 1));
    ok(i2d_X509(big, NULL) > 16 * 1024 && f != NULL && g != NULL &&
           APR_ARRAY_IDX(f, 0, X509 *) != APR_ARRAY_IDX(g, 0, X509 *) &&
           X509_cmp(APR_ARRAY_IDX(f, 0, X509 *), big) == 0,
       "a certificate of more than 16 KiB: parsed each time, not kept");
    X509_free(big);
    apr_array_header_t *e = parsed(pool, pem_of(pool, certs, 2));
    ok(e != NULL && X509_cmp(APR_ARRAY_IDX(e, 0, X509 *), ca->leaf) == 0 &&
           verify_error(pool, e, ca->leaf_key, NULL) == NULL,
       "after 70 others: the first chain parses and verifies again");
}

static void test_chains(apr_pool_t *pool)
{
    test_ca_t ca;
    make_test_ca(&ca, pool);
    test_chain_good(&ca, pool);
    test_chain_bad_verify(&ca, pool);
    test_chain_anchors(&ca, pool);
    test_chain_bad_parse(&ca, pool);
    test_chain_kept(&ca, pool);
    test_cert_info(&ca, pool);
    free_test_ca(&ca);
}

int main(void)
{
    apr_pool_t *pool = NULL;
    if (!test_dir_begin(&pool, dir))
        return 1;
    test_type_names(pool);
    test_generate(pool);
    test_save_load(pool);
    test_load_refused(pool);
    test_pem_round_trip(pool);
    test_pem_cleansed(pool);
    test_pem_refused(pool);
    test_pem_decoder_kept(pool);
    test_pem_wrong_type(pool);
    test_jwk(pool);
    test_thumbprint(pool);
    test_jws_sign(pool);
    test_hmac_sha256(pool);
    test_fqdn_valid(pool);
    test_fqdn_refused(pool);
    test_is_ip(pool);
    test_csr_contents(pool);
    test_csr_rsa(pool);
    test_csr_refused(pool);
    test_csr_load_refused(pool);
    test_chains(pool);
    ok(ERR_peek_error() == 0, "no OpenSSL error left queued");
    apr_pool_destroy(pool);
    test_dir_remove(dir);
    apr_terminate();
    return done_testing();
}
