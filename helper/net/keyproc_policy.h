/* keyproc_policy.h — what the key process signs (SPEC §10): plain ACME
 * requests, and beyond them only what root allowed.  A compromised
 * network process then cannot have a certificate issued for a key of
 * its own (finalize), move the account to its key (keyChange), close it
 * (deactivate), revoke, or bind the operator's EAB credentials to an
 * account of its own. */
#ifndef EXPACME_KEYPROC_POLICY_H
#define EXPACME_KEYPROC_POLICY_H

#include "apr_pools.h"

typedef struct keyproc_policy keyproc_policy_t;

keyproc_policy_t *keyproc_policy_create(apr_pool_t *pool);

/* KEY_ALLOW from root; NULL or why it is refused. */
const char *keyproc_policy_allow(keyproc_policy_t *policy, int what,
                                 const unsigned char *value, apr_size_t len);

/* NULL when data (a JWS signing input, "header.payload" in base64url)
 * may be signed — with an HMAC key when hmac — else why not.  An
 * allowance holds until root gives another of its kind (a request
 * refused for a bad nonce is signed again, with a new one). */
const char *keyproc_policy_check(keyproc_policy_t *policy, const char *data,
                                 apr_size_t len, int hmac, apr_pool_t *pool);

#endif
