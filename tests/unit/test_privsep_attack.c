/* test_privsep_attack.c — attacks on the process split (SPEC §10), found
 * by an adversarial review: each check states what must hold against a
 * compromised network process (or a hostile CA).
 *
 * Root's side (net_session.c) is compiled in here with net_start.c's
 * functions stubbed, and a forked child plays a compromised network
 * process on the other end of a socketpair.  The key process is the real
 * one (keyproc_main) as in test_keyproc.c. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "apr_general.h"
#include "apr_strings.h"

/* Root's side of the channel, as production compiles it. */
#include "../../helper/net/net_session.c"

#include "acme/http.h"
#include "base/redis_conn.h"
#include "redis_auth.h"
#include "base/schedule.h"
#include "crypto/crypt_chain.h"
#include "crypto/crypt_key.h"
#include "net/keyproc.h"
#include "ops/key_file.h"
#include "tap.h"

/* --- net_start.c stubbed: one channel, our socketpair --------------- */

static int stub_fd = -1;
static int gave_broken;
static pid_t stub_pid = -1;

int net_channel_take(void)
{
    return stub_fd;
}

void net_channel_give(int fd, int broken)
{
    (void)fd;
    gave_broken |= broken;
    if (broken && stub_pid > 0)
        kill(stub_pid, SIGKILL);
}

pid_t net_pid(void)
{
    return stub_pid;
}

int net_key_find(const char *id)
{
    (void)id;
    return -1;
}

int net_key_load(const char *id, int kind, const void *bytes, apr_size_t len,
                 const char **err)
{
    (void)id, (void)kind, (void)bytes, (void)len, (void)err;
    return 0;
}

void net_key_drop(int slot)
{
    (void)slot;
}

apr_status_t net_key_allow(int what, const char *value, const char **err)
{
    (void)what, (void)value, (void)err;
    return APR_SUCCESS;
}

/* --- a compromised network process ---------------------------------- */

typedef void (*evil_fn)(int fd, apr_pool_t *pool);

static int root_end;

static void evil_start(evil_fn fn)
{
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    stub_pid = fork();
    if (stub_pid == 0) {
        apr_pool_t *pool = NULL;
        close(sv[0]);
        signal(SIGTERM, SIG_IGN); /* it is compromised: it ignores root */
        apr_pool_create(&pool, NULL);
        wire_in_t in;
        wire_recv(&in, sv[1], NET_FRAME_MAX, -1, pool); /* NET_OPEN */
        fn(sv[1], pool);
        _exit(0);
    }
    close(sv[1]);
    stub_fd = root_end = sv[0];
}

static void evil_stop(void)
{
    kill(stub_pid, SIGKILL);
    waitpid(stub_pid, NULL, 0);
    close(root_end);
    stub_pid = -1;
}

static void send_progress(int fd, const char *line, apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, NET_PROGRESS, pool);
    wire_put_str(&w, line);
    wire_send(fd, &w);
}

#define ESCAPES                                                                \
    "\x1b]0;owned\x07\x1b[2J\x1b[1;1H\rexpacmectl: certificate deployed\n"     \
    "EXP00000: forged log line"

static void evil_escapes(int fd, apr_pool_t *pool)
{
    send_progress(fd, ESCAPES, pool);
    net_wire_send_failed(fd, APR_EGENERAL, ESCAPES, NULL, pool);
    pause();
}

/* Half a frame header, then nothing, for ever. */
static void evil_half_frame(int fd, apr_pool_t *pool)
{
    (void)pool;
    send(fd, "\0\0N", 3, 0);
    for (;;)
        pause();
}

/* Progress for ever, never the answer. */
static void evil_chatter(int fd, apr_pool_t *pool)
{
    for (;;) {
        send_progress(fd, "still working", pool);
        usleep(100 * 1000);
    }
}

#define FLOOD_FRAMES 1500
static void evil_flood(int fd, apr_pool_t *pool)
{
    char *line = apr_palloc(pool, NET_STR_MAX);
    memset(line, 'A', NET_STR_MAX - 1);
    line[NET_STR_MAX - 1] = '\0';
    for (int i = 0; i < FLOOD_FRAMES; i++)
        send_progress(fd, line, pool);
    net_wire_send_failed(fd, APR_EGENERAL, "done", NULL, pool);
    pause();
}

