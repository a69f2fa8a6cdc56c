/* test_net_keys.c — root's book of the key process's slots (net_start.c),
 * with the key and network processes started for real: a key keeps its
 * slot, the ring reuses the oldest, and a load the key process refuses
 * leaves no name behind for a slot it may have emptied. */
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "crypto/crypt_key.h"
#include "net/net_proto.h"
#include "net/net_start.h"
#include "tap.h"

static const char *key_pem(apr_pool_t *pool, apr_size_t *len)
{
    EVP_PKEY *key = NULL;
    char *pem = NULL;
    const char *err = NULL;
    if (crypt_key_generate(&key, CRYPT_KEY_EC256, &err, pool) != APR_SUCCESS ||
        crypt_key_serialise_pem(&pem, len, key, &err, pool) != APR_SUCCESS)
        return NULL;
    return pem;
}

int main(void)
{
    apr_initialize();
    apr_pool_t *pool = NULL;
    apr_pool_create(&pool, NULL);
    const char *err = NULL;
    if (!ok(net_start(1, "nobody", &err) == APR_SUCCESS && net_pid() > 0,
            "the network and key processes started")) {
        printf("#   %s\n", err ? err : "");
        return done_testing();
    }
    apr_size_t len = 0;
    const char *pem = key_pem(pool, &len);
    int first =
        pem ? net_key_load("first", KEY_KIND_PRIVATE, pem, len, &err) : -1;
    ok(first >= 0 && net_key_find("first") == first,
       "a key loaded is found by its name");
    ok(net_key_load("first", KEY_KIND_PRIVATE, pem, len, &err) == first,
       "loaded again: the same slot");
    int loaded = 1;
    for (int i = 1; i < NET_SLOTS; i++) {
        const char *other = key_pem(pool, &len);
        loaded &= other != NULL &&
                  net_key_load(apr_psprintf(pool, "other-%d", i),
                               KEY_KIND_PRIVATE, other, len, &err) >= 0;
    }
    ok(loaded && net_key_find("first") == first,
       "every other slot filled: the first still named");
    /* The ring comes round to the first's slot with a load the key
     * process refuses. */
    err = NULL;
    ok(net_key_load("broken", KEY_KIND_PRIVATE, "not a key", 9, &err) < 0 &&
           err != NULL,
       "a load the key process refuses fails");
    is_int(net_key_find("first"), -1,
           "and the slot it took is no longer named for the first key");
    is_int(net_key_find("broken"), -1, "nor for the refused one");
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
