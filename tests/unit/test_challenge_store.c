/* Unit tests of the challenge store: the writer, the readers, expiry,
 * a full store, repair after a killed writer, growth and recreation. */
#include "tap.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "challenge_store.h"

#define NOW ((int64_t)1700000000)

static char dir[] = "/tmp/expacme-store-test.XXXXXX";
static char path[256];

static challenge_store_writer_t *writer_open(uint32_t capacity)
{
    challenge_store_writer_t *w = NULL;
    challenge_store_status_t rv =
        challenge_store_writer_open(&w, path, capacity);
    if (rv != CHALLENGE_STORE_OK)
        printf("# writer_open: %s\n", challenge_store_status_text(rv));
    return w;
}

static challenge_store_status_t find(const challenge_store_map_t *map,
                                     const char *host, const char *token,
                                     int64_t now, char *out)
{
    size_t len = 0;
    char buf[TOKEN_RULES_KEYAUTH_MAX + 1];
    challenge_store_status_t rv =
        challenge_store_lookup(map, host, strlen(host), token, strlen(token),
                               now, out ? out : buf, sizeof(buf), &len);
    return rv;
}

static void test_absent_then_created(void)
{
    challenge_store_map_t *map = NULL;
    is_int(challenge_store_map(&map, path), CHALLENGE_STORE_ABSENT,
           "no store yet: ABSENT");
    challenge_store_writer_t *w = writer_open(0);
    ok(w != NULL, "writer creates the store");
    struct stat st;
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
       "store file is 0644");
    is_int(challenge_store_map(&map, path), CHALLENGE_STORE_OK, "maps");
    is_int(challenge_store_capacity(map), CHALLENGE_STORE_DEFAULT_CAPACITY,
           "default capacity");
    ok(!challenge_store_window_open(map, NOW), "empty store: window closed");
    challenge_store_unmap(map);
    challenge_store_writer_close(w);
}

static void test_put_lookup(void)
{
    challenge_store_writer_t *w = writer_open(0);
    challenge_store_map_t *map = NULL;
    challenge_store_map(&map, path);
    char ka[TOKEN_RULES_KEYAUTH_MAX + 1];
    is_int(challenge_store_put(w, "Example.org", "tok_1", "tok_1.thumb",
                               NOW + 60, NOW),
           CHALLENGE_STORE_OK, "put");
    ok(challenge_store_window_open(map, NOW), "window open after put");
    is_int(find(map, "example.ORG", "tok_1", NOW, ka), CHALLENGE_STORE_OK,
           "found, host case ignored");
    is_str(ka, "tok_1.thumb", "key authorization copied");
    is_int(find(map, "other.org", "tok_1", NOW, NULL),
           CHALLENGE_STORE_NOT_FOUND, "other host not found");
    is_int(find(map, "example.org", "tok_2", NOW, NULL),
           CHALLENGE_STORE_NOT_FOUND, "other token not found");
    is_int(find(map, "example.org", "tok.1", NOW, NULL),
           CHALLENGE_STORE_INVALID, "invalid token refused before lookup");
    is_int(find(map, "example.org", "tok_1", NOW + 60, NULL),
           CHALLENGE_STORE_NOT_FOUND, "expired at its expiry second");
    ok(!challenge_store_window_open(map, NOW + 60), "window closes at expiry");
    is_int(challenge_store_put(w, "[2001:db8::7]", "v6tok", "v6tok.x", NOW + 60,
                               NOW),
           CHALLENGE_STORE_OK, "put for a bracketed IPv6 host");
    is_int(find(map, "2001:db8::7", "v6tok", NOW, NULL), CHALLENGE_STORE_OK,
           "found by the bare address httpd gives");
    is_int(find(map, "[2001:db8::7]", "v6tok", NOW, NULL), CHALLENGE_STORE_OK,
           "and by the bracketed one");
    is_int(challenge_store_put(w, "example.org", "tok_1", "tok_1.new", NOW + 90,
                               NOW),
           CHALLENGE_STORE_OK, "put again replaces");
    find(map, "example.org", "tok_1", NOW, ka);
    is_str(ka, "tok_1.new", "replacement seen");
    is_int(challenge_store_put(w, "example.org", "bad/tok", "x", NOW + 9, NOW),
           CHALLENGE_STORE_INVALID, "writer refuses invalid token");
    is_int(challenge_store_put(w, "evil\r\n.org", "t", "x", NOW + 9, NOW),
           CHALLENGE_STORE_INVALID, "writer refuses invalid host");
    is_int(challenge_store_put(w, "example.org", "t", "x y", NOW + 9, NOW),
           CHALLENGE_STORE_INVALID, "writer refuses invalid keyauth");
    is_int(challenge_store_put(w, "example.org", "t", "x", NOW, NOW),
           CHALLENGE_STORE_INVALID, "writer refuses an expired entry");
    unsigned removed = 0;
    is_int(challenge_store_del(w, "tok_1", &removed), CHALLENGE_STORE_OK,
           "del");
    is_int(removed, 1, "one removed");
    is_int(find(map, "example.org", "tok_1", NOW, NULL),
           CHALLENGE_STORE_NOT_FOUND, "gone after del");
    challenge_store_del(w, "v6tok", &removed);
    ok(!challenge_store_window_open(map, NOW), "window closed after del");
    is_int(challenge_store_del(w, "tok_1", &removed), CHALLENGE_STORE_NOT_FOUND,
           "del of absent token");
    challenge_store_unmap(map);
    challenge_store_writer_close(w);
}

