/* Unit tests of the small DNS client: a responder thread on a loopback
 * UDP port answers each question with a canned reply (A, AAAA, TXT in
 * several strings, a compressed name, NXDOMAIN, SERVFAIL, a reply with a
 * wrong id or cut short, silence), and what the client makes of it is
 * checked: answers as text, the resolver's words in *err, no overread. */
#include "tap.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "base/dns_client.h"

typedef enum {
    R_A,
    R_AAAA,
    R_TXT,
    R_NXDOMAIN,
    R_SERVFAIL,
    R_WRONG_ID,
    R_SHORT,
    R_OVERLONG,
    R_SILENT
} reply_t;

static int sock = -1;
static volatile reply_t mode;

static size_t put_rr(unsigned char *p, unsigned type, const void *data,
                     size_t len)
{
    /* name: a pointer to the question's name at offset 12 */
    unsigned char head[] = {0xc0, 12, 0, (unsigned char)type, 0, 1, 0, 0,
                            0,    60, 0, (unsigned char)len};
    memcpy(p, head, sizeof(head));
    memcpy(p + sizeof(head), data, len);
    return sizeof(head) + len;
}

static size_t make_reply(unsigned char *out, const unsigned char *q,
                         size_t qlen)
{
    memcpy(out, q, qlen);
    out[2] = 0x81; /* QR, RD */
    out[3] = 0x80; /* RA, NOERROR */
    size_t n = qlen;
    unsigned an = 0;
    if (mode == R_A) {
        unsigned char a[4] = {192, 0, 2, 7};
        n += put_rr(out + n, 1, a, 4);
        an = 1;
    } else if (mode == R_AAAA) {
        unsigned char a[16] = {0x20, 0x01, 0x0d, 0xb8};
        a[15] = 1;
        n += put_rr(out + n, 28, a, 16);
        an = 1;
    } else if (mode == R_TXT) {
        const unsigned char t[] = "\x05hello\x06-world";
        n += put_rr(out + n, 16, t, sizeof(t) - 1);
        n += put_rr(out + n, 1, "\x01\x02\x03\x04", 4); /* not TXT: skipped */
        an = 2;
    } else if (mode == R_NXDOMAIN) {
        out[3] = 0x83;
    } else if (mode == R_SERVFAIL) {
        out[3] = 0x82;
    } else if (mode == R_WRONG_ID) {
        out[0] ^= 0xff;
    } else if (mode == R_OVERLONG) {
        unsigned char a[4] = {1, 2, 3, 4};
        n += put_rr(out + n, 1, a, 4);
        out[n - 5] = 200; /* rdlength past the end of the packet */
        an = 1;
    }
    out[6] = 0;
    out[7] = (unsigned char)an;
    if (mode == R_SHORT)
        n = 12 + 3; /* a question cut short */
    return n;
}

static void *responder(void *arg)
{
    (void)arg;
    for (;;) {
        unsigned char q[512], out[1024];
        struct sockaddr_in from;
        socklen_t flen = sizeof(from);
        ssize_t n =
            recvfrom(sock, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
        if (n <= 0)
            return NULL;
        if (mode == R_SILENT)
            continue;
        size_t len = make_reply(out, q, (size_t)n);
        sendto(sock, out, len, 0, (struct sockaddr *)&from, flen);
    }
}

static const char *ask(apr_pool_t *pool, const char *resolver, reply_t m,
                       dns_client_type_t type, apr_status_t *rv,
                       apr_array_header_t **answers)
{
    const char *err = NULL;
    mode = m;
    *rv = dns_client_query(answers, resolver, "www.example.test", type,
                           apr_time_from_msec(700), &err, pool);
    return err;
}

static const char *first(const apr_array_header_t *a)
{
    return a->nelts > 0 ? APR_ARRAY_IDX(a, 0, const char *) : "";
}

int main(void)
{
    apr_pool_t *pool = NULL;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sock = socket(AF_INET, SOCK_DGRAM, 0);
    socklen_t alen = sizeof(addr);
    if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(sock, (struct sockaddr *)&addr, &alen) != 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, responder, NULL);
    const char *resolver =
        apr_psprintf(pool, "127.0.0.1:%d", ntohs(addr.sin_port));
    apr_array_header_t *a = NULL;
    apr_status_t rv;

    ask(pool, resolver, R_A, DNS_CLIENT_A, &rv, &a);
    ok(rv == APR_SUCCESS && a->nelts == 1, "A: one answer");
    is_str(first(a), "192.0.2.7", "A: as text");
    ask(pool, resolver, R_AAAA, DNS_CLIENT_AAAA, &rv, &a);
    is_str(first(a), "2001:db8::1", "AAAA: as text");
    ask(pool, resolver, R_TXT, DNS_CLIENT_TXT, &rv, &a);
    ok(rv == APR_SUCCESS && a->nelts == 1,
       "TXT: the A record beside it skipped");
    is_str(first(a), "hello-world", "TXT: its strings joined");
    const char *err = ask(pool, resolver, R_NXDOMAIN, DNS_CLIENT_A, &rv, &a);
    ok(rv == APR_ENOENT, "NXDOMAIN: APR_ENOENT");
    ok(err && strstr(err, "NXDOMAIN"), "NXDOMAIN: said so");
    err = ask(pool, resolver, R_SERVFAIL, DNS_CLIENT_A, &rv, &a);
    ok(rv != APR_SUCCESS && rv != APR_ENOENT && err && strstr(err, "SERVFAIL"),
       "SERVFAIL: an error saying so");
    err = ask(pool, resolver, R_WRONG_ID, DNS_CLIENT_A, &rv, &a);
    ok(rv == APR_TIMEUP && err && strstr(err, "no answer"),
       "a reply with another id is ignored: no answer in time");
    err = ask(pool, resolver, R_SHORT, DNS_CLIENT_A, &rv, &a);
    ok(rv != APR_SUCCESS && err && strstr(err, "malformed"),
       "a reply cut short: malformed");
    err = ask(pool, resolver, R_OVERLONG, DNS_CLIENT_A, &rv, &a);
    ok(rv != APR_SUCCESS && err && strstr(err, "malformed"),
       "a record longer than the packet: malformed");
    err = ask(pool, resolver, R_SILENT, DNS_CLIENT_TXT, &rv, &a);
    ok(rv == APR_TIMEUP, "silence: time up");
    rv = dns_client_query(&a, resolver, "bad..name", DNS_CLIENT_A,
                          apr_time_from_msec(100), &err, pool);
    ok(rv == APR_EINVAL, "an empty label is never asked");
    rv = dns_client_query(&a, "not-an-address", "www.example.test",
                          DNS_CLIENT_A, apr_time_from_msec(100), &err, pool);
    ok(rv == APR_EINVAL && err && strstr(err, "cannot reach resolver"),
       "a resolver that is no address literal");
    mode = R_A;
    rv = dns_client_addresses(&a, resolver, "www.example.test",
                              apr_time_from_msec(700), &err, pool);
    ok(rv == APR_SUCCESS && a->nelts >= 1, "addresses: A (and AAAA) asked");
    shutdown(sock, SHUT_RDWR);
    close(sock);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
