/* acme_order.c — see acme_order.h. */
#include "acme/acme_order.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"
#include "acme/acme_ca.h"
#include "acme/acme_json.h"
#include "base/json_pool.h"
#include "token_rules.h"

#define MAX_AUTHZ 1000
#define POLL_FIRST (apr_time_from_msec(20))
/* The first look at an order being finalized.  Issuance takes a few ms
 * at a CA that finalizes in the background (a CA that finalizes at once
 * answers "valid" and is not looked at again); a look while it completes
 * is what Pebble (2.4 up to at least 2.10) can deadlock on: the read
 * takes the order's read lock twice and the issuer's write lock queues
 * between the two (letsencrypt/pebble#554).  20 ms met that moment under
 * a fleet's load; 100 ms rarely does. */
#define POLL_FINALIZE_FIRST (apr_time_from_msec(100))
#define POLL_MAX (apr_time_from_sec(2))
#define POLL_RETRY_AFTER_MAX (apr_time_from_sec(30))

typedef struct {
    const char *url;
    const char *identifier;
    const char *name; /* as the CSR has it ("*." + identifier: wildcard) */
    const char *type; /* of the challenge answered */
    const char *challenge_url;
    const char *token;
    int valid;
} authz_t;

typedef struct {
    acme_session_t *s;
    const acme_order_request_t *req;
    acme_order_result_t *result;
    apr_time_t deadline;
    apr_array_header_t *authzs;    /* authz_t */
    apr_array_header_t *published; /* acme_challenge_t */
    const char *finalize_url;
    const char *certificate_url;
    apr_pool_t *pool;
} order_run_t;

static void say(order_run_t *run, const char *message)
{
    if (run->s->options.progress != NULL)
        run->s->options.progress(run->s->options.progress_baton, "%s", message);
}

int acme_order_name_is_ip(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 ||
           inet_pton(AF_INET6, name, buf) == 1;
}

static int name_requested(const order_run_t *run, const char *value)
{
    for (int i = 0; i < run->req->names->nelts; i++) {
        if (strcasecmp(APR_ARRAY_IDX(run->req->names, i, const char *),
                       value) == 0)
            return 1;
    }
    return 0;
}

/* Waits wait, or until the deadline if that comes first (one last look
 * at it). */
static apr_status_t wait_capped(order_run_t *run, apr_interval_time_t wait,
                                const char **err)
{
    apr_time_t now = apr_time_now();
    if (now + wait > run->deadline)
        wait = run->deadline > now ? run->deadline - now : 0;
    apr_status_t rv = acme_wait(run->s, wait);
    if (rv != APR_SUCCESS)
        *err = "interrupted";
    return rv;
}

/* Next poll delay: doubling from 20 ms to 2 s, or the CA's Retry-After
 * when it gives one (capped), never past the deadline. */
static apr_status_t poll_wait(order_run_t *run, apr_interval_time_t *delay,
                              const char *retry_after, const char **err)
{
    apr_interval_time_t wait = *delay;
    long ra = http_retry_after_seconds(retry_after, apr_time_now());
    if (ra >= 0)
        wait = apr_time_from_sec(ra) > POLL_RETRY_AFTER_MAX
                   ? POLL_RETRY_AFTER_MAX
                   : apr_time_from_sec(ra);
    *delay = *delay * 2 > POLL_MAX ? POLL_MAX : *delay * 2;
    if (apr_time_now() >= run->deadline) {
        *err = "timed out waiting for the CA";
        return APR_TIMEUP;
    }
    return wait_capped(run, wait, err);
}

static json_t *order_payload(order_run_t *run)
{
    json_t *ids = json_array();
    for (int i = 0; i < run->req->names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(run->req->names, i, const char *);
        json_array_append_new(
            ids, json_pack("{s:s, s:s}", "type",
                           acme_order_name_is_ip(name) ? "ip" : "dns", "value",
                           name));
    }
    json_t *payload = json_pack("{s:o}", "identifiers", ids);
    if (run->req->profile != NULL)
        json_object_set_new(payload, "profile", json_string(run->req->profile));
    if (run->req->replaces != NULL)
        json_object_set_new(payload, "replaces",
                            json_string(run->req->replaces));
    return payload;
}

