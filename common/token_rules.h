/* token_rules.h — the one place that says what a challenge token, a key
 * authorization and a host name may look like.  Used on every trust
 * boundary: a token from the CA, a token written to the store, a token in
 * an HTTP request.  Plain C, no APR: the module and the helper share it.
 */
#ifndef EXPACME_TOKEN_RULES_H
#define EXPACME_TOKEN_RULES_H

#include <stddef.h>

/* RFC 8555 §8.3: the token is base64url; we cap it where the store does. */
#define TOKEN_RULES_TOKEN_MAX 255
/* token "." base64url(SHA-256 thumbprint) is 255 + 1 + 43; room to spare. */
#define TOKEN_RULES_KEYAUTH_MAX 511
/* RFC 1035 name limit; bracketed IPv6 literals fit well inside it. */
#define TOKEN_RULES_HOST_MAX 253

/* 1 when s[0..len) is 1..255 base64url characters [A-Za-z0-9_-]. */
int token_rules_token_valid(const char *s, size_t len);

/* 1 when s[0..len) is 1..511 characters of base64url or '.'. */
int token_rules_keyauth_valid(const char *s, size_t len);

/* 1 when s[0..len) is a DNS name (letters, digits, '-', '.', no empty or
 * over-long labels), a dotted IPv4 address, or an IPv6 literal with or
 * without brackets.  Safe to place in an HTTP header as it is (an IPv6
 * literal needs its brackets in a URL). */
int token_rules_host_valid(const char *s, size_t len);

/* The form the store keeps a host in: an IPv6 literal without its
 * brackets, as httpd's r->hostname and ACME's "ip" identifiers have it. */
void token_rules_host_bare(const char **host, size_t *len);

/* ASCII case-insensitive equality of two counted strings. */
int token_rules_host_equal(const char *a, size_t alen, const char *b,
                           size_t blen);

#endif
