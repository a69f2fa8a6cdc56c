/* test_status_flat.c — the status line form (common/status_flat.h) from
 * both ends: what the helper writes (ops/status_lines.c) is what the
 * module reads (mod_expacme/status_doc.c), hostile text included; and the
 * RFC 3339 times of --json (base/json_time.c). */
#include <stdlib.h>
#include <string.h>

#include "apr_file_io.h"
#include "apr_general.h"
#include "apr_strings.h"

#include "base/json_time.h"
#include "base/state.h"
#include "ops/status_lines.h"
#include "status_doc.h"
#include "tap.h"

static void test_json_time(void)
{
    char buf[JSON_TIME_LEN];
    is_str(json_time_format(buf, 0), "1970-01-01T00:00:00Z", "epoch 0");
    is_str(json_time_format(buf, 1700000000), "2023-11-14T22:13:20Z",
           "a known instant");
    json_t *doc =
        json_pack("{s:I, s:[I, I], s:s, s:{s:I}, s:i, s:[s]}", "not_after",
                  (json_int_t)1700000000, "resubmit", (json_int_t)1700000000,
                  (json_int_t)60, "time", "03:00", "ari", "start",
                  (json_int_t)86400, "failures", 3, "names", "a.example");
    json_time_rfc3339(doc);
    is_str(json_string_value(json_object_get(doc, "not_after")),
           "2023-11-14T22:13:20Z", "a time member becomes RFC 3339");
    is_int(json_integer_value(json_object_get(doc, "not_after_epoch")),
           1700000000, "its epoch stands beside it");
    is_str(
        json_string_value(json_array_get(json_object_get(doc, "resubmit"), 1)),
        "1970-01-01T00:01:00Z", "a list of times becomes strings");
    is_int(json_array_size(json_object_get(doc, "resubmit_epoch")), 2,
           "and its epochs stand beside it");
    is_str(json_string_value(json_object_get(doc, "time")), "03:00",
           "a string named like a time stays as it is");
    is_str(json_string_value(
               json_object_get(json_object_get(doc, "ari"), "start")),
           "1970-01-02T00:00:00Z", "nested objects too");
    is_int(json_integer_value(json_object_get(doc, "failures")), 3,
           "a count is no time");
    char *once = json_dumps(doc, JSON_SORT_KEYS);
    json_time_rfc3339(doc);
    char *twice = json_dumps(doc, JSON_SORT_KEYS);
    is_str(twice, once, "a second run changes nothing");
    free(once);
    free(twice);
    json_decref(doc);
}

static json_t *sample_doc(void)
{
    char detail[6000];
    memset(detail, 'x', sizeof(detail) - 1);
    detail[sizeof(detail) - 1] = '\0';
    memcpy(detail, "<b>CA</b>\tsaid\nno", 17);
    return json_pack(
        "{s:I, s:[{s:s, s:s, s:b, s:[s, s], s:s, s:{s:s, s:I, s:I, s:I, s:s},"
        " s:[s, s], s:[s, s], s:{s:s, s:I, s:s}, s:n, s:I, s:[I]},"
        " {s:s, s:s}]}",
        "generated", (json_int_t)1700000000, "certificates", "name", "server",
        "state", "deployed", "automated", 1, "names", "www.example.org",
        "example.org", "key_type", "ec256", "deployed", "issuer",
        "CN=R11\r\nInjected: yes", "not_before", (json_int_t)1690000000,
        "not_after", (json_int_t)1700000000, "renewal_due",
        (json_int_t)1696666666, "renewal_rule", "two-thirds of the lifetime",
        "warnings", "first warning", "second warning", "deploy_days", "mon",
        "wed", "last_sign", "result", "failure", "time", (json_int_t)1699999999,
        "detail", detail, "last_deploy", "next_deploy_slot",
        (json_int_t)1700003600, "resubmit", (json_int_t)1700001000, "name",
        "broken", "error", "cannot read status.json");
}

