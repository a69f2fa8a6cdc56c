/* Unit tests of base/tls_hello.c and tls_probe_presents: the ClientHello
 * as sent, the server's first flight parsed from any pieces (and refused
 * when it is anything else), and both against a real OpenSSL server in a
 * thread: TLS 1.2 answered in the clear, the leaf of each key kind, and a
 * TLS 1.3-only listener left to the full handshake. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "base/tls_hello.h"
#include "base/tls_probe.h"
#include "crypto/crypt_key.h"
#include "tap.h"

/* --- the ClientHello --------------------------------------------------- */

static int has_code(const unsigned char *list, apr_size_t len, unsigned code)
{
    for (apr_size_t i = 0; i + 1 < len; i += 2)
        if ((unsigned)(list[i] << 8 | list[i + 1]) == code)
            return 1;
    return 0;
}

static void test_client_hello(apr_pool_t *pool)
{
    const unsigned char *r = NULL;
    apr_size_t len = 0;
    ok(tls_hello_client(&r, &len, "www.example.org", TLS_PROBE_ANY, pool) ==
           APR_SUCCESS,
       "a ClientHello is made");
    ok(len > 60 && r[0] == 22 && r[1] == 3 &&
           (apr_size_t)(r[3] << 8 | r[4]) == len - 5,
       "one handshake record, its length all that follows");
    ok(r[5] == 1 && (apr_size_t)(r[6] << 16 | r[7] << 8 | r[8]) == len - 9 &&
           r[9] == 3 && r[10] == 3,
       "a ClientHello message for TLS 1.2, its length the rest");
    ok(memmem(r, len, "www.example.org", 15) != NULL, "the SNI is in it");
    /* record 5, message 4, version 2, random 32, no session id 1 */
    const unsigned char *suites = r + 44;
    apr_size_t n = (apr_size_t)(suites[0] << 8 | suites[1]);
    ok(has_code(suites + 2, n, 0xc02b) && has_code(suites + 2, n, 0xc02f),
       "any kind: ECDSA and RSA suites offered");

    tls_hello_client(&r, &len, "a.example", TLS_PROBE_ECDSA, pool);
    suites = r + 44;
    n = (apr_size_t)(suites[0] << 8 | suites[1]);
    ok(has_code(suites + 2, n, 0xc02b) && !has_code(suites + 2, n, 0xc02f) &&
           !has_code(suites + 2, n, 0x009c),
       "ECDSA only: no RSA suite");
    tls_hello_client(&r, &len, "a.example", TLS_PROBE_RSA, pool);
    suites = r + 44;
    n = (apr_size_t)(suites[0] << 8 | suites[1]);
    ok(!has_code(suites + 2, n, 0xc02b) && has_code(suites + 2, n, 0xc02f),
       "RSA only: no ECDSA suite");

    const unsigned char *bare = NULL;
    apr_size_t bare_len = 0;
    tls_hello_client(&r, &len, "a.example", TLS_PROBE_ANY, pool);
    /* server_name: type 2, length 2, list length 2, name type 1, name
     * length 2, the name */
    ok(tls_hello_client(&bare, &bare_len, NULL, TLS_PROBE_ANY, pool) ==
               APR_SUCCESS &&
           len - bare_len == 9 + strlen("a.example"),
       "no SNI: made without the server_name extension");
    ok(tls_hello_client(&r, &len, "", TLS_PROBE_ANY, pool) == APR_EINVAL,
       "an empty SNI is refused");
    char *longname = apr_palloc(pool, 300);
    memset(longname, 'a', 299);
    longname[299] = '\0';
    ok(tls_hello_client(&r, &len, longname, TLS_PROBE_ANY, pool) == APR_EINVAL,
       "an SNI of 299 bytes is refused");
}

/* --- the server's flight, made by hand ---------------------------------- */

typedef struct {
    unsigned char buf[4096];
    apr_size_t len;
} bytes_t;

