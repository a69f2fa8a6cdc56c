/* redis_store.c — challenge lookups in Redis (see redis_store.h for the
 * connection and window design, common/redis_layout.h for the keys). */
#include "redis_store.h"
#include "mod_expacme.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "apr_network_io.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "http_log.h"

APLOG_USE_MODULE(expacme);

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
/* Configuration time may wait longer than a request: a Redis that is
 * merely slow to accept must not fail a configtest. */
#define CHECK_TIMEOUT_MS 1000
/* Our replies are an integer and a short string; more is garbage. */
#define REPLY_MAX (64 * 1024)
#define MAX_COMMANDS 2
#define MAX_ARGS 8

typedef struct conn {
    redisContext *ctx;
    struct conn *next;
} conn_t;

typedef struct {
    int argc;
    const char *argv[MAX_ARGS];
    size_t len[MAX_ARGS];
} command_t;

/* Why an exchange failed, for the log; auth says Redis refused us. */
typedef struct {
    char text[256];
    int auth;
    int backoff; /* no attempt made: the child is backing off */
    int stale;   /* a reused connection the server had closed */
} failure_t;

static struct {
    const expacme_redis_conf_t *conf;
    apr_pool_t *pool; /* the child's: connection wrappers, under mutex */
    apr_thread_mutex_t *mutex;
    conn_t *idle;  /* connected and authenticated, ready for reuse */
    conn_t *spare; /* wrappers without a connection */
    int backoff_ms;
    char last_failure[128];   /* what failed last, for the backoff's reports */
    _Atomic int64_t retry_at; /* 0: up; else no new connection before */
    /* The open signal as last read, under mutex: when it was asked
     * (monotonic ms, 0: never) and until when the window is open (epoch
     * seconds, the highest score; 0: closed). */
    int64_t open_checked;
    int64_t open_until;
    _Atomic int64_t logged_at;
    _Atomic unsigned suppressed;
} proc;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int timeout_ms(const expacme_redis_conf_t *conf)
{
    return conf->timeout_ms > 0 ? conf->timeout_ms
                                : REDIS_STORE_DEFAULT_TIMEOUT_MS;
}

static const char *where_text(apr_pool_t *p, const expacme_redis_conf_t *conf)
{
    if (conf->where.socket[0] != '\0')
        return apr_pstrcat(p, "unix:", conf->where.socket, NULL);
    return apr_psprintf(p, strchr(conf->where.host, ':') ? "[%s]:%d" : "%s:%d",
                        conf->where.host, conf->where.port);
}

static void fail_text(failure_t *f, const char *what, const char *detail)
{
    snprintf(f->text, sizeof(f->text), "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
}

/* --- non-blocking exchanges with one deadline ----------------------------- */

static int wait_fd(int fd, short events, int64_t deadline, failure_t *f)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            fail_text(f, "timed out", NULL);
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            fail_text(f, "poll", strerror(errno));
            return -1;
        }
    }
}

static int send_all(redisContext *c, int64_t deadline, failure_t *f)
{
    int done = 0;
    while (!done) {
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            fail_text(f, "write", c->errstr);
            return -1;
        }
        if (!done && wait_fd(c->fd, POLLOUT, deadline, f) != 0)
            return -1;
    }
    return 0;
}

static int receive_one(redisContext *c, redisReply **reply, int64_t deadline,
                       failure_t *f)
{
    for (;;) {
        void *r = NULL;
        if (redisGetReplyFromReader(c, &r) != REDIS_OK) {
            fail_text(f, "unreadable reply", c->errstr);
            return -1;
        }
        if (r != NULL) {
            *reply = r;
            return 0;
        }
        if (wait_fd(c->fd, POLLIN, deadline, f) != 0)
            return -1;
        if (redisBufferRead(c) != REDIS_OK) {
            f->stale = c->err == REDIS_ERR_EOF || c->err == REDIS_ERR_IO;
            fail_text(f, "read", c->errstr);
            return -1;
        }
        if (c->reader->len > REPLY_MAX) {
            fail_text(f, "reply larger than 64 KiB", NULL);
            return -1;
        }
    }
}

/* Sends n commands in one write and reads their n replies: one round
 * trip.  On failure no reply is left to free and the connection is
 * unusable (its stream may be out of step). */
