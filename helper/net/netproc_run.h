/* netproc_run.h — inside the network process: one thread's channel and
 * session, and what it does with each request root sends. */
#ifndef EXPACME_NETPROC_RUN_H
#define EXPACME_NETPROC_RUN_H

#include <pthread.h>

#include "apr_hash.h"

#include "acme/acme.h"
#include "base/privdrop.h"
#include "base/wire.h"

typedef struct netproc netproc_t;
typedef struct netproc_thread netproc_thread_t;

/* Which key-process slot a jws_signer_t of this thread signs with. */
typedef struct {
    netproc_thread_t *thread;
    int slot;
} netproc_key_t;

struct netproc_thread {
    netproc_t *np;
    int root_fd, key_fd;
    apr_pool_t *pool;         /* this thread's */
    apr_pool_t *session_pool; /* the session's, remade by each NET_OPEN */
    acme_session_t *session;
    netproc_key_t account, next, eab;
    char key_refused[256]; /* why the key process last refused, or "" */
};

struct netproc {
    netproc_thread_t *threads;
    apr_pool_t *pool; /* the views', only under views_lock */
    pthread_mutex_t views_lock;
    apr_hash_t *views; /* directory URL -> acme_ca_t * */
    volatile int *interrupted;
};

/* Answers one request (every path sends exactly one final frame). */
void netproc_run(netproc_thread_t *t, wire_in_t *in, apr_pool_t *pool);

/* s, or NULL when it is over what root accepts of a string. */
const char *netproc_fit(const char *s);

/* NET_ORDER (netproc_order.c). */
void netproc_order(netproc_thread_t *t, wire_in_t *in, apr_pool_t *pool);

/* Test builds only (--enable-test-hooks): with EXPACME_TEST_NETPROC_ESCAPE
 * set to paths (':' between), tries to read and to write each, as a
 * compromised network process would, and reports every attempt on
 * stderr. */
void netproc_test_escape(const privdrop_result_t *dropped);

/* Test builds only: with EXPACME_TEST_NETPROC_FORGE=name (or keyauth),
 * what root is asked to publish is forged as a compromised network
 * process would: the first challenge for another name (or with another
 * key authorization).  Otherwise list itself. */
const apr_array_header_t *netproc_test_forge(const apr_array_header_t *list,
                                             apr_pool_t *pool);
/* ...=twice: the forged list (decoys) is asked for first, then the real
 * one. */
int netproc_test_twice(void);
/* ...=csr: another key's CSR for the names, to finalize with. */
const char *netproc_test_forge_csr(const char *csr_der_b64url,
                                   const apr_array_header_t *names,
                                   apr_pool_t *pool);

#endif
