/* Unit tests of the generation switch (ops/deploy_live.h): adoption of the
 * files found, new generations and their modes, the one-rename switch,
 * pruning; and what a helper killed part way leaves behind: between the
 * steps (a child that stops after step N), and before every system call
 * that changes a file (a child traced with ptrace(2) and killed there).
 * The live pair must always be the whole old or the whole new one, and
 * the next deploy must succeed and leave nothing behind. */
#include "tap.h"
#include "dir_fixture.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apr_file_info.h"
#include "apr_general.h"
#include "apr_strings.h"

#include "base/state.h"
#include "ops/deploy_live.h"

static char dir[] = "/tmp/expacme-deploy-test.XXXXXX";
static int case_count;

/* Distinct pairs: pair i's chain and key name i, and differ in length. */
enum { PAIRS = 3 };
static const char *chains[PAIRS], *keys[PAIRS];

typedef struct {
    const char *dir; /* holds cert_file, key_file and the generations */
    expacme_cert_conf_t conf;
    deploy_live_t live;
} fixture_t;

static void pairs_make(apr_pool_t *pool)
{
    for (int i = 0; i < PAIRS; i++) {
        const char *line = apr_psprintf(pool, "chain %d of the test\n", i);
        chains[i] = "";
        for (int n = 0; n < 50 * (i + 1); n++)
            chains[i] = apr_pstrcat(pool, chains[i], line, NULL);
        keys[i] =
            apr_psprintf(pool, "-----KEY %d-----\n%0*d\n", i, 40 + 20 * i, i);
    }
}

static void fixture_make(fixture_t *f, apr_pool_t *pool)
{
    f->dir = apr_psprintf(pool, "%s/case-%d", dir, ++case_count);
    mkdir(f->dir, 0755);
    f->conf.name = "server";
    f->conf.cert_file = apr_pstrcat(pool, f->dir, "/server.pem", NULL);
    f->conf.key_file = apr_pstrcat(pool, f->dir, "/server.key", NULL);
    f->conf.sni = NULL;
    deploy_live_init(&f->live, &f->conf, pool);
}

static const char *in_root(const fixture_t *f, const char *rel,
                           apr_pool_t *pool)
{
    return apr_pstrcat(pool, f->live.root, "/", rel, NULL);
}

static int is_link(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

static const char *link_target(const char *path, apr_pool_t *pool)
{
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n < 0)
        return NULL;
    target[n] = '\0';
    return apr_pstrdup(pool, target);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in path, sorted and joined by spaces; NULL when it cannot be
 * opened. */
static const char *listing(const char *path, apr_pool_t *pool)
{
    apr_array_header_t *names = apr_array_make(pool, 8, sizeof(char *));
    apr_dir_t *d = NULL;
    apr_finfo_t fi;
    if (apr_dir_open(&d, path, pool) != APR_SUCCESS)
        return NULL;
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0)
            APR_ARRAY_PUSH(names, char *) = apr_pstrdup(pool, fi.name);
    }
    apr_dir_close(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(char *), by_name);
    return apr_array_pstrcat(pool, names, ' ');
}