static int exchange(redisContext *c, command_t *cmds, int n,
                    redisReply **replies, int64_t deadline, failure_t *f)
{
    for (int i = 0; i < n; i++) {
        replies[i] = NULL;
        if (redisAppendCommandArgv(c, cmds[i].argc, cmds[i].argv,
                                   cmds[i].len) != REDIS_OK) {
            fail_text(f, "command", c->errstr);
            return -1;
        }
    }
    if (send_all(c, deadline, f) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        if (receive_one(c, &replies[i], deadline, f) != 0) {
            for (int j = 0; j < i; j++)
                freeReplyObject(replies[j]);
            return -1;
        }
    }
    return 0;
}

static void command_arg(command_t *cmd, const char *s, size_t len)
{
    if (cmd->argc == MAX_ARGS)
        return; /* every command here is fixed and shorter */
    cmd->argv[cmd->argc] = s;
    cmd->len[cmd->argc] = len;
    cmd->argc++;
}

static void command_word(command_t *cmd, const char *s)
{
    command_arg(cmd, s, strlen(s));
}

/* --- connecting ------------------------------------------------------------
 */

static int auth_exchange(redisContext *c, const expacme_redis_conf_t *conf,
                         int64_t deadline, failure_t *f)
{
    command_t cmd = {0};
    command_word(&cmd, "AUTH");
    if (conf->auth->user[0] != '\0')
        command_word(&cmd, conf->auth->user);
    command_word(&cmd, conf->auth->password);
    redisReply *reply = NULL;
    if (exchange(c, &cmd, 1, &reply, deadline, f) != 0)
        return -1;
    int ok = reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0;
    if (!ok) {
        /* The error names the cause (WRONGPASS, no password set, ...);
         * it never repeats the password. */
        f->auth = 1;
        fail_text(f, "Redis refused our credentials",
                  reply->type == REDIS_REPLY_ERROR ? reply->str
                                                   : "unexpected reply");
    }
    freeReplyObject(reply);
    return ok ? 0 : -1;
}

