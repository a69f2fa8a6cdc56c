/* crypt_key.c — key types, generation, and PEM parsing and serialising
 * (see crypt_key.h).  Bytes in, bytes out: reading and writing key files
 * lives in ops/key_file.c.  After a failure the OpenSSL error queue is
 * cleared so that a later, unrelated error is not reported with a stale
 * reason. */
#include "crypto/crypt_key.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "apr_strings.h"

#include "crypto/crypt_pool.h"

/* What generation and crypt_key_type_of need of each type; the JOSE
 * properties of the same types are in crypt_jose.c. */
typedef struct {
    const char *name;
    int bits;          /* RSA modulus size */
    int curve_nid;     /* EC: the named curve */
    const char *group; /* EC: group name for keygen; NULL for RSA */
} key_info_t;

static const key_info_t key_types[] = {
    [CRYPT_KEY_RSA2048] = {"rsa2048", 2048, 0, NULL},
    [CRYPT_KEY_RSA3072] = {"rsa3072", 3072, 0, NULL},
    [CRYPT_KEY_RSA4096] = {"rsa4096", 4096, 0, NULL},
    [CRYPT_KEY_EC256] = {"ec256", 256, NID_X9_62_prime256v1, "P-256"},
    [CRYPT_KEY_EC384] = {"ec384", 384, NID_secp384r1, "P-384"},
};
_Static_assert(sizeof(key_types) / sizeof(key_types[0]) == CRYPT_KEY_TYPE_COUNT,
               "one key_types entry per crypt_key_type_t");

/* --- names of key types -------------------------------------------------- */

apr_status_t crypt_key_type_parse(crypt_key_type_t *out, const char *name,
                                  const char **err, apr_pool_t *pool)
{
    for (int i = 0; i < CRYPT_KEY_TYPE_COUNT; i++) {
        if (strcasecmp(name, key_types[i].name) == 0) {
            *out = (crypt_key_type_t)i;
            return APR_SUCCESS;
        }
    }
    *err = apr_psprintf(pool,
                        "key type '%s' is not accepted: use rsa2048, "
                        "rsa3072, rsa4096, ec256 or ec384",
                        crypt_pool_shown(name, pool));
    return APR_EINVAL;
}

const char *crypt_key_type_name(crypt_key_type_t type)
{
    return (unsigned)type < CRYPT_KEY_TYPE_COUNT ? key_types[type].name : NULL;
}

/* --- keys ---------------------------------------------------------------- */

apr_status_t crypt_key_generate(EVP_PKEY **out, crypt_key_type_t type,
                                const char **err, apr_pool_t *pool)
{
    *out = NULL;
    if ((unsigned)type >= CRYPT_KEY_TYPE_COUNT) {
        *err = "unknown key type";
        return APR_EINVAL;
    }
    const key_info_t *info = &key_types[type];
    EVP_PKEY *key =
        info->group != NULL
            ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", info->group)
            : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)info->bits);
    if (key == NULL)
        return crypt_pool_fail(err, pool, APR_EGENERAL,
                               "cannot generate a %s key", info->name);
    *out = crypt_pool_pkey(key, pool);
    return APR_SUCCESS;
}

