/* status.c — the status document: per managed certificate what manual §3
 * lists, as `status` prints it and as it is published (no secrets) to
 * status_file for the module's status page. */
#include "ops/status.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apr_file_info.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "acme/acme_json.h"
#include "base/json_pool.h"
#include "base/json_time.h"
#include "base/schedule.h"
#include "base/state.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "ops/cert_info.h"
#include "ops/cert_state.h"
#include "ops/challenge_publish.h"
#include "ops/deploy.h"
#include "ops/httpd_ctl.h"
#include "ops/provider.h"
#include "ops/status_lines.h"
#include "status_flat.h"

static apr_status_t leaf_info(crypt_cert_info_t *info, const char *path,
                              apr_pool_t *pool)
{
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_array_header_t *chain = NULL;
    apr_status_t rv =
        state_read_file(&pem, &len, path, STATE_FILE_MAX, &err, pool);
    if (rv == APR_SUCCESS)
        rv = crypt_chain_parse(&chain, pem, len, &err, pool);
    if (rv == APR_SUCCESS)
        rv = crypt_cert_info(info, APR_ARRAY_IDX(chain, 0, X509 *), pool);
    return rv;
}

/* What deploy recorded about the leaf (deployed.json "info"), or NULL
 * for a certificate deployed before it recorded that. */
static json_t *recorded_info(json_t *deployed, const char *key)
{
    json_t *info = acme_json_object_member(deployed, key);
    if (info == NULL || !json_is_integer(json_object_get(info, "not_before")) ||
        !json_is_integer(json_object_get(info, "not_after")))
        return NULL;
    return json_deep_copy(info);
}

/* Which rule set renewal_due (base/schedule.h), in words for status. */
static const char *renewal_rule(const crypt_cert_info_t *info)
{
    if (info->not_after - info->not_before < 10 * 86400)
        return "half of the lifetime (shorter than ten days)";
    return "two-thirds of the lifetime";
}

static void add_validity(json_t *o, const ops_ctx_t *ctx, const char *key,
                         const char *path, json_t *recorded, json_t *warnings)
{
    crypt_cert_info_t info;
    json_t *c = recorded;
    if (c == NULL) {
        if (leaf_info(&info, path, ctx->pool) != APR_SUCCESS)
            return;
        c = cert_info_json(&info);
    }
    info.not_before = json_integer_value(json_object_get(c, "not_before"));
    info.not_after = json_integer_value(json_object_get(c, "not_after"));
    apr_int64_t due = schedule_renewal_due(info.not_before, info.not_after);
    json_object_set_new(c, "renewal_due", json_integer(due));
    json_object_set_new(c, "renewal_rule", json_string(renewal_rule(&info)));
    json_object_set_new(o, key, c);
    apr_int64_t now = ops_now(ctx);
    if (strcmp(key, "deployed") == 0 && now >= info.not_after)
        json_array_append_new(warnings, json_string("the deployed "
                                                    "certificate has expired"));
    else if (strcmp(key, "deployed") == 0 && now >= due)
        json_array_append_new(warnings,
                              json_string("two-thirds of the deployed "
                                          "certificate's lifetime has elapsed: "
                                          "sign and deploy a new one"));
}

/* The CA's ARI window and the moment chosen in it (RFC 9773), when the
 * CA offered one. */
static void add_ari(json_t *o, json_t *sched)
{
    json_t *start = json_object_get(sched, "ari_start");
    json_t *end = json_object_get(sched, "ari_end");
    json_t *pick = json_object_get(sched, "ari_time");
    if (!json_is_integer(start) || !json_is_integer(end))
        return;
    json_t *ari = json_pack("{s:O, s:O}", "start", start, "end", end);
    if (json_is_integer(pick))
        json_object_set(ari, "time", pick);
    json_object_set_new(o, "ari", ari);
}

/* Automated renewal as status shows it: on/off, deploy slot and days,
 * the random resubmission times, the ARI window, backoff. */
static void add_schedule(json_t *o, const ops_ctx_t *ctx, cert_state_t *cert,
                         json_t *warnings)
{
    json_t *sched = NULL;
    const char *err = NULL;
    apr_status_t rv = state_read_json(
        &sched, cert_state_file(cert, "schedule.json"), &err, ctx->pool);
    /* Unreadable is not "off": renew fails on it every time. */
    if (rv != APR_SUCCESS && !APR_STATUS_IS_ENOENT(rv))
        json_array_append_new(
            warnings, json_sprintf("the renewal schedule cannot be read (%s): "
                                   "remove the file and run schedule again",
                                   err));
    if (rv != APR_SUCCESS)
        return;
    int automated = json_is_true(json_object_get(sched, "automated"));
    json_object_set_new(o, "automated", json_boolean(automated));
    json_t *days = json_object_get(sched, "days");
    json_t *minute = json_object_get(sched, "minute");
    schedule_conf_t conf = {automated, (unsigned)json_integer_value(days),
                            (int)json_integer_value(minute)};
    if (automated && json_is_integer(days) && json_is_integer(minute)) {
        json_object_set_new(o, "deploy_time",
                            json_sprintf("%02d:%02d", conf.minute_of_day / 60,
                                         conf.minute_of_day % 60));
        json_object_set_new(
            o, "next_deploy_slot",
            json_integer(schedule_next_slot(&conf, ops_now(ctx))));
    }
    const char *names[7];
    int n = schedule_day_names(conf.days, names);
    json_t *list = json_array();
    for (int i = 0; automated && i < n; i++)
        json_array_append_new(list, json_string(names[i]));
    if (automated && json_is_integer(days))
        json_object_set_new(o, "deploy_days", list);
    else
        json_decref(list);
    add_ari(o, sched);
    static const char *const copied[] = {"resubmit", "next_attempt",
                                         "failures"};
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
        json_t *v = json_object_get(sched, copied[i]);
        if (v != NULL)
            json_object_set(o, copied[i], v);
    }
}

