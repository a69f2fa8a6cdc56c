/* status_html.c — the status page an administrator reads at a glance (one
 * block per managed certificate, warnings set apart, human dates), the
 * compact table in mod_status's server-status and its ?auto lines; all
 * made from the line form expacmectl publishes (status_doc.h).  Every
 * published string is escaped; the page has no script. */
#include "status_html.h"
#include "status_flat.h"

#include <string.h>

#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_time.h"
#include "http_protocol.h"
#include "httpd.h"

#define K(prefix, key) prefix key

static const char *esc(request_rec *r, const char *s)
{
    return ap_escape_html2(r->pool, s != NULL ? s : "", 0);
}

/* "+01:00" style offset, or "UTC" itself when there is none. */
static const char *zone(const apr_time_exp_t *tm, apr_pool_t *pool)
{
    apr_int32_t off = tm->tm_gmtoff;
    if (off == 0)
        return "UTC";
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    return apr_psprintf(pool, "UTC%c%02d:%02d", sign, (int)(off / 3600),
                        (int)(off % 3600 / 60));
}

/* "Tue 01 Dec 2026, 17:05 UTC" in the server's local time. */
static const char *human_time(apr_int64_t t, apr_pool_t *pool)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    apr_time_exp_t tm;
    if (apr_time_exp_lt(&tm, apr_time_from_sec(t)) != APR_SUCCESS)
        return "(no date)";
    return apr_psprintf(pool, "%s %02d %s %d, %02d:%02d %s",
                        days[tm.tm_wday % 7], tm.tm_mday,
                        apr_month_snames[tm.tm_mon % 12], tm.tm_year + 1900,
                        tm.tm_hour, tm.tm_min, zone(&tm, pool));
}

/* RFC 3339 in UTC, for <time datetime> and ?auto. */
static const char *rfc3339(apr_int64_t t, apr_pool_t *pool)
{
    apr_time_exp_t tm;
    if (apr_time_exp_gmt(&tm, apr_time_from_sec(t)) != APR_SUCCESS)
        return "";
    return apr_psprintf(pool, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "in 3 days", "2 hours ago": what a glance needs. */
static const char *relative(apr_int64_t t, apr_int64_t now, apr_pool_t *pool)
{
    static const struct {
        apr_int64_t secs;
        const char *unit;
    } units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}};
    apr_int64_t d = t > now ? t - now : now - t;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        apr_int64_t n = d / units[i].secs;
        if (n < 1)
            continue;
        const char *s = apr_psprintf(pool, "%" APR_INT64_T_FMT " %s%s", n,
                                     units[i].unit, n == 1 ? "" : "s");
        return t > now ? apr_pstrcat(pool, "in ", s, NULL)
                       : apr_pstrcat(pool, s, " ago", NULL);
    }
    return "now";
}

static apr_int64_t now_sec(request_rec *r)
{
    return (apr_int64_t)apr_time_sec(r->request_time);
}

/* <time> with the human date, and how far off it is. */
static const char *time_html(request_rec *r, apr_int64_t t)
{
    return apr_psprintf(r->pool,
                        "<time datetime=\"%s\">%s</time> "
                        "<span class=\"rel\">(%s)</span>",
                        rfc3339(t, r->pool), human_time(t, r->pool),
                        relative(t, now_sec(r), r->pool));
}

static const char *field_time(request_rec *r, const status_doc_cert_t *c,
                              const char *key)
{
    apr_int64_t t = 0;
    return status_doc_time(c, key, &t) ? time_html(r, t) : NULL;
}

/* Values of a repeated key, escaped, one per line.  Joined once at the
 * end: appending item by item costs the square of the count, which a
 * file of many thousand lines turns into gigabytes. */
