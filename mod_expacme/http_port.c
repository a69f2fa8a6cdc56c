/* http_port.c — what the plain-HTTP virtual host answers (manual §7):
 * an open challenge, else the redirect to HTTPS (or 404).
 *
 * Runs as the first quick_handler, before URI translation: a challenge request
 * is answered, or refused, before core could map it to a file, so no
 * DocumentRoot, symlink, .htaccess or Options ever comes into play. */
#include "mod_expacme.h"
#include "store_attach.h"

#include <string.h>

#include "apr_buckets.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "token_rules.h"

APLOG_USE_MODULE(expacme);

#define PREFIX_LEN (sizeof(EXPACME_CHALLENGE_PREFIX) - 1)

/* Host as the client addressed it, port stripped (httpd did that, and
 * took the brackets off an IPv6 literal: they go back on for a URL), or
 * the server's own name when the client gave none we can use verbatim. */
static const char *request_host(request_rec *r)
{
    const char *host = r->hostname;
    if (host != NULL && token_rules_host_valid(host, strlen(host)))
        return strchr(host, ':') ? apr_pstrcat(r->pool, "[", host, "]", NULL)
                                 : host;
    const char *own = r->server->server_hostname;
    if (own != NULL && token_rules_host_valid(own, strlen(own)))
        return own;
    return NULL;
}

/* The path and query as the client sent them; an absolute-form request
 * target ("GET http://x/y") contributes only its path and query, so the
 * redirect can never name a host the vhost did not match. */
static const char *request_target(request_rec *r)
{
    const char *target = r->unparsed_uri;
    if (target != NULL && target[0] == '/')
        return target;
    const char *path = r->parsed_uri.path;
    if (path == NULL || path[0] != '/')
        return "/";
    if (r->parsed_uri.query == NULL)
        return path;
    return apr_pstrcat(r->pool, path, "?", r->parsed_uri.query, NULL);
}

static int has_control_chars(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x21 || (unsigned char)*s == 0x7f)
            return 1;
    }
    return 0;
}

static int send_redirect(request_rec *r, const expacme_server_conf_t *conf)
{
    const char *host = request_host(r);
    const char *target = request_target(r);
    if (host == NULL || has_control_chars(target))
        return HTTP_BAD_REQUEST;
    int port = conf->https_port > 0 ? conf->https_port : 443;
    const char *location =
        port == 443
            ? apr_pstrcat(r->pool, "https://", host, target, NULL)
            : apr_psprintf(r->pool, "https://%s:%d%s", host, port, target);
    apr_table_setn(r->headers_out, "Location", location);
    return HTTP_MOVED_PERMANENTLY;
}

/* The path exactly as the client sent it, up to '?' or '#': httpd's
 * parsed path has already merged a leading "//", and a CA never sends
 * one, so the decision is made on the raw bytes.  For an absolute-form
 * target ("GET http://host/path") the path starts after the authority. */
static const char *raw_path(const request_rec *r, apr_size_t *len)
{
    const char *p = r->unparsed_uri;
    if (p == NULL)
        return NULL;
    if (p[0] != '/') {
        const char *scheme_end = strstr(p, "://");
        if (scheme_end == NULL)
            return NULL;
        p = strchr(scheme_end + 3, '/');
        if (p == NULL)
            return NULL;
    }
    *len = strcspn(p, "?#");
    return p;
}

static int send_keyauth(request_rec *r, const char *keyauth, apr_size_t len)
{
    /* A GET may still carry a body: consume it, so the connection is
     * ready for the next request (as httpd's own handlers do). */
    int discard = ap_discard_request_body(r);
    if (discard != OK)
        return discard;
    ap_set_content_type(r, "text/plain");
    ap_set_content_length(r, len);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    apr_bucket_brigade *bb =
        apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_status_t rv = apr_brigade_write(bb, NULL, NULL, keyauth, len);
    /* Flushed at once: the client has its answer (and sends its next
     * request) while httpd finishes the request. */
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    if (rv == APR_SUCCESS)
        rv = ap_pass_brigade(r->output_filters, bb);
    apr_brigade_cleanup(bb);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                      "client went away while sent the challenge");
    }
    return OK;
}

/* DECLINED: the window is closed or the method is not GET, so the path is
 * not special.  Otherwise the final answer. */
static int answer_challenge(request_rec *r)
{
    store_attach_ref_t *ref = store_attach_acquire(r);
    if (ref == NULL)
        return DECLINED;
    const challenge_store_map_t *map = store_attach_map(ref);
    apr_int64_t now = (apr_int64_t)apr_time_sec(r->request_time);
    int status = DECLINED;
    if (!challenge_store_window_open(map, now) || r->method_number != M_GET ||
        r->header_only)
        goto cleanup;
    status = HTTP_NOT_FOUND;
    apr_size_t path_len = 0;
    const char *token = raw_path(r, &path_len) + PREFIX_LEN;
    size_t token_len = path_len - PREFIX_LEN;
    const char *host = r->hostname;
    if (host == NULL || !token_rules_token_valid(token, token_len))
        goto cleanup;
    char keyauth[TOKEN_RULES_KEYAUTH_MAX + 1];
    size_t keyauth_len = 0;
    if (challenge_store_lookup(map, host, strlen(host), token, token_len, now,
                               keyauth, sizeof(keyauth),
                               &keyauth_len) != CHALLENGE_STORE_OK)
        goto cleanup;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  EXPLOGNO(01010) "answered http-01 challenge for %s", host);
    status = send_keyauth(r, keyauth, keyauth_len);
cleanup:
    store_attach_release(ref);
    return status;
}

static int is_challenge_path(const request_rec *r)
{
    apr_size_t len = 0;
    const char *path = raw_path(r, &len);
    return path != NULL && len >= PREFIX_LEN &&
           strncmp(path, EXPACME_CHALLENGE_PREFIX, PREFIX_LEN) == 0;
}

int http_port_handle(request_rec *r, int lookup_uri)
{
    /* Internal redirects (ErrorDocument), subrequests and look-ups pass
     * through: the decision was made on the request the client sent. */
    if (lookup_uri || r->main != NULL || r->prev != NULL)
        return DECLINED;
    const expacme_server_conf_t *conf =
        ap_get_module_config(r->server->module_config, &expacme_module);
    if (conf->http_mode != EXPACME_MODE_REDIRECT &&
        conf->http_mode != EXPACME_MODE_CHALLENGE_ONLY)
        return DECLINED;
    if (is_challenge_path(r)) {
        int status = answer_challenge(r);
        if (status != DECLINED)
            return status;
    }
    if (conf->http_mode == EXPACME_MODE_CHALLENGE_ONLY)
        return HTTP_NOT_FOUND;
    return send_redirect(r, conf);
}
