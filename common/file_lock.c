/* file_lock.c — see file_lock.h. */
#include "file_lock.h"

#include <errno.h>
#include <sys/file.h>
#include <time.h>

int file_lock_shared_wait(int fd, int max_ms)
{
    const struct timespec one_ms = {0, 1000 * 1000};
    for (int waited = 0;; waited++) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0)
            return 1;
        /* Only a lock someone holds is waited for. */
        if (errno != EWOULDBLOCK || waited >= max_ms)
            return 0;
        nanosleep(&one_ms, NULL);
    }
}
