/* cmd_status.c — `status`: per managed certificate what SPEC §3 lists,
 * and the same document published (no secrets) to status_file for the
 * module's status page. */
#include "cmd/commands.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apr_file_info.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "ops/cert_info.h"
#include "ops/cert_state.h"
#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "acme/json.h"
#include "ops/provider.h"
#include "base/schedule.h"
#include "base/state.h"

static apr_status_t leaf_info(crypt_cert_info_t *info, const char *path,
                              apr_pool_t *pool)
{
    char *pem = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    apr_array_header_t *chain = NULL;
    apr_status_t rv = state_read_file(&pem, &len, path, STATE_FILE_MAX, &err,
                                      pool);
    if (rv == APR_SUCCESS)
        rv = crypt_chain_parse(&chain, pem, len, &err, pool);
    if (rv == APR_SUCCESS)
        rv = crypt_cert_info(info, APR_ARRAY_IDX(chain, 0, X509 *), pool);
    return rv;
}

static void add_validity(json_t *o, cli_t *cli, const char *key,
                         const char *path, json_t *warnings)
{
    crypt_cert_info_t info;
    if (leaf_info(&info, path, cli->pool) != APR_SUCCESS)
        return;
    json_t *c = cert_info_json(&info);
    apr_int64_t due = schedule_renewal_due(info.not_before, info.not_after);
    json_object_set_new(c, "renewal_due", json_integer(due));
    json_object_set_new(o, key, c);
    apr_int64_t now = cli_now();
    if (strcmp(key, "deployed") == 0 && now >= info.not_after)
        json_array_append_new(warnings, json_string("the deployed "
                                                    "certificate has expired"));
    else if (strcmp(key, "deployed") == 0 && now >= due)
        json_array_append_new(warnings, json_string(
            "two-thirds of the deployed certificate's lifetime has elapsed: "
            "sign and deploy a new one"));
}

/* Automated renewal as status shows it: on/off, deploy slot, the random
 * resubmission times, backoff. */
static void add_schedule(json_t *o, cli_t *cli, cert_state_t *cert)
{
    json_t *sched = NULL;
    const char *err = NULL;
    if (state_read_json(&sched, cert_state_file(cert, "schedule.json"), &err,
                        cli->pool) != APR_SUCCESS)
        return;
    int automated = json_is_true(json_object_get(sched, "automated"));
    json_object_set_new(o, "automated", json_boolean(automated));
    json_t *days = json_object_get(sched, "days");
    json_t *minute = json_object_get(sched, "minute");
    schedule_conf_t conf = {automated,
                            (unsigned)json_integer_value(days),
                            (int)json_integer_value(minute)};
    if (automated && json_is_integer(days) && json_is_integer(minute)) {
        json_object_set_new(o, "deploy_time",
                            json_sprintf("%02d:%02d", conf.minute_of_day / 60,
                                         conf.minute_of_day % 60));
        json_object_set_new(o, "next_deploy_slot",
                            json_integer(schedule_next_slot(&conf,
                                                            cli_now())));
    }
    static const char *const copied[] = {"resubmit", "next_attempt",
                                         "failures"};
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
        json_t *v = json_object_get(sched, copied[i]);
        if (v != NULL)
            json_object_set(o, copied[i], v);
    }
}

static json_t *cert_status(cli_t *cli, const char *name, const char *provider,
                           const char *account)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    if (cert_state_open(&cert, cli, name, &err) != APR_SUCCESS)
        return json_pack("{s:s, s:s}", "name", name, "error", err);
    int recovered = 0;
    if (cert_state_lock(cert, &err) == APR_SUCCESS) {
        cert_state_recover(cert, &recovered, &err);
        cmd_deploy_recover(cli, cert, &recovered);
    }
    json_t *warnings = json_array();
    json_t *o = json_pack("{s:s, s:s, s:b, s:s?, s:s?}", "name", name,
                          "state", cert_state_name(cert), "automated", 0,
                          "provider", provider, "account", account);
    json_t *csr = NULL;
    if (state_read_json(&csr, cert_state_file(cert, "csr.json"), &err,
                        cli->pool) == APR_SUCCESS) {
        json_object_set(o, "names", json_object_get(csr, "names"));
        json_object_set(o, "key_type", json_object_get(csr, "key_type"));
    }
    const expacme_cert_conf_t *conf = config_cert(cli->config, name);
    if (conf != NULL && cert_state_has(cert, "deployed.json"))
        add_validity(o, cli, "deployed", conf->cert_file, warnings);
    if (cert_state_has(cert, "pending.pem"))
        add_validity(o, cli, "pending", cert_state_file(cert, "pending.pem"),
                     warnings);
    add_schedule(o, cli, cert);
    json_t *sign = json_object_get(cert->status, "last_sign");
    json_object_set_new(o, "last_sign", sign ? json_copy(sign) : json_null());
    json_t *deploy = json_object_get(cert->status, "last_deploy");
    json_object_set_new(o, "last_deploy",
                        deploy ? json_copy(deploy) : json_null());
    json_object_set_new(o, "warnings", warnings);
    return o;
}