static apr_status_t profile_check(order_run_t *run, const char **err)
{
    const char *want = run->req->profile;
    if (want == NULL)
        return APR_SUCCESS;
    json_t *offered = run->s->profiles;
    if (offered == NULL) {
        *err = apr_psprintf(run->pool,
                            "profile '%s' asked, but this CA "
                            "advertises no certificate profiles",
                            want);
        return APR_EINVAL;
    }
    if (json_object_get(offered, want) != NULL)
        return APR_SUCCESS;
    const char *names = "";
    const char *key;
    json_t *value;
    json_object_foreach(offered, key, value)
    {
        names = apr_pstrcat(run->pool, names, *names ? ", " : "",
                            acme_escape(key, 64, run->pool), NULL);
    }
    *err = apr_psprintf(run->pool,
                        "this CA does not offer profile '%s' "
                        "(it offers: %s)",
                        want, names);
    return APR_EINVAL;
}

static apr_status_t order_create(order_run_t *run, const char **err)
{
    json_t *order = NULL;
    http_response_t *resp = NULL;
    json_t *payload = json_pool_bind(order_payload(run), run->pool);
    apr_status_t rv = acme_post_json(
        &order, &resp, run->s, run->s->new_order_url, payload, err, run->pool);
    if (rv != APR_SUCCESS)
        return rv;
    json_t *urls = acme_json_array_member(order, "authorizations");
    run->finalize_url = acme_json_url_member(order, "finalize");
    run->result->order_url = resp->location;
    if (urls == NULL || json_array_size(urls) == 0 ||
        json_array_size(urls) > MAX_AUTHZ || run->finalize_url == NULL ||
        resp->location == NULL || strncmp(resp->location, "https://", 8)) {
        *err = "CA's new order lacks authorizations, finalize or Location";
        return APR_EGENERAL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(urls, i, item)
    {
        authz_t *a = apr_array_push(run->authzs);
        memset(a, 0, sizeof(*a));
        if (!json_is_string(item) ||
            strncmp(json_string_value(item), "https://", 8) != 0) {
            *err = "CA's order lists an authorization that is not an https "
                   "URL";
            return APR_EGENERAL;
        }
        a->url = apr_pstrdup(run->pool, json_string_value(item));
    }
    say(run,
        apr_psprintf(run->pool, "order created: %d authorization%s",
                     run->authzs->nelts, run->authzs->nelts == 1 ? "" : "s"));
    return APR_SUCCESS;
}

static json_t *find_challenge(json_t *authz, const char *want)
{
    json_t *list = acme_json_array_member(authz, "challenges");
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *type = acme_json_string_member(c, "type");
        if (type != NULL && want != NULL && strcmp(type, want) == 0)
            return c;
    }
    return NULL;
}

/* The type of the challenge a valid authorization shows valid. */
static const char *valid_type(json_t *authz, apr_pool_t *pool)
{
    json_t *list = acme_json_array_member(authz, "challenges");
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c)
    {
        const char *status = acme_json_string_member(c, "status");
        const char *type = acme_json_string_member(c, "type");
        if (status != NULL && type != NULL && strcmp(status, "valid") == 0)
            return apr_pstrdup(pool, acme_escape(type, 32, pool));
    }
    return "reused";
}

static int type_fits(const char *type, const char *name)
{
    if (strncmp(name, "*.", 2) == 0)
        return strcmp(type, "dns-01") == 0;
    if (acme_order_name_is_ip(name))
        return strcmp(type, "http-01") == 0;
    return 1;
}

const char *acme_order_type_for(const apr_array_header_t *types,
                                const char *name)
{
    if (types == NULL)
        return type_fits("http-01", name) ? "http-01" : NULL;
    for (int i = 0; i < types->nelts; i++) {
        const char *t = APR_ARRAY_IDX(types, i, const char *);
        if (type_fits(t, name))
            return t;
    }
    return NULL;
}

/* The first preferred type that fits the name and that the CA offers. */
static json_t *choose_challenge(order_run_t *run, authz_t *a, json_t *authz)
{
    static const char *const fallback[] = {"http-01"};
    const apr_array_header_t *types = run->req->types;
    int n = types != NULL ? types->nelts : 1;
    for (int i = 0; i < n; i++) {
        const char *t =
            types != NULL ? APR_ARRAY_IDX(types, i, const char *) : fallback[0];
        json_t *c = type_fits(t, a->name) ? find_challenge(authz, t) : NULL;
        if (c != NULL) {
            a->type = t;
            return c;
        }
    }
    return NULL;
}

