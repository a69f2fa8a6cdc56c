/* tls_hello.c — see tls_hello.h.  RFC 5246 §6.2 (records) and §7.4
 * (handshake messages), RFC 6066 §3 (server_name), RFC 8422 §5.1
 * (supported_groups, ec_point_formats), RFC 8446 §4.2.3 (signature
 * algorithm code points). */
#include "base/tls_hello.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/rand.h>

#include "apr_strings.h"

#define RECORD_HEADER 5
#define MESSAGE_HEADER 4
/* RFC 5246 §6.2.1: a plaintext fragment is at most 2^14 bytes. */
#define RECORD_MAX 16384
/* A first flight with a chain larger than this is left to the full
 * handshake; one of two ECDSA certificates is about 2.5 KB. */
#define FLIGHT_FIRST (8 * 1024)
#define FLIGHT_MAX (64 * 1024)

enum { CONTENT_ALERT = 21, CONTENT_HANDSHAKE = 22 };
enum { HELLO_CLIENT = 1, HELLO_SERVER = 2, MESSAGE_CERTIFICATE = 11 };

/* ECDHE first, as a current client offers them; the RSA kind keeps RSA
 * key transport for a listener configured without ECDHE. */
static const uint16_t suites_ecdsa[] = {0xc02b, 0xc02c, 0xcca9, 0xc009, 0xc00a};
static const uint16_t suites_rsa[] = {0xc02f, 0xc030, 0xcca8, 0xc013, 0xc014,
                                      0x009c, 0x009d, 0x002f, 0x0035};
static const uint16_t sigalgs_ecdsa[] = {0x0403, 0x0503, 0x0603};
static const uint16_t sigalgs_rsa[] = {0x0804, 0x0805, 0x0806,
                                       0x0401, 0x0501, 0x0601};
static const uint16_t groups[] = {0x001d, 0x0017, 0x0018};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    unsigned char *buf;
    apr_size_t len;
} writer_t;

static void put8(writer_t *w, unsigned v)
{
    w->buf[w->len++] = (unsigned char)(v & 0xff);
}

static void put16(writer_t *w, unsigned v)
{
    put8(w, v >> 8);
    put8(w, v);
}

/* A length field of width bytes, filled in by close_length once what it
 * counts is written. */
static apr_size_t open_length(writer_t *w, int width)
{
    apr_size_t at = w->len;
    w->len += (apr_size_t)width;
    return at;
}

static void close_length(writer_t *w, apr_size_t at, int width)
{
    apr_size_t n = w->len - at - (apr_size_t)width;
    for (int i = width - 1; i >= 0; i--, n >>= 8)
        w->buf[at + (apr_size_t)i] = (unsigned char)(n & 0xff);
}

static void put_codes(writer_t *w, const uint16_t *codes, apr_size_t n)
{
    for (apr_size_t i = 0; i < n; i++)
        put16(w, codes[i]);
}

static void put_list(writer_t *w, const uint16_t *codes, apr_size_t n)
{
    apr_size_t at = open_length(w, 2);
    put_codes(w, codes, n);
    close_length(w, at, 2);
}

/* The codes of kind: the ECDSA list, the RSA list, or both. */
static void put_kind_list(writer_t *w, tls_probe_kind_t kind,
                          const uint16_t *ecdsa, apr_size_t n_ecdsa,
                          const uint16_t *rsa, apr_size_t n_rsa)
{
    apr_size_t at = open_length(w, 2);
    if (kind != TLS_PROBE_RSA)
        put_codes(w, ecdsa, n_ecdsa);
    if (kind != TLS_PROBE_ECDSA)
        put_codes(w, rsa, n_rsa);
    close_length(w, at, 2);
}

static void put_server_name(writer_t *w, const char *sni)
{
    put16(w, 0x0000);
    apr_size_t ext = open_length(w, 2);
    apr_size_t list = open_length(w, 2);
    put8(w, 0); /* host_name */
    apr_size_t name = open_length(w, 2);
    apr_size_t n = strlen(sni);
    memcpy(w->buf + w->len, sni, n);
    w->len += n;
    close_length(w, name, 2);
    close_length(w, list, 2);
    close_length(w, ext, 2);
}

