/* provider.c — see provider.h. */
#include "ops/provider.h"

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "base/base64url.h"
#include "crypto/crypt_jose.h"
#include "net/net_start.h"
#include "ops/key_file.h"
#include "acme/http.h"
#include "acme/acme_json.h"
#include "base/state.h"

#define FALLBACK_DEPTH 4

static const provider_t builtins[] = {
    {"letsencrypt", "https://acme-v02.api.letsencrypt.org/directory", NULL,
     NULL, NULL, NULL, NULL, 1},
    {"letsencrypt-staging",
     "https://acme-staging-v02.api.letsencrypt.org/directory", NULL, NULL, NULL,
     NULL, NULL, 1},
};

static const char *providers_path(const ops_ctx_t *ctx)
{
    return apr_pstrcat(ctx->pool, ctx->config->state_dir, "/providers.json",
                       NULL);
}

static apr_status_t providers_store(const ops_ctx_t *ctx, json_t *all,
                                    const char **err)
{
    apr_status_t rv =
        state_make_dir(ctx->config->state_dir, 0700, err, ctx->pool);
    if (rv != APR_SUCCESS)
        return rv;
    return state_write_json(providers_path(ctx), all, err, ctx->pool);
}

static apr_status_t providers_load(json_t **out, const ops_ctx_t *ctx,
                                   const char **err)
{
    apr_status_t rv = state_read_json(out, providers_path(ctx), err, ctx->pool);
    if (APR_STATUS_IS_ENOENT(rv)) {
        *out = json_pool_bind(json_pack("{s:{}}", "providers"), ctx->pool);
        return APR_SUCCESS;
    }
    json_t *all = rv == APR_SUCCESS ? json_object_get(*out, "providers") : NULL;
    /* Read as empty, the next save would drop whatever it holds. */
    if (all != NULL && !json_is_object(all)) {
        *err = apr_psprintf(ctx->pool, "%s: \"providers\" is not an object",
                            providers_path(ctx));
        *out = NULL;
        return APR_EINVAL;
    }
    return rv;
}

static const char *opt_member(json_t *obj, const char *key, apr_pool_t *pool)
{
    const char *v = acme_json_string_member(obj, key);
    return v ? apr_pstrdup(pool, v) : NULL;
}

static provider_t *provider_from_json(const char *name, json_t *obj,
                                      apr_pool_t *pool)
{
    provider_t *p = apr_pcalloc(pool, sizeof(*p));
    p->name = apr_pstrdup(pool, name);
    p->directory = opt_member(obj, "directory", pool);
    p->ca_bundle = opt_member(obj, "ca_bundle", pool);
    p->eab_kid = opt_member(obj, "eab_kid", pool);
    p->fallback = opt_member(obj, "fallback", pool);
    p->preferred_chain = opt_member(obj, "preferred_chain", pool);
    p->profile = opt_member(obj, "profile", pool);
    return p->directory ? p : NULL;
}