apr_status_t crypt_key_type_of(crypt_key_type_t *out, EVP_PKEY *key)
{
    char group[64];
    int is_ec = EVP_PKEY_is_a(key, "EC");
    if (!is_ec && !EVP_PKEY_is_a(key, "RSA"))
        return APR_EINVAL;
    if (is_ec &&
        !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                        sizeof(group), NULL)) {
        ERR_clear_error();
        return APR_EINVAL;
    }
    int nid = is_ec ? OBJ_txt2nid(group) : NID_undef;
    int bits = EVP_PKEY_get_bits(key);
    for (int i = 0; i < CRYPT_KEY_TYPE_COUNT; i++) {
        const key_info_t *info = &key_types[i];
        int match = is_ec ? info->group != NULL && info->curve_nid == nid
                          : info->group == NULL && info->bits == bits;
        if (match) {
            *out = (crypt_key_type_t)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

int crypt_key_public_equal(EVP_PKEY *a, EVP_PKEY *b)
{
    int eq = a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;
    ERR_clear_error();
    return eq;
}

/* --- PEM ----------------------------------------------------------------- */

/* OpenSSL 3.0 builds a decoder context for every PEM_read_bio_PrivateKey
 * by walking every provider's decoders and key managers: 0.4 ms of a 0.45
 * ms parse, paid twice per certificate in a fleet's run.  Each thread
 * keeps one context and decodes into it again (the decoding itself is
 * the same).  A context that failed once answers every later call with
 * success and no key, so a failure throws it away. */
typedef struct {
    OSSL_DECODER_CTX *ctx;
    EVP_PKEY *decoded; /* where ctx puts each key */
} key_decoder_t;

static pthread_key_t decoder_slot;
static atomic_uint decoders_built;
static pthread_once_t decoder_slot_once = PTHREAD_ONCE_INIT;

static void key_decoder_free(void *data)
{
    key_decoder_t *d = data;
    OSSL_DECODER_CTX_free(d->ctx);
    EVP_PKEY_free(d->decoded);
    free(d);
}

static void decoder_slot_make(void)
{
    if (pthread_key_create(&decoder_slot, key_decoder_free) != 0)
        abort();
}

static key_decoder_t *key_decoder_get(void)
{
    pthread_once(&decoder_slot_once, decoder_slot_make);
    key_decoder_t *d = pthread_getspecific(decoder_slot);
    if (d != NULL)
        return d;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    atomic_fetch_add(&decoders_built, 1);
    d->ctx = OSSL_DECODER_CTX_new_for_pkey(&d->decoded, "PEM", NULL, NULL,
                                           EVP_PKEY_KEYPAIR, NULL, NULL);
    if (d->ctx == NULL ||
        !OSSL_DECODER_CTX_set_pem_password_cb(d->ctx, crypt_pool_no_passphrase,
                                              NULL) ||
        pthread_setspecific(decoder_slot, d) != 0) {
        key_decoder_free(d);
        ERR_clear_error();
        return NULL;
    }
    return d;
}

/* The key, or NULL (the thread's context then gone); the slow path of
 * PEM_read_bio_PrivateKey judges what this one refuses. */
static EVP_PKEY *key_decode_cached(const char *pem, apr_size_t len)
{
    key_decoder_t *d = key_decoder_get();
    if (d == NULL)
        return NULL;
    const unsigned char *p = (const unsigned char *)pem;
    size_t left = len;
    d->decoded = NULL;
    if (OSSL_DECODER_from_data(d->ctx, &p, &left) && d->decoded != NULL) {
        EVP_PKEY *key = d->decoded;
        d->decoded = NULL;
        return key;
    }
    pthread_setspecific(decoder_slot, NULL);
    key_decoder_free(d);
    ERR_clear_error();
    return NULL;
}

unsigned crypt_key_decoders_built(void)
{
    return atomic_load(&decoders_built);
}

apr_status_t crypt_key_parse_pem(EVP_PKEY **out, const char *pem,
                                 apr_size_t len, const char **err,
                                 apr_pool_t *pool)
{
    *out = NULL;
    if (len > CRYPT_KEY_PEM_MAX) {
        *err = "key PEM larger than 64 KiB";
        return APR_EINVAL;
    }
    EVP_PKEY *key = key_decode_cached(pem, len);
    if (key == NULL) {
        BIO *bio = BIO_new_mem_buf(pem, (int)len);
        if (bio != NULL)
            key = PEM_read_bio_PrivateKey(bio, NULL, crypt_pool_no_passphrase,
                                          NULL);
        BIO_free(bio);
    }
    if (key == NULL)
        return crypt_pool_fail(err, pool, APR_EINVAL,
                               "not an unencrypted PEM private key");
    crypt_key_type_t type;
    if (crypt_key_type_of(&type, key) != APR_SUCCESS) {
        EVP_PKEY_free(key);
        *err = "unsupported key (accepted: rsa2048, rsa3072, rsa4096, "
               "ec256, ec384)";
        return APR_EINVAL;
    }
    *out = crypt_pool_pkey(key, pool);
    return APR_SUCCESS;
}

apr_status_t crypt_key_serialise_pem(char **pem, apr_size_t *len, EVP_PKEY *key,
                                     const char **err, apr_pool_t *pool)
{
    /* A secure-memory BIO: its buffer is cleansed whenever it grows or is
     * freed, so the only copy left is the pool's, cleansed in its turn. */
    BIO *bio = BIO_new(BIO_s_secmem());
    char *data = NULL;
    long data_len = 0;
    *pem = NULL;
    *len = 0;
    if (bio != NULL &&
        PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
        data_len = BIO_get_mem_data(bio, &data);
    if (data_len <= 0 || data == NULL) {
        BIO_free(bio);
        return crypt_pool_fail(err, pool, APR_EGENERAL,
                               "cannot encode the key");
    }
    char *copy = apr_palloc(pool, (apr_size_t)data_len + 1);
    crypt_pool_secret(copy, (apr_size_t)data_len + 1, pool);
    memcpy(copy, data, (size_t)data_len);
    copy[data_len] = '\0';
    BIO_free(bio);
    *pem = copy;
    *len = (apr_size_t)data_len;
    return APR_SUCCESS;
}

int crypt_key_type_is_rsa(crypt_key_type_t type)
{
    return type == CRYPT_KEY_RSA2048 || type == CRYPT_KEY_RSA3072 ||
           type == CRYPT_KEY_RSA4096;
}
