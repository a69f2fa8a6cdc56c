/* Unit tests of the state directory files (base/state.h) and of pool-bound
 * JSON (base/json_pool.h): atomic writes and their modes, capped reads,
 * directories, JSON files and the one-helper-at-a-time lock. */
#include "tap.h"
#include "dir_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apr_file_info.h"
#include "apr_general.h"
#include "apr_strings.h"
#include "apr_time.h"

#include "base/json_pool.h"
#include "base/state.h"

static char dir[] = "/tmp/expacme-state-test.XXXXXX";

static const char *in_dir(apr_pool_t *pool, const char *rel)
{
    return apr_pstrcat(pool, dir, "/", rel, NULL);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in path, sorted, joined by spaces ("" when empty). */
static const char *listing(apr_pool_t *pool, const char *path)
{
    apr_array_header_t *names = apr_array_make(pool, 8, sizeof(char *));
    apr_dir_t *d = NULL;
    apr_finfo_t fi;
    if (apr_dir_open(&d, path, pool) != APR_SUCCESS)
        return "(cannot open)";
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0)
            APR_ARRAY_PUSH(names, char *) = apr_pstrdup(pool, fi.name);
    }
    apr_dir_close(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(char *), by_name);
    return apr_array_pstrcat(pool, names, ' ');
}

/* The whole file as a string, or NULL. */
static const char *slurp(apr_pool_t *pool, const char *path)
{
    char *data = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    if (state_read_file(&data, &len, path, STATE_FILE_MAX, &err, pool) !=
        APR_SUCCESS)
        return NULL;
    return data;
}

static void test_write_modes(apr_pool_t *pool)
{
    static const mode_t masks[] = {0, 022, 077, 0777};
    apr_pool_t *sub = NULL;
    apr_pool_create(&sub, pool);
    const char *wdir = in_dir(sub, "modes");
    mkdir(wdir, 0700);
    for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
        mode_t old = umask(masks[i]);
        const char *key = apr_psprintf(sub, "%s/key-%d", wdir, (int)i);
        const char *pub = apr_psprintf(sub, "%s/pub-%d", wdir, (int)i);
        const char *err = NULL;
        apr_status_t rk = state_write_file(key, "k", 1, 0600, &err, sub);
        apr_status_t rp = state_write_file(pub, "p", 1, 0644, &err, sub);
        umask(old);
        is_int(rk, APR_SUCCESS,
               apr_psprintf(sub, "umask %03o: 0600 write", (unsigned)masks[i]));
        is_int(rp, APR_SUCCESS,
               apr_psprintf(sub, "umask %03o: 0644 write", (unsigned)masks[i]));
        is_int(mode_of(key), 0600,
               apr_psprintf(sub, "umask %03o: key 0600", (unsigned)masks[i]));
        is_int(mode_of(pub), 0644,
               apr_psprintf(sub, "umask %03o: 0644 kept", (unsigned)masks[i]));
    }
    is_str(listing(sub, wdir),
           "key-0 key-1 key-2 key-3 pub-0 pub-1 pub-2 pub-3",
           "no temporary file left beside the written ones");
    apr_pool_destroy(sub);
}

static void test_write_replace(apr_pool_t *pool)
{
    const char *path = in_dir(pool, "replace");
    const char *err = NULL;
    const char *old = "the old content, longer than the new one\n";
    is_int(state_write_file(path, old, strlen(old), 0644, &err, pool),
           APR_SUCCESS, "first write");
    /* A reader that opened the old file keeps reading all of it: the new
     * content arrives as a new inode by rename, never in place. */
    int fd = open(path, O_RDONLY);
    struct stat before, after;
    fstat(fd, &before);
    is_int(state_write_file(path, "new\n", 4, 0600, &err, pool), APR_SUCCESS,
           "replacing write");
    char buf[128] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    is_str(buf, old, "an open reader still sees the whole old file");
    stat(path, &after);
    ok(after.st_ino != before.st_ino, "replaced by rename (a new inode)");
    is_str(slurp(pool, path), "new\n", "new content, nothing of the old");
    is_int(mode_of(path), 0600, "mode of the new write, not the old file's");
    is_int(state_write_file(path, "", 0, 0600, &err, pool), APR_SUCCESS,
           "empty write");
    is_int(mode_of(path), 0600, "empty file still there with its mode");
    is_str(slurp(pool, path), "", "and empty");
}

static void test_write_refused(apr_pool_t *pool)
{
    const char *err = NULL;
    const char *missing = in_dir(pool, "no-such-dir/file.json");
    apr_status_t rv = state_write_file(missing, "x", 1, 0600, &err, pool);
    ok(APR_STATUS_IS_ENOENT(rv), "missing directory: ENOENT");
    ok(err && strstr(err, "no-such-dir/file.json") &&
           strstr(err, strerror(ENOENT)),
       "error names the path and the cause");
    ok(err && !strchr(err, '\n'), "on one line");
    ok(!exists(in_dir(pool, "no-such-dir")), "no directory made");
    /* rename(2) cannot put a file over a directory: the temporary file
     * must go again. */
    const char *sub = in_dir(pool, "a-dir");
    mkdir(sub, 0700);
    err = NULL;
    rv = state_write_file(sub, "x", 1, 0600, &err, pool);
    ok(rv != APR_SUCCESS && err && strstr(err, sub),
       "over a directory: error naming it");
    is_str(listing(pool, dir), "a-dir modes replace",
           "no temporary file left after a failed write");
    rmdir(sub);
}

