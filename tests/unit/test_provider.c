/* Unit tests of providers (ops/provider.h, ops/provider_admin.h): the
 * built-in ones first, providers.json round trips, the EAB key kept 0600
 * and out of providers.json, the current provider, clear errors for an
 * unknown name and a corrupt file (which is never overwritten), and the
 * checks `provider add` makes before it saves anything — none of which
 * needs the network. */
#include "tap.h"
#include "dir_fixture.h"

#include <string.h>

#include "apr_general.h"

#include "base/base64url.h"
#include "crypto/crypt_key.h"
#include "ops/key_file.h"
#include "ops/provider.h"
#include "ops/provider_admin.h"
#include "ops_fixture.h"

static char dir[] = "/tmp/expacme-provider-test.XXXXXX";
static int case_count;

/* A fresh state directory each: no case sees another's providers. */
typedef struct {
    const char *dir;
    const expacme_config_t *config;
    ops_ctx_t ctx;
    const char *json; /* state_dir/providers.json */
} case_t;

static int case_make(case_t *c, apr_pool_t *pool)
{
    c->dir = apr_psprintf(pool, "%s/case-%d", dir, ++case_count);
    mkdir(c->dir, 0700);
    c->config = ops_fixture_config(
        pool, apr_pstrcat(pool, c->dir, "/expacme.conf", NULL),
        apr_psprintf(pool, "state_dir = %s/state\n", c->dir));
    c->json = apr_pstrcat(pool, c->dir, "/state/providers.json", NULL);
    if (c->config != NULL)
        ops_fixture_ctx(&c->ctx, pool, c->config);
    return c->config != NULL;
}

static const char *in_case(const case_t *c, const char *rel, apr_pool_t *pool)
{
    return apr_pstrcat(pool, c->dir, "/", rel, NULL);
}

static int same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) ||
           (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A provider with every field set, distinct per name. */
static provider_t provider_make(const char *name, apr_pool_t *pool)
{
    provider_t p;
    memset(&p, 0, sizeof(p));
    p.name = name;
    p.directory = apr_psprintf(pool, "https://ca.%s.test/dir", name);
    p.ca_bundle = apr_psprintf(pool, "/etc/ssl/%s-root.pem", name);
    p.eab_kid = apr_psprintf(pool, "kid-of-%s", name);
    p.fallback = "letsencrypt";
    p.preferred_chain = apr_psprintf(pool, "%s Root X1", name);
    p.profile = "tlsserver";
    return p;
}

static int fields_equal(const provider_t *a, const provider_t *b)
{
    return same(a->name, b->name) && same(a->directory, b->directory) &&
           same(a->ca_bundle, b->ca_bundle) && same(a->eab_kid, b->eab_kid) &&
           same(a->fallback, b->fallback) &&
           same(a->preferred_chain, b->preferred_chain) &&
           same(a->profile, b->profile);
}

static void test_builtins(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "builtins: config"))
        return;
    apr_array_header_t *list = NULL;
    const char *err = NULL;
    is_int(provider_list(&list, &c.ctx, &err), APR_SUCCESS,
           "list without providers.json");
    is_int(list ? list->nelts : -1, 2, "two built-in providers");
    static const char *const names[] = {"letsencrypt", "letsencrypt-staging"};
    for (int i = 0; list && i < 2 && i < list->nelts; i++) {
        const provider_t *p = APR_ARRAY_IDX(list, i, const provider_t *);
        is_str(p->name, names[i], apr_psprintf(pool, "built-in %d", i));
        ok(p->builtin, apr_psprintf(pool, "%s is marked built-in", p->name));
        ok(p->directory && strncmp(p->directory, "https://", 8) == 0,
           apr_psprintf(pool, "%s: an https directory", p->name));
    }
    ok(!ops_fixture_exists(c.json), "listing writes nothing");
    const provider_t *le = NULL;
    is_int(provider_find(&le, &c.ctx, "letsencrypt-staging", &err), APR_SUCCESS,
           "find a built-in");
    ok(le && strstr(le->directory, "staging"), "the staging directory");
}