static redisContext *connect_auth(const expacme_redis_conf_t *conf,
                                  int64_t deadline, failure_t *f)
{
    redisContext *c =
        conf->where.socket[0] != '\0'
            ? redisConnectUnixNonBlock(conf->where.socket)
            : redisConnectNonBlock(conf->address, conf->where.port);
    if (c == NULL) {
        fail_text(f, "connect", "out of memory");
        return NULL;
    }
    if (c->err != 0) {
        fail_text(f, "connect", c->errstr);
        redisFree(c);
        return NULL;
    }
    /* The connect completes (or fails) under the first write's poll. */
    if (auth_exchange(c, conf, deadline, f) != 0) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* --- the per-child connection list and backoff -----------------------------
 */

static conn_t *take_idle(void)
{
    apr_thread_mutex_lock(proc.mutex);
    conn_t *c = proc.idle;
    if (c != NULL)
        proc.idle = c->next;
    apr_thread_mutex_unlock(proc.mutex);
    return c;
}

static void conn_put(conn_t *c)
{
    apr_thread_mutex_lock(proc.mutex);
    c->next = proc.idle;
    proc.idle = c;
    apr_thread_mutex_unlock(proc.mutex);
}

static void conn_drop(conn_t *c)
{
    redisFree(c->ctx);
    c->ctx = NULL;
    apr_thread_mutex_lock(proc.mutex);
    c->next = proc.spare;
    proc.spare = c;
    apr_thread_mutex_unlock(proc.mutex);
}

/* The idle connections go too: they lead to the same server, which just
 * failed (restarted, frozen), and each would cost a request a timeout. */
static void drop_idle(void)
{
    conn_t *c = NULL;
    apr_thread_mutex_lock(proc.mutex);
    c = proc.idle;
    proc.idle = NULL;
    apr_thread_mutex_unlock(proc.mutex);
    while (c != NULL) {
        conn_t *next = c->next;
        conn_drop(c);
        c = next;
    }
}

static void mark_down(const failure_t *f)
{
    apr_thread_mutex_lock(proc.mutex);
    apr_cpystrn(proc.last_failure, f->text, sizeof(proc.last_failure));
    proc.backoff_ms =
        proc.backoff_ms == 0 ? BACKOFF_MIN_MS : proc.backoff_ms * 2;
    if (proc.backoff_ms > BACKOFF_MAX_MS)
        proc.backoff_ms = BACKOFF_MAX_MS;
    atomic_store(&proc.retry_at, mono_ms() + proc.backoff_ms);
    apr_thread_mutex_unlock(proc.mutex);
    drop_idle();
}

static void mark_up(request_rec *r)
{
    if (atomic_load(&proc.retry_at) == 0)
        return;
    apr_thread_mutex_lock(proc.mutex);
    proc.backoff_ms = 0;
    atomic_store(&proc.retry_at, 0);
    apr_thread_mutex_unlock(proc.mutex);
    /* The next outage is reported at once, not an interval later. */
    unsigned more = atomic_exchange(&proc.suppressed, 0);
    if (atomic_exchange(&proc.logged_at, 0) != 0)
        ap_log_rerror(
            APLOG_MARK, APLOG_NOTICE, 0, r,
            EXPLOGNO(01032) "challenge store %s answers again "
                            "(%u more failed lookups in this process since the "
                            "last report)",
            proc.conf->url, more);
}

static conn_t *wrap(redisContext *ctx)
{
    /* Wrappers are recycled: at most one per thread that ever held a
     * connection, so the child pool does not grow with requests. */
    apr_thread_mutex_lock(proc.mutex);
    conn_t *c = proc.spare;
    if (c != NULL)
        proc.spare = c->next;
    else
        c = apr_pcalloc(proc.pool, sizeof(*c));
    apr_thread_mutex_unlock(proc.mutex);
    c->ctx = ctx;
    c->next = NULL;
    return c;
}

/* A new connection, unless the child is backing off; while it is, only
 * the one request that wins the retry time probes. */
static conn_t *conn_new(request_rec *r, int64_t deadline, failure_t *f)
{
    int64_t retry = atomic_load(&proc.retry_at);
    if (retry != 0) {
        int64_t now = mono_ms();
        if (now < retry || !atomic_compare_exchange_strong(
                               &proc.retry_at, &retry, now + BACKOFF_MAX_MS)) {
            f->backoff = 1;
            apr_thread_mutex_lock(proc.mutex);
            fail_text(f, "backing off after", proc.last_failure);
            apr_thread_mutex_unlock(proc.mutex);
            return NULL;
        }
    }
    redisContext *ctx = connect_auth(proc.conf, deadline, f);
    if (ctx == NULL) {
        mark_down(f);
        return NULL;
    }
    mark_up(r);
    return wrap(ctx);
}

/* --- logging, once per interval ---------------------------------------------
 */

static void log_failure(request_rec *r, const failure_t *f)
{
    int64_t now = mono_ms();
    int64_t last = atomic_load(&proc.logged_at);
    if ((last != 0 && now - last < REDIS_STORE_LOG_INTERVAL_MS) ||
        !atomic_compare_exchange_strong(&proc.logged_at, &last, now)) {
        atomic_fetch_add(&proc.suppressed, 1);
        /* Every one with LogLevel expacme:debug. */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "challenge store %s unavailable: %s", proc.conf->url,
                      ap_escape_logitem(r->pool, f->text));
        return;
    }
    unsigned more = atomic_exchange(&proc.suppressed, 0);
    ap_log_rerror(
        APLOG_MARK, APLOG_WARNING, 0, r,
        EXPLOGNO(01031) "challenge store %s (%s) unavailable: %s; "
                        "challenge requests get 404 until it answers (%u more "
                        "failed lookups in this process since the last report; "
                        "the next in %d s at the earliest)",
        proc.conf->url, where_text(r->pool, proc.conf),
        ap_escape_logitem(r->pool, f->text), more,
        REDIS_STORE_LOG_INTERVAL_MS / 1000);
}

/* Runs the commands on a reused or new connection.  A reused connection
 * the server closed meanwhile (Redis restarted) gets one fresh retry
 * within the same deadline, so a restart costs no request. */
static int run(request_rec *r, command_t *cmds, int n, redisReply **replies,
               int64_t deadline)
{
    failure_t f = {{0}, 0, 0, 0};
    conn_t *c = take_idle();
    int reused = c != NULL;
    if (c == NULL)
        c = conn_new(r, deadline, &f);
    while (c != NULL) {
        if (exchange(c->ctx, cmds, n, replies, deadline, &f) == 0) {
            conn_put(c);
            return 0;
        }
        conn_drop(c);
        c = NULL;
        if (reused && f.stale) {
            reused = 0;
            drop_idle();
            c = conn_new(r, deadline, &f);
        } else {
            mark_down(&f);
        }
    }
    log_failure(r, &f);
    return -1;
}