/* state_create_file: a new file in place, its mode whatever the umask;
 * never over anything already there (a file, a symlink to one), which is
 * left as it was. */
static void test_create_file(apr_pool_t *pool)
{
    const char *cdir = in_dir(pool, "create");
    mkdir(cdir, 0700);
    const char *key = apr_pstrcat(pool, cdir, "/key.pem", NULL);
    const char *cert = apr_pstrcat(pool, cdir, "/cert.pem", NULL);
    const char *err = NULL;
    mode_t old = umask(077);
    is_int(state_create_file(key, "k\n", 2, 0600, &err, pool), APR_SUCCESS,
           "create: the key");
    is_int(state_create_file(cert, "c\n", 2, 0644, &err, pool), APR_SUCCESS,
           "create: the certificate");
    umask(old);
    ok(mode_of(key) == 0600 && mode_of(cert) == 0644,
       "create: 0600 and 0644 under umask 077");
    is_str(slurp(pool, cert), "c\n", "create: the content");
    is_str(listing(pool, cdir), "cert.pem key.pem",
           "create: nothing else made");
    err = NULL;
    ok(state_create_file(cert, "x", 1, 0644, &err, pool) != APR_SUCCESS &&
           err != NULL && strstr(err, "cert.pem") != NULL,
       "create over a file: refused, naming it");
    is_str(slurp(pool, cert), "c\n", "and the file is left as it was");
    const char *victim = in_dir(pool, "create-victim");
    int fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, "v\n", 2) != 2)
            ok(0, "create: the victim written");
        close(fd);
    }
    const char *link = apr_pstrcat(pool, cdir, "/linked.pem", NULL);
    symlink(victim, link);
    ok(state_create_file(link, "x", 1, 0644, &err, pool) != APR_SUCCESS,
       "create over a symlink: refused");
    is_str(slurp(pool, victim), "v\n", "and what it points to untouched");
    unlink(link);
    unlink(victim);
}

/* A file already at the temporary name (a hard link to someone's file,
 * say) is replaced, not truncated, chmodded and written into. */
static void test_write_tmp_taken(apr_pool_t *pool)
{
    const char *err = NULL;
    const char *path = in_dir(pool, "taken");
    const char *tmp = apr_psprintf(pool, "%s.tmp.%ld", path, (long)getpid());
    const char *other = in_dir(pool, "other");
    state_write_file(other, "theirs", 6, 0600, &err, pool);
    link(other, tmp);
    is_int(state_write_file(path, "ours", 4, 0644, &err, pool), APR_SUCCESS,
           "temporary name taken: the write still succeeds");
    is_str(slurp(pool, path), "ours", "with our content");
    is_str(slurp(pool, other), "theirs", "the file linked there is untouched");
    is_int(mode_of(other), 0600, "and keeps its mode");
    unlink(path);
    unlink(other);
    unlink(tmp);
}

enum { SMALL = 40000, LARGE = 90000, ROUNDS = 100 };

/* 1 when path holds SMALL 'a's or LARGE 'b's, nothing else. */
static int whole_version(const char *path, apr_pool_t *pool)
{
    char *d = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    if (state_read_file(&d, &len, path, LARGE, &err, pool) != APR_SUCCESS)
        return 0;
    size_t span = strspn(d, d[0] == 'a' ? "a" : "b");
    return (len == SMALL && d[0] == 'a' && span == SMALL) ||
           (len == LARGE && d[0] == 'b' && span == LARGE);
}

typedef int read_check_fn(const char *path, apr_pool_t *pool);

/* Reads path until stop is closed, saying on ready when it has begun;
 * exits 0 when every read passed check. */
static void reader_child(const char *path, int stop, int ready,
                         read_check_fn *check)
{
    apr_pool_t *cp = NULL;
    apr_pool_create(&cp, NULL);
    fcntl(stop, F_SETFL, O_NONBLOCK);
    int whole = check(path, cp);
    char c = 'r';
    if (write(ready, &c, 1) != 1)
        _exit(3);
    while (whole && read(stop, &c, 1) < 0 && errno == EAGAIN) {
        apr_pool_clear(cp);
        whole = check(path, cp);
    }
    _exit(whole ? 0 : 1);
}

/* A reader polling the file while it is rewritten sees one of the two
 * versions whole, every time. */