static int count_entry(const challenge_store_entry_t *e, void *baton)
{
    (*(int *)baton)++;
    return 0;
}

static void test_order_of_100_names(void)
{
    challenge_store_writer_t *w = writer_open(0);
    char host[64], token[64], ka[128];
    int failures = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(host, sizeof(host), "n%d.example.org", i);
        snprintf(token, sizeof(token), "token%d", i);
        snprintf(ka, sizeof(ka), "token%d.thumb", i);
        if (challenge_store_put(w, host, token, ka, NOW + 60, NOW) !=
            CHALLENGE_STORE_OK)
            failures++;
    }
    is_int(failures, 0, "100 names published");
    const challenge_store_map_t *map = challenge_store_writer_map(w);
    char got[TOKEN_RULES_KEYAUTH_MAX + 1];
    int wrong = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(host, sizeof(host), "n%d.example.org", i);
        snprintf(token, sizeof(token), "token%d", i);
        snprintf(ka, sizeof(ka), "token%d.thumb", i);
        if (find(map, host, token, NOW, got) != CHALLENGE_STORE_OK ||
            strcmp(got, ka) != 0)
            wrong++;
    }
    is_int(wrong, 0, "all 100 found with their own key authorization");
    int seen = 0;
    challenge_store_foreach(map, count_entry, &seen);
    is_int(seen, 100, "foreach visits 100");
    unsigned removed = 0;
    challenge_store_purge(w, NOW + 61, &removed);
    is_int(removed, 100, "purge removes the expired");
    challenge_store_writer_close(w);
}

static void test_full(void)
{
    unlink(path);
    challenge_store_writer_t *w = writer_open(CHALLENGE_STORE_MIN_CAPACITY);
    char token[32];
    int failures = 0;
    for (int i = 0; i < CHALLENGE_STORE_MIN_CAPACITY; i++) {
        snprintf(token, sizeof(token), "t%d", i);
        if (challenge_store_put(w, "example.org", token, token, NOW + 60,
                                NOW) != CHALLENGE_STORE_OK)
            failures++;
    }
    is_int(failures, 0, "1024 live entries fit");
    is_int(
        challenge_store_put(w, "example.org", "one_more", "x", NOW + 60, NOW),
        CHALLENGE_STORE_FULL, "the next one: FULL");
    int wrong = 0;
    char got[TOKEN_RULES_KEYAUTH_MAX + 1];
    for (int i = 0; i < CHALLENGE_STORE_MIN_CAPACITY; i++) {
        snprintf(token, sizeof(token), "t%d", i);
        if (find(challenge_store_writer_map(w), "example.org", token, NOW,
                 got) != CHALLENGE_STORE_OK ||
            strcmp(got, token) != 0)
            wrong++;
    }
    is_int(wrong, 0, "nothing overwritten by the refused put");
    is_int(
        challenge_store_put(w, "example.org", "t5", "replaced", NOW + 60, NOW),
        CHALLENGE_STORE_OK, "replacing an existing entry still works");
    is_int(challenge_store_put(w, "example.org", "later", "x", NOW + 120,
                               NOW + 61),
           CHALLENGE_STORE_OK, "expired slots are reused");
    challenge_store_writer_close(w);
}