static void test_round_trip(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "round trip: config"))
        return;
    const char *err = NULL;
    provider_t zeta = provider_make("zeta", pool);
    provider_t alpha = provider_make("alpha", pool);
    alpha.ca_bundle = alpha.eab_kid = alpha.fallback = NULL;
    alpha.preferred_chain = alpha.profile = NULL;
    is_int(provider_save(&c.ctx, &zeta, NULL, 0, &err), APR_SUCCESS,
           "save zeta, every field");
    is_int(provider_save(&c.ctx, &alpha, NULL, 0, &err), APR_SUCCESS,
           "save alpha, only a directory");
    is_int(ops_fixture_mode(c.json), 0600, "providers.json 0600");
    is_int(ops_fixture_mode(c.config->state_dir), 0700, "state_dir 0700");

    apr_pool_t *next = NULL;
    apr_pool_create(&next, pool);
    ops_ctx_t ctx;
    ops_fixture_ctx(&ctx, next, c.config);
    const provider_t *found = NULL;
    is_int(provider_find(&found, &ctx, "zeta", &err), APR_SUCCESS,
           "find zeta in a new pool");
    ok(found && fields_equal(found, &zeta), "every field of zeta kept");
    ok(found && !found->builtin, "not built-in");
    is_int(provider_find(&found, &ctx, "alpha", &err), APR_SUCCESS,
           "find alpha");
    ok(found && fields_equal(found, &alpha), "alpha: unset fields stay NULL");
    apr_array_header_t *list = NULL;
    is_int(provider_list(&list, &ctx, &err), APR_SUCCESS, "list");
    is_int(list ? list->nelts : -1, 4, "two built-in, two saved");
    int order_ok = list != NULL && list->nelts == 4;
    for (int i = 0; order_ok && i < 4; i++)
        order_ok =
            APR_ARRAY_IDX(list, i, const provider_t *)->builtin == (i < 2);
    ok(order_ok, "built-in providers listed first");

    provider_t zeta2 = provider_make("zeta", pool);
    zeta2.directory = "https://ca.zeta.test/v2/dir";
    zeta2.profile = NULL;
    is_int(provider_save(&c.ctx, &zeta2, NULL, 0, &err), APR_SUCCESS,
           "save zeta again, changed");
    is_int(provider_find(&found, &ctx, "zeta", &err), APR_SUCCESS, "find zeta");
    ok(found && fields_equal(found, &zeta2), "replaced, not merged");
    is_int(provider_list(&list, &ctx, &err), APR_SUCCESS, "list");
    is_int(list ? list->nelts : -1, 4, "still four");
    apr_pool_destroy(next);
}

/* 1 when needle[0..len) occurs in the file at path. */
static int file_contains(const char *path, const void *needle, apr_size_t len,
                         apr_pool_t *pool)
{
    apr_size_t flen = 0;
    const char *data = ops_fixture_slurp(pool, path, &flen);
    return data != NULL && memmem(data, flen, needle, len) != NULL;
}

static const unsigned char eab_key[32] = {
    0x8a, 0x01, 0xfe, 0x77, 0x13, 0x42, 0x99, 0x00, 0xc3, 0x5d, 0x6e,
    0x2b, 0xa0, 0x11, 0xee, 0x7f, 0x31, 0x08, 0xd4, 0x9c, 0x55, 0x60,
    0x0f, 0xb2, 0x4a, 0x93, 0x17, 0xe8, 0x26, 0xcd, 0x70, 0x3e};

