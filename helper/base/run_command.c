/* run_command.c — see run_command.h. */
#include "base/run_command.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "apr_strings.h"
#include "apr_time.h"

#define OUTPUT_MAX 4096

extern char **environ;

apr_array_header_t *run_command_split(const char *line, apr_pool_t *pool)
{
    apr_array_header_t *argv = apr_array_make(pool, 4, sizeof(const char *));
    char *copy = apr_pstrdup(pool, line);
    char *save = NULL;
    for (char *w = apr_strtok(copy, " \t", &save); w != NULL;
         w = apr_strtok(NULL, " \t", &save))
        APR_ARRAY_PUSH(argv, const char *) = w;
    return argv;
}

static char **make_envp(const apr_array_header_t *extra, apr_pool_t *pool)
{
    int n = 0;
    while (environ[n] != NULL)
        n++;
    int m = extra ? extra->nelts : 0;
    char **envp = apr_pcalloc(pool, sizeof(char *) * (n + m + 1));
    memcpy(envp, environ, sizeof(char *) * n);
    for (int i = 0; i < m; i++)
        envp[n + i] = (char *)APR_ARRAY_IDX(extra, i, const char *);
    return envp;
}

/* Reads what the child says until it closes its end or time is up. */
static void collect(int fd, pid_t pid, apr_time_t deadline,
                    run_command_result_t *res, apr_pool_t *pool)
{
    char *buf = apr_palloc(pool, OUTPUT_MAX + 1);
    size_t len = 0;
    for (;;) {
        apr_time_t left = deadline - apr_time_now();
        if (left <= 0) {
            res->timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)(apr_time_as_msec(left) + 1));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            continue;
        char chunk[1024];
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        size_t take =
            (size_t)n < OUTPUT_MAX - len ? (size_t)n : OUTPUT_MAX - len;
        memcpy(buf + len, chunk, take);
        len += take;
    }
    buf[len] = '\0';
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
            buf[i] = ' ';
        else if ((unsigned char)buf[i] < 0x20)
            buf[i] = '?';
    }
    while (len > 0 && buf[len - 1] == ' ')
        buf[--len] = '\0';
    res->output = buf;
}

apr_status_t run_command(run_command_result_t *res,
                         const apr_array_header_t *argv,
                         const apr_array_header_t *env,
                         apr_interval_time_t timeout, const char **err,
                         apr_pool_t *pool)
{
    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
    if (argv->nelts == 0) {
        *err = "empty command";
        return APR_EINVAL;
    }
    const char **args = apr_pcalloc(pool, sizeof(char *) * (argv->nelts + 1));
    memcpy(args, argv->elts, sizeof(char *) * argv->nelts);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        *err = apr_psprintf(pool, "pipe: %s", strerror(errno));
        return errno;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    /* The helper ignores SIGPIPE (expacmectl.c); a hook's pipelines
     * expect it. */
    posix_spawnattr_t attr;
    sigset_t pipe_default;
    sigemptyset(&pipe_default);
    sigaddset(&pipe_default, SIGPIPE);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigdefault(&attr, &pipe_default);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn(&pid, args[0], &fa, &attr, (char *const *)args,
                         make_envp(env, pool));
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        *err = apr_psprintf(pool, "cannot run %s: %s", args[0], strerror(rc));
        return rc;
    }
    collect(fds[0], pid, apr_time_now() + timeout, res, pool);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status))
        res->exit_code = WEXITSTATUS(status);
    return APR_SUCCESS;
}
