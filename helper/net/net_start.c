/* net_start.c — see net_start.h. */
#include "net/net_start.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/privdrop.h"
#include "base/wire.h"
#include "net/keyproc.h"
#include "net/net_proto.h"
#include "net/netproc.h"

/* What the network process may read: resolver and TLS set-up, shared
 * libraries, the system's trust roots. */
static const char *const net_readable[] = {"/etc", "/usr", "/lib", "/lib64",
                                           NULL};

typedef struct {
    int fd;
    int busy;
} channel_t;

static struct {
    int started;
    pid_t net_pid, key_pid;
    int key_fd; /* root -> key process, under key_lock */
    pthread_mutex_t key_lock;
    char *slot_ids[NET_SLOTS];
    int next_slot;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    channel_t *channels;
    int count, dead;
} net = {.key_lock = PTHREAD_MUTEX_INITIALIZER,
         .lock = PTHREAD_MUTEX_INITIALIZER,
         .freed = PTHREAD_COND_INITIALIZER};

static int kept(int fd, const int *keep, int count)
{
    for (int i = 0; i < count; i++)
        if (keep[i] == fd)
            return 1;
    return fd <= 2;
}

/* A child keeps only its own descriptors (and stderr for its last
 * words); stdin and stdout become /dev/null, and stderr too when it is
 * a terminal (which a process may type into). */
static void keep_only(const int *keep, int count)
{
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        if (isatty(2))
            dup2(null, 2);
    }
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) { /* no /proc: every possible descriptor */
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            if (!kept(fd, keep, count))
                close(fd);
        return;
    }
    int dfd = dirfd(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != dfd && !kept(fd, keep, count))
            close(fd);
    }
    closedir(d);
}

/* The network process keeps what libcurl reads of the environment (the
 * proxies) and, in a test build, the test hooks' variables; nothing else
 * of root's (a dns_hook's API token, say). */
static void clean_environment(void)
{
    static const char *const keep[] = {"https_proxy",
                                       "HTTPS_PROXY",
                                       "all_proxy",
                                       "ALL_PROXY",
                                       "no_proxy",
                                       "NO_PROXY",
#ifdef EXPACME_TEST_HOOKS
                                       "EXPACME_TEST_NETPROC_ESCAPE",
                                       "EXPACME_TEST_NETPROC_FORGE",
                                       "EXPACME_IT_RUN",
#endif
                                       NULL};
    char *values[sizeof(keep) / sizeof(keep[0])];
    for (int i = 0; keep[i] != NULL; i++) {
        const char *v = getenv(keep[i]);
        values[i] = v ? strdup(v) : NULL;
    }
    clearenv();
    for (int i = 0; keep[i] != NULL; i++)
        if (values[i] != NULL)
            setenv(keep[i], values[i], 1);
}

/* Dies with root (if root is already gone, at once), in a session of
 * its own: no controlling terminal to type into (TIOCSTI). */
static void child_setup(pid_t parent, const int *keep, int count)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    setsid();
    keep_only(keep, count);
}

/* Waits up to ms for pid to end (a pidfd turns readable when it has). */
static void reap(pid_t pid, int ms)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) == 0)
            kill(pid, SIGKILL);
        close(fd);
    } else if (waitpid(pid, NULL, WNOHANG) == 0)
        kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Both end on EOF; one that does not is not waited for long. */
static void stop(void)
{
    for (int i = 0; i < net.count; i++)
        close(net.channels[i].fd);
    close(net.key_fd);
    reap(net.net_pid, 2000);
    reap(net.key_pid, 2000);
}

typedef struct {
    int control[2];
    int *root_pairs; /* 2 per channel: [root end, network end] */
    int *key_pairs;  /* 2 per channel: [network end, key end] */
} pairs_t;

static int make_pairs(pairs_t *p, int count)
{
    p->root_pairs = calloc((size_t)count * 2, sizeof(int));
    p->key_pairs = calloc((size_t)count * 2, sizeof(int));
    if (p->root_pairs == NULL || p->key_pairs == NULL ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p->control) != 0)
        return -1;
    for (int i = 0; i < count; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                       p->root_pairs + 2 * i) != 0 ||
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
                       p->key_pairs + 2 * i) != 0)
            return -1;
    return 0;
}

