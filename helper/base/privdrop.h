/* privdrop.h — how a helper child gives up what it does not need
 * (SPEC §10): root's uid and groups, new privileges, being ptraced or
 * dumped, and (Landlock, where the kernel has it) the filesystem beyond
 * a few system directories it may read, and binding TCP ports. */
#ifndef EXPACME_PRIVDROP_H
#define EXPACME_PRIVDROP_H

#include <sys/types.h>

typedef struct {
    const char *user; /* the account to become; NULL or not root: stay */
    /* Directories the process may still read below (Landlock); NULL
     * terminated; NULL or empty: no file at all.  Nothing may be written,
     * made or removed anywhere. */
    const char *const *readable;
    int deny_tcp_bind;
    pid_t parent; /* the process to die with (0: none) */
} privdrop_t;

typedef struct {
    uid_t uid;
    gid_t gid;
    int landlock_abi; /* 0: the kernel has none, the rest still applies */
} privdrop_result_t;

/* Looks the user up (before anything is given up); falls back to
 * "nobody" when it does not exist.  0 or -1 with err (a static string
 * or one written into errbuf). */
int privdrop_resolve(uid_t *uid, gid_t *gid, const char **used,
                     const char *user, char *errbuf, size_t errlen);

/* Everything above, in the order that keeps each step possible; on -1
 * the process must exit: it may be half dropped. */
int privdrop_apply(privdrop_result_t *result, const privdrop_t *p, uid_t uid,
                   gid_t gid, char *errbuf, size_t errlen);

#endif
