/* challenge_store.c — layout, seqlock reads and the single writer of the
 * challenge store (see challenge_store.h for the picture). */
#include "challenge_store.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_MAGIC "EXPACME"
#define READ_RETRIES 1000

enum { SLOT_EMPTY = 0, SLOT_LIVE = 1, SLOT_DELETED = 2 };

typedef struct {
    int64_t expires;
    uint32_t state;
    uint16_t host_len;
    uint16_t token_len;
    uint16_t keyauth_len;
    uint16_t reserved[3];
    char host[TOKEN_RULES_HOST_MAX + 3];
    char token[TOKEN_RULES_TOKEN_MAX + 1];
    char keyauth[TOKEN_RULES_KEYAUTH_MAX + 1];
} record_t;

#define RECORD_WORDS (sizeof(record_t) / sizeof(uint64_t))
#define HEAD_WORDS 3 /* expires, state and the lengths */

_Static_assert(sizeof(record_t) % sizeof(uint64_t) == 0,
               "record must be a whole number of words");
_Static_assert(offsetof(record_t, host) == HEAD_WORDS * sizeof(uint64_t),
               "record head is three words");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2,
               "shared-memory atomics must be lock-free");

typedef union {
    record_t rec;
    uint64_t words[RECORD_WORDS];
} record_words_t;

typedef struct {
    _Atomic uint64_t seq;
    _Atomic uint64_t words[RECORD_WORDS];
} entry_t;

typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t capacity;
    uint32_t entry_size;
    uint32_t header_size;
    _Atomic int64_t window_expiry;
    _Atomic uint32_t live_count;
    _Atomic uint32_t retired;
} header_t;

_Static_assert(sizeof(header_t) <= CHALLENGE_STORE_HEADER_SIZE,
               "header fits its page");

struct challenge_store_map {
    void *base;
    size_t size;
    header_t *header;
    entry_t *entries;
    uint32_t capacity;
    dev_t dev;
    ino_t ino;
};

struct challenge_store_writer {
    challenge_store_map_t map;
    int lock_fd;
    char *path;
    void *not_forked; /* map.base when it is marked MADV_DONTFORK already */
};

static const char *const status_texts[] = {
    [CHALLENGE_STORE_OK] = "ok",
    [CHALLENGE_STORE_NOT_FOUND] = "no such challenge",
    [CHALLENGE_STORE_FULL] = "challenge store full: every slot holds a "
                             "live challenge",
    [CHALLENGE_STORE_INVALID] = "invalid host, token or key authorization",
    [CHALLENGE_STORE_ABSENT] = "challenge store does not exist",
    [CHALLENGE_STORE_CORRUPT] = "not a challenge store of this version",
    [CHALLENGE_STORE_IO] = "challenge store I/O error",
    [CHALLENGE_STORE_BUSY] = "challenge entry stayed mid-write",
    [CHALLENGE_STORE_UNSAFE] =
        "unsafe: the store's directory must belong to root (or this user) "
        "and be writable by nobody else, the store and its lock must be "
        "regular files of this user, not symlinks or links",
};
_Static_assert(sizeof(status_texts) / sizeof(status_texts[0]) ==
                   CHALLENGE_STORE_UNSAFE + 1,
               "one text per status");

const char *challenge_store_status_text(challenge_store_status_t status)
{
    if ((unsigned)status > CHALLENGE_STORE_UNSAFE)
        return "unknown challenge store status";
    return status_texts[status];
}

static size_t file_size_for(uint32_t capacity)
{
    return CHALLENGE_STORE_HEADER_SIZE + (size_t)capacity * sizeof(entry_t);
}

static uint32_t token_hash(const char *token, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)token[i];
        h *= 16777619u;
    }
    return h;
}

/* --- seqlock ------------------------------------------------------------- */