static const char *types_text(order_run_t *run)
{
    const apr_array_header_t *types = run->req->types;
    if (types == NULL)
        return "http-01";
    const char *out = "";
    for (int i = 0; i < types->nelts; i++)
        out = apr_pstrcat(run->pool, out, i ? " " : "",
                          APR_ARRAY_IDX(types, i, const char *), NULL);
    return out;
}

/* Per-request memory: a scratch pool each, so a 100-name order does not
 * keep every answer until the end.  What outlives the request (and an
 * error message) is copied to the run's pool. */
static apr_pool_t *scratch_pool(order_run_t *run)
{
    apr_pool_t *scratch = NULL;
    apr_pool_create(&scratch, run->pool);
    return scratch;
}

static apr_status_t scratch_done(order_run_t *run, apr_pool_t *scratch,
                                 apr_status_t rv, const char **err)
{
    if (rv != APR_SUCCESS && *err != NULL)
        *err = apr_pstrdup(run->pool, *err);
    apr_pool_destroy(scratch);
    return rv;
}

/* A POST-as-GET of an authorization, in its lane (acme_ca.h). */
static apr_status_t authz_read(json_t **authz, http_response_t **resp,
                               order_run_t *run, const char *url,
                               const char **err, apr_pool_t *pool)
{
    run->s->lane = ACME_LANE_AUTHZ;
    apr_status_t rv = acme_post_json(authz, resp, run->s, url, NULL, err, pool);
    run->s->lane = ACME_LANE_ANY;
    return rv;
}

static apr_status_t authz_fetch(order_run_t *run, authz_t *a, const char **err,
                                apr_pool_t *scratch)
{
    json_t *authz = NULL;
    apr_status_t rv = authz_read(&authz, NULL, run, a->url, err, scratch);
    if (rv != APR_SUCCESS)
        return rv;
    const char *status = acme_json_string_member(authz, "status");
    json_t *id = acme_json_object_member(authz, "identifier");
    a->identifier = acme_json_string_member(id, "value");
    a->name = a->identifier;
    if (a->identifier != NULL &&
        json_is_true(json_object_get(authz, "wildcard")))
        a->name = apr_pstrcat(run->pool, "*.", a->identifier, NULL);
    if (status == NULL || a->identifier == NULL ||
        !name_requested(run, a->name)) {
        *err = apr_psprintf(run->pool,
                            "CA's authorization %s lacks a status "
                            "or names an identifier not in the CSR",
                            acme_escape(a->url, 200, run->pool));
        return APR_EGENERAL;
    }
    a->identifier = apr_pstrdup(run->pool, a->identifier);
    a->name = apr_pstrdup(run->pool, a->name);
    if (strcmp(status, "valid") == 0) {
        a->valid = 1;
        a->type = valid_type(authz, run->pool);
        return APR_SUCCESS;
    }
    json_t *c = choose_challenge(run, a, authz);
    const char *token = acme_json_string_member(c, "token");
    a->challenge_url = acme_json_url_member(c, "url");
    if (c == NULL || a->challenge_url == NULL) {
        *err =
            apr_psprintf(run->pool,
                         "CA offers no challenge of the types configured "
                         "(%s) for %s",
                         types_text(run), acme_escape(a->name, 253, run->pool));
        return APR_EGENERAL;
    }
    if (token == NULL || !token_rules_token_valid(token, strlen(token))) {
        *err = apr_psprintf(run->pool, "CA sent an invalid %s token for %s",
                            a->type, acme_escape(a->name, 253, run->pool));
        return APR_EGENERAL;
    }
    a->token = apr_pstrdup(run->pool, token);
    a->challenge_url = apr_pstrdup(run->pool, a->challenge_url);
    return APR_SUCCESS;
}

static apr_status_t authz_load(order_run_t *run, authz_t *a, const char **err)
{
    apr_pool_t *scratch = scratch_pool(run);
    return scratch_done(run, scratch, authz_fetch(run, a, err, scratch), err);
}

