/* The module's view of a hostile store file: whatever bytes the file
 * holds (zero-padded to the size its header claims, so the header is
 * reached), mapping, the window, listing and lookups never read past the
 * file, never crash, and answer only what token_rules allow. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "challenge_store.h"

static int fd = -1;

static int visit(const challenge_store_entry_t *e, void *baton)
{
    const challenge_store_map_t *map = baton;
    char keyauth[TOKEN_RULES_KEYAUTH_MAX + 1];
    size_t len = 0;
    if (strlen(e->token) > TOKEN_RULES_TOKEN_MAX ||
        strlen(e->host) > TOKEN_RULES_HOST_MAX)
        abort();
    if (challenge_store_lookup(map, e->host, strlen(e->host), e->token,
                               strlen(e->token), 0, keyauth, sizeof(keyauth),
                               &len) == CHALLENGE_STORE_OK &&
        (len != strlen(keyauth) || !token_rules_keyauth_valid(keyauth, len)))
        abort(); /* a served key authorization is always a valid one */
    return 0;
}

/* The size the header claims: header + capacity * entry_size. */
static size_t claimed_size(const uint8_t *data, size_t size)
{
    uint32_t capacity = 0, entry_size = 0;
    if (size < 20)
        return size;
    memcpy(&capacity, data + 12, 4);
    memcpy(&entry_size, data + 16, 4);
    /* Larger tables only cost time per input (every slot is read), not
     * new paths: the mapping code checks the size for any capacity. */
    if (capacity > 2048 || entry_size > 4096)
        return size;
    size_t want = CHALLENGE_STORE_HEADER_SIZE + (size_t)capacity * entry_size;
    return want > size ? want : size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    if (fd < 0)
        fd = memfd_create("fuzz-store", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 0) != 0 ||
        ftruncate(fd, (off_t)claimed_size(data, size)) != 0 ||
        pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    challenge_store_map_t *map = NULL;
    if (challenge_store_map(&map, path) != CHALLENGE_STORE_OK)
        return 0;
    challenge_store_window_open(map, 1700000000);
    challenge_store_foreach(map, visit, map);
    char keyauth[TOKEN_RULES_KEYAUTH_MAX + 1];
    size_t len = 0;
    challenge_store_lookup(map, "a.example", 9, "tok", 3, 0, keyauth,
                           sizeof(keyauth), &len);
    challenge_store_unmap(map);
    return 0;
}
