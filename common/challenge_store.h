/* challenge_store.h — the table of open http-01 challenges, shared between
 * expacmectl (the only writer) and the httpd workers (readers).
 *
 * The store is one file, mapped read-write by the writer and read-only by
 * every reader:
 *
 *   offset 0    +------------------------------------------------------+
 *               | header (CHALLENGE_STORE_HEADER_SIZE bytes)            |
 *               |   magic "EXPACME\0"  version  capacity  entry_size    |
 *               |   window_expiry: latest expiry of any live entry      |
 *               |   live_count     retired: set when a newer file        |
 *               |                  replaced this one (readers remap)     |
 *   4096        +------------------------------------------------------+
 *               | entry[0]: seq (seqlock) | record words                 |
 *               | entry[1]                                              |
 *               | ...                      open addressing on the token  |
 *   4096 +      | entry[capacity - 1]                                   |
 *   cap * size  +------------------------------------------------------+
 *
 * Each entry is guarded by its own sequence counter: the writer makes it
 * odd, stores the record, makes it even again.  A reader copies the record
 * between two reads of the counter and retries (a bounded number of times)
 * when they differ, so readers never block and never see a torn entry.
 * Writers serialise on flock() of "<path>.lock".
 *
 * Plain C11 + POSIX: no APR, so the module, the helper and the unit tests
 * link it alike.
 */
#ifndef EXPACME_CHALLENGE_STORE_H
#define EXPACME_CHALLENGE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "token_rules.h"

#define CHALLENGE_STORE_VERSION 1
#define CHALLENGE_STORE_HEADER_SIZE 4096
/* An order can carry 100 names, and several managed certificates may sign
 * at once; 2048 slots keep probe chains short at that load. */
#define CHALLENGE_STORE_DEFAULT_CAPACITY 2048
#define CHALLENGE_STORE_MIN_CAPACITY 1024
#define CHALLENGE_STORE_MAX_CAPACITY 65536

typedef enum {
    CHALLENGE_STORE_OK = 0,
    CHALLENGE_STORE_NOT_FOUND, /* no such live entry */
    CHALLENGE_STORE_FULL,      /* every slot holds a live entry */
    CHALLENGE_STORE_INVALID,   /* argument breaks token_rules */
    CHALLENGE_STORE_ABSENT,    /* the file does not exist */
    CHALLENGE_STORE_CORRUPT,   /* not a store file, or a foreign version */
    CHALLENGE_STORE_IO,        /* a system call failed; errno kept */
    CHALLENGE_STORE_BUSY,      /* an entry stayed mid-write while we read */
    CHALLENGE_STORE_UNSAFE     /* directory others can write, a symlink,
                                  a file of another user (writer only) */
} challenge_store_status_t;

/* One challenge as readers see it: NUL-terminated copies. */
typedef struct {
    char host[TOKEN_RULES_HOST_MAX + 1];
    char token[TOKEN_RULES_TOKEN_MAX + 1];
    char keyauth[TOKEN_RULES_KEYAUTH_MAX + 1];
    int64_t expires; /* seconds since the epoch */
} challenge_store_entry_t;

typedef struct challenge_store_map challenge_store_map_t;
typedef struct challenge_store_writer challenge_store_writer_t;

const char *challenge_store_status_text(challenge_store_status_t status);

/* --- readers ------------------------------------------------------------ */

/* Maps the store at path read-only.  *out is NULL on failure. */
challenge_store_status_t challenge_store_map(challenge_store_map_t **out,
                                             const char *path);
void challenge_store_unmap(challenge_store_map_t *map);

/* Identity of the mapped file, to notice that path now names another. */
void challenge_store_identity(const challenge_store_map_t *map, dev_t *dev,
                              ino_t *ino);

/* Bytes mapped: a file at the same identity with another size was
 * truncated or rewritten in place, and reading the old mapping past its
 * new end would fault (SIGBUS). */
size_t challenge_store_size(const challenge_store_map_t *map);

/* 1 once a writer replaced this file by a newer one at the same path. */
int challenge_store_retired(const challenge_store_map_t *map);

/* 1 while at least one entry has not expired at `now`. */
int challenge_store_window_open(const challenge_store_map_t *map, int64_t now);

/* Finds the live entry for (host, token); copies its key authorization
 * (NUL-terminated) into keyauth.  Host comparison ignores ASCII case. */
challenge_store_status_t
challenge_store_lookup(const challenge_store_map_t *map, const char *host,
                       size_t host_len, const char *token, size_t token_len,
                       int64_t now, char *keyauth, size_t keyauth_size,
                       size_t *keyauth_len);

/* Calls visit for every live entry (expired ones included, flagged by
 * their expiry) until it returns non-zero. */
typedef int challenge_store_visit_fn(const challenge_store_entry_t *entry,
                                     void *baton);
challenge_store_status_t
challenge_store_foreach(const challenge_store_map_t *map,
                        challenge_store_visit_fn *visit, void *baton);

uint32_t challenge_store_capacity(const challenge_store_map_t *map);

/* How many slots a lookup of (host, token) looks at: what tests bound to
 * show that lookups stay O(1) however many tokens came and went. */
uint32_t challenge_store_probes(const challenge_store_map_t *map,
                                const char *host, const char *token,
                                int64_t now);

/* --- the writer ---------------------------------------------------------- */

/* Opens (creating, repairing or growing as needed) the store at path and
 * takes the writer lock.  The file's directory must exist, belong to root
 * or this user and be writable by nobody else; the store and
 * "<path>.lock" are opened without following symlinks and must be regular
 * files of this user (CHALLENGE_STORE_UNSAFE otherwise).  A store with
 * fewer than min_capacity slots (0: the default) is migrated to a new,
 * larger file. */
challenge_store_status_t
challenge_store_writer_open(challenge_store_writer_t **out, const char *path,
                            uint32_t min_capacity);
void challenge_store_writer_close(challenge_store_writer_t *writer);

/* The writer's own view, for lookups and listing. */
const challenge_store_map_t *
challenge_store_writer_map(const challenge_store_writer_t *writer);

/* Inserts or replaces (host, token).  Expired entries are reused; a live
 * entry is never overwritten by another one: CHALLENGE_STORE_FULL. */
challenge_store_status_t challenge_store_put(challenge_store_writer_t *writer,
                                             const char *host,
                                             const char *token,
                                             const char *keyauth,
                                             int64_t expires, int64_t now);

/* Removes every entry for token (any host); *removed says how many. */
challenge_store_status_t challenge_store_del(challenge_store_writer_t *writer,
                                             const char *token,
                                             unsigned *removed);

/* Removes expired entries; *removed says how many. */
challenge_store_status_t challenge_store_purge(challenge_store_writer_t *writer,
                                               int64_t now, unsigned *removed);

#endif