static void put_extensions(writer_t *w, const char *sni, tls_probe_kind_t kind)
{
    apr_size_t all = open_length(w, 2);
    if (sni != NULL)
        put_server_name(w, sni);
    put16(w, 0x000a); /* supported_groups */
    apr_size_t ext = open_length(w, 2);
    put_list(w, groups, COUNT(groups));
    close_length(w, ext, 2);
    put16(w, 0x000b); /* ec_point_formats: uncompressed */
    put16(w, 2);
    put8(w, 1);
    put8(w, 0);
    put16(w, 0x000d); /* signature_algorithms */
    ext = open_length(w, 2);
    put_kind_list(w, kind, sigalgs_ecdsa, COUNT(sigalgs_ecdsa), sigalgs_rsa,
                  COUNT(sigalgs_rsa));
    close_length(w, ext, 2);
    close_length(w, all, 2);
}

apr_status_t tls_hello_client(const unsigned char **record, apr_size_t *len,
                              const char *sni, tls_probe_kind_t kind,
                              apr_pool_t *pool)
{
    apr_size_t sni_len = sni != NULL ? strlen(sni) : 0;
    if (sni != NULL && (sni_len == 0 || sni_len > 255))
        return APR_EINVAL;
    unsigned char random[32];
    if (RAND_bytes(random, sizeof(random)) != 1)
        return APR_EGENERAL;
    writer_t w = {apr_palloc(pool, 256 + sni_len), 0};
    put8(&w, CONTENT_HANDSHAKE);
    put16(&w, 0x0301); /* the record version clients send first */
    apr_size_t fragment = open_length(&w, 2);
    put8(&w, HELLO_CLIENT);
    apr_size_t body = open_length(&w, 3);
    put16(&w, 0x0303); /* TLS 1.2, and nothing later offered */
    memcpy(w.buf + w.len, random, sizeof(random));
    w.len += sizeof(random);
    put8(&w, 0); /* no session to resume */
    put_kind_list(&w, kind, suites_ecdsa, COUNT(suites_ecdsa), suites_rsa,
                  COUNT(suites_rsa));
    put8(&w, 1); /* compression methods: null only */
    put8(&w, 0);
    put_extensions(&w, sni, kind);
    close_length(&w, body, 3);
    close_length(&w, fragment, 2);
    *record = w.buf;
    *len = w.len;
    return APR_SUCCESS;
}

static apr_size_t big_endian(const unsigned char *p, int width)
{
    apr_size_t v = 0;
    for (int i = 0; i < width; i++)
        v = v << 8 | p[i];
    return v;
}

/* The handshake bytes of every whole record of flight, joined in
 * scratch; TLS_HELLO_BAD for an alert or anything a first flight does
 * not hold before its certificate. */
static tls_hello_state_t join_records(const unsigned char *flight,
                                      apr_size_t len, unsigned char *scratch,
                                      apr_size_t *joined, const char **err)
{
    apr_size_t at = 0;
    *joined = 0;
    while (len - at >= RECORD_HEADER) {
        const unsigned char *h = flight + at;
        apr_size_t n = big_endian(h + 3, 2);
        if (h[1] != 3 || n == 0 || n > RECORD_MAX) {
            *err = "the answer to the TLS 1.2 hello is not a TLS record";
            return TLS_HELLO_BAD;
        }
        if (len - at - RECORD_HEADER < n)
            break;
        if (h[0] == CONTENT_ALERT) {
            *err = "the server refused the TLS 1.2 hello with an alert";
            return TLS_HELLO_BAD;
        }
        if (h[0] != CONTENT_HANDSHAKE) {
            *err = "the server sent a record other than a handshake "
                   "before its certificate";
            return TLS_HELLO_BAD;
        }
        memcpy(scratch + *joined, h + RECORD_HEADER, n);
        *joined += n;
        at += RECORD_HEADER + n;
    }
    return TLS_HELLO_MORE;
}

/* certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1> (RFC 5246 §7.4.2):
 * the first one. */
static tls_hello_state_t first_certificate(const unsigned char *body,
                                           apr_size_t n,
                                           const unsigned char **leaf,
                                           apr_size_t *leaf_len,
                                           const char **err)
{
    if (n < 3 || big_endian(body, 3) != n - 3) {
        *err = "the server's Certificate message is malformed";
        return TLS_HELLO_BAD;
    }
    apr_size_t first = n >= 6 ? big_endian(body + 3, 3) : 0;
    if (first == 0 || first > n - 6) {
        *err = n == 3 ? "the server presented no certificate"
                      : "the server's Certificate message is malformed";
        return TLS_HELLO_BAD;
    }
    *leaf = body + 6;
    *leaf_len = first;
    return TLS_HELLO_LEAF;
}

