/* jws.h — RFC 8555 §6.2 request bodies: flattened JWS JSON with a
 * protected header {alg, nonce, url, jwk | kid}.  The key never comes
 * here: the caller hands a signing callback, so the code that talks to
 * the CA can run without access to private keys. */
#ifndef EXPACME_JWS_H
#define EXPACME_JWS_H

#include <jansson.h>

#include "apr_pools.h"

typedef apr_status_t jws_sign_fn(unsigned char **sig, apr_size_t *sig_len,
                                 const void *data, apr_size_t len, void *baton,
                                 apr_pool_t *pool);

typedef struct {
    const char *alg; /* "ES256", "RS256", ... */
    json_t *jwk;     /* public JWK, for newAccount and keyChange */
    const char *kid; /* account URL, once there is an account */
    jws_sign_fn *sign;
    void *baton;
} jws_signer_t;

/* payload NULL means POST-as-GET (empty payload).  With signer->kid set
 * the header carries "kid", else "jwk".  nonce NULL leaves it out (the
 * inner JWS of keyChange). Returns the JSON text. */
apr_status_t jws_build(const char **out, const jws_signer_t *signer,
                       const char *url, const char *nonce,
                       const json_t *payload, const char **err,
                       apr_pool_t *pool);

/* The same as a json_t (new reference bound to pool), for nesting. */
apr_status_t jws_build_json(json_t **out, const jws_signer_t *signer,
                            const char *url, const char *nonce,
                            const json_t *payload, const char **err,
                            apr_pool_t *pool);

/* External Account Binding (RFC 8555 §7.3.4): HS256 JWS over the account
 * JWK with {alg: HS256, kid: eab_kid, url: new_account_url}. */
apr_status_t jws_build_eab(json_t **out, const json_t *account_jwk,
                           const char *eab_kid, const unsigned char *hmac_key,
                           apr_size_t hmac_key_len, const char *new_account_url,
                           const char **err, apr_pool_t *pool);

/* The same with the HS256 computed by mac (the key stays where it is). */
apr_status_t jws_build_eab_with(json_t **out, const json_t *account_jwk,
                                const char *eab_kid, jws_sign_fn *mac,
                                void *baton, const char *new_account_url,
                                const char **err, apr_pool_t *pool);

#endif