static const char *lines_html(request_rec *r, const status_doc_cert_t *c,
                              const char *key, int times)
{
    apr_array_header_t *all = status_doc_all(c, key, r->pool);
    apr_array_header_t *parts =
        apr_array_make(r->pool, all->nelts * 2, sizeof(const char *));
    for (int i = 0; i < all->nelts; i++) {
        const char *v = APR_ARRAY_IDX(all, i, const char *);
        apr_int64_t t = 0;
        if (times && !status_doc_time_value(v, &t))
            continue;
        if (parts->nelts > 0)
            APR_ARRAY_PUSH(parts, const char *) = "<br>";
        APR_ARRAY_PUSH(parts, const char *) =
            times ? time_html(r, t) : esc(r, v);
    }
    return parts->nelts > 0 ? apr_array_pstrcat(r->pool, parts, 0) : NULL;
}

static void fact(request_rec *r, const char *label, const char *html)
{
    if (html != NULL)
        ap_rprintf(r, "<dt>%s</dt><dd>%s</dd>\n", label, html);
}

static void fact_text(request_rec *r, const char *label, const char *text)
{
    if (text != NULL && text[0] != '\0')
        fact(r, label, esc(r, text));
}

typedef struct {
    const char *state;
    const char *label;
} state_label_t;

static const state_label_t state_labels[] = {
    {"none", "No certificate"}, {"csr", "CSR ready, not signed"},
    {"signing", "Signing"},     {"pending", "Signed, pending deploy"},
    {"deployed", "Deployed"},
};

/* A label and a CSS class for a state: the class only ever comes from
 * the table, never from the published text. */
static void state_badge(request_rec *r, const char *state)
{
    for (size_t i = 0; i < sizeof(state_labels) / sizeof(state_labels[0]);
         i++) {
        if (state != NULL && strcmp(state, state_labels[i].state) == 0) {
            ap_rprintf(r, "<span class=\"badge s-%s\">%s</span>",
                       state_labels[i].state, state_labels[i].label);
            return;
        }
    }
    ap_rprintf(r, "<span class=\"badge s-unknown\">%s</span>",
               esc(r, state != NULL ? state : "unknown"));
}

static int is_success(const char *result)
{
    return result != NULL && strcmp(result, "success") == 0;
}

/* "mon,wed" -> "Mon, Wed"; all seven -> "every day". */
static const char *days_text(const char *days, apr_pool_t *pool)
{
    if (strcmp(days, "mon,tue,wed,thu,fri,sat,sun") == 0)
        return "every day";
    char *out = apr_palloc(pool, strlen(days) * 2 + 1);
    char *o = out;
    int start = 1;
    for (const char *c = days; *c != '\0'; c++) {
        if (*c == ',') {
            *o++ = ',';
            *o++ = ' ';
            start = 1;
            continue;
        }
        *o++ = start ? (char)apr_toupper(*c) : *c;
        start = 0;
    }
    *o = '\0';
    return out;
}

static const char *deploy_days_html(request_rec *r, const status_doc_cert_t *c)
{
    const char *days = status_doc_get(c, STATUS_FLAT_DEPLOY_DAYS);
    const char *at = status_doc_get(c, STATUS_FLAT_DEPLOY_TIME);
    if (days == NULL)
        return NULL;
    const char *html = esc(r, days_text(days, r->pool));
    if (at == NULL)
        return html;
    return apr_pstrcat(r->pool, html, " at ", esc(r, at), NULL);
}

static const char *renewal_html(request_rec *r, const status_doc_cert_t *c,
                                const char *prefix)
{
    const char *due = field_time(
        r, c, apr_pstrcat(r->pool, prefix, STATUS_FLAT_RENEWAL_DUE, NULL));
    const char *rule = status_doc_get(
        c, apr_pstrcat(r->pool, prefix, STATUS_FLAT_RENEWAL_RULE, NULL));
    if (due == NULL || rule == NULL)
        return due;
    return apr_pstrcat(r->pool, due, "<br><span class=\"note\">", esc(r, rule),
                       "</span>", NULL);
}

static const char *ari_html(request_rec *r, const status_doc_cert_t *c)
{
    const char *start = field_time(r, c, STATUS_FLAT_ARI_START);
    const char *end = field_time(r, c, STATUS_FLAT_ARI_END);
    const char *pick = field_time(r, c, STATUS_FLAT_ARI_TIME);
    if (start == NULL || end == NULL)
        return NULL;
    const char *html =
        apr_pstrcat(r->pool, "from ", start, "<br>until ", end, NULL);
    if (pick != NULL)
        html = apr_pstrcat(r->pool, html, "<br>chosen: ", pick, NULL);
    return html;
}