/* The configured certificates, then any other with a state directory. */
static apr_array_header_t *cert_names(cli_t *cli)
{
    apr_array_header_t *names = apr_array_make(cli->pool, 4,
                                               sizeof(const char *));
    apr_hash_t *seen = apr_hash_make(cli->pool);
    for (int i = 0; i < cli->config->certs->nelts; i++) {
        const char *n =
            APR_ARRAY_IDX(cli->config->certs, i, expacme_cert_conf_t *)->name;
        APR_ARRAY_PUSH(names, const char *) = n;
        apr_hash_set(seen, n, APR_HASH_KEY_STRING, n);
    }
    apr_dir_t *dir = NULL;
    apr_finfo_t fi;
    const char *path = apr_pstrcat(cli->pool, cli->config->state_dir,
                                   "/certs", NULL);
    if (apr_dir_open(&dir, path, cli->pool) != APR_SUCCESS)
        return names;
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir) ==
           APR_SUCCESS) {
        if (fi.filetype != APR_DIR || !config_name_valid(fi.name) ||
            apr_hash_get(seen, fi.name, APR_HASH_KEY_STRING) != NULL)
            continue;
        const char *n = apr_pstrdup(cli->pool, fi.name);
        APR_ARRAY_PUSH(names, const char *) = n;
    }
    apr_dir_close(dir);
    return names;
}

static json_t *status_document(cli_t *cli)
{
    const char *provider = NULL;
    const char *err = NULL;
    const char *account = NULL;
    if (provider_current(&provider, cli, &err) == APR_SUCCESS) {
        json_t *acct = NULL;
        const char *path = apr_pstrcat(cli->pool, cli->config->state_dir,
                                       "/accounts/", provider,
                                       "/account.json", NULL);
        if (state_read_json(&acct, path, &err, cli->pool) == APR_SUCCESS)
            account = json_string_member(acct, "url");
    }
    json_t *certs = json_array();
    apr_array_header_t *names = cert_names(cli);
    for (int i = 0; i < names->nelts; i++)
        json_array_append_new(
            certs, cert_status(cli, APR_ARRAY_IDX(names, i, const char *),
                               provider, account));
    return json_pack("{s:I, s:o}", "generated", (json_int_t)time(NULL),
                     "certificates", certs);
}

void cmd_status_publish(cli_t *cli, json_t *doc)
{
    const char *err = NULL;
    const char *path = cli->config->status_file;
    char *dir = apr_pstrdup(cli->pool, path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        state_make_dir(dir, 0755, &err, cli->pool);
    }
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL)
        return;
    if (state_write_file(path, text, strlen(text), 0644, &err, cli->pool) !=
        APR_SUCCESS)
        cli_progress(cli, "warning: cannot publish the status: %s", err);
    free(text);
}

void cmd_status_refresh(cli_t *cli)
{
    json_t *doc = json_pool_bind(status_document(cli), cli->pool);
    cmd_status_publish(cli, doc);
}

static void print_sign(cli_t *cli, const char *label, json_t *s)
{
    if (!json_is_object(s)) {
        cli_say(cli, "  %-20s never\n", label);
        return;
    }
    cli_say(cli, "  %-20s %s at %s: %s\n", label,
            json_string_member(s, "result"),
            cert_info_time(json_integer_value(json_object_get(s, "time")),
                           cli->pool),
            json_string_member(s, "detail") ? json_string_member(s, "detail")
                                            : "");
}

static void print_time(cli_t *cli, const char *label, json_t *t)
{
    if (json_is_integer(t) && json_integer_value(t) > 0)
        cli_say(cli, "  %-20s %s\n", label,
                cert_info_time(json_integer_value(t), cli->pool));
}

static void print_cert(cli_t *cli, json_t *c)
{
    cli_say(cli, "%s: %s\n", json_string_member(c, "name"),
            json_string_member(c, "state"));
    json_t *names = json_object_get(c, "names");
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        cli_say(cli, "  %-20s %s\n", i == 0 ? "names" : "",
                json_string_value(n));
    }
    if (json_string_member(c, "key_type"))
        cli_say(cli, "  %-20s %s\n", "key",
                json_string_member(c, "key_type"));
    static const char *const which[] = {"deployed", "pending"};
    for (size_t k = 0; k < 2; k++) {
        json_t *v = json_object_member(c, which[k]);
        if (v == NULL)
            continue;
        cli_say(cli, "  %-20s not before %s, not after %s, renewal due %s\n",
                which[k],
                cert_info_time(json_integer_value(json_object_get(v, "not_before")), cli->pool),
                cert_info_time(json_integer_value(json_object_get(v, "not_after")), cli->pool),
                cert_info_time(json_integer_value(json_object_get(v, "renewal_due")), cli->pool));
    }
    cli_say(cli, "  %-20s %s\n", "automated",
            json_is_true(json_object_get(c, "automated")) ? "on" : "off");
    print_time(cli, "next deploy slot", json_object_get(c, "next_deploy_slot"));
    json_t *times = json_object_get(c, "resubmit");
    print_time(cli, "resubmission at", json_array_get(times, 0));
    print_time(cli, "resubmission at", json_array_get(times, 1));
    print_time(cli, "next attempt after", json_object_get(c, "next_attempt"));
    cli_say(cli, "  %-20s %s\n", "provider",
            json_string_member(c, "provider") ? json_string_member(c, "provider")
                                               : "(none)");
    cli_say(cli, "  %-20s %s\n", "account",
            json_string_member(c, "account") ? json_string_member(c, "account")
                                              : "(none)");
    print_sign(cli, "last sign status", json_object_get(c, "last_sign"));
    print_sign(cli, "last deploy status", json_object_get(c, "last_deploy"));
    json_array_foreach(json_object_get(c, "warnings"), i, n) {
        cli_say(cli, "  warning: %s\n", json_string_value(n));
    }
}

cli_exit_t cmd_status_run(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    json_t *doc = status_document(cli);
    cmd_status_publish(cli, doc);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "certificates"), i, c) {
        if (strcmp(cli->cert_name, "server") == 0 ||
            strcmp(json_string_member(c, "name"), cli->cert_name) == 0)
            print_cert(cli, c);
    }
    cli->result = doc;
    return CLI_EXIT_OK;
}