static void add(bytes_t *b, const void *p, apr_size_t n)
{
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static void add_be(bytes_t *b, apr_size_t v, int width)
{
    for (int i = width - 1; i >= 0; i--)
        b->buf[b->len++] = (unsigned char)((v >> (8 * i)) & 0xff);
}

/* A ServerHello (version ver) and a Certificate of two entries, as
 * handshake bytes. */
static void messages(bytes_t *m, unsigned ver)
{
    static const unsigned char random[32];
    m->len = 0;
    add_be(m, 2, 1);
    add_be(m, 2 + 32 + 1 + 2 + 1, 3);
    add_be(m, ver, 2);
    add(m, random, sizeof(random));
    add_be(m, 0, 1);
    add_be(m, 0xc02b, 2);
    add_be(m, 0, 1);
    add_be(m, 11, 1);
    add_be(m, 3 + 3 + 3 + 3 + 2, 3);
    add_be(m, 3 + 3 + 3 + 2, 3);
    add_be(m, 3, 3);
    add(m, "ABC", 3);
    add_be(m, 2, 3);
    add(m, "DE", 2);
}

/* m's bytes in records of at most per bytes each. */
static void records(bytes_t *f, const bytes_t *m, apr_size_t per)
{
    f->len = 0;
    for (apr_size_t at = 0; at < m->len; at += per) {
        apr_size_t n = m->len - at < per ? m->len - at : per;
        add_be(f, 22, 1);
        add_be(f, 0x0303, 2);
        add_be(f, n, 2);
        add(f, m->buf + at, n);
    }
}

static tls_hello_state_t parse(const bytes_t *f, apr_size_t len,
                               const unsigned char **leaf, apr_size_t *leaf_len,
                               const char **err)
{
    static unsigned char scratch[4096];
    *err = NULL;
    return tls_hello_parse(f->buf, len, scratch, leaf, leaf_len, err);
}

static void test_parse_whole(void)
{
    bytes_t m, f;
    const unsigned char *leaf = NULL;
    apr_size_t leaf_len = 0;
    const char *err = NULL;
    messages(&m, 0x0303);
    records(&f, &m, sizeof(m.buf));
    ok(parse(&f, f.len, &leaf, &leaf_len, &err) == TLS_HELLO_LEAF &&
           leaf_len == 3 && memcmp(leaf, "ABC", 3) == 0,
       "one record: the first certificate found");
    int prefixes_more = 1;
    for (apr_size_t n = 0; n < f.len; n++)
        prefixes_more &= parse(&f, n, &leaf, &leaf_len, &err) == TLS_HELLO_MORE;
    ok(prefixes_more, "every shorter part of it: more wanted");
    records(&f, &m, 1);
    ok(parse(&f, f.len, &leaf, &leaf_len, &err) == TLS_HELLO_LEAF &&
           leaf_len == 3 && memcmp(leaf, "ABC", 3) == 0,
       "one byte per record: the certificate found across records");
    prefixes_more = 1;
    for (apr_size_t n = 0; n < f.len; n++)
        prefixes_more &= parse(&f, n, &leaf, &leaf_len, &err) == TLS_HELLO_MORE;
    ok(prefixes_more, "every shorter part of that: more wanted");
}

static void expect_bad(const bytes_t *f, const char *what, const char *word)
{
    const unsigned char *leaf = NULL;
    apr_size_t leaf_len = 0;
    const char *err = NULL;
    tls_hello_state_t st = parse(f, f->len, &leaf, &leaf_len, &err);
    ok(st == TLS_HELLO_BAD && err != NULL && strstr(err, word) != NULL, what);
    if (st != TLS_HELLO_BAD || err == NULL || strstr(err, word) == NULL)
        printf("#   state %d, error '%s'\n", (int)st, err ? err : "(none)");
}

static void test_parse_refused(void)
{
    bytes_t m, f;
    messages(&m, 0x0303);
    records(&f, &m, sizeof(m.buf));
    f.buf[0] = 21;
    expect_bad(&f, "an alert record", "alert");
    f.buf[0] = 23;
    expect_bad(&f, "application data before the certificate",
               "other than a handshake");
    records(&f, &m, sizeof(m.buf));
    f.buf[1] = 2;
    expect_bad(&f, "a record of another protocol version", "not a TLS record");
    bytes_t http = {.len = 0};
    add(&http, "HTTP/1.1 400 Bad Request\r\n", 26);
    expect_bad(&http, "an HTTP answer", "not a TLS record");
    bytes_t huge = {.len = 0};
    add_be(&huge, 22, 1);
    add_be(&huge, 0x0303, 2);
    add_be(&huge, 16385, 2);
    expect_bad(&huge, "a record longer than TLS allows", "not a TLS record");
    bytes_t empty = {.len = 0};
    add_be(&empty, 22, 1);
    add_be(&empty, 0x0303, 2);
    add_be(&empty, 0, 2);
    expect_bad(&empty, "an empty record", "not a TLS record");

    messages(&m, 0x0304);
    records(&f, &m, sizeof(m.buf));
    expect_bad(&f, "a ServerHello of another version", "TLS 1.2");
    messages(&m, 0x0303);
    bytes_t cert_first = {.len = 0};
    add(&cert_first, m.buf + 42, m.len - 42);
    records(&f, &cert_first, sizeof(f.buf));
    expect_bad(&f, "a Certificate without a ServerHello first",
               "did not answer");
    bytes_t ske = {.len = 0};
    add(&ske, m.buf, 42);
    add_be(&ske, 12, 1);
    add_be(&ske, 1, 3);
    add_be(&ske, 0, 1);
    records(&f, &ske, sizeof(f.buf));
    expect_bad(&f, "a key exchange where the certificate goes",
               "no certificate");
}

/* A Certificate message body of the given lengths, after a ServerHello. */
static void certificate_with(bytes_t *f, apr_size_t list_len, apr_size_t first,
                             const char *data, apr_size_t data_len)
{
    bytes_t m;
    messages(&m, 0x0303);
    m.len = 42;
    add_be(&m, 11, 1);
    add_be(&m, 3 + (first != (apr_size_t)-1 ? 3 : 0) + data_len, 3);
    add_be(&m, list_len, 3);
    if (first != (apr_size_t)-1)
        add_be(&m, first, 3);
    add(&m, data, data_len);
    records(f, &m, sizeof(m.buf));
}

static void test_parse_certificate(void)
{
    bytes_t f;
    certificate_with(&f, 0, (apr_size_t)-1, "", 0);
    expect_bad(&f, "an empty certificate list", "no certificate");
    certificate_with(&f, 9, 3, "ABC", 3);
    expect_bad(&f, "a list length beyond the message", "malformed");
    certificate_with(&f, 6, 4, "ABC", 3);
    expect_bad(&f, "a certificate beyond its list", "malformed");
    certificate_with(&f, 6, 0, "ABC", 3);
    expect_bad(&f, "a certificate of no bytes", "malformed");
    const unsigned char *leaf = NULL;
    apr_size_t leaf_len = 0;
    const char *err = NULL;
    certificate_with(&f, 6, 3, "ABC", 3);
    ok(parse(&f, f.len, &leaf, &leaf_len, &err) == TLS_HELLO_LEAF &&
           leaf_len == 3,
       "a list of exactly one certificate");
}

/* --- against a real server ---------------------------------------------- */

typedef struct {
    int listen_fd;
    SSL_CTX *ctx;      /* NULL: answer reply, not TLS */
    const char *reply; /* sent after reading the hello */
    int silent;        /* reads, never answers */
    int trickle;       /* answers a byte every 20 ms */
    pthread_t thread;
    char address[64];
    int accepted;
} server_t;

/* A TLS record header announcing 16 KiB, then a byte at a time. */
static void trickle(int fd)
{
    static const unsigned char head[] = {22, 3, 3, 0x40, 0x00};
    if (send(fd, head, sizeof(head), MSG_NOSIGNAL) != sizeof(head))
        return;
    struct timespec pause = {0, 20 * 1000 * 1000};
    while (send(fd, "x", 1, MSG_NOSIGNAL) == 1)
        nanosleep(&pause, NULL);
}

static void *serve(void *arg)
{
    server_t *s = arg;
    for (;;) {
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            break;
        __atomic_add_fetch(&s->accepted, 1, __ATOMIC_SEQ_CST);
        char buf[1024];
        if (s->silent) {
            while (recv(fd, buf, sizeof(buf), 0) > 0)
                ;
        } else if (s->trickle) {
            if (recv(fd, buf, sizeof(buf), 0) > 0)
                trickle(fd);
        } else if (s->ctx != NULL) {
            SSL *ssl = SSL_new(s->ctx);
            SSL_set_fd(ssl, fd);
            if (SSL_accept(ssl) == 1)
                SSL_shutdown(ssl);
            SSL_free(ssl);
            ERR_clear_error();
        } else {
            if (recv(fd, buf, sizeof(buf), 0) > 0)
                send(fd, s->reply, strlen(s->reply), MSG_NOSIGNAL);
        }
        close(fd);
    }
    return NULL;
}

static int server_start(server_t *s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->listen_fd < 0 || bind(s->listen_fd, (void *)&sa, sizeof(sa)) != 0 ||
        listen(s->listen_fd, 8) != 0 ||
        getsockname(s->listen_fd, (void *)&sa, &sl) != 0)
        return 0;
    snprintf(s->address, sizeof(s->address), "127.0.0.1:%d",
             ntohs(sa.sin_port));
    return pthread_create(&s->thread, NULL, serve, s) == 0;
}