/* The live (or pending) certificate's issuer and validity. */
static void cert_facts(request_rec *r, const status_doc_cert_t *c,
                       const char *prefix, const char *what)
{
    const char *k_issuer =
        apr_pstrcat(r->pool, prefix, STATUS_FLAT_ISSUER, NULL);
    const char *nb = field_time(
        r, c, apr_pstrcat(r->pool, prefix, STATUS_FLAT_NOT_BEFORE, NULL));
    const char *na = field_time(
        r, c, apr_pstrcat(r->pool, prefix, STATUS_FLAT_NOT_AFTER, NULL));
    if (status_doc_get(c, k_issuer) == NULL && nb == NULL && na == NULL)
        return;
    ap_rprintf(r, "<dt class=\"sub\">%s</dt><dd class=\"sub\"></dd>\n", what);
    fact_text(r, "Issuer", status_doc_get(c, k_issuer));
    fact_text(r, "Serial",
              status_doc_get(
                  c, apr_pstrcat(r->pool, prefix, STATUS_FLAT_SERIAL, NULL)));
    fact(r, "Valid from", nb);
    fact(r, "Valid until", na);
    fact(r, "Renewal due", renewal_html(r, c, prefix));
}

/* Last Sign Status / Last Deploy Status: result, time, step, detail. */
static void last_status(request_rec *r, const status_doc_cert_t *c,
                        const char *prefix, const char *title)
{
    const char *result = status_doc_get(
        c, apr_pstrcat(r->pool, prefix, STATUS_FLAT_RESULT, NULL));
    const char *when =
        field_time(r, c, apr_pstrcat(r->pool, prefix, STATUS_FLAT_TIME, NULL));
    const char *step =
        status_doc_get(c, apr_pstrcat(r->pool, prefix, STATUS_FLAT_STEP, NULL));
    const char *detail = status_doc_get(
        c, apr_pstrcat(r->pool, prefix, STATUS_FLAT_DETAIL, NULL));
    ap_rprintf(r, "<div class=\"last\"><h3>%s</h3>\n", title);
    if (result == NULL) {
        ap_rputs("<p class=\"never\">Never</p></div>\n", r);
        return;
    }
    ap_rprintf(r, "<p><span class=\"result %s\">%s</span> %s</p>\n",
               is_success(result) ? "r-ok" : "r-bad", esc(r, result),
               when != NULL ? when : "");
    if (step != NULL && step[0] != '\0')
        ap_rprintf(r, "<p class=\"step\">at step %s</p>\n", esc(r, step));
    if (detail != NULL && detail[0] != '\0')
        ap_rprintf(r, "<p class=\"detail\">%s</p>\n", esc(r, detail));
    ap_rputs("</div>\n", r);
}

static void warnings(request_rec *r, const status_doc_cert_t *c)
{
    apr_array_header_t *all = status_doc_all(c, STATUS_FLAT_WARNING, r->pool);
    const char *error = status_doc_get(c, STATUS_FLAT_ERROR);
    if (all->nelts == 0 && error == NULL)
        return;
    ap_rputs("<div class=\"warnings\" role=\"alert\"><h3>Warnings</h3>"
             "<ul>\n",
             r);
    if (error != NULL)
        ap_rprintf(r, "<li>%s</li>\n", esc(r, error));
    for (int i = 0; i < all->nelts; i++)
        ap_rprintf(r, "<li>%s</li>\n",
                   esc(r, APR_ARRAY_IDX(all, i, const char *)));
    ap_rputs("</ul></div>\n", r);
}

