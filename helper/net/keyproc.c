/* keyproc.c — see keyproc.h. */
#include "net/keyproc.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "apr_pools.h"
#include "apr_strings.h"

#include "base/wire.h"
#include "crypto/crypt_jose.h"
#include "crypto/crypt_key.h"
#include "net/keyproc_policy.h"
#include "net/net_proto.h"

typedef struct {
    int kind; /* 0: empty */
    apr_pool_t *pool;
    EVP_PKEY *key;
    unsigned char *mac;
    apr_size_t mac_len;
} key_slot_t;

static key_slot_t slots[NET_SLOTS];
static keyproc_policy_t *policy;

static void slot_clear(key_slot_t *slot)
{
    if (slot->mac != NULL)
        OPENSSL_cleanse(slot->mac, slot->mac_len);
    if (slot->pool != NULL)
        apr_pool_destroy(slot->pool); /* frees the EVP_PKEY with it */
    memset(slot, 0, sizeof(*slot));
}

static void answer(int fd, apr_uint32_t type, const char *why, apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, type, pool);
    if (why != NULL)
        wire_put_str(&w, why);
    wire_send(fd, &w);
}

static const char *slot_load(key_slot_t *slot, apr_int64_t kind,
                             const unsigned char *bytes, apr_size_t len)
{
    const char *err = NULL;
    slot_clear(slot);
    apr_pool_create(&slot->pool, NULL);
    if (kind == KEY_KIND_HMAC) {
        if (len == 0)
            return "an empty HMAC key";
        slot->mac = apr_pmemdup(slot->pool, bytes, len);
        slot->mac_len = len;
    } else if (crypt_key_parse_pem(&slot->key, (const char *)bytes, len, &err,
                                   slot->pool) != APR_SUCCESS) {
        slot_clear(slot);
        return "the key does not parse";
    }
    slot->kind = (int)kind;
    return NULL;
}

static void on_control(wire_in_t *in, int fd, apr_pool_t *pool)
{
    apr_int64_t slot = 0, kind = 0;
    const unsigned char *bytes = NULL;
    apr_size_t len = 0;
    const char *why = "refused: not a key-process request";
    if (in->type == KEY_LOAD && wire_get_int(in, &slot, 0, NET_SLOTS - 1) &&
        wire_get_int(in, &kind, KEY_KIND_PRIVATE, KEY_KIND_HMAC) &&
        wire_get_bytes(in, &bytes, &len, NET_KEY_MAX) && wire_done(in))
        why = slot_load(&slots[slot], kind, bytes, len);
    else if (in->type == KEY_ALLOW &&
             wire_get_int(in, &kind, KEY_ALLOW_CSR, KEY_ALLOW_EAB_JWK) &&
             wire_get_bytes(in, &bytes, &len, NET_STR_MAX) && wire_done(in))
        why = keyproc_policy_allow(policy, (int)kind, bytes, len);
    else if (in->type == KEY_DROP &&
             wire_get_int(in, &slot, 0, NET_SLOTS - 1) && wire_done(in)) {
        slot_clear(&slots[slot]);
        why = NULL;
    }
    if (bytes != NULL)
        OPENSSL_cleanse((void *)bytes, len);
    answer(fd, why ? KEY_REFUSED : KEY_DONE, why, pool);
}

static void on_sign(wire_in_t *in, int fd, apr_pool_t *pool)
{
    apr_int64_t n = 0;
    const unsigned char *data = NULL;
    apr_size_t len = 0;
    if (in->type != KEY_SIGN || !wire_get_int(in, &n, 0, NET_SLOTS - 1) ||
        !wire_get_bytes(in, &data, &len, NET_SIGN_MAX) || !wire_done(in)) {
        answer(fd, KEY_REFUSED, "refused: only KEY_SIGN is answered", pool);
        return;
    }
    key_slot_t *slot = &slots[n];
    const char *why =
        slot->kind ? keyproc_policy_check(policy, (const char *)data, len,
                                          slot->kind == KEY_KIND_HMAC, pool)
                   : NULL;
    if (why != NULL) {
        answer(fd, KEY_REFUSED, apr_pstrcat(pool, "refused: ", why, NULL),
               pool);
        return;
    }
    unsigned char *sig = NULL;
    apr_size_t sig_len = 0;
    apr_status_t rv = APR_EINVAL;
    if (slot->kind == KEY_KIND_PRIVATE)
        rv = crypt_jose_sign(&sig, &sig_len, slot->key, data, len, pool);
    else if (slot->kind == KEY_KIND_HMAC) {
        sig = apr_palloc(pool, 32);
        sig_len = 32;
        rv = crypt_jose_hmac_sha256(sig, slot->mac, slot->mac_len, data, len);
    }
    if (rv != APR_SUCCESS) {
        answer(fd, KEY_REFUSED, "no key in that slot, or signing failed", pool);
        return;
    }
    wire_out_t w;
    wire_begin(&w, KEY_SIGNATURE, pool);
    wire_put_bytes(&w, sig, sig_len);
    wire_send(fd, &w);
}

/* One frame from fds[i]; 0 when that channel is done. */
static int serve_one(struct pollfd *p, int is_control)
{
    apr_pool_t *pool = NULL;
    wire_in_t in;
    apr_pool_create(&pool, NULL);
    apr_size_t cap = (is_control ? NET_KEY_MAX : NET_SIGN_MAX) + 64;
    apr_status_t rv = wire_recv(&in, p->fd, cap, 0, pool);
    if (rv == APR_SUCCESS) {
        if (is_control)
            on_control(&in, p->fd, pool);
        else
            on_sign(&in, p->fd, pool);
    }
    apr_pool_destroy(pool);
    return rv == APR_SUCCESS || rv == APR_TIMEUP;
}

int keyproc_main(int control_fd, const int *sign_fds, int count,
                 const privdrop_t *drop, uid_t uid, gid_t gid)
{
    char why[256];
    privdrop_result_t dropped;
    if (privdrop_apply(&dropped, drop, uid, gid, why, sizeof(why)) != 0) {
        fprintf(stderr, "expacmectl key process: %s\n", why);
        return 1;
    }
    struct pollfd *fds = calloc((size_t)count + 1, sizeof(*fds));
    apr_pool_t *pool = NULL;
    if (fds == NULL || apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return 1;
    policy = keyproc_policy_create(pool);
    fds[0] = (struct pollfd){.fd = control_fd, .events = POLLIN};
    for (int i = 0; i < count; i++)
        fds[i + 1] = (struct pollfd){.fd = sign_fds[i], .events = POLLIN};
    for (;;) {
        if (poll(fds, (nfds_t)count + 1, -1) < 0)
            continue;
        for (int i = 0; i <= count; i++) {
            if (fds[i].revents == 0)
                continue;
            if (!serve_one(&fds[i], i == 0)) {
                if (i == 0) { /* root has gone: forget every key */
                    for (int s = 0; s < NET_SLOTS; s++)
                        slot_clear(&slots[s]);
                    free(fds);
                    return 0;
                }
                close(fds[i].fd);
                fds[i].fd = -1;
            }
        }
    }
}