/* --- root, calling --------------------------------------------------- */

static volatile int interrupted;
static char *seen_progress;

static void record_progress(void *baton, const char *fmt, ...)
{
    va_list ap;
    (void)baton;
    va_start(ap, fmt);
    char buf[NET_STR_MAX + 1];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    free(seen_progress);
    seen_progress = strdup(buf);
}

typedef struct {
    apr_pool_t *pool;
    volatile int finished;
    apr_status_t rv;
    const char *err;
} opener_t;

static void *open_thread(void *arg)
{
    opener_t *o = arg;
    net_session_t *s = NULL;
    net_open_t opt = {"https://ca.example/dir", NULL, 5,           30, 0,
                      record_progress,          NULL, &interrupted};
    o->rv = net_session_open(&s, &opt, &o->err, o->pool);
    o->finished = 1;
    return NULL;
}

/* Runs net_session_open against fn; 1 when it returned within ms. */
static int open_against(evil_fn fn, opener_t *o, int ms)
{
    pthread_t t;
    memset(o, 0, sizeof(*o));
    apr_pool_create(&o->pool, NULL);
    evil_start(fn);
    pthread_create(&t, NULL, open_thread, o);
    for (int waited = 0; waited < ms && !o->finished; waited += 50)
        usleep(50 * 1000);
    int finished = o->finished;
    evil_stop(); /* EOF: a stuck root gets unstuck now */
    pthread_join(t, NULL);
    return finished;
}

static int has_control(const char *s)
{
    for (; s != NULL && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static long rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    fclose(f);
    return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void root_side(void)
{
    opener_t o;

    open_against(evil_escapes, &o, 3000);
    ok(seen_progress != NULL && !has_control(seen_progress),
       "a progress line from the network process reaches root's "
       "stderr without control characters");
    ok(o.err != NULL && !has_control(o.err),
       "a NET_FAILED error reaches root (cli_fail: stderr, log, JSON) "
       "without control characters");

    interrupted = 1; /* root has had SIGTERM */
    ok(open_against(evil_half_frame, &o, 3000),
       "root, interrupted, gives up on a network process that sent "
       "half a frame header and stopped");
    ok(open_against(evil_chatter, &o, 8000),
       "root, interrupted, gives up on a network process that ignores "
       "SIGTERM and only sends progress");
    interrupted = 0;

    long before = rss_kb();
    int finished = open_against(evil_flood, &o, 60000);
    long grown = rss_kb() - before;
    printf("# flood of %d progress frames: root grew by %ld KiB\n",
           FLOOD_FRAMES, grown);
    ok(finished, "the flood ended (root answered)");
#ifdef __SANITIZE_ADDRESS__
    (void)grown; /* ASan's quarantine keeps what is freed */
    ok(1, "progress frames do not pile up in root's memory # SKIP ASan");
#else
    ok(grown < 16 * 1024, "progress frames do not pile up in root's memory");
#endif
    apr_pool_destroy(o.pool);
}

/* --- the key process -------------------------------------------------- */

static int control[2], signfd[2];
static pid_t key_child;

static void key_start(void)
{
    socketpair(AF_UNIX, SOCK_STREAM, 0, control);
    socketpair(AF_UNIX, SOCK_STREAM, 0, signfd);
    key_child = fork();
    if (key_child == 0) {
        close(control[0]);
        close(signfd[0]);
        privdrop_t drop = {NULL, NULL, 1, 0};
        int fds[1] = {signfd[1]};
        _exit(keyproc_main(control[1], fds, 1, &drop, 0, 0));
    }
    close(control[1]);
    close(signfd[1]);
}

static void key_process(apr_pool_t *pool)
{
    wire_out_t w;
    wire_in_t in;
    key_start();
    /* The network side begins a KEY_SIGN frame and stops. */
    send(signfd[0], "\0\0K", 3, 0);
    usleep(100 * 1000);
    wire_begin(&w, KEY_LOAD, pool);
    wire_put_int(&w, 1);
    wire_put_int(&w, KEY_KIND_HMAC);
    wire_put_bytes(&w, "secret", 6);
    apr_status_t rv = wire_send(control[0], &w);
    if (rv == APR_SUCCESS)
        rv = wire_recv(&in, control[0], 4096, 3000, pool);
    ok(rv == APR_SUCCESS && in.type == KEY_DONE,
       "root's KEY_LOAD is answered while the network side holds half "
       "a frame on its sign channel");
    close(signfd[0]);
    close(control[0]);
    kill(key_child, SIGKILL);
    waitpid(key_child, NULL, 0);
}

/* --- keys root holds when it forks ----------------------------------- */

static int find(const unsigned char *hay, size_t n, const unsigned char *x,
                size_t len, int xor)
{
    for (size_t i = 0; i + len <= n; i++) {
        size_t k = 0;
        while (k < len && hay[i + k] == (unsigned char)(x[k] ^ xor))
            k++;
        if (k == len)
            return 1;
    }
    return 0;
}

/* In the child: the writable private mappings (heap, anonymous), the
 * stack left out, searched for the masked needle. */
static int memory_holds(const unsigned char *masked, size_t len)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    while (maps != NULL && !found && fgets(line, sizeof(line), maps)) {
        unsigned long lo = 0, hi = 0;
        char perms[8] = "";
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 ||
            strncmp(perms, "rw", 2) != 0 || strstr(line, "[stack") ||
            strstr(line, "[vvar") || strstr(line, "[vsyscall"))
            continue;
        found = find((const unsigned char *)lo, hi - lo, masked, len, 0x5a);
    }
    if (maps != NULL)
        fclose(maps);
    return found;
}

