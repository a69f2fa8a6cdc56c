/* netproc.c — see netproc.h. */
#include "net/netproc.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "apr_hash.h"
#include "apr_strings.h"

#include "acme/acme_ca.h"
#include "base/own_pool.h"
#include "net/net_proto.h"
#include "net/net_wire.h"
#include "net/netproc_run.h"

static volatile int interrupted;

static void on_signal(int signo)
{
    (void)signo;
    interrupted = 1;
}

static void *serve(void *data)
{
    netproc_thread_t *t = data;
    t->pool = own_pool_create();
    if (t->pool == NULL)
        return NULL;
    for (;;) {
        apr_pool_t *req = NULL;
        wire_in_t in;
        apr_pool_create(&req, t->pool);
        apr_status_t rv = wire_recv(&in, t->root_fd, NET_FRAME_MAX, -1, req);
        /* Root has gone (it closes the channels only when it exits) or
         * spoke out of turn: nothing here is worth a clean-up. */
        if (rv != APR_SUCCESS)
            _exit(rv == APR_EOF ? 0 : 1);
        netproc_run(t, &in, req);
        apr_pool_destroy(req);
    }
}

static void trap_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int start(netproc_t *np, const int *root_fds, const int *key_fds,
                 int count)
{
    pthread_t *ids = calloc((size_t)count, sizeof(*ids));
    np->threads = calloc((size_t)count, sizeof(*np->threads));
    if (ids == NULL || np->threads == NULL)
        return 1;
    int started = 0;
    for (int i = 0; i < count; i++) {
        netproc_thread_t *t = &np->threads[i];
        t->np = np;
        t->root_fd = root_fds[i];
        t->key_fd = key_fds[i];
        if (pthread_create(&ids[i], NULL, serve, t) == 0)
            started++;
        else
            ids[i] = 0;
    }
    for (int i = 0; i < count; i++)
        if (ids[i] != 0)
            pthread_join(ids[i], NULL);
    free(ids);
    return started == count ? 0 : 1;
}

/* A P-256 public key: decoding it fetches what decoding an account key
 * and verifying a TLS peer need. */
static const char warm_key[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYaBS6DCUIFhCGr1fvMc39ebmVHTt\n"
    "ixQlgffWOmmNQLLSqc5TYm/TJkB+2m+jN5QABRqLMcAp2GuHV98+KY6dmw==\n"
    "-----END PUBLIC KEY-----\n";

void netproc_prepare(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
    SSL_CTX_free(SSL_CTX_new(TLS_client_method()));
    BIO *bio = BIO_new_mem_buf(warm_key, (int)sizeof(warm_key) - 1);
    EVP_PKEY_free(bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL);
    BIO_free(bio);
}

int netproc_main(const int *root_fds, const int *key_fds, int count,
                 const privdrop_t *drop, uid_t uid, gid_t gid)
{
    char why[256];
    privdrop_result_t dropped;
    netproc_t np;
    memset(&np, 0, sizeof(np));
    trap_signals();
    /* Before the files go (root did it before the fork: at once). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    if (privdrop_apply(&dropped, drop, uid, gid, why, sizeof(why)) != 0) {
        fprintf(stderr, "expacmectl network process: %s\n", why);
        return 1;
    }
    np.interrupted = &interrupted;
    np.pool = own_pool_create();
    if (np.pool == NULL || pthread_mutex_init(&np.views_lock, NULL) != 0)
        return 1;
    np.views = apr_hash_make(np.pool);
    netproc_test_escape(&dropped);
    return start(&np, root_fds, key_fds, count);
}
