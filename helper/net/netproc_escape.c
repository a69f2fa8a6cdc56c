/* netproc_escape.c — the test build's compromised network process (see
 * netproc_run.h): every attempt it makes, and whether the kernel let it.
 * A release build compiles none of it. */
#include "net/netproc_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef EXPACME_TEST_HOOKS
static void attempt(const char *what, const char *path, int fd)
{
    fprintf(stderr, "expacmectl network process (escape test): %s %s: %s\n",
            what, path, fd >= 0 ? "ALLOWED" : strerror(errno));
    if (fd >= 0)
        close(fd);
}

void netproc_test_escape(const privdrop_result_t *dropped)
{
    const char *paths = getenv("EXPACME_TEST_NETPROC_ESCAPE");
    if (paths == NULL)
        return;
    fprintf(stderr,
            "expacmectl network process (escape test): uid %ld gid %ld "
            "landlock %d\n",
            (long)dropped->uid, (long)dropped->gid, dropped->landlock_abi);
    char *copy = strdup(paths), *save = NULL;
    for (char *p = strtok_r(copy, ":", &save); p != NULL;
         p = strtok_r(NULL, ":", &save)) {
        char made[4096];
        attempt("read", p, open(p, O_RDONLY | O_CLOEXEC));
        snprintf(made, sizeof(made), "%s/escape-test", p);
        attempt("create", made,
                open(made, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        attempt("write", p, open(p, O_WRONLY | O_CLOEXEC));
    }
    free(copy);
}
#else
void netproc_test_escape(const privdrop_result_t *dropped)
{
    (void)dropped;
}
#endif
