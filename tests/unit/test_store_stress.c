/* Concurrent reader/writer stress test of the challenge store: a writer
 * process rewrites entries as fast as it can while reader threads in
 * another process look them up; every key authorization read must be one
 * the writer wrote whole.  The writer encodes a generation number in each
 * value and derives the rest of the value from it, so a torn read (half
 * old, half new) cannot pass the check. */
#include "tap.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "challenge_store.h"

#define TOKENS 32
#define READERS 2
#define NOW ((int64_t)1700000000)

static char dir[] = "/tmp/expacme-stress-test.XXXXXX";
static char path[256];

typedef struct {
    _Atomic int writer_done;
    _Atomic long writes;
} shared_t;

static shared_t *shared;

static void make_keyauth(char *out, size_t size, int token, unsigned long gen)
{
    int n = snprintf(out, size, "stress%d.%lu.", token, gen);
    size_t fill = 1 + gen % 400; /* lengths vary: torn lengths show */
    char c = (char)('a' + gen % 26);
    for (size_t i = 0; i < fill && (size_t)n + 1 < size; i++)
        out[n++] = c;
    out[n] = '\0';
}

static int keyauth_whole(const char *ka, int token)
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof(prefix), "stress%d.", token);
    if (strncmp(ka, prefix, plen) != 0)
        return 0;
    char *end = NULL;
    unsigned long gen = strtoul(ka + plen, &end, 10);
    if (end == ka + plen || *end != '.')
        return 0;
    char want[TOKEN_RULES_KEYAUTH_MAX + 1];
    make_keyauth(want, sizeof(want), token, gen);
    return strcmp(ka, want) == 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run_writer(double seconds)
{
    challenge_store_writer_t *w = NULL;
    if (challenge_store_writer_open(&w, path, 0) != CHALLENGE_STORE_OK)
        _exit(2);
    char host[64], token[32], ka[TOKEN_RULES_KEYAUTH_MAX + 1];
    double deadline = now_seconds() + seconds;
    unsigned long gen = 0;
    while (now_seconds() < deadline) {
        for (int step = 0; step < 256; step++) {
            gen++;
            int t = (int)(gen % TOKENS);
            snprintf(host, sizeof(host), "h%d.example", t);
            snprintf(token, sizeof(token), "stress%d", t);
            make_keyauth(ka, sizeof(ka), t, gen);
            if (gen % 97 == 0) {
                unsigned removed;
                challenge_store_del(w, token, &removed);
            } else if (challenge_store_put(w, host, token, ka, NOW + 3600,
                                           NOW) != CHALLENGE_STORE_OK) {
                _exit(3);
            }
        }
        atomic_store(&shared->writes, (long)gen);
    }
    challenge_store_writer_close(w);
    atomic_store(&shared->writer_done, 1);
    _exit(0);
}

typedef struct {
    long found;
    long absent;
    long torn;
    long busy;
} reader_stats_t;

static void *run_reader(void *arg)
{
    reader_stats_t *stats = arg;
    challenge_store_map_t *map = NULL;
    while (challenge_store_map(&map, path) != CHALLENGE_STORE_OK) {
        if (atomic_load(&shared->writer_done))
            return NULL;
    }
    char host[64], token[32], ka[TOKEN_RULES_KEYAUTH_MAX + 1];
    unsigned seed = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&shared->writer_done)) {
        int t = (int)(rand_r(&seed) % TOKENS);
        snprintf(host, sizeof(host), "h%d.example", t);
        snprintf(token, sizeof(token), "stress%d", t);
        size_t len = 0;
        challenge_store_status_t rv =
            challenge_store_lookup(map, host, strlen(host), token,
                                   strlen(token), NOW, ka, sizeof(ka), &len);
        if (rv == CHALLENGE_STORE_OK) {
            if (keyauth_whole(ka, t) && strlen(ka) == len)
                stats->found++;
            else
                stats->torn++;
        } else if (rv == CHALLENGE_STORE_NOT_FOUND) {
            stats->absent++;
        } else {
            stats->busy++;
        }
    }
    challenge_store_unmap(map);
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof(path), "%s/challenges", dir);
    shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        return 1;
    /* Create the store before forking so readers map it at once. */
    challenge_store_writer_t *w = NULL;
    challenge_store_writer_open(&w, path, 0);
    challenge_store_writer_close(w);
    pid_t pid = fork();
    if (pid == 0)
        run_writer(seconds);
    reader_stats_t stats[READERS];
    pthread_t threads[READERS];
    memset(stats, 0, sizeof(stats));
    for (int i = 0; i < READERS; i++)
        pthread_create(&threads[i], NULL, run_reader, &stats[i]);
    int status = 0;
    waitpid(pid, &status, 0);
    atomic_store(&shared->writer_done, 1);
    reader_stats_t total = {0};
    for (int i = 0; i < READERS; i++) {
        pthread_join(threads[i], NULL);
        total.found += stats[i].found;
        total.absent += stats[i].absent;
        total.torn += stats[i].torn;
        total.busy += stats[i].busy;
    }
    printf("# writes %ld, reads: %ld whole, %ld absent, %ld torn, %ld busy\n",
           atomic_load(&shared->writes), total.found, total.absent, total.torn,
           total.busy);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer ran clean");
    ok(atomic_load(&shared->writes) > 10000, "writer made >10000 writes");
    ok(total.found > 10000, "readers read >10000 entries while it wrote");
    is_int(total.torn, 0, "no torn read observed");
    ok(total.absent > 0, "deletions were seen too");
    unlink(path);
    char lock[300];
    snprintf(lock, sizeof(lock), "%s.lock", path);
    unlink(lock);
    rmdir(dir);
    return done_testing();
}