/* 1 when a child forked now finds the masked needle in its memory. */
static int child_finds(const unsigned char *masked, size_t len)
{
    pid_t pid = fork(); /* as fork_net() does: no exec, same memory */
    if (pid == 0)
        _exit(memory_holds(masked, len) ? 3 : 0);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 3;
}

static void fork_after_key(apr_pool_t *parent)
{
#ifdef __SANITIZE_ADDRESS__
    /* The scan reads every mapping, ASan's shadow memory too. */
    (void)parent;
    ok(1, "premise: a process forked after a key was loaded holds it # SKIP "
          "ASan");
    ok(1, "control: forked after the key is freed # SKIP ASan");
    return;
#endif
    EVP_PKEY *key = NULL, *loaded = NULL;
    const char *err = NULL;
    crypt_key_type_t type;
    apr_pool_t *made = NULL, *pool = NULL;
    char path[] = "/tmp/privsep-attack-XXXXXX";
    close(mkstemp(path));
    /* The key is made and saved in a pool that is gone before the test:
     * only the copy key_file_load() makes is left. */
    apr_pool_create(&made, parent);
    crypt_key_type_parse(&type, "ec256", &err, made);
    crypt_key_generate(&key, type, &err, made);
    key_file_save(key, path, &err, made);
    apr_pool_destroy(made);
    /* sign.c load_csr(): key.pem is loaded before provider_connect()
     * (sign.c:497 then :510), which forks the network process. */
    apr_pool_create(&pool, parent);
    if (key_file_load(&loaded, path, &err, pool) != APR_SUCCESS) {
        ok(0, "the key loads");
        return;
    }
    unlink(path);
    /* The private scalar as OpenSSL keeps it (BIGNUM limbs, little
     * endian on this machine), masked so that only the key's own copy
     * can match. */
    BIGNUM *priv = NULL;
    unsigned char d[32];
    EVP_PKEY_get_bn_param(loaded, OSSL_PKEY_PARAM_PRIV_KEY, &priv);
    BN_bn2lebinpad(priv, d, sizeof(d));
    BN_clear_free(priv);
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] ^= 0x5a;
    /* Why root forks the two processes first (ops_net_early), before an
     * operation reads a key: a fork after it would hold the key. */
    ok(child_finds(d, sizeof(d)),
       "premise: a process forked after a key was loaded holds it");
    apr_pool_destroy(pool); /* frees (and clears) the EVP_PKEY */
    ok(!child_finds(d, sizeof(d)),
       "control: forked after the key is freed, the child does not find it "
       "(the scan finds the live key only)");
}

