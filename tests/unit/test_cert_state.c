/* Unit tests of a certificate's state directory (ops/cert_state.h): a new
 * state, the status.json round trip, the per-certificate lock across
 * processes, Last Sign Status with the CA's problem document, the state
 * names of SPEC §2, and the recovery of an order a killed helper left
 * behind, against a real shm: challenge store. */
#include "tap.h"
#include "dir_fixture.h"

#include <time.h>

#include "apr_general.h"

#include "challenge_store.h"
#include "ops/cert_state.h"
#include "ops_fixture.h"

static char dir[] = "/tmp/expacme-cert-state-test.XXXXXX";

static const char *in_dir(apr_pool_t *pool, const char *rel)
{
    return apr_pstrcat(pool, dir, "/", rel, NULL);
}

/* A configuration of its own (state directory, store, window) for each
 * case, so that no case sees another's files. */
static const expacme_config_t *case_config(apr_pool_t *pool, const char *tag,
                                           const char *store)
{
    const char *base = in_dir(pool, tag);
    mkdir(base, 0700);
    const char *text = apr_psprintf(
        pool,
        "state_dir = %s/state\nchallenge_store = %s\n"
        "configtest_command = /bin/true\n"
        "graceful_command = /usr/bin/touch %s/graceful-ran\n"
        "challenge_window_include = %s/window.conf\n"
        "challenge_window_listen = 80\n",
        base, store ? store : apr_psprintf(pool, "shm:%s/run/ch", base), base,
        base);
    return ops_fixture_config(
        pool, apr_pstrcat(pool, base, "/expacme.conf", NULL), text);
}

static cert_state_t *open_cert(ops_ctx_t *ctx, apr_pool_t *pool,
                               const expacme_config_t *config)
{
    cert_state_t *cert = NULL;
    const char *err = NULL;
    ops_fixture_ctx(ctx, pool, config);
    if (cert_state_open(&cert, ctx, "server", &err) != APR_SUCCESS)
        printf("# cert_state_open: %s\n", err ? err : "(no error text)");
    return cert;
}

static void test_open_new(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "new", NULL);
    ops_ctx_t ctx;
    cert_state_t *cert = config ? open_cert(&ctx, pool, config) : NULL;
    ok(cert != NULL, "open of a certificate never seen");
    if (cert == NULL)
        return;
    is_str(cert->name, "server", "name kept");
    is_str(cert->dir,
           apr_pstrcat(pool, config->state_dir, "/certs/server", NULL),
           "directory under state_dir/certs");
    is_int(ops_fixture_mode(cert->dir), 0700, "made 0700");
    is_int(ops_fixture_mode(config->state_dir), 0700, "state_dir 0700");
    ok(json_is_object(cert->status) && json_object_size(cert->status) == 0,
       "status is {}");
    ok(!cert_state_has(cert, "status.json"), "nothing written by opening");
    is_int(cert->lock_fd, -1, "not locked");
    is_str(cert_state_name(cert), "none", "state none");
    is_str(cert_state_file(cert, "key.pem"),
           apr_pstrcat(pool, cert->dir, "/key.pem", NULL),
           "cert_state_file joins the directory and the name");
}

static void test_save_reopen(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "save", NULL);
    ops_ctx_t ctx;
    cert_state_t *cert = config ? open_cert(&ctx, pool, config) : NULL;
    if (!ok(cert != NULL, "open"))
        return;
    json_object_set_new(cert->status, "provider", json_string("pebble"));
    json_object_set_new(cert->status, "names",
                        json_pack("[s, s]", "a.example", "b.example"));
    json_object_set_new(cert->status, "count", json_integer(7));
    const char *err = NULL;
    is_int(cert_state_save(cert, &err), APR_SUCCESS, "save");
    const char *path = cert_state_file(cert, "status.json");
    is_int(ops_fixture_mode(path), 0600, "status.json 0600");
    ok(cert_state_has(cert, "status.json"), "cert_state_has sees it now");

    apr_pool_t *next = NULL;
    apr_pool_create(&next, pool);
    ops_ctx_t ctx2;
    cert_state_t *again = open_cert(&ctx2, next, config);
    ok(again != NULL && json_equal(again->status, cert->status),
       "reopened in another pool: the same status, all of it");
    is_str(again ? ops_fixture_json_str(again->status, "names.1", next) : NULL,
           "b.example", "array member kept in order");
    apr_pool_destroy(next);

    is_int(state_write_file(path, "{\"x\": ", 6, 0600, &err, pool), APR_SUCCESS,
           "status.json truncated (by hand)");
    cert_state_t *bad = (cert_state_t *)1;
    err = NULL;
    apr_status_t rv = cert_state_open(&bad, &ctx, "server", &err);
    ok(rv != APR_SUCCESS, "malformed status.json: open fails");
    ok(bad == NULL, "and gives no state");
    ok(err && strstr(err, path) && !strchr(err, '\n'),
       "one-line error naming the file");
    is_str(ops_fixture_slurp(pool, path, NULL),
           "{\"x\": ", "the file is left as it was");
}