/* A writer killed mid-store leaves the slot's counter odd. */
static void test_repair_after_killed_writer(void)
{
    unlink(path);
    challenge_store_writer_t *w = writer_open(0);
    challenge_store_put(w, "example.org", "victim", "victim.x", NOW + 60, NOW);
    challenge_store_writer_close(w);
    int fd = open(path, O_RDWR);
    struct stat st;
    fstat(fd, &st);
    char *base =
        mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    /* Find the slot holding the token and make its counter odd. */
    size_t entry_size = (st.st_size - CHALLENGE_STORE_HEADER_SIZE) /
                        CHALLENGE_STORE_DEFAULT_CAPACITY;
    int marked = 0;
    for (size_t i = 0; i < CHALLENGE_STORE_DEFAULT_CAPACITY; i++) {
        char *e = base + CHALLENGE_STORE_HEADER_SIZE + i * entry_size;
        if (memmem(e, entry_size, "victim.x", 8) != NULL) {
            (*(_Atomic uint64_t *)e) |= 1;
            marked++;
        }
    }
    is_int(marked, 1, "found the slot to corrupt");
    challenge_store_map_t *map = NULL;
    challenge_store_map(&map, path);
    is_int(find(map, "example.org", "victim", NOW, NULL),
           CHALLENGE_STORE_NOT_FOUND, "reader skips a slot stuck mid-write");
    w = writer_open(0);
    int seen = 0;
    challenge_store_foreach(map, count_entry, &seen);
    is_int(seen, 0, "next writer clears the half-written slot");
    is_int(challenge_store_put(w, "example.org", "victim", "victim.y", NOW + 60,
                               NOW),
           CHALLENGE_STORE_OK, "and the slot is usable again");
    char got[TOKEN_RULES_KEYAUTH_MAX + 1];
    find(map, "example.org", "victim", NOW, got);
    is_str(got, "victim.y", "new value readable");
    challenge_store_writer_close(w);
    challenge_store_unmap(map);
    munmap(base, st.st_size);
}

static void test_growth(void)
{
    unlink(path);
    challenge_store_writer_t *w = writer_open(1024);
    challenge_store_put(w, "example.org", "kept", "kept.x", NOW + 60, NOW);
    challenge_store_writer_close(w);
    challenge_store_map_t *old = NULL;
    challenge_store_map(&old, path);
    ok(!challenge_store_retired(old), "current file not retired");
    w = writer_open(4096);
    ok(w != NULL, "writer grows the store");
    ok(challenge_store_retired(old), "old mapping marked retired");
    challenge_store_map_t *map = NULL;
    challenge_store_map(&map, path);
    is_int(challenge_store_capacity(map), 4096, "new capacity");
    char got[TOKEN_RULES_KEYAUTH_MAX + 1];
    is_int(find(map, "example.org", "kept", NOW, got), CHALLENGE_STORE_OK,
           "live entry carried over");
    challenge_store_writer_close(w);
    w = writer_open(1024);
    is_int(challenge_store_capacity(challenge_store_writer_map(w)), 4096,
           "a smaller request never shrinks the store");
    challenge_store_writer_close(w);
    challenge_store_unmap(map);
    challenge_store_unmap(old);
}

/* Copies path to path.copy and renames it over path: the same bytes in
 * a new file, as another writer's rehash leaves it. */