static void test_write_atomic_for_readers(apr_pool_t *pool)
{
    const char *path = in_dir(pool, "flip");
    char *a = apr_palloc(pool, SMALL), *b = apr_palloc(pool, LARGE);
    memset(a, 'a', SMALL);
    memset(b, 'b', LARGE);
    const char *err = NULL;
    state_write_file(path, a, SMALL, 0644, &err, pool);
    int stop[2], ready[2];
    if (pipe(stop) != 0 || pipe(ready) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(stop[1]);
        close(ready[0]);
        reader_child(path, stop[0], ready[1], whole_version);
    }
    close(stop[0]);
    close(ready[1]);
    char c = 0;
    ok(read(ready[0], &c, 1) == 1, "the reader has begun");
    apr_status_t rv = APR_SUCCESS;
    for (int i = 0; i < ROUNDS && rv == APR_SUCCESS; i++)
        rv = state_write_file(path, i % 2 ? a : b, i % 2 ? SMALL : LARGE, 0644,
                              &err, pool);
    close(stop[1]);
    close(ready[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    is_int(rv, APR_SUCCESS, "100 rewrites while it reads");
    is_int(WIFEXITED(status) ? WEXITSTATUS(status) : 100, 0,
           "the concurrent reader saw only whole versions");
    unlink(path);
}

static void test_read_file(apr_pool_t *pool)
{
    const char *path = in_dir(pool, "ten");
    const char *err = NULL;
    state_write_file(path, "0123456789", 10, 0600, &err, pool);
    char *data = NULL;
    apr_size_t len = 0;
    is_int(state_read_file(&data, &len, path, 10, &err, pool), APR_SUCCESS,
           "read at exactly the cap");
    is_str(data, "0123456789", "content, NUL-terminated");
    is_int(len, 10, "length");
    err = NULL;
    apr_status_t rv = state_read_file(&data, &len, path, 9, &err, pool);
    ok(rv != APR_SUCCESS && data == NULL, "one byte over the cap: refused");
    ok(err && strstr(err, path) && strstr(err, "at most 9 bytes"),
       "error names the file and the cap");
    err = NULL;
    data = (char *)"stale";
    rv = state_read_file(&data, &len, in_dir(pool, "absent"), 10, &err, pool);
    ok(APR_STATUS_IS_ENOENT(rv), "absent: ENOENT passes through");
    ok(err == NULL, "absent: no error text");
    ok(data == NULL, "absent: *out NULL");
    rv = state_read_file(&data, &len, dir, STATE_FILE_MAX, &err, pool);
    ok(rv != APR_SUCCESS && err && strstr(err, "not a regular file"),
       "a directory is refused");
    const char *fifo = in_dir(pool, "fifo");
    mkfifo(fifo, 0600);
    err = NULL;
    alarm(10); /* a hang in open(2) fails the test instead of stalling */
    rv = state_read_file(&data, &len, fifo, 10, &err, pool);
    alarm(0);
    ok(rv != APR_SUCCESS && err && strstr(err, "not a regular file"),
       "a FIFO without a writer: refused at once, not waited on");
    unlink(fifo);
    unlink(path);
}

static void test_make_dir(apr_pool_t *pool)
{
    mode_t old = umask(022);
    const char *err = NULL;
    const char *deep = in_dir(pool, "m/n/o");
    is_int(state_make_dir(deep, 0700, &err, pool), APR_SUCCESS,
           "makes missing parents");
    is_int(mode_of(deep), 0700, "the last one with the mode asked");
    is_int(mode_of(in_dir(pool, "m/n")), 0755, "parents 0755 (umask 022)");
    is_int(state_make_dir(deep, 0700, &err, pool), APR_SUCCESS,
           "existing directory");
    /* Issue 10: a directory the helper did not create is never chmod'ed;
     * one wider than a private mode is refused instead of tightened. */
    chmod(deep, 0755);
    err = NULL;
    ok(state_make_dir(deep, 0700, &err, pool) == APR_EACCES && err &&
           strstr(err, deep) && strstr(err, "0755"),
       "existing directory wider than 0700: refused, naming it and its mode");
    is_int(mode_of(deep), 0755, "and its mode left alone");
    chmod(deep, 0700);
    umask(077);
    const char *wide = in_dir(pool, "m/wide");
    is_int(state_make_dir(wide, 0755, &err, pool), APR_SUCCESS, "0755 dir");
    is_int(mode_of(wide), 0755, "0755 whatever the umask");
    umask(old);
    const char *file = in_dir(pool, "m/file");
    state_write_file(file, "x", 1, 0644, &err, pool);
    err = NULL;
    apr_status_t rv = state_make_dir(file, 0700, &err, pool);
    ok(rv != APR_SUCCESS && err && strstr(err, file),
       "a regular file in the way: error naming it");
    is_int(mode_of(file), 0644, "and its mode left alone");
    const char *through = apr_pstrcat(pool, file, "/sub", NULL);
    ok(state_make_dir(through, 0700, &err, pool) != APR_SUCCESS && err &&
           strstr(err, through),
       "through a file: error naming the path");
    unlink(file);
    rmdir(deep);
    rmdir(in_dir(pool, "m/n"));
    rmdir(wide);
    rmdir(in_dir(pool, "m"));
}

/* Issue 10: directories shared with the machine (/tmp, /dev/shm) or
 * other users are used as they are or refused, never chmod'ed. */
static void test_make_dir_shared(apr_pool_t *pool)
{
    const char *err = NULL;
    const char *sticky = in_dir(pool, "sticky");
    mkdir(sticky, 0700);
    chmod(sticky, 01777);
    is_int(state_make_dir(sticky, 0755, &err, pool), APR_SUCCESS,
           "a sticky world-writable directory (like /tmp) is usable");
    is_int(mode_of(sticky), 01777, "and keeps its sticky bit and mode");
    const char *below = apr_pstrcat(pool, sticky, "/run", NULL);
    is_int(state_make_dir(below, 0755, &err, pool), APR_SUCCESS,
           "a directory made below it");
    is_int(mode_of(sticky), 01777, "the shared parent still 1777");
    is_int(mode_of(below), 0755, "ours 0755");
    const char *open_dir = in_dir(pool, "open");
    mkdir(open_dir, 0700);
    chmod(open_dir, 0777);
    err = NULL;
    ok(state_make_dir(open_dir, 0755, &err, pool) == APR_EACCES && err &&
           strstr(err, open_dir) && strstr(err, "writable"),
       "world-writable without sticky: refused, naming it");
    is_int(mode_of(open_dir), 0777, "and left alone");
    const char *foreign = in_dir(pool, "foreign");
    mkdir(foreign, 0755);
    int chowned = chown(foreign, 65534, 65534) == 0;
    err = NULL;
    ok(chowned && state_make_dir(foreign, 0755, &err, pool) == APR_EACCES &&
           err && strstr(err, "65534"),
       "a directory of another user: refused");
    rmdir(below);
    rmdir(sticky);
    rmdir(open_dir);
    rmdir(foreign);
}

/* A directory others share (a sticky /tmp, say) is never chmodded. */
static void test_ensure_dir(apr_pool_t *pool)
{
    mode_t old = umask(022);
    const char *err = NULL;
    const char *shared = in_dir(pool, "shared");
    mkdir(shared, 0700);
    chmod(shared, 01777);
    is_int(state_ensure_dir(shared, 0755, &err, pool), APR_SUCCESS,
           "ensure_dir: an existing directory");
    is_int(mode_of(shared), 01777, "ensure_dir: keeps its mode (sticky too)");
    const char *fresh = in_dir(pool, "shared/new/pub");
    is_int(state_ensure_dir(fresh, 0755, &err, pool), APR_SUCCESS,
           "ensure_dir: a missing directory");
    is_int(mode_of(fresh), 0755, "ensure_dir: made with the mode asked");
    is_int(mode_of(shared), 01777, "ensure_dir: the parent keeps its mode");
    umask(old);
    rmdir(fresh);
    rmdir(in_dir(pool, "shared/new"));
    rmdir(shared);
}

static void test_remove(apr_pool_t *pool)
{
    const char *err = NULL;
    const char *file = in_dir(pool, "to-remove");
    const char *sub = in_dir(pool, "dir-to-keep");
    is_int(state_remove(in_dir(pool, "absent"), &err, pool), APR_SUCCESS,
           "removing an absent file is fine");
    ok(err == NULL, "and says nothing");
    state_write_file(file, "x", 1, 0600, &err, pool);
    is_int(state_remove(file, &err, pool), APR_SUCCESS, "remove a file");
    ok(!exists(file), "it is gone");
    mkdir(sub, 0700);
    err = NULL;
    ok(state_remove(sub, &err, pool) != APR_SUCCESS && err &&
           strstr(err, sub) && exists(sub),
       "a directory is not removed, with an error naming it");
    rmdir(sub);
}

static void test_read_json(apr_pool_t *pool)
{
    static json_t stale; /* what *out held before: must become NULL */
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"{\"a\": ", "truncated"},
        {"", "empty"},
        {"[1, 2]", "not an object"},
        {"{\"a\": 1, \"a\": 2}", "duplicate key"},
    };
    const char *path = in_dir(pool, "bad.json");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = NULL;
        json_t *json = &stale;
        state_write_file(path, bad[i].text, strlen(bad[i].text), 0600, &err,
                         pool);
        apr_status_t rv = state_read_json(&json, path, &err, pool);
        ok(rv != APR_SUCCESS && json == NULL && err && strstr(err, path) &&
               strstr(err, "malformed"),
           apr_psprintf(pool, "%s: error naming the file", bad[i].why));
    }
    unlink(path);
    const char *err = NULL;
    json_t *json = &stale;
    apr_status_t rv =
        state_read_json(&json, in_dir(pool, "none.json"), &err, pool);
    ok(APR_STATUS_IS_ENOENT(rv) && json == NULL && err == NULL,
       "absent JSON: ENOENT, NULL, no error text");
    const char *secret = in_dir(pool, "secret");
    const char *link = in_dir(pool, "link.json");
    state_write_file(secret, "hunter2secret", 13, 0600, &err, pool);
    symlink(secret, link);
    err = NULL;
    rv = state_read_json(&json, link, &err, pool);
    ok(rv != APR_SUCCESS && json == NULL && err && strstr(err, "symlink") &&
           !strstr(err, "hunter2"),
       "a symlink in place of a state file: refused, its target unread");
    unlink(link);
    unlink(secret);
}

