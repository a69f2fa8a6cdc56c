/* test_file_lock.c — the shared lock readers take on rewritten files. */
#include "tap.h"
#include "file_lock.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static char path[] = "/tmp/expacme-file-lock.XXXXXX";

/* Another open file description of the file: flock(2) locks conflict
 * between descriptions, as between the helper and the module. */
static int open_again(void)
{
    return open(path, O_RDONLY | O_CLOEXEC);
}

static void *release_soon(void *data)
{
    const struct timespec pause = {0, 20 * 1000 * 1000};
    int fd = *(int *)data;
    nanosleep(&pause, NULL);
    flock(fd, LOCK_UN);
    return NULL;
}

int main(void)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    int reader = open_again(), writer = open_again();

    is_int(file_lock_shared_wait(reader, 0), 1, "no holder: held at once");
    ok(flock(writer, LOCK_EX | LOCK_NB) != 0,
       "and a writer cannot have the file meanwhile");
    flock(reader, LOCK_UN);

    is_int(flock(writer, LOCK_EX | LOCK_NB), 0, "a writer holds it");
    is_int(file_lock_shared_wait(reader, 5), 0,
           "a writer that does not let go: the wait runs out");
    int other = open_again();
    is_int(file_lock_shared_wait(other, 0), 0, "no wait asked: none made");
    close(other);

    pthread_t t;
    pthread_create(&t, NULL, release_soon, &writer);
    /* A minute: far more than the writer takes, and so it cannot pass by
     * running out. */
    is_int(file_lock_shared_wait(reader, 60 * 1000), 1,
           "a writer that lets go: held once it has");
    pthread_join(t, NULL);
    ok(flock(writer, LOCK_EX | LOCK_NB) != 0, "and held against the next");

    /* A minute asked: a wait here would be cut by the alarm, and the
     * test with it. */
    alarm(10);
    is_int(file_lock_shared_wait(-1, 60 * 1000), 0,
           "a bad descriptor: no wait, not held");
    alarm(0);
    close(reader);
    close(writer);
    close(fd);
    unlink(path);
    return done_testing();
}