tls_hello_state_t tls_hello_parse(const unsigned char *flight, apr_size_t len,
                                  unsigned char *scratch,
                                  const unsigned char **leaf,
                                  apr_size_t *leaf_len, const char **err)
{
    apr_size_t joined = 0;
    tls_hello_state_t st = join_records(flight, len, scratch, &joined, err);
    if (st != TLS_HELLO_MORE)
        return st;
    /* ServerHello, then Certificate: nothing else comes between them. */
    apr_size_t at = 0;
    for (int index = 0; joined - at >= MESSAGE_HEADER; index++) {
        const unsigned char *m = scratch + at;
        apr_size_t n = big_endian(m + 1, 3);
        if (joined - at - MESSAGE_HEADER < n)
            return TLS_HELLO_MORE;
        const unsigned char *body = m + MESSAGE_HEADER;
        if (index == 0 && m[0] == HELLO_SERVER) {
            if (n < 2 || body[0] != 3 || body[1] != 3) {
                *err = "the server did not answer in TLS 1.2";
                return TLS_HELLO_BAD;
            }
        } else if (index == 1 && m[0] == MESSAGE_CERTIFICATE) {
            return first_certificate(body, n, leaf, leaf_len, err);
        } else {
            *err = index == 0 ? "the server did not answer the TLS 1.2 hello"
                              : "the server presented no certificate "
                                "after its hello";
            return TLS_HELLO_BAD;
        }
        at += MESSAGE_HEADER + n;
    }
    return TLS_HELLO_MORE;
}

static apr_status_t send_all(int fd, const unsigned char *p, apr_size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? APR_FROM_OS_ERROR(errno) : APR_EOF;
        p += n;
        len -= (apr_size_t)n;
    }
    return APR_SUCCESS;
}

typedef struct {
    unsigned char *flight;
    unsigned char *scratch; /* as large as flight */
    apr_size_t len, cap;
} reading_t;

/* Room for more of the flight: doubles both buffers up to FLIGHT_MAX. */
static int make_room(reading_t *r, apr_pool_t *pool)
{
    if (r->len < r->cap)
        return 1;
    if (r->cap >= FLIGHT_MAX)
        return 0;
    apr_size_t cap = r->cap ? r->cap * 2 : FLIGHT_FIRST;
    unsigned char *flight = apr_palloc(pool, cap);
    if (r->len > 0)
        memcpy(flight, r->flight, r->len);
    r->flight = flight;
    r->scratch = apr_palloc(pool, cap);
    r->cap = cap;
    return 1;
}

/* Each recv waits at most the socket's receive timeout; the deadline
 * bounds them all, so a server answering a byte at a time cannot hold
 * the caller longer. */
static apr_status_t read_leaf(const unsigned char **leaf, apr_size_t *leaf_len,
                              int fd, apr_time_t deadline, const char **err,
                              apr_pool_t *scratch)
{
    reading_t r = {NULL, NULL, 0, 0};
    for (;;) {
        if (!make_room(&r, scratch)) {
            *err = "the server's first flight is too large to read";
            return APR_EGENERAL;
        }
        if (apr_time_now() > deadline) {
            *err = "no whole answer to the TLS 1.2 hello in time";
            return APR_TIMEUP;
        }
        ssize_t n = recv(fd, r.flight + r.len, r.cap - r.len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            *err = "the server closed the connection after the hello";
            return APR_EGENERAL;
        }
        if (n < 0) {
            int timed_out = errno == EAGAIN || errno == EWOULDBLOCK;
            *err = timed_out ? "no answer to the TLS 1.2 hello"
                             : "cannot read the answer to the TLS 1.2 hello";
            return timed_out ? APR_TIMEUP : APR_FROM_OS_ERROR(errno);
        }
        r.len += (apr_size_t)n;
        switch (
            tls_hello_parse(r.flight, r.len, r.scratch, leaf, leaf_len, err)) {
        case TLS_HELLO_MORE:
            continue;
        case TLS_HELLO_LEAF:
            return APR_SUCCESS;
        case TLS_HELLO_BAD:
            return APR_EGENERAL;
        }
    }
}

apr_status_t tls_hello_leaf(const unsigned char **leaf, apr_size_t *leaf_len,
                            int fd, const char *sni, tls_probe_kind_t kind,
                            apr_time_t deadline, const char **err,
                            apr_pool_t *pool)
{
    const unsigned char *hello = NULL;
    apr_size_t hello_len = 0;
    if (tls_hello_client(&hello, &hello_len, sni, kind, pool) != APR_SUCCESS) {
        *err = "cannot make a TLS 1.2 hello for this SNI";
        return APR_EINVAL;
    }
    apr_status_t rv = send_all(fd, hello, hello_len);
    if (rv != APR_SUCCESS) {
        *err = "cannot send the TLS 1.2 hello";
        return rv;
    }
    return read_leaf(leaf, leaf_len, fd, deadline, err, pool);
}