static void test_has(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "has", NULL);
    ops_ctx_t ctx;
    cert_state_t *cert = config ? open_cert(&ctx, pool, config) : NULL;
    if (!ok(cert != NULL, "open"))
        return;
    const char *err = NULL;
    const char *csr = cert_state_file(cert, "csr.pem");
    ok(!cert_state_has(cert, "csr.pem"), "absent file: no");
    state_write_file(csr, "", 0, 0644, &err, pool);
    ok(cert_state_has(cert, "csr.pem"), "an empty file: yes");
    chmod(csr, 0);
    ok(cert_state_has(cert, "csr.pem"), "a file of mode 0: yes");
    unlink(csr);
    ok(!cert_state_has(cert, "csr.pem"), "removed: no");
    ok(!cert_state_has(cert, "csr.pem/x"), "below a missing file: no");
}

static int lock_in_child(void *baton)
{
    const expacme_config_t *config = baton;
    apr_pool_t *pool = NULL;
    apr_pool_create(&pool, NULL);
    ops_ctx_t ctx;
    cert_state_t *cert = open_cert(&ctx, pool, config);
    const char *err = NULL;
    apr_status_t rv = cert ? cert_state_lock(cert, &err) : APR_EGENERAL;
    return rv == APR_SUCCESS ? 0 : rv == APR_EBUSY ? 1 : 2;
}

static void test_lock(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "lock", NULL);
    if (!ok(config != NULL, "config"))
        return;
    is_int(ops_fixture_in_child(lock_in_child, (void *)config), 0,
           "a child takes the free lock (and releases it when it exits)");
    apr_pool_t *held = NULL;
    apr_pool_create(&held, pool);
    ops_ctx_t ctx;
    cert_state_t *cert = open_cert(&ctx, held, config);
    const char *err = NULL;
    is_int(cert ? cert_state_lock(cert, &err) : -1, APR_SUCCESS,
           "parent takes the lock");
    ok(cert && cert->lock_fd >= 0, "and holds a descriptor");
    is_int(ops_fixture_mode(cert_state_file(cert, "lock")), 0600,
           "lock file 0600");
    is_int(ops_fixture_in_child(lock_in_child, (void *)config), 1,
           "a forked child gets APR_EBUSY while the parent holds it");

    apr_pool_t *other = NULL;
    apr_pool_create(&other, pool);
    ops_ctx_t ctx2;
    cert_state_t *second = open_cert(&ctx2, other, config);
    err = NULL;
    is_int(second ? cert_state_lock(second, &err) : -1, APR_EBUSY,
           "a second open in this process is refused too");
    ok(err && strstr(err, "busy") && strstr(err, "server"),
       "the error says busy and names the certificate");
    is_int(second ? second->lock_fd : 0, -1, "the refused one holds nothing");
    apr_pool_destroy(other);

    is_int(ops_fixture_in_child(lock_in_child, (void *)config), 1,
           "still held after the refused one went");
    apr_pool_destroy(held);
    is_int(ops_fixture_in_child(lock_in_child, (void *)config), 0,
           "released with the pool: the child gets it");
}