static int replace_with_copy(void)
{
    char copy[300];
    snprintf(copy, sizeof(copy), "%s.copy", path);
    FILE *in = fopen(path, "r"), *out = fopen(copy, "w");
    char buf[65536];
    size_t n;
    int good = in != NULL && out != NULL;
    while (good && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        good = fwrite(buf, 1, n, out) == n;
    if (in != NULL)
        fclose(in);
    if (out != NULL)
        good &= fclose(out) == 0;
    chmod(copy, 0644);
    return good && rename(copy, path) == 0;
}

/* Between two writers of one process the mapping is kept; it must never
 * outlive the file it maps or a header damaged in place. */
static void test_kept_mapping(void)
{
    unlink(path);
    challenge_store_writer_t *w = writer_open(0);
    challenge_store_put(w, "example.org", "before", "before.x", NOW + 60, NOW);
    challenge_store_writer_close(w);
    ok(replace_with_copy(), "kept: the store replaced by a copy of itself");
    w = writer_open(0);
    challenge_store_put(w, "example.org", "after", "after.x", NOW + 60, NOW);
    challenge_store_writer_close(w);
    challenge_store_map_t *map = NULL;
    challenge_store_map(&map, path);
    is_int(find(map, "example.org", "after", NOW, NULL), CHALLENGE_STORE_OK,
           "kept: a put after the replacement is in the file path names");
    is_int(find(map, "example.org", "before", NOW, NULL), CHALLENGE_STORE_OK,
           "kept: and what the copy carried is still there");
    challenge_store_unmap(map);
    int fd = open(path, O_WRONLY);
    ok(fd >= 0 && pwrite(fd, "XXXX", 4, 0) == 4,
       "kept: magic damaged in place");
    if (fd >= 0)
        close(fd);
    w = writer_open(0);
    ok(w != NULL, "kept: the next writer opens");
    is_int(challenge_store_map(&map, path), CHALLENGE_STORE_OK,
           "kept: the damaged store was replaced, not written through");
    challenge_store_unmap(map);
    challenge_store_writer_close(w);
}

/* 1 when this process maps path (by /proc/self/maps). */
static int maps_path(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        found |= strstr(line, path) != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

/* The privilege split forks its network and key processes from root: a
 * kept mapping must not give them a writable view of the store. */
static void test_kept_not_inherited(void)
{
    challenge_store_writer_t *w = writer_open(0);
    challenge_store_writer_close(w);
    ok(maps_path(), "kept: the closed writer's mapping stays in this process");
    pid_t pid = fork();
    if (pid == 0)
        _exit(maps_path() ? 1 : 0);
    int status = -1;
    waitpid(pid, &status, 0);
    ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "kept: a forked child has no mapping of the store");
    w = writer_open(0);
    ok(w != NULL && challenge_store_put(w, "example.org", "again", "again.x",
                                        NOW + 60, NOW) == CHALLENGE_STORE_OK,
       "kept: and the parent writes through it again");
    challenge_store_writer_close(w);
}

static void test_corrupt(void)
{
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 5000; i++)
        fputs("garbage ", f);
    fclose(f);
    challenge_store_map_t *map = NULL;
    is_int(challenge_store_map(&map, path), CHALLENGE_STORE_CORRUPT,
           "reader refuses a foreign file");
    f = fopen(path, "w");
    fclose(f);
    is_int(challenge_store_map(&map, path), CHALLENGE_STORE_CORRUPT,
           "reader refuses an empty file");
    challenge_store_writer_t *w = writer_open(0);
    ok(w != NULL, "writer replaces a corrupt store");
    is_int(challenge_store_map(&map, path), CHALLENGE_STORE_OK,
           "and it maps again");
    challenge_store_unmap(map);
    challenge_store_writer_close(w);
    ok(challenge_store_writer_open(&w, path, 1u << 20) ==
           CHALLENGE_STORE_INVALID,
       "absurd capacity refused");
    ok(strlen(challenge_store_status_text(CHALLENGE_STORE_FULL)) > 10,
       "status text for FULL");
}

/* Issue 10: deleted slots are reclaimed.  20,000 put/delete cycles of
 * random tokens next to 200 challenges that stay, then missed lookups:
 * the slots looked at per lookup are counted (not timed) and bounded. */
static void random_token(char *out, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                              "wxyz0123456789-_";
    for (size_t i = 0; i < len; i++)
        out[i] = abc[(unsigned)rand() % 64];
    out[len] = '\0';
}