static void test_round_trip(apr_pool_t *pool, const char *dir)
{
    ops_ctx_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.pool = pool;
    const char *json_path = apr_pstrcat(pool, dir, "/status.json", NULL);
    const char *flat = status_lines_path(json_path, pool);
    is_str(flat, status_doc_flat_path(json_path, pool),
           "writer and reader agree on the file name");
    is_str(status_lines_path("/run/x/status", pool),
           status_doc_flat_path("/run/x/status", pool), "also without .json");
    json_t *doc = sample_doc();
    const char *err = NULL;
    ok(status_lines_write(&ctx, doc, flat, NULL, &err) == APR_SUCCESS,
       "the helper writes the line form");
    json_decref(doc);
    status_doc_t *read = NULL;
    ok(status_doc_read(&read, json_path, pool) == APR_SUCCESS && read,
       "the module reads it");
    if (read == NULL)
        return;
    ok(read->complete, "complete (the end line)");
    is_int(read->certs->nelts, 2, "both certificates");
    const status_doc_cert_t *c =
        &APR_ARRAY_IDX(read->certs, 0, status_doc_cert_t);
    is_str(c->name, "server", "the name");
    is_str(status_doc_get(c, "state"), "deployed", "the state");
    is_str(status_doc_get(c, "automated"), "on", "automated on");
    is_int(status_doc_all(c, "name", pool)->nelts, 2, "every name");
    is_str(status_doc_get(c, "deployed.issuer"), "CN=R11  Injected: yes",
           "a line break in a value is a space: no key can be smuggled in");
    ok(status_doc_get(c, "injected:") == NULL, "and none was");
    apr_int64_t t = 0;
    ok(status_doc_time(c, "deployed.not_after", &t) && t == 1700000000,
       "a time in epoch seconds");
    is_str(status_doc_get(c, "deploy_days"), "mon,wed", "deploy days");
    is_int(status_doc_all(c, "warning", pool)->nelts, 2, "every warning");
    const char *detail = status_doc_get(c, "last_sign.detail");
    ok(detail && strncmp(detail, "<b>CA</b> said no", 17) == 0,
       "a CA detail verbatim but for control characters");
    ok(detail && strlen(detail) <= 4096, "cut at the value limit");
    ok(status_doc_get(c, "last_deploy.result") == NULL,
       "no deploy yet: no last_deploy keys");
    is_int(status_doc_all(c, "resubmit", pool)->nelts, 1, "resubmit times");
    const status_doc_cert_t *b =
        &APR_ARRAY_IDX(read->certs, 1, status_doc_cert_t);
    is_str(status_doc_get(b, "error"), "cannot read status.json",
           "a certificate that could not be read says why");
}

/* More certificates than the page form holds: what fits, marked cut
 * short — not the previous page left up as if it were current. */
static void test_too_large(apr_pool_t *pool, const char *dir)
{
    ops_ctx_t ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.pool = pool;
    const char *json_path = apr_pstrcat(pool, dir, "/big.json", NULL);
    const char *flat = status_lines_path(json_path, pool);
    const char *err = NULL;
    state_write_file(flat, "expacme-status 1\ncert old\nend\n", 29, 0644, &err,
                     pool);
    char detail[4000];
    memset(detail, 'y', sizeof(detail) - 1);
    detail[sizeof(detail) - 1] = '\0';
    json_t *certs = json_array();
    for (int i = 0; i < 400; i++)
        json_array_append_new(certs,
                              json_pack("{s:s, s:s, s:{s:s, s:s}}", "name",
                                        apr_psprintf(pool, "c%d", i), "state",
                                        "deployed", "last_sign", "result",
                                        "failure", "detail", detail));
    json_t *doc = json_pack("{s:I, s:o}", "generated", (json_int_t)1700000000,
                            "certificates", certs);
    err = NULL;
    ok(status_lines_write(&ctx, doc, flat, NULL, &err) != APR_SUCCESS && err,
       "too large for the page form: reported");
    json_decref(doc);
    status_doc_t *read = NULL;
    ok(status_doc_read(&read, json_path, pool) == APR_SUCCESS && read,
       "too large: what fits is still written and read");
    if (read == NULL)
        return;
    ok(!read->complete, "marked cut short (no end line)");
    ok(read->certs->nelts > 200 && read->certs->nelts < 400,
       "the first certificates, not the old page");
    is_str(APR_ARRAY_IDX(read->certs, 0, status_doc_cert_t).name, "c0",
           "starting with the first");
}

static status_doc_t *parse(apr_pool_t *pool, const char *text)
{
    status_doc_t *doc = NULL;
    status_doc_parse(&doc, apr_pstrdup(pool, text), pool);
    return doc;
}