static void test_write_json(apr_pool_t *pool)
{
    const char *path = in_dir(pool, "w.json");
    const char *err = NULL;
    json_t *json =
        json_pool_bind(json_pack("{s:i, s:{s:b, s:s}, s:[i]}", "zeta", 1,
                                 "alpha", "y", 1, "x", "\xc3\xa9", "mid", 2),
                       pool);
    mode_t old = umask(0);
    is_int(state_write_json(path, json, &err, pool), APR_SUCCESS, "write JSON");
    umask(old);
    is_str(slurp(pool, path),
           "{\n  \"alpha\": {\n    \"x\": \"\xc3\xa9\",\n    \"y\": true\n"
           "  },\n  \"mid\": [\n    2\n  ],\n  \"zeta\": 1\n}\n",
           "pretty, sorted keys, final newline");
    is_int(mode_of(path), 0600, "mode 0600 (umask 0)");
    json_t *back = NULL;
    is_int(state_read_json(&back, path, &err, pool), APR_SUCCESS, "read back");
    ok(back && json_equal(back, json), "the same value read back");
    is_int(back ? (long long)back->refcount : -1, 1,
           "read value owned by the pool alone");
    unlink(path);
}

/* A journal file's rewrites reuse two inodes, each whole and 0600; what
 * sits at the spare and is not a plain file of ours is never written
 * through; removing the journal removes its spare. */
