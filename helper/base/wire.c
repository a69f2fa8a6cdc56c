/* wire.c — see wire.h. */
#include "base/wire.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "apr_strings.h"

static void reserve(wire_out_t *w, apr_size_t more)
{
    if (w->len + more <= w->cap)
        return;
    apr_size_t cap = w->cap * 2 > w->len + more ? w->cap * 2 : w->len + more;
    unsigned char *buf = apr_palloc(w->pool, cap);
    memcpy(buf, w->buf, w->len);
    /* Frames carry keys on their way to the key process. */
    memset(w->buf, 0, w->len);
    w->buf = buf;
    w->cap = cap;
}

static void put_u32(unsigned char *p, apr_uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static apr_uint32_t get_u32(const unsigned char *p)
{
    return (apr_uint32_t)p[0] << 24 | (apr_uint32_t)p[1] << 16 |
           (apr_uint32_t)p[2] << 8 | p[3];
}

void wire_begin(wire_out_t *w, apr_uint32_t type, apr_pool_t *pool)
{
    w->pool = pool;
    w->cap = 256;
    w->buf = apr_palloc(pool, w->cap);
    w->len = 8;
    put_u32(w->buf, type);
}

static void put_field(wire_out_t *w, char kind, const void *p, apr_size_t len)
{
    reserve(w, 5 + len);
    w->buf[w->len++] = (unsigned char)kind;
    put_u32(w->buf + w->len, (apr_uint32_t)len);
    w->len += 4;
    if (len > 0)
        memcpy(w->buf + w->len, p, len);
    w->len += len;
}

void wire_put_str(wire_out_t *w, const char *s)
{
    if (s == NULL) {
        reserve(w, 1);
        w->buf[w->len++] = 'n';
        return;
    }
    put_field(w, 's', s, strlen(s));
}

void wire_put_bytes(wire_out_t *w, const void *p, apr_size_t len)
{
    put_field(w, 'b', p, len);
}

void wire_put_int(wire_out_t *w, apr_int64_t v)
{
    unsigned char b[8];
    apr_uint64_t u = (apr_uint64_t)v;
    for (int i = 7; i >= 0; i--, u >>= 8)
        b[i] = (unsigned char)u;
    reserve(w, 9);
    w->buf[w->len++] = 'i';
    memcpy(w->buf + w->len, b, 8);
    w->len += 8;
}

apr_status_t wire_send(int fd, const wire_out_t *w)
{
    if (w->len - 8 > WIRE_FRAME_MAX)
        return APR_EINVAL;
    put_u32(w->buf + 4, (apr_uint32_t)(w->len - 8));
    apr_size_t done = 0;
    while (done < w->len) {
        ssize_t n = send(fd, w->buf + done, w->len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? APR_FROM_OS_ERROR(errno) : APR_EGENERAL;
        done += (apr_size_t)n;
    }
    return APR_SUCCESS;
}

static apr_status_t wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do
        n = poll(&p, 1, timeout_ms);
    while (n < 0 && errno == EINTR && timeout_ms < 0);
    if (n < 0)
        return errno == EINTR ? APR_TIMEUP : APR_FROM_OS_ERROR(errno);
    return n == 0 ? APR_TIMEUP : APR_SUCCESS;
}

/* A frame once begun arrives whole within this: a peer that sends half
 * of one and stops does not hold the reader. */
#define WIRE_REST_MS 2000

/* Reads exactly len bytes; *got says how many came before EOF. */
static apr_status_t read_full(int fd, unsigned char *p, apr_size_t len,
                              apr_size_t *got)
{
    *got = 0;
    while (*got < len) {
        if (*got > 0 && wait_readable(fd, WIRE_REST_MS) != APR_SUCCESS)
            return APR_TIMEUP;
        ssize_t n = recv(fd, p + *got, len - *got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return APR_FROM_OS_ERROR(errno);
        if (n == 0)
            return APR_EOF;
        *got += (apr_size_t)n;
    }
    return APR_SUCCESS;
}

apr_status_t wire_recv(wire_in_t *r, int fd, apr_size_t max, int timeout_ms,
                       apr_pool_t *pool)
{
    unsigned char head[8];
    apr_size_t got = 0;
    memset(r, 0, sizeof(*r));
    apr_status_t rv = wait_readable(fd, timeout_ms);
    if (rv != APR_SUCCESS)
        return rv;
    rv = read_full(fd, head, sizeof(head), &got);
    if ((rv == APR_EOF || rv == APR_TIMEUP) && got > 0)
        return APR_EGENERAL;
    if (rv != APR_SUCCESS)
        return rv;
    r->type = get_u32(head);
    r->len = get_u32(head + 4);
    if (r->len > max || r->len > WIRE_FRAME_MAX)
        return APR_EGENERAL;
    unsigned char *body = apr_palloc(pool, r->len + 1);
    if (r->len > 0 && wait_readable(fd, WIRE_REST_MS) != APR_SUCCESS)
        return APR_EGENERAL;
    rv = read_full(fd, body, r->len, &got);
    if (rv != APR_SUCCESS)
        return APR_EGENERAL;
    r->body = body;
    return APR_SUCCESS;
}

/* The next field's kind and length (not past the frame), or 0. */
static int take(wire_in_t *r, char kind, apr_size_t *len, apr_size_t max)
{
    if (r->bad || r->pos + 5 > r->len || r->body[r->pos] != kind) {
        r->bad = 1;
        return 0;
    }
    *len = get_u32(r->body + r->pos + 1);
    if (*len > max || *len > r->len - r->pos - 5) {
        r->bad = 1;
        return 0;
    }
    r->pos += 5;
    return 1;
}

int wire_get_str(wire_in_t *r, const char **s, apr_size_t max, apr_pool_t *pool)
{
    apr_size_t len = 0;
    *s = NULL;
    if (!r->bad && r->pos < r->len && r->body[r->pos] == 'n') {
        r->pos++;
        return 1;
    }
    if (!take(r, 's', &len, max))
        return 0;
    if (memchr(r->body + r->pos, '\0', len) != NULL) {
        r->bad = 1;
        return 0;
    }
    *s = apr_pstrmemdup(pool, (const char *)r->body + r->pos, len);
    r->pos += len;
    return 1;
}

int wire_get_bytes(wire_in_t *r, const unsigned char **p, apr_size_t *len,
                   apr_size_t max)
{
    *p = NULL;
    *len = 0;
    if (!take(r, 'b', len, max))
        return 0;
    *p = r->body + r->pos;
    r->pos += *len;
    return 1;
}

int wire_get_int(wire_in_t *r, apr_int64_t *v, apr_int64_t min, apr_int64_t max)
{
    *v = 0;
    if (r->bad || r->pos + 9 > r->len || r->body[r->pos] != 'i') {
        r->bad = 1;
        return 0;
    }
    apr_uint64_t u = 0;
    for (int i = 1; i <= 8; i++)
        u = u << 8 | r->body[r->pos + i];
    apr_int64_t value = (apr_int64_t)u;
    if (value < min || value > max) {
        r->bad = 1;
        return 0;
    }
    r->pos += 9;
    *v = value;
    return 1;
}

int wire_done(const wire_in_t *r)
{
    return !r->bad && r->pos == r->len;
}