static void renewal_facts(request_rec *r, const status_doc_cert_t *c)
{
    const char *automated = status_doc_get(c, STATUS_FLAT_AUTOMATED);
    int on = automated != NULL && strcmp(automated, "on") == 0;
    fact(r, "Automated renewal",
         on ? "<span class=\"on\">On</span>"
            : "<span class=\"off\">Off</span>");
    fact(r, "Next resubmission", lines_html(r, c, STATUS_FLAT_RESUBMIT, 1));
    fact(r, "CA renewal window (ARI)", ari_html(r, c));
    const char *failures = status_doc_get(c, STATUS_FLAT_FAILURES);
    const char *next = field_time(r, c, STATUS_FLAT_NEXT_ATTEMPT);
    if (next != NULL)
        fact(r, "Next attempt",
             apr_pstrcat(r->pool, next, failures != NULL ? " after " : "",
                         failures != NULL ? esc(r, failures) : "",
                         failures != NULL ? " failed attempts" : "", NULL));
    fact(r, "Next deploy slot", field_time(r, c, STATUS_FLAT_NEXT_SLOT));
    fact(r, "Deploy days", deploy_days_html(r, c));
}

static void cert_block(request_rec *r, const status_doc_cert_t *c)
{
    ap_rprintf(r,
               "<section class=\"cert\" id=\"cert-%s\">\n<h2>"
               "<span class=\"name\">%s</span> ",
               esc(r, c->name), esc(r, c->name));
    state_badge(r, status_doc_get(c, STATUS_FLAT_STATE));
    ap_rputs("</h2>\n", r);
    warnings(r, c);
    ap_rputs("<dl class=\"facts\">\n", r);
    fact(r, "Names", lines_html(r, c, STATUS_FLAT_NAME, 0));
    fact(r, "Key type", lines_html(r, c, STATUS_FLAT_KEY_TYPE, 0));
    fact_text(r, "Provider", status_doc_get(c, STATUS_FLAT_PROVIDER));
    fact_text(r, "Account", status_doc_get(c, STATUS_FLAT_ACCOUNT));
    renewal_facts(r, c);
    cert_facts(r, c, STATUS_FLAT_DEPLOYED, "Deployed certificate");
    cert_facts(r, c, STATUS_FLAT_PENDING, "Pending certificate");
    ap_rputs("</dl>\n<div class=\"lasts\">\n", r);
    last_status(r, c, STATUS_FLAT_LAST_SIGN, "Last Sign Status");
    last_status(r, c, STATUS_FLAT_LAST_DEPLOY, "Last Deploy Status");
    ap_rputs("</div>\n</section>\n", r);
}

/* Readable on a phone: one column below 40em, long URLs wrap. */
static const char page_style[] =
    "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60em;"
    "padding:0 1em;color:#222;background:#fafafa;line-height:1.4}"
    "h1{font-size:1.5em;margin:.8em 0 .2em}"
    ".meta{color:#555;margin:0 0 1em}"
    ".cert{background:#fff;border:1px solid #ccc;border-radius:6px;"
    "padding:.2em 1em 1em;margin:0 0 1.2em}"
    ".cert h2{font-size:1.25em;display:flex;flex-wrap:wrap;gap:.5em;"
    "align-items:center}"
    ".badge{font-size:.75em;padding:.15em .6em;border-radius:1em;"
    "background:#ddd}"
    ".s-deployed{background:#cfc;color:#060}.s-pending{background:#ffd;"
    "color:#640}.s-signing{background:#def;color:#036}"
    ".s-none,.s-unknown{background:#eee;color:#444}"
    ".warnings{background:#fff3f0;border-left:4px solid #c30;"
    "padding:.2em 1em;margin:0 0 1em}.warnings h3{margin:.4em 0;"
    "color:#a20;font-size:1em}.warnings ul{margin:.2em 0 .5em;"
    "padding-left:1.2em}"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;"
    "gap:.25em 1em;margin:0}"
    "dt{font-weight:600;color:#444}dd{margin:0;overflow-wrap:anywhere}"
    "dt.sub{grid-column:1/-1;margin-top:.6em;border-top:1px solid #eee;"
    "padding-top:.4em;color:#036}dd.sub{display:none}"
    ".rel,.note{color:#666}.on{color:#060;font-weight:600}"
    ".off{color:#a60;font-weight:600}"
    ".lasts{display:grid;grid-template-columns:1fr 1fr;gap:1em;"
    "margin-top:1em}"
    ".last{border-top:1px solid #eee}.last h3{font-size:1em;"
    "margin:.5em 0 .2em}.last p{margin:.2em 0}"
    ".result{font-weight:700;padding:0 .4em;border-radius:3px}"
    ".r-ok{background:#cfc;color:#060}.r-bad{background:#fcc;color:#900}"
    ".detail{font-family:ui-monospace,monospace;font-size:.9em;"
    "background:#f4f4f4;padding:.3em .5em;overflow-wrap:anywhere;"
    "white-space:pre-wrap}"
    ".never{color:#666}"
    "@media (max-width:40em){dl.facts,.lasts{grid-template-columns:1fr}"
    "dd{margin-bottom:.4em}}";