/* --- the lookup
 * --------------------------------------------------------------- */

static int reply_error(request_rec *r, redisReply **replies, int n)
{
    for (int i = 0; i < n; i++) {
        if (replies[i]->type == REDIS_REPLY_ERROR) {
            failure_t f;
            fail_text(&f, "Redis answered an error", replies[i]->str);
            log_failure(r, &f);
            return 1;
        }
    }
    return 0;
}

/* An HGET reply: 1 when it holds a live entry (copied to keyauth). */
static int entry_found(request_rec *r, const redisReply *reply, char *keyauth,
                       size_t size, size_t *len)
{
    int64_t expires = 0;
    const char *ka = NULL;
    size_t ka_len = 0;
    if (reply->type == REDIS_REPLY_NIL)
        return 0;
    if (reply->type != REDIS_REPLY_STRING ||
        redis_layout_challenge_parse(reply->str, reply->len, &expires, &ka,
                                     &ka_len) != 0 ||
        ka_len >= size) {
        failure_t f;
        fail_text(&f, "a challenge entry that is not in our layout", NULL);
        log_failure(r, &f);
        return 0;
    }
    if (expires <= (int64_t)apr_time_sec(r->request_time))
        return 0;
    memcpy(keyauth, ka, ka_len);
    keyauth[ka_len] = '\0';
    *len = ka_len;
    return 1;
}

/* What the keys of one lookup are built into. */
typedef struct {
    char open_key[REDIS_LAYOUT_KEY_MAX];
    char now[24];
    char key[REDIS_LAYOUT_KEY_MAX];
    char field[TOKEN_RULES_HOST_MAX + 1];
} lookup_args_t;

/* The open signal: the highest score of PREFIX:open above now, so the
 * answer says until when the window is open, not only whether. */
static void window_command(command_t *c, lookup_args_t *a, const char *prefix,
                           apr_int64_t now)
{
    redis_layout_open_key(a->open_key, sizeof(a->open_key), prefix);
    snprintf(a->now, sizeof(a->now), "(%lld", (long long)now);
    c->argc = 0;
    command_word(c, "ZREVRANGEBYSCORE");
    command_word(c, a->open_key);
    command_word(c, "+inf");
    command_word(c, a->now);
    command_word(c, "WITHSCORES");
    command_word(c, "LIMIT");
    command_word(c, "0");
    command_word(c, "1");
}

static int build_commands(request_rec *r, lookup_args_t *a, int ask_open,
                          const char *token, size_t token_len, command_t *cmds)
{
    int n = 0;
    const char *prefix = proc.conf->where.prefix;
    if (ask_open)
        window_command(&cmds[n++], a, prefix, apr_time_sec(r->request_time));
    const char *host = r->hostname;
    if (token_len > 0 && host != NULL &&
        redis_layout_challenge_key(a->key, sizeof(a->key), prefix, token,
                                   token_len) > 0 &&
        redis_layout_host_field(a->field, sizeof(a->field), host,
                                strlen(host)) > 0) {
        command_t *c = &cmds[n++];
        c->argc = 0;
        command_word(c, "HGET");
        command_word(c, a->key);
        command_word(c, a->field);
    }
    return n;
}

/* The window's end from a ZREVRANGEBYSCORE ... WITHSCORES LIMIT 0 1
 * reply: 0 (closed) for an empty one, -1 for anything unexpected. */
static apr_int64_t window_until(const redisReply *reply)
{
    if (reply->type != REDIS_REPLY_ARRAY)
        return -1;
    if (reply->elements == 0)
        return 0;
    const redisReply *score = reply->element[reply->elements - 1];
    if (reply->elements != 2 || score->type != REDIS_REPLY_STRING)
        return -1;
    /* Scores are whole seconds written by a writer; "1.5" or "inf" is
     * not our layout.  hiredis terminates the string. */
    char *end = NULL;
    apr_int64_t until = apr_strtoi64(score->str, &end, 10);
    return end != score->str && *end == '\0' && until > 0 ? until : -1;
}

static void window_store(int64_t asked_at, apr_int64_t until)
{
    apr_thread_mutex_lock(proc.mutex);
    if (asked_at >= proc.open_checked) {
        proc.open_checked = asked_at;
        proc.open_until = until;
    }
    apr_thread_mutex_unlock(proc.mutex);
}

