/* account.c — see account.h. */
#include "ops/account.h"
#include "ops/key_file.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "apr_strings.h"

#include "base/state.h"
#include "ops/provider.h"

static const char *account_file(const provider_conn_t *c, const char *name,
                                apr_pool_t *pool)
{
    return apr_pstrcat(pool, c->account_dir, "/", name, NULL);
}

static json_t *account_record(const provider_conn_t *c, const char *url,
                              const char *email, json_t *account)
{
    const char *status = json_string_value(json_object_get(account, "status"));
    json_t *rec = json_pack(
        "{s:s, s:s, s:s, s:I}", "url", url, "provider", c->provider->name,
        "status", status ? status : "valid", "created", (json_int_t)time(NULL));
    if (email != NULL)
        json_object_set_new(rec, "email", json_string(email));
    if (c->session->terms_of_service != NULL)
        json_object_set_new(rec, "terms_of_service",
                            json_string(c->session->terms_of_service));
    return rec;
}

/* newAccount with External Account Binding when the provider has one;
 * the HMAC key is wiped as soon as the request is signed. */
static ops_status_t new_account(const char **url, json_t **account,
                                ops_error_t *error, const ops_ctx_t *ctx,
                                provider_conn_t *c, const char *email)
{
    const char *err = NULL;
    unsigned char *hmac = NULL;
    apr_size_t hmac_len = 0;
    if (c->provider->eab_kid != NULL &&
        provider_eab_key(&hmac, &hmac_len, ctx, c->provider, &err) !=
            APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2306, ctx->pool, "%s", err);
    apr_status_t rv = net_account_register(url, account, c->session, email, 1,
                                           hmac ? c->provider->eab_kid : NULL,
                                           hmac, hmac_len, &err, ctx->pool);
    if (hmac != NULL)
        OPENSSL_cleanse(hmac, hmac_len);
    if (rv != APR_SUCCESS) {
        error->problem = c->session->problem;
        return ops_fail(error, OPS_FAILED, 2307, ctx->pool,
                        "account register: %s", err);
    }
    return OPS_OK;
}