static const acme_problem_t *problem_make(apr_pool_t *pool, long retry_after,
                                          int subs)
{
    acme_problem_t *p = apr_pcalloc(pool, sizeof(*p));
    p->http_status = 403;
    p->type = "urn:ietf:params:acme:error:rejectedIdentifier";
    p->detail = "some names are not allowed";
    p->retry_after_s = retry_after;
    p->subproblems = apr_array_make(pool, 2, sizeof(acme_subproblem_t));
    static const acme_subproblem_t known[] = {
        {"dns:a.example", "urn:ietf:params:acme:error:rejectedIdentifier",
         "a.example is forbidden"},
        {"dns:b.example", "urn:ietf:params:acme:error:caa",
         "CAA forbids issuance for b.example"},
    };
    for (int i = 0; i < subs; i++)
        APR_ARRAY_PUSH(p->subproblems, acme_subproblem_t) = known[i];
    return p;
}

static void test_set_sign(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "sign", NULL);
    ops_ctx_t ctx;
    cert_state_t *cert = config ? open_cert(&ctx, pool, config) : NULL;
    if (!ok(cert != NULL, "open"))
        return;
    json_int_t before = (json_int_t)time(NULL);
    cert_state_set_sign(cert, "failure", "the CA refused the order", "pebble",
                        problem_make(pool, 120, 2));
    const char *err = NULL;
    is_int(cert_state_save(cert, &err), APR_SUCCESS, "saved");
    json_int_t after = (json_int_t)time(NULL);
    json_t *s = ops_fixture_status(config, "server", pool);
    is_str(ops_fixture_json_str(s, "last_sign.result", pool), "failure",
           "result");
    is_str(ops_fixture_json_str(s, "last_sign.detail", pool),
           "the CA refused the order", "detail");
    is_str(ops_fixture_json_str(s, "last_sign.provider", pool), "pebble",
           "provider");
    json_int_t t =
        json_integer_value(ops_fixture_json_at(s, "last_sign.time", pool));
    ok(t >= before && t <= after, "time is now");
    is_int(json_integer_value(
               ops_fixture_json_at(s, "last_sign.problem.status", pool)),
           403, "problem: HTTP status");
    is_str(ops_fixture_json_str(s, "last_sign.problem.type", pool),
           "urn:ietf:params:acme:error:rejectedIdentifier", "problem: type");
    is_str(ops_fixture_json_str(s, "last_sign.problem.detail", pool),
           "some names are not allowed", "problem: detail");
    is_int(json_integer_value(
               ops_fixture_json_at(s, "last_sign.problem.retry_after", pool)),
           120, "problem: retry_after");
    is_int(json_array_size(
               ops_fixture_json_at(s, "last_sign.problem.subproblems", pool)),
           2, "two subproblems");
    is_str(ops_fixture_json_str(s, "last_sign.problem.subproblems.0.identifier",
                                pool),
           "dns:a.example", "first subproblem: identifier");
    is_str(
        ops_fixture_json_str(s, "last_sign.problem.subproblems.1.type", pool),
        "urn:ietf:params:acme:error:caa", "second subproblem: type");
    is_str(
        ops_fixture_json_str(s, "last_sign.problem.subproblems.1.detail", pool),
        "CAA forbids issuance for b.example", "second subproblem: detail");

    cert_state_set_sign(cert, "failure", "again", NULL,
                        problem_make(pool, -1, 0));
    json_t *p = ops_fixture_json_at(cert->status, "last_sign.problem", pool);
    ok(p && !json_object_get(p, "retry_after"), "no retry_after: none kept");
    ok(p && !json_object_get(p, "subproblems"), "no subproblems: none kept");
    ok(!ops_fixture_json_at(cert->status, "last_sign.provider", pool) ||
           json_is_null(
               ops_fixture_json_at(cert->status, "last_sign.provider", pool)),
       "no provider: none recorded");
    cert_state_set_sign(cert, "success", "certificate signed and pending",
                        "pebble", NULL);
    is_str(ops_fixture_json_str(cert->status, "last_sign.result", pool),
           "success", "a later success replaces the failure");
    ok(!ops_fixture_json_at(cert->status, "last_sign.problem", pool),
       "and its problem document with it");
}

