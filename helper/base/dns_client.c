/* dns_client.c — see dns_client.h. */
#include "base/dns_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apr_general.h"
#include "apr_strings.h"
#include "apr_time.h"

#define DNS_PACKET_MAX 4096
#define DNS_RESEND (apr_time_from_msec(500))

typedef struct {
    const unsigned char *p;
    size_t len;
    size_t off;
    int bad;
} reader_t;

static unsigned get16(reader_t *r)
{
    if (r->off + 2 > r->len) {
        r->bad = 1;
        return 0;
    }
    unsigned v = (unsigned)r->p[r->off] << 8 | r->p[r->off + 1];
    r->off += 2;
    return v;
}

/* Skips a (possibly compressed) name. */
static void skip_name(reader_t *r)
{
    for (int labels = 0; labels < 128 && !r->bad; labels++) {
        if (r->off >= r->len) {
            r->bad = 1;
            return;
        }
        unsigned len = r->p[r->off];
        if ((len & 0xc0) == 0xc0) {
            r->off += 2;
            return;
        }
        r->off += 1 + len;
        if (len == 0)
            return;
    }
    r->bad = 1;
}

static apr_status_t encode_query(unsigned char *buf, size_t *len, unsigned id,
                                 const char *name, dns_client_type_t type)
{
    size_t n = strlen(name);
    if (n == 0 || n > 253)
        return APR_EINVAL;
    unsigned char head[12] = {id >> 8, id & 0xff, 0x01, 0x00, 0, 1};
    memcpy(buf, head, sizeof(head));
    size_t off = 12;
    const char *label = name;
    while (*label) {
        const char *dot = strchr(label, '.');
        size_t l = dot ? (size_t)(dot - label) : strlen(label);
        if (l == 0 || l > 63)
            return APR_EINVAL;
        buf[off++] = (unsigned char)l;
        memcpy(buf + off, label, l);
        off += l;
        label += l + (dot ? 1 : 0);
    }
    buf[off++] = 0;
    buf[off++] = 0;
    buf[off++] = (unsigned char)type;
    buf[off++] = 0;
    buf[off++] = 1; /* class IN */
    *len = off;
    return APR_SUCCESS;
}

static const char *rdata_text(const unsigned char *d, unsigned len,
                              dns_client_type_t type, apr_pool_t *pool)
{
    char buf[INET6_ADDRSTRLEN];
    if (type == DNS_CLIENT_A && len == 4)
        return apr_pstrdup(pool, inet_ntop(AF_INET, d, buf, sizeof(buf)));
    if (type == DNS_CLIENT_AAAA && len == 16)
        return apr_pstrdup(pool, inet_ntop(AF_INET6, d, buf, sizeof(buf)));
    if (type != DNS_CLIENT_TXT)
        return NULL;
    char *out = apr_palloc(pool, len + 1);
    size_t o = 0;
    for (unsigned i = 0; i < len;) {
        unsigned l = d[i++];
        if (i + l > len)
            return NULL;
        memcpy(out + o, d + i, l);
        o += l;
        i += l;
    }
    out[o] = '\0';
    return out;
}

static const char *const rcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                     "NXDOMAIN", "NOTIMP",  "REFUSED"};

static apr_status_t parse_reply(apr_array_header_t *answers,
                                const unsigned char *p, size_t len,
                                dns_client_type_t type, const char **err,
                                apr_pool_t *pool)
{
    reader_t r = {p, len, 2, 0};
    unsigned flags = get16(&r);
    unsigned qd = get16(&r), an = get16(&r);
    r.off = 12;
    unsigned rcode = flags & 0x0f;
    if (r.bad || !(flags & 0x8000)) {
        *err = "malformed reply";
        return APR_EGENERAL;
    }
    if (rcode != 0) {
        *err = apr_psprintf(pool, "answered %s",
                            rcode < 6 ? rcodes[rcode] : "an error");
        return rcode == 3 ? APR_ENOENT : APR_EGENERAL;
    }
    for (unsigned i = 0; i < qd && !r.bad; i++) {
        skip_name(&r);
        r.off += 4;
    }
    for (unsigned i = 0; i < an && !r.bad; i++) {
        skip_name(&r);
        unsigned rtype = get16(&r), rclass = get16(&r);
        r.off += 4; /* TTL */
        unsigned rdlen = get16(&r);
        if (r.bad || r.off + rdlen > len) {
            r.bad = 1;
            break;
        }
        const char *text = rtype == (unsigned)type && rclass == 1
                               ? rdata_text(p + r.off, rdlen, type, pool)
                               : NULL;
        if (text != NULL)
            APR_ARRAY_PUSH(answers, const char *) = text;
        r.off += rdlen;
    }
    if (r.bad) {
        *err = "malformed reply";
        return APR_EGENERAL;
    }
    *err = answers->nelts ? "answered" : "answered with no such record";
    return APR_SUCCESS;
}

/* /etc/resolv.conf's first nameserver, port 53. */
static const char *system_resolver(apr_pool_t *pool)
{
    FILE *f = fopen("/etc/resolv.conf", "re");
    char line[512];
    const char *found = NULL;
    while (f != NULL && found == NULL && fgets(line, sizeof(line), f)) {
        char addr[256];
        if (sscanf(line, " nameserver %255s", addr) == 1)
            found = strchr(addr, ':') ? apr_psprintf(pool, "[%s]:53", addr)
                                      : apr_psprintf(pool, "%s:53", addr);
    }
    if (f != NULL)
        fclose(f);
    return found != NULL ? found : "127.0.0.1:53";
}