static redis_store_result_t interpret(request_rec *r, redisReply **replies,
                                      int n, int ask_open, int64_t asked_at,
                                      char *keyauth, size_t size, size_t *len)
{
    int open = 1;
    if (reply_error(r, replies, n))
        return REDIS_STORE_UNAVAILABLE;
    if (ask_open) {
        apr_int64_t until = window_until(replies[0]);
        if (until < 0) {
            failure_t f;
            fail_text(&f, "the open signal is not in our layout", NULL);
            log_failure(r, &f);
            return REDIS_STORE_UNAVAILABLE;
        }
        window_store(asked_at, until);
        open = until > apr_time_sec(r->request_time);
    }
    if (n > ask_open && entry_found(r, replies[n - 1], keyauth, size, len))
        return REDIS_STORE_FOUND;
    return open ? REDIS_STORE_NOT_FOUND : REDIS_STORE_CLOSED;
}

redis_store_result_t redis_store_lookup(request_rec *r, const char *token,
                                        size_t token_len, char *keyauth,
                                        size_t keyauth_size,
                                        size_t *keyauth_len)
{
    if (proc.conf == NULL || proc.conf->auth == NULL)
        return REDIS_STORE_UNAVAILABLE;
    int64_t start = mono_ms();
    apr_thread_mutex_lock(proc.mutex);
    int64_t checked = proc.open_checked;
    apr_int64_t until = proc.open_until;
    apr_thread_mutex_unlock(proc.mutex);
    /* A window that ends by expiry closes here at that second, exactly
     * as everywhere else; one closed by a withdrawal, within the check
     * interval. */
    int fresh = checked != 0 && start - checked < REDIS_LAYOUT_OPEN_CHECK_MS;
    if (fresh && until <= apr_time_sec(r->request_time))
        return REDIS_STORE_CLOSED;
    lookup_args_t args;
    command_t cmds[MAX_COMMANDS];
    int n = build_commands(r, &args, !fresh, token, token_len, cmds);
    if (n == 0)
        return REDIS_STORE_NOT_FOUND; /* open, and no valid token asked */
    redisReply *replies[MAX_COMMANDS];
    if (run(r, cmds, n, replies, start + timeout_ms(proc.conf)) != 0)
        return REDIS_STORE_UNAVAILABLE;
    redis_store_result_t result = interpret(r, replies, n, !fresh, start,
                                            keyauth, keyauth_size, keyauth_len);
    for (int i = 0; i < n; i++)
        freeReplyObject(replies[i]);
    return result;
}

/* --- the cluster's status reports
 * ------------------------------------------------ */

/* The status page may wait longer than a challenge: an administrator
 * reads it, no CA. */
#define PEERS_TIMEOUT_MS 1000
#define SCAN_ROUNDS_MAX 16

static void scan_keys(request_rec *r, const redisReply *keys,
                      apr_array_header_t *names)
{
    /* "PREFIX:peer:*" less its '*' is what every peer key starts with. */
    char prefix[REDIS_LAYOUT_KEY_MAX];
    size_t plen = redis_layout_peer_pattern(prefix, sizeof(prefix),
                                            proc.conf->where.prefix) -
                  1;
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (names->nelts >= REDIS_LAYOUT_PEERS_MAX)
            return;
        if (k->type != REDIS_REPLY_STRING || k->len <= plen ||
            strncmp(k->str, prefix, plen) != 0 ||
            !redis_layout_peer_valid(k->str + plen))
            continue;
        APR_ARRAY_PUSH(names, const char *) =
            apr_pstrdup(r->pool, k->str + plen);
    }
}

/* SCAN ... MATCH PREFIX:peer:*: the peers' names, or NULL. */
static apr_array_header_t *scan_peers(request_rec *r, int64_t deadline)
{
    apr_array_header_t *names = apr_array_make(r->pool, 8, sizeof(char *));
    char pattern[REDIS_LAYOUT_KEY_MAX];
    char cursor[32] = "0";
    redis_layout_peer_pattern(pattern, sizeof(pattern),
                              proc.conf->where.prefix);
    for (int round = 0; round < SCAN_ROUNDS_MAX; round++) {
        command_t cmd = {0};
        command_word(&cmd, "SCAN");
        command_word(&cmd, cursor);
        command_word(&cmd, "MATCH");
        command_word(&cmd, pattern);
        command_word(&cmd, "COUNT");
        command_word(&cmd, "1000");
        redisReply *reply = NULL;
        if (run(r, &cmd, 1, &reply, deadline) != 0)
            return NULL;
        int ok = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                 reply->element[0]->type == REDIS_REPLY_STRING &&
                 reply->element[0]->len < sizeof(cursor) &&
                 reply->element[1]->type == REDIS_REPLY_ARRAY;
        if (ok) {
            scan_keys(r, reply->element[1], names);
            apr_cpystrn(cursor, reply->element[0]->str, sizeof(cursor));
        }
        freeReplyObject(reply);
        if (!ok)
            return NULL;
        if (strcmp(cursor, "0") == 0 || names->nelts >= REDIS_LAYOUT_PEERS_MAX)
            break;
    }
    return names;
}

