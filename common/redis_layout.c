/* redis_layout.c — store URLs, keys and values in Redis (see the header
 * for the picture). */
#include "redis_layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEME_TCP "redis://"
#define SCHEME_UNIX "redis+unix://"

int redis_layout_is_url(const char *s)
{
    return strncmp(s, SCHEME_TCP, strlen(SCHEME_TCP)) == 0 ||
           strncmp(s, SCHEME_UNIX, strlen(SCHEME_UNIX)) == 0;
}

static int prefix_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* A prefix is a plain word: no ':' (it would blur the key structure), no
 * glob characters (SCAN patterns are built from it). */
static int set_prefix(redis_layout_url_t *out, const char *s, size_t len,
                      const char **err)
{
    if (len == 0 || len > REDIS_LAYOUT_PREFIX_MAX) {
        *err = "the key prefix must be 1-64 characters";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!prefix_char((unsigned char)s[i])) {
            *err = "the key prefix may only hold letters, digits, '-', '_' "
                   "and '.'";
            return -1;
        }
    }
    memcpy(out->prefix, s, len);
    out->prefix[len] = '\0';
    return 0;
}

static int parse_port(const char *s, size_t len, int *port)
{
    if (len == 0 || len > 5)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

/* HOST:PORT, HOST possibly a bracketed IPv6 literal. */
static int parse_authority(redis_layout_url_t *out, const char *s, size_t len,
                           const char **err)
{
    const char *colon = NULL;
    const char *host = s;
    size_t host_len;
    if (memchr(s, '@', len) != NULL) {
        *err = "credentials do not belong in the URL: use the auth file";
        return -1;
    }
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL || close + 1 >= s + len || close[1] != ':') {
            *err = "an IPv6 address needs brackets and a port: "
                   "redis://[::1]:6379";
            return -1;
        }
        host = s + 1;
        host_len = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = memchr(s, ':', len);
        if (colon == NULL) {
            *err = "the URL needs HOST:PORT, e.g. redis://127.0.0.1:6379";
            return -1;
        }
        host_len = (size_t)(colon - s);
    }
    if (!token_rules_host_valid(host, host_len) ||
        host_len >= sizeof(out->host)) {
        *err = "the host is not a DNS name or IP address";
        return -1;
    }
    if (parse_port(colon + 1, (size_t)(s + len - colon - 1), &out->port) != 0) {
        *err = "the port must be a number from 1 to 65535";
        return -1;
    }
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    return 0;
}

static int parse_tcp(redis_layout_url_t *out, const char *rest,
                     const char **err)
{
    const char *slash = strchr(rest, '/');
    size_t auth_len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    if (strpbrk(rest, "?#") != NULL) {
        *err = "redis:// takes no query: the prefix is the path, "
               "redis://HOST:PORT/PREFIX";
        return -1;
    }
    if (parse_authority(out, rest, auth_len, err) != 0)
        return -1;
    if (slash == NULL)
        return 0;
    return set_prefix(out, slash + 1, strlen(slash + 1), err);
}

static int parse_unix(redis_layout_url_t *out, const char *rest,
                      const char **err)
{
    const char *query = strchr(rest, '?');
    size_t path_len = query != NULL ? (size_t)(query - rest) : strlen(rest);
    if (path_len == 0 || rest[0] != '/') {
        *err = "redis+unix:// needs an absolute socket path: "
               "redis+unix:///run/redis/redis.sock";
        return -1;
    }
    if (path_len > REDIS_LAYOUT_SOCKET_MAX) {
        *err = "the socket path is longer than a UNIX socket allows";
        return -1;
    }
    memcpy(out->socket, rest, path_len);
    out->socket[path_len] = '\0';
    if (query == NULL)
        return 0;
    if (strncmp(query, "?prefix=", 8) != 0 || strchr(query + 1, '&') ||
        strchr(query, '#')) {
        *err = "the only query redis+unix:// takes is ?prefix=PREFIX";
        return -1;
    }
    return set_prefix(out, query + 8, strlen(query + 8), err);
}