static uint32_t worst_missed_lookup(const challenge_store_map_t *map,
                                    double *mean)
{
    uint32_t worst = 0;
    unsigned long sum = 0;
    char token[44];
    for (int i = 0; i < 2000; i++) {
        random_token(token, 43);
        uint32_t n = challenge_store_probes(map, "a.example", token, NOW);
        sum += n;
        if (n > worst)
            worst = n;
    }
    *mean = (double)sum / 2000;
    return worst;
}

static void test_tombstones_reclaimed(void)
{
    unlink(path);
    srand(10);
    challenge_store_writer_t *w = writer_open(2048);
    const challenge_store_map_t *map = challenge_store_writer_map(w);
    char token[44];
    for (int i = 0; i < 200; i++) {
        snprintf(token, sizeof(token), "stay-%d", i);
        challenge_store_put(w, "a.example", token, "ka", NOW + 3600, NOW);
    }
    int failed = 0;
    for (int i = 0; i < 20000; i++) {
        char batch[4][44];
        for (int j = 0; j < 4; j++) {
            random_token(batch[j], 43);
            failed |= challenge_store_put(w, "a.example", batch[j], "ka",
                                          NOW + 600, NOW) != CHALLENGE_STORE_OK;
        }
        for (int j = 0; j < 4; j++) {
            unsigned removed = 0;
            challenge_store_del(w, batch[j], &removed);
            failed |= removed != 1;
        }
    }
    ok(!failed, "80,000 puts and deletes, each one done");
    double mean = 0;
    uint32_t worst = worst_missed_lookup(map, &mean);
    printf("# missed lookups after 20,000 cycles: mean %.2f, worst %u "
           "slots\n",
           mean, worst);
    ok(worst <= 64, "a missed lookup looks at most 64 of 2048 slots");
    ok(mean <= 4.0, "and a few on average");
    int found = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(token, sizeof(token), "stay-%d", i);
        found += find(map, "a.example", token, NOW, NULL) == CHALLENGE_STORE_OK;
    }
    is_int(found, 200, "the challenges that stayed are all still found");
    challenge_store_map_t *reader = NULL;
    challenge_store_map(&reader, path);
    ok(reader != NULL && worst_missed_lookup(reader, &mean) <= 64,
       "and a reader mapping the file now sees the same short chains");
    challenge_store_unmap(reader);
    challenge_store_writer_close(w);
    unlink(path);
}

/* Issue 10: the writer never follows a symlink for the store or its lock,
 * refuses files of another user and a directory others can write. */
static void test_unsafe_paths(void)
{
    char lock[400], target[300], sub[300], store[320];
    challenge_store_writer_t *w = NULL;
    unlink(path);
    snprintf(lock, sizeof(lock), "%s.lock", path);
    snprintf(target, sizeof(target), "%s/elsewhere", dir);
    unlink(lock);
    ok(symlink(target, lock) == 0, "the lock path made a symlink");
    is_int(challenge_store_writer_open(&w, path, 0), CHALLENGE_STORE_UNSAFE,
           "a symlinked lock: refused");
    ok(access(target, F_OK) != 0, "and nothing created where it points");
    ok(w == NULL, "and no writer");
    unlink(lock);
    int fd = open(lock, O_RDWR | O_CREAT, 0600);
    ok(fd >= 0 && fchown(fd, 65534, 65534) == 0, "a lock of another user");
    close(fd);
    is_int(challenge_store_writer_open(&w, path, 0), CHALLENGE_STORE_UNSAFE,
           "a lock file of another user: refused");
    unlink(lock);
    ok(symlink(target, path) == 0, "the store path made a symlink");
    is_int(challenge_store_writer_open(&w, path, 0), CHALLENGE_STORE_UNSAFE,
           "a symlinked store: refused");
    ok(access(target, F_OK) != 0, "and nothing created where it points");
    unlink(path);
    unlink(lock);
    snprintf(sub, sizeof(sub), "%s/shared", dir);
    mkdir(sub, 0700);
    chmod(sub, 01777);
    snprintf(store, sizeof(store), "%s/challenges", sub);
    is_int(challenge_store_writer_open(&w, store, 0), CHALLENGE_STORE_UNSAFE,
           "a store directory others can write (sticky or not): refused");
    struct stat st;
    ok(stat(sub, &st) == 0 && (st.st_mode & 07777) == 01777,
       "and its mode left alone");
    snprintf(lock, sizeof(lock), "%s.lock", store);
    ok(access(lock, F_OK) != 0, "no lock file made in it");
    chmod(sub, 0755);
    w = NULL;
    is_int(challenge_store_writer_open(&w, store, 0), CHALLENGE_STORE_OK,
           "the same directory 0755: fine");
    challenge_store_writer_close(w);
    unlink(store);
    unlink(lock);
    rmdir(sub);
}

