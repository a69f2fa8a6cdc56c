/* redis_layout.h — the challenge store of a cluster (SPEC §8), as it lies
 * in Redis.  The module reads it, expacmectl on every peer writes it; both
 * build every key and value through this file, so they cannot drift.
 *
 * The store URL names the server and a key prefix (default "expacme"):
 *
 *   redis://HOST:PORT[/PREFIX]            HOST a name, IPv4 or [IPv6]
 *   redis+unix:///SOCKET[?prefix=PREFIX]  SOCKET an absolute path
 *
 * Every key starts with "PREFIX:".  Redis 7.0 or later: the writer uses
 * the NX and GT options of EXPIREAT and ZADD.
 *
 *   PREFIX:challenge:TOKEN   HASH, one field per host the token was
 *                            published for:
 *                              field  the host, lower case, an IPv6
 *                                     literal without brackets
 *                              value  "1 EXPIRES KEYAUTH" (layout version,
 *                                     epoch seconds, key authorization)
 *                            key TTL: the latest EXPIRES of its fields, so
 *                            nothing lingers when a helper dies.  Readers
 *                            still compare EXPIRES with their clock.
 *
 *   PREFIX:open              ZSET, the open signal: member TOKEN, score
 *                            the latest EXPIRES of that token (ZADD GT).
 *                            The window is open until the highest score
 *                            (ZREVRANGEBYSCORE PREFIX:open +inf (NOW
 *                            WITHSCORES LIMIT 0 1).  Written in the same
 *                            MULTI as the challenge, withdrawn in the same
 *                            MULTI as its DEL, so two helpers on two peers
 *                            never race each other closed; key TTL: the
 *                            latest score.
 *
 *   PREFIX:peer:PEER         HASH, one per helper (PEER: its cluster_peer
 *                            name, a host name):
 *                              "reported"  epoch seconds of the report
 *                              "status"    the JSON document the helper
 *                                          writes to its own status_file
 *                                          (no secrets)
 *                              "flat"      the same in the line form of
 *                                          common/status_flat.h, which
 *                                          the module's page reads
 *                            TTL REDIS_LAYOUT_PEER_TTL: a peer that stops
 *                            reporting drops off every status page.
 *
 * Why the open signal is cheap: a module process asks for it at most once
 * per REDIS_LAYOUT_OPEN_CHECK_MS (and only when a challenge-path GET
 * comes, pipelined with that lookup), and trusts the answer that long;
 * every other request never touches Redis.  The answer carries the end
 * of the window, so a window that closes by expiry closes everywhere at
 * that second.  A change a writer makes (a put that opens the window, a
 * withdrawal that closes it) may stay unseen by a process that long: a
 * writer that opened the window waits REDIS_LAYOUT_OPEN_SETTLE_MS before
 * telling the CA to validate, and `token put|del` wait it whenever they
 * opened or closed the window, so they return once every peer sees it.
 *
 * Plain C11, no APR, no hiredis: the module, the helper and the unit tests
 * link it alike.
 */
#ifndef EXPACME_REDIS_LAYOUT_H
#define EXPACME_REDIS_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "token_rules.h"

#define REDIS_LAYOUT_VERSION 1
#define REDIS_LAYOUT_DEFAULT_PREFIX "expacme"
#define REDIS_LAYOUT_PREFIX_MAX 64
#define REDIS_LAYOUT_SOCKET_MAX 107 /* sun_path less its NUL */
#define REDIS_LAYOUT_PEER_MAX 253   /* a peer is named by its host name */

#define REDIS_LAYOUT_OPEN_CHECK_MS 200
#define REDIS_LAYOUT_OPEN_SETTLE_MS (REDIS_LAYOUT_OPEN_CHECK_MS + 50)
/* A helper reports at least once per run, and renew runs every few
 * minutes from a timer: a day keeps a quiet peer listed. */
#define REDIS_LAYOUT_PEER_TTL (24 * 3600)
#define REDIS_LAYOUT_PEER_REPORTED "reported"
#define REDIS_LAYOUT_PEER_STATUS "status"
#define REDIS_LAYOUT_PEER_FLAT "flat"
/* The status page lists at most this many peers. */
#define REDIS_LAYOUT_PEERS_MAX 64

/* "PREFIX:challenge:" + token, with room for the NUL. */
#define REDIS_LAYOUT_KEY_MAX                                                   \
    (REDIS_LAYOUT_PREFIX_MAX + sizeof(":challenge:") + TOKEN_RULES_TOKEN_MAX + \
     REDIS_LAYOUT_PEER_MAX)
/* "1 " + 20 digits + " " + keyauth + NUL */
#define REDIS_LAYOUT_VALUE_MAX (TOKEN_RULES_KEYAUTH_MAX + 32)

typedef struct {
    char host[TOKEN_RULES_HOST_MAX + 1];      /* TCP: name or IP, no brackets */
    int port;                                 /* TCP: 1..65535; unix: 0 */
    char socket[REDIS_LAYOUT_SOCKET_MAX + 1]; /* unix: the path, else "" */
    char prefix[REDIS_LAYOUT_PREFIX_MAX + 1];
} redis_layout_url_t;

/* 1 when s starts with a Redis scheme (the caller then parses it). */
int redis_layout_is_url(const char *s);

/* Parses a store URL into *out.  0 on success; -1 with *err set to a
 * static one-line reason (never echoing a password someone put in it). */
int redis_layout_url_parse(redis_layout_url_t *out, const char *url,
                           const char **err);

/* The keys, NUL-terminated into buf.  Return the length, or 0 when buf is
 * too small or an argument breaks the rules (token charset, peer name). */
size_t redis_layout_challenge_key(char *buf, size_t size, const char *prefix,
                                  const char *token, size_t token_len);
size_t redis_layout_open_key(char *buf, size_t size, const char *prefix);
size_t redis_layout_peer_key(char *buf, size_t size, const char *prefix,
                             const char *peer);
/* The SCAN pattern matching every peer key: "PREFIX:peer:*". */
size_t redis_layout_peer_pattern(char *buf, size_t size, const char *prefix);

/* The hash field for a host: lower case, IPv6 brackets taken off.
 * 0 when host is not a valid host (token_rules). */
size_t redis_layout_host_field(char *buf, size_t size, const char *host,
                               size_t host_len);

/* "1 EXPIRES KEYAUTH".  0 when the key authorization breaks the rules. */
size_t redis_layout_challenge_value(char *buf, size_t size, int64_t expires,
                                    const char *keyauth);

/* Parses a challenge value: 0 with *expires and keyauth[0..*keyauth_len)
 * pointing into v; -1 when it is not one (foreign version, garbage). */
int redis_layout_challenge_parse(const char *v, size_t len, int64_t *expires,
                                 const char **keyauth, size_t *keyauth_len);

/* 1 when a peer name is usable in a key: a host name (token_rules). */
int redis_layout_peer_valid(const char *peer);

#endif