static void test_write_journal(apr_pool_t *pool)
{
    const char *path = in_dir(pool, "j.json");
    const char *spare = in_dir(pool, "j.json.spare");
    const char *err = NULL;
    json_t *v = json_pool_bind(json_pack("{s:i}", "n", 0), pool);
    int ok_all = 1;
    unsigned long a = 0, b = 0;
    for (int i = 0; i < 10; i++) {
        json_object_set_new(v, "n", json_integer(i));
        json_t *back = NULL;
        if (state_write_json_journal(path, v, &err, pool) != APR_SUCCESS ||
            state_read_json(&back, path, &err, pool) != APR_SUCCESS ||
            json_integer_value(json_object_get(back, "n")) != i ||
            mode_of(path) != 0600)
            ok_all = 0;
        if (i == 1) {
            a = inode_of(path);
            b = inode_of(spare);
        } else if (i > 1) {
            unsigned long want = i % 2 ? a : b;
            if (inode_of(path) != want || inode_of(spare) != (i % 2 ? b : a))
                ok_all = 0;
        }
    }
    ok(ok_all, "ten rewrites, each read back whole, mode 0600");
    json_t *longer = json_pool_bind(json_pack("{s:s}", "n",
                                              "0123456789abcdef"
                                              "0123456789abcdef0123456789"),
                                    pool);
    state_write_json_journal(path, longer, &err, pool);
    state_write_json_journal(path, longer, &err, pool);
    state_write_json_journal(path, v, &err, pool);
    struct stat st_short;
    json_t *back_short = NULL;
    ok(stat(path, &st_short) == 0 && st_short.st_size < 30 &&
           state_read_json(&back_short, path, &err, pool) == APR_SUCCESS &&
           json_integer_value(json_object_get(back_short, "n")) == 9,
       "a short text written into a spare that held a long one: no tail");
    ok(a != 0 && b != 0 && a != b,
       "from the second write on, the file and its spare trade two inodes");
    is_int(mode_of(spare), 0600, "the spare (the previous text) is 0600 too");

    const char *target = in_dir(pool, "j-target");
    state_write_file(target, "keep", 4, 0644, &err, pool);
    unlink(spare);
    ok(symlink(target, spare) == 0, "a symlink planted at the spare");
    ok(state_write_json_journal(path, v, &err, pool) == APR_SUCCESS,
       "the next write still succeeds");
    is_str(slurp(pool, target), "keep", "nothing written through the symlink");
    unlink(spare);
    ok(link(target, spare) == 0, "a hard link planted at the spare");
    state_write_json_journal(path, v, &err, pool);
    is_str(slurp(pool, target), "keep", "nothing written into the linked file");

    ok(state_remove_journal(path, &err, pool) == APR_SUCCESS && !exists(path) &&
           !exists(spare),
       "removing the journal removes its spare");
    unlink(target);
}

/* A file written through its spare (pending.pem, deployed.json): the
 * mode asked, durable; retiring it keeps its inode as the spare, which
 * the next write fills and puts back, so a renewal cycle makes and frees
 * no inode; a spare that is not a plain file of ours is never written
 * through. */