const char *dns_client_resolver_name(const char *resolver, apr_pool_t *pool)
{
    if (resolver != NULL)
        return resolver;
    return apr_psprintf(pool, "%s (system)", system_resolver(pool));
}

static int open_socket(const char *resolver, apr_pool_t *pool)
{
    char *host = apr_pstrdup(pool, resolver);
    char *colon = strrchr(host, ':');
    if (colon == NULL)
        return -1;
    *colon = '\0';
    if (host[0] == '[') {
        host++;
        host[strlen(host) - 1] = '\0';
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return -1;
    int fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Sends the question (again every 500 ms) until a reply with our id
 * comes or time is up. */
static apr_status_t exchange(unsigned char *reply, size_t *reply_len, int fd,
                             const unsigned char *q, size_t qlen,
                             apr_interval_time_t timeout)
{
    apr_time_t deadline = apr_time_now() + timeout;
    apr_time_t resend = 0;
    for (;;) {
        apr_time_t now = apr_time_now();
        if (now >= deadline)
            return APR_TIMEUP;
        if (now >= resend) {
            if (send(fd, q, qlen, 0) < 0 && errno != EINTR)
                return errno;
            resend = now + DNS_RESEND;
        }
        apr_time_t until = resend < deadline ? resend : deadline;
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, (int)apr_time_as_msec(until - now) + 1);
        if (rc <= 0)
            continue;
        ssize_t n = recv(fd, reply, DNS_PACKET_MAX, 0);
        if (n < 0 && errno == ECONNREFUSED)
            return ECONNREFUSED;
        if (n >= 12 && reply[0] == q[0] && reply[1] == q[1]) {
            *reply_len = (size_t)n;
            return APR_SUCCESS;
        }
    }
}

apr_status_t dns_client_query(apr_array_header_t **answers,
                              const char *resolver, const char *name,
                              dns_client_type_t type,
                              apr_interval_time_t timeout, const char **err,
                              apr_pool_t *pool)
{
    *answers = apr_array_make(pool, 2, sizeof(const char *));
    const char *server = resolver != NULL ? resolver : system_resolver(pool);
    unsigned char q[512], reply[DNS_PACKET_MAX];
    size_t qlen = 0, rlen = 0;
    /* An unpredictable id: a reply must echo it to be read at all. */
    unsigned char rnd[2] = {0, 0};
    apr_generate_random_bytes(rnd, sizeof(rnd));
    unsigned id = (unsigned)rnd[0] << 8 | rnd[1];
    if (encode_query(q, &qlen, id, name, type) != APR_SUCCESS) {
        *err = "not a name that can be asked for";
        return APR_EINVAL;
    }
    int fd = open_socket(server, pool);
    if (fd < 0) {
        *err = apr_psprintf(pool, "cannot reach resolver %s", server);
        return APR_EINVAL;
    }
    apr_status_t rv = exchange(reply, &rlen, fd, q, qlen, timeout);
    close(fd);
    if (rv == APR_TIMEUP)
        *err = apr_psprintf(pool, "no answer from %s", server);
    else if (rv != APR_SUCCESS)
        *err = apr_psprintf(pool, "resolver %s: %s", server, strerror(rv));
    else
        rv = parse_reply(*answers, reply, rlen, type, err, pool);
    return rv;
}

static apr_status_t system_addresses(apr_array_header_t *out, const char *name,
                                     const char **err, apr_pool_t *pool)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        *err = apr_psprintf(pool, "the system resolver: %s", gai_strerror(rc));
        return APR_ENOENT;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char buf[INET6_ADDRSTRLEN];
        const void *a =
            ai->ai_family == AF_INET
                ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)
                      ->sin6_addr;
        if (inet_ntop(ai->ai_family, a, buf, sizeof(buf)) != NULL)
            APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(pool, buf);
    }
    freeaddrinfo(res);
    return APR_SUCCESS;
}

apr_status_t dns_client_addresses(apr_array_header_t **addresses,
                                  const char *resolver, const char *name,
                                  apr_interval_time_t timeout, const char **err,
                                  apr_pool_t *pool)
{
    *addresses = apr_array_make(pool, 2, sizeof(const char *));
    if (resolver == NULL)
        return system_addresses(*addresses, name, err, pool);
    apr_array_header_t *v4 = NULL, *v6 = NULL;
    const char *err4 = NULL, *err6 = NULL;
    apr_status_t rv4 = dns_client_query(&v4, resolver, name, DNS_CLIENT_A,
                                        timeout, &err4, pool);
    apr_status_t rv6 = dns_client_query(&v6, resolver, name, DNS_CLIENT_AAAA,
                                        timeout, &err6, pool);
    apr_array_cat(*addresses, v4);
    apr_array_cat(*addresses, v6);
    if ((*addresses)->nelts > 0)
        return APR_SUCCESS;
    *err = apr_psprintf(pool, "%s %s for A, %s for AAAA", resolver, err4, err6);
    return rv4 != APR_SUCCESS ? rv4 : rv6 != APR_SUCCESS ? rv6 : APR_ENOENT;
}
