/* state.c — atomic files and the layout of the state directory (see
 * state.h). */
#include "base/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/fs.h> /* RENAME_EXCHANGE */

#include "apr_file_io.h"
#include "apr_strings.h"
#include "apr_portable.h"
#include "apr_time.h"

#include "file_lock.h"

static const char *sys_error(apr_pool_t *pool, const char *what,
                             const char *path, int error)
{
    return apr_psprintf(pool, "%s %s: %s", what, path, strerror(error));
}

apr_status_t state_fsync_dir_of(const char *path, apr_pool_t *pool)
{
    char *dir = apr_pstrdup(pool, path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        dir = ".";
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    return rc == 0 ? APR_SUCCESS : saved;
}

static apr_status_t write_all(int fd, const void *data, apr_size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        p += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

/* Temporaries are unique per process and call: the threads of a renew
 * run write files side by side. */
static atomic_uint tmp_serial;

static apr_status_t write_file(const char *path, const void *data,
                               apr_size_t len, apr_fileperms_t mode, int sync,
                               const char **err, apr_pool_t *pool)
{
    const char *tmp = apr_psprintf(pool, "%s.tmp.%ld.%u", path, (long)getpid(),
                                   atomic_fetch_add(&tmp_serial, 1));
    /* Always a new file of ours: whatever sits at tmp (left by a killed
     * run, or put there by someone else) is removed, never written into. */
    unlink(tmp);
    int fd =
        open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        *err = sys_error(pool, "cannot create", tmp, errno);
        return errno;
    }
    apr_status_t rv = APR_SUCCESS;
    /* 0600 from creation; widen only after the content is in place. */
    if (fchmod(fd, (mode_t)(mode & 0777)) != 0)
        rv = errno;
    if (rv == APR_SUCCESS)
        rv = write_all(fd, data, len);
    if (rv == APR_SUCCESS && sync && fsync(fd) != 0)
        rv = errno;
    if (close(fd) != 0 && rv == APR_SUCCESS)
        rv = errno;
    if (rv == APR_SUCCESS && rename(tmp, path) != 0)
        rv = errno;
    if (rv != APR_SUCCESS) {
        *err = sys_error(pool, "cannot write", path, rv);
        unlink(tmp);
        return rv;
    }
    if (!sync)
        return APR_SUCCESS;
    rv = state_fsync_dir_of(path, pool);
    if (rv != APR_SUCCESS)
        *err = sys_error(pool, "cannot sync the directory of", path, rv);
    return rv;
}

apr_status_t state_create_file(const char *path, const void *data,
                               apr_size_t len, apr_fileperms_t mode,
                               const char **err, apr_pool_t *pool)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int saved = errno;
        *err = sys_error(pool, "cannot create", path, saved);
        return saved;
    }
    /* 0600 from creation; widen only after the content is in place. */
    apr_status_t rv = write_all(fd, data, len);
    if (rv == APR_SUCCESS && fchmod(fd, (mode_t)(mode & 0777)) != 0)
        rv = errno;
    if (rv == APR_SUCCESS && fsync(fd) != 0)
        rv = errno;
    if (close(fd) != 0 && rv == APR_SUCCESS)
        rv = errno;
    /* A part written stays for the caller to remove with its directory:
     * path named again here could lead elsewhere by now. */
    if (rv != APR_SUCCESS)
        *err = sys_error(pool, "cannot write", path, rv);
    return rv;
}

/* The spare of a journal file: its previous text, kept so that the next
 * write reuses the inode rather than making one (spare_write). */
static const char *spare_of(const char *path, apr_pool_t *pool)
{
    return apr_pstrcat(pool, path, ".spare", NULL);
}

/* The spare opened for rewriting and locked: a regular file of ours
 * with one link, or else a new one (what else sits there is removed,
 * never written into).  -1 with errno EWOULDBLOCK when another holds
 * its lock (a reader that opened it before it was traded away, or a
 * second writer of the same path, which `status` can be), EEXIST when
 * another writer made one just now, else the error.  It is cut to the
 * new text's length after the write, not emptied before: ext4 flushes a
 * file truncated to nothing when it is closed, a write to the disk for
 * each of a fleet's thousands of journal entries. */