static void page_header(request_rec *r, const status_doc_t *doc)
{
    ap_rprintf(r,
               "<!DOCTYPE html>\n<html lang=\"en\"><head>"
               "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
               "content=\"width=device-width, initial-scale=1\">\n"
               "<title>ACME certificate service: %s</title>\n"
               "<style>%s</style></head><body>\n"
               "<h1>ACME certificate service</h1>\n",
               esc(r, r->server->server_hostname), page_style);
    apr_int64_t t = 0;
    if (doc != NULL && status_doc_time(&doc->header, STATUS_FLAT_GENERATED, &t))
        ap_rprintf(r,
                   "<p class=\"meta\">%s on %s, as expacmectl "
                   "published them %s.</p>\n",
                   doc->certs->nelts == 1
                       ? "1 managed certificate"
                       : apr_psprintf(r->pool, "%d managed certificates",
                                      doc->certs->nelts),
                   esc(r, r->server->server_hostname), time_html(r, t));
}

void status_html_page(request_rec *r, const status_doc_t *doc,
                      const char *problem)
{
    ap_set_content_type(r, "text/html; charset=utf-8");
    page_header(r, doc);
    if (doc == NULL) {
        ap_rprintf(r, "<p class=\"warnings\">%s</p>\n", esc(r, problem));
    } else {
        if (!doc->complete)
            ap_rputs("<p class=\"warnings\">The published status was cut "
                     "short: what follows may be incomplete.</p>\n",
                     r);
        for (int i = 0; i < doc->certs->nelts; i++)
            cert_block(r, &APR_ARRAY_IDX(doc->certs, i, status_doc_cert_t));
    }
    ap_rputs("</body></html>\n", r);
}

/* "2026-12-01 17:05 UTC" for the compact table. */
static const char *short_time(request_rec *r, const status_doc_cert_t *c,
                              const char *key)
{
    apr_int64_t t = 0;
    apr_time_exp_t tm;
    if (!status_doc_time(c, key, &t) ||
        apr_time_exp_lt(&tm, apr_time_from_sec(t)) != APR_SUCCESS)
        return "-";
    return apr_psprintf(r->pool, "%04d-%02d-%02d %02d:%02d %s",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, zone(&tm, r->pool));
}

static const char *or_dash(request_rec *r, const char *s)
{
    return s != NULL && s[0] != '\0' ? esc(r, s) : "-";
}