static void server_stop(server_t *s)
{
    shutdown(s->listen_fd, SHUT_RDWR);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    SSL_CTX_free(s->ctx);
}

static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    return x;
}

/* A server context speaking min_version up to TLS 1.3, with n pairs. */
static SSL_CTX *server_ctx(int min_version, EVP_PKEY *const *keys,
                           X509 *const *certs, int n)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, min_version);
    for (int i = 0; i < n; i++)
        if (SSL_CTX_use_certificate(ctx, certs[i]) != 1 ||
            SSL_CTX_use_PrivateKey(ctx, keys[i]) != 1) {
            SSL_CTX_free(ctx);
            return NULL;
        }
    return ctx;
}

typedef struct {
    EVP_PKEY *ec_key, *rsa_key;
    X509 *ec, *rsa;
    unsigned char *ec_der, *rsa_der;
    int ec_len, rsa_len;
} pairs_t;

static int pairs_make(pairs_t *p, apr_pool_t *pool)
{
    const char *err = NULL;
    if (crypt_key_generate(&p->ec_key, CRYPT_KEY_EC256, &err, pool) !=
            APR_SUCCESS ||
        crypt_key_generate(&p->rsa_key, CRYPT_KEY_RSA2048, &err, pool) !=
            APR_SUCCESS)
        return 0;
    p->ec = self_signed(p->ec_key, "ec.example");
    p->rsa = self_signed(p->rsa_key, "rsa.example");
    p->ec_der = p->rsa_der = NULL;
    p->ec_len = i2d_X509(p->ec, &p->ec_der);
    p->rsa_len = i2d_X509(p->rsa, &p->rsa_der);
    return p->ec_len > 0 && p->rsa_len > 0;
}