static int spare_open(const char *spare)
{
    int fd = open(spare, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd >= 0) {
        struct stat st;
        int ours = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                   st.st_uid == geteuid() && st.st_nlink == 1;
        if (ours && flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        close(fd);
        if (ours) {
            errno = EWOULDBLOCK;
            return -1;
        }
    }
    unlink(spare);
    fd =
        open(spare, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        errno = EWOULDBLOCK;
        return -1;
    }
    return fd;
}

/* A file rewritten without a new inode: the text goes into the spare,
 * which then trades names with path in one atomic exchange, so that a
 * reader sees the old file or the new one, whole.  The spare's lock is
 * held from before the write until after the exchange: a reader that
 * opened it before it was traded away, or a second writer, makes this
 * write fall back to a file of its own (write_file).  A fleet's renew
 * rewrites status.json a dozen times per certificate; a rename over it
 * frees an inode each time, and on ext4 without a journal every new
 * inode is then found only past each one freed in the last minute or
 * more, a cost that grows with the fleet.  The first write makes the
 * spare; on a file system without RENAME_EXCHANGE each write makes one
 * and renames it over path, as write_file does.  sync: the text and the
 * names on disk before the return, as write_file's. */
static apr_status_t spare_write(const char *path, const void *data,
                                apr_size_t len, apr_fileperms_t mode, int sync,
                                const char **err, apr_pool_t *pool)
{
    const char *spare = spare_of(path, pool);
    int fd = spare_open(spare);
    if (fd < 0 && (errno == EWOULDBLOCK || errno == EEXIST))
        return write_file(path, data, len, mode, sync, err, pool);
    if (fd < 0) {
        int saved = errno;
        *err = sys_error(pool, "cannot create", spare, saved);
        return saved;
    }
    apr_status_t rv = write_all(fd, data, len);
    if (rv == APR_SUCCESS && ftruncate(fd, (off_t)len) != 0)
        rv = errno;
    /* Made 0600; a spare may hold another mode from before. */
    if (rv == APR_SUCCESS && fchmod(fd, (mode_t)(mode & 0777)) != 0)
        rv = errno;
    if (rv == APR_SUCCESS && sync && fsync(fd) != 0)
        rv = errno;
    if (rv == APR_SUCCESS && syscall(SYS_renameat2, AT_FDCWD, spare, AT_FDCWD,
                                     path, RENAME_EXCHANGE) != 0) {
        /* No exchange here (or no path yet): the spare becomes path. */
        rv = rename(spare, path) == 0 ? APR_SUCCESS : errno;
    }
    if (close(fd) != 0 && rv == APR_SUCCESS)
        rv = errno;
    if (rv != APR_SUCCESS) {
        *err = sys_error(pool, "cannot write", path, rv);
        unlink(spare);
        return rv;
    }
    if (sync && (rv = state_fsync_dir_of(path, pool)) != APR_SUCCESS)
        *err = sys_error(pool, "cannot sync the directory of", path, rv);
    return rv;
}

apr_status_t state_write_file(const char *path, const void *data,
                              apr_size_t len, apr_fileperms_t mode,
                              const char **err, apr_pool_t *pool)
{
    return write_file(path, data, len, mode, 1, err, pool);
}

apr_status_t state_write_file_spare(const char *path, const void *data,
                                    apr_size_t len, apr_fileperms_t mode,
                                    const char **err, apr_pool_t *pool)
{
    return spare_write(path, data, len, mode, 1, err, pool);
}

/* A shared lock while a file is read: waits out a writer rewriting this
 * inode as a spare (microseconds), at most about 1 s for one that is
 * stopped, then reads anyway. */
static void read_lock(apr_file_t *file)
{
    apr_os_file_t fd = -1;
    struct stat st;
    if (apr_os_file_get(&fd, file) != APR_SUCCESS ||
        flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK)
        return;
    /* Only our own private files are rewritten through a spare and read
     * back: a lock on a file others can open (a CA bundle, a live pair
     * before adoption, a generations directory's owner file; flock(2)
     * needs no write access) is not waited for, or any local user could
     * stall every read. */
    if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
        (st.st_mode & 077) == 0)
        file_lock_shared_wait(fd, 1000);
}