apr_status_t provider_list(apr_array_header_t **out, const ops_ctx_t *ctx,
                           const char **err)
{
    json_t *all = NULL;
    apr_status_t rv = providers_load(&all, ctx, err);
    if (rv != APR_SUCCESS)
        return rv;
    apr_array_header_t *list =
        apr_array_make(ctx->pool, 4, sizeof(provider_t *));
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
        APR_ARRAY_PUSH(list, const provider_t *) = &builtins[i];
    const char *name;
    json_t *obj;
    json_object_foreach(acme_json_object_member(all, "providers"), name, obj)
    {
        provider_t *p = provider_from_json(name, obj, ctx->pool);
        if (p == NULL) {
            *err = apr_psprintf(ctx->pool, "%s: provider %s has no directory",
                                providers_path(ctx), name);
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(list, const provider_t *) = p;
    }
    *out = list;
    return APR_SUCCESS;
}

apr_status_t provider_find(const provider_t **out, const ops_ctx_t *ctx,
                           const char *name, const char **err)
{
    apr_array_header_t *list = NULL;
    *out = NULL;
    apr_status_t rv = provider_list(&list, ctx, err);
    if (rv != APR_SUCCESS)
        return rv;
    for (int i = list->nelts - 1; i >= 0; i--) {
        const provider_t *p = APR_ARRAY_IDX(list, i, const provider_t *);
        if (strcmp(p->name, name) == 0) {
            *out = p;
            return APR_SUCCESS;
        }
    }
    *err = apr_psprintf(ctx->pool,
                        "no provider named '%s' (see 'expacmectl "
                        "provider list')",
                        name);
    return APR_ENOENT;
}

static void set_opt(json_t *obj, const char *key, const char *value)
{
    if (value != NULL)
        json_object_set_new(obj, key, json_string(value));
}

apr_status_t provider_save(const ops_ctx_t *ctx, const provider_t *p,
                           const unsigned char *eab_key, apr_size_t eab_len,
                           const char **err)
{
    json_t *all = NULL;
    apr_status_t rv = providers_load(&all, ctx, err);
    if (rv != APR_SUCCESS)
        return rv;
    if (eab_key != NULL) {
        const char *dir = NULL;
        rv = state_provider_dir(&dir, ctx->config, p->name, err, ctx->pool);
        if (rv != APR_SUCCESS)
            return rv;
        const char *text = base64url_encode(ctx->pool, eab_key, eab_len);
        rv = state_write_file(apr_pstrcat(ctx->pool, dir, "/eab.key", NULL),
                              text, strlen(text), 0600, err, ctx->pool);
        if (rv != APR_SUCCESS)
            return rv;
    }
    json_t *obj = json_object();
    set_opt(obj, "directory", p->directory);
    set_opt(obj, "ca_bundle", p->ca_bundle);
    set_opt(obj, "eab_kid", p->eab_kid);
    set_opt(obj, "fallback", p->fallback);
    set_opt(obj, "preferred_chain", p->preferred_chain);
    set_opt(obj, "profile", p->profile);
    json_t *providers = acme_json_object_member(all, "providers");
    if (providers == NULL) {
        providers = json_object();
        json_object_set_new(all, "providers", providers);
    }
    json_object_set_new(providers, p->name, obj);
    return providers_store(ctx, all, err);
}

apr_status_t provider_current(const char **name, const ops_ctx_t *ctx,
                              const char **err)
{
    json_t *all = NULL;
    *name = NULL;
    apr_status_t rv = providers_load(&all, ctx, err);
    if (rv != APR_SUCCESS)
        return rv;
    *name = acme_json_string_member(all, "current");
    if (*name == NULL) {
        *err = "no ACME account yet: run 'expacmectl account register "
               "--provider NAME --email ADDR --agree-tos'";
        return APR_ENOENT;
    }
    return APR_SUCCESS;
}

apr_status_t provider_set_current(const ops_ctx_t *ctx, const char *name,
                                  const char **err)
{
    json_t *all = NULL;
    apr_status_t rv = providers_load(&all, ctx, err);
    if (rv != APR_SUCCESS)
        return rv;
    json_object_set_new(all, "current", json_string(name));
    return providers_store(ctx, all, err);
}

apr_status_t provider_eab_key(unsigned char **key, apr_size_t *len,
                              const ops_ctx_t *ctx, const provider_t *p,
                              const char **err)
{
    char *text = NULL;
    apr_size_t text_len = 0;
    const char *path = apr_pstrcat(ctx->pool, ctx->config->state_dir,
                                   "/providers/", p->name, "/eab.key", NULL);
    apr_status_t rv =
        state_read_file(&text, &text_len, path, 4096, err, ctx->pool);
    if (APR_STATUS_IS_ENOENT(rv))
        *err = apr_psprintf(ctx->pool,
                            "provider %s has an EAB key id but "
                            "no stored HMAC key: add it again",
                            p->name);
    if (rv != APR_SUCCESS)
        return rv;
    rv = base64url_decode(key, len, text, ctx->pool);
    OPENSSL_cleanse(text, text_len);
    if (rv != APR_SUCCESS)
        *err = apr_psprintf(ctx->pool, "%s: stored EAB key is corrupt", path);
    return rv;
}

static void session_options(net_open_t *o, const ops_ctx_t *ctx,
                            const provider_t *p)
{
    memset(o, 0, sizeof(*o));
    o->directory = p->directory;
    o->ca_bundle = p->ca_bundle;
    o->connect_timeout_s = (long)ctx->config->ca_connect_timeout;
    o->total_timeout_s = (long)ctx->config->ca_timeout;
    o->shared = ctx->shared_ca;
    o->interrupted = ctx->interrupted;
    o->progress = ops_progress_relay;
    o->progress_baton = (void *)ctx;
}

/* --- account keys kept ------------------------------------------------- */

/* Every order of a renew connects with its account's key: parsed, its
 * thumbprint and JWK made, about 2 M instructions an order (a fleet's
 * thousand orders share one or two keys).  The file is still read each
 * time (a few hundred bytes) and the key kept for the process is known
 * by the SHA-256 of what was read, so a key replaced on disk is never
 * taken for the one kept.  Nothing kept is freed before the process
 * ends: another order's session may still sign with a key replaced on
 * disk since (at most ACCOUNT_KEYS_KEPT are kept; more are parsed each
 * time). */
#define ACCOUNT_KEYS_KEPT 8

typedef struct {
    const char *path;
    unsigned char digest[32];
    net_signer_t signer;
} kept_key_t;

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static apr_pool_t *kept_pool;
static kept_key_t kept[ACCOUNT_KEYS_KEPT];
static int kept_count;

static apr_status_t kept_forget(void *data)
{
    (void)data;
    kept_pool = NULL;
    kept_count = 0;
    return APR_SUCCESS;
}

static const net_signer_t *kept_find(const char *path,
                                     const unsigned char *digest)
{
    for (int i = 0; i < kept_count; i++)
        if (strcmp(kept[i].path, path) == 0 &&
            memcmp(kept[i].digest, digest, sizeof(kept[i].digest)) == 0)
            return &kept[i].signer;
    return NULL;
}

/* The key in pem as a signer bound to pool; errors name path. */
static apr_status_t signer_parse(net_signer_t *out, const char *path,
                                 const char *pem, apr_size_t len,
                                 const char **err, apr_pool_t *pool)
{
    EVP_PKEY *key = NULL;
    apr_status_t rv = key_file_parse(&key, path, pem, len, err, pool);
    return rv == APR_SUCCESS ? net_signer_make(out, key, err, pool) : rv;
}

/* Called with kept_lock held, with room: the key in an entry of its
 * own. */
static apr_status_t signer_keep(const net_signer_t **out, const char *path,
                                const unsigned char *digest, const char *pem,
                                apr_size_t len, const char **err,
                                apr_pool_t *pool)
{
    apr_pool_t *own = NULL;
    if (kept_pool == NULL && apr_pool_create(&kept_pool, NULL) == APR_SUCCESS)
        apr_pool_cleanup_register(kept_pool, NULL, kept_forget,
                                  apr_pool_cleanup_null);
    if (kept_pool == NULL || apr_pool_create(&own, kept_pool) != APR_SUCCESS) {
        *err = "out of memory";
        return APR_ENOMEM;
    }
    net_signer_t signer;
    apr_status_t rv = signer_parse(&signer, path, pem, len, err, own);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrdup(pool, *err);
        apr_pool_destroy(own);
        return rv;
    }
    kept_key_t *k = &kept[kept_count++];
    k->path = apr_pstrdup(own, path);
    memcpy(k->digest, digest, sizeof(k->digest));
    k->signer = signer;
    *out = &k->signer;
    return APR_SUCCESS;
}

