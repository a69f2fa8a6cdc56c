/* deploy_live.c — see deploy_live.h. */
#include "ops/deploy_live.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apr_file_info.h"
#include "apr_strings.h"
#include "apr_time.h"

#include "base/state.h"

static const char *dir_of(const char *path, apr_pool_t *pool)
{
    char *dir = apr_pstrdup(pool, path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return ".";
    if (slash == dir)
        return "/";
    *slash = '\0';
    return dir;
}

void deploy_live_init(deploy_live_t *live, const expacme_cert_conf_t *conf,
                      apr_pool_t *pool)
{
    live->name = conf->name;
    live->cert_file = conf->cert_file;
    live->key_file = conf->key_file;
    live->root = apr_pstrcat(pool, dir_of(conf->cert_file, pool), "/.expacme-",
                             conf->name, NULL);
    /* The second pair is the caller's to set (deploy_live_init_second):
     * most certificates have one. */
    live->cert_file2 = NULL;
    live->key_file2 = NULL;
}

void deploy_live_init_second(deploy_live_t *live,
                             const expacme_cert_conf_t *conf)
{
    live->cert_file2 = conf->cert_file2;
    live->key_file2 = conf->key_file2;
}

static const char *in_root(const deploy_live_t *live, const char *rel,
                           apr_pool_t *pool)
{
    return apr_pstrcat(pool, live->root, "/", rel, NULL);
}

#define OWNER_MAX 4096

apr_status_t deploy_live_claim(const deploy_live_t *live, const char *owner,
                               const char **err, apr_pool_t *pool)
{
    struct stat st;
    apr_status_t rv = APR_SUCCESS;
    /* Made only when missing: a claimed directory is only read (it may
     * sit on a read-only file system until the write step). */
    if (stat(live->root, &st) != 0)
        rv = state_make_dir(live->root, 0755, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    const char *path = in_root(live, "owner", pool);
    char *text = NULL;
    apr_size_t len = 0;
    rv = state_read_file(&text, &len, path, OWNER_MAX, err, pool);
    if (APR_STATUS_IS_ENOENT(rv)) {
        const char *line = apr_pstrcat(pool, owner, "\n", NULL);
        return state_write_file(path, line, strlen(line), 0644, err, pool);
    }
    if (rv != APR_SUCCESS)
        return rv;
    if (len > 0 && text[len - 1] == '\n')
        text[len - 1] = '\0';
    if (strcmp(text, owner) == 0)
        return APR_SUCCESS;
    *err = apr_psprintf(pool,
                        "%s is managed by the state directory %s (%s), not "
                        "by %s: two configurations must not share deployed "
                        "files; give this certificate its own cert_file",
                        live->cert_file, text, path, owner);
    return APR_EEXIST;
}

const char *deploy_live_current(const deploy_live_t *live, apr_pool_t *pool)
{
    char target[PATH_MAX];
    ssize_t n =
        readlink(in_root(live, "current", pool), target, sizeof(target) - 1);
    if (n <= 0)
        return NULL;
    target[n] = '\0';
    return apr_pstrdup(pool, target);
}

static int link_points_to(const char *path, const char *want)
{
    char target[PATH_MAX];
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return strcmp(target, want) == 0;
}

static int points_into_current(const deploy_live_t *live, const char *path,
                               const char *file, apr_pool_t *pool)
{
    return link_points_to(
        path, in_root(live, apr_pstrcat(pool, "current/", file, NULL), pool));
}

static apr_status_t sync_dir_of(const char *path, const char **err,
                                apr_pool_t *pool)
{
    apr_status_t rv = state_fsync_dir_of(path, pool);
    if (rv != APR_SUCCESS)
        *err = apr_psprintf(pool, "cannot sync the directory of %s: %s", path,
                            strerror(rv));
    return rv;
}

/* Replaces whatever is at path by a symlink to target, in one rename;
 * durable unless the caller syncs the directory itself (sync 0). */
static apr_status_t link_replace_as(const char *path, const char *target,
                                    int sync, const char **err,
                                    apr_pool_t *pool)
{
    const char *tmp =
        apr_psprintf(pool, "%s.expacme-tmp.%ld", path, (long)getpid());
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        *err = apr_psprintf(pool, "cannot link %s: %s", path, strerror(saved));
        return saved;
    }
    return sync ? sync_dir_of(path, err, pool) : APR_SUCCESS;
}

static apr_status_t link_replace(const char *path, const char *target,
                                 const char **err, apr_pool_t *pool)
{
    return link_replace_as(path, target, 1, err, pool);
}

/* The key's and the certificate's live paths through `current` (those
 * not yet so), with one fsync for a directory holding both. */
static apr_status_t pair_through_current(const char *key_file,
                                         const char *key_target,
                                         const char *cert_file,
                                         const char *cert_target,
                                         const char **err, apr_pool_t *pool)
{
    int same_dir = strcmp(dir_of(key_file, pool), dir_of(cert_file, pool)) == 0;
    int key_moves = !link_points_to(key_file, key_target);
    int cert_moves = !link_points_to(cert_file, cert_target);
    apr_status_t rv = APR_SUCCESS;
    /* The key's directory is synced with the certificate's when it is
     * the same and the certificate's link follows. */
    if (key_moves)
        rv = link_replace_as(key_file, key_target, !same_dir || !cert_moves,
                             err, pool);
    if (rv == APR_SUCCESS && cert_moves)
        rv = link_replace_as(cert_file, cert_target, 1, err, pool);
    return rv;
}

static const char *new_gen_name(apr_pool_t *pool)
{
    return apr_psprintf(pool, "gen-%" APR_TIME_T_FMT, apr_time_now());
}

/* A new, empty generation directory (0700): *gen its name, *dir its
 * path. */
static void remove_generation(const char *d, apr_pool_t *pool);

static apr_status_t new_generation(const char **gen, const char **dir,
                                   const deploy_live_t *live, const char **err,
                                   apr_pool_t *pool)
{
    *dir = NULL;
    apr_status_t rv = state_make_dir(live->root, 0755, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    /* A directory of its own, never one already there: a clock set back
     * could name the live generation.  *gen and *dir only once made. */
    for (int attempt = 0; attempt < 8; attempt++) {
        const char *name = new_gen_name(pool);
        if (attempt > 0)
            name = apr_psprintf(pool, "%s-%d", name, attempt);
        const char *path = in_root(live, name, pool);
        if (mkdir(path, 0700) == 0) {
            *gen = name;
            *dir = path;
            return APR_SUCCESS;
        }
        if (errno != EEXIST) {
            int saved = errno;
            *err = apr_psprintf(pool, "cannot create %s: %s", path,
                                strerror(saved));
            return saved;
        }
    }
    *err = apr_psprintf(pool, "cannot find a free generation name in %s",
                        live->root);
    return APR_EEXIST;
}

/* The pair as files of a generation nobody reads until `current` names
 * it: written in place, their names made durable by one fsync of the
 * directory (a helper killed half-way leaves a generation the next
 * deploy prunes). */
static apr_status_t write_pair(const char *dir, const char *key_name,
                               const char *cert_name, const char *chain,
                               apr_size_t chain_len, const char *key,
                               apr_size_t key_len, const char **err,
                               apr_pool_t *pool)
{
    const char *cert = apr_pstrcat(pool, dir, "/", cert_name, NULL);
    apr_status_t rv =
        state_create_file(apr_pstrcat(pool, dir, "/", key_name, NULL), key,
                          key_len, 0600, err, pool);
    if (rv == APR_SUCCESS)
        rv = state_create_file(cert, chain, chain_len, 0644, err, pool);
    if (rv == APR_SUCCESS && (rv = state_fsync_dir_of(cert, pool)) != 0)
        *err = apr_psprintf(pool, "cannot sync %s: %s", dir, strerror(rv));
    return rv;
}

apr_status_t deploy_live_write(const char **gen, const deploy_live_t *live,
                               const char *chain, apr_size_t chain_len,
                               const char *key, apr_size_t key_len,
                               const char **err, apr_pool_t *pool)
{
    const char *dir = NULL;
    apr_status_t rv = new_generation(gen, &dir, live, err, pool);
    if (rv == APR_SUCCESS)
        rv = write_pair(dir, "key.pem", "cert.pem", chain, chain_len, key,
                        key_len, err, pool);
    /* No half-written generation is named to the caller: a roll-back
     * keeps the one it is given as the old. */
    if (rv != APR_SUCCESS && dir != NULL)
        remove_generation(dir, pool);
    if (rv != APR_SUCCESS)
        *gen = NULL;
    return rv;
}

apr_status_t deploy_live_write_second(const deploy_live_t *live,
                                      const char *gen, const char *chain,
                                      apr_size_t chain_len, const char *key,
                                      apr_size_t key_len, const char **err,
                                      apr_pool_t *pool)
{
    return write_pair(in_root(live, gen, pool), "key2.pem", "cert2.pem", chain,
                      chain_len, key, key_len, err, pool);
}

/* A live path that does not exist yet is linked before `current` is:
 * the dangling link is as good as absent, and the rename of `current`
 * that follows makes both files appear at once — so a first deploy
 * killed half-way never leaves a key without its certificate. */
static apr_status_t link_if_absent(const char *path, const char *target,
                                   const char **err, apr_pool_t *pool)
{
    struct stat st;
    if (lstat(path, &st) == 0 || errno != ENOENT)
        return APR_SUCCESS;
    return link_replace(path, target, err, pool);
}

/* The second pair's live paths point through `current` too, when the
 * generation has one (a generation adopted from a single pair has not:
 * those links then dangle until the first deploy of both). */
static apr_status_t second_links(const deploy_live_t *live, const char *gen,
                                 const char **err, apr_pool_t *pool)
{
    if (live->cert_file2 == NULL || live->key_file2 == NULL)
        return APR_SUCCESS;
    (void)gen;
    return pair_through_current(
        live->key_file2, in_root(live, "current/key2.pem", pool),
        live->cert_file2, in_root(live, "current/cert2.pem", pool), err, pool);
}

apr_status_t deploy_live_switch(const deploy_live_t *live, const char *gen,
                                const char **err, apr_pool_t *pool)
{
    if (gen == NULL) {
        unlink(live->cert_file);
        unlink(live->key_file);
        if (live->cert_file2 != NULL) {
            unlink(live->cert_file2);
            unlink(live->key_file2);
        }
        unlink(in_root(live, "current", pool));
        return APR_SUCCESS;
    }
    const char *cert_target = in_root(live, "current/cert.pem", pool);
    const char *key_target = in_root(live, "current/key.pem", pool);
    apr_status_t rv = link_if_absent(live->cert_file, cert_target, err, pool);
    if (rv == APR_SUCCESS)
        rv = link_if_absent(live->key_file, key_target, err, pool);
    if (rv == APR_SUCCESS)
        rv = second_links(live, gen, err, pool);
    if (rv == APR_SUCCESS)
        rv = link_replace(in_root(live, "current", pool), gen, err, pool);
    /* Idempotent: only an adopted pair (or a hand-edited layout) finds the
     * live paths not yet pointing through `current`. */
    if (rv == APR_SUCCESS)
        rv = pair_through_current(live->key_file, key_target, live->cert_file,
                                  cert_target, err, pool);
    return rv;
}

/* Empties and removes one generation directory, temporaries of a helper
 * killed while writing it included. */
static void remove_generation(const char *d, apr_pool_t *pool)
{
    apr_dir_t *dir = NULL;
    apr_finfo_t fi;
    if (apr_dir_open(&dir, d, pool) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) ==
               APR_SUCCESS) {
            if (fi.filetype == APR_REG || fi.filetype == APR_LNK)
                unlink(apr_pstrcat(pool, d, "/", fi.name, NULL));
        }
        apr_dir_close(dir);
    }
    rmdir(d);
}

