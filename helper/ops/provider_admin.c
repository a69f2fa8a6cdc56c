/* provider_admin.c — see provider_admin.h. */
#include "ops/provider_admin.h"

#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "base/base64url.h"
#include "base/state.h"

ops_status_t provider_admin_list(provider_admin_list_result_t *result,
                                 ops_error_t *error, const ops_ctx_t *ctx)
{
    const char *err = NULL;
    if (provider_list(&result->providers, ctx, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2201, ctx->pool, "%s", err);
    /* No current provider is no error here: there is no account yet. */
    const char *ignored = NULL;
    provider_current(&result->current, ctx, &ignored);
    return OPS_OK;
}

/* Trailing newlines and blanks are how editors and echo leave the file. */
static apr_size_t trim_end(char *text, apr_size_t len)
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
                       text[len - 1] == ' '))
        text[--len] = '\0';
    return len;
}

/* The HMAC key file must be the operator's secret alone: 0600 or
 * tighter, a regular file, base64url (as Sectigo and others issue it). */
static ops_status_t read_eab_key(unsigned char **key, apr_size_t *len,
                                 ops_error_t *error, const ops_ctx_t *ctx,
                                 const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return ops_fail(error, OPS_USAGE, 2211, ctx->pool,
                        "--eab-hmac-key-file %s: not a readable file", path);
    if (st.st_mode & 077)
        return ops_fail(error, OPS_USAGE, 2212, ctx->pool,
                        "--eab-hmac-key-file %s: must be mode 0600 (it is "
                        "%04o)",
                        path, (unsigned)(st.st_mode & 07777));
    char *text = NULL;
    apr_size_t text_len = 0;
    const char *err = NULL;
    if (state_read_file(&text, &text_len, path, 4096, &err, ctx->pool) !=
        APR_SUCCESS)
        return ops_fail(error, OPS_USAGE, 2213, ctx->pool, "%s",
                        err ? err : "cannot read the EAB key file");
    text_len = trim_end(text, text_len);
    apr_status_t rv = base64url_decode(key, len, text, ctx->pool);
    OPENSSL_cleanse(text, text_len);
    if (rv != APR_SUCCESS || *len < 16)
        return ops_fail(error, OPS_USAGE, 2214, ctx->pool,
                        "--eab-hmac-key-file %s: not a base64url HMAC key "
                        "of at least 16 bytes",
                        path);
    return OPS_OK;
}

/* --ca-bundle: absolute, since every later run (the renewal timer too)
 * reads it again from wherever it starts; and certificates in it. */
static int ca_bundle_valid(const ops_ctx_t *ctx, const char *path)
{
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    return path[0] == '/' &&
           state_read_file(&pem, &len, path, STATE_FILE_MAX, &err, ctx->pool) ==
               APR_SUCCESS &&
           strstr(pem, "-----BEGIN CERTIFICATE-----") != NULL;
}

static ops_status_t check_add(ops_error_t *error, const ops_ctx_t *ctx,
                              const provider_t *p, const char *key_file)
{
    const provider_t *existing = NULL;
    const char *err = NULL;
    apr_pool_t *pool = ctx->pool;
    if (!config_name_valid(p->name))
        return ops_fail(error, OPS_USAGE, 2215, pool,
                        "provider name: "
                        "letters, digits, '.', '-', '_'");
    if (provider_find(&existing, ctx, p->name, &err) == APR_SUCCESS &&
        existing->builtin)
        return ops_fail(error, OPS_USAGE, 2216, pool,
                        "%s is a built-in provider", p->name);
    if (p->directory == NULL || strncmp(p->directory, "https://", 8) != 0)
        return ops_fail(error, OPS_USAGE, 2217, pool,
                        "--directory must be an https:// URL");
    if ((p->eab_kid == NULL) != (key_file == NULL))
        return ops_fail(error, OPS_USAGE, 2218, pool,
                        "--eab-kid and --eab-hmac-key-file go together");
    if (p->ca_bundle != NULL && !ca_bundle_valid(ctx, p->ca_bundle))
        return ops_fail(error, OPS_USAGE, 2219, pool,
                        "--ca-bundle %s: not an absolute path to a PEM file "
                        "of certificates",
                        p->ca_bundle);
    if (p->fallback != NULL &&
        (strcmp(p->fallback, p->name) == 0 ||
         provider_find(&existing, ctx, p->fallback, &err) != APR_SUCCESS))
        return ops_fail(error, OPS_USAGE, 2220, pool,
                        "--fallback %s: not another known provider",
                        p->fallback);
    return OPS_OK;
}

ops_status_t provider_admin_add(ops_error_t *error, const ops_ctx_t *ctx,
                                const provider_t *p, const char *key_file)
{
    unsigned char *key = NULL;
    apr_size_t key_len = 0;
    ops_status_t st = check_add(error, ctx, p, key_file);
    if (st == OPS_OK && key_file != NULL)
        st = read_eab_key(&key, &key_len, error, ctx, key_file);
    if (st != OPS_OK)
        return st;
    const char *err = NULL;
    apr_status_t rv = provider_save(ctx, p, key, key_len, &err);
    /* The decoded key lives in the pool until it goes: wipe it now. */
    if (key != NULL)
        OPENSSL_cleanse(key, key_len);
    if (rv != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2221, ctx->pool, "%s", err);
    return OPS_OK;
}
