/* provider.h — ACME CAs: the built-in ones, those added with `provider
 * add` (state_dir/providers.json), the current one, and connecting to one
 * with its account (falling back when it is unreachable). */
#ifndef EXPACME_PROVIDER_H
#define EXPACME_PROVIDER_H

#include <openssl/evp.h>

#include "net/net_session.h"
#include "ops/ops.h"

typedef struct {
    const char *name;
    const char *directory;
    const char *ca_bundle;       /* NULL: system roots */
    const char *eab_kid;         /* NULL: no EAB */
    const char *fallback;        /* NULL: none */
    const char *preferred_chain; /* issuer CN, or NULL */
    const char *profile;         /* default profile, or NULL */
    int builtin;
} provider_t;

typedef struct {
    const provider_t *provider; /* the one actually reached */
    net_session_t *session;     /* requests go to the network process */
    EVP_PKEY *account_key;      /* NULL without an account */
    const char *account_thumbprint;
    const char *account_url;
    const char *account_dir;
    const char *unreachable; /* the primary's error when fallen back */
} provider_conn_t;

/* The account key in path with what signing needs (net/net_session.h).
 * keep: kept for the process, known by the SHA-256 of the file's bytes
 * (read each time), so that a renew's orders parse it once and a key
 * replaced on disk is loaded again; *out then lives as long as the
 * process, else as pool. */
apr_status_t provider_account_signer(const net_signer_t **out, const char *path,
                                     int keep, const char **err,
                                     apr_pool_t *pool);

/* Every provider: built-in first, then configured (provider_t *). */
apr_status_t provider_list(apr_array_header_t **out, const ops_ctx_t *ctx,
                           const char **err);
apr_status_t provider_find(const provider_t **out, const ops_ctx_t *ctx,
                           const char *name, const char **err);
/* Adds or replaces a configured provider; eab_key is the decoded HMAC key
 * (stored 0600 under the provider's state directory) or NULL. */
apr_status_t provider_save(const ops_ctx_t *ctx, const provider_t *provider,
                           const unsigned char *eab_key, apr_size_t eab_len,
                           const char **err);
/* The provider of the current account, or NULL with *err. */
apr_status_t provider_current(const char **name, const ops_ctx_t *ctx,
                              const char **err);
apr_status_t provider_set_current(const ops_ctx_t *ctx, const char *name,
                                  const char **err);
/* The EAB HMAC key stored for a provider. */
apr_status_t provider_eab_key(unsigned char **key, apr_size_t *len,
                              const ops_ctx_t *ctx, const provider_t *provider,
                              const char **err);

/* Opens a session with name (NULL: the current provider), trying the
 * fallback chain when a CA cannot be reached (unless direct: registering
 * an account is with the named CA or not at all); with need_account the
 * account's key and URL are loaded and the session signs with them. */
apr_status_t provider_connect(provider_conn_t *out, const ops_ctx_t *ctx,
                              const char *name, int need_account,
                              const char **err);
apr_status_t provider_connect_direct(provider_conn_t *out, const ops_ctx_t *ctx,
                                     const char *name, const char **err);

#endif
