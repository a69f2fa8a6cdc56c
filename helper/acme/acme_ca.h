/* acme_ca.h — one CA as every order of a concurrent run sees it: the
 * directory fetched once, one pool of Replay-Nonces and one rate gate
 * (a Retry-After or rateLimited that one order got holds back every
 * order for that CA until it has passed).
 *
 * A worker thread attaches its own session (own libcurl handle, own pool,
 * own signer) to the shared view; only the nonce pool and the gate are
 * shared, each behind the view's mutex.  The view's strings and JSON are
 * written once, before any session is attached, and only read after. */
#ifndef EXPACME_ACME_CA_H
#define EXPACME_ACME_CA_H

#include "acme/acme.h"

/* Fetches the directory with options (its progress/interrupted are used
 * only for this fetch).  pool must outlive every attached session and
 * is used by no other thread. */
apr_status_t acme_ca_open(acme_ca_t **out, const char *directory_url,
                          const acme_options_t *options, const char **err,
                          apr_pool_t *pool);

/* The view of a session already open (its directory read): what
 * acme_ca_open does after the fetch, and what the unit tests build on. */
apr_status_t acme_ca_wrap(acme_ca_t **out, acme_session_t *base,
                          const char **err, apr_pool_t *pool);

/* A session of this thread (options: its timeouts, trust roots,
 * progress and interrupted flag) on the shared view; allocated in pool. */
apr_status_t acme_ca_attach(acme_session_t **out, acme_ca_t *ca,
                            const acme_options_t *options, const char **err,
                            apr_pool_t *pool);

/* The shared nonce pool: a nonce kept, or one taken (0 when empty). */
void acme_ca_nonce_put(acme_ca_t *ca, const char *nonce);
int acme_ca_nonce_take(acme_ca_t *ca, char *buf, apr_size_t size);

/* The rate gate: how long (seconds, 0 when open) every order must still
 * wait, with the problem that closed it copied to pool; closing it for
 * seconds from now (a longer closing wins). */
long acme_ca_gate_remaining(acme_ca_t *ca, acme_problem_t **why,
                            apr_pool_t *pool);
void acme_ca_gate_close(acme_ca_t *ca, const acme_problem_t *why, long seconds);

/* The lanes: a newOrder and a read or update of an authorization are
 * never in flight at the same time to one CA, while any number of
 * either kind may be.  Pebble (2.4 and later) deadlocks for good when
 * an authorization request, which holds that authorization's lock while
 * it looks up the account, meets a newOrder scanning every
 * authorization under the store's read lock and a third request waiting
 * for the store's write lock; at renew_concurrency 8 over a thousand
 * certificates that happened in most runs.  A CA without the bug loses
 * little: each request waits at most for the other kind's requests
 * then in flight.  enter fails only with APR_EINTR (interrupted set). */
apr_status_t acme_ca_lane_enter(acme_ca_t *ca, acme_lane_t lane,
                                volatile int *interrupted);
void acme_ca_lane_leave(acme_ca_t *ca, acme_lane_t lane);
/* How many requests wait to enter lane now (for tests and progress). */
int acme_ca_lane_waiting(acme_ca_t *ca, acme_lane_t lane);

/* How long the CA took lately to validate an order's answered
 * challenges (a smoothed mean of notes; 0 before the first): the first
 * look at an order's authorizations waits about that long rather than
 * fetching each one while it is certain to be pending.  It comes back a
 * quarter early, so that the estimate follows a CA that gets faster. */
apr_interval_time_t acme_ca_validation_expected(acme_ca_t *ca);
void acme_ca_validation_note(acme_ca_t *ca, apr_interval_time_t took);

#endif