static void test_eab_key(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "EAB: config"))
        return;
    const char *err = NULL;
    provider_t p = provider_make("sectigo", pool);
    is_int(provider_save(&c.ctx, &p, eab_key, sizeof(eab_key), &err),
           APR_SUCCESS, "save with an EAB key");
    const char *key_path = apr_pstrcat(pool, c.config->state_dir,
                                       "/providers/sectigo/eab.key", NULL);
    is_int(ops_fixture_mode(key_path), 0600, "eab.key 0600");
    is_int(ops_fixture_mode(apr_pstrcat(pool, c.config->state_dir,
                                        "/providers/sectigo", NULL)),
           0700, "its directory 0700");
    const char *text = base64url_encode(pool, eab_key, sizeof(eab_key));
    ok(file_contains(key_path, text, strlen(text), pool),
       "eab.key holds the key (base64url)");
    ok(!file_contains(c.json, eab_key, sizeof(eab_key), pool),
       "providers.json: not the key bytes");
    ok(!file_contains(c.json, eab_key, 8, pool),
       "providers.json: not even their first 8");
    ok(!file_contains(c.json, text, strlen(text), pool),
       "providers.json: not the key in base64url");
    ok(!file_contains(c.json, text, 10, pool),
       "providers.json: not even its first 10 characters");
    ok(file_contains(c.json, "kid-of-sectigo", 14, pool),
       "providers.json has the key id (not a secret)");

    unsigned char *got = NULL;
    apr_size_t got_len = 0;
    const provider_t *found = NULL;
    provider_find(&found, &c.ctx, "sectigo", &err);
    is_int(found ? provider_eab_key(&got, &got_len, &c.ctx, found, &err) : -1,
           APR_SUCCESS, "provider_eab_key");
    ok(got && got_len == sizeof(eab_key) &&
           memcmp(got, eab_key, sizeof(eab_key)) == 0,
       "the same key bytes back");

    provider_t other = provider_make("nokey", pool);
    provider_save(&c.ctx, &other, NULL, 0, &err);
    provider_find(&found, &c.ctx, "nokey", &err);
    err = NULL;
    ok(found && provider_eab_key(&got, &got_len, &c.ctx, found, &err) != 0,
       "a key id without a stored key: error");
    ok(err && strstr(err, "nokey") && strstr(err, "add it again"),
       "which names the provider and the remedy");
}

static void test_current(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "current: config"))
        return;
    const char *name = "stale", *err = NULL;
    is_int(provider_current(&name, &c.ctx, &err), APR_ENOENT,
           "no current provider yet: APR_ENOENT");
    ok(name == NULL, "and no name");
    ok(err && strstr(err, "account register"), "error says what to run");
    provider_t p = provider_make("zeta", pool);
    provider_save(&c.ctx, &p, NULL, 0, &err);
    is_int(provider_set_current(&c.ctx, "zeta", &err), APR_SUCCESS,
           "set current");
    is_int(provider_current(&name, &c.ctx, &err), APR_SUCCESS, "current");
    is_str(name, "zeta", "is the one set");
    provider_t q = provider_make("other", pool);
    provider_save(&c.ctx, &q, NULL, 0, &err);
    provider_current(&name, &c.ctx, &err);
    is_str(name, "zeta", "saving another provider keeps current");
    const provider_t *found = NULL;
    is_int(provider_find(&found, &c.ctx, "zeta", &err), APR_SUCCESS,
           "setting current keeps the providers");
    is_int(provider_set_current(&c.ctx, "letsencrypt", &err), APR_SUCCESS,
           "a built-in can be current");
    provider_admin_list_result_t res;
    ops_error_t error;
    memset(&error, 0, sizeof(error));
    is_int(provider_admin_list(&res, &error, &c.ctx), OPS_OK,
           "provider_admin_list");
    is_str(res.current, "letsencrypt", "it reports the current one");
    is_int(res.providers ? res.providers->nelts : -1, 4, "and every provider");
}

static void test_unknown(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "unknown: config"))
        return;
    const provider_t *found = (const provider_t *)1;
    const char *err = NULL;
    is_int(provider_find(&found, &c.ctx, "no-such-ca", &err), APR_ENOENT,
           "unknown name: APR_ENOENT");
    ok(found == NULL, "no provider");
    ok(err && strstr(err, "'no-such-ca'") && !strchr(err, '\n'),
       "one-line error naming it");
    ok(err && strstr(err, "provider list"), "and where to look");
}

