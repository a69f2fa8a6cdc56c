/* file_lock.h — the shared lock a reader takes on a file that its writer
 * rewrites in place (the helper's status and journal files, written
 * through a spare inode: state.h).  Plain C, no APR: the module and the
 * helper share it. */
#ifndef EXPACME_FILE_LOCK_H
#define EXPACME_FILE_LOCK_H

/* A shared flock(2) on fd, waiting up to about max_ms for a writer that
 * holds it (a rewrite takes microseconds; a writer stopped in the middle
 * must not stall the reader for long).  1 when held, 0 when the wait ran
 * out or flock fails for another reason (some network file systems): the
 * caller reads anyway. */
int file_lock_shared_wait(int fd, int max_ms);

#endif
