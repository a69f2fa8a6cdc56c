/* tls_probe.c — see tls_probe.h. */
#include "base/tls_probe.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "apr_strings.h"

#include "base/tls_hello.h"

static apr_status_t split_address(const char **host, const char **port,
                                  const char *address, apr_pool_t *pool)
{
    char *copy = apr_pstrdup(pool, address);
    char *colon = strrchr(copy, ':');
    if (colon == NULL || colon[1] == '\0')
        return APR_EINVAL;
    *colon = '\0';
    *port = colon + 1;
    if (copy[0] == '[') {
        size_t len = strlen(copy);
        if (len < 3 || copy[len - 1] != ']')
            return APR_EINVAL;
        copy[len - 1] = '\0';
        copy++;
    }
    *host = copy;
    return APR_SUCCESS;
}

int tls_probe_connect(const char *address, apr_interval_time_t timeout,
                      apr_pool_t *pool)
{
    const char *host = NULL, *port = NULL;
    if (split_address(&host, &port, address, pool) != APR_SUCCESS)
        return -1;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {(time_t)apr_time_sec(timeout),
                             (suseconds_t)apr_time_usec(timeout)};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

int tls_probe_listening(const char *address, apr_interval_time_t timeout,
                        apr_pool_t *pool)
{
    int fd = tls_probe_connect(address, timeout, pool);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

int tls_probe_wait_listening(const char *address, apr_interval_time_t wait,
                             apr_pool_t *pool)
{
    apr_time_t deadline = apr_time_now() + wait;
    apr_interval_time_t delay = apr_time_from_msec(10);
    while (!tls_probe_listening(address, apr_time_from_sec(2), pool)) {
        if (apr_time_now() > deadline)
            return 0;
        apr_sleep(delay);
        delay = delay * 2 > apr_time_from_msec(200) ? apr_time_from_msec(200)
                                                    : delay * 2;
    }
    return 1;
}

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static apr_status_t handshake(X509 **leaf, SSL_CTX *ctx, int fd,
                              const char *sni, const char *alpn,
                              const char **err, apr_pool_t *pool)
{
    SSL *ssl = SSL_new(ctx);
    apr_status_t rv = APR_EGENERAL;
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
        (sni != NULL && SSL_set_tlsext_host_name(ssl, sni) != 1)) {
        *err = "cannot set up the TLS client";
        goto cleanup;
    }
    if (SSL_connect(ssl) != 1) {
        unsigned long e = ERR_peek_last_error();
        *err = apr_psprintf(pool, "TLS handshake failed: %s",
                            e ? ERR_reason_error_string(e) : "no answer");
        goto cleanup;
    }
    const unsigned char *proto = NULL;
    unsigned proto_len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &proto_len);
    if (alpn != NULL &&
        (proto_len != strlen(alpn) || memcmp(proto, alpn, proto_len) != 0)) {
        *err = apr_psprintf(pool, "the server did not select ALPN %s", alpn);
        goto cleanup;
    }
    *leaf = SSL_get1_peer_certificate(ssl);
    if (*leaf == NULL) {
        *err = "the server presented no certificate";
        goto cleanup;
    }
    apr_pool_cleanup_register(pool, *leaf, x509_cleanup, apr_pool_cleanup_null);
    SSL_shutdown(ssl);
    rv = APR_SUCCESS;
cleanup:
    SSL_free(ssl);
    ERR_clear_error();
    return rv;
}

/* Signature algorithms a client offers so that only a leaf of one key
 * kind can be chosen (TLS 1.3 and 1.2 names both; RSA-PSS and PKCS#1). */
static const char *const kind_sigalgs[] = {
    [TLS_PROBE_ANY] = NULL,
    [TLS_PROBE_ECDSA] = "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512",
    [TLS_PROBE_RSA] = "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:"
                      "rsa_pss_rsae_sha512:RSA+SHA256:RSA+SHA384:RSA+SHA512",
};
_Static_assert(sizeof(kind_sigalgs) / sizeof(kind_sigalgs[0]) ==
                   TLS_PROBE_KINDS,
               "one list per kind");

/* A context offering only alpn (when not NULL) and only the signature
 * algorithms of kind; NULL with *err. */