/* One HMGET reply into a peer; 0 when it is not in our layout (a report
 * that expired between SCAN and HMGET, say). */
static int peer_parse(request_rec *r, const redisReply *reply,
                      redis_store_peer_t *peer)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_STRING)
        return 0;
    char *end = NULL;
    peer->reported = apr_strtoi64(reply->element[0]->str, &end, 10);
    if (end == reply->element[0]->str || *end != '\0' || peer->reported < 0)
        return 0;
    peer->status =
        apr_pstrmemdup(r->pool, reply->element[1]->str, reply->element[1]->len);
    const redisReply *flat = reply->element[2];
    peer->flat = flat->type == REDIS_REPLY_STRING
                     ? apr_pstrmemdup(r->pool, flat->str, flat->len)
                     : NULL;
    return 1;
}

static int peer_compare(const void *a, const void *b)
{
    return strcmp(((const redis_store_peer_t *)a)->peer,
                  ((const redis_store_peer_t *)b)->peer);
}

apr_status_t redis_store_peers(request_rec *r, apr_array_header_t **out)
{
    *out = apr_array_make(r->pool, 8, sizeof(redis_store_peer_t));
    if (proc.conf == NULL || proc.conf->auth == NULL)
        return APR_EINIT;
    int wait = timeout_ms(proc.conf);
    int64_t deadline =
        mono_ms() + (wait > PEERS_TIMEOUT_MS ? wait : PEERS_TIMEOUT_MS);
    apr_array_header_t *names = scan_peers(r, deadline);
    if (names == NULL)
        return APR_EGENERAL;
    int n = names->nelts;
    if (n == 0)
        return APR_SUCCESS;
    command_t *cmds = apr_pcalloc(r->pool, sizeof(*cmds) * (size_t)n);
    char **keys = apr_pcalloc(r->pool, sizeof(*keys) * (size_t)n);
    redisReply **replies = apr_pcalloc(r->pool, sizeof(*replies) * (size_t)n);
    for (int i = 0; i < n; i++) {
        keys[i] = apr_palloc(r->pool, REDIS_LAYOUT_KEY_MAX);
        redis_layout_peer_key(keys[i], REDIS_LAYOUT_KEY_MAX,
                              proc.conf->where.prefix,
                              APR_ARRAY_IDX(names, i, const char *));
        command_word(&cmds[i], "HMGET");
        command_word(&cmds[i], keys[i]);
        command_word(&cmds[i], REDIS_LAYOUT_PEER_REPORTED);
        command_word(&cmds[i], REDIS_LAYOUT_PEER_STATUS);
        command_word(&cmds[i], REDIS_LAYOUT_PEER_FLAT);
    }
    if (run(r, cmds, n, replies, deadline) != 0)
        return APR_EGENERAL;
    int refused = reply_error(r, replies, n); /* NOPERM: say so, once */
    for (int i = 0; i < n && refused; i++)
        freeReplyObject(replies[i]);
    if (refused)
        return APR_EGENERAL;
    for (int i = 0; i < n; i++) {
        redis_store_peer_t peer = {APR_ARRAY_IDX(names, i, const char *), 0,
                                   NULL, NULL};
        if (peer_parse(r, replies[i], &peer))
            APR_ARRAY_PUSH(*out, redis_store_peer_t) = peer;
        freeReplyObject(replies[i]);
    }
    qsort((*out)->elts, (size_t)(*out)->nelts, sizeof(redis_store_peer_t),
          peer_compare);
    return APR_SUCCESS;
}

/* --- configuration time and child start
 * --------------------------------------- */

static apr_status_t clear_auth(void *auth)
{
    redis_auth_clear(auth);
    return APR_SUCCESS;
}