static void test_hostile(apr_pool_t *pool, const char *dir)
{
    ok(parse(pool, "") == NULL, "empty: refused");
    ok(parse(pool, "{\"certificates\": []}\n") == NULL,
       "JSON instead: refused");
    ok(parse(pool, "expacme-status 2\nend\n") == NULL,
       "another version: refused");
    status_doc_t *d = parse(pool, "expacme-status 1\r\n# comment\n"
                                  "cert a\nBad-Key x\nstate pending\n"
                                  "state\x01x y\n\nwarning w\x7fx\n");
    ok(d && !d->complete, "no end line: read, marked as cut short");
    const status_doc_cert_t *c =
        d ? &APR_ARRAY_IDX(d->certs, 0, status_doc_cert_t) : NULL;
    ok(c && status_doc_get(c, "bad-key") == NULL,
       "a key outside [a-z0-9_.] is ignored");
    ok(c && strcmp(status_doc_get(c, "state"), "pending") == 0,
       "the first of a repeated key");
    ok(c && strcmp(status_doc_get(c, "warning"), "w x") == 0,
       "control characters scrubbed");
    apr_int64_t t = 0;
    d = parse(pool, "expacme-status 1\ncert a\ndeployed.not_after -5\n"
                    "pending.not_after 99999999999999\nnext_attempt 12x\n");
    c = d ? &APR_ARRAY_IDX(d->certs, 0, status_doc_cert_t) : NULL;
    ok(c && !status_doc_time(c, "deployed.not_after", &t) &&
           !status_doc_time(c, "pending.not_after", &t) &&
           !status_doc_time(c, "next_attempt", &t),
       "impossible times are no times");
    const char *path = apr_pstrcat(pool, dir, "/nul.json", NULL);
    const char *flat = status_doc_flat_path(path, pool);
    apr_file_t *f = NULL;
    apr_size_t n = 25;
    apr_file_open(&f, flat, APR_FOPEN_WRITE | APR_FOPEN_CREATE, 0644, pool);
    apr_file_write(f, "expacme-status 1\ncert a\0b", &n);
    apr_file_close(f);
    ok(status_doc_read(&d, path, pool) != APR_SUCCESS,
       "a NUL inside: not our file, refused");
    ok(status_doc_read(&d, apr_pstrcat(pool, dir, "/none.json", NULL), pool) !=
               APR_SUCCESS &&
           d == NULL,
       "no file: an error, no document");
}

/* The module holds a shared lock on a status file it opened
 * (status_doc_open), and the helper rewrites the files through a spare
 * it never writes while it is held: what the module reads or sends
 * keeps the text it had when opened, over any number of rewrites. */
static void test_hold(apr_pool_t *pool, const char *dir)
{
    const char *path = apr_pstrcat(pool, dir, "/held.json", NULL);
    const char *err = NULL;
    state_write_file_spare(path, "first\n", 6, 0644, &err, pool);
    state_write_file_spare(path, "second\n", 7, 0644, &err, pool);
    apr_file_t *f = NULL;
    apr_off_t size = 0;
    ok(status_doc_open(&f, &size, path, -1, pool) == APR_SUCCESS && size == 7,
       "a reader opens the status file");
    if (f == NULL)
        return;
    ok(state_write_file_spare(path, "third!!\n", 8, 0644, &err, pool) ==
               APR_SUCCESS &&
           state_write_file_spare(path, "fourth!!\n", 9, 0644, &err, pool) ==
               APR_SUCCESS,
       "two rewrites while it holds it");
    char buf[32] = {0};
    apr_size_t n = sizeof(buf) - 1;
    apr_off_t at = 0;
    apr_file_seek(f, APR_SET, &at);
    apr_file_read(f, buf, &n);
    is_str(buf, "second\n", "the held file still has the text it had");
    apr_file_close(f);
    apr_file_remove(path, pool);
    apr_file_remove(apr_pstrcat(pool, path, ".spare", NULL), pool);
}

int main(void)
{
    apr_initialize();
    apr_pool_t *pool = NULL;
    apr_pool_create(&pool, NULL);
    char dir[] = "/tmp/test_status_flat.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    test_json_time();
    test_round_trip(pool, dir);
    test_hostile(pool, dir);
    test_too_large(pool, dir);
    test_hold(pool, dir);
    static const char *const made[] = {"status.flat", "nul.flat", "big.flat",
                                       "status.flat.spare", "big.flat.spare"};
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
        apr_file_remove(apr_pstrcat(pool, dir, "/", made[i], NULL), pool);
    if (apr_dir_remove(dir, pool) != APR_SUCCESS)
        printf("# could not remove %s\n", dir);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