static void pairs_free(pairs_t *p)
{
    X509_free(p->ec);
    X509_free(p->rsa);
    OPENSSL_free(p->ec_der);
    OPENSSL_free(p->rsa_der);
}

static int hello_leaf(const char *address, tls_probe_kind_t kind,
                      const unsigned char **leaf, apr_size_t *len,
                      const char **err, apr_pool_t *pool)
{
    int fd = tls_probe_connect(address, apr_time_from_sec(5), pool);
    if (fd < 0)
        return 0;
    apr_status_t rv =
        tls_hello_leaf(leaf, len, fd, "ec.example", kind,
                       apr_time_now() + apr_time_from_sec(5), err, pool);
    close(fd);
    return rv == APR_SUCCESS;
}

/* tls_probe_presents to address for der: 1, 0, or -1 when it fails. */
static int presents_at(const char *address, tls_probe_kind_t kind,
                       const unsigned char *der, int len, const char **err,
                       apr_pool_t *pool)
{
    int presents = -1;
    if (tls_probe_presents(&presents, address, "ec.example", kind, der,
                           (apr_size_t)len, apr_time_from_sec(5), err,
                           pool) != APR_SUCCESS)
        return -1;
    return presents;
}

static void test_tls12_server(pairs_t *p, apr_pool_t *pool)
{
    EVP_PKEY *keys[] = {p->ec_key, p->rsa_key};
    X509 *certs[] = {p->ec, p->rsa};
    /* TLS 1.3 allowed but not required: a 1.2 hello is answered in 1.2 */
    server_t s = {.ctx = server_ctx(TLS1_2_VERSION, keys, certs, 2)};
    if (!ok(s.ctx != NULL && server_start(&s), "a TLS server with both pairs"))
        return;
    const unsigned char *leaf = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    ok(hello_leaf(s.address, TLS_PROBE_ECDSA, &leaf, &len, &err, pool) &&
           len == (apr_size_t)p->ec_len && memcmp(leaf, p->ec_der, len) == 0,
       "ECDSA only: the ECDSA leaf, byte for byte");
    ok(hello_leaf(s.address, TLS_PROBE_RSA, &leaf, &len, &err, pool) &&
           len == (apr_size_t)p->rsa_len && memcmp(leaf, p->rsa_der, len) == 0,
       "RSA only: the RSA leaf, byte for byte");
    ok(presents_at(s.address, TLS_PROBE_ECDSA, p->ec_der, p->ec_len, &err,
                   pool) == 1,
       "tls_probe_presents: the ECDSA leaf is presented");
    ok(presents_at(s.address, TLS_PROBE_RSA, p->ec_der, p->ec_len, &err,
                   pool) == 0,
       "tls_probe_presents: not to a client offering only RSA");
    server_stop(&s);
}

