/* status_handler.c — `SetHandler expacme-status`: the status expacmectl
 * publishes (no secrets in it), as JSON for admin UIs (the JSON file
 * verbatim) or as a page (made from the line form beside it, so the
 * module needs no JSON parser; see status_html.c). */
#include "mod_expacme.h"
#include "redis_store.h"
#include "status_doc.h"
#include "status_html.h"

#include <string.h>

#include "apr_file_io.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_status.h"

APLOG_USE_MODULE(expacme);

#define NOT_YET "expacmectl has not published a status yet"

static int wants_json(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");
    if (r->args != NULL && strcmp(r->args, "json") == 0)
        return 1;
    return accept != NULL && ap_strcasestr(accept, "application/json") != NULL;
}

/* The published status verbatim (streamed: thousands of certificates
 * make a large file), or a placeholder saying why there is none. */
static void status_json(request_rec *r)
{
    const expacme_server_conf_t *conf =
        ap_get_module_config(r->server->module_config, &expacme_module);
    const char *detail = NOT_YET;
    apr_file_t *file = NULL;
    apr_off_t size = 0;
    ap_set_content_type(r, "application/json");
    if (conf->status_file != NULL) {
        /* Held until the request's pool closes it, after the last byte. */
        apr_status_t rv =
            status_doc_open(&file, &size, conf->status_file, -1, r->pool);
        if (rv == APR_SUCCESS) {
            apr_size_t sent = 0;
            ap_send_fd(file, r, 0, (apr_size_t)size, &sent);
            return;
        }
        if (!APR_STATUS_IS_ENOENT(rv)) {
            detail = "the published status cannot be read (see the error log)";
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                          EXPLOGNO(01020) "cannot read status file %s",
                          conf->status_file);
        }
    }
    ap_rprintf(r, "{\"state\":\"unknown\",\"detail\":\"%s\"}", detail);
}

/* The published line form, or NULL with *problem saying why not. */
static status_doc_t *status_page_doc(request_rec *r, const char **problem)
{
    const expacme_server_conf_t *conf =
        ap_get_module_config(r->server->module_config, &expacme_module);
    status_doc_t *doc = NULL;
    *problem = NOT_YET;
    if (conf->status_file == NULL) {
        *problem = "no ExpAcmeStatusFile is configured";
        return NULL;
    }
    apr_status_t rv = status_doc_read(&doc, conf->status_file, r->pool);
    if (rv == APR_SUCCESS)
        return doc;
    if (!APR_STATUS_IS_ENOENT(rv)) {
        *problem = "the published status cannot be read (see the error log)";
        ap_log_rerror(
            APLOG_MARK, APLOG_WARNING, rv, r,
            EXPLOGNO(01021) "cannot read the status page file %s "
                            "(not in the form of common/status_flat.h?)",
            status_doc_flat_path(conf->status_file, r->pool));
    }
    return NULL;
}

/* A Redis store: every peer's page shows every peer (cluster_status.c). */
static int clustered(const request_rec *r)
{
    const expacme_server_conf_t *conf =
        ap_get_module_config(r->server->module_config, &expacme_module);
    return conf->redis != NULL && conf->redis->url != NULL;
}

int status_handler_handle(request_rec *r)
{
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (wants_json(r)) {
        if (clustered(r))
            cluster_status_json(r, status_json);
        else
            status_json(r);
        return OK;
    }
    /* The page has no script and loads nothing: say so to the browser. */
    apr_table_setn(r->headers_out, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'");
    const char *problem = NULL;
    status_doc_t *doc = status_page_doc(r, &problem);
    if (r->header_only)
        return OK;
    status_html_page(r, doc, problem,
                     clustered(r) ? cluster_status_html : NULL);
    return OK;
}

int status_handler_server_status(request_rec *r, int flags)
{
    const char *problem = NULL;
    status_doc_t *doc = status_page_doc(r, &problem);
    if (flags & AP_STATUS_SHORT)
        status_html_auto(r, doc);
    else
        status_html_server_status(r, doc, problem);
    if (clustered(r))
        cluster_status_server_status(r, flags);
    return OK;
}