/* A providers.json that cannot be read is an error naming it, and no
 * call that writes replaces it (it is the operator's to repair). */
static void check_corrupt(apr_pool_t *pool, const char *what,
                          const char *content)
{
    case_t c;
    if (!ok(case_make(&c, pool), apr_psprintf(pool, "%s: config", what)))
        return;
    const char *err = NULL;
    state_make_dir(c.config->state_dir, 0700, &err, pool);
    state_write_file(c.json, content, strlen(content), 0600, &err, pool);
    apr_array_header_t *list = NULL;
    err = NULL;
    apr_status_t rv = provider_list(&list, &c.ctx, &err);
    int named =
        rv != APR_SUCCESS && err && strstr(err, c.json) && !strchr(err, '\n');
    const provider_t *found = NULL;
    const char *find_err = NULL;
    provider_find(&found, &c.ctx, "letsencrypt", &find_err);
    const char *cur = NULL, *cur_err = NULL;
    apr_status_t cur_rv = provider_current(&cur, &c.ctx, &cur_err);
    provider_t p = provider_make("new", pool);
    const char *save_err = NULL, *set_err = NULL;
    apr_status_t save_rv = provider_save(&c.ctx, &p, NULL, 0, &save_err);
    apr_status_t set_rv = provider_set_current(&c.ctx, "new", &set_err);
    int kept = same(ops_fixture_slurp(pool, c.json, NULL), content);
    ok(named, apr_psprintf(pool, "%s: list fails naming the file", what));
    if (!named)
        printf("#   %s\n", err ? err : "(no error)");
    ok(find_err && strstr(find_err, c.json),
       apr_psprintf(pool, "%s: find fails naming the file", what));
    ok(cur_rv != APR_SUCCESS && cur_rv != APR_ENOENT && cur_err &&
           strstr(cur_err, c.json),
       apr_psprintf(pool,
                    "%s: current fails naming the file (not 'no "
                    "account')",
                    what));
    ok(save_rv != APR_SUCCESS && save_err && strstr(save_err, c.json),
       apr_psprintf(pool, "%s: save fails naming the file", what));
    ok(set_rv != APR_SUCCESS && set_err && strstr(set_err, c.json),
       apr_psprintf(pool, "%s: set current fails naming the file", what));
    ok(kept, apr_psprintf(pool, "%s: the file is left as it was", what));
}

static void test_corrupt(apr_pool_t *pool)
{
    check_corrupt(pool, "truncated JSON", "{\"providers\": {\"x\": ");
    check_corrupt(pool, "not JSON", "providers = zeta\n");
    check_corrupt(pool, "an array", "[]\n");
    check_corrupt(pool, "duplicate keys",
                  "{\"current\": \"a\", \"current\": \"b\"}");
    /* Only list fails here (the entry is unusable), so only its error. */
    case_t c;
    if (!ok(case_make(&c, pool), "no directory: config"))
        return;
    const char *err = NULL;
    const char *bad = "{\"providers\": {\"broken\": {\"profile\": \"x\"}}}";
    state_make_dir(c.config->state_dir, 0700, &err, pool);
    state_write_file(c.json, bad, strlen(bad), 0600, &err, pool);
    apr_array_header_t *list = NULL;
    err = NULL;
    ok(provider_list(&list, &c.ctx, &err) != APR_SUCCESS,
       "a provider without a directory: list fails");
    ok(err && strstr(err, c.json) && strstr(err, "broken"),
       "naming the file and the provider");
    check_corrupt(pool, "providers not an object",
                  "{\"providers\": [{\"name\": \"zeta\", \"directory\": "
                  "\"https://ca.zeta.test/dir\"}]}");
}

/* provider_admin_add's refusals: OPS_USAGE, the message number, a word
 * of the message, and nothing saved. */