static void test_tls13_only(pairs_t *p, apr_pool_t *pool)
{
    EVP_PKEY *keys[] = {p->ec_key};
    X509 *certs[] = {p->ec};
    server_t s = {.ctx = server_ctx(TLS1_3_VERSION, keys, certs, 1)};
    if (!ok(s.ctx != NULL && server_start(&s), "a TLS 1.3-only server"))
        return;
    const unsigned char *leaf = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    ok(!hello_leaf(s.address, TLS_PROBE_ANY, &leaf, &len, &err, pool) &&
           err != NULL && strstr(err, "alert") != NULL,
       "the TLS 1.2 hello is refused with an alert");
    err = NULL;
    ok(presents_at(s.address, TLS_PROBE_ANY, p->ec_der, p->ec_len, &err,
                   pool) == 1,
       "tls_probe_presents: the full handshake finds the leaf");
    ok(presents_at(s.address, TLS_PROBE_ANY, p->rsa_der, p->rsa_len, &err,
                   pool) == 0,
       "tls_probe_presents: and tells another certificate apart");
    server_stop(&s);
}

static void test_not_tls(pairs_t *p, apr_pool_t *pool)
{
    server_t s = {.reply = "HTTP/1.1 400 Bad Request\r\n\r\n"};
    if (!ok(server_start(&s), "a server that speaks HTTP"))
        return;
    int presents = -1;
    const char *err = NULL;
    ok(tls_probe_presents(&presents, s.address, "ec.example", TLS_PROBE_ANY,
                          p->ec_der, (apr_size_t)p->ec_len,
                          apr_time_from_sec(5), &err, pool) != APR_SUCCESS &&
           presents == 0 && err != NULL &&
           strstr(err, "TLS handshake failed") != NULL,
       "tls_probe_presents: fails with the full handshake's error");
    server_stop(&s);
}