static json_t *cert_status(const ops_ctx_t *ctx, const char *name,
                           const char *provider, const char *account)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    if (cert_state_open(&cert, ctx, name, &err) != APR_SUCCESS)
        return json_pack("{s:s, s:s}", "name", name, "error", err);
    json_t *warnings = json_array();
    json_t *o = json_pack("{s:s, s:s, s:b, s:s?, s:s?}", "name", name, "state",
                          cert_state_name(cert), "automated", 0, "provider",
                          provider, "account", account);
    json_t *csr = NULL;
    if (state_read_json(&csr, cert_state_file(cert, "csr.json"), &err,
                        ctx->pool) == APR_SUCCESS) {
        json_object_set(o, "names", json_object_get(csr, "names"));
        json_object_set(o, "key_type", json_object_get(csr, "key_type"));
        if (json_object_get(csr, "key_type2") != NULL)
            json_object_set(o, "key_type2", json_object_get(csr, "key_type2"));
    }
    const expacme_cert_conf_t *conf = config_cert(ctx->config, name);
    json_t *deployed = NULL;
    if (conf != NULL &&
        state_read_json(&deployed, cert_state_file(cert, "deployed.json"), &err,
                        ctx->pool) == APR_SUCCESS) {
        add_validity(o, ctx, "deployed", conf->cert_file,
                     recorded_info(deployed, "info"), warnings);
        json_t *second = recorded_info(deployed, "info2");
        if (second != NULL)
            json_object_set_new(o, "deployed2", second);
    }
    if (cert_state_has(cert, "pending.pem"))
        add_validity(o, ctx, "pending", cert_state_file(cert, "pending.pem"),
                     NULL, warnings);
    if (cert_state_has(cert, "pending2.pem")) {
        crypt_cert_info_t info;
        if (leaf_info(&info, cert_state_file(cert, "pending2.pem"),
                      ctx->pool) == APR_SUCCESS)
            json_object_set_new(o, "pending2", cert_info_json(&info));
    }
    add_schedule(o, ctx, cert, warnings);
    json_t *sign = json_object_get(cert->status, "last_sign");
    json_object_set_new(o, "last_sign", sign ? json_copy(sign) : json_null());
    json_t *deploy = json_object_get(cert->status, "last_deploy");
    json_object_set_new(o, "last_deploy",
                        deploy ? json_copy(deploy) : json_null());
    json_object_set_new(o, "warnings", warnings);
    return o;
}

/* The configured certificates, then any other with a state directory. */
static apr_array_header_t *cert_names(const ops_ctx_t *ctx)
{
    apr_array_header_t *names =
        apr_array_make(ctx->pool, 4, sizeof(const char *));
    apr_hash_t *seen = apr_hash_make(ctx->pool);
    for (int i = 0; i < ctx->config->certs->nelts; i++) {
        const char *n =
            APR_ARRAY_IDX(ctx->config->certs, i, expacme_cert_conf_t *)->name;
        APR_ARRAY_PUSH(names, const char *) = n;
        apr_hash_set(seen, n, APR_HASH_KEY_STRING, n);
    }
    apr_dir_t *dir = NULL;
    apr_finfo_t fi;
    const char *path =
        apr_pstrcat(ctx->pool, ctx->config->state_dir, "/certs", NULL);
    if (apr_dir_open(&dir, path, ctx->pool) != APR_SUCCESS)
        return names;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) ==
           APR_SUCCESS) {
        if (fi.filetype != APR_DIR || !config_name_valid(fi.name) ||
            apr_hash_get(seen, fi.name, APR_HASH_KEY_STRING) != NULL)
            continue;
        const char *n = apr_pstrdup(ctx->pool, fi.name);
        APR_ARRAY_PUSH(names, const char *) = n;
    }
    apr_dir_close(dir);
    return names;
}

/* What killed helpers left behind: every order's tokens withdrawn, every
 * deploy switched back, then one reload for all of them. */
