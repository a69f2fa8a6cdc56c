/* netproc.h — the network process (SPEC §10): libcurl and every parser
 * of what a CA sends run here, as the unprivileged user, with no key
 * (signatures come from the key process), no state directory and no
 * store (publishing is asked of root), reading only system directories
 * (Landlock).  One thread per channel; the orders of a concurrent run
 * share one view of each CA. */
#ifndef EXPACME_NETPROC_H
#define EXPACME_NETPROC_H

#include "base/privdrop.h"

/* Called by root before it forks the two processes: libcurl and
 * OpenSSL set up (configuration read, algorithms fetched) once, in the
 * memory both inherit, instead of once in each. */
void netproc_prepare(void);

/* Serves root_fds[i] with key_fds[i] for signing, until root closes
 * them all; returns the exit status. */
int netproc_main(const int *root_fds, const int *key_fds, int count,
                 const privdrop_t *drop, uid_t uid, gid_t gid);

#endif