/* A listener whose TLS 1.2 answer is another pair than a TLS 1.3
 * client gets (the server prefers an RSA suite; TLS 1.3 picks by the
 * client's signature algorithms, ECDSA first): the full handshake has
 * the last word. */
static void test_versions_differ(pairs_t *p, apr_pool_t *pool)
{
    EVP_PKEY *keys[] = {p->ec_key, p->rsa_key};
    X509 *certs[] = {p->ec, p->rsa};
    server_t s = {.ctx = server_ctx(TLS1_2_VERSION, keys, certs, 2)};
    if (s.ctx != NULL) {
        SSL_CTX_set_options(s.ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
        SSL_CTX_set_cipher_list(
            s.ctx, "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256");
    }
    if (!ok(s.ctx != NULL && server_start(&s),
            "a server preferring RSA in TLS 1.2"))
        return;
    const unsigned char *leaf = NULL;
    apr_size_t len = 0;
    const char *err = NULL;
    ok(hello_leaf(s.address, TLS_PROBE_ANY, &leaf, &len, &err, pool) &&
           len == (apr_size_t)p->rsa_len && memcmp(leaf, p->rsa_der, len) == 0,
       "its TLS 1.2 answer: the RSA leaf");
    s.accepted = 0;
    ok(presents_at(s.address, TLS_PROBE_ANY, p->ec_der, p->ec_len, &err,
                   pool) == 1,
       "tls_probe_presents: the ECDSA leaf a TLS 1.3 client gets counts");
    is_int(__atomic_load_n(&s.accepted, __ATOMIC_SEQ_CST), 2,
           "asked twice: the hello, then a full handshake");
    server_stop(&s);
}

/* Listeners that answer nothing, or a byte at a time: one connection,
 * bounded by the timeout, no second try. */
static void test_slow(pairs_t *p, apr_pool_t *pool)
{
    for (int trickling = 0; trickling < 2; trickling++) {
        server_t s = {.silent = !trickling, .trickle = trickling};
        if (!ok(server_start(&s),
                trickling ? "a trickling server" : "a silent server"))
            continue;
        int presents = -1;
        const char *err = NULL;
        apr_status_t rv = tls_probe_presents(
            &presents, s.address, "ec.example", TLS_PROBE_ANY, p->ec_der,
            (apr_size_t)p->ec_len, apr_time_from_msec(300), &err, pool);
        ok(rv == APR_TIMEUP && presents == 0 && err != NULL,
           trickling ? "a byte at a time: given up at the deadline"
                     : "no answer: given up at the timeout");
        is_int(__atomic_load_n(&s.accepted, __ATOMIC_SEQ_CST), 1,
               "and not asked again with a full handshake");
        server_stop(&s);
    }
}

int main(void)
{
    /* As the helper does (expacmectl.c): the full handshake's writes to a
     * server that closed first fail instead of ending the process. */
    signal(SIGPIPE, SIG_IGN);
    apr_initialize();
    apr_pool_t *pool = NULL;
    apr_pool_create(&pool, NULL);
    test_client_hello(pool);
    test_parse_whole();
    test_parse_refused();
    test_parse_certificate();
    pairs_t p;
    if (ok(pairs_make(&p, pool), "an ECDSA and an RSA pair")) {
        test_tls12_server(&p, pool);
        test_tls13_only(&p, pool);
        test_not_tls(&p, pool);
        test_versions_differ(&p, pool);
        test_slow(&p, pool);
        pairs_free(&p);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