static void check_refused(case_t *c, const char *what, const provider_t *p,
                          const char *key_file, int logno, const char *says,
                          apr_pool_t *pool)
{
    ops_error_t error;
    memset(&error, 0, sizeof(error));
    const char *before = ops_fixture_slurp(pool, c->json, NULL);
    is_int(provider_admin_add(&error, &c->ctx, p, key_file), OPS_USAGE,
           apr_psprintf(pool, "%s: usage error", what));
    is_int(error.logno, logno, apr_psprintf(pool, "%s: EXP%05d", what, logno));
    ok(error.message && strstr(error.message, says) &&
           !strchr(error.message, '\n'),
       apr_psprintf(pool, "%s: one line saying '%s'", what, says));
    if (error.message && !strstr(error.message, says))
        printf("#   %s\n", error.message);
    ok(same(ops_fixture_slurp(pool, c->json, NULL), before),
       apr_psprintf(pool, "%s: providers.json unchanged", what));
    const provider_t *found = NULL;
    const char *err = NULL;
    if (p->name && strcmp(p->name, "letsencrypt") != 0)
        ok(provider_find(&found, &c->ctx, p->name, &err) != APR_SUCCESS,
           apr_psprintf(pool, "%s: not saved", what));
}

static const char *write_file(const case_t *c, const char *rel,
                              const char *text, mode_t mode, apr_pool_t *pool)
{
    const char *path = in_case(c, rel, pool);
    const char *err = NULL;
    state_write_file(path, text, strlen(text), mode, &err, pool);
    chmod(path, mode);
    return path;
}

static void test_admin_add_refusals(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "add: config"))
        return;
    provider_t base;
    memset(&base, 0, sizeof(base));
    base.name = "myca";
    base.directory = "https://ca.test/dir";
    provider_t p;
    static const char *const bad_names[] = {"../evil", ".hidden", "a b", "a/b",
                                            ""};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        p = base;
        p.name = bad_names[i];
        check_refused(&c, apr_psprintf(pool, "name '%s'", bad_names[i]), &p,
                      NULL, 2215, "provider name", pool);
    }
    ok(!ops_fixture_exists(in_case(&c, "evil", pool)) &&
           !ops_fixture_exists(in_case(&c, "state/evil", pool)),
       "no directory made outside for '../evil'");
    p = base;
    p.name = "letsencrypt";
    check_refused(&c, "a built-in name", &p, NULL, 2216, "letsencrypt", pool);
    p = base;
    p.directory = "http://ca.test/dir";
    check_refused(&c, "an http directory", &p, NULL, 2217, "https://", pool);
    p = base;
    p.directory = NULL;
    check_refused(&c, "no directory", &p, NULL, 2217, "--directory", pool);
    const char *key_file = write_file(
        &c, "eab.b64", base64url_encode(pool, eab_key, 32), 0600, pool);
    p = base;
    p.eab_kid = "kid";
    check_refused(&c, "a key id without a key file", &p, NULL, 2218,
                  "go together", pool);
    p = base;
    check_refused(&c, "a key file without a key id", &p, key_file, 2218,
                  "go together", pool);
    p = base;
    p.ca_bundle = "root.pem";
    check_refused(&c, "a relative CA bundle", &p, NULL, 2219, "root.pem", pool);
    p = base;
    p.ca_bundle = in_case(&c, "missing.pem", pool);
    check_refused(&c, "a missing CA bundle", &p, NULL, 2219, "missing.pem",
                  pool);
    p = base;
    p.ca_bundle = write_file(&c, "notpem.pem", "just text\n", 0644, pool);
    check_refused(&c, "a CA bundle without certificates", &p, NULL, 2219,
                  "notpem.pem", pool);
    p = base;
    p.fallback = "myca";
    check_refused(&c, "itself as fallback", &p, NULL, 2220, "--fallback myca",
                  pool);
    p = base;
    p.fallback = "nowhere";
    check_refused(&c, "an unknown fallback", &p, NULL, 2220, "nowhere", pool);
}