/* Issue 10: a reader opens without blocking and refuses a FIFO; a file
 * truncated in place keeps its identity but not its size. */
static void test_reader_hostile_files(void)
{
    unlink(path);
    ok(mkfifo(path, 0644) == 0, "a FIFO at the store path");
    challenge_store_map_t *map = NULL;
    alarm(5); /* a blocking open() would hang here: fail instead */
    is_int(challenge_store_map(&map, path), CHALLENGE_STORE_CORRUPT,
           "a FIFO: refused at once, not waited on");
    alarm(0);
    ok(map == NULL, "and no mapping");
    unlink(path);
    challenge_store_writer_t *w = writer_open(0);
    challenge_store_put(w, "a.example", "tok", "ka", NOW + 60, NOW);
    challenge_store_writer_close(w);
    ok(challenge_store_map(&map, path) == CHALLENGE_STORE_OK, "mapped");
    struct stat st;
    ok(truncate(path, 0) == 0, "truncated");
    ok(stat(path, &st) == 0 && (size_t)st.st_size != challenge_store_size(map),
       "truncated in place: the size no longer matches the mapping");
    challenge_store_unmap(map);
    unlink(path);
}

/* Found by fuzz/fuzz_store: a record whose key authorization breaks
 * token_rules (a damaged or hostile file) was served as it was. */
static void test_reader_invalid_record(void)
{
    unlink(path);
    challenge_store_writer_t *w = writer_open(0);
    challenge_store_put(w, "a.example", "tokbad", "tokbad.KEYAUTHxyz", NOW + 60,
                        NOW);
    challenge_store_put(w, "a.example", "tokgood", "tokgood.fine", NOW + 60,
                        NOW);
    challenge_store_writer_close(w);
    int fd = open(path, O_RDWR);
    struct stat st;
    fstat(fd, &st);
    char *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                      MAP_SHARED, fd, 0);
    char *hit = memmem(base, (size_t)st.st_size, "KEYAUTHxyz", 10);
    ok(hit != NULL, "the key authorization found in the file");
    if (hit != NULL)
        memcpy(hit, "KEY\r\nSet-", 9);
    munmap(base, (size_t)st.st_size);
    close(fd);
    challenge_store_map_t *map = NULL;
    challenge_store_map(&map, path);
    is_int(find(map, "a.example", "tokbad", NOW, NULL),
           CHALLENGE_STORE_NOT_FOUND,
           "a record with a broken key authorization is not served");
    is_int(find(map, "a.example", "tokgood", NOW, NULL), CHALLENGE_STORE_OK,
           "the intact one still is");
    int listed = 0;
    challenge_store_foreach(map, count_entry, &listed);
    is_int(listed, 1, "and only the intact one is listed");
    challenge_store_unmap(map);
    unlink(path);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/challenges", dir);
    test_absent_then_created();
    test_put_lookup();
    test_order_of_100_names();
    test_full();
    test_repair_after_killed_writer();
    test_growth();
    test_kept_mapping();
    test_kept_not_inherited();
    test_corrupt();
    test_tombstones_reclaimed();
    test_unsafe_paths();
    test_reader_hostile_files();
    test_reader_invalid_record();
    unlink(path);
    char lock[300];
    snprintf(lock, sizeof(lock), "%s.lock", path);
    unlink(lock);
    rmdir(dir);
    return done_testing();
}
