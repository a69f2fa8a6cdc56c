/* http.c — libcurl behind http.h. One easy handle per client, reused so
 * that every request of an order rides the same TLS connection. */
#include "acme/http.h"

#include <ctype.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "apr_strings.h"

#include "build_config.h"

struct http_client {
    CURL *curl;
    http_options_t options;
    apr_pool_t *pool;
};

typedef struct {
    http_response_t *resp;
    apr_pool_t *pool;
    char *buf;
    apr_size_t len;
    apr_size_t cap;
    apr_size_t max;
    int too_large;
} transfer_t;

#define HANDLES_MAX 64

struct http_handles {
    pthread_mutex_t mutex;
    CURL *idle[HANDLES_MAX];
    int count;
};

static apr_status_t handles_cleanup(void *data)
{
    http_handles_t *h = data;
    while (h->count > 0)
        curl_easy_cleanup(h->idle[--h->count]);
    pthread_mutex_destroy(&h->mutex);
    return APR_SUCCESS;
}

apr_status_t http_handles_create(http_handles_t **out, apr_pool_t *pool)
{
    http_handles_t *h = apr_pcalloc(pool, sizeof(*h));
    *out = NULL;
    if (pthread_mutex_init(&h->mutex, NULL) != 0)
        return APR_ENOMEM;
    apr_pool_cleanup_register(pool, h, handles_cleanup, apr_pool_cleanup_null);
    *out = h;
    return APR_SUCCESS;
}

static CURL *handle_take(http_handles_t *h)
{
    CURL *curl = NULL;
    if (h != NULL) {
        pthread_mutex_lock(&h->mutex);
        if (h->count > 0)
            curl = h->idle[--h->count];
        pthread_mutex_unlock(&h->mutex);
    }
    return curl != NULL ? curl : curl_easy_init();
}

static void handle_give(http_handles_t *h, CURL *curl)
{
    if (h != NULL) {
        pthread_mutex_lock(&h->mutex);
        if (h->count < HANDLES_MAX) {
            h->idle[h->count++] = curl;
            curl = NULL;
        }
        pthread_mutex_unlock(&h->mutex);
    }
    if (curl != NULL)
        curl_easy_cleanup(curl);
}

static apr_status_t client_cleanup(void *data)
{
    http_client_t *client = data;
    handle_give(client->options.handles, client->curl);
    return APR_SUCCESS;
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result;

static void global_init(void)
{
    global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

apr_status_t http_client_create(http_client_t **out,
                                const http_options_t *options, const char **err,
                                apr_pool_t *pool)
{
    /* Once per process, whichever thread comes first (curl_global_init
     * is not thread-safe itself). */
    pthread_once(&global_once, global_init);
    if (global_result != CURLE_OK) {
        *err = "cannot initialise libcurl";
        return APR_EGENERAL;
    }
    http_client_t *client = apr_pcalloc(pool, sizeof(*client));
    client->options = *options;
    if (client->options.connect_timeout_s <= 0)
        client->options.connect_timeout_s = 10;
    if (client->options.total_timeout_s <= 0)
        client->options.total_timeout_s = 60;
    if (client->options.max_body == 0)
        client->options.max_body = 1024 * 1024;
    client->pool = pool;
    client->curl = handle_take(client->options.handles);
    if (client->curl == NULL) {
        *err = "cannot create a libcurl handle";
        return APR_ENOMEM;
    }
    apr_pool_cleanup_register(pool, client, client_cleanup,
                              apr_pool_cleanup_null);
    *out = client;
    return APR_SUCCESS;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *baton)
{
    transfer_t *t = baton;
    size_t n = size * nmemb;
    if (t->len + n > t->max) {
        t->too_large = 1;
        return 0; /* aborts the transfer */
    }
    if (t->len + n + 1 > t->cap) {
        apr_size_t cap = t->cap ? t->cap * 2 : 8192;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = apr_palloc(t->pool, cap);
        if (t->len > 0)
            memcpy(grown, t->buf, t->len);
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, data, n);
    t->len += n;
    return n;
}

static char *header_value(apr_pool_t *pool, const char *line, size_t len,
                          size_t name_len)
{
    const char *v = line + name_len + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    return apr_pstrndup(pool, v, (apr_size_t)(end - v));
}

/* Link: <url>;rel="alternate", <url2>;rel="up" */
void http_links_parse(apr_array_header_t *links, const char *value,
                      apr_pool_t *pool)
{
    const char *p = value;
    while ((p = strchr(p, '<')) != NULL) {
        const char *close = strchr(p, '>');
        if (close == NULL)
            return;
        http_link_t *link = apr_array_push(links);
        link->url = apr_pstrndup(pool, p + 1, (apr_size_t)(close - p - 1));
        link->rel = "";
        const char *next = strchr(close, ',');
        const char *rel = strstr(close, "rel=");
        if (rel != NULL && (next == NULL || rel < next)) {
            rel += 4;
            if (*rel == '"')
                rel++;
            size_t n = strcspn(rel, "\";, ");
            link->rel = apr_pstrndup(pool, rel, n);
        }
        p = close + 1;
    }
}

static int header_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && line[n] == ':' && strncasecmp(line, name, n) == 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *baton)
{
    transfer_t *t = baton;
    size_t len = size * nmemb;
    http_response_t *r = t->resp;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue): forget the previous one. */
        r->links->nelts = 0;
        r->location = r->replay_nonce = r->retry_after = NULL;
        r->content_type = NULL;
    } else if (header_is(line, len, "Replay-Nonce")) {
        r->replay_nonce = header_value(t->pool, line, len, 12);
    } else if (header_is(line, len, "Location")) {
        r->location = header_value(t->pool, line, len, 8);
    } else if (header_is(line, len, "Retry-After")) {
        r->retry_after = header_value(t->pool, line, len, 11);
    } else if (header_is(line, len, "Content-Type")) {
        r->content_type = header_value(t->pool, line, len, 12);
    } else if (header_is(line, len, "Link")) {
        http_links_parse(t->resp->links, header_value(t->pool, line, len, 4),
                         t->pool);
    }
    return len;
}