static void test_admin_add_key_file(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "key file: config"))
        return;
    provider_t p;
    memset(&p, 0, sizeof(p));
    p.name = "eabca";
    p.directory = "https://eab.test/dir";
    p.eab_kid = "kid-1";
    const char *good = base64url_encode(pool, eab_key, 32);
    check_refused(&c, "a missing key file", &p, in_case(&c, "absent", pool),
                  2211, "not a readable file", pool);
    check_refused(&c, "a directory as key file", &p, c.dir, 2211,
                  "not a readable file", pool);
    check_refused(&c, "a key file of mode 0644", &p,
                  write_file(&c, "k644", good, 0644, pool), 2212, "0644", pool);
    check_refused(&c, "a key file of mode 0640", &p,
                  write_file(&c, "k640", good, 0640, pool), 2212, "0640", pool);
    const char *padded =
        write_file(&c, "kpad", apr_pstrcat(pool, good, "==", NULL), 0600, pool);
    check_refused(&c, "a key with padding (not base64url)", &p, padded, 2214,
                  "base64url", pool);
    const char *std =
        write_file(&c, "kstd", "ab+/cd+/ef+/gh+/ij+/kl==", 0600, pool);
    check_refused(&c, "standard base64", &p, std, 2214, "base64url", pool);
    const char *short_key = base64url_encode(pool, eab_key, 15);
    const char *shortp = write_file(&c, "kshort", short_key, 0600, pool);
    check_refused(&c, "a 15-byte key", &p, shortp, 2214, "16 bytes", pool);

    /* The messages name the file, never its content. */
    ops_error_t error;
    memset(&error, 0, sizeof(error));
    provider_admin_add(&error, &c.ctx, &p, shortp);
    ok(error.message && !strstr(error.message, short_key) &&
           strstr(error.message, shortp),
       "the refusal names the file, not the key in it");

    const char *with_newline =
        write_file(&c, "knl", apr_pstrcat(pool, good, "\n", NULL), 0400, pool);
    memset(&error, 0, sizeof(error));
    is_int(provider_admin_add(&error, &c.ctx, &p, with_newline), OPS_OK,
           "a 0400 key file ending in a newline is accepted");
    if (error.message)
        printf("#   %s\n", error.message);
    const provider_t *found = NULL;
    const char *err = NULL;
    is_int(provider_find(&found, &c.ctx, "eabca", &err), APR_SUCCESS, "saved");
    is_str(found ? found->eab_kid : NULL, "kid-1", "with its key id");
    unsigned char *got = NULL;
    apr_size_t got_len = 0;
    ok(found && provider_eab_key(&got, &got_len, &c.ctx, found, &err) == 0 &&
           got_len == 32 && memcmp(got, eab_key, 32) == 0,
       "the decoded key is stored");
    ok(!file_contains(c.json, good, strlen(good), pool) &&
           !file_contains(c.json, eab_key, 32, pool),
       "and is not in providers.json");
}

static void test_admin_add_ok(apr_pool_t *pool)
{
    case_t c;
    if (!ok(case_make(&c, pool), "add: config"))
        return;
    const char *bundle = write_file(
        &c, "root.pem",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0644,
        pool);
    provider_t p;
    memset(&p, 0, sizeof(p));
    p.name = "private-ca";
    p.directory = "https://ca.internal.test/acme/directory";
    p.ca_bundle = bundle;
    p.fallback = "letsencrypt";
    p.preferred_chain = "Internal Root";
    p.profile = "shortlived";
    ops_error_t error;
    memset(&error, 0, sizeof(error));
    is_int(provider_admin_add(&error, &c.ctx, &p, NULL), OPS_OK,
           "add with a CA bundle and a built-in fallback");
    if (error.message)
        printf("#   %s\n", error.message);
    const provider_t *found = NULL;
    const char *err = NULL;
    is_int(provider_find(&found, &c.ctx, "private-ca", &err), APR_SUCCESS,
           "found");
    ok(found && fields_equal(found, &p), "every field kept");
    provider_t q;
    memset(&q, 0, sizeof(q));
    q.name = "second";
    q.directory = "https://second.test/dir";
    q.fallback = "private-ca";
    memset(&error, 0, sizeof(error));
    is_int(provider_admin_add(&error, &c.ctx, &q, NULL), OPS_OK,
           "a configured provider as fallback");
    p.directory = "https://ca.internal.test/v2";
    memset(&error, 0, sizeof(error));
    is_int(provider_admin_add(&error, &c.ctx, &p, NULL), OPS_OK,
           "adding the same name again replaces it");
    provider_find(&found, &c.ctx, "private-ca", &err);
    is_str(found ? found->directory : NULL, "https://ca.internal.test/v2",
           "with the new directory");
}

