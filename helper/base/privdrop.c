/* privdrop.c — see privdrop.h. */
#include "base/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Newer than the kernel headers Debian 12 builds with. */
#define RIGHT_TRUNCATE (1ULL << 14)
#define RIGHT_IOCTL_DEV (1ULL << 15)
#define NET_BIND_TCP (1ULL << 0)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

typedef struct {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
} ruleset_attr_t;

static int fail(char *errbuf, size_t errlen, const char *what)
{
    snprintf(errbuf, errlen, "%s: %s", what, strerror(errno));
    return -1;
}

int privdrop_resolve(uid_t *uid, gid_t *gid, const char **used,
                     const char *user, char *errbuf, size_t errlen)
{
    const char *names[] = {user, "nobody"};
    for (int i = 0; i < 2; i++) {
        if (names[i] == NULL)
            continue;
        struct passwd *pw = getpwnam(names[i]);
        if (pw != NULL && pw->pw_uid != 0) {
            *uid = pw->pw_uid;
            *gid = pw->pw_gid;
            *used = names[i];
            return 0;
        }
    }
    snprintf(errbuf, errlen,
             "no unprivileged user to run the network process as "
             "(neither %s nor nobody exists)",
             user ? user : "(none)");
    return -1;
}

static uint64_t fs_rights(int abi)
{
    uint64_t all = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;
    if (abi >= 2)
        all |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        all |= RIGHT_TRUNCATE;
    if (abi >= 5)
        all |= RIGHT_IOCTL_DEV;
    return all;
}

static int add_readable(int ruleset, const char *path, uint64_t handled)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1; /* /lib64 need not exist */
    struct landlock_path_beneath_attr rule = {
        .allowed_access =
            (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR) &
            handled,
        .parent_fd = fd,
    };
    int rc = (int)syscall(SYS_landlock_add_rule, ruleset,
                          LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    close(fd);
    return rc;
}

/* 0 with *abi 0 when the kernel has no Landlock (the uid and
 * no_new_privs still hold); -1 when it has one and it failed. */
static int landlock(int *abi, const privdrop_t *p, char *errbuf, size_t errlen)
{
    *abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
                        LANDLOCK_CREATE_RULESET_VERSION);
    if (*abi < 0) {
        *abi = 0;
        return 0;
    }
    ruleset_attr_t attr = {.handled_access_fs = fs_rights(*abi)};
    size_t size = sizeof(uint64_t);
    if (*abi >= 4 && p->deny_tcp_bind) {
        attr.handled_access_net = NET_BIND_TCP;
        size = 2 * sizeof(uint64_t);
    }
    if (*abi >= 6) {
        attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
        size = sizeof(attr);
    }
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0)
        return fail(errbuf, errlen, "landlock");
    for (int i = 0; p->readable != NULL && p->readable[i] != NULL; i++)
        if (add_readable(ruleset, p->readable[i], attr.handled_access_fs) < 0) {
            close(ruleset);
            return fail(errbuf, errlen, p->readable[i]);
        }
    int rc = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);
    close(ruleset);
    return rc < 0 ? fail(errbuf, errlen, "landlock_restrict_self") : 0;
}

static int drop_ids(uid_t uid, gid_t gid, char *errbuf, size_t errlen)
{
    if (setgroups(0, NULL) != 0)
        return fail(errbuf, errlen, "setgroups");
    if (setresgid(gid, gid, gid) != 0)
        return fail(errbuf, errlen, "setresgid");
    if (setresuid(uid, uid, uid) != 0)
        return fail(errbuf, errlen, "setresuid");
    /* Gone for good, not merely set aside. */
    if (setuid(0) == 0 || geteuid() == 0) {
        snprintf(errbuf, errlen, "root could be regained after dropping it");
        return -1;
    }
    return 0;
}

int privdrop_apply(privdrop_result_t *result, const privdrop_t *p, uid_t uid,
                   gid_t gid, char *errbuf, size_t errlen)
{
    struct rlimit none = {0, 0};
    memset(result, 0, sizeof(*result));
    setrlimit(RLIMIT_CORE, &none);
    if (geteuid() == 0 && p->user != NULL &&
        drop_ids(uid, gid, errbuf, errlen) != 0)
        return -1;
    /* A change of uid clears the parent-death signal: armed again, and
     * root's having gone meanwhile noticed. */
    if (p->parent != 0 &&
        (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != p->parent)) {
        snprintf(errbuf, errlen, "root has gone");
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fail(errbuf, errlen, "no_new_privs");
    if (landlock(&result->landlock_abi, p, errbuf, errlen) != 0)
        return -1;
    /* Not even a process of the same user may ptrace it or read its
     * memory: the key process holds private keys. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return fail(errbuf, errlen, "PR_SET_DUMPABLE");
    result->uid = getuid();
    result->gid = getgid();
    return 0;
}