static pid_t fork_key(const pairs_t *p, int count, const privdrop_t *drop,
                      uid_t uid, gid_t gid)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int *keep = calloc((size_t)count + 1, sizeof(int));
    int *sign = calloc((size_t)count, sizeof(int));
    if (keep == NULL || sign == NULL)
        _exit(1);
    keep[0] = p->control[1];
    for (int i = 0; i < count; i++)
        keep[i + 1] = sign[i] = p->key_pairs[2 * i + 1];
    child_setup(parent, keep, count + 1);
    clearenv();              /* it needs nothing of root's environment */
    signal(SIGINT, SIG_IGN); /* root ends it, when it is done */
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    _exit(keyproc_main(p->control[1], sign, count, drop, uid, gid));
}

static pid_t fork_net(const pairs_t *p, int count, const privdrop_t *drop,
                      uid_t uid, gid_t gid)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int *keep = calloc((size_t)count * 2, sizeof(int));
    int *roots = calloc((size_t)count, sizeof(int));
    int *keys = calloc((size_t)count, sizeof(int));
    if (keep == NULL || roots == NULL || keys == NULL)
        _exit(1);
    for (int i = 0; i < count; i++) {
        keep[2 * i] = roots[i] = p->root_pairs[2 * i + 1];
        keep[2 * i + 1] = keys[i] = p->key_pairs[2 * i];
    }
    child_setup(parent, keep, count * 2);
    clean_environment();
    signal(SIGHUP, SIG_IGN);
    _exit(netproc_main(roots, keys, count, drop, uid, gid));
}

/* root keeps its ends only: a child's EOF is then its peer's going. */
static void close_child_ends(const pairs_t *p, int count)
{
    close(p->control[1]);
    for (int i = 0; i < count; i++) {
        close(p->root_pairs[2 * i + 1]);
        close(p->key_pairs[2 * i]);
        close(p->key_pairs[2 * i + 1]);
    }
}

static apr_status_t spawn(const pairs_t *p, int count, const char *user,
                          const char **err)
{
    static char why[256];
    uid_t uid = 0;
    gid_t gid = 0;
    const char *used = NULL;
    if (geteuid() == 0 &&
        privdrop_resolve(&uid, &gid, &used, user, why, sizeof(why)) != 0) {
        *err = why;
        return APR_EGENERAL;
    }
    netproc_prepare();
    privdrop_t key_drop = {used, NULL, 1, getpid()};
    privdrop_t net_drop = {used, net_readable, 1, getpid()};
    net.key_pid = fork_key(p, count, &key_drop, uid, gid);
    net.net_pid =
        net.key_pid > 0 ? fork_net(p, count, &net_drop, uid, gid) : -1;
    if (net.key_pid < 0 || net.net_pid < 0) {
        *err = "cannot fork the network and key processes";
        return APR_FROM_OS_ERROR(errno);
    }
    return APR_SUCCESS;
}

/* The first start's failure, given to every later caller. */
static const char *start_error;

apr_status_t net_start(int count, const char *user, const char **err)
{
    pairs_t p;
    pthread_mutex_lock(&net.lock);
    int started = net.started;
    net.started = 1;
    pthread_mutex_unlock(&net.lock);
    if (started) {
        *err = start_error ? start_error : "the network process has gone";
        return net.dead ? APR_EGENERAL : APR_SUCCESS;
    }
    net.dead = 1; /* until it is up */
    if (count < 1)
        count = 1;
    memset(&p, 0, sizeof(p));
    net.channels = calloc((size_t)count, sizeof(channel_t));
    if (net.channels == NULL || make_pairs(&p, count) != 0) {
        *err = start_error = "cannot make the channels to the network process";
        return APR_ENOMEM;
    }
    apr_status_t rv = spawn(&p, count, user, err);
    close_child_ends(&p, count);
    if (rv != APR_SUCCESS) {
        start_error = *err;
        return rv;
    }
    net.key_fd = p.control[0];
    for (int i = 0; i < count; i++)
        net.channels[i].fd = p.root_pairs[2 * i];
    net.count = count;
    net.dead = 0;
    free(p.root_pairs);
    free(p.key_pairs);
    atexit(stop);
    return APR_SUCCESS;
}

int net_channel_take(void)
{
    pthread_mutex_lock(&net.lock);
    int fd = -1;
    while (!net.dead && net.started) {
        for (int i = 0; i < net.count && fd < 0; i++)
            if (!net.channels[i].busy) {
                net.channels[i].busy = 1;
                fd = net.channels[i].fd;
            }
        if (fd >= 0)
            break;
        pthread_cond_wait(&net.freed, &net.lock);
    }
    pthread_mutex_unlock(&net.lock);
    return fd;
}