/* A live file opened without following a symlink, when it can join the
 * adopted generation as it is: a plain file of ours with no other name
 * and (a key) readable by its owner alone; else -1.  One on another file
 * system than the generations is found by the link. */
static int linkable_open(const char *path, int is_key)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        st.st_uid != geteuid() || (is_key && (st.st_mode & 077) != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The inode fd is open on, given the name dst: what was checked is what
 * is linked, whatever the live name points to by now. */
static int link_open_file(int fd, const char *dst)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW);
}

/* The live pair given second names in a new generation (*gen): no
 * copy, no new file, and the files the live names stop naming are not
 * freed.  0: not this pair (the caller copies it), nothing left behind. */
static int adopt_by_link(const char **gen, const deploy_live_t *live,
                         apr_pool_t *pool)
{
    int cert_fd = linkable_open(live->cert_file, 0);
    int key_fd = cert_fd >= 0 ? linkable_open(live->key_file, 1) : -1;
    int linked = 0;
    const char *name = NULL, *dir = NULL, *err = NULL;
    if (key_fd >= 0 &&
        new_generation(&name, &dir, live, &err, pool) == APR_SUCCESS) {
        const char *key = apr_pstrcat(pool, dir, "/key.pem", NULL);
        linked = link_open_file(key_fd, key) == 0 &&
                 link_open_file(
                     cert_fd, apr_pstrcat(pool, dir, "/cert.pem", NULL)) == 0 &&
                 state_fsync_dir_of(key, pool) == APR_SUCCESS;
        if (!linked)
            remove_generation(dir, pool);
    }
    if (cert_fd >= 0)
        close(cert_fd);
    if (key_fd >= 0)
        close(key_fd);
    if (linked)
        *gen = name;
    return linked;
}