static void test_names(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "names", NULL);
    ops_ctx_t ctx;
    cert_state_t *cert = config ? open_cert(&ctx, pool, config) : NULL;
    if (!ok(cert != NULL, "open"))
        return;
    const char *err = NULL;
    is_str(cert_state_name(cert), "none", "nothing: none");
    state_write_file(cert_state_file(cert, "csr.pem"), "x", 1, 0644, &err,
                     pool);
    is_str(cert_state_name(cert), "csr", "a CSR: csr");
    state_write_file(cert_state_file(cert, "pending.pem"), "x", 1, 0644, &err,
                     pool);
    is_str(cert_state_name(cert), "pending", "a signed chain staged: pending");
    state_write_file(cert_state_file(cert, "deployed.json"), "{}", 2, 0600,
                     &err, pool);
    is_str(cert_state_name(cert), "pending",
           "deployed once and a new chain staged: pending");
    unlink(cert_state_file(cert, "pending.pem"));
    is_str(cert_state_name(cert), "deployed", "deployed, nothing staged");

    ops_fixture_child_t child;
    ops_fixture_child_start(&child);
    json_object_set_new(cert->status, "signing",
                        json_pack("{s:I, s:s}", "pid", (json_int_t)child.pid,
                                  "provider", "pebble"));
    is_str(cert_state_name(cert), "signing",
           "an order in flight by a live process: signing");
    ops_fixture_child_end(&child);
    is_str(cert_state_name(cert), "deployed",
           "the same record once that process is gone: the files say");
    json_object_set_new(cert->status, "signing",
                        json_pack("{s:I}", "pid", (json_int_t)getpid()));
    is_str(cert_state_name(cert), "signing", "this process signing: signing");
    json_object_set_new(cert->status, "signing", json_pack("{s:I}", "pid", 0));
    is_str(cert_state_name(cert), "deployed", "pid 0 is nobody's");
}

/* Tokens in the store as a sign publishes them (one host each). */
static const char *const ours[] = {"tok-A_one", "tok-B_two", "tok-C_three"};
static const char *const hosts[] = {"a.example", "b.example", "c.example"};
enum { OURS = 3 };

static const char *store_path(const expacme_config_t *config)
{
    const char *err = NULL;
    return config_store_path(config, &err);
}

static int store_put(const expacme_config_t *config, const char *host,
                     const char *token)
{
    challenge_store_writer_t *w = NULL;
    char keyauth[300];
    snprintf(keyauth, sizeof(keyauth), "%s.thumbprint", token);
    int64_t now = (int64_t)time(NULL);
    if (challenge_store_writer_open(&w, store_path(config), 0) !=
        CHALLENGE_STORE_OK)
        return 0;
    challenge_store_status_t st =
        challenge_store_put(w, host, token, keyauth, now + 3600, now);
    challenge_store_writer_close(w);
    return st == CHALLENGE_STORE_OK;
}

/* Whether (host, token) is live in the store, as httpd would look. */
static int store_has(const expacme_config_t *config, const char *host,
                     const char *token)
{
    challenge_store_map_t *map = NULL;
    char keyauth[TOKEN_RULES_KEYAUTH_MAX + 1];
    size_t len = 0;
    if (challenge_store_map(&map, store_path(config)) != CHALLENGE_STORE_OK)
        return -1;
    challenge_store_status_t st = challenge_store_lookup(
        map, host, strlen(host), token, strlen(token), (int64_t)time(NULL),
        keyauth, sizeof(keyauth), &len);
    challenge_store_unmap(map);
    return st == CHALLENGE_STORE_OK;
}

/* A status.json "signing" record of pid with our tokens, and the tokens
 * (and another certificate's) in the store, as a killed sign leaves them. */