/* Locked: the file may be one rewritten through its spare. */
apr_status_t state_read_file(char **out, apr_size_t *len, const char *path,
                             apr_size_t max, const char **err, apr_pool_t *pool)
{
    apr_file_t *file = NULL;
    apr_finfo_t finfo;
    char buf[120];
    *out = NULL;
    /* NONBLOCK: a FIFO in a state file's place must not hang the helper
     * (and so the lock, and every later run) in open(2); the type check
     * below refuses it. */
    apr_status_t rv = apr_file_open(
        &file, path, APR_FOPEN_READ | APR_FOPEN_NONBLOCK, 0, pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return rv;
    if (rv == APR_SUCCESS)
        read_lock(file);
    if (rv == APR_SUCCESS)
        rv = apr_file_info_get(&finfo, APR_FINFO_SIZE | APR_FINFO_TYPE, file);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(pool, "cannot read %s: %s", path,
                            apr_strerror(rv, buf, sizeof(buf)));
        if (file != NULL)
            apr_file_close(file);
        return rv;
    }
    if (finfo.filetype != APR_REG || finfo.size > (apr_off_t)max) {
        apr_file_close(file);
        *err = apr_psprintf(pool,
                            "%s: not a regular file of at most %lu "
                            "bytes",
                            path, (unsigned long)max);
        return APR_EINVAL;
    }
    char *data = apr_palloc(pool, (apr_size_t)finfo.size + 1);
    apr_size_t got = 0;
    rv = apr_file_read_full(file, data, (apr_size_t)finfo.size, &got);
    apr_file_close(file);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EOF(rv)) {
        *err = apr_psprintf(pool, "cannot read %s: %s", path,
                            apr_strerror(rv, buf, sizeof(buf)));
        return rv;
    }
    data[got] = '\0';
    *out = data;
    *len = got;
    return APR_SUCCESS;
}

/* Why an existing directory cannot be used, or NULL.  It is used as it
 * is, never chmod'ed: it may be /tmp or /dev/shm, shared by the machine.
 * A private mode asked (no group or other bits: keys live below) refuses
 * a wider directory rather than tightening what someone else made. */
static const char *dir_unsuitable(const struct stat *st, mode_t want,
                                  apr_pool_t *pool)
{
    if (!S_ISDIR(st->st_mode))
        return "exists and is not a directory";
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return apr_psprintf(pool, "belongs to uid %ld, neither root nor us",
                            (long)st->st_uid);
    /* Group-writable is the admin's choice (a web root 2775); writable
     * by anyone without the sticky bit lets anyone swap our files. */
    if ((st->st_mode & S_IWOTH) != 0 && (st->st_mode & S_ISVTX) == 0)
        return "is writable by others without the sticky bit";
    if ((want & 077) == 0 && (st->st_mode & 077) != 0)
        return apr_psprintf(pool,
                            "has mode %04o, wider than the %04o expacmectl "
                            "keeps private files in (chmod %04o it)",
                            (unsigned)(st->st_mode & 07777), (unsigned)want,
                            (unsigned)want);
    return NULL;
}

/* Creates one directory; an existing one only has to be a directory. */
static apr_status_t make_parent(const char *path, const char *dir,
                                const char **err, apr_pool_t *pool)
{
    struct stat st;
    if (mkdir(path, 0755) == 0)
        return APR_SUCCESS;
    if (errno != EEXIST) {
        *err = sys_error(pool, "cannot create", path, errno);
        return errno;
    }
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        *err = apr_psprintf(pool, "cannot create %s: %s is not a directory",
                            dir, path);
        return APR_ENOTDIR;
    }
    return APR_SUCCESS;
}

/* The directory we just made gets exactly `mode`, whatever the umask;
 * through a descriptor opened without following a symlink, so a swap
 * after mkdir cannot redirect the chmod. */
static apr_status_t set_own_mode(const char *path, mode_t mode,
                                 const char **err, apr_pool_t *pool)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchmod(fd, mode) != 0) {
        int saved = errno;
        *err = sys_error(pool, "cannot chmod", path, saved);
        if (fd >= 0)
            close(fd);
        return saved;
    }
    close(fd);
    return APR_SUCCESS;
}