/* --- Retry-After from the network process, kept by renew ------------ */

/* net_wire.c:45 accepts a problem's retry_after up to 2^40 s; renew.c
 * note_failure() makes it next_attempt as is; schedule_decide() then
 * waits even past the certificate's expiry. */
static void retry_after_forever(void)
{
    apr_int64_t now = 1800000000;
    schedule_conf_t conf = {1, 0x7f, 0};
    schedule_facts_t f;
    schedule_decision_t d;
    memset(&f, 0, sizeof(f));
    f.has_csr = 1;
    f.has_deployed = 1;
    f.not_before = now - 89 * 86400;
    f.not_after = now + 600; /* ten minutes left */
    f.failures = 1;
    f.next_attempt = now + (1LL << 40); /* a hostile Retry-After */
    schedule_decide(&d, &conf, &f, now);
    ok(d.action == SCHEDULE_SIGN,
       "a certificate ten minutes from expiry is renewed despite a "
       "Retry-After of 34,000 years");
    printf("# decision: %s\n", d.why);
    /* Not only a compromised network process: a hostile (or broken) CA's
     * Retry-After as an HTTP-date has no upper bound (http.c:315; the
     * delta-seconds form is capped at 366 days, still past expiry). */
    long r = http_retry_after_seconds("Fri, 31 Dec 9999 23:59:59 GMT",
                                      apr_time_from_sec(now));
    printf("# Retry-After: Fri, 31 Dec 9999 23:59:59 GMT -> %ld s\n", r);
    f.next_attempt = now + r;
    schedule_decide(&d, &conf, &f, now);
    ok(r <= 366L * 86400 && d.action == SCHEDULE_SIGN,
       "a CA's Retry-After of year 9999 does not stop the renewal of a "
       "certificate ten minutes from expiry");
}

/* --- publish and withdraw on the network process's word ------------- */

static int publishes, withdraws;

static apr_status_t count_publish(void *baton, const apr_array_header_t *list,
                                  apr_int64_t expires, const char **err,
                                  apr_pool_t *pool)
{
    (void)baton, (void)list, (void)expires, (void)err, (void)pool;
    publishes++;
    return APR_SUCCESS;
}

static apr_status_t count_withdraw(void *baton, const apr_array_header_t *list,
                                   const char **err, apr_pool_t *pool)
{
    (void)baton, (void)list, (void)err, (void)pool;
    withdraws++;
    return APR_SUCCESS;
}

static void send_opened(int fd, apr_pool_t *pool)
{
    wire_out_t w;
    wire_begin(&w, NET_OPENED, pool);
    for (int i = 0; i < 3; i++) /* terms, renewalInfo, revokeCert */
        wire_put_str(&w, NULL);
    wire_send(fd, &w);
}

static void ask_publish(int fd, const char *token, apr_pool_t *pool)
{
    wire_out_t w;
    wire_in_t in;
    apr_array_header_t *list =
        apr_array_make(pool, 1, sizeof(acme_challenge_t));
    acme_challenge_t *c = apr_array_push(list);
    c->type = "http-01";
    c->host = c->name = "www.example.org";
    c->token = token;
    c->keyauth = apr_pstrcat(pool, token, ".THUMB", NULL);
    wire_begin(&w, NET_PUBLISH, pool);
    wire_put_int(&w, (apr_int64_t)time(NULL) + 600); /* within the order's */
    net_wire_put_challenges(&w, list);
    wire_send(fd, &w);
    wire_recv(&in, fd, 65536, 5000, pool); /* NET_PUBLISHED */
}

static void ask_withdraw(int fd, apr_pool_t *pool)
{
    wire_out_t w;
    wire_in_t in;
    wire_begin(&w, NET_WITHDRAW, pool);
    wire_send(fd, &w);
    wire_recv(&in, fd, 65536, 5000, pool);
}