/* Which pair's chain (or key) path holds: "absent", "?" or the index. */
static const char *which(const char *path, const char *const *known,
                         apr_pool_t *pool)
{
    char *data = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_status_t rv =
        state_read_file(&data, &len, path, STATE_FILE_MAX, &err, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return "absent";
    for (int i = 0; rv == APR_SUCCESS && i < PAIRS; i++) {
        if (len == strlen(known[i]) && memcmp(data, known[i], len) == 0)
            return apr_itoa(pool, i);
    }
    return "?";
}

/* What httpd would read: "pair N", "none", or what is mixed. */
static const char *live_state(const fixture_t *f, apr_pool_t *pool)
{
    const char *cert = which(f->conf.cert_file, chains, pool);
    const char *key = which(f->conf.key_file, keys, pool);
    if (strcmp(cert, key) != 0 || strcmp(cert, "?") == 0)
        return apr_psprintf(pool, "cert %s, key %s", cert, key);
    return strcmp(cert, "absent") == 0 ? "none"
                                       : apr_pstrcat(pool, "pair ", cert, NULL);
}

/* A temporary file of state_write_file ("key.pem.tmp.<pid>") or of the
 * symlink switch ("server.pem.expacme-tmp.<pid>"). */
static int is_temporary(const char *name)
{
    return strstr(name, ".tmp.") != NULL || strstr(name, ".expacme-tmp.");
}

/* names without the temporaries, when temps is 0. */
static const char *without_temps(const char *names, int temps, apr_pool_t *pool)
{
    if (names == NULL || temps)
        return names;
    apr_array_header_t *kept = apr_array_make(pool, 4, sizeof(char *));
    char *last = NULL;
    for (char *n = apr_strtok(apr_pstrdup(pool, names), " ", &last); n;
         n = apr_strtok(NULL, " ", &last)) {
        if (!is_temporary(n))
            APR_ARRAY_PUSH(kept, char *) = n;
    }
    return apr_array_pstrcat(pool, kept, ' ');
}

/* Anything beyond the live links, `current` and at most two complete
 * generations: "" when there is nothing else.  With temps 0, temporary
 * files left by a crash are not counted (a generation holding only such
 * files neither). */
static const char *strays(const fixture_t *f, int temps, apr_pool_t *pool)
{
    const char *out = "";
    const char *top = without_temps(listing(f->dir, pool), temps, pool);
    if (top == NULL || strcmp(top, ".expacme-server server.key server.pem"))
        out = apr_psprintf(pool, "[%s: %s] ", f->dir, top);
    const char *names = listing(f->live.root, pool);
    if (names == NULL)
        return out;
    int gens = 0;
    char *last = NULL;
    for (char *n = apr_strtok(apr_pstrdup(pool, names), " ", &last); n;
         n = apr_strtok(NULL, " ", &last)) {
        const char *raw = listing(in_root(f, n, pool), pool);
        const char *inside = without_temps(raw, temps, pool);
        if (strcmp(n, "current") == 0 || (!temps && is_temporary(n)))
            continue;
        if (strncmp(n, "gen-", 4) == 0 && inside && !temps && !*inside)
            continue;
        if (strncmp(n, "gen-", 4) == 0 && inside &&
            strcmp(inside, "cert.pem key.pem") == 0 && ++gens <= 2)
            continue;
        out = apr_psprintf(pool, "%s[%s: %s] ", out, n,
                           raw ? raw : "not a directory");
    }
    return out;
}

/* The deploy engine's order (ops/deploy.c): adopt, write, switch, prune
 * keeping the new and the previous generation; stops after `steps`. */
static apr_status_t run_deploy(const fixture_t *f, int pair, int steps,
                               const char **err, apr_pool_t *pool)
{
    const char *old = NULL, *gen = NULL;
    apr_status_t rv = APR_SUCCESS;
    if (steps >= 1)
        rv = deploy_live_adopt(&old, &f->live, err, pool);
    if (rv == APR_SUCCESS && steps >= 2)
        rv = deploy_live_write(&gen, &f->live, chains[pair],
                               strlen(chains[pair]), keys[pair],
                               strlen(keys[pair]), err, pool);
    if (rv == APR_SUCCESS && steps >= 3)
        rv = deploy_live_switch(&f->live, gen, err, pool);
    if (rv == APR_SUCCESS && steps >= 4)
        deploy_live_prune(&f->live, gen, old, pool);
    return rv;
}

/* Regular files of pair 0, as a hand-installed certificate. */
static void install_by_hand(const fixture_t *f, apr_pool_t *pool)
{
    const char *err = NULL;
    state_write_file(f->conf.cert_file, chains[0], strlen(chains[0]), 0644,
                     &err, pool);
    state_write_file(f->conf.key_file, keys[0], strlen(keys[0]), 0600, &err,
                     pool);
}

static void test_adopt_nothing(apr_pool_t *pool)
{
    fixture_t f;
    fixture_make(&f, pool);
    const char *gen = "stale", *err = NULL;
    is_int(deploy_live_adopt(&gen, &f.live, &err, pool), APR_SUCCESS,
           "adopt with nothing live");
    ok(gen == NULL, "no first generation");
    ok(deploy_live_current(&f.live, pool) == NULL, "no current");
    is_str(listing(f.dir, pool), "", "nothing made");
}

static void test_adopt_files(apr_pool_t *pool)
{
    fixture_t f;
    fixture_make(&f, pool);
    install_by_hand(&f, pool);
    const char *gen = NULL, *err = NULL;
    mode_t old = umask(0);
    is_int(deploy_live_adopt(&gen, &f.live, &err, pool), APR_SUCCESS,
           "adopt hand-installed files");
    umask(old);
    ok(gen && strncmp(gen, "gen-", 4) == 0, "a first generation");
    is_str(deploy_live_current(&f.live, pool), gen, "current names it");
    ok(is_link(f.conf.cert_file) && is_link(f.conf.key_file),
       "cert_file and key_file are symlinks now");
    is_str(link_target(f.conf.cert_file, pool),
           in_root(&f, "current/cert.pem", pool), "cert through current");
    is_str(link_target(f.conf.key_file, pool),
           in_root(&f, "current/key.pem", pool), "key through current");
    is_str(live_state(&f, pool), "pair 0", "the same pair as before");
    is_int(mode_of(f.conf.cert_file), 0644, "chain 0644");
    is_int(mode_of(f.conf.key_file), 0600, "key 0600");
    is_int(gen ? mode_of(in_root(&f, gen, pool)) : -1, 0700,
           "generation directory 0700");
    const char *again = NULL;
    is_int(deploy_live_adopt(&again, &f.live, &err, pool), APR_SUCCESS,
           "adopt again");
    is_str(again, gen, "idempotent: the same generation");
    is_str(listing(f.live.root, pool), apr_pstrcat(pool, "current ", gen, NULL),
           "and no new one");
    is_str(strays(&f, 1, pool), "", "nothing stray");
}

/* Adopting gives the live files second names in the first generation
 * (no copy, no new inode) when they are plain files of their own, the
 * key private; anything else is copied, and the copy's key is 0600. */
static void test_adopt_links(apr_pool_t *pool)
{
    fixture_t f;
    fixture_make(&f, pool);
    install_by_hand(&f, pool);
    unsigned long cert_ino = inode_of(f.conf.cert_file);
    unsigned long key_ino = inode_of(f.conf.key_file);
    const char *gen = NULL, *err = NULL;
    is_int(deploy_live_adopt(&gen, &f.live, &err, pool), APR_SUCCESS,
           "adopt a private pair");
    const char *gdir = gen ? in_root(&f, gen, pool) : "";
    ok(cert_ino != 0 &&
           inode_of(apr_pstrcat(pool, gdir, "/cert.pem", NULL)) == cert_ino,
       "the generation's chain is the live file itself (a link, no copy)");
    ok(key_ino != 0 &&
           inode_of(apr_pstrcat(pool, gdir, "/key.pem", NULL)) == key_ino,
       "and so is its key");
    is_str(live_state(&f, pool), "pair 0", "the same pair served");
    is_str(strays(&f, 1, pool), "", "nothing stray");

    /* A key others may read: copied, the copy private. */
    fixture_t g;
    fixture_make(&g, pool);
    install_by_hand(&g, pool);
    chmod(g.conf.key_file, 0644);
    key_ino = inode_of(g.conf.key_file);
    gen = NULL;
    is_int(deploy_live_adopt(&gen, &g.live, &err, pool), APR_SUCCESS,
           "adopt a pair whose key is 0644");
    gdir = gen ? in_root(&g, gen, pool) : "";
    const char *gkey = apr_pstrcat(pool, gdir, "/key.pem", NULL);
    ok(inode_of(gkey) != 0 && inode_of(gkey) != key_ino,
       "its key copied, not linked");
    is_int(mode_of(gkey), 0600, "the copy 0600");
    is_str(live_state(&g, pool), "pair 0", "the same pair served");

    /* A chain with another name elsewhere, and a live key that is a
     * symlink: both copied, so nothing outside is shared or moved. */
    fixture_t h;
    fixture_make(&h, pool);
    install_by_hand(&h, pool);
    const char *other = apr_pstrcat(pool, h.dir, "/elsewhere.pem", NULL);
    const char *real_key = apr_pstrcat(pool, h.dir, "/real.key", NULL);
    ok(link(h.conf.cert_file, other) == 0 &&
           rename(h.conf.key_file, real_key) == 0 &&
           symlink(real_key, h.conf.key_file) == 0,
       "a chain with two names, a key behind a symlink");
    unsigned long other_ino = inode_of(other), real_ino = inode_of(real_key);
    gen = NULL;
    is_int(deploy_live_adopt(&gen, &h.live, &err, pool), APR_SUCCESS,
           "adopt them");
    gdir = gen ? in_root(&h, gen, pool) : "";
    ok(inode_of(apr_pstrcat(pool, gdir, "/cert.pem", NULL)) != other_ino,
       "the shared chain copied");
    ok(inode_of(apr_pstrcat(pool, gdir, "/key.pem", NULL)) != real_ino,
       "the key behind the symlink copied");
    is_str(live_state(&h, pool), "pair 0", "the same pair served");
    unlink(other);
    unlink(real_key);

    /* A pair another user owns: copied, so that user cannot rewrite the
     * generation a rollback would go back to. */
    fixture_t u;
    fixture_make(&u, pool);
    install_by_hand(&u, pool);
    if (geteuid() != 0) {
        ok(1, "# skip a pair owned by another user: not root");
        return;
    }
    ok(chown(u.conf.cert_file, 65534, 65534) == 0 &&
           chown(u.conf.key_file, 65534, 65534) == 0,
       "a pair owned by nobody");
    unsigned long foreign = inode_of(u.conf.key_file);
    gen = NULL;
    is_int(deploy_live_adopt(&gen, &u.live, &err, pool), APR_SUCCESS,
           "adopt it");
    gdir = gen ? in_root(&u, gen, pool) : "";
    const char *ukey = apr_pstrcat(pool, gdir, "/key.pem", NULL);
    struct stat st;
    ok(inode_of(ukey) != foreign && stat(ukey, &st) == 0 &&
           st.st_uid == geteuid(),
       "its key copied, the copy ours");
}

/* A certificate without its key is a broken install; adopting must say
 * so, not fail silently. */
static void test_adopt_half(apr_pool_t *pool)
{
    fixture_t f;
    fixture_make(&f, pool);
    const char *err = NULL, *gen = NULL;
    state_write_file(f.conf.cert_file, chains[0], strlen(chains[0]), 0644, &err,
                     pool);
    apr_status_t rv = deploy_live_adopt(&gen, &f.live, &err, pool);
    ok(rv == APR_SUCCESS || (err && strstr(err, f.conf.key_file)),
       "certificate without key: an error naming the key file");
    is_str(live_state(&f, pool), "cert 0, key absent",
           "the certificate left as it was");
}

/* A generation of pair i, written under umask mask. */
static const char *write_gen(const fixture_t *f, int i, mode_t mask,
                             apr_pool_t *pool)
{
    const char *gen = NULL, *err = NULL;
    mode_t old = umask(mask);
    apr_status_t rv =
        deploy_live_write(&gen, &f->live, chains[i], strlen(chains[i]), keys[i],
                          strlen(keys[i]), &err, pool);
    umask(old);
    if (rv != APR_SUCCESS)
        printf("#   deploy_live_write: %s\n", err ? err : "(no error text)");
    return rv == APR_SUCCESS ? gen : NULL;
}

static void test_write(apr_pool_t *pool)
{
    fixture_t f;
    fixture_make(&f, pool);
    install_by_hand(&f, pool);
    const char *g0 = NULL, *err = NULL;
    deploy_live_adopt(&g0, &f.live, &err, pool);
    const char *g1 = write_gen(&f, 1, 0, pool);
    const char *g2 = write_gen(&f, 2, 077, pool);
    ok(g1 && g2 && g0 && strcmp(g1, g0) && strcmp(g2, g1),
       "each write a new generation");
    for (int i = 0; i < 2 && g1 && g2; i++) {
        const char *g = i ? g2 : g1;
        const char *mask = i ? "umask 077" : "umask 0";
        is_int(
            mode_of(in_root(&f, apr_pstrcat(pool, g, "/cert.pem", NULL), pool)),
            0644, apr_psprintf(pool, "%s: chain 0644", mask));
        is_int(
            mode_of(in_root(&f, apr_pstrcat(pool, g, "/key.pem", NULL), pool)),
            0600, apr_psprintf(pool, "%s: key 0600", mask));
        is_int(mode_of(in_root(&f, g, pool)), 0700,
               apr_psprintf(pool, "%s: directory 0700", mask));
        is_str(listing(in_root(&f, g, pool), pool), "cert.pem key.pem",
               apr_psprintf(pool, "%s: the pair and nothing else", mask));
    }
    is_str(live_state(&f, pool), "pair 0", "writing does not switch");
    is_str(deploy_live_current(&f.live, pool), g0, "current unchanged");
}

static void test_switch(apr_pool_t *pool)
{
    fixture_t f;
    fixture_make(&f, pool);
    install_by_hand(&f, pool);
    const char *g0 = NULL, *err = NULL;
    deploy_live_adopt(&g0, &f.live, &err, pool);
    const char *g1 = write_gen(&f, 1, 022, pool);
    struct stat cert_before, key_before, cert_after, key_after;
    lstat(f.conf.cert_file, &cert_before);
    lstat(f.conf.key_file, &key_before);
    is_int(deploy_live_switch(&f.live, g1, &err, pool), APR_SUCCESS, "switch");
    is_str(live_state(&f, pool), "pair 1", "the new pair is live");
    is_str(deploy_live_current(&f.live, pool), g1, "current names it");
    lstat(f.conf.cert_file, &cert_after);
    lstat(f.conf.key_file, &key_after);
    ok(cert_before.st_ino == cert_after.st_ino &&
           key_before.st_ino == key_after.st_ino,
       "only current replaced: the live links are the same ones");
    is_int(mode_of(f.conf.key_file), 0600, "live key 0600");
    is_int(mode_of(f.conf.cert_file), 0644, "live chain 0644");
    is_int(deploy_live_switch(&f.live, g0, &err, pool), APR_SUCCESS,
           "switch back");
    is_str(live_state(&f, pool), "pair 0", "the previous pair again");
    is_str(deploy_live_current(&f.live, pool), g0, "current names it");

    is_int(deploy_live_switch(&f.live, NULL, &err, pool), APR_SUCCESS,
           "switch to nothing");
    ok(!is_link(f.conf.cert_file) && !is_link(f.conf.key_file),
       "the live links are gone");
    is_str(live_state(&f, pool), "none", "nothing for httpd to read");
    ok(deploy_live_current(&f.live, pool) == NULL, "and no current");
    is_str(listing(f.dir, pool), ".expacme-server", "nothing else beside");
    deploy_live_prune(&f.live, NULL, NULL, pool);
    is_str(listing(f.live.root, pool), "", "prune of all: empty root");
}

static void test_prune(apr_pool_t *pool)
{
    fixture_t f;
    fixture_make(&f, pool);
    const char *g[4], *err = NULL;
    for (int i = 0; i < 4; i++)
        deploy_live_write(&g[i], &f.live, chains[i % PAIRS],
                          strlen(chains[i % PAIRS]), keys[i % PAIRS],
                          strlen(keys[i % PAIRS]), &err, pool);
    deploy_live_switch(&f.live, g[3], &err, pool);
    mkdir(in_root(&f, "other", pool), 0700);
    state_write_file(in_root(&f, "notes", pool), "x", 1, 0600, &err, pool);
    deploy_live_prune(&f.live, g[3], g[1], pool);
    is_str(listing(f.live.root, pool),
           apr_psprintf(pool, "current %s %s notes other", g[1], g[3]),
           "prune keeps exactly the two asked, and what is not ours");
    is_str(live_state(&f, pool), "pair 0", "the live pair untouched");
    deploy_live_prune(&f.live, g[3], NULL, pool);
    is_str(listing(f.live.root, pool),
           apr_psprintf(pool, "current %s notes other", g[3]), "keeping one");
}

typedef enum { FIRST_OVER_FILES, LATER, FIRST_EMPTY, SCENARIOS } scenario_t;
static const char *const scenario_names[] = {
    [FIRST_OVER_FILES] = "first deploy over hand-installed files",
    [LATER] = "later deploy",
    [FIRST_EMPTY] = "first deploy, nothing live",
};
_Static_assert(sizeof(scenario_names) / sizeof(scenario_names[0]) == SCENARIOS,
               "one name per scenario");

/* A fixture in the state before a deploy of pair 1; returns what httpd
 * reads then. */
static const char *scenario_make(fixture_t *f, scenario_t s, apr_pool_t *pool)
{
    const char *err = NULL;
    fixture_make(f, pool);
    if (s == FIRST_EMPTY)
        return "none";
    install_by_hand(f, pool);
    if (s == LATER)
        run_deploy(f, 0, 4, &err, pool);
    return "pair 0";
}

/* After a crash: the next deploy (of pair 2) works and leaves nothing
 * behind, but for the temporaries of a crash, which are counted in
 * *leftovers (the last kind seen in *example). */
static void check_recovery(const fixture_t *f, const char *what, int *leftovers,
                           const char **example, apr_pool_t *pool)
{
    const char *err = NULL;
    apr_status_t rv = run_deploy(f, 2, 4, &err, pool);
    ok(rv == APR_SUCCESS && strcmp(live_state(f, pool), "pair 2") == 0,
       apr_psprintf(pool, "%s: the next deploy works", what));
    if (rv != APR_SUCCESS)
        printf("#   %s\n", err ? err : "(no error text)");
    is_str(strays(f, 0, pool), "",
           apr_psprintf(pool, "%s: and leaves nothing stray", what));
    const char *temps = strays(f, 1, pool);
    if (*temps) {
        ++*leftovers;
        *example = apr_pstrcat(pool, what, ": ", temps, NULL);
    }
}

static void test_crash_between_steps(apr_pool_t *pool)
{
    static const char *const after[] = {"nothing", "adopt", "write", "switch",
                                        "prune"};
    for (int s = 0; s < SCENARIOS; s++) {
        for (int steps = 0; steps <= 4; steps++) {
            for (int killed = 0; killed <= 1; killed++) {
                fixture_t f;
                const char *old = scenario_make(&f, (scenario_t)s, pool);
                pid_t pid = fork();
                if (pid == 0) {
                    const char *err = NULL;
                    apr_pool_t *cp = NULL;
                    apr_pool_create(&cp, NULL);
                    run_deploy(&f, 1, steps, &err, cp);
                    if (killed)
                        raise(SIGKILL);
                    _exit(0);
                }
                int status = 0;
                waitpid(pid, &status, 0);
                const char *what =
                    apr_psprintf(pool, "%s, %s after %s", scenario_names[s],
                                 killed ? "killed" : "exit", after[steps]);
                is_str(live_state(&f, pool), steps >= 3 ? "pair 1" : old,
                       apr_psprintf(pool, "%s: the whole %s pair", what,
                                    steps >= 3 ? "new" : "old"));
                int leftovers = 0;
                const char *example = NULL;
                check_recovery(&f, what, &leftovers, &example, pool);
                is_int(leftovers, 0,
                       apr_psprintf(pool, "%s: no temporary file", what));
            }
        }
    }
}

/* The system calls a crash before which could leave a different state. */
static const char *changing_syscall(long nr)
{
    static const struct {
        long nr;
        const char *name;
    } calls[] = {
#ifdef SYS_open
        {SYS_open, "open"},
#endif
#ifdef SYS_rename
        {SYS_rename, "rename"},
#endif
#ifdef SYS_symlink
        {SYS_symlink, "symlink"},
#endif
#ifdef SYS_unlink
        {SYS_unlink, "unlink"},
#endif
#ifdef SYS_mkdir
        {SYS_mkdir, "mkdir"},
#endif
#ifdef SYS_rmdir
        {SYS_rmdir, "rmdir"},
#endif
#ifdef SYS_chmod
        {SYS_chmod, "chmod"},
#endif
        {SYS_openat, "openat"},       {SYS_write, "write"},
        {SYS_pwrite64, "pwrite"},     {SYS_fsync, "fsync"},
        {SYS_fdatasync, "fdatasync"}, {SYS_renameat, "renameat"},
        {SYS_renameat2, "renameat2"}, {SYS_symlinkat, "symlinkat"},
        {SYS_unlinkat, "unlinkat"},   {SYS_mkdirat, "mkdirat"},
        {SYS_fchmod, "fchmod"},       {SYS_fchmodat, "fchmodat"},
        {SYS_ftruncate, "ftruncate"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        if (calls[i].nr == nr)
            return calls[i].name;
    }
    return NULL;
}

static void traced_child(const fixture_t *f)
{
    apr_pool_t *cp = NULL;
    const char *err = NULL;
    apr_pool_create(&cp, NULL);
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
        _exit(3);
    raise(SIGSTOP);
    _exit(run_deploy(f, 1, 4, &err, cp) == APR_SUCCESS ? 0 : 2);
}

/* Runs the deploy of pair 1 in a traced child and kills it on entry to
 * the k-th file-changing system call (*name).  1: killed there; 0: the
 * deploy finished first; -1: tracing failed. */
static int deploy_killed_at(const fixture_t *f, int k, const char **name)
{
    pid_t pid = fork();
    if (pid == 0)
        traced_child(f);
    int status = 0, seen = 0, sig = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
        return -1;
    ptrace(PTRACE_SETOPTIONS, pid, NULL,
           (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
    for (;;) {
        if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig) != 0)
            break;
        sig = 0;
        if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
            return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
        if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
            sig = WSTOPSIG(status); /* not ours: deliver it */
            continue;
        }
        struct __ptrace_syscall_info info;
        if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) <=
            0)
            break;
        if (info.op != PTRACE_SYSCALL_INFO_ENTRY)
            continue;
        *name = changing_syscall((long)info.entry.nr);
        if (*name != NULL && ++seen == k) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return 1;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* What a crash before call k left: the whole old or new pair (ok) or, on
 * a first deploy, the new key without its certificate yet (*half). */
static void check_crashed(const char *state, const char *old, int *half,
                          const char *what, apr_pool_t *pool)
{
    int whole = strcmp(state, old) == 0 || strcmp(state, "pair 1") == 0;
    int half_new =
        strcmp(old, "none") == 0 && (strcmp(state, "cert absent, key 1") == 0 ||
                                     strcmp(state, "cert 1, key absent") == 0);
    ok(whole || half_new,
       apr_psprintf(pool, "%s: %s: never a mix of pairs", what, state));
    *half += half_new;
}

static void test_crash_every_syscall(apr_pool_t *pool)
{
    for (int s = 0; s < SCENARIOS; s++) {
        int k = 0, rc = 1, half = 0, leftovers = 0;
        const char *example = NULL;
        while (rc == 1 && k < 500) {
            fixture_t f;
            const char *old = scenario_make(&f, (scenario_t)s, pool);
            const char *name = NULL;
            rc = deploy_killed_at(&f, ++k, &name);
            if (rc != 1)
                break;
            const char *what = apr_psprintf(pool,
                                            "%s, killed before call %d "
                                            "(%s)",
                                            scenario_names[s], k, name);
            check_crashed(live_state(&f, pool), old, &half, what, pool);
            check_recovery(&f, what, &leftovers, &example, pool);
        }
        const char *sn = scenario_names[s];
        is_int(
            rc, 0,
            apr_psprintf(pool, "%s: traced to the end (%d calls)", sn, k - 1));
        ok(k > 20, apr_psprintf(pool,
                                "%s: a deploy is more than 20 "
                                "file-changing calls",
                                sn));
        if (s == FIRST_EMPTY)
            ok(half == 0, apr_psprintf(pool,
                                       "%s: never a key without its "
                                       "certificate (%d crash points)",
                                       sn, half));
        else
            is_int(half, 0, apr_psprintf(pool, "%s: never half a pair", sn));
        ok(leftovers == 0, apr_psprintf(pool,
                                        "%s: no crash point leaves a "
                                        "temporary file (%d do)",
                                        sn, leftovers));
        if (example)
            printf("#   e.g. %s\n", example);
    }
}

int main(void)
{
    apr_pool_t *pool = NULL;
    if (!test_dir_begin(&pool, dir))
        return 1;
    pairs_make(pool);
    test_adopt_nothing(pool);
    test_adopt_files(pool);
    test_adopt_links(pool);
    test_adopt_half(pool);
    test_write(pool);
    test_switch(pool);
    test_prune(pool);
    test_crash_between_steps(pool);
    test_crash_every_syscall(pool);
    apr_pool_destroy(pool);
    test_dir_remove(dir);
    apr_terminate();
    return done_testing();
}