apr_status_t state_make_dir(const char *dir, apr_fileperms_t mode,
                            const char **err, apr_pool_t *pool)
{
    char *path = apr_pstrdup(pool, dir);
    mode_t want = (mode_t)(mode & 0777);
    struct stat st = {0};
    /* Looked at before any mkdir(2), and the parents walked only when one
     * is missing: a mkdir of a directory that exists locks its parent,
     * and a fleet's threads make and use their directories side by side
     * (each deploy's generations directory, for one, in the live files'
     * directory). */
    int made = 0;
    if (stat(path, &st) == 0)
        errno = EEXIST;
    else
        made = mkdir(path, want) == 0;
    if (!made && errno == ENOENT) {
        for (char *p = path + 1; *p; p++) {
            if (*p != '/')
                continue;
            *p = '\0';
            apr_status_t rv = make_parent(path, dir, err, pool);
            if (rv != APR_SUCCESS)
                return rv;
            *p = '/';
        }
        made = mkdir(path, want) == 0;
    }
    if (made)
        return set_own_mode(path, want, err, pool);
    if (errno != EEXIST) {
        *err = sys_error(pool, "cannot create", path, errno);
        return errno;
    }
    const char *why = stat(path, &st) != 0 ? strerror(errno)
                                           : dir_unsuitable(&st, want, pool);
    if (why == NULL)
        return APR_SUCCESS;
    *err = apr_psprintf(pool, "cannot use directory %s: %s", path, why);
    return S_ISDIR(st.st_mode) ? APR_EACCES : APR_ENOTDIR;
}

apr_status_t state_ensure_dir(const char *dir, apr_fileperms_t mode,
                              const char **err, apr_pool_t *pool)
{
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return APR_SUCCESS;
    return state_make_dir(dir, mode, err, pool);
}

int state_exists(const char *path)
{
    /* O_NONBLOCK: a FIFO someone left there must not hang the check. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    /* EACCES, ELOOP (a symlink), ...: something is there. */
    return errno != ENOENT && errno != ENOTDIR;
}

apr_status_t state_remove(const char *path, const char **err, apr_pool_t *pool)
{
    if (unlink(path) != 0 && errno != ENOENT) {
        *err = sys_error(pool, "cannot remove", path, errno);
        return errno;
    }
    return APR_SUCCESS;
}

apr_status_t state_retire_file(const char *path, const char **err,
                               apr_pool_t *pool)
{
    const char *spare = spare_of(path, pool);
    struct stat st;
    /* One spare is enough: with one there already, path just goes. */
    if (lstat(spare, &st) != 0 && errno == ENOENT && rename(path, spare) == 0)
        return APR_SUCCESS;
    return state_remove(path, err, pool);
}

apr_status_t state_remove_journal(const char *path, const char **err,
                                  apr_pool_t *pool)
{
    apr_status_t rv = state_remove(path, err, pool);
    if (rv == APR_SUCCESS)
        rv = state_remove(spare_of(path, pool), err, pool);
    return rv;
}

apr_status_t state_read_json(json_t **out, const char *path, const char **err,
                             apr_pool_t *pool)
{
    char *data = NULL;
    apr_size_t len = 0;
    struct stat st;
    *out = NULL;
    /* Only the helper writes state files, never as symlinks: one there is
     * not ours, and its target's text would end up in the (published)
     * parse error. */
    if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
        *err = apr_psprintf(pool, "%s: a symlink, not a state file", path);
        return APR_EINVAL;
    }
    apr_status_t rv =
        state_read_file(&data, &len, path, STATE_FILE_MAX, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    json_error_t jerr;
    json_t *json = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (json == NULL || !json_is_object(json)) {
        json_decref(json);
        *err = apr_psprintf(pool, "%s: malformed: %s", path,
                            json ? "not an object" : jerr.text);
        return APR_EINVAL;
    }
    *out = json_pool_bind(json, pool);
    return APR_SUCCESS;
}

/* The JSON as the state files hold it (pretty, sorted keys, a final
 * newline), in pool; NULL with *err when it cannot be serialised. */
static const char *json_text(const char *path, json_t *json, const char **err,
                             apr_pool_t *pool)
{
    char *text = json_dumps(json, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL) {
        *err = apr_psprintf(pool, "cannot serialise %s", path);
        return NULL;
    }
    const char *copy = apr_pstrcat(pool, text, "\n", NULL);
    free(text);
    return copy;
}