/* The live pair read and written again as a new generation. */
static apr_status_t adopt_by_copy(const char **gen, const deploy_live_t *live,
                                  const char **err, apr_pool_t *pool)
{
    char *chain = NULL, *key = NULL;
    apr_size_t chain_len = 0, key_len = 0;
    apr_status_t rv = state_read_file(&chain, &chain_len, live->cert_file,
                                      STATE_FILE_MAX, err, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return APR_SUCCESS; /* nothing live yet: nothing to keep */
    if (rv == APR_SUCCESS)
        rv = state_read_file(&key, &key_len, live->key_file, STATE_FILE_MAX,
                             err, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        *err = apr_psprintf(pool,
                            "%s exists but %s does not: put the key "
                            "that belongs to it there, or remove both",
                            live->cert_file, live->key_file);
    if (rv == APR_SUCCESS)
        rv = deploy_live_write(gen, live, chain, chain_len, key, key_len, err,
                               pool);
    if (key != NULL)
        memset(key, 0, key_len);
    return rv;
}

apr_status_t deploy_live_adopt(const char **gen, const deploy_live_t *live,
                               const char **err, apr_pool_t *pool)
{
    *gen = NULL;
    if (points_into_current(live, live->cert_file, "cert.pem", pool) &&
        points_into_current(live, live->key_file, "key.pem", pool)) {
        *gen = deploy_live_current(live, pool);
        return APR_SUCCESS;
    }
    apr_status_t rv = adopt_by_link(gen, live, pool)
                          ? APR_SUCCESS
                          : adopt_by_copy(gen, live, err, pool);
    /* The same bytes as before, now reached through `current`: the new
     * generation then comes with one rename, and a reload in between
     * never finds the new key beside the old certificate. */
    if (rv == APR_SUCCESS && *gen != NULL)
        rv = deploy_live_switch(live, *gen, err, pool);
    return rv;
}

/* "<name>.expacme-tmp.<pid>" links a killed helper left in dir: one
 * helper at a time works on a certificate, so none is still in use. */
static void remove_stale_links(const char *dir, const char *name,
                               apr_pool_t *pool)
{
    const char *prefix = apr_pstrcat(pool, name, ".expacme-tmp.", NULL);
    apr_dir_t *d = NULL;
    apr_finfo_t fi;
    if (apr_dir_open(&d, dir, pool) != APR_SUCCESS)
        return;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) ==
           APR_SUCCESS) {
        if (fi.filetype == APR_LNK &&
            strncmp(fi.name, prefix, strlen(prefix)) == 0)
            unlink(apr_pstrcat(pool, dir, "/", fi.name, NULL));
    }
    apr_dir_close(d);
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

void deploy_live_prune_generations(const deploy_live_t *live, const char *keep,
                                   const char *keep_too, apr_pool_t *pool)
{
    apr_dir_t *dir = NULL;
    apr_finfo_t fi;
    if (apr_dir_open(&dir, live->root, pool) != APR_SUCCESS)
        return;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) ==
           APR_SUCCESS) {
        if (fi.filetype != APR_DIR || strncmp(fi.name, "gen-", 4) != 0 ||
            (keep && strcmp(fi.name, keep) == 0) ||
            (keep_too && strcmp(fi.name, keep_too) == 0))
            continue;
        remove_generation(in_root(live, fi.name, pool), pool);
    }
    apr_dir_close(dir);
    remove_stale_links(live->root, "current", pool);
}

void deploy_live_prune(const deploy_live_t *live, const char *keep,
                       const char *keep_too, apr_pool_t *pool)
{
    deploy_live_prune_generations(live, keep, keep_too, pool);
    remove_stale_links(dir_of(live->cert_file, pool), base_of(live->cert_file),
                       pool);
    remove_stale_links(dir_of(live->key_file, pool), base_of(live->key_file),
                       pool);
}