static apr_status_t publish(order_run_t *run, const char **err)
{
    for (int i = 0; i < run->authzs->nelts; i++) {
        authz_t *a = &APR_ARRAY_IDX(run->authzs, i, authz_t);
        if (a->valid)
            continue;
        acme_challenge_t *c = apr_array_push(run->published);
        c->type = a->type;
        c->host = a->identifier;
        c->name = a->name;
        c->token = a->token;
        c->keyauth =
            apr_pstrcat(run->pool, a->token, ".", run->req->thumbprint, NULL);
    }
    if (run->published->nelts == 0)
        return APR_SUCCESS;
    apr_int64_t expires = apr_time_sec(run->deadline) + 60;
    return run->req->publisher->publish(
        run->req->publisher->baton, run->published, expires, err, run->pool);
}

static apr_status_t answer_all(order_run_t *run, const char **err)
{
    json_t *empty = json_pool_bind(json_object(), run->pool);
    for (int i = 0; i < run->authzs->nelts; i++) {
        authz_t *a = &APR_ARRAY_IDX(run->authzs, i, authz_t);
        if (a->valid)
            continue;
        http_response_t *resp = NULL;
        apr_pool_t *scratch = scratch_pool(run);
        apr_status_t rv =
            scratch_done(run, scratch,
                         acme_post(&resp, run->s, a->challenge_url, empty, NULL,
                                   err, scratch),
                         err);
        if (rv != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

/* The challenge's problem, as status keeps it and as one line. */
static const char *challenge_error(order_run_t *run, json_t *authz,
                                   const char *identifier, const char *type)
{
    json_t *c = find_challenge(authz, type);
    json_t *e = acme_json_object_member(c, "error");
    run->s->problem = acme_problem_from_json(e, 0, run->s->pool);
    return apr_psprintf(
        run->pool, "validation of %s failed: %s: %s",
        acme_escape(identifier, 253, run->pool),
        acme_escape(acme_json_string_member(e, "type"), 200, run->pool),
        acme_escape(acme_json_string_member(e, "detail"), 1000, run->pool));
}

/* One round over the authorizations not yet valid; *pending counts those
 * still waiting. */
static apr_status_t poll_round(order_run_t *run, int *pending,
                               const char **retry_after, const char **err)
{
    *pending = 0;
    for (int i = 0; i < run->authzs->nelts; i++) {
        authz_t *a = &APR_ARRAY_IDX(run->authzs, i, authz_t);
        if (a->valid)
            continue;
        json_t *authz = NULL;
        apr_pool_t *scratch = scratch_pool(run);
        http_response_t *resp = NULL;
        apr_status_t rv = authz_read(&authz, &resp, run, a->url, err, scratch);
        const char *status = acme_json_string_member(authz, "status");
        if (rv != APR_SUCCESS) {
            /* fall through to scratch_done with the error */
        } else if (status != NULL && strcmp(status, "valid") == 0) {
            a->valid = 1;
        } else if (status != NULL && (strcmp(status, "pending") == 0 ||
                                      strcmp(status, "processing") == 0)) {
            (*pending)++;
        } else {
            run->result->failed_identifier = a->identifier;
            *err = challenge_error(run, authz, a->name, a->type);
            rv = APR_EGENERAL;
        }
        if (resp != NULL && resp->retry_after != NULL)
            *retry_after = apr_pstrdup(run->pool, resp->retry_after);
        rv = scratch_done(run, scratch, rv, err);
        if (rv != APR_SUCCESS)
            return rv;
    }
    return APR_SUCCESS;
}

/* Before the first look: as long as the CA lately took to validate
 * (acme_ca.h), when a concurrent run shares its view; a look while it
 * is certain to be pending is a request for nothing, at the CA too. */
static apr_status_t first_look_wait(order_run_t *run, const char **err)
{
    apr_interval_time_t wait =
        run->s->ca ? acme_ca_validation_expected(run->s->ca) : 0;
    return wait > 0 ? wait_capped(run, wait, err) : APR_SUCCESS;
}

static apr_status_t authz_wait(order_run_t *run, const char **err)
{
    int total = run->authzs->nelts;
    apr_interval_time_t delay = POLL_FIRST;
    int reported = -1;
    apr_time_t answered = apr_time_now();
    /* All valid already (reused by the CA: nothing published): nothing to
     * wait for, and nothing learnt about how long validation takes. */
    if (run->published->nelts == 0)
        return APR_SUCCESS;
    apr_status_t first = first_look_wait(run, err);
    if (first != APR_SUCCESS)
        return first;
    for (;;) {
        int pending = 0;
        const char *retry_after = NULL;
        apr_status_t rv = poll_round(run, &pending, &retry_after, err);
        if (rv != APR_SUCCESS)
            return rv;
        if (total - pending != reported) {
            reported = total - pending;
            say(run, apr_psprintf(run->pool, "authorizations %d/%d valid",
                                  reported, total));
        }
        if (pending == 0) {
            if (run->s->ca)
                acme_ca_validation_note(run->s->ca, apr_time_now() - answered);
            return APR_SUCCESS;
        }
        rv = poll_wait(run, &delay, retry_after, err);
        if (rv != APR_SUCCESS)
            return rv;
    }
}

static apr_status_t order_wait_valid(order_run_t *run, json_t *order,
                                     const char **err)
{
    apr_interval_time_t delay = POLL_FINALIZE_FIRST;
    for (;;) {
        const char *status = acme_json_string_member(order, "status");
        if (status != NULL && strcmp(status, "valid") == 0) {
            run->certificate_url = acme_json_url_member(order, "certificate");
            if (run->certificate_url == NULL) {
                *err = "CA's valid order has no https certificate URL";
                return APR_EGENERAL;
            }
            return APR_SUCCESS;
        }
        if (status == NULL || (strcmp(status, "processing") != 0 &&
                               strcmp(status, "ready") != 0)) {
            json_t *e = acme_json_object_member(order, "error");
            run->s->problem = acme_problem_from_json(e, 0, run->s->pool);
            *err = apr_psprintf(
                run->pool, "order became %s: %s: %s",
                acme_escape(status, 32, run->pool),
                acme_escape(acme_json_string_member(e, "type"), 200, run->pool),
                acme_escape(acme_json_string_member(e, "detail"), 1000,
                            run->pool));
            return APR_EGENERAL;
        }
        http_response_t *resp = NULL;
        apr_status_t rv = poll_wait(run, &delay, NULL, err);
        if (rv == APR_SUCCESS)
            rv = acme_post_json(&order, &resp, run->s, run->result->order_url,
                                NULL, err, run->pool);
        if (rv != APR_SUCCESS)
            return rv;
    }
}

static apr_status_t finalize(order_run_t *run, const char **err)
{
    say(run, "finalizing");
    json_t *payload = json_pool_bind(
        json_pack("{s:s}", "csr", run->req->csr_der_b64url), run->pool);
    json_t *order = NULL;
    apr_status_t rv = acme_post_json(&order, NULL, run->s, run->finalize_url,
                                     payload, err, run->pool);
    if (rv != APR_SUCCESS)
        return rv;
    return order_wait_valid(run, order, err);
}

static apr_status_t fetch_chain(order_run_t *run, const char *url,
                                http_response_t **resp,
                                apr_array_header_t **parsed,
                                const char **issuer, const char **err)
{
    apr_status_t rv =
        acme_post(resp, run->s, url, NULL, "application/pem-certificate-chain",
                  err, run->pool);
    if (rv != APR_SUCCESS)
        return rv;
    apr_array_header_t *chain = NULL;
    rv = crypt_chain_parse(&chain, (*resp)->body, (*resp)->body_len, err,
                           run->pool);
    *parsed = chain;
    if (rv != APR_SUCCESS)
        return rv;
    crypt_cert_info_t top;
    rv = crypt_cert_info(&top, APR_ARRAY_IDX(chain, chain->nelts - 1, X509 *),
                         run->pool);
    *issuer = rv == APR_SUCCESS && top.issuer_cn ? top.issuer_cn : "";
    return APR_SUCCESS;
}

/* A CA may offer many alternate chains: at most this many are fetched,
 * each one a request made with the state lock held. */
#define ORDER_ALTERNATES_MAX 8

/* Fetches one alternate chain with at most the time left to the order's
 * deadline; 1 when it ends at the preferred issuer.  Any failure (404, a
 * hang cut by the deadline, a bad chain) keeps the default chain: a CA's
 * broken alternate must not fail an order whose default chain is fine. */
static int alternate_try(order_run_t *run, const char *url, const char *want)
{
    apr_interval_time_t left = run->deadline - apr_time_now();
    if (left < apr_time_from_sec(1))
        return 0;
    long previous =
        http_client_cap_timeout(run->s->http, (long)apr_time_sec(left));
    http_response_t *alt = NULL;
    apr_array_header_t *alt_chain = NULL;
    const char *alt_issuer = NULL, *err = NULL;
    apr_status_t rv =
        fetch_chain(run, url, &alt, &alt_chain, &alt_issuer, &err);
    http_client_set_timeout(run->s->http, previous);
    run->s->problem = NULL; /* not the order's problem */
    if (rv != APR_SUCCESS) {
        say(run, apr_psprintf(run->pool,
                              "alternate chain not used (keeping the "
                              "default): %s",
                              err ? err : "failed"));
        return 0;
    }
    if (strcmp(alt_issuer, want) != 0)
        return 0;
    run->result->chain_pem = alt->body;
    run->result->chain = alt_chain;
    run->result->chain_issuer = alt_issuer;
    return 1;
}

/* The default chain, unless an alternate one ends at the preferred
 * issuer (compared with the top certificate's issuer CN, as certbot and
 * lego do). */
static apr_status_t download(order_run_t *run, const char **err)
{
    http_response_t *resp = NULL;
    apr_array_header_t *chain = NULL;
    const char *issuer = NULL;
    apr_status_t rv =
        fetch_chain(run, run->certificate_url, &resp, &chain, &issuer, err);
    if (rv != APR_SUCCESS)
        return rv;
    run->result->chain_pem = resp->body;
    run->result->chain = chain;
    run->result->chain_issuer = issuer;
    const char *want = run->req->preferred_chain;
    int done = want == NULL || strcmp(issuer, want) == 0, fetched = 0;
    apr_array_header_t *links = resp->links;
    for (int i = 0; i < links->nelts; i++) {
        const http_link_t *l = &APR_ARRAY_IDX(links, i, http_link_t);
        if (strcmp(l->rel, "alternate") != 0)
            continue;
        run->result->alternates++;
        if (done || fetched >= ORDER_ALTERNATES_MAX)
            continue;
        fetched++;
        done = alternate_try(run, l->url, want);
    }
    say(run,
        apr_psprintf(run->pool,
                     "downloaded the certificate (issuer %s, "
                     "%d alternate chain%s offered, %d fetched)",
                     acme_escape(run->result->chain_issuer, 128, run->pool),
                     run->result->alternates,
                     run->result->alternates == 1 ? "" : "s", fetched));
    return APR_SUCCESS;
}

static apr_status_t run_steps(order_run_t *run, const char **err)
{
    apr_status_t rv = profile_check(run, err);
    if (rv == APR_SUCCESS)
        rv = order_create(run, err);
    for (int i = 0; rv == APR_SUCCESS && i < run->authzs->nelts; i++)
        rv = authz_load(run, &APR_ARRAY_IDX(run->authzs, i, authz_t), err);
    if (rv == APR_SUCCESS)
        rv = publish(run, err);
    if (rv == APR_SUCCESS)
        rv = answer_all(run, err);
    if (rv == APR_SUCCESS)
        rv = authz_wait(run, err);
    if (rv == APR_SUCCESS)
        rv = finalize(run, err);
    if (rv == APR_SUCCESS)
        rv = download(run, err);
    for (int i = 0; rv == APR_SUCCESS && i < run->authzs->nelts; i++) {
        const authz_t *a = &APR_ARRAY_IDX(run->authzs, i, authz_t);
        acme_validated_t *v = apr_array_push(run->result->validated);
        v->name = a->name;
        v->type = a->type;
    }
    return rv;
}

apr_status_t acme_order_run(acme_order_result_t *result, acme_session_t *s,
                            const acme_order_request_t *req, const char **err,
                            apr_pool_t *pool)
{
    order_run_t run = {s,
                       req,
                       result,
                       apr_time_now() + req->timeout,
                       apr_array_make(pool, 8, sizeof(authz_t)),
                       apr_array_make(pool, 8, sizeof(acme_challenge_t)),
                       NULL,
                       NULL,
                       pool};
    memset(result, 0, sizeof(*result));
    result->validated = apr_array_make(pool, 8, sizeof(acme_validated_t));
    apr_status_t rv = run_steps(&run, err);
    if (run.published->nelts > 0) {
        const char *werr = NULL;
        apr_status_t wrv = req->publisher->withdraw(req->publisher->baton,
                                                    run.published, &werr, pool);
        if (wrv != APR_SUCCESS && rv == APR_SUCCESS) {
            *err = werr;
            rv = wrv;
        }
    }
    return rv;
}