/* An account key loaded once per process: the same signer while the
 * file is the same, a new one once it is replaced, an error (and nothing
 * kept) for a file that is not a key. */
static void test_account_signer(apr_pool_t *pool)
{
    const char *path = apr_pstrcat(pool, dir, "/account.key", NULL);
    EVP_PKEY *first = NULL, *second = NULL;
    const char *err = NULL;
    if (!ok(crypt_key_generate(&first, CRYPT_KEY_EC256, &err, pool) ==
                    APR_SUCCESS &&
                crypt_key_generate(&second, CRYPT_KEY_EC256, &err, pool) ==
                    APR_SUCCESS &&
                key_file_save(first, path, &err, pool) == APR_SUCCESS,
            "an account key on disk"))
        return;
    const net_signer_t *a = NULL, *b = NULL, *c = NULL;
    ok(provider_account_signer(&a, path, 1, &err, pool) == APR_SUCCESS &&
           provider_account_signer(&b, path, 1, &err, pool) == APR_SUCCESS &&
           a == b && EVP_PKEY_eq(a->key, first) == 1,
       "loaded twice: the one kept, for the key on disk");
    ok(a->thumbprint != NULL && a->jwk != NULL &&
           strstr(a->jwk, "\"kty\":\"EC\"") != NULL,
       "with its thumbprint and JWK");
    const char *first_print = apr_pstrdup(pool, a->thumbprint);
    key_file_save(second, path, &err, pool);
    ok(provider_account_signer(&c, path, 1, &err, pool) == APR_SUCCESS &&
           c != a && EVP_PKEY_eq(c->key, second) == 1 &&
           strcmp(c->thumbprint, first_print) != 0,
       "the file replaced: the new key, loaded again");
    ok(EVP_PKEY_eq(a->key, first) == 1 &&
           strcmp(a->thumbprint, first_print) == 0,
       "the first one still whole for whoever signs with it");
    /* The same bytes written again (another inode, another time): the
     * same key, the one kept. */
    key_file_save(second, path, &err, pool);
    ok(provider_account_signer(&b, path, 1, &err, pool) == APR_SUCCESS &&
           b == c,
       "the same key written again: the one kept");
    ok(provider_account_signer(&b, path, 0, &err, pool) == APR_SUCCESS &&
           EVP_PKEY_eq(b->key, second) == 1,
       "keep 0: loaded all the same");
    const char *bad = apr_pstrcat(pool, dir, "/not-a.key", NULL);
    FILE *f = fopen(bad, "w");
    if (f != NULL) {
        fputs("not a key\n", f);
        fclose(f);
    }
    chmod(bad, 0600);
    err = NULL;
    ok(provider_account_signer(&c, bad, 1, &err, pool) != APR_SUCCESS &&
           err != NULL && strstr(err, "not-a.key") != NULL,
       "not a key: an error naming the file");
    err = NULL;
    ok(provider_account_signer(&c, bad, 1, &err, pool) != APR_SUCCESS &&
           err != NULL,
       "and again (nothing kept for it)");
}

int main(void)
{
    apr_pool_t *pool = NULL;
    if (!test_dir_begin(&pool, dir))
        return 1;
    test_builtins(pool);
    test_round_trip(pool);
    test_eab_key(pool);
    test_current(pool);
    test_unknown(pool);
    test_corrupt(pool);
    test_admin_add_refusals(pool);
    test_admin_add_key_file(pool);
    test_admin_add_ok(pool);
    test_account_signer(pool);
    apr_pool_destroy(pool);
    test_dir_remove(dir);
    apr_terminate();
    return done_testing();
}