int redis_layout_url_parse(redis_layout_url_t *out, const char *url,
                           const char **err)
{
    memset(out, 0, sizeof(*out));
    strcpy(out->prefix, REDIS_LAYOUT_DEFAULT_PREFIX);
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            *err = "the URL holds a space, control or non-ASCII character";
            return -1;
        }
    }
    if (strncmp(url, SCHEME_TCP, strlen(SCHEME_TCP)) == 0)
        return parse_tcp(out, url + strlen(SCHEME_TCP), err);
    if (strncmp(url, SCHEME_UNIX, strlen(SCHEME_UNIX)) == 0)
        return parse_unix(out, url + strlen(SCHEME_UNIX), err);
    *err = "not a redis:// or redis+unix:// URL";
    return -1;
}

static size_t fit(int n, size_t size)
{
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

size_t redis_layout_challenge_key(char *buf, size_t size, const char *prefix,
                                  const char *token, size_t token_len)
{
    if (!token_rules_token_valid(token, token_len))
        return 0;
    return fit(
        snprintf(buf, size, "%s:challenge:%.*s", prefix, (int)token_len, token),
        size);
}

size_t redis_layout_open_key(char *buf, size_t size, const char *prefix)
{
    return fit(snprintf(buf, size, "%s:open", prefix), size);
}

int redis_layout_peer_valid(const char *peer)
{
    size_t len = strlen(peer);
    return len <= REDIS_LAYOUT_PEER_MAX && memchr(peer, ':', len) == NULL &&
           token_rules_host_valid(peer, len);
}

size_t redis_layout_peer_key(char *buf, size_t size, const char *prefix,
                             const char *peer)
{
    if (!redis_layout_peer_valid(peer))
        return 0;
    return fit(snprintf(buf, size, "%s:peer:%s", prefix, peer), size);
}

size_t redis_layout_peer_pattern(char *buf, size_t size, const char *prefix)
{
    return fit(snprintf(buf, size, "%s:peer:*", prefix), size);
}

size_t redis_layout_host_field(char *buf, size_t size, const char *host,
                               size_t host_len)
{
    if (!token_rules_host_valid(host, host_len))
        return 0;
    token_rules_host_bare(&host, &host_len);
    if (host_len >= size)
        return 0;
    for (size_t i = 0; i < host_len; i++) {
        char c = host[i];
        buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    buf[host_len] = '\0';
    return host_len;
}

size_t redis_layout_challenge_value(char *buf, size_t size, int64_t expires,
                                    const char *keyauth)
{
    if (expires < 0 || !token_rules_keyauth_valid(keyauth, strlen(keyauth)))
        return 0;
    return fit(snprintf(buf, size, "%d %lld %s", REDIS_LAYOUT_VERSION,
                        (long long)expires, keyauth),
               size);
}

int redis_layout_challenge_parse(const char *v, size_t len, int64_t *expires,
                                 const char **keyauth, size_t *keyauth_len)
{
    /* Counted bytes from the network: no strtoll, which would read past
     * len on a value without a terminator. */
    if (len < 5 || v[0] != '0' + REDIS_LAYOUT_VERSION || v[1] != ' ')
        return -1;
    size_t i = 2;
    int64_t e = 0;
    size_t digits = 0;
    for (; i < len && v[i] >= '0' && v[i] <= '9'; i++, digits++) {
        if (digits == 18)
            return -1; /* no overflow; year 33658 is far enough */
        e = e * 10 + (v[i] - '0');
    }
    if (digits == 0 || i >= len || v[i] != ' ')
        return -1;
    i++;
    if (!token_rules_keyauth_valid(v + i, len - i))
        return -1;
    *expires = e;
    *keyauth = v + i;
    *keyauth_len = len - i;
    return 0;
}