static challenge_store_status_t entry_snapshot(const entry_t *entry,
                                               record_words_t *out)
{
    entry_t *e = (entry_t *)entry; /* atomics are read, never written */
    for (int attempt = 0; attempt < READ_RETRIES; attempt++) {
        uint64_t before = atomic_load_explicit(&e->seq, memory_order_acquire);
        if (before & 1)
            continue;
        for (size_t i = 0; i < RECORD_WORDS; i++)
            out->words[i] =
                atomic_load_explicit(&e->words[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        uint64_t after = atomic_load_explicit(&e->seq, memory_order_relaxed);
        if (before == after)
            return CHALLENGE_STORE_OK;
    }
    return CHALLENGE_STORE_BUSY;
}

/* Only the lock holder calls this, so the head can be read without the
 * sequence dance: nobody else writes it. */
static void entry_head(const entry_t *entry, record_words_t *out)
{
    entry_t *e = (entry_t *)entry;
    for (size_t i = 0; i < HEAD_WORDS; i++)
        out->words[i] =
            atomic_load_explicit(&e->words[i], memory_order_relaxed);
}

static void entry_store(entry_t *e, const record_words_t *in)
{
    /* An odd counter left by a writer killed mid-store stays odd here and
     * becomes even once this store completes. */
    uint64_t odd = atomic_load_explicit(&e->seq, memory_order_relaxed) | 1;
    atomic_store_explicit(&e->seq, odd, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (size_t i = 0; i < RECORD_WORDS; i++)
        atomic_store_explicit(&e->words[i], in->words[i], memory_order_relaxed);
    atomic_store_explicit(&e->seq, odd + 1, memory_order_release);
}

/* --- mapping ------------------------------------------------------------- */

static challenge_store_status_t header_check(const header_t *h, size_t size)
{
    if (size < CHALLENGE_STORE_HEADER_SIZE)
        return CHALLENGE_STORE_CORRUPT;
    if (memcmp(h->magic, STORE_MAGIC, sizeof(STORE_MAGIC)) != 0 ||
        h->version != CHALLENGE_STORE_VERSION ||
        h->entry_size != sizeof(entry_t) ||
        h->header_size != CHALLENGE_STORE_HEADER_SIZE || h->capacity < 1 ||
        h->capacity > CHALLENGE_STORE_MAX_CAPACITY ||
        size != file_size_for(h->capacity))
        return CHALLENGE_STORE_CORRUPT;
    return CHALLENGE_STORE_OK;
}

static challenge_store_status_t map_fd(challenge_store_map_t *map, int fd,
                                       int writable)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return CHALLENGE_STORE_IO;
    if (!S_ISREG(st.st_mode) || st.st_size < CHALLENGE_STORE_HEADER_SIZE ||
        (uint64_t)st.st_size > file_size_for(CHALLENGE_STORE_MAX_CAPACITY))
        return CHALLENGE_STORE_CORRUPT;
    int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
    void *base = mmap(NULL, (size_t)st.st_size, prot, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return CHALLENGE_STORE_IO;
    challenge_store_status_t rv = header_check(base, (size_t)st.st_size);
    if (rv != CHALLENGE_STORE_OK) {
        munmap(base, (size_t)st.st_size);
        return rv;
    }
    map->base = base;
    map->size = (size_t)st.st_size;
    map->header = base;
    map->entries = (entry_t *)((char *)base + CHALLENGE_STORE_HEADER_SIZE);
    map->capacity = map->header->capacity;
    map->dev = st.st_dev;
    map->ino = st.st_ino;
    return CHALLENGE_STORE_OK;
}

challenge_store_status_t challenge_store_map(challenge_store_map_t **out,
                                             const char *path)
{
    *out = NULL;
    /* O_NONBLOCK: a FIFO at path must not hang the caller in open();
     * map_fd then refuses anything but a regular file. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? CHALLENGE_STORE_ABSENT : CHALLENGE_STORE_IO;
    challenge_store_map_t *map = calloc(1, sizeof(*map));
    challenge_store_status_t rv = CHALLENGE_STORE_IO;
    if (map != NULL)
        rv = map_fd(map, fd, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    if (rv != CHALLENGE_STORE_OK) {
        free(map);
        return rv;
    }
    *out = map;
    return CHALLENGE_STORE_OK;
}

void challenge_store_unmap(challenge_store_map_t *map)
{
    if (map == NULL)
        return;
    munmap(map->base, map->size);
    free(map);
}

void challenge_store_identity(const challenge_store_map_t *map, dev_t *dev,
                              ino_t *ino)
{
    *dev = map->dev;
    *ino = map->ino;
}

size_t challenge_store_size(const challenge_store_map_t *map)
{
    return map->size;
}

int challenge_store_retired(const challenge_store_map_t *map)
{
    return atomic_load_explicit(&map->header->retired, memory_order_acquire) !=
           0;
}

uint32_t challenge_store_capacity(const challenge_store_map_t *map)
{
    return map->capacity;
}

int challenge_store_window_open(const challenge_store_map_t *map, int64_t now)
{
    return atomic_load_explicit(&map->header->window_expiry,
                                memory_order_acquire) > now;
}

/* --- readers ------------------------------------------------------------- */

static int record_matches(const record_t *rec, const char *host,
                          size_t host_len, const char *token, size_t token_len)
{
    return rec->token_len == token_len &&
           memcmp(rec->token, token, token_len) == 0 &&
           token_rules_host_equal(rec->host, rec->host_len, host, host_len);
}

/* A record copied out of shared memory is checked before its lengths are
 * trusted: the file is root's, but a bug must not become an overread. */
static int record_sane(const record_t *rec)
{
    return rec->host_len <= TOKEN_RULES_HOST_MAX &&
           rec->token_len <= TOKEN_RULES_TOKEN_MAX &&
           rec->keyauth_len <= TOKEN_RULES_KEYAUTH_MAX;
}

/* Walks the probe chain of token (host already bare) to the live entry
 * for (host, token) or the first empty slot; *probes counts the slots
 * looked at. */
static challenge_store_status_t chain_find(const challenge_store_map_t *map,
                                           const char *host, size_t host_len,
                                           const char *token, size_t token_len,
                                           int64_t now, record_words_t *snap,
                                           uint32_t *probes)
{
    uint32_t start = token_hash(token, token_len) % map->capacity;
    *probes = 0;
    for (uint32_t i = 0; i < map->capacity; i++) {
        const entry_t *e = &map->entries[(start + i) % map->capacity];
        (*probes)++;
        challenge_store_status_t rv = entry_snapshot(e, snap);
        if (rv != CHALLENGE_STORE_OK)
            continue; /* a slot stuck mid-write hides only itself */
        const record_t *rec = &snap->rec;
        if (rec->state == SLOT_EMPTY)
            break;
        if (rec->state != SLOT_LIVE || !record_sane(rec) ||
            !record_matches(rec, host, host_len, token, token_len))
            continue;
        /* Served as the response body: only what token_rules allow,
         * whatever a hostile or damaged file holds (found by fuzz_store). */
        if (rec->expires > now &&
            token_rules_keyauth_valid(rec->keyauth, rec->keyauth_len))
            return CHALLENGE_STORE_OK;
    }
    return CHALLENGE_STORE_NOT_FOUND;
}

challenge_store_status_t
challenge_store_lookup(const challenge_store_map_t *map, const char *host,
                       size_t host_len, const char *token, size_t token_len,
                       int64_t now, char *keyauth, size_t keyauth_size,
                       size_t *keyauth_len)
{
    if (!token_rules_token_valid(token, token_len) ||
        !token_rules_host_valid(host, host_len))
        return CHALLENGE_STORE_INVALID;
    token_rules_host_bare(&host, &host_len);
    record_words_t snap;
    uint32_t probes = 0;
    challenge_store_status_t rv =
        chain_find(map, host, host_len, token, token_len, now, &snap, &probes);
    if (rv != CHALLENGE_STORE_OK)
        return rv;
    const record_t *rec = &snap.rec;
    if ((size_t)rec->keyauth_len + 1 > keyauth_size)
        return CHALLENGE_STORE_INVALID;
    memcpy(keyauth, rec->keyauth, rec->keyauth_len);
    keyauth[rec->keyauth_len] = '\0';
    *keyauth_len = rec->keyauth_len;
    return CHALLENGE_STORE_OK;
}

uint32_t challenge_store_probes(const challenge_store_map_t *map,
                                const char *host, const char *token,
                                int64_t now)
{
    size_t host_len = strlen(host);
    record_words_t snap;
    uint32_t probes = 0;
    token_rules_host_bare(&host, &host_len);
    chain_find(map, host, host_len, token, strlen(token), now, &snap, &probes);
    return probes;
}

/* What the writer ever stores: the listing shows nothing else. */
static int record_valid(const record_t *rec)
{
    return token_rules_host_valid(rec->host, rec->host_len) &&
           token_rules_token_valid(rec->token, rec->token_len) &&
           token_rules_keyauth_valid(rec->keyauth, rec->keyauth_len);
}

static void entry_from_record(challenge_store_entry_t *out, const record_t *rec)
{
    memcpy(out->host, rec->host, rec->host_len);
    out->host[rec->host_len] = '\0';
    memcpy(out->token, rec->token, rec->token_len);
    out->token[rec->token_len] = '\0';
    memcpy(out->keyauth, rec->keyauth, rec->keyauth_len);
    out->keyauth[rec->keyauth_len] = '\0';
    out->expires = rec->expires;
}

challenge_store_status_t
challenge_store_foreach(const challenge_store_map_t *map,
                        challenge_store_visit_fn *visit, void *baton)
{
    record_words_t snap;
    challenge_store_entry_t entry;
    for (uint32_t i = 0; i < map->capacity; i++) {
        if (entry_snapshot(&map->entries[i], &snap) != CHALLENGE_STORE_OK)
            continue;
        if (snap.rec.state != SLOT_LIVE || !record_sane(&snap.rec) ||
            !record_valid(&snap.rec))
            continue;
        entry_from_record(&entry, &snap.rec);
        if (visit(&entry, baton) != 0)
            break;
    }
    return CHALLENGE_STORE_OK;
}

/* --- the writer ---------------------------------------------------------- */

/* Returns how many slots are tombstones. */
static uint32_t header_refresh(challenge_store_map_t *map)
{
    int64_t latest = 0;
    uint32_t live = 0, deleted = 0;
    record_words_t head;
    for (uint32_t i = 0; i < map->capacity; i++) {
        entry_head(&map->entries[i], &head);
        deleted += head.rec.state == SLOT_DELETED;
        if (head.rec.state != SLOT_LIVE)
            continue;
        live++;
        if (head.rec.expires > latest)
            latest = head.rec.expires;
    }
    atomic_store_explicit(&map->header->live_count, live, memory_order_release);
    atomic_store_explicit(&map->header->window_expiry, latest,
                          memory_order_release);
    return deleted;
}

static void record_fill(record_words_t *out, const char *host, size_t host_len,
                        const char *token, const char *keyauth, int64_t expires)
{
    memset(out, 0, sizeof(*out));
    out->rec.state = SLOT_LIVE;
    out->rec.expires = expires;
    out->rec.host_len = (uint16_t)host_len;
    out->rec.token_len = (uint16_t)strlen(token);
    out->rec.keyauth_len = (uint16_t)strlen(keyauth);
    memcpy(out->rec.host, host, out->rec.host_len);
    memcpy(out->rec.token, token, out->rec.token_len);
    memcpy(out->rec.keyauth, keyauth, out->rec.keyauth_len);
}

/* Writes rec into the slot of its (host, token), else into the first
 * empty, deleted or expired slot of its probe chain. */
static challenge_store_status_t
map_insert(challenge_store_map_t *map, const record_words_t *rec, int64_t now)
{
    const record_t *r = &rec->rec;
    uint32_t start = token_hash(r->token, r->token_len) % map->capacity;
    int64_t free_slot = -1;
    record_words_t cur;
    for (uint32_t i = 0; i < map->capacity; i++) {
        uint32_t slot = (start + i) % map->capacity;
        entry_head(&map->entries[slot], &cur);
        if (cur.rec.state == SLOT_EMPTY) {
            if (free_slot < 0)
                free_slot = slot;
            break;
        }
        if (cur.rec.state == SLOT_LIVE) {
            entry_snapshot(&map->entries[slot], &cur);
            if (record_matches(&cur.rec, r->host, r->host_len, r->token,
                               r->token_len)) {
                free_slot = slot;
                break;
            }
            if (cur.rec.expires > now)
                continue;
        }
        if (free_slot < 0)
            free_slot = slot;
    }
    if (free_slot < 0)
        return CHALLENGE_STORE_FULL;
    entry_store(&map->entries[free_slot], rec);
    return CHALLENGE_STORE_OK;
}

static void slot_clear(entry_t *e)
{
    record_words_t gone;
    memset(&gone, 0, sizeof(gone));
    gone.rec.state = SLOT_DELETED; /* keeps probe chains through it intact */
    entry_store(e, &gone);
}

static uint32_t slot_state(const challenge_store_map_t *map, uint32_t slot)
{
    record_words_t head;
    entry_head(&map->entries[slot], &head);
    return head.rec.state;
}

/* Turns the deleted slots that end a probe chain back into empty ones,
 * walking back from slot.  No lookup needs a tombstone with an empty slot
 * right after it: every chain through it stops one slot later anyway.
 * Kept after every delete, that means no tombstone ever precedes an empty
 * slot, so years of put/delete cannot use up the empty slots (without
 * which every missed lookup walks the whole table).  Readers stay right:
 * one writer (the lock holder) changes slots, and a reader that now stops
 * at the new empty slot stops where its chain ended anyway. */
static void chain_trim(challenge_store_map_t *map, uint32_t slot)
{
    uint32_t cap = map->capacity;
    if (slot_state(map, (slot + 1) % cap) != SLOT_EMPTY)
        return;
    record_words_t empty;
    memset(&empty, 0, sizeof(empty));
    for (uint32_t n = 0; n < cap && slot_state(map, slot) == SLOT_DELETED;
         n++) {
        entry_store(&map->entries[slot], &empty);
        slot = (slot + cap - 1) % cap;
    }
}

/* The same for the whole table: for stores written before chain_trim
 * existed, and after a purge. */
static void map_trim_all(challenge_store_map_t *map)
{
    for (uint32_t i = 0; i < map->capacity; i++) {
        if (slot_state(map, i) == SLOT_DELETED)
            chain_trim(map, i);
    }
}

/* Slots left odd by a writer killed mid-store hold half a record. */
static uint32_t map_repair(challenge_store_map_t *map)
{
    for (uint32_t i = 0; i < map->capacity; i++) {
        entry_t *e = &map->entries[i];
        if (atomic_load_explicit(&e->seq, memory_order_relaxed) & 1)
            slot_clear(e);
    }
    map_trim_all(map);
    return header_refresh(map);
}

/* A file the writer may trust: a regular file of ours with one name (a
 * hard link to some other file would make us write that one). */
static int file_ours(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
           st.st_uid == geteuid() && st.st_nlink == 1;
}

/* The store's directory: root's or ours, and nobody else may write it —
 * else another user could put a symlink or a file of theirs where the
 * store or its lock goes (sticky or not). */
static challenge_store_status_t dir_check(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t len = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if (len >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        return CHALLENGE_STORE_IO;
    }
    memcpy(dir, slash == NULL ? "." : path, len);
    dir[len] = '\0';
    struct stat st;
    if (stat(dir, &st) != 0)
        return CHALLENGE_STORE_IO;
    if (!S_ISDIR(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
        (st.st_mode & 022) != 0)
        return CHALLENGE_STORE_UNSAFE;
    return CHALLENGE_STORE_OK;
}

static challenge_store_status_t lock_path(int *out, const char *path)
{
    *out = -1;
    size_t len = strlen(path);
    char *lock = malloc(len + sizeof(".lock"));
    if (lock == NULL)
        return CHALLENGE_STORE_IO;
    memcpy(lock, path, len);
    memcpy(lock + len, ".lock", sizeof(".lock"));
    /* O_NOFOLLOW: a symlink there must not make root create or lock a
     * file elsewhere; O_NONBLOCK: nor a FIFO hang us. */
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
                  0600);
    int saved = errno;
    free(lock);
    if (fd < 0) {
        errno = saved;
        return saved == ELOOP ? CHALLENGE_STORE_UNSAFE : CHALLENGE_STORE_IO;
    }
    if (!file_ours(fd)) {
        close(fd);
        return CHALLENGE_STORE_UNSAFE;
    }
    if (flock(fd, LOCK_EX) != 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return CHALLENGE_STORE_IO;
    }
    *out = fd;
    return CHALLENGE_STORE_OK;
}

static void header_init(header_t *h, uint32_t capacity)
{
    memcpy(h->magic, STORE_MAGIC, sizeof(STORE_MAGIC));
    h->version = CHALLENGE_STORE_VERSION;
    h->capacity = capacity;
    h->entry_size = sizeof(entry_t);
    h->header_size = CHALLENGE_STORE_HEADER_SIZE;
}

/* Builds a complete new store (carrying over the live entries of `from`,
 * if any) under a temporary name and renames it over path, so a reader
 * opening path sees either the old file or the finished new one. */
static challenge_store_status_t
store_create(const char *path, uint32_t capacity, challenge_store_map_t *from)
{
    size_t len = strlen(path);
    char tmp[4096];
    if (len + sizeof(".new") > sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return CHALLENGE_STORE_IO;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".new", sizeof(".new"));
    unlink(tmp); /* left by a writer killed while creating */
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return CHALLENGE_STORE_IO;
    challenge_store_status_t rv = CHALLENGE_STORE_IO;
    challenge_store_map_t fresh;
    size_t size = file_size_for(capacity);
    void *base = MAP_FAILED;
    if (fchmod(fd, 0644) != 0 || ftruncate(fd, (off_t)size) != 0)
        goto cleanup;
    base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        goto cleanup;
    header_init(base, capacity);
    rv = map_fd(&fresh, fd, 1);
    if (rv != CHALLENGE_STORE_OK)
        goto cleanup;
    if (from != NULL) {
        record_words_t rec;
        for (uint32_t i = 0; i < from->capacity; i++) {
            if (entry_snapshot(&from->entries[i], &rec) != CHALLENGE_STORE_OK ||
                rec.rec.state != SLOT_LIVE || !record_sane(&rec.rec))
                continue;
            map_insert(&fresh, &rec, rec.rec.expires - 1);
        }
    }
    header_refresh(&fresh);
    munmap(fresh.base, fresh.size);
    rv = rename(tmp, path) == 0 ? CHALLENGE_STORE_OK : CHALLENGE_STORE_IO;
cleanup:
    if (base != MAP_FAILED)
        munmap(base, size);
    if (rv != CHALLENGE_STORE_OK) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
    }
    close(fd);
    return rv;
}

static challenge_store_status_t open_rw(challenge_store_map_t *map,
                                        const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ELOOP)
        return CHALLENGE_STORE_UNSAFE;
    if (fd < 0)
        return errno == ENOENT ? CHALLENGE_STORE_ABSENT : CHALLENGE_STORE_IO;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !file_ours(fd)) {
        close(fd);
        return CHALLENGE_STORE_UNSAFE;
    }
    challenge_store_status_t rv = map_fd(map, fd, 1);
    int saved = errno;
    close(fd);
    errno = saved;
    return rv;
}

/* Brings path to a valid store of at least min_capacity slots and maps it
 * read-write.  A corrupt file is replaced: it only ever holds challenges
 * that a CA retries anyway. */
static challenge_store_status_t writer_attach(challenge_store_map_t *map,
                                              const char *path,
                                              uint32_t min_capacity)
{
    challenge_store_status_t rv = open_rw(map, path);
    if (rv == CHALLENGE_STORE_ABSENT || rv == CHALLENGE_STORE_CORRUPT) {
        rv = store_create(path, min_capacity, NULL);
        if (rv != CHALLENGE_STORE_OK)
            return rv;
        return open_rw(map, path);
    }
    if (rv != CHALLENGE_STORE_OK || map->capacity >= min_capacity)
        return rv;
    challenge_store_map_t old = *map;
    rv = store_create(path, min_capacity, &old);
    if (rv == CHALLENGE_STORE_OK) {
        atomic_store_explicit(&old.header->retired, 1, memory_order_release);
        rv = open_rw(map, path);
    }
    munmap(old.base, old.size);
    return rv;
}

/* Tombstones in front of live entries, which chain_trim cannot take
 * back, pile up over years of renewals and lengthen every missed lookup.
 * Past an eighth of the table the live entries move to a fresh file of
 * the same size, renamed over path; the old one is marked retired so
 * every reader maps the new one.  On failure the old file stays in use. */
static void writer_rehash_if_due(challenge_store_writer_t *w,
                                 uint32_t tombstones)
{
    if (tombstones <= w->map.capacity / 8)
        return;
    challenge_store_map_t old = w->map;
    if (store_create(w->path, old.capacity, &old) != CHALLENGE_STORE_OK)
        return;
    if (open_rw(&w->map, w->path) != CHALLENGE_STORE_OK) {
        w->map = old; /* the new file holds the same entries */
        return;
    }
    atomic_store_explicit(&old.header->retired, 1, memory_order_release);
    munmap(old.base, old.size);
}

/* One writer at a time holds the store's lock; between two of them in
 * this process the mapping is kept (attaching maps the whole file and the
 * repair scan then faults every page in: a fleet's run opens the store
 * six times an order).  It is used again only while path still names the
 * very file it maps, ours with one link and of the same size, its header
 * still checks out (a file damaged in place is replaced as on a first
 * open), and no writer has retired it. */
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static challenge_store_map_t kept_map;
static char *kept_path;

static int kept_still_current(const char *path, uint32_t min_capacity)
{
    struct stat st;
    return strcmp(kept_path, path) == 0 && lstat(path, &st) == 0 &&
           S_ISREG(st.st_mode) && st.st_uid == geteuid() && st.st_nlink == 1 &&
           st.st_dev == kept_map.dev && st.st_ino == kept_map.ino &&
           (size_t)st.st_size == kept_map.size &&
           kept_map.capacity >= min_capacity &&
           header_check(kept_map.base, kept_map.size) == CHALLENGE_STORE_OK &&
           kept_map.header->capacity == kept_map.capacity &&
           !challenge_store_retired(&kept_map);
}

/* The kept mapping for path, handed over to the caller (1), or 0. */
static int kept_take(challenge_store_map_t *out, const char *path,
                     uint32_t min_capacity)
{
    int found = 0;
    pthread_mutex_lock(&kept_lock);
    if (kept_path != NULL) {
        found = kept_still_current(path, min_capacity);
        if (found)
            *out = kept_map;
        else
            munmap(kept_map.base, kept_map.size);
        free(kept_path);
        kept_path = NULL;
    }
    pthread_mutex_unlock(&kept_lock);
    return found;
}

/* A child forked while a mapping is kept (the privilege split's network
 * and key processes) must not get a writable view of the store: the
 * mapping is not inherited (MADV_DONTFORK), and the child forgets it. */
static void kept_forget_in_child(void)
{
    free(kept_path);
    kept_path = NULL;
    pthread_mutex_init(&kept_lock, NULL);
}

static pthread_once_t kept_once = PTHREAD_ONCE_INIT;

static void kept_atfork(void)
{
    pthread_atfork(NULL, NULL, kept_forget_in_child);
}

/* marked: the mapping came from kept_take and is still the same, marked
 * already (each madvise takes the process's mmap lock for writing). */
static void kept_put(const challenge_store_map_t *map, const char *path,
                     int marked)
{
    pthread_once(&kept_once, kept_atfork);
    if (!marked && madvise(map->base, map->size, MADV_DONTFORK) != 0) {
        munmap(map->base, map->size);
        return;
    }
    char *copy = strdup(path);
    pthread_mutex_lock(&kept_lock);
    if (kept_path != NULL) {
        munmap(kept_map.base, kept_map.size);
        free(kept_path);
    }
    kept_path = copy;
    if (copy != NULL)
        kept_map = *map;
    else
        munmap(map->base, map->size);
    pthread_mutex_unlock(&kept_lock);
}

challenge_store_status_t
challenge_store_writer_open(challenge_store_writer_t **out, const char *path,
                            uint32_t min_capacity)
{
    *out = NULL;
    if (min_capacity == 0)
        min_capacity = CHALLENGE_STORE_DEFAULT_CAPACITY;
    if (min_capacity < CHALLENGE_STORE_MIN_CAPACITY)
        min_capacity = CHALLENGE_STORE_MIN_CAPACITY;
    if (min_capacity > CHALLENGE_STORE_MAX_CAPACITY)
        return CHALLENGE_STORE_INVALID;
    challenge_store_writer_t *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return CHALLENGE_STORE_IO;
    w->path = strdup(path);
    if (w->path == NULL) {
        free(w);
        return CHALLENGE_STORE_IO;
    }
    challenge_store_status_t rv = dir_check(path);
    if (rv == CHALLENGE_STORE_OK)
        rv = lock_path(&w->lock_fd, path);
    else
        w->lock_fd = -1;
    if (rv == CHALLENGE_STORE_OK && kept_take(&w->map, path, min_capacity))
        w->not_forked = w->map.base;
    else if (rv == CHALLENGE_STORE_OK)
        rv = writer_attach(&w->map, path, min_capacity);
    if (rv != CHALLENGE_STORE_OK) {
        int saved = errno;
        if (w->lock_fd >= 0)
            close(w->lock_fd);
        free(w->path);
        free(w);
        errno = saved;
        return rv;
    }
    writer_rehash_if_due(w, map_repair(&w->map));
    *out = w;
    return CHALLENGE_STORE_OK;
}

void challenge_store_writer_close(challenge_store_writer_t *writer)
{
    if (writer == NULL)
        return;
    kept_put(&writer->map, writer->path,
             writer->not_forked == writer->map.base);
    close(writer->lock_fd); /* releases the flock */
    free(writer->path);
    free(writer);
}

const challenge_store_map_t *
challenge_store_writer_map(const challenge_store_writer_t *writer)
{
    return &writer->map;
}

challenge_store_status_t challenge_store_put(challenge_store_writer_t *writer,
                                             const char *host,
                                             const char *token,
                                             const char *keyauth,
                                             int64_t expires, int64_t now)
{
    if (!token_rules_host_valid(host, strlen(host)) ||
        !token_rules_token_valid(token, strlen(token)) ||
        !token_rules_keyauth_valid(keyauth, strlen(keyauth)) || expires <= now)
        return CHALLENGE_STORE_INVALID;
    size_t host_len = strlen(host);
    token_rules_host_bare(&host, &host_len);
    record_words_t rec;
    record_fill(&rec, host, host_len, token, keyauth, expires);
    challenge_store_status_t rv = map_insert(&writer->map, &rec, now);
    if (rv == CHALLENGE_STORE_OK)
        header_refresh(&writer->map);
    return rv;
}

challenge_store_status_t challenge_store_del(challenge_store_writer_t *writer,
                                             const char *token,
                                             unsigned *removed)
{
    size_t len = strlen(token);
    *removed = 0;
    if (!token_rules_token_valid(token, len))
        return CHALLENGE_STORE_INVALID;
    challenge_store_map_t *map = &writer->map;
    uint32_t start = token_hash(token, len) % map->capacity;
    record_words_t cur;
    int64_t last = -1;
    for (uint32_t i = 0; i < map->capacity; i++) {
        uint32_t slot = (start + i) % map->capacity;
        entry_snapshot(&map->entries[slot], &cur);
        if (cur.rec.state == SLOT_EMPTY)
            break;
        if (cur.rec.state == SLOT_LIVE && cur.rec.token_len == len &&
            memcmp(cur.rec.token, token, len) == 0) {
            slot_clear(&map->entries[slot]);
            (*removed)++;
            last = slot;
        }
    }
    /* After the walk, which needed the chain whole; the last tombstone
     * made is the only one that can precede an empty slot. */
    if (last >= 0)
        chain_trim(map, (uint32_t)last);
    writer_rehash_if_due(writer, header_refresh(map));
    return *removed > 0 ? CHALLENGE_STORE_OK : CHALLENGE_STORE_NOT_FOUND;
}

challenge_store_status_t challenge_store_purge(challenge_store_writer_t *writer,
                                               int64_t now, unsigned *removed)
{
    challenge_store_map_t *map = &writer->map;
    record_words_t head;
    *removed = 0;
    for (uint32_t i = 0; i < map->capacity; i++) {
        entry_head(&map->entries[i], &head);
        if (head.rec.state == SLOT_LIVE && head.rec.expires <= now) {
            slot_clear(&map->entries[i]);
            (*removed)++;
        }
    }
    map_trim_all(map);
    writer_rehash_if_due(writer, header_refresh(map));
    return CHALLENGE_STORE_OK;
}
