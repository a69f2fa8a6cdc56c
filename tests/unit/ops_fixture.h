/* ops_fixture.h — what the unit tests of operations (helper/ops/) share:
 * a configuration loaded from a file written into a temporary directory,
 * an ops_ctx_t built by hand around it (clock and progress NULL), file
 * inspection, JSON paths, and processes that are dead or alive on
 * purpose.  static inline: each test uses only some of it. */
#ifndef EXPACME_OPS_FIXTURE_H
#define EXPACME_OPS_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "apr_pools.h"
#include "apr_strings.h"

#include "base/config.h"
#include "base/state.h"
#include "ops/ops.h"

/* Writes text to path and loads it as expacme.conf; NULL (and a TAP
 * comment saying why) when it does not load. */
static inline expacme_config_t *
ops_fixture_config(apr_pool_t *pool, const char *path, const char *text)
{
    expacme_config_t *config = NULL;
    const char *err = NULL;
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        printf("# cannot write %s\n", path);
        return NULL;
    }
    if (config_load(&config, &err, path, pool) != APR_SUCCESS)
        printf("# %s: %s\n", path, err ? err : "(no error text)");
    return config;
}

static inline void ops_fixture_ctx(ops_ctx_t *ctx, apr_pool_t *pool,
                                   const expacme_config_t *config)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->pool = pool;
    ctx->config = config;
}

/* A deploy test's case in dir (made here, with dir/live): state and
 * store inside it, the server pair under dir/live, configtest /bin/true
 * and a graceful that makes marker. */
static inline expacme_config_t *
ops_fixture_deploy_config(apr_pool_t *pool, const char *dir, const char *marker)
{
    mkdir(dir, 0700);
    mkdir(apr_pstrcat(pool, dir, "/live", NULL), 0755);
    const char *text =
        apr_psprintf(pool,
                     "state_dir = %s/state\nchallenge_store = shm:%s/run/ch\n"
                     "https_address = 127.0.0.1:1\n"
                     "configtest_command = /bin/true\n"
                     "graceful_command = /usr/bin/touch %s\n"
                     "[cert server]\ncert_file = %s/live/server.pem\n"
                     "key_file = %s/live/server.key\n",
                     dir, dir, marker, dir, dir);
    return ops_fixture_config(
        pool, apr_pstrcat(pool, dir, "/expacme.conf", NULL), text);
}

/* Permission bits of path (not following a symlink), or -1. */
/* A deploy case of its own below top (top/case-N, N counted by the
 * caller): its directory, the marker its graceful_command makes, its
 * configuration and context.  0 when the configuration cannot be made. */
typedef struct {
    const char *dir;
    const char *marker;
    const expacme_config_t *config;
    ops_ctx_t ctx;
} ops_fixture_case_t;

static inline int ops_fixture_case(ops_fixture_case_t *c, apr_pool_t *pool,
                                   const char *top, int *count)
{
    memset(c, 0, sizeof(*c));
    c->dir = apr_psprintf(pool, "%s/case-%d", top, ++*count);
    c->marker = apr_pstrcat(pool, c->dir, "/graceful-ran", NULL);
    c->config = ops_fixture_deploy_config(pool, c->dir, c->marker);
    if (c->config == NULL)
        return 0;
    ops_fixture_ctx(&c->ctx, pool, c->config);
    return 1;
}

static inline int ops_fixture_mode(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static inline int ops_fixture_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The whole file, NUL-terminated, or NULL; *len its length. */
static inline const char *ops_fixture_slurp(apr_pool_t *pool, const char *path,
                                            apr_size_t *len)
{
    char *data = NULL;
    apr_size_t n = 0;
    const char *err = NULL;
    if (state_read_file(&data, &n, path, STATE_FILE_MAX, &err, pool) !=
        APR_SUCCESS)
        return NULL;
    if (len != NULL)
        *len = n;
    return data;
}

/* The member at a dotted path ("last_sign.problem.subproblems.1.type",
 * numbers index arrays), or NULL. */
static inline json_t *ops_fixture_json_at(json_t *root, const char *path,
                                          apr_pool_t *pool)
{
    char *last = NULL;
    json_t *at = root;
    for (char *part = apr_strtok(apr_pstrdup(pool, path), ".", &last);
         part != NULL && at != NULL; part = apr_strtok(NULL, ".", &last)) {
        if (json_is_array(at))
            at = json_array_get(at, (size_t)strtoul(part, NULL, 10));
        else
            at = json_object_get(at, part);
    }
    return at;
}

static inline const char *ops_fixture_json_str(json_t *root, const char *path,
                                               apr_pool_t *pool)
{
    return json_string_value(ops_fixture_json_at(root, path, pool));
}

/* status.json of certificate name as the next run would read it. */
static inline json_t *ops_fixture_status(const expacme_config_t *config,
                                         const char *name, apr_pool_t *pool)
{
    json_t *status = NULL;
    const char *err = NULL;
    const char *path =
        apr_psprintf(pool, "%s/certs/%s/status.json", config->state_dir, name);
    if (state_read_json(&status, path, &err, pool) != APR_SUCCESS)
        printf("# %s\n", err ? err : "status.json absent");
    return status;
}

/* The pid of a process that has exited and been reaped. */
static inline pid_t ops_fixture_dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    int status = 0;
    waitpid(pid, &status, 0);
    return pid;
}

/* A child that lives until ops_fixture_child_end: it blocks reading a
 * pipe whose write end the parent keeps. */
typedef struct {
    pid_t pid;
    int fd;
} ops_fixture_child_t;

static inline void ops_fixture_child_start(ops_fixture_child_t *child)
{
    int fds[2] = {-1, -1};
    child->pid = -1;
    child->fd = -1;
    if (pipe(fds) != 0)
        return;
    child->pid = fork();
    if (child->pid == 0) {
        char c;
        close(fds[1]);
        while (read(fds[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(fds[0]);
    child->fd = fds[1];
}

static inline void ops_fixture_child_end(ops_fixture_child_t *child)
{
    int status = 0;
    close(child->fd);
    if (child->pid > 0)
        waitpid(child->pid, &status, 0);
}

/* Runs fn in a child process; its exit code, or -1 when it did not
 * exit normally. */
static inline int ops_fixture_in_child(int (*fn)(void *), void *baton)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn(baton));
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Pid 1 is alive, but an unprivileged process may not signal it:
 * kill(1, 0) fails with EPERM.  To see that as root, a child gives tree
 * (and passage through top) to nobody and becomes nobody with
 * ops_fixture_drop.  0 when that could not be arranged. */
#define OPS_FIXTURE_NOBODY 65534

static inline int ops_fixture_give_away(const char *top, const char *tree)
{
    char command[512];
    if (getuid() != 0)
        return 1;
    snprintf(command, sizeof(command), "chown -R %d:%d '%s'",
             OPS_FIXTURE_NOBODY, OPS_FIXTURE_NOBODY, tree);
    return chmod(top, 0711) == 0 && system(command) == 0;
}

static inline int ops_fixture_drop(void)
{
    if (getuid() != 0)
        return 1;
    return setgid(OPS_FIXTURE_NOBODY) == 0 && setuid(OPS_FIXTURE_NOBODY) == 0;
}

#endif