static int leave_order(const expacme_config_t *config, pid_t pid)
{
    char run[256];
    snprintf(run, sizeof(run), "%s", store_path(config));
    *strrchr(run, '/') = '\0';
    mkdir(run, 0755);
    int put = store_put(config, "other.example", "tok-other");
    for (int i = 0; i < OURS; i++)
        put += store_put(config, hosts[i], ours[i]);
    apr_pool_t *pool = NULL;
    apr_pool_create(&pool, NULL);
    ops_ctx_t ctx;
    cert_state_t *cert = open_cert(&ctx, pool, config);
    const char *err = NULL;
    int saved = 0;
    if (cert != NULL) {
        json_object_set_new(
            cert->status, "signing",
            json_pack("{s:I, s:I, s:s, s:[s, s, s]}", "pid", (json_int_t)pid,
                      "started", (json_int_t)time(NULL) - 5, "provider",
                      "pebble", "tokens", ours[0], ours[1], ours[2]));
        saved = cert_state_save(cert, &err) == APR_SUCCESS;
    }
    apr_pool_destroy(pool);
    return put == OURS + 1 && saved;
}

static int ours_left(const expacme_config_t *config)
{
    int left = 0;
    for (int i = 0; i < OURS; i++)
        left += store_has(config, hosts[i], ours[i]) == 1;
    return left;
}

static void test_recover_dead(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "dead", NULL);
    if (!ok(config != NULL, "config"))
        return;
    ok(leave_order(config, ops_fixture_dead_pid()),
       "a dead pid's order: record saved, four tokens in the store");
    is_int(ours_left(config), OURS, "our three tokens are served before");
    ops_ctx_t ctx;
    cert_state_t *cert = open_cert(&ctx, pool, config);
    int recovered = -1;
    const char *err = NULL;
    apr_status_t rv =
        cert ? cert_state_recover(cert, &recovered, &err) : APR_EGENERAL;
    is_int(rv, APR_SUCCESS, "recover");
    if (rv != APR_SUCCESS)
        printf("#   %s\n", err ? err : "(no error text)");
    is_int(recovered, 1, "it says it recovered one");
    is_int(ours_left(config), 0, "our tokens are withdrawn from the store");
    is_int(store_has(config, "other.example", "tok-other"), 1,
           "another certificate's token stays");
    json_t *s = ops_fixture_status(config, "server", pool);
    ok(s && !json_object_get(s, "signing"), "\"signing\" removed on disk");
    ok(cert && !json_object_get(cert->status, "signing"), "and in memory");
    is_str(ops_fixture_json_str(s, "last_sign.result", pool), "interrupted",
           "Last Sign Status: interrupted");
    const char *detail = ops_fixture_json_str(s, "last_sign.detail", pool);
    ok(detail && strstr(detail, "killed") && strstr(detail, "withdrawn"),
       "detail says killed and withdrawn");
    is_str(ops_fixture_json_str(s, "last_sign.provider", pool), "pebble",
           "provider of the interrupted order");
    is_str(cert ? cert_state_name(cert) : NULL, "none", "no longer signing");
    recovered = -1;
    is_int(cert ? cert_state_recover(cert, &recovered, &err) : -1, APR_SUCCESS,
           "recover again");
    is_int(recovered, 0, "nothing left to recover");
}

static void test_recover_live(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "live", NULL);
    if (!ok(config != NULL, "config"))
        return;
    ops_fixture_child_t child;
    ops_fixture_child_start(&child);
    ok(leave_order(config, child.pid), "a live process's order");
    ops_ctx_t ctx;
    cert_state_t *cert = open_cert(&ctx, pool, config);
    int recovered = -1;
    const char *err = NULL;
    is_int(cert ? cert_state_recover(cert, &recovered, &err) : -1, APR_SUCCESS,
           "recover");
    is_int(recovered, 0, "nothing recovered");
    is_int(ours_left(config), OURS, "its tokens stay in the store");
    json_t *s = ops_fixture_status(config, "server", pool);
    is_int(json_integer_value(ops_fixture_json_at(s, "signing.pid", pool)),
           child.pid, "its record stays on disk");
    ok(s && !json_object_get(s, "last_sign"), "no Last Sign Status written");
    is_str(cert ? cert_state_name(cert) : NULL, "signing", "state signing");
    ops_fixture_child_end(&child);
}

static int recover_unprivileged(void *baton)
{
    const expacme_config_t *config = baton;
    apr_pool_t *pool = NULL;
    const char *err = NULL;
    int recovered = -1;
    if (!ops_fixture_drop())
        return 10;
    apr_pool_create(&pool, NULL);
    ops_ctx_t ctx;
    cert_state_t *cert = open_cert(&ctx, pool, config);
    if (cert == NULL || cert_state_recover(cert, &recovered, &err) != 0)
        return 11;
    return recovered;
}