void status_html_server_status(request_rec *r, const status_doc_t *doc,
                               const char *problem)
{
    ap_rputs("<hr />\n<h2>ACME certificate service (mod_expacme)</h2>\n", r);
    if (doc == NULL) {
        ap_rprintf(r, "<p>%s</p>\n", esc(r, problem));
        return;
    }
    ap_rputs("<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">\n"
             "<tr><th>Certificate</th><th>State</th><th>Valid until</th>"
             "<th>Renewal due</th><th>Automated</th><th>Last sign</th>"
             "<th>Last deploy</th><th>Warnings</th></tr>\n",
             r);
    for (int i = 0; i < doc->certs->nelts; i++) {
        const status_doc_cert_t *c =
            &APR_ARRAY_IDX(doc->certs, i, status_doc_cert_t);
        ap_rprintf(
            r,
            "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
            "<td>%s</td><td>%s</td><td>%d</td></tr>\n",
            esc(r, c->name), or_dash(r, status_doc_get(c, STATUS_FLAT_STATE)),
            short_time(r, c, K(STATUS_FLAT_DEPLOYED, STATUS_FLAT_NOT_AFTER)),
            short_time(r, c, K(STATUS_FLAT_DEPLOYED, STATUS_FLAT_RENEWAL_DUE)),
            or_dash(r, status_doc_get(c, STATUS_FLAT_AUTOMATED)),
            or_dash(r, status_doc_get(
                           c, K(STATUS_FLAT_LAST_SIGN, STATUS_FLAT_RESULT))),
            or_dash(r, status_doc_get(
                           c, K(STATUS_FLAT_LAST_DEPLOY, STATUS_FLAT_RESULT))),
            status_doc_all(c, STATUS_FLAT_WARNING, r->pool)->nelts);
    }
    ap_rputs("</table>\n", r);
}

/* One "ExpAcme NAME Key: value" line of ?auto (the parser has scrubbed
 * control characters from every value). */
static void auto_line(request_rec *r, const char *name, const char *key,
                      const char *value)
{
    if (value == NULL)
        return;
    char *n = apr_pstrdup(r->pool, name);
    for (char *c = n; *c != '\0'; c++) {
        if (!apr_isalnum(*c) && *c != '.' && *c != '-' && *c != '_')
            *c = '_'; /* a name never splits a "key: value" line */
    }
    ap_rprintf(r, "ExpAcme %s %s: %s\n", n, key, value);
}

static void auto_time(request_rec *r, const status_doc_cert_t *c,
                      const char *key, const char *label)
{
    apr_int64_t t = 0;
    if (status_doc_time(c, key, &t))
        auto_line(r, c->name, label, rfc3339(t, r->pool));
}

void status_html_auto(request_rec *r, const status_doc_t *doc)
{
    int warned = 0;
    for (int i = 0; doc != NULL && i < doc->certs->nelts; i++)
        warned +=
            status_doc_all(&APR_ARRAY_IDX(doc->certs, i, status_doc_cert_t),
                           STATUS_FLAT_WARNING, r->pool)
                ->nelts > 0;
    ap_rprintf(r, "ExpAcmeCertificates: %d\nExpAcmeCertificatesWarning: %d\n",
               doc != NULL ? doc->certs->nelts : 0, warned);
    for (int i = 0; doc != NULL && i < doc->certs->nelts; i++) {
        const status_doc_cert_t *c =
            &APR_ARRAY_IDX(doc->certs, i, status_doc_cert_t);
        apr_int64_t na = 0;
        auto_line(r, c->name, "State", status_doc_get(c, STATUS_FLAT_STATE));
        auto_time(r, c, K(STATUS_FLAT_DEPLOYED, STATUS_FLAT_NOT_AFTER),
                  "NotAfter");
        if (status_doc_time(c, K(STATUS_FLAT_DEPLOYED, STATUS_FLAT_NOT_AFTER),
                            &na))
            auto_line(r, c->name, "DaysLeft",
                      apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                   (na - now_sec(r)) / 86400));
        auto_time(r, c, K(STATUS_FLAT_DEPLOYED, STATUS_FLAT_RENEWAL_DUE),
                  "RenewalDue");
        auto_line(r, c->name, "Automated",
                  status_doc_get(c, STATUS_FLAT_AUTOMATED));
        auto_line(
            r, c->name, "LastSign",
            status_doc_get(c, K(STATUS_FLAT_LAST_SIGN, STATUS_FLAT_RESULT)));
        auto_line(
            r, c->name, "LastDeploy",
            status_doc_get(c, K(STATUS_FLAT_LAST_DEPLOY, STATUS_FLAT_RESULT)));
        auto_line(r, c->name, "Warnings",
                  apr_psprintf(
                      r->pool, "%d",
                      status_doc_all(c, STATUS_FLAT_WARNING, r->pool)->nelts));
    }
}