static ops_status_t register_with_ca(account_register_result_t *result,
                                     ops_error_t *error, const ops_ctx_t *ctx,
                                     provider_conn_t *c, const char *email,
                                     EVP_PKEY *key)
{
    const char *err = NULL;
    json_t *account = NULL;
    if (net_session_use_key(c->session, key, NULL, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2314, ctx->pool, "account key: %s",
                        err);
    ops_status_t st = new_account(&result->url, &account, error, ctx, c, email);
    if (st != OPS_OK)
        return st;
    result->record = json_pool_bind(
        account_record(c, result->url, email, account), ctx->pool);
    if (state_write_json(account_file(c, "account.json", ctx->pool),
                         result->record, &err, ctx->pool) != APR_SUCCESS ||
        provider_set_current(ctx, c->provider->name, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2308, ctx->pool, "%s", err);
    return OPS_OK;
}

/* A key left by an earlier, interrupted registration is reused: the CA
 * answers with the account it already made for it.  Only a missing key
 * is made anew: an unreadable one is the operator's to look at. */
static ops_status_t account_key(EVP_PKEY **key, ops_error_t *error,
                                const ops_ctx_t *ctx, const char *path,
                                crypt_key_type_t type)
{
    const char *err = NULL;
    apr_status_t rv = key_file_load(key, path, &err, ctx->pool);
    if (APR_STATUS_IS_ENOENT(rv)) {
        rv = crypt_key_generate(key, type, &err, ctx->pool);
        if (rv == APR_SUCCESS)
            rv = key_file_save(*key, path, &err, ctx->pool);
    }
    if (rv != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2309, ctx->pool, "account key: %s",
                        err);
    return OPS_OK;
}

ops_status_t account_register(account_register_result_t *result,
                              ops_error_t *error, const ops_ctx_t *ctx,
                              const account_register_request_t *req)
{
    ops_net_early(ctx);
    provider_conn_t c;
    const char *err = NULL;
    memset(result, 0, sizeof(*result));
    /* A provider that does not exist is a usage error (manual §3). */
    const provider_t *known = NULL;
    if (provider_find(&known, ctx, req->provider, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_USAGE, 2304, ctx->pool, "%s", err);
    if (provider_connect_direct(&c, ctx, req->provider, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2313, ctx->pool, "%s", err);
    const char *tos = c.session->terms_of_service;
    result->terms_of_service = tos;
    ops_progress(ctx, "terms of service of %s: %s", req->provider,
                 tos ? acme_escape(tos, 500, ctx->pool) : "(none published)");
    if (!req->agree_tos) {
        result->needs_agreement = 1;
        return ops_fail(error, OPS_USAGE, 2305, ctx->pool,
                        "read the terms of service (%s) and add --agree-tos "
                        "to accept them",
                        tos ? tos : "none published");
    }
    if (state_account_dir(&c.account_dir, ctx->config, req->provider, &err,
                          ctx->pool) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2310, ctx->pool, "%s", err);
    EVP_PKEY *key = NULL;
    ops_status_t st =
        account_key(&key, error, ctx,
                    account_file(&c, "account.key", ctx->pool), req->key_type);
    if (st != OPS_OK)
        return st;
    return register_with_ca(result, error, ctx, &c, req->email, key);
}

static ops_status_t connect_account(provider_conn_t *c, ops_error_t *error,
                                    const ops_ctx_t *ctx, int logno)
{
    const char *err = NULL;
    if (provider_connect(c, ctx, NULL, 1, &err) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, logno, ctx->pool, "%s", err);
    return OPS_OK;
}

static const char *key_type_name(EVP_PKEY *key)
{
    crypt_key_type_t type;
    crypt_key_type_of(&type, key); /* key_file_load checked it */
    return crypt_key_type_name(type);
}

ops_status_t account_show(account_show_result_t *result, ops_error_t *error,
                          const ops_ctx_t *ctx)
{
    ops_net_early(ctx);
    provider_conn_t c;
    const char *err = NULL;
    ops_status_t st = connect_account(&c, error, ctx, 2311);
    if (st != OPS_OK)
        return st;
    json_t *account = NULL;
    if (net_account_fetch(&account, c.session, &err, ctx->pool) !=
        APR_SUCCESS) {
        error->problem = c.session->problem;
        return ops_fail(error, OPS_FAILED, 2312, ctx->pool, "account show: %s",
                        err);
    }
    result->provider = c.provider->name;
    result->url = c.account_url;
    result->status = json_string_value(json_object_get(account, "status"));
    result->key_type = key_type_name(c.account_key);
    result->contact = json_object_get(account, "contact");
    return OPS_OK;
}

/* keyChange signed by both keys; the CA's problem says why it refused. */
static ops_status_t key_change(provider_conn_t *c, ops_error_t *error,
                               const ops_ctx_t *ctx, EVP_PKEY *key)
{
    const char *err = NULL;
    if (net_account_key_change(c->session, key, &err, ctx->pool) == APR_SUCCESS)
        return OPS_OK;
    error->problem = c->session->problem;
    return ops_fail(error, OPS_FAILED, 2324, ctx->pool, "account rollover: %s",
                    c->session->problem
                        ? acme_problem_text(c->session->problem, ctx->pool)
                        : err);
}

/* The new key is written beside the old one first, so that whatever
 * happens after the CA switched keys, the new key is on disk. */
ops_status_t account_rollover(account_rollover_result_t *result,
                              ops_error_t *error, const ops_ctx_t *ctx,
                              const crypt_key_type_t *key_type)
{
    ops_net_early(ctx);
    provider_conn_t c;
    const char *err = NULL;
    ops_status_t st = connect_account(&c, error, ctx, 2321);
    if (st != OPS_OK)
        return st;
    crypt_key_type_t type;
    crypt_key_type_of(&type, c.account_key);
    if (key_type != NULL)
        type = *key_type;
    EVP_PKEY *key = NULL;
    const char *next = account_file(&c, "account.key.next", ctx->pool);
    const char *current = account_file(&c, "account.key", ctx->pool);
    if (crypt_key_generate(&key, type, &err, ctx->pool) != APR_SUCCESS ||
        key_file_save(key, next, &err, ctx->pool) != APR_SUCCESS)
        return ops_fail(error, OPS_FAILED, 2323, ctx->pool, "new key: %s", err);
    st = key_change(&c, error, ctx, key);
    if (st != OPS_OK) {
        state_remove(next, &err, ctx->pool);
        return st;
    }
    if (rename(next, current) != 0)
        return ops_fail(error, OPS_FAILED, 2325, ctx->pool,
                        "the CA switched "
                        "to the new key but %s could not replace %s",
                        next, current);
    result->url = c.account_url;
    result->key_type = crypt_key_type_name(type);
    return OPS_OK;
}

/* account.json keeps the status for `status`; the CA's answer counts,
 * so failing to note it locally is no failure. */
static void note_deactivated(const provider_conn_t *c, const ops_ctx_t *ctx)
{
    json_t *rec = NULL;
    const char *err = NULL;
    const char *path = account_file(c, "account.json", ctx->pool);
    if (state_read_json(&rec, path, &err, ctx->pool) == APR_SUCCESS) {
        json_object_set_new(rec, "status", json_string("deactivated"));
        state_write_json(path, rec, &err, ctx->pool);
    }
}

ops_status_t account_deactivate(account_deactivate_result_t *result,
                                ops_error_t *error, const ops_ctx_t *ctx)
{
    ops_net_early(ctx);
    provider_conn_t c;
    const char *err = NULL;
    ops_status_t st = connect_account(&c, error, ctx, 2331);
    if (st != OPS_OK)
        return st;
    json_t *account = NULL;
    if (net_account_deactivate(&account, c.session, &err, ctx->pool) !=
        APR_SUCCESS) {
        error->problem = c.session->problem;
        return ops_fail(error, OPS_FAILED, 2332, ctx->pool,
                        "account deactivate: %s", err);
    }
    note_deactivated(&c, ctx);
    result->url = c.account_url;
    result->status = json_string_value(json_object_get(account, "status"));
    return OPS_OK;
}