apr_status_t state_write_json(const char *path, json_t *json, const char **err,
                              apr_pool_t *pool)
{
    const char *text = json_text(path, json, err, pool);
    return text ? write_file(path, text, strlen(text), 0600, 1, err, pool)
                : APR_ENOMEM;
}

apr_status_t state_write_json_journal(const char *path, json_t *json,
                                      const char **err, apr_pool_t *pool)
{
    const char *text = json_text(path, json, err, pool);
    return text ? spare_write(path, text, strlen(text), 0600, 0, err, pool)
                : APR_ENOMEM;
}

apr_status_t state_write_json_spare(const char *path, json_t *json,
                                    const char **err, apr_pool_t *pool)
{
    const char *text = json_text(path, json, err, pool);
    return text ? spare_write(path, text, strlen(text), 0600, 1, err, pool)
                : APR_ENOMEM;
}

/* 1 when dir is a directory with exactly mode: nothing to make or fix.
 * renew and status open a thousand certificates' directories a run. */
static int dir_ready(const char *dir, apr_fileperms_t mode)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
           (st.st_mode & 0777) == (mode_t)(mode & 0777);
}

static apr_status_t sub_dir(const char **out, const expacme_config_t *config,
                            const char *kind, const char *name,
                            const char **err, apr_pool_t *pool)
{
    *out = NULL;
    const char *ready =
        apr_pstrcat(pool, config->state_dir, "/", kind, "/", name, NULL);
    if (dir_ready(config->state_dir, 0700) && dir_ready(ready, 0700)) {
        *out = ready;
        return APR_SUCCESS;
    }
    apr_status_t rv = state_make_dir(config->state_dir, 0700, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    const char *parent = apr_pstrcat(pool, config->state_dir, "/", kind, NULL);
    rv = state_make_dir(parent, 0700, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    /* Names come from the config parser or the command line: both only
     * allow [A-Za-z0-9._-] without a leading dot, so no traversal. */
    const char *dir = apr_pstrcat(pool, parent, "/", name, NULL);
    rv = state_make_dir(dir, 0700, err, pool);
    *out = rv == APR_SUCCESS ? dir : NULL;
    return rv;
}

apr_status_t state_cert_dir(const char **out, const expacme_config_t *config,
                            const char *cert_name, const char **err,
                            apr_pool_t *pool)
{
    return sub_dir(out, config, "certs", cert_name, err, pool);
}

apr_status_t state_account_dir(const char **out, const expacme_config_t *config,
                               const char *provider, const char **err,
                               apr_pool_t *pool)
{
    return sub_dir(out, config, "accounts", provider, err, pool);
}

apr_status_t state_provider_dir(const char **out,
                                const expacme_config_t *config,
                                const char *provider, const char **err,
                                apr_pool_t *pool)
{
    return sub_dir(out, config, "providers", provider, err, pool);
}

static apr_status_t close_fd(void *data)
{
    close((int)(intptr_t)data);
    return APR_SUCCESS;
}

apr_status_t state_lock(const expacme_config_t *config,
                        apr_interval_time_t wait, const char **err,
                        apr_pool_t *pool)
{
    apr_status_t rv = state_make_dir(config->state_dir, 0700, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    const char *path = apr_pstrcat(pool, config->state_dir, "/lock", NULL);
    /* NOFOLLOW: the pid written below would truncate a symlink's target. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        *err = sys_error(pool, "cannot open", path, errno);
        return errno;
    }
    apr_time_t deadline = apr_time_now() + wait;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK || apr_time_now() >= deadline) {
            char holder[32] = "";
            ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
            holder[n > 0 ? n : 0] = '\0';
            close(fd);
            *err = apr_psprintf(pool,
                                "busy: another expacmectl (pid %s) "
                                "is working in %s; try again when it is "
                                "done",
                                *holder ? holder : "?", config->state_dir);
            return APR_EBUSY;
        }
        apr_sleep(apr_time_from_msec(50));
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) < 0)
        len = 0; /* the pid is only a hint for the busy message */
    apr_pool_cleanup_register(pool, (void *)(intptr_t)fd, close_fd,
                              apr_pool_cleanup_null);
    return APR_SUCCESS;
}
