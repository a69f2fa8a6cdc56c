/* net_start.h — root's side of the split (SPEC §10): the key process and
 * the network process are forked once per helper run, before any thread,
 * and live until it exits; channels to the network process are handed
 * to one session at a time. */
#ifndef EXPACME_NET_START_H
#define EXPACME_NET_START_H

#include <sys/types.h>

#include "apr_pools.h"

/* Starts both processes (once; later calls return at once) with
 * channels concurrent sessions, running as user (nobody when it does
 * not exist).  Not to be called while other threads run. */
apr_status_t net_start(int channels, const char *user, const char **err);

/* A free channel (waiting for one), and giving it back.  -1 when the
 * network process has gone. */
int net_channel_take(void);
void net_channel_give(int fd, int broken);

/* The network process, for signalling it when root is interrupted. */
pid_t net_pid(void);

/* The slot holding the key loaded as id, or -1. */
int net_key_find(const char *id);

/* Loads a private key (PEM) or an HMAC key into the key process; the
 * slot it is in, or -1 with *err.  A key already loaded keeps its slot
 * (id: what identifies it, e.g. its thumbprint). */
int net_key_load(const char *id, int kind, const void *bytes, apr_size_t len,
                 const char **err);
void net_key_drop(int slot);

/* Lets the key process sign what only root may ask for (KEY_ALLOW_*). */
apr_status_t net_key_allow(int what, const char *value, const char **err);

#endif
