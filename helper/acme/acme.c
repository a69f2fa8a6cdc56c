/* acme.c — the session with one CA (see acme.h). */
#include "acme/acme.h"

#include <string.h>
#include <time.h>

#include "apr_strings.h"
#include "apr_time.h"

#include "acme/acme_ca.h"
#include "acme/acme_json.h"
#include "token_rules.h"

#define JOSE_TYPE "application/jose+json"

static void progress(acme_session_t *s, const char *what)
{
    if (s->options.progress != NULL)
        s->options.progress(s->options.progress_baton, "%s", what);
}

const char *acme_escape(const char *s, apr_size_t max, apr_pool_t *pool)
{
    if (s == NULL)
        return "";
    apr_size_t len = strlen(s);
    char *out = apr_palloc(pool, (len > max ? max : len) * 4 + 4);
    char *o = out;
    for (apr_size_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            static const char hex[] = "0123456789abcdef";
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        } else {
            *o++ = (char)c;
        }
    }
    if (len > max) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}

/* The response's Replay-Nonce when it is one, else NULL. */
static const char *valid_nonce(const http_response_t *resp)
{
    const char *nonce = resp->replay_nonce;
    return nonce != NULL && token_rules_token_valid(nonce, strlen(nonce))
               ? nonce
               : NULL;
}

static void nonce_keep(acme_session_t *s, const http_response_t *resp)
{
    const char *nonce = valid_nonce(resp);
    if (nonce == NULL)
        return;
    if (s->ca != NULL)
        acme_ca_nonce_put(s->ca, nonce);
    else
        APR_ARRAY_PUSH(s->nonces, const char *) = apr_pstrdup(s->pool, nonce);
}

/* One from the pool (the shared one in a concurrent run), else fresh. */
static int nonce_pop(const char **out, acme_session_t *s, apr_pool_t *pool)
{
    if (s->ca != NULL) {
        char buf[256];
        if (!acme_ca_nonce_take(s->ca, buf, sizeof(buf)))
            return 0;
        *out = apr_pstrdup(pool, buf);
        return 1;
    }
    if (s->nonces->nelts == 0)
        return 0;
    *out = *(const char **)apr_array_pop(s->nonces);
    return 1;
}

static apr_status_t nonce_take(const char **out, acme_session_t *s,
                               const char **err, apr_pool_t *pool)
{
    if (nonce_pop(out, s, pool)) {
        /* The newest first: after badNonce it is the one the error
         * carried, which is the one RFC 8555 §6.5 says to use. */
        return APR_SUCCESS;
    }
    http_response_t *resp = NULL;
    apr_status_t rv = http_request(&resp, s->http, "HEAD", s->new_nonce_url,
                                   NULL, NULL, NULL, 0, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    /* The fresh nonce is used here, never put in the pool first: in a
     * concurrent run the pool is shared, and another order's thread
     * could take it in between and leave this one with none (a fleet's
     * sign failed so, about once in thirty thousand orders). */
    const char *fresh = valid_nonce(resp);
    if (fresh == NULL) {
        *err = apr_psprintf(pool,
                            "%s: answered %ld without a valid "
                            "Replay-Nonce",
                            s->new_nonce_url, resp->status);
        return APR_EGENERAL;
    }
    *out = apr_pstrdup(pool, fresh);
    return APR_SUCCESS;
}

static void parse_subproblems(acme_problem_t *p, json_t *list, apr_pool_t *pool)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        if (i >= 200)
            break;
        acme_subproblem_t *sub = apr_array_push(p->subproblems);
        const char *type = acme_json_string_member(item, "type");
        const char *detail = acme_json_string_member(item, "detail");
        sub->type = type ? apr_pstrdup(pool, type) : NULL;
        sub->detail = detail ? apr_pstrdup(pool, detail) : NULL;
        json_t *id = acme_json_object_member(item, "identifier");
        const char *t = acme_json_string_member(id, "type");
        const char *v = acme_json_string_member(id, "value");
        sub->identifier = (t && v) ? apr_pstrcat(pool, t, ":", v, NULL) : NULL;
    }
}