static SSL_CTX *probe_ctx(const char *alpn, tls_probe_kind_t kind,
                          const char **err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        *err = "cannot create a TLS context";
        return NULL;
    }
    unsigned char wire[64];
    size_t alen = alpn != NULL ? strlen(alpn) : 0;
    if (alen > 0 && alen < sizeof(wire)) {
        wire[0] = (unsigned char)alen;
        memcpy(wire + 1, alpn, alen);
        SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)alen + 1);
    }
    /* No verification: the question is which certificate is served, not
     * whether it is trusted; the leaf is compared byte for byte. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    if (kind_sigalgs[kind] != NULL &&
        SSL_CTX_set1_sigalgs_list(ctx, kind_sigalgs[kind]) != 1) {
        SSL_CTX_free(ctx);
        *err = "cannot restrict the probe's signature algorithms";
        return NULL;
    }
    return ctx;
}

/* The contexts without ALPN, one per kind, made once and shared by every
 * thread (an SSL_CTX is safe to make SSL objects from concurrently): a
 * deploy of a thousand certificates probes a thousand times, and OpenSSL
 * 3.0 spends 0.1 ms making a context.  No session is ever resumed: a
 * client context caches none unless asked to. */
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *kept[TLS_PROBE_KINDS];

static SSL_CTX *kept_ctx(tls_probe_kind_t kind, const char **err)
{
    pthread_mutex_lock(&kept_lock);
    if (kept[kind] == NULL)
        kept[kind] = probe_ctx(NULL, kind, err);
    SSL_CTX *ctx = kept[kind];
    if (ctx != NULL)
        SSL_CTX_up_ref(ctx);
    pthread_mutex_unlock(&kept_lock);
    return ctx;
}

static apr_status_t probe(X509 **leaf, const char *address, const char *sni,
                          const char *alpn, tls_probe_kind_t kind,
                          apr_interval_time_t timeout, const char **err,
                          apr_pool_t *pool)
{
    *leaf = NULL;
    SSL_CTX *ctx =
        alpn == NULL ? kept_ctx(kind, err) : probe_ctx(alpn, kind, err);
    if (ctx == NULL)
        return APR_EGENERAL;
    int fd = tls_probe_connect(address, timeout, pool);
    apr_status_t rv = APR_EGENERAL;
    if (fd < 0)
        *err = apr_psprintf(pool, "cannot connect to %s", address);
    else
        rv = handshake(leaf, ctx, fd, sni, alpn, err, pool);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    return rv;
}

apr_status_t tls_probe_alpn_leaf(X509 **leaf, const char *address,
                                 const char *sni, const char *alpn,
                                 apr_interval_time_t timeout, const char **err,
                                 apr_pool_t *pool)
{
    return probe(leaf, address, sni, alpn, TLS_PROBE_ANY, timeout, err, pool);
}

static int same_der(X509 *served, const unsigned char *der, apr_size_t len)
{
    unsigned char *buf = NULL;
    int n = i2d_X509(served, &buf);
    int same = n > 0 && (apr_size_t)n == len && memcmp(buf, der, len) == 0;
    OPENSSL_free(buf);
    return same;
}

/* What the TLS 1.2 hello finds: *presents set when it answers;
 * APR_EGENERAL when the listener does not speak so. */
static apr_status_t hello_presents(int *presents, const char *address,
                                   const char *sni, tls_probe_kind_t kind,
                                   const unsigned char *der, apr_size_t der_len,
                                   apr_interval_time_t timeout,
                                   const char **err, apr_pool_t *pool)
{
    int fd = tls_probe_connect(address, timeout, pool);
    if (fd < 0) {
        *err = apr_psprintf(pool, "cannot connect to %s", address);
        return APR_ECONNREFUSED;
    }
    /* The hello and the flight's copy go with this pool. */
    apr_pool_t *scratch = NULL;
    apr_status_t rv = apr_pool_create(&scratch, pool);
    const unsigned char *leaf = NULL;
    apr_size_t leaf_len = 0;
    if (rv == APR_SUCCESS)
        rv = tls_hello_leaf(&leaf, &leaf_len, fd, sni, kind,
                            apr_time_now() + timeout, err, scratch);
    close(fd);
    if (rv == APR_SUCCESS)
        *presents = leaf_len == der_len && memcmp(leaf, der, der_len) == 0;
    else if (*err != NULL)
        *err = apr_pstrdup(pool, *err);
    if (scratch != NULL)
        apr_pool_destroy(scratch);
    return rv;
}

apr_status_t tls_probe_presents(int *presents, const char *address,
                                const char *sni, tls_probe_kind_t kind,
                                const unsigned char *der, apr_size_t der_len,
                                apr_interval_time_t timeout, const char **err,
                                apr_pool_t *pool)
{
    *presents = 0;
    apr_status_t rv = hello_presents(presents, address, sni, kind, der, der_len,
                                     timeout, err, pool);
    if ((rv == APR_SUCCESS && *presents) ||
        (rv != APR_SUCCESS && rv != APR_EGENERAL))
        return rv;
    X509 *served = NULL;
    rv = probe(&served, address, sni, NULL, kind, timeout, err, pool);
    if (rv == APR_SUCCESS)
        *presents = same_der(served, der, der_len);
    return rv;
}