long http_client_cap_timeout(http_client_t *client, long seconds)
{
    long previous = client->options.total_timeout_s;
    if (seconds < 1)
        seconds = 1;
    if (seconds < previous)
        client->options.total_timeout_s = seconds;
    return previous;
}

void http_client_set_timeout(http_client_t *client, long seconds)
{
    client->options.total_timeout_s = seconds;
}

static int on_progress(void *baton, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    const http_client_t *client = baton;
    return client->options.interrupted != NULL && *client->options.interrupted;
}

static void set_common(http_client_t *c, transfer_t *t)
{
    CURL *h = c->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    /* HTTP/1.1: an ACME session is one request at a time on each
     * connection, where HTTP/2's framing only adds writes (headers, data
     * and window updates apart) and work on both ends. */
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "expacmectl/" PACKAGE_VERSION);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->options.connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->options.total_timeout_s);
    /* A peer that trickles bytes: under 64 bytes/s for 10 s is dead. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 64L);
    curl_easy_setopt(
        h, CURLOPT_LOW_SPEED_TIME,
        c->options.total_timeout_s < 10 ? c->options.total_timeout_s : 10L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)c->options.max_body);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->options.ca_pem != NULL) {
        /* Read by root before the network process gave up the files. */
        struct curl_blob blob = {(void *)c->options.ca_pem,
                                 c->options.ca_pem_len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
        /* Else libcurl loads its default bundle as well, for every
         * connection: these roots alone, as with a file. */
        curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    } else if (c->options.ca_bundle != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->options.ca_bundle);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
}

static apr_status_t transport_error(CURLcode code, const transfer_t *t,
                                    const char *url, const char **err,
                                    apr_pool_t *pool)
{
    const char *why = curl_easy_strerror(code);
    apr_status_t rv = APR_EGENERAL;
    if (t->too_large || code == CURLE_FILESIZE_EXCEEDED)
        why = apr_psprintf(pool, "response larger than %lu bytes",
                           (unsigned long)t->max);
    else if (code == CURLE_OPERATION_TIMEDOUT)
        rv = APR_TIMEUP;
    else if (code == CURLE_ABORTED_BY_CALLBACK)
        why = "interrupted";
    if (code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_CONNECT)
        rv = HTTP_E_UNREACHABLE;
    *err = apr_psprintf(pool, "%s: %s", url, why);
    return rv;
}

apr_status_t http_request(http_response_t **out, http_client_t *client,
                          const char *method, const char *url,
                          const char *content_type, const char *accept,
                          const void *body, apr_size_t len, const char **err,
                          apr_pool_t *pool)
{
    http_response_t *resp = apr_pcalloc(pool, sizeof(*resp));
    resp->links = apr_array_make(pool, 2, sizeof(http_link_t));
    transfer_t t = {resp, pool, NULL, 0, 0, client->options.max_body, 0};
    *out = NULL;
    if (strncmp(url, "https://", 8) != 0) {
        *err = apr_psprintf(pool, "refusing non-https URL %s", url);
        return APR_EINVAL;
    }
    set_common(client, &t);
    CURL *h = client->curl;
    struct curl_slist *headers = NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        headers = curl_slist_append(
            headers, apr_pstrcat(pool, "Content-Type: ", content_type, NULL));
    }
    if (accept != NULL)
        headers = curl_slist_append(
            headers, apr_pstrcat(pool, "Accept: ", accept, NULL));
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    CURLcode code = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (code != CURLE_OK)
        return transport_error(code, &t, url, err, pool);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->body = t.buf != NULL ? t.buf : apr_pstrdup(pool, "");
    resp->body[t.len] = '\0';
    resp->body_len = t.len;
    *out = resp;
    return APR_SUCCESS;
}

int http_error_unreachable(apr_status_t rv)
{
    return rv == HTTP_E_UNREACHABLE;
}

long http_retry_after_seconds(const char *value, apr_time_t now)
{
    if (value == NULL || *value == '\0')
        return -1;
    if (isdigit((unsigned char)value[0])) {
        char *end = NULL;
        apr_int64_t n = apr_strtoi64(value, &end, 10);
        if (*end != '\0' || n < 0 || n > 366L * 24 * 3600)
            return -1;
        return (long)n;
    }
    /* IMF-fixdate, the only form RFC 9110 lets a sender produce. */
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0')
        return -1;
    apr_int64_t when = (apr_int64_t)timegm(&tm);
    apr_int64_t now_s = (apr_int64_t)apr_time_sec(now);
    if (when - now_s > 366L * 24 * 3600) /* as for delta-seconds */
        return -1;
    return when <= now_s ? 0 : (long)(when - now_s);
}
