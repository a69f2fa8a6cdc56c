/* test_wire.c — the frames of the helper's processes (base/wire.h): what
 * is written reads back; every malformed frame is refused, none half
 * read. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apr_general.h"

#include "base/wire.h"
#include "tap.h"

static int pair[2];

static apr_status_t send_raw(const void *p, size_t len)
{
    return write(pair[0], p, len) == (ssize_t)len ? APR_SUCCESS : APR_EGENERAL;
}

static void round_trip(apr_pool_t *pool)
{
    wire_out_t w;
    wire_in_t in;
    wire_begin(&w, 0x4e01, pool);
    wire_put_str(&w, "https://ca.example/dir");
    wire_put_str(&w, NULL);
    wire_put_bytes(&w, "\0\1\2", 3);
    wire_put_int(&w, -42);
    wire_put_int(&w, APR_INT64_MAX);
    ok(wire_send(pair[0], &w) == APR_SUCCESS, "a frame is sent");
    ok(wire_recv(&in, pair[1], 1024, 1000, pool) == APR_SUCCESS,
       "and received");
    is_int(in.type, 0x4e01, "its type");
    const char *s = NULL, *absent = "x";
    const unsigned char *b = NULL;
    apr_size_t blen = 0;
    apr_int64_t i = 0, big = 0;
    ok(wire_get_str(&in, &s, 64, pool) && s &&
           strcmp(s, "https://ca.example/dir") == 0,
       "a string reads back");
    ok(wire_get_str(&in, &absent, 64, pool) && absent == NULL,
       "an absent string reads back as NULL");
    ok(wire_get_bytes(&in, &b, &blen, 8) && blen == 3 && b[2] == 2,
       "bytes (with a NUL) read back");
    ok(wire_get_int(&in, &i, -100, 100) && i == -42, "a negative integer");
    ok(wire_get_int(&in, &big, 0, APR_INT64_MAX) && big == APR_INT64_MAX,
       "the largest integer");
    ok(wire_done(&in), "nothing left over");
}

/* A frame whose fields are read with the wrong expectations. */
static wire_in_t frame_of(apr_pool_t *pool, const char *str, apr_int64_t n)
{
    wire_out_t w;
    wire_in_t in;
    wire_begin(&w, 7, pool);
    wire_put_str(&w, str);
    wire_put_int(&w, n);
    wire_send(pair[0], &w);
    wire_recv(&in, pair[1], 1 << 20, 1000, pool);
    return in;
}

static void refusals(apr_pool_t *pool)
{
    const char *s = NULL;
    apr_int64_t n = 0;
    const unsigned char *b = NULL;
    apr_size_t len = 0;
    wire_in_t in = frame_of(pool, "0123456789", 5);
    ok(!wire_get_str(&in, &s, 9, pool) && in.bad,
       "a string over its cap is refused");
    ok(!wire_get_int(&in, &n, 0, 10), "and every read after it");
    in = frame_of(pool, "abc", 5);
    ok(!wire_get_int(&in, &n, 0, 10), "a string read as an integer is refused");
    in = frame_of(pool, "abc", 5);
    ok(!wire_get_bytes(&in, &b, &len, 10), "a string read as bytes is refused");
    in = frame_of(pool, "abc", 11);
    ok(wire_get_str(&in, &s, 9, pool) && !wire_get_int(&in, &n, 0, 10),
       "an integer out of its range is refused");
    in = frame_of(pool, "abc", 5);
    ok(wire_get_str(&in, &s, 9, pool) && !wire_done(&in),
       "a field left over makes the frame incomplete");
    ok(wire_get_int(&in, &n, 0, 10) && !wire_get_int(&in, &n, 0, 10),
       "reading past the last field is refused");
    /* A string with a NUL inside, forged by hand. */
    const unsigned char nul[] = {0,   0, 0, 7, 0, 0,   0, 8,
                                 's', 0, 0, 0, 3, 'a', 0, 'b'};
    send_raw(nul, sizeof(nul));
    ok(wire_recv(&in, pair[1], 64, 1000, pool) == APR_SUCCESS &&
           !wire_get_str(&in, &s, 9, pool),
       "a string with a NUL in it is refused");
    /* A field claiming more bytes than the frame has. */
    const unsigned char lie[] = {0, 0, 0, 7, 0, 0, 0, 6, 'b', 0, 0, 1, 0, 'x'};
    send_raw(lie, sizeof(lie));
    ok(wire_recv(&in, pair[1], 64, 1000, pool) == APR_SUCCESS &&
           !wire_get_bytes(&in, &b, &len, 1 << 20),
       "a field longer than its frame is refused");
}

static void frames(apr_pool_t *pool)
{
    wire_in_t in;
    const unsigned char big[] = {0, 0, 0, 7, 0, 0x10, 0, 0};
    send_raw(big, sizeof(big));
    ok(wire_recv(&in, pair[1], 4096, 1000, pool) == APR_EGENERAL,
       "a frame over the receiver's cap is refused before it is read");
    ok(wire_recv(&in, pair[1], 4096, 50, pool) == APR_TIMEUP,
       "nothing sent: the wait ends at its deadline");
    const unsigned char cut[] = {0, 0, 0, 7, 0, 0, 0, 9, 'i', 0};
    send_raw(cut, sizeof(cut));
    close(pair[0]);
    ok(wire_recv(&in, pair[1], 4096, 1000, pool) == APR_EGENERAL,
       "a frame cut short by the peer's going is an error");
    ok(wire_recv(&in, pair[1], 4096, 1000, pool) == APR_EOF,
       "then the peer's going reads as EOF");
    close(pair[1]);
}

int main(void)
{
    apr_pool_t *pool = NULL;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    round_trip(pool);
    refusals(pool);
    frames(pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
