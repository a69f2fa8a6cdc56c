/* acme_account.h — RFC 8555 §7.3: newAccount (with External Account
 * Binding), fetching, key rollover and deactivation. */
#ifndef EXPACME_ACME_ACCOUNT_H
#define EXPACME_ACME_ACCOUNT_H

#include "acme/acme.h"

/* The HMAC key itself, or (mac set) a callback that computes HS256
 * where the key is (the key process). */
typedef struct {
    const char *kid;
    const unsigned char *hmac_key;
    apr_size_t hmac_key_len;
    jws_sign_fn *mac;
    void *mac_baton;
} acme_eab_t;

/* Registers (or finds, when the key already has one) the account of the
 * session's signer (which must carry the jwk and no kid).  On success
 * *url is the account URL and the signer switches to it as kid. */
apr_status_t acme_account_register(const char **url, json_t **account,
                                   acme_session_t *session, const char *email,
                                   int agree_tos, const acme_eab_t *eab,
                                   const char **err, apr_pool_t *pool);

/* POST-as-GET of the account (signer with kid). */
apr_status_t acme_account_fetch(json_t **account, acme_session_t *session,
                                const char **err, apr_pool_t *pool);

/* keyChange: new_signer signs the inner JWS (with its jwk), the session's
 * signer the outer one.  On success the session signs with new_signer. */
apr_status_t acme_account_key_change(acme_session_t *session,
                                     const jws_signer_t *new_signer,
                                     const char **err, apr_pool_t *pool);

apr_status_t acme_account_deactivate(json_t **account, acme_session_t *session,
                                     const char **err, apr_pool_t *pool);

#endif