static apr_status_t signer_lookup(const net_signer_t **out, const char *path,
                                  const char *pem, apr_size_t len, int keep,
                                  const char **err, apr_pool_t *pool)
{
    unsigned char digest[32];
    if (EVP_Digest(pem, len, digest, NULL, EVP_sha256(), NULL) != 1) {
        *err = "cannot digest the account key";
        return APR_EGENERAL;
    }
    pthread_mutex_lock(&kept_lock);
    apr_status_t rv = APR_SUCCESS;
    *out = kept_find(path, digest);
    if (*out == NULL && keep && kept_count < ACCOUNT_KEYS_KEPT)
        rv = signer_keep(out, path, digest, pem, len, err, pool);
    pthread_mutex_unlock(&kept_lock);
    if (*out != NULL || rv != APR_SUCCESS)
        return rv;
    net_signer_t *signer = apr_pcalloc(pool, sizeof(*signer));
    *out = signer;
    return signer_parse(signer, path, pem, len, err, pool);
}

apr_status_t provider_account_signer(const net_signer_t **out, const char *path,
                                     int keep, const char **err,
                                     apr_pool_t *pool)
{
    char *pem = NULL;
    apr_size_t len = 0;
    apr_status_t rv = key_file_read(&pem, &len, path, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    rv = signer_lookup(out, path, pem, len, keep, err, pool);
    OPENSSL_cleanse(pem, len);
    return rv;
}

static apr_status_t load_account(provider_conn_t *c, const ops_ctx_t *ctx,
                                 const char **err)
{
    json_t *account = NULL;
    apr_status_t rv = state_account_dir(&c->account_dir, ctx->config,
                                        c->provider->name, err, ctx->pool);
    if (rv != APR_SUCCESS)
        return rv;
    const char *json_path =
        apr_pstrcat(ctx->pool, c->account_dir, "/account.json", NULL);
    rv = state_read_json(&account, json_path, err, ctx->pool);
    if (APR_STATUS_IS_ENOENT(rv))
        *err = apr_psprintf(ctx->pool,
                            "no account at provider %s: run "
                            "'expacmectl account register --provider %s "
                            "--email ADDR --agree-tos'",
                            c->provider->name, c->provider->name);
    if (rv != APR_SUCCESS)
        return rv;
    c->account_url = acme_json_string_member(account, "url");
    if (c->account_url == NULL) {
        *err = apr_psprintf(ctx->pool, "%s: no account url", json_path);
        return APR_EINVAL;
    }
    const net_signer_t *signer = NULL;
    /* Kept only once the network process is forked, so that it never
     * holds a key in its memory. */
    rv = provider_account_signer(
        &signer, apr_pstrcat(ctx->pool, c->account_dir, "/account.key", NULL),
        net_pid() > 0, err, ctx->pool);
    if (rv != APR_SUCCESS)
        return rv;
    c->account_key = signer->key;
    c->account_thumbprint = signer->thumbprint;
    return net_session_use_signer(c->session, signer, c->account_url, err);
}

/* The network and key processes start with the first connection (one
 * channel per order renew may run at once). */
static apr_status_t session_open(net_session_t **out, const ops_ctx_t *ctx,
                                 const net_open_t *options, const char **err)
{
    apr_status_t rv = ops_net_start(ctx, err);
    if (rv == APR_SUCCESS)
        rv = net_session_open(out, options, err, ctx->pool);
    return rv;
}

static apr_status_t connect_chain(provider_conn_t *out, const ops_ctx_t *ctx,
                                  const char *name, int need_account,
                                  int depth_max, const char **err)
{
    memset(out, 0, sizeof(*out));
    apr_status_t rv = APR_SUCCESS;
    if (name == NULL)
        rv = provider_current(&name, ctx, err);
    for (int depth = 0; rv == APR_SUCCESS && depth < depth_max; depth++) {
        const provider_t *p = NULL;
        rv = provider_find(&p, ctx, name, err);
        if (rv != APR_SUCCESS)
            return rv;
        net_open_t options;
        session_options(&options, ctx, p);
        out->provider = p;
        rv = session_open(&out->session, ctx, &options, err);
        int unreachable = http_error_unreachable(rv) || rv == APR_TIMEUP;
        if (rv == APR_SUCCESS)
            return need_account ? load_account(out, ctx, err) : APR_SUCCESS;
        if (!unreachable || p->fallback == NULL || depth + 1 >= depth_max)
            return rv;
        ops_progress(ctx, "provider %s unreachable (%s); trying fallback %s",
                     p->name, *err, p->fallback);
        if (out->unreachable == NULL)
            out->unreachable = *err;
        name = p->fallback;
        rv = APR_SUCCESS;
    }
    if (rv == APR_SUCCESS) {
        *err = "too many fallback providers in a row";
        rv = APR_EINVAL;
    }
    return rv;
}

apr_status_t provider_connect(provider_conn_t *out, const ops_ctx_t *ctx,
                              const char *name, int need_account,
                              const char **err)
{
    return connect_chain(out, ctx, name, need_account, FALLBACK_DEPTH, err);
}

apr_status_t provider_connect_direct(provider_conn_t *out, const ops_ctx_t *ctx,
                                     const char *name, const char **err)
{
    return connect_chain(out, ctx, name, 0, 1, err);
}