static void test_write_spare(apr_pool_t *pool)
{
    const char *path = in_dir(pool, "p.pem");
    const char *spare = in_dir(pool, "p.pem.spare");
    const char *err = NULL;
    ok(state_write_file_spare(path, "first\n", 6, 0644, &err, pool) ==
           APR_SUCCESS,
       "a first write with no spare");
    is_str(slurp(pool, path), "first\n", "its text");
    is_int(mode_of(path), 0644, "the mode asked");
    unsigned long first = inode_of(path);
    ok(state_retire_file(path, &err, pool) == APR_SUCCESS && !exists(path),
       "retired: gone from view");
    ok(first != 0 && inode_of(spare) == first, "its inode kept as the spare");
    ok(state_write_file_spare(path, "2\n", 2, 0644, &err, pool) == APR_SUCCESS,
       "the next write");
    is_str(slurp(pool, path), "2\n", "its text, no tail of the longer one");
    ok(inode_of(path) == first && !exists(spare),
       "written into the retired inode: none made");
    ok(state_write_file_spare(path, "third\n", 6, 0600, &err, pool) ==
               APR_SUCCESS &&
           mode_of(path) == 0600,
       "a rewrite with another mode gets it");
    unsigned long third = inode_of(path);
    is_str(slurp(pool, spare), "2\n", "the previous text is the spare");
    ok(state_write_file_spare(path, "fourth\n", 7, 0644, &err, pool) ==
               APR_SUCCESS &&
           inode_of(path) == first && inode_of(spare) == third,
       "from then on the two inodes trade places");
    ok(state_retire_file(path, &err, pool) == APR_SUCCESS && !exists(path) &&
           inode_of(spare) == third,
       "retired with a spare there already: removed, the spare kept");
    ok(state_retire_file(path, &err, pool) == APR_SUCCESS,
       "retiring what is not there is fine");

    const char *target = in_dir(pool, "p-target");
    state_write_file(target, "keep", 4, 0644, &err, pool);
    unlink(spare);
    ok(symlink(target, spare) == 0, "a symlink planted at the spare");
    ok(state_write_file_spare(path, "x\n", 2, 0644, &err, pool) == APR_SUCCESS,
       "the next write still succeeds");
    is_str(slurp(pool, target), "keep", "nothing written through the symlink");
    unlink(spare);
    ok(link(target, spare) == 0, "a hard link planted at the spare");
    state_write_file_spare(path, "y\n", 2, 0644, &err, pool);
    is_str(slurp(pool, target), "keep", "nothing written into the linked file");
    is_str(slurp(pool, path), "y\n", "and the file has its text");

    /* A second writer of the same path (`status` publishes without the
     * state lock) holding the spare: this write goes to a file of its
     * own, and the spare the other is writing is left alone. */
    state_write_file_spare(path, "v1\n", 3, 0644, &err, pool);
    state_write_file_spare(path, "v2\n", 3, 0644, &err, pool);
    int other = open(spare, O_WRONLY);
    ok(other >= 0 && flock(other, LOCK_EX) == 0,
       "another writer holds the spare");
    unsigned long other_ino = inode_of(spare);
    ok(state_write_file_spare(path, "v3\n", 3, 0644, &err, pool) == APR_SUCCESS,
       "a write meanwhile succeeds");
    is_str(slurp(pool, path), "v3\n", "with its text in place");
    ok(inode_of(spare) == other_ino && inode_of(path) != other_ino,
       "the other writer's spare neither traded nor replaced");
    is_str(slurp(pool, spare), "v1\n", "nor written into");
    if (other >= 0)
        close(other);

    /* A reader holding the spare (it opened the file before the last
     * write traded it away): a new inode is written, never this one. */
    int held = open(spare, O_RDONLY);
    unsigned long held_ino = inode_of(spare);
    ok(held >= 0 && flock(held, LOCK_SH) == 0, "a reader holds the spare");
    state_write_file_spare(path, "zzz\n", 4, 0644, &err, pool);
    is_str(slurp(pool, path), "zzz\n", "written");
    ok(inode_of(path) != held_ino, "into another inode than the one held");
    if (held >= 0)
        close(held);
    unlink(path);
    unlink(spare);
    unlink(target);
}

static int json_parses(const char *path, apr_pool_t *pool)
{
    json_t *got = NULL;
    const char *err = NULL;
    return state_read_json(&got, path, &err, pool) == APR_SUCCESS;
}

/* A reader of a journal file while it is rewritten (small and large
 * texts in turn) parses every read. */