static int read_auth(expacme_redis_conf_t *conf, apr_pool_t *pconf,
                     server_rec *s)
{
    char err[512];
    if (conf->auth_file == NULL) {
        ap_log_error(
            APLOG_MARK, APLOG_EMERG, 0, s,
            EXPLOGNO(
                01033) "ExpAcmeChallengeStore %s needs "
                       "ExpAcmeRedisAuthFile: a store anyone can write lets "
                       "them obtain certificates for our names",
            conf->url);
        return -1;
    }
    conf->auth = apr_pcalloc(pconf, sizeof(*conf->auth));
    apr_pool_cleanup_register(pconf, conf->auth, clear_auth,
                              apr_pool_cleanup_null);
    if (redis_auth_read(conf->auth, conf->auth_file, err, sizeof(err)) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     EXPLOGNO(01034) "ExpAcmeRedisAuthFile: %s", err);
        conf->auth = NULL;
        return -1;
    }
    return 0;
}

static int resolve(expacme_redis_conf_t *conf, apr_pool_t *ptemp, server_rec *s)
{
    apr_sockaddr_t *sa = NULL;
    if (conf->where.socket[0] != '\0')
        return 0;
    apr_status_t rv =
        apr_sockaddr_info_get(&sa, conf->where.host, APR_UNSPEC,
                              (apr_port_t)conf->where.port, 0, ptemp);
    if (rv == APR_SUCCESS)
        rv = apr_sockaddr_ip_getbuf(conf->address, sizeof(conf->address), sa);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     EXPLOGNO(01035) "ExpAcmeChallengeStore %s: cannot "
                                     "resolve %s",
                     conf->url, conf->where.host);
        return -1;
    }
    return 0;
}

/* One AUTH and the window query a lookup makes: proves the credentials
 * and the permission to read our keys.  -1 only when Redis refused us. */
static int probe(const expacme_redis_conf_t *conf, apr_pool_t *ptemp,
                 server_rec *s)
{
    int64_t deadline = mono_ms() + CHECK_TIMEOUT_MS;
    failure_t f = {{0}, 0, 0, 0};
    redisContext *c = connect_auth(conf, deadline, &f);
    redisReply *reply = NULL;
    lookup_args_t args;
    command_t cmd;
    window_command(&cmd, &args, conf->where.prefix,
                   apr_time_sec(apr_time_now()));
    if (c != NULL && exchange(c, &cmd, 1, &reply, deadline, &f) == 0 &&
        window_until(reply) < 0) {
        f.auth = 1; /* NOPERM, WRONGTYPE: this store is not usable */
        fail_text(&f, "Redis refused to read our keys",
                  reply->type == REDIS_REPLY_ERROR ? reply->str
                                                   : "unexpected reply");
    }
    if (reply != NULL)
        freeReplyObject(reply);
    if (c != NULL)
        redisFree(c);
    if (f.text[0] == '\0')
        return 0;
    ap_log_error(APLOG_MARK, f.auth ? APLOG_EMERG : APLOG_WARNING, 0, s,
                 EXPLOGNO(01036) "ExpAcmeChallengeStore %s (%s): %s%s",
                 conf->url, where_text(ptemp, conf), f.text,
                 f.auth ? ""
                        : "; starting anyway, challenge requests get "
                          "404 until it answers");
    return f.auth ? -1 : 0;
}

int redis_store_check_config(expacme_redis_conf_t *conf, apr_pool_t *pconf,
                             apr_pool_t *ptemp, server_rec *s)
{
    if (read_auth(conf, pconf, s) != 0 || resolve(conf, ptemp, s) != 0 ||
        probe(conf, ptemp, s) != 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    return OK;
}

static apr_status_t child_exit(void *unused)
{
    drop_idle();
    proc.conf = NULL;
    return APR_SUCCESS;
}

apr_status_t redis_store_child_init(apr_pool_t *pchild, server_rec *s,
                                    const expacme_redis_conf_t *conf)
{
    if (conf == NULL || conf->url == NULL)
        return APR_SUCCESS;
    apr_status_t rv =
        apr_thread_mutex_create(&proc.mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
    if (rv != APR_SUCCESS)
        return rv;
    proc.conf = conf;
    proc.pool = pchild;
    apr_pool_cleanup_register(pchild, NULL, child_exit, apr_pool_cleanup_null);
    return APR_SUCCESS;
}