static const char *evil_mode;

static void evil_publisher(int fd, apr_pool_t *pool)
{
    wire_in_t in;
    send_opened(fd, pool);
    wire_recv(&in, fd, NET_FRAME_MAX, -1, pool); /* NET_ORDER */
    if (strcmp(evil_mode, "twice") == 0) {
        ask_publish(fd, "tokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", pool);
        ask_publish(fd, "tokenBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", pool);
    } else {
        ask_withdraw(fd, pool);
        ask_withdraw(fd, pool);
    }
    net_wire_send_failed(fd, APR_EGENERAL, "failed", NULL, pool);
    pause();
}

static void order_against(const char *mode, apr_pool_t *parent)
{
    apr_pool_t *pool = NULL;
    net_session_t *s = NULL;
    const char *err = NULL;
    acme_order_result_t res;
    apr_pool_create(&pool, parent);
    publishes = withdraws = 0;
    evil_mode = mode;
    evil_start(evil_publisher);
    net_open_t opt = {
        "https://ca.example/dir", NULL, 5, 30, 0, NULL, NULL, &interrupted};
    if (net_session_open(&s, &opt, &err, pool) == APR_SUCCESS) {
        apr_array_header_t *names = apr_array_make(pool, 1, sizeof(char *));
        APR_ARRAY_PUSH(names, const char *) = "www.example.org";
        acme_publisher_t pub = {count_publish, count_withdraw, NULL};
        /* The CSR as root sends it (NET_ORDER carries the DER), so that
         * the order reaches the network process. */
        net_order_t o = {names, "THUMB", NULL, NULL,      NULL,
                         60,    NULL,    &pub, "MIIBY3Ny"};
        net_order_run(&res, s, &o, &err, pool);
    }
    evil_stop();
    apr_pool_destroy(pool);
}

static void publish_withdraw(apr_pool_t *pool)
{
    order_against("twice", pool);
    printf("# two NET_PUBLISH: root published %d times, withdrew %d\n",
           publishes, withdraws);
    ok(publishes == 1,
       "root publishes the first NET_PUBLISH and refuses the second");
    order_against("withdraw", pool);
    printf("# NET_WITHDRAW with nothing published: withdrew %d\n", withdraws);
    ok(withdraws == 0 && publishes == 0,
       "root ignores NET_WITHDRAW when this order published nothing");
}

/* --- a hostile CA's account, relayed as the network process does ------ */

/* netproc_run.c:198 sends the CA's account "status" whatever its length;
 * root's read_account() (net_session.c:313) caps it at 64 bytes and,
 * refusing it, gives the channel up as broken: the network process is
 * SIGKILLed and every other order of the run (other certificates, other
 * CAs) fails with it. */

static void hostile_account(apr_pool_t *pool)
{
    char status[101];
    memset(status, 'v', 100);
    status[100] = '\0';
    wire_out_t w; /* as send_account() builds it */
    wire_begin(&w, NET_ACCOUNT, pool);
    wire_put_str(&w, "https://ca.example/acct/1");
    wire_put_str(&w, status);
    net_wire_put_strings(&w, NULL);
    wire_in_t in;
    memset(&in, 0, sizeof(in));
    in.type = NET_ACCOUNT;
    in.body = w.buf + 8;
    in.len = w.len - 8;
    net_session_t s;
    memset(&s, 0, sizeof(s));
    s.fd = 99;
    json_t *account = NULL;
    const char *url = NULL, *err = NULL;
    stub_pid = -1;
    gave_broken = 0;
    apr_status_t rv = read_account(&account, &url, &s, &in, &err, pool);
    ok(rv == APR_SUCCESS && !gave_broken,
       "a CA account whose status is 100 bytes long, as the network "
       "process relays it, does not make root kill the network process");
}

/* --- the Redis password, after the pre-flight, at the fork ------------- */