static void test_journal_for_readers(apr_pool_t *pool)
{
    const char *path = in_dir(pool, "jr.json");
    const char *err = NULL;
    json_t *small = json_pool_bind(json_pack("{s:s}", "v", "a"), pool);
    json_t *large = json_pool_bind(json_object(), pool);
    for (int i = 0; i < 400; i++)
        json_object_set_new(large, apr_psprintf(pool, "k%03d", i),
                            json_string("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
    state_write_json_journal(path, small, &err, pool);
    int stop[2], ready[2];
    if (pipe(stop) != 0 || pipe(ready) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(stop[1]);
        close(ready[0]);
        reader_child(path, stop[0], ready[1], json_parses);
    }
    char c = 0;
    close(ready[1]);
    ok(read(ready[0], &c, 1) == 1, "the journal's reader has begun");
    close(ready[0]);
    close(stop[0]);
    apr_status_t rv = APR_SUCCESS;
    for (int i = 0; i < 2000 && rv == APR_SUCCESS; i++)
        rv = state_write_json_journal(path, i % 2 ? small : large, &err, pool);
    close(stop[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    is_int(rv, APR_SUCCESS, "2000 journal rewrites while it reads");
    is_int(WIFEXITED(status) ? WEXITSTATUS(status) : 100, 0,
           "the concurrent reader parsed every read");
    state_remove_journal(path, &err, pool);
}

static volatile sig_atomic_t read_outlasted;

static void on_read_timer(int sig)
{
    (void)sig;
    read_outlasted = 1;
}

/* 1 when state_read_file of path took longer than 300 ms (a wait for the
 * lock, which lasts up to 1 s) while another description holds LOCK_EX. */
static int read_waited(const char *path, apr_pool_t *pool)
{
    int holder = open(path, O_RDONLY | O_CLOEXEC);
    if (holder < 0 || flock(holder, LOCK_EX) != 0)
        return -1;
    struct sigaction sa = {0};
    sa.sa_handler = on_read_timer;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval t = {{0, 0}, {0, 300 * 1000}}, off = {{0, 0}, {0, 0}};
    read_outlasted = 0;
    setitimer(ITIMER_REAL, &t, NULL);
    char *data = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    state_read_file(&data, &len, path, 1024, &err, pool);
    setitimer(ITIMER_REAL, &off, NULL);
    close(holder);
    return read_outlasted;
}

/* A read waits out a writer's lock only on a private file of ours (the
 * journals and pending files, 0600); on one others can open, any local
 * user could take the lock (flock needs no write access). */
static void test_read_lock_private(apr_pool_t *pool)
{
    const char *err = NULL;
    const char *private = in_dir(pool, "private.txt");
    const char *open_to_all = in_dir(pool, "public.txt");
    state_write_file(private, "x\n", 2, 0600, &err, pool);
    state_write_file(open_to_all, "x\n", 2, 0644, &err, pool);
    is_int(read_waited(private, pool), 1,
           "a private file of ours: the read waits for the lock");
    is_int(read_waited(open_to_all, pool), 0,
           "a file others can open: the read does not wait");
}

static void test_json_pool(apr_pool_t *pool)
{
    apr_pool_t *sub = NULL;
    apr_pool_create(&sub, pool);
    json_t *json = json_object();
    json_t *held = json_incref(json);
    ok(json_pool_bind(json, sub) == json, "bind returns the value");
    is_int(held->refcount, 2, "bound: the pool's reference and ours");
    apr_pool_clear(sub);
    is_int(held->refcount, 1, "pool cleared: its reference released");
    ok(json_pool_bind(NULL, sub) == NULL, "binding NULL gives NULL");
    /* read_json binds to the pool it is given */
    const char *path = in_dir(pool, "bound.json");
    const char *err = NULL;
    state_write_file(path, "{\"k\": 1}", 8, 0600, &err, pool);
    json_t *read = NULL;
    state_read_json(&read, path, &err, sub);
    json_t *keep = read ? json_incref(read) : NULL;
    apr_pool_destroy(sub);
    is_int(keep ? (long long)keep->refcount : -1, 1,
           "read_json value released with its pool");
    json_decref(keep);
    json_decref(held);
    unlink(path);
}

static void test_dirs(apr_pool_t *pool)
{
    expacme_config_t config;
    memset(&config, 0, sizeof(config));
    config.state_dir = in_dir(pool, "state");
    mode_t old = umask(022);
    const char *out = NULL, *err = NULL;
    is_int(state_cert_dir(&out, &config, "server", &err, pool), APR_SUCCESS,
           "cert dir");
    is_str(out, in_dir(pool, "state/certs/server"), "cert dir path");
    is_int(mode_of(config.state_dir), 0700, "state_dir made 0700");
    is_int(mode_of(in_dir(pool, "state/certs")), 0700, "certs/ 0700");
    is_int(mode_of(out), 0700, "certs/server 0700");
    /* Issue 10: a widened state_dir is refused, not tightened. */
    chmod(config.state_dir, 0755);
    err = NULL;
    ok(state_account_dir(&out, &config, "pebble", &err, pool) == APR_EACCES &&
           err && strstr(err, config.state_dir),
       "a widened state_dir refused, naming it");
    is_int(mode_of(config.state_dir), 0755, "and left as it is");
    ok(!exists(in_dir(pool, "state/accounts")), "nothing made below it");
    chmod(config.state_dir, 0700);
    is_int(state_account_dir(&out, &config, "pebble", &err, pool), APR_SUCCESS,
           "account dir");
    is_str(out, in_dir(pool, "state/accounts/pebble"), "account dir path");
    is_int(mode_of(out), 0700, "accounts/pebble 0700");
    is_int(state_provider_dir(&out, &config, "le", &err, pool), APR_SUCCESS,
           "provider dir");
    is_str(out, in_dir(pool, "state/providers/le"), "provider dir path");
    is_int(mode_of(out), 0700, "providers/le 0700");
    umask(old);
    state_write_file(in_dir(pool, "blocker"), "x", 1, 0600, &err, pool);
    config.state_dir = in_dir(pool, "blocker");
    err = NULL;
    out = "stale";
    ok(state_cert_dir(&out, &config, "server", &err, pool) != APR_SUCCESS &&
           err && strstr(err, "blocker"),
       "state_dir a file: error naming it");
    ok(out == NULL, "and *out NULL");
}

/* Child of test_lock: tries the lock for `wait` and reports on a pipe. */
static void lock_child(int fd, const expacme_config_t *config,
                       apr_interval_time_t wait)
{
    apr_pool_t *cp = NULL;
    apr_pool_create(&cp, NULL);
    const char *err = NULL;
    apr_time_t start = apr_time_now();
    apr_status_t rv = state_lock(config, wait, &err, cp);
    const char *msg = apr_psprintf(cp, "%d %" APR_TIME_T_FMT " %s",
                                   rv == APR_SUCCESS ? 0
                                   : rv == APR_EBUSY ? 1
                                                     : 2,
                                   apr_time_now() - start, err ? err : "");
    if (write(fd, msg, strlen(msg)) < 0)
        _exit(1);
    _exit(0);
}

typedef struct {
    int result; /* 0 locked, 1 busy, 2 other */
    apr_interval_time_t took;
    const char *err;
} lock_try_t;

static lock_try_t lock_in_child(const expacme_config_t *config,
                                apr_interval_time_t wait, apr_pool_t *pool)
{
    lock_try_t t = {-1, 0, ""};
    int fds[2];
    if (pipe(fds) != 0)
        return t;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        lock_child(fds[1], config, wait);
    }
    close(fds[1]);
    char buf[512];
    ssize_t n, got = 0;
    while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
        got += n;
    buf[got] = '\0';
    close(fds[0]);
    waitpid(pid, NULL, 0);
    long long took = 0;
    int used = 0;
    if (sscanf(buf, "%d %lld %n", &t.result, &took, &used) >= 2) {
        t.took = (apr_interval_time_t)took;
        t.err = apr_pstrdup(pool, buf + used);
    }
    return t;
}

static void test_lock(apr_pool_t *pool)
{
    expacme_config_t config;
    memset(&config, 0, sizeof(config));
    config.state_dir = in_dir(pool, "lockstate");
    apr_pool_t *held = NULL;
    apr_pool_create(&held, pool);
    const char *err = NULL;
    is_int(state_lock(&config, 0, &err, held), APR_SUCCESS, "first lock");
    const char *lockfile = in_dir(pool, "lockstate/lock");
    is_int(mode_of(config.state_dir), 0700, "state_dir made 0700");
    is_int(mode_of(lockfile), 0600, "lock file 0600");
    const char *pid = apr_psprintf(pool, "%ld", (long)getpid());
    is_str(slurp(pool, lockfile), pid, "lock file holds our pid");

    apr_interval_time_t wait = apr_time_from_msec(300);
    lock_try_t t = lock_in_child(&config, wait, pool);
    is_int(t.result, 1, "second helper: APR_EBUSY");
    ok(t.took >= wait, "after waiting the time it was given");
    ok(t.took < wait + apr_time_from_sec(5), "and not much longer");
    ok(strstr(t.err, apr_pstrcat(pool, "(pid ", pid, ")", NULL)) != NULL,
       "message names the holder's pid");
    ok(strstr(t.err, config.state_dir) != NULL, "and the state directory");
    is_str(slurp(pool, lockfile), pid, "the holder's pid left in place");

    apr_pool_destroy(held);
    t = lock_in_child(&config, 0, pool);
    is_int(t.result, 0, "released with the pool: another helper locks");
    apr_pool_create(&held, pool);
    is_int(state_lock(&config, 0, &err, held), APR_SUCCESS,
           "and so do we again");
    apr_pool_destroy(held);

    const char *victim = in_dir(pool, "victim");
    state_write_file(victim, "precious", 8, 0644, &err, pool);
    unlink(lockfile);
    symlink(victim, lockfile);
    apr_pool_create(&held, pool);
    err = NULL;
    ok(state_lock(&config, 0, &err, held) != APR_SUCCESS && err &&
           strstr(err, lockfile),
       "a symlink in place of the lock: refused, naming it");
    is_str(slurp(pool, victim), "precious", "and its target left alone");
    apr_pool_destroy(held);
    unlink(lockfile);
    unlink(victim);
}

/* The lock held by another process and released while we wait. */
static void test_lock_wait(apr_pool_t *pool)
{
    expacme_config_t config;
    memset(&config, 0, sizeof(config));
    config.state_dir = in_dir(pool, "lockstate");
    int up[2], down[2];
    if (pipe(up) != 0 || pipe(down) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        apr_pool_t *cp = NULL;
        apr_pool_create(&cp, NULL);
        const char *err = NULL;
        char c = state_lock(&config, 0, &err, cp) == APR_SUCCESS ? 'L' : 'F';
        if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
            _exit(1);
        apr_pool_destroy(cp); /* releases the lock */
        _exit(0);
    }
    char c = 0;
    if (read(up[0], &c, 1) != 1)
        c = 0;
    is_int(c, 'L', "another process holds the lock");
    apr_pool_t *mine = NULL;
    apr_pool_create(&mine, pool);
    const char *err = NULL;
    ok(state_lock(&config, 0, &err, mine) == APR_EBUSY && err &&
           strstr(err, apr_psprintf(pool, "(pid %ld)", (long)pid)),
       "busy, naming the other pid");
    if (write(down[1], "r", 1) != 1)
        return;
    apr_time_t start = apr_time_now();
    is_int(state_lock(&config, apr_time_from_sec(20), &err, mine), APR_SUCCESS,
           "a waiting helper gets it when released");
    ok(apr_time_now() - start < apr_time_from_sec(10), "promptly");
    waitpid(pid, NULL, 0);
    apr_pool_destroy(mine);
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
}

int main(void)
{
    apr_pool_t *pool = NULL;
    if (!test_dir_begin(&pool, dir))
        return 1;
    test_write_modes(pool);
    test_write_replace(pool);
    test_write_refused(pool);
    test_write_tmp_taken(pool);
    test_create_file(pool);
    test_write_atomic_for_readers(pool);
    test_read_file(pool);
    test_make_dir(pool);
    test_make_dir_shared(pool);
    test_ensure_dir(pool);
    test_remove(pool);
    test_read_json(pool);
    test_write_json(pool);
    test_write_journal(pool);
    test_write_spare(pool);
    test_journal_for_readers(pool);
    test_read_lock_private(pool);
    test_json_pool(pool);
    test_dirs(pool);
    test_lock(pool);
    test_lock_wait(pool);
    apr_pool_destroy(pool);
    test_dir_remove(dir);
    apr_terminate();
    return done_testing();
}
