/* store_attach.h — one process's view of the challenge store.
 *
 * Worker threads share one read-only mapping.  When the file at the
 * configured path is replaced (recreated, grown, removed), the next
 * challenge request maps the new one; the old mapping is unmapped when
 * its last reader releases it.  Readers take no lock. */
#ifndef EXPACME_STORE_ATTACH_H
#define EXPACME_STORE_ATTACH_H

#include "apr_pools.h"
#include "httpd.h"

#include "challenge_store.h"

typedef struct store_attach_ref store_attach_ref_t;

/* In each child, before requests: path may be NULL (no store set). */
apr_status_t store_attach_child_init(apr_pool_t *pchild, server_rec *s,
                                     const char *path);

/* The current store, or NULL when there is none (never created, removed,
 * unreadable).  A non-NULL result must be given back with
 * store_attach_release. */
store_attach_ref_t *store_attach_acquire(request_rec *r);
const challenge_store_map_t *store_attach_map(store_attach_ref_t *ref);
void store_attach_release(store_attach_ref_t *ref);

#endif