acme_problem_t *acme_problem_from_json(const json_t *doc, int http_status,
                                       apr_pool_t *pool)
{
    acme_problem_t *p = apr_pcalloc(pool, sizeof(*p));
    p->http_status = http_status;
    p->retry_after_s = -1;
    p->subproblems = apr_array_make(pool, 0, sizeof(acme_subproblem_t));
    const char *type = acme_json_string_member(doc, "type");
    const char *detail = acme_json_string_member(doc, "detail");
    /* Copied: the document usually lives in a scratch pool. */
    p->type = type ? apr_pstrdup(pool, type) : NULL;
    p->detail = detail ? apr_pstrdup(pool, detail) : NULL;
    json_t *subs = acme_json_array_member(doc, "subproblems");
    if (subs != NULL)
        parse_subproblems(p, subs, pool);
    return p;
}

acme_problem_t *acme_problem_parse(const http_response_t *resp,
                                   apr_pool_t *pool)
{
    json_t *doc = NULL;
    const char *ignored = NULL;
    acme_json_parse_object(&doc, resp->body, resp->body_len, "problem",
                           &ignored, pool);
    acme_problem_t *p = acme_problem_from_json(doc, (int)resp->status, pool);
    p->retry_after_s =
        http_retry_after_seconds(resp->retry_after, apr_time_now());
    return p;
}

static int problem_is(const acme_problem_t *p, const char *name)
{
    return p != NULL && p->type != NULL &&
           strncmp(p->type, ACME_ERROR_PREFIX, strlen(ACME_ERROR_PREFIX)) ==
               0 &&
           strcmp(p->type + strlen(ACME_ERROR_PREFIX), name) == 0;
}

const char *acme_problem_text(const acme_problem_t *p, apr_pool_t *pool)
{
    const char *text = apr_psprintf(
        pool, "CA answered %d: %s: %s", p->http_status,
        p->type ? acme_escape(p->type, 200, pool) : "(no problem type)",
        p->detail ? acme_escape(p->detail, 1000, pool) : "(no detail)");
    for (int i = 0; i < p->subproblems->nelts && i < 20; i++) {
        const acme_subproblem_t *sub =
            &APR_ARRAY_IDX(p->subproblems, i, acme_subproblem_t);
        text = apr_psprintf(pool, "%s; [%s] %s: %s", text,
                            acme_escape(sub->identifier, 300, pool),
                            acme_escape(sub->type, 200, pool),
                            acme_escape(sub->detail, 500, pool));
    }
    if (p->subproblems->nelts > 20)
        text = apr_psprintf(pool, "%s; and %d more", text,
                            p->subproblems->nelts - 20);
    return text;
}

apr_status_t acme_wait(acme_session_t *s, apr_interval_time_t wait)
{
    volatile int *stop = s->options.http.interrupted;
    while (wait > 0) {
        if (stop != NULL && *stop)
            return APR_EINTR;
        apr_interval_time_t slice = wait > 100000 ? 100000 : wait;
        apr_sleep(slice);
        wait -= slice;
    }
    return (stop != NULL && *stop) ? APR_EINTR : APR_SUCCESS;
}

/* 503 and rateLimited with a short Retry-After are waited out here; a
 * long one is the caller's to remember (renewal backoff). */
static int worth_waiting(acme_session_t *s, const acme_problem_t *p, int waits)
{
    if (waits >= 3 || p->retry_after_s < 0 ||
        p->retry_after_s > s->options.max_retry_after_s)
        return 0;
    return p->http_status == 503 || problem_is(p, "rateLimited");
}

/* A concurrent run: a Retry-After another order got holds this one
 * back too — waited out when short, else this request fails with it. */
