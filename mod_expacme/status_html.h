/* status_html.h — the status page, and the section in mod_status's
 * server-status, made from the published status (status_doc.h). */
#ifndef MOD_EXPACME_STATUS_HTML_H
#define MOD_EXPACME_STATUS_HTML_H

#include "httpd.h"

#include "status_doc.h"

/* The whole page; doc NULL: only problem (why there is nothing). */
void status_html_page(request_rec *r, const status_doc_t *doc,
                      const char *problem);

/* The section in server-status: a compact table. */
void status_html_server_status(request_rec *r, const status_doc_t *doc,
                               const char *problem);

/* server-status?auto: "key: value" lines. */
void status_html_auto(request_rec *r, const status_doc_t *doc);

#endif