void net_channel_give(int fd, int broken)
{
    pthread_mutex_lock(&net.lock);
    for (int i = 0; i < net.count; i++)
        if (net.channels[i].fd == fd)
            net.channels[i].busy = 0;
    /* A channel out of step cannot be trusted again, nor can the
     * process at its other end. */
    if (broken) {
        net.dead = 1;
        kill(net.net_pid, SIGKILL);
    }
    pthread_cond_broadcast(&net.freed);
    pthread_mutex_unlock(&net.lock);
}

pid_t net_pid(void)
{
    return net.net_pid;
}

static int key_call(wire_out_t *w, const char **err, apr_pool_t *pool)
{
    wire_in_t in;
    const char *why = NULL;
    if (wire_send(net.key_fd, w) != APR_SUCCESS ||
        wire_recv(&in, net.key_fd, NET_STR_MAX + 64, -1, pool) != APR_SUCCESS) {
        *err = "the key process has gone";
        return -1;
    }
    if (in.type == KEY_DONE && wire_done(&in))
        return 0;
    /* (the frame's pool goes when the caller is done: a copy) */
    static __thread char refused[512];
    if (in.type == KEY_REFUSED && wire_get_str(&in, &why, NET_STR_MAX, pool)) {
        snprintf(refused, sizeof(refused), "the key process refused: %s",
                 why ? why : "no reason given");
        *err = refused;
    } else
        *err = "the key process answered out of turn";
    return -1;
}

/* With key_lock held. */
static int slot_named(const char *id)
{
    for (int i = 0; id != NULL && i < NET_SLOTS; i++)
        if (net.slot_ids[i] != NULL && strcmp(net.slot_ids[i], id) == 0)
            return i;
    return -1;
}

int net_key_find(const char *id)
{
    pthread_mutex_lock(&net.key_lock);
    int slot = slot_named(id);
    pthread_mutex_unlock(&net.key_lock);
    return slot;
}

int net_key_load(const char *id, int kind, const void *bytes, apr_size_t len,
                 const char **err)
{
    apr_pool_t *pool = NULL;
    pthread_mutex_lock(&net.key_lock);
    int slot = slot_named(id);
    if (slot < 0 && apr_pool_create(&pool, NULL) == APR_SUCCESS) {
        int candidate = net.next_slot;
        net.next_slot = (net.next_slot + 1) % NET_SLOTS;
        /* Named again only once loaded: a load that fails may already
         * have emptied the slot in the key process. */
        free(net.slot_ids[candidate]);
        net.slot_ids[candidate] = NULL;
        wire_out_t w;
        wire_begin(&w, KEY_LOAD, pool);
        wire_put_int(&w, candidate);
        wire_put_int(&w, kind);
        wire_put_bytes(&w, bytes, len);
        if (key_call(&w, err, pool) == 0) {
            net.slot_ids[candidate] = id ? strdup(id) : NULL;
            slot = candidate;
        }
        /* The frame held the key: gone before the pool is. */
        memset(w.buf, 0, w.len);
        apr_pool_destroy(pool);
    }
    pthread_mutex_unlock(&net.key_lock);
    return slot;
}

void net_key_drop(int slot)
{
    apr_pool_t *pool = NULL;
    const char *err = NULL;
    if (slot < 0 || apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return;
    pthread_mutex_lock(&net.key_lock);
    wire_out_t w;
    wire_begin(&w, KEY_DROP, pool);
    wire_put_int(&w, slot);
    key_call(&w, &err, pool);
    free(net.slot_ids[slot]);
    net.slot_ids[slot] = NULL;
    pthread_mutex_unlock(&net.key_lock);
    apr_pool_destroy(pool);
}

apr_status_t net_key_allow(int what, const char *value, const char **err)
{
    apr_pool_t *pool = NULL;
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return APR_ENOMEM;
    pthread_mutex_lock(&net.key_lock);
    wire_out_t w;
    wire_begin(&w, KEY_ALLOW, pool);
    wire_put_int(&w, what);
    wire_put_bytes(&w, value ? value : "", value ? strlen(value) : 0);
    int rc = key_call(&w, err, pool);
    pthread_mutex_unlock(&net.key_lock);
    apr_pool_destroy(pool);
    return rc == 0 ? APR_SUCCESS : APR_EGENERAL;
}
