/* state.h — the state directory: every file expacmectl keeps between runs.
 *
 *   state_dir/                      0700
 *     providers.json                configured providers (no secrets)
 *     providers/<name>/eab.key      EAB HMAC key, 0600
 *     accounts/<provider>/
 *       account.json                url, contact, status (no secrets)
 *       account.key                 0600
 *     certs/<name>/                 one per managed certificate
 *       csr.pem, csr.json           the CSR in progress and its spec
 *       key.pem                     0600
 *       pending.pem                 signed chain staged for deploy
 *       status.json                 Last Sign Status, provider, ...
 *
 * Every write is atomic: temporary file in the same directory, fsync,
 * rename(2), fsync of the directory.  A reader sees the old or the new
 * file, never half of one, whatever happens to the writer. */
#ifndef EXPACME_STATE_H
#define EXPACME_STATE_H

#include <jansson.h>

#include "apr_file_info.h"
#include "apr_pools.h"

#include "base/config.h"
#include "base/json_pool.h"

#define STATE_FILE_MAX (4 * 1024 * 1024)

/* Writes data to path atomically with the given mode. */
apr_status_t state_write_file(const char *path, const void *data,
                              apr_size_t len, apr_fileperms_t mode,
                              const char **err, apr_pool_t *pool);
/* The same, durable as well, written into path.spare's inode when there
 * is one (what state_retire_file or the previous write left) and then
 * traded for path: no inode made or freed once a spare exists.  For a
 * file rewritten every renewal (pending.pem, deployed.json); one writer
 * at a time (the certificate's lock). */
apr_status_t state_write_file_spare(const char *path, const void *data,
                                    apr_size_t len, apr_fileperms_t mode,
                                    const char **err, apr_pool_t *pool);
/* A new file at path (nothing may be there) holding data, written and
 * fsync'd, with no temporary and no rename: for a directory nobody
 * reads yet (a deploy's new generation), whose one state_fsync_dir_of
 * after the last file makes every name in it durable at once.  A write
 * that fails leaves what it made, for the caller to remove with the
 * directory. */
apr_status_t state_create_file(const char *path, const void *data,
                               apr_size_t len, apr_fileperms_t mode,
                               const char **err, apr_pool_t *pool);
/* fsync of the directory holding path: makes a rename there durable. */
apr_status_t state_fsync_dir_of(const char *path, apr_pool_t *pool);

/* Reads a whole file (at most max bytes, NUL-terminated). APR_ENOENT
 * passes through without *err so callers can tell "absent". */
apr_status_t state_read_file(char **out, apr_size_t *len, const char *path,
                             apr_size_t max, const char **err,
                             apr_pool_t *pool);
/* Makes dir and its missing parents (0755 less the umask), dir itself
 * with exactly mode.  An existing dir is never chmod'ed: it is refused
 * (APR_EACCES, *err saying why) when it belongs to someone other than
 * root or us, is writable by others (not only the group) without the
 * sticky bit, or — for a
 * private mode (no group/other bits) — has any group or other bits;
 * anything else than a directory there is APR_ENOTDIR. */
apr_status_t state_make_dir(const char *dir, apr_fileperms_t mode,
                            const char **err, apr_pool_t *pool);
/* As state_make_dir for a directory that is not ours alone (where the
 * status is published): made with mode when missing, but an existing one
 * keeps its mode — it may be /tmp, /dev/shm or a web root. */
apr_status_t state_ensure_dir(const char *dir, apr_fileperms_t mode,
                              const char **err, apr_pool_t *pool);
/* Whether anything is at path, found by opening it rather than with
 * access(2), whose answer is for the real uid and races with the use
 * that follows.  A symlink counts as there without being followed. */
int state_exists(const char *path);
/* Removes path; absent is fine. */
apr_status_t state_remove(const char *path, const char **err, apr_pool_t *pool);
/* Takes path out of view but keeps its inode as path.spare for the next
 * state_write_*_spare of path (one there already: path is removed);
 * absent is fine. */
apr_status_t state_retire_file(const char *path, const char **err,
                               apr_pool_t *pool);

/* JSON files: read (absent → APR_ENOENT, malformed → error naming the
 * file) and atomic write (pretty, sorted keys, mode 0600). The json_t
 * is released with the pool. */
apr_status_t state_read_json(json_t **out, const char *path, const char **err,
                             apr_pool_t *pool);
apr_status_t state_write_json(const char *path, json_t *json, const char **err,
                              apr_pool_t *pool);

/* The same, atomic but not fsynced: for a journal that must outlive a
 * killed helper, which the page cache does, but whose loss in a power
 * cut costs nothing (status.json: what is in flight, last results).  A
 * fleet's renew writes thousands; each fsync costs ms, each new inode
 * more (the text goes into path.spare, then the two trade names).  One
 * writer per file at a time: the caller holds the lock that says so
 * (the certificate's, for status.json); two would unlink each other's
 * spare. */
apr_status_t state_write_json_journal(const char *path, json_t *json,
                                      const char **err, apr_pool_t *pool);
/* state_write_json through path's spare (see state_write_file_spare). */
apr_status_t state_write_json_spare(const char *path, json_t *json,
                                    const char **err, apr_pool_t *pool);
/* Removes a journal file and the spare beside it (path.spare: its
 * previous text, whose inode the next write reuses); absent is fine. */
apr_status_t state_remove_journal(const char *path, const char **err,
                                  apr_pool_t *pool);

/* Paths, creating the directories (0700) on the way. */
apr_status_t state_cert_dir(const char **out, const expacme_config_t *config,
                            const char *cert_name, const char **err,
                            apr_pool_t *pool);
apr_status_t state_account_dir(const char **out, const expacme_config_t *config,
                               const char *provider, const char **err,
                               apr_pool_t *pool);
apr_status_t state_provider_dir(const char **out,
                                const expacme_config_t *config,
                                const char *provider, const char **err,
                                apr_pool_t *pool);

/* One helper at a time per state directory: takes state_dir/lock, waiting
 * up to `wait` for another expacmectl to finish; APR_EBUSY with *err
 * naming its pid otherwise.  Held until the pool goes. */
apr_status_t state_lock(const expacme_config_t *config,
                        apr_interval_time_t wait, const char **err,
                        apr_pool_t *pool);

#endif