static void recover_all(const ops_ctx_t *ctx, const apr_array_header_t *names)
{
    int reload = 0;
    for (int i = 0; i < names->nelts; i++) {
        apr_pool_t *sub = NULL;
        apr_pool_create(&sub, ctx->pool);
        ops_ctx_t cert_ctx;
        ops_ctx_sub(&cert_ctx, ctx, sub);
        cert_state_t *cert = NULL;
        const char *err = NULL;
        int recovered = 0;
        if (cert_state_open(&cert, &cert_ctx,
                            APR_ARRAY_IDX(names, i, const char *),
                            &err) == APR_SUCCESS &&
            cert_state_lock(cert, &err) == APR_SUCCESS) {
            cert_state_recover(cert, &recovered, &err);
            deploy_recover_deferred(&cert_ctx, cert, &recovered, &reload);
        }
        apr_pool_destroy(sub);
    }
    const char *err = NULL;
    if (reload && httpd_ctl_run(ctx, HTTPD_CTL_GRACEFUL, &err) != APR_SUCCESS)
        ops_progress(ctx, "warning: %s", err);
}

json_t *status_document(const ops_ctx_t *ctx)
{
    const char *provider = NULL;
    const char *err = NULL;
    const char *account = NULL;
    if (provider_current(&provider, ctx, &err) == APR_SUCCESS) {
        json_t *acct = NULL;
        const char *path =
            apr_pstrcat(ctx->pool, ctx->config->state_dir, "/accounts/",
                        provider, "/account.json", NULL);
        if (state_read_json(&acct, path, &err, ctx->pool) == APR_SUCCESS)
            account = acme_json_string_member(acct, "url");
    }
    json_t *certs = json_array();
    apr_array_header_t *names = cert_names(ctx);
    recover_all(ctx, names);
    for (int i = 0; i < names->nelts; i++) {
        /* A pool per certificate: a thousand of them stay small. */
        apr_pool_t *sub = NULL;
        apr_pool_create(&sub, ctx->pool);
        ops_ctx_t cert_ctx;
        ops_ctx_sub(&cert_ctx, ctx, sub);
        json_array_append_new(
            certs, cert_status(&cert_ctx, APR_ARRAY_IDX(names, i, const char *),
                               provider, account));
        apr_pool_destroy(sub);
    }
    return json_pack("{s:I, s:o}", "generated", (json_int_t)time(NULL),
                     "certificates", certs);
}

/* Whether users other than root may write in dir (a sticky /tmp too):
 * they could swap in a page of their own, or take over our files. */
static int open_to_others(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && (st.st_mode & S_IWOTH) != 0;
}

void status_publish(const ops_ctx_t *ctx, json_t *doc)
{
    const char *err = NULL;
    const char *path = ctx->config->status_file;
    char *dir = apr_pstrdup(ctx->pool, path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        /* A directory refused as unsafe (another user's, writable by
         * others without the sticky bit) gets no status file at all. */
        if (state_make_dir(dir, 0755, &err, ctx->pool) != APR_SUCCESS) {
            ops_progress(ctx, "warning: cannot publish the status: %s", err);
            return;
        }
    }
    if (slash != NULL && open_to_others(slash == dir ? "/" : dir)) {
        ops_progress(ctx,
                     "warning: not publishing the status in %s: others "
                     "can write there",
                     slash == dir ? "/" : dir);
        return;
    }
    /* The line form first (the module's page), from the epoch times. */
    const char *flat = NULL;
    if (status_lines_write(ctx, doc, status_lines_path(path, ctx->pool), &flat,
                           &err) != APR_SUCCESS)
        ops_progress(ctx, "warning: cannot publish the status page: %s", err);
    /* What admin UIs read says times as --json does. */
    json_t *out = json_pool_bind(json_deep_copy(doc), ctx->pool);
    json_time_rfc3339(out);
    char *text = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL)
        return;
    /* Through the spare: every command publishes, and a fleet's thousand
     * csr generate runs would free two inodes each (state.h); the module
     * holds a shared lock on what it reads and sends. */
    if (state_write_file_spare(path, text, strlen(text), 0644, &err,
                               ctx->pool) != APR_SUCCESS)
        ops_progress(ctx, "warning: cannot publish the status: %s", err);
    /* In a cluster, every peer's status page lists this report too, in
     * both forms (the page reads the line form). */
    if (challenge_publish_report(ctx->config, text, flat ? flat : "", &err,
                                 ctx->pool) != APR_SUCCESS)
        ops_progress(ctx,
                     "warning: cannot report the status to the "
                     "cluster: %s",
                     err);
    free(text);
}

void status_refresh(const ops_ctx_t *ctx)
{
    json_t *doc = json_pool_bind(status_document(ctx), ctx->pool);
    status_publish(ctx, doc);
}

int status_fresh(const ops_ctx_t *ctx, long max_age)
{
    struct stat st;
    if (stat(ctx->config->status_file, &st) != 0)
        return 0;
    apr_int64_t age = (apr_int64_t)time(NULL) - (apr_int64_t)st.st_mtime;
    return age >= 0 && age < max_age;
}