static apr_status_t gate_wait(acme_session_t *s, const char **err,
                              apr_pool_t *pool)
{
    for (int waits = 0; s->ca != NULL; waits++) {
        acme_problem_t *why = NULL;
        long remaining = acme_ca_gate_remaining(s->ca, &why, s->pool);
        if (remaining == 0)
            return APR_SUCCESS;
        if (waits >= 3 || remaining > s->options.max_retry_after_s) {
            s->problem = why;
            *err = apr_psprintf(pool,
                                "the CA asked to wait %lds more (Retry-After "
                                "of another order): %s",
                                remaining, acme_problem_text(why, pool));
            return APR_EGENERAL;
        }
        progress(s, apr_psprintf(pool,
                                 "CA busy; waiting %lds as its Retry-After "
                                 "asks (another order)",
                                 remaining));
        if (acme_wait(s, apr_time_from_sec(remaining)) != APR_SUCCESS) {
            *err = "interrupted";
            return APR_EINTR;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t post_once(http_response_t **out, acme_session_t *s,
                              const char *url, const json_t *payload,
                              const char *accept, const char **err,
                              apr_pool_t *pool)
{
    const char *nonce = NULL;
    apr_status_t rv = nonce_take(&nonce, s, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    const char *body = NULL;
    rv = jws_build(&body, &s->signer, url, nonce, payload, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    acme_lane_t lane = s->lane;
    if (s->new_order_url != NULL && strcmp(url, s->new_order_url) == 0)
        lane = ACME_LANE_NEW_ORDER;
    if (s->ca != NULL &&
        acme_ca_lane_enter(s->ca, lane, s->options.http.interrupted) !=
            APR_SUCCESS) {
        *err = "interrupted";
        return APR_EINTR;
    }
    rv = http_request(out, s->http, "POST", url, JOSE_TYPE, accept, body,
                      strlen(body), err, pool);
    if (s->ca != NULL)
        acme_ca_lane_leave(s->ca, lane);
    if (rv == APR_SUCCESS)
        nonce_keep(s, *out);
    return rv;
}

apr_status_t acme_post(http_response_t **out, acme_session_t *s,
                       const char *url, const json_t *payload,
                       const char *accept, const char **err, apr_pool_t *pool)
{
    int bad_nonces = 0;
    int waits = 0;
    *out = NULL;
    s->problem = NULL;
    for (;;) {
        http_response_t *resp = NULL;
        apr_status_t rv = gate_wait(s, err, pool);
        if (rv == APR_SUCCESS)
            rv = post_once(&resp, s, url, payload, accept, err, pool);
        if (rv != APR_SUCCESS)
            return rv;
        if (resp->status >= 200 && resp->status < 300) {
            *out = resp;
            return APR_SUCCESS;
        }
        acme_problem_t *p = acme_problem_parse(resp, pool);
        if (problem_is(p, "badNonce") &&
            bad_nonces++ < s->options.bad_nonce_retries) {
            progress(s, "CA rejected the nonce; retrying with its fresh one");
            continue;
        }
        if (s->ca != NULL && p->retry_after_s > 0 &&
            (p->http_status == 503 || problem_is(p, "rateLimited")))
            acme_ca_gate_close(s->ca, p, p->retry_after_s);
        if (worth_waiting(s, p, waits)) {
            waits++;
            progress(s, apr_psprintf(pool,
                                     "CA busy; waiting %lds as its "
                                     "Retry-After asks",
                                     p->retry_after_s));
            rv = acme_wait(s, apr_time_from_sec(p->retry_after_s));
            if (rv != APR_SUCCESS) {
                *err = "interrupted";
                return rv;
            }
            continue;
        }
        /* The problem outlives the caller's scratch pool: the status of
         * the order keeps it. */
        s->problem = acme_problem_parse(resp, s->pool);
        *err = acme_problem_text(p, pool);
        *out = resp;
        return APR_EGENERAL;
    }
}

apr_status_t acme_post_json(json_t **out, http_response_t **resp,
                            acme_session_t *s, const char *url,
                            const json_t *payload, const char **err,
                            apr_pool_t *pool)
{
    http_response_t *r = NULL;
    *out = NULL;
    apr_status_t rv = acme_post(&r, s, url, payload, NULL, err, pool);
    if (resp != NULL)
        *resp = r;
    if (rv != APR_SUCCESS)
        return rv;
    return acme_json_parse_object(
        out, r->body, r->body_len,
        apr_psprintf(pool, "answer of %s", acme_escape(url, 200, pool)), err,
        pool);
}

static apr_status_t directory_read(acme_session_t *s, const char **err,
                                   apr_pool_t *pool)
{
    json_t *d = s->directory;
    s->new_nonce_url = acme_json_url_member(d, "newNonce");
    s->new_account_url = acme_json_url_member(d, "newAccount");
    s->new_order_url = acme_json_url_member(d, "newOrder");
    s->revoke_cert_url = acme_json_url_member(d, "revokeCert");
    s->key_change_url = acme_json_url_member(d, "keyChange");
    s->renewal_info_url = acme_json_url_member(d, "renewalInfo");
    if (s->new_nonce_url == NULL || s->new_account_url == NULL ||
        s->new_order_url == NULL) {
        *err = apr_psprintf(pool,
                            "%s: directory lacks https newNonce, "
                            "newAccount or newOrder URLs",
                            s->directory_url);
        return APR_EINVAL;
    }
    json_t *meta = acme_json_object_member(d, "meta");
    s->terms_of_service = acme_json_string_member(meta, "termsOfService");
    s->eab_required = json_is_true(
        json_object_get(meta ? meta : d, "externalAccountRequired"));
    s->profiles = acme_json_object_member(meta, "profiles");
    return APR_SUCCESS;
}

void acme_options_defaults(acme_options_t *o)
{
    if (o->bad_nonce_retries <= 0)
        o->bad_nonce_retries = 20;
    if (o->max_retry_after_s <= 0)
        o->max_retry_after_s = 60;
}

apr_status_t acme_session_open(acme_session_t **out, const char *directory_url,
                               const acme_options_t *options, const char **err,
                               apr_pool_t *pool)
{
    acme_session_t *s = apr_pcalloc(pool, sizeof(*s));
    *out = NULL;
    s->pool = pool;
    s->options = *options;
    acme_options_defaults(&s->options);
    s->directory_url = directory_url;
    s->nonces = apr_array_make(pool, 4, sizeof(const char *));
    apr_status_t rv = http_client_create(&s->http, &s->options.http, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    http_response_t *resp = NULL;
    rv = http_request(&resp, s->http, "GET", directory_url, NULL,
                      "application/json", NULL, 0, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (resp->status != 200) {
        *err = apr_psprintf(pool, "%s: directory answered %ld", directory_url,
                            resp->status);
        return APR_EGENERAL;
    }
    rv = acme_json_parse_object(&s->directory, resp->body, resp->body_len,
                                "directory", err, pool);
    if (rv == APR_SUCCESS)
        rv = directory_read(s, err, pool);
    if (rv == APR_SUCCESS)
        *out = s;
    return rv;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

apr_int64_t acme_parse_rfc3339(const char *s)
{
    if (s == NULL || strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = digits(s, 4) - 1900;
    tm.tm_mon = digits(s + 5, 2) - 1;
    tm.tm_mday = digits(s + 8, 2);
    tm.tm_hour = digits(s + 11, 2);
    tm.tm_min = digits(s + 14, 2);
    tm.tm_sec = digits(s + 17, 2);
    if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
        tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    apr_int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && p[3] == ':') {
        int h = digits(p + 1, 2), m = digits(p + 4, 2);
        if (h < 0 || m < 0)
            return -1;
        offset = (h * 3600 + m * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    return (apr_int64_t)timegm(&tm) - offset;
}

apr_status_t acme_renewal_info(apr_int64_t *start, apr_int64_t *end,
                               long *retry_after_s, acme_session_t *s,
                               const char *cert_id, const char **err,
                               apr_pool_t *pool)
{
    *retry_after_s = -1;
    if (s->renewal_info_url == NULL) {
        *err = "the CA offers no renewalInfo";
        return APR_ENOTIMPL;
    }
    const char *url =
        apr_pstrcat(pool, s->renewal_info_url, "/", cert_id, NULL);
    http_response_t *resp = NULL;
    apr_status_t rv = http_request(&resp, s->http, "GET", url, NULL,
                                   "application/json", NULL, 0, err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    *retry_after_s =
        http_retry_after_seconds(resp->retry_after, apr_time_now());
    if (resp->status != 200) {
        *err = apr_psprintf(pool, "renewalInfo answered %ld", resp->status);
        return APR_EGENERAL;
    }
    json_t *doc = NULL;
    rv = acme_json_parse_object(&doc, resp->body, resp->body_len, "renewalInfo",
                                err, pool);
    if (rv != APR_SUCCESS)
        return rv;
    json_t *window = acme_json_object_member(doc, "suggestedWindow");
    *start = acme_parse_rfc3339(acme_json_string_member(window, "start"));
    *end = acme_parse_rfc3339(acme_json_string_member(window, "end"));
    if (*start < 0 || *end < *start) {
        *err = "renewalInfo: no valid suggestedWindow";
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
