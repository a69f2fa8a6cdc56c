/* cmd_csr.c — `csr generate|show|discard`: the key and the CSR of one
 * managed certificate (manual §2-§3).  Files in its state directory:
 * key.pem (0600), csr.pem, and csr.json (what was asked for, which
 * `status` shows).  Nothing secret is ever printed: the key stays in
 * key.pem. */
#include "cmd/commands.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apr_strings.h"

#include "ops/cert_state.h"
#include "crypto/crypt_csr.h"
#include "crypto/crypt_digest.h"
#include "crypto/crypt_key.h"
#include "ops/key_file.h"
#include "base/state.h"

typedef struct {
    crypt_csr_spec_t spec;
    crypt_key_type_t key_type;
    int key_type_given;
    int reuse_key;
} csr_request_t;

static const cli_opt_spec_t generate_options[] = {{"cn", CLI_OPT_VALUE},
                                                  {"san", CLI_OPT_VALUE},
                                                  {"key-type", CLI_OPT_VALUE},
                                                  {"digest", CLI_OPT_VALUE},
                                                  {"org", CLI_OPT_VALUE},
                                                  {"unit", CLI_OPT_VALUE},
                                                  {"locality", CLI_OPT_VALUE},
                                                  {"state", CLI_OPT_VALUE},
                                                  {"country", CLI_OPT_VALUE},
                                                  {"reuse-key", CLI_OPT_FLAG},
                                                  {NULL, 0}};

static const cli_opt_spec_t show_options[] = {{"pem", CLI_OPT_FLAG}, {NULL, 0}};

/* DNS names are case-insensitive: CAs and status compare them lowercased;
 * country codes are conventionally upper case. */