/* sign_run(): run_checks() (the pre-flight publishes a probe through the
 * store: preflight.c:78, AUTH with the password) comes before
 * provider_connect() forks the network process (sign.c:497 vs :510).
 * redis_auth_clear() wipes the struct, but hiredis's command buffers that
 * carried "AUTH password" are freed unwiped.  Run with
 * EXPACME_ATTACK_REDIS_URL and _AUTH (a redis-server with requirepass; the
 * password in EXPACME_ATTACK_REDIS_PASSWORD). */
static void redis_password_at_fork(apr_pool_t *parent)
{
#ifdef __SANITIZE_ADDRESS__
    (void)parent;
    return; /* the scan, as above */
#endif
    const char *url = getenv("EXPACME_ATTACK_REDIS_URL");
    const char *auth = getenv("EXPACME_ATTACK_REDIS_AUTH");
    const char *password = getenv("EXPACME_ATTACK_REDIS_PASSWORD");
    if (url == NULL || auth == NULL || password == NULL) {
        printf("# skipped: the Redis password at the fork (no Redis)\n");
        return;
    }
    apr_pool_t *pool = NULL;
    apr_pool_create(&pool, parent);
    unsigned char masked[REDIS_AUTH_PASSWORD_MAX];
    size_t len = strlen(password);
    for (size_t i = 0; i < len && i < sizeof(masked); i++)
        masked[i] = (unsigned char)password[i] ^ 0x5a;
    unsetenv("EXPACME_ATTACK_REDIS_PASSWORD"); /* the environment too */
    redis_conn_t *conn = NULL;
    const char *err = NULL;
    apr_status_t rv = redis_conn_open(&conn, url, auth, &err, pool);
    ok(rv == APR_SUCCESS, "root authenticates to the Redis store");
    if (rv == APR_SUCCESS)
        redis_conn_close(conn);
    apr_pool_destroy(pool);
    /* Why sign_run forks the two processes before its pre-flight: freed
     * hiredis buffers keep the password. */
    ok(child_finds(masked, len),
       "premise: a process forked after a Redis AUTH holds the password");
}

/* --- the chain root stages on the network process's word ------------- */

/* sign.c check_chain() -> crypt_chain_verify(): the leaf's key and names,
 * and that each certificate is signed by the next; no trust anchor and no
 * validity dates.  A compromised network process answers NET_ORDERED with
 * a certificate it made itself for the CSR's key: here self-signed and
 * expired a day ago. */
static void forged_chain(apr_pool_t *pool)
{
    EVP_PKEY *key = NULL;
    const char *err = NULL;
    crypt_key_type_t type;
    crypt_key_type_parse(&type, "ec256", &err, pool);
    crypt_key_generate(&key, type, &err, pool);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               (const unsigned char *)"www.example.org", -1, -1,
                               0);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -90L * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x), -86400); /* expired yesterday */
    X509_set_pubkey(x, key);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
                                              "DNS:www.example.org");
    X509_add_ext(x, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(x, key, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);
    const char *pem = apr_pstrmemdup(pool, data, (apr_size_t)len);
    BIO_free(b);
    X509_free(x);
    apr_array_header_t *names = apr_array_make(pool, 1, sizeof(char *));
    APR_ARRAY_PUSH(names, const char *) = "www.example.org";
    apr_array_header_t *chain = NULL;
    apr_status_t rv = crypt_chain_parse(&chain, pem, strlen(pem), &err, pool);
    if (rv == APR_SUCCESS)
        rv = crypt_chain_verify(chain, key, names, &err, pool);
    /* sign.c's check_chain, after the links: the dates */
    if (rv == APR_SUCCESS)
        rv =
            crypt_chain_check_dates(chain, (apr_int64_t)time(NULL), &err, pool);
    ok(rv != APR_SUCCESS,
       "root refuses to stage a self-made, expired certificate that the "
       "network process returns for the CSR's key");
}

int main(void)
{
    apr_pool_t *pool = NULL;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    signal(SIGPIPE, SIG_IGN);
    fork_after_key(pool);
    key_process(pool);
    root_side();
    retry_after_forever();
    publish_withdraw(pool);
    hostile_account(pool);
    redis_password_at_fork(pool);
    forged_chain(pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
