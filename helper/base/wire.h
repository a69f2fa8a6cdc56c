/* wire.h — the typed, length-capped messages the helper's processes
 * exchange over socketpairs (SPEC §10).
 *
 * A frame is an 8-byte header (type, body length; network order) and a
 * body of fields, each a kind byte ('s' string, 'n' absent string, 'b'
 * bytes, 'i' 64-bit integer) and, for strings and bytes, a 4-byte length.
 * A receiver names the frame types it accepts and the cap of each field
 * it reads: anything else — an unknown type, a frame over its cap, a
 * field of the wrong kind or too long, a string with a NUL in it, bytes
 * left over — is refused, never guessed at. */
#ifndef EXPACME_WIRE_H
#define EXPACME_WIRE_H

#include "apr_pools.h"

#define WIRE_FRAME_MAX (2u * 1024 * 1024)

typedef struct {
    apr_pool_t *pool;
    unsigned char *buf;
    apr_size_t len, cap;
} wire_out_t;

typedef struct {
    apr_uint32_t type;
    const unsigned char *body;
    apr_size_t len, pos;
    int bad; /* a field did not parse: the whole frame is refused */
} wire_in_t;

void wire_begin(wire_out_t *w, apr_uint32_t type, apr_pool_t *pool);
void wire_put_str(wire_out_t *w, const char *s); /* NULL: absent */
void wire_put_bytes(wire_out_t *w, const void *p, apr_size_t len);
void wire_put_int(wire_out_t *w, apr_int64_t v);

/* The whole frame, or an error (EPIPE when the peer has gone). */
apr_status_t wire_send(int fd, const wire_out_t *w);

/* One frame of at most max body bytes.  APR_EOF when the peer closed
 * before a frame began; APR_EGENERAL for a frame cut short or over max.
 * timeout_ms < 0 waits for ever; APR_TIMEUP when nothing began in time
 * (a frame once begun is read to its end). */
apr_status_t wire_recv(wire_in_t *r, int fd, apr_size_t max, int timeout_ms,
                       apr_pool_t *pool);

/* Readers: 1 when the next field is of the kind and within max; else 0
 * and r->bad set (later reads fail too). */
int wire_get_str(wire_in_t *r, const char **s, apr_size_t max,
                 apr_pool_t *pool);
int wire_get_bytes(wire_in_t *r, const unsigned char **p, apr_size_t *len,
                   apr_size_t max);
int wire_get_int(wire_in_t *r, apr_int64_t *v, apr_int64_t min,
                 apr_int64_t max);

/* 1 when every field parsed and none is left over. */
int wire_done(const wire_in_t *r);

#endif
