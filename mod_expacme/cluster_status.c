/* cluster_status.c — the status page of a cluster (SPEC §7, §8): with a
 * Redis store, every peer's page lists every peer's certificates (the
 * document its helper published under PREFIX:peer:PEER) and when each
 * last reported.  The documents are shown escaped, never interpreted:
 * the module links no JSON parser. */
#include "mod_expacme.h"
#include "redis_store.h"
#include "status_doc.h"
#include "status_html.h"

#include "apr_strings.h"
#include "http_protocol.h"
#include "mod_status.h"
#include "util_time.h"

static const char *when(request_rec *r, apr_int64_t epoch)
{
    return ap_ht_time(r->pool, apr_time_from_sec(epoch),
                      "%Y-%m-%d %H:%M:%S UTC", 1);
}

static const char *age(request_rec *r, apr_int64_t epoch)
{
    apr_int64_t s = (apr_int64_t)apr_time_sec(r->request_time) - epoch;
    if (s < 0)
        s = 0;
    if (s < 120)
        return apr_psprintf(r->pool, "%" APR_INT64_T_FMT " s ago", s);
    if (s < 7200)
        return apr_psprintf(r->pool, "%" APR_INT64_T_FMT " min ago", s / 60);
    return apr_psprintf(r->pool, "%" APR_INT64_T_FMT " h ago", s / 3600);
}

/* NULL when Redis cannot be asked: the page says so and goes on. */
static apr_array_header_t *peers_of(request_rec *r)
{
    apr_array_header_t *peers = NULL;
    return redis_store_peers(r, &peers) == APR_SUCCESS ? peers : NULL;
}

static const char *json_string(request_rec *r, const char *s)
{
    /* Peer names are host names (redis_layout_peer_valid): no escaping
     * needed; quoted all the same. */
    return apr_pstrcat(r->pool, "\"", s, "\"", NULL);
}

/* local writes this peer's own document (and sets the content type). */
void cluster_status_json(request_rec *r, void (*local)(request_rec *r))
{
    apr_array_header_t *peers = peers_of(r);
    ap_set_content_type(r, "application/json");
    ap_rputs("{\"local\":", r);
    local(r);
    if (peers == NULL) {
        ap_rputs(",\"peers\":null,\"peers_error\":\"the cluster store "
                 "cannot be read\"}",
                 r);
        return;
    }
    ap_rputs(",\"peers\":[", r);
    for (int i = 0; i < peers->nelts; i++) {
        const redis_store_peer_t *p =
            &APR_ARRAY_IDX(peers, i, redis_store_peer_t);
        ap_rprintf(r,
                   "%s{\"peer\":%s,\"reported\":%" APR_INT64_T_FMT
                   ",\"reported_at\":\"%s\",\"status\":",
                   i ? "," : "", json_string(r, p->peer), p->reported,
                   ap_ht_time(r->pool, apr_time_from_sec(p->reported),
                              "%Y-%m-%dT%H:%M:%SZ", 1));
        /* A helper's report is JSON it wrote itself; anything else is
         * carried as a string rather than breaking the document. */
        if (p->status[0] == '{')
            ap_rputs(p->status, r);
        else
            ap_rputs("null", r);
        ap_rputs("}", r);
    }
    ap_rputs("]}", r);
}

/* A peer's certificates as on this peer's own page (its line form), or
 * its JSON escaped when it sent none (an older helper). */
static void peer_certs(request_rec *r, const redis_store_peer_t *p)
{
    status_doc_t *doc = NULL;
    if (p->flat != NULL && status_doc_parse(&doc, apr_pstrdup(r->pool, p->flat),
                                            r->pool) == APR_SUCCESS) {
        status_html_certs(r, doc);
        return;
    }
    ap_rprintf(r, "<pre>%s</pre>\n", ap_escape_html(r->pool, p->status));
}

void cluster_status_html(request_rec *r)
{
    apr_array_header_t *peers = peers_of(r);
    ap_rputs("<h1 id=\"cluster\">Cluster</h1>\n", r);
    if (peers == NULL) {
        ap_rputs("<p class=\"warnings\">The cluster store cannot be read "
                 "now: the other peers are not shown.</p>\n",
                 r);
        return;
    }
    ap_rprintf(r, "<p class=\"meta\">%d peer%s reporting.</p>\n", peers->nelts,
               peers->nelts == 1 ? "" : "s");
    for (int i = 0; i < peers->nelts; i++) {
        const redis_store_peer_t *p =
            &APR_ARRAY_IDX(peers, i, redis_store_peer_t);
        ap_rprintf(r,
                   "<section class=\"peer\"><h3>%s</h3>\n<p class=\"meta\">"
                   "Last reported %s (%s)</p>\n",
                   ap_escape_html(r->pool, p->peer), when(r, p->reported),
                   age(r, p->reported));
        peer_certs(r, p);
        ap_rputs("</section>\n", r);
    }
}

void cluster_status_server_status(request_rec *r, int flags)
{
    apr_array_header_t *peers = peers_of(r);
    if (flags & AP_STATUS_SHORT) {
        if (peers != NULL)
            ap_rprintf(r, "ExpAcmePeers: %d\n", peers->nelts);
        return;
    }
    if (peers == NULL) {
        ap_rputs("<p>Cluster: the store cannot be read now.</p>\n", r);
        return;
    }
    ap_rputs("<table><tr><th>peer</th><th>last reported</th></tr>\n", r);
    for (int i = 0; i < peers->nelts; i++) {
        const redis_store_peer_t *p =
            &APR_ARRAY_IDX(peers, i, redis_store_peer_t);
        ap_rprintf(r, "<tr><td>%s</td><td>%s (%s)</td></tr>\n",
                   ap_escape_html(r->pool, p->peer), when(r, p->reported),
                   age(r, p->reported));
    }
    ap_rputs("</table>\n", r);
}