static const char *ascii_case(const char *s, int upper, apr_pool_t *pool)
{
    char *out = apr_pstrdup(pool, s);
    for (char *p = out; *p; p++) {
        if (upper && *p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
        else if (!upper && *p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return out;
}

static const char *trimmed(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        s[--len] = '\0';
    return s;
}

/* CN first, then each --san item (comma-separated, blanks around the
 * commas allowed); duplicates are left to crypt_csr_create. */
static cli_exit_t parse_names(cli_t *cli, csr_request_t *req)
{
    apr_array_header_t *names =
        apr_array_make(cli->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(names, const char *) = req->spec.cn;
    req->spec.names = names;
    const char *san = cli_option(cli, "san");
    if (san == NULL)
        return CLI_EXIT_OK;
    char *item = apr_pstrdup(cli->pool, san);
    for (;;) {
        char *comma = strchr(item, ',');
        if (comma != NULL)
            *comma = '\0';
        const char *name = trimmed(item);
        if (*name == '\0')
            return cli_fail(cli, CLI_EXIT_USAGE, 2802,
                            "--san: empty name in the list");
        APR_ARRAY_PUSH(names, const char *) = ascii_case(name, 0, cli->pool);
        if (comma == NULL)
            return CLI_EXIT_OK;
        item = comma + 1;
    }
}

/* Everything from the command line, validated before any file or key is
 * touched: a usage error changes nothing. */
static cli_exit_t parse_request(cli_t *cli, csr_request_t *req)
{
    const char *err = NULL;
    const char *opt = NULL;
    memset(req, 0, sizeof(*req));
    req->key_type = CRYPT_KEY_EC256;
    req->spec.digest = CRYPT_DIGEST_SHA256;
    if (cli_option(cli, "cn") == NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2801,
                        "csr generate needs --cn FQDN");
    req->spec.cn = ascii_case(cli_option(cli, "cn"), 0, cli->pool);
    opt = cli_option(cli, "key-type");
    if (opt != NULL && crypt_key_type_parse(&req->key_type, opt, &err,
                                            cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2803, "%s", err);
    req->key_type_given = opt != NULL;
    opt = cli_option(cli, "digest");
    if (opt != NULL && crypt_digest_parse(&req->spec.digest, opt, &err,
                                          cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2804, "%s", err);
    req->spec.org = cli_option(cli, "org");
    req->spec.unit = cli_option(cli, "unit");
    req->spec.locality = cli_option(cli, "locality");
    req->spec.state = cli_option(cli, "state");
    opt = cli_option(cli, "country");
    req->spec.country = opt != NULL ? ascii_case(opt, 1, cli->pool) : NULL;
    req->reuse_key = cli_option(cli, "reuse-key") != NULL;
    cli_exit_t code = parse_names(cli, req);
    if (code != CLI_EXIT_OK)
        return code;
    if (crypt_csr_spec_check(&req->spec, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_USAGE, 2805, "%s", err);
    return CLI_EXIT_OK;
}

static cli_exit_t open_locked(cli_t *cli, cert_state_t **cert)
{
    const char *err = NULL;
    if (cert_state_open(cert, &cli->ctx, cli->cert_name, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2806, "%s", err);
    if (cert_state_lock(*cert, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2807, "%s", err);
    return CLI_EXIT_OK;
}

/* The stored key for --reuse-key; its type wins unless --key-type asks
 * for another one, which is a contradiction. */
static cli_exit_t reuse_key(cli_t *cli, cert_state_t *cert, csr_request_t *req,
                            EVP_PKEY **key)
{
    const char *err = NULL;
    crypt_key_type_t type = CRYPT_KEY_EC256;
    apr_status_t rv =
        key_file_load(key, cert_state_file(cert, "key.pem"), &err, cli->pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return cli_fail(cli, CLI_EXIT_FAILED, 2811,
                        "--reuse-key: certificate %s has no key yet; "
                        "generate a CSR without --reuse-key first",
                        cert->name);
    if (rv != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2812, "%s", err);
    crypt_key_type_of(&type, *key); /* key_file_load checked it */
    if (req->key_type_given && type != req->key_type)
        return cli_fail(cli, CLI_EXIT_USAGE, 2813,
                        "--reuse-key: the stored key is %s, not %s",
                        crypt_key_type_name(type),
                        crypt_key_type_name(req->key_type));
    req->key_type = type;
    return CLI_EXIT_OK;
}

/* Removes the CSR, csr.pem first: whatever happens next, a csr.pem never
 * exists without its csr.json and key. */
static apr_status_t remove_csr(cert_state_t *cert, const char **err)
{
    apr_status_t rv =
        state_remove(cert_state_file(cert, "csr.pem"), err, cert->ctx->pool);
    if (rv == APR_SUCCESS)
        rv = state_remove(cert_state_file(cert, "csr.json"), err,
                          cert->ctx->pool);
    return rv;
}

/* key.pem becomes a new key; the old one stays reachable as key.pem.prev
 * (a hard link, so its bytes never pass through memory) until the new CSR
 * is in place. */
static apr_status_t replace_key(cert_state_t *cert, EVP_PKEY *key,
                                const char **err)
{
    apr_pool_t *pool = cert->ctx->pool;
    const char *path = cert_state_file(cert, "key.pem");
    const char *prev = cert_state_file(cert, "key.pem.prev");
    apr_status_t rv = state_remove(prev, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (link(path, prev) != 0 && errno != ENOENT) {
        rv = errno;
        *err = apr_psprintf(pool, "cannot keep %s as %s: %s", path, prev,
                            strerror(rv));
        return rv;
    }
    return key_file_save(key, path, err, pool);
}

static json_t *subject_json(const crypt_csr_spec_t *spec)
{
    return json_pack("{s:s*, s:s*, s:s*, s:s*, s:s*}", "org", spec->org, "unit",
                     spec->unit, "locality", spec->locality, "state",
                     spec->state, "country", spec->country);
}

static json_t *names_json(const apr_array_header_t *names)
{
    json_t *list = json_array();
    for (int i = 0; i < names->nelts; i++)
        json_array_append_new(
            list, json_string(APR_ARRAY_IDX(names, i, const char *)));
    return list;
}

/* csr.json: what was asked for, as `csr show` and `status` present it. */
static json_t *csr_record(const csr_request_t *req,
                          const apr_array_header_t *names)
{
    return json_pack(
        "{s:s, s:o, s:s, s:s, s:o, s:I}", "cn", req->spec.cn, "names",
        names_json(names), "key_type", crypt_key_type_name(req->key_type),
        "digest", crypt_digest_name(req->spec.digest), "subject",
        subject_json(&req->spec), "created", (json_int_t)time(NULL));
}

/* New key (unless reused), then csr.json, then csr.pem; the old CSR is
 * gone before the key changes. */
static cli_exit_t store_csr(cli_t *cli, cert_state_t *cert,
                            const csr_request_t *req, EVP_PKEY *key,
                            json_t *record, const char *pem)
{
    const char *err = NULL;
    apr_status_t rv = remove_csr(cert, &err);
    if (rv == APR_SUCCESS && !req->reuse_key)
        rv = replace_key(cert, key, &err);
    if (rv == APR_SUCCESS)
        rv = state_write_json(cert_state_file(cert, "csr.json"), record, &err,
                              cli->pool);
    if (rv == APR_SUCCESS)
        rv = state_write_file(cert_state_file(cert, "csr.pem"), pem,
                              strlen(pem), 0644, &err, cli->pool);
    if (rv == APR_SUCCESS)
        rv = state_remove(cert_state_file(cert, "key.pem.prev"), &err,
                          cli->pool);
    if (rv != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2816, "%s", err);
    return CLI_EXIT_OK;
}

static void say_names(cli_t *cli, json_t *names)
{
    size_t i;
    json_t *name;
    cli_say(cli, "  names:");
    json_array_foreach(names, i, name)
        cli_say(cli, "%s %s", i > 0 ? "," : "", json_string_value(name));
    cli_say(cli, "\n");
}

/* A pending certificate was signed for the key being replaced or
 * removed: it can no longer be deployed. */
static void warn_pending(cli_t *cli, cert_state_t *cert, json_t *result)
{
    if (!cert_state_has(cert, "pending.pem"))
        return;
    const char *warning =
        "the pending certificate belongs to the key just replaced or "
        "removed and can no longer be deployed: 'pending discard' it";
    cli_progress(cli, "warning: %s", warning);
    json_object_set_new(result, "warnings", json_pack("[s]", warning));
}

static void report_generated(cli_t *cli, cert_state_t *cert,
                             const csr_request_t *req, json_t *record,
                             const char *pem)
{
    cli->result = json_deep_copy(record);
    json_object_set_new(cli->result, "cert", json_string(cert->name));
    json_object_set_new(cli->result, "key_reused",
                        json_boolean(req->reuse_key));
    json_object_set_new(cli->result, "pem", json_string(pem));
    if (!req->reuse_key)
        warn_pending(cli, cert, cli->result);
    cli_say(cli, "CSR for %s generated (%s %s key, %s), stored in %s\n",
            req->spec.cn, req->reuse_key ? "stored" : "new",
            crypt_key_type_name(req->key_type),
            crypt_digest_name(req->spec.digest), cert->dir);
    say_names(cli, json_object_get(record, "names"));
}

static cli_exit_t csr_generate(cli_t *cli)
{
    csr_request_t req;
    cert_state_t *cert = NULL;
    EVP_PKEY *key = NULL;
    X509_REQ *csr = NULL;
    const char *err = NULL;
    cli_exit_t code = cli_parse_options(cli, generate_options, 0, 0);
    if (code == CLI_EXIT_OK)
        code = parse_request(cli, &req);
    if (code == CLI_EXIT_OK)
        code = open_locked(cli, &cert);
    if (code == CLI_EXIT_OK && req.reuse_key)
        code = reuse_key(cli, cert, &req, &key);
    if (code != CLI_EXIT_OK)
        return code;
    /* Key and CSR are made in memory first: a failure here leaves the
     * stored CSR and key as they were. */
    if ((!req.reuse_key && crypt_key_generate(&key, req.key_type, &err,
                                              cli->pool) != APR_SUCCESS) ||
        crypt_csr_create(&csr, key, &req.spec, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2814, "%s", err);
    const char *pem = crypt_csr_pem(csr, cli->pool);
    if (pem == NULL)
        return cli_fail(cli, CLI_EXIT_FAILED, 2815, "cannot encode the CSR");
    json_t *record = json_pool_bind(
        csr_record(&req, crypt_csr_names(csr, cli->pool)), cli->pool);
    code = store_csr(cli, cert, &req, key, record, pem);
    if (code == CLI_EXIT_OK)
        report_generated(cli, cert, &req, record, pem);
    return code;
}

static cli_exit_t no_csr(cli_t *cli, int logno, const char *name)
{
    return cli_fail(cli, CLI_EXIT_FAILED, logno,
                    "no CSR for certificate %s: run 'expacmectl --cert %s "
                    "csr generate --cn FQDN'",
                    name, name);
}

/* What `csr show` reports: the names and key come from the CSR itself,
 * the rest from csr.json when it is readable. */
static json_t *show_json(cli_t *cli, cert_state_t *cert, X509_REQ *csr,
                         const char *pem)
{
    const char *err = NULL;
    json_t *record = NULL;
    crypt_key_type_t type;
    apr_array_header_t *names = crypt_csr_names(csr, cli->pool);
    int typed =
        crypt_key_type_of(&type, crypt_csr_public_key(csr)) == APR_SUCCESS;
    state_read_json(&record, cert_state_file(cert, "csr.json"), &err,
                    cli->pool);
    json_t *o = json_pack(
        "{s:s, s:s?, s:o, s:s?, s:s}", "cert", cert->name, "cn",
        names->nelts > 0 ? APR_ARRAY_IDX(names, 0, const char *) : NULL,
        "names", names_json(names), "key_type",
        typed ? crypt_key_type_name(type) : NULL, "pem", pem);
    const char *copied[] = {"digest", "subject", "created"};
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
        json_t *value = record ? json_object_get(record, copied[i]) : NULL;
        json_object_set_new(o, copied[i],
                            value ? json_deep_copy(value) : json_null());
    }
    return o;
}

static cli_exit_t csr_show(cli_t *cli)
{
    cert_state_t *cert = NULL;
    X509_REQ *csr = NULL;
    const char *err = NULL;
    char *pem = NULL;
    apr_size_t len = 0;
    cli_exit_t code = cli_parse_options(cli, show_options, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    if (cert_state_open(&cert, &cli->ctx, cli->cert_name, &err) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2831, "%s", err);
    apr_status_t rv =
        state_read_file(&pem, &len, cert_state_file(cert, "csr.pem"),
                        STATE_FILE_MAX, &err, cli->pool);
    if (APR_STATUS_IS_ENOENT(rv))
        return no_csr(cli, 2832, cert->name);
    if (rv != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2833, "%s", err);
    if (crypt_csr_load(&csr, pem, len, &err, cli->pool) != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2835, "%s: %s",
                        cert_state_file(cert, "csr.pem"), err);
    const char *text = crypt_csr_text(csr, cli->pool);
    if (text == NULL)
        return cli_fail(cli, CLI_EXIT_FAILED, 2834, "cannot decode %s",
                        cert_state_file(cert, "csr.pem"));
    cli->result = show_json(cli, cert, csr, pem);
    json_object_set_new(cli->result, "text", json_string(text));
    cli_say(cli, "%s", cli_option(cli, "pem") != NULL ? pem : text);
    return CLI_EXIT_OK;
}

static cli_exit_t csr_discard(cli_t *cli)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code == CLI_EXIT_OK)
        code = open_locked(cli, &cert);
    if (code != CLI_EXIT_OK)
        return code;
    if (!cert_state_has(cert, "csr.pem"))
        return no_csr(cli, 2821, cert->name);
    /* CSR first, then its key: never a CSR without its key. */
    apr_status_t rv = remove_csr(cert, &err);
    if (rv == APR_SUCCESS)
        rv = state_remove(cert_state_file(cert, "key.pem"), &err, cli->pool);
    if (rv == APR_SUCCESS)
        rv = state_remove(cert_state_file(cert, "key.pem.prev"), &err,
                          cli->pool);
    if (rv != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2822, "%s", err);
    cli->result = json_pack("{s:s, s:b}", "cert", cert->name, "discarded", 1);
    warn_pending(cli, cert, cli->result);
    cli_say(cli, "CSR and key of %s discarded\n", cert->name);
    return CLI_EXIT_OK;
}

cli_exit_t cmd_csr_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {{"generate", csr_generate},
                                       {"show", csr_show},
                                       {"discard", csr_discard},
                                       {NULL, NULL}};
    return cli_run_verb(cli, "csr", verbs, 2800);
}