/* A live process that may not be signalled (kill() says EPERM) is alive:
 * its order is left alone. */
static void test_recover_unsignalled(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "eperm", NULL);
    if (!ok(config != NULL, "config"))
        return;
    ok(leave_order(config, 1) &&
           ops_fixture_give_away(dir, in_dir(pool, "eperm")),
       "an order of pid 1, recovered as nobody");
    is_int(ops_fixture_in_child(recover_unprivileged, (void *)config), 0,
           "EPERM: nothing recovered");
    is_int(ours_left(config), OURS, "EPERM: its tokens stay in the store");
    json_t *s = ops_fixture_status(config, "server", pool);
    is_int(json_integer_value(ops_fixture_json_at(s, "signing.pid", pool)), 1,
           "EPERM: its record stays");
}

/* A helper killed with port 80 open (the challenge window): recovery
 * closes it and reloads. */
static void test_recover_window(apr_pool_t *pool)
{
    const expacme_config_t *config = case_config(pool, "window", NULL);
    if (!ok(config != NULL, "config"))
        return;
    const char *err = NULL;
    const char *marker = in_dir(pool, "window/graceful-ran");
    state_write_file(config->challenge_window_include, "Listen 80\n", 10, 0644,
                     &err, pool);
    ok(leave_order(config, ops_fixture_dead_pid()), "a dead pid's order");
    ops_ctx_t ctx;
    cert_state_t *cert = open_cert(&ctx, pool, config);
    int recovered = -1;
    is_int(cert ? cert_state_recover(cert, &recovered, &err) : -1, APR_SUCCESS,
           "recover");
    is_int(recovered, 1, "recovered");
    ok(!ops_fixture_exists(config->challenge_window_include),
       "the window's include file is gone");
    ok(ops_fixture_exists(marker), "and httpd was reloaded gracefully");
}

/* The store cannot be opened: recovery fails and loses nothing. */
static void test_recover_no_store(apr_pool_t *pool)
{
    const char *blocker = in_dir(pool, "not-a-dir");
    const char *err = NULL;
    state_write_file(blocker, "x", 1, 0600, &err, pool);
    const expacme_config_t *config = case_config(
        pool, "nostore", apr_pstrcat(pool, "shm:", blocker, "/ch", NULL));
    if (!ok(config != NULL, "config"))
        return;
    ops_ctx_t ctx;
    cert_state_t *cert = open_cert(&ctx, pool, config);
    if (!ok(cert != NULL, "open"))
        return;
    json_object_set_new(cert->status, "signing",
                        json_pack("{s:I, s:[s]}", "pid",
                                  (json_int_t)ops_fixture_dead_pid(), "tokens",
                                  ours[0]));
    cert_state_save(cert, &err);
    int recovered = -1;
    err = NULL;
    ok(cert_state_recover(cert, &recovered, &err) != APR_SUCCESS,
       "store path below a file: recovery fails");
    ok(err && strstr(err, blocker) && !strchr(err, '\n'),
       "one-line error naming the path");
    is_int(recovered, 0, "not counted as recovered");
    json_t *s = ops_fixture_status(config, "server", pool);
    is_str(ops_fixture_json_str(s, "signing.tokens.0", pool), ours[0],
           "the record and its tokens are kept for the next try");
    ok(s && !json_object_get(s, "last_sign"), "no Last Sign Status yet");
}

int main(void)
{
    apr_pool_t *pool = NULL;
    if (!test_dir_begin(&pool, dir))
        return 1;
    test_open_new(pool);
    test_save_reopen(pool);
    test_has(pool);
    test_lock(pool);
    test_set_sign(pool);
    test_names(pool);
    test_recover_dead(pool);
    test_recover_live(pool);
    test_recover_unsignalled(pool);
    test_recover_window(pool);
    test_recover_no_store(pool);
    apr_pool_destroy(pool);
    test_dir_remove(dir);
    apr_terminate();
    return done_testing();
}
