/* keyproc.h — the key process (SPEC §10): it holds the private keys and
 * EAB HMAC keys root hands it, and signs what the network process asks
 * it to sign with them; nothing else.  It reads no file (Landlock
 * denies it every one) and runs as the unprivileged user. */
#ifndef EXPACME_KEYPROC_H
#define EXPACME_KEYPROC_H

#include "base/privdrop.h"

/* Runs until root closes control_fd; returns the exit status.  control_fd
 * takes KEY_LOAD and KEY_DROP, each of sign_fds (one per network thread)
 * only KEY_SIGN. */
int keyproc_main(int control_fd, const int *sign_fds, int count,
                 const privdrop_t *drop, uid_t uid, gid_t gid);

#endif
