/* token_rules.c — validation shared by module and helper (see header). */
#include "token_rules.h"

#include <string.h>

static int is_base64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int token_rules_token_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > TOKEN_RULES_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_base64url((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

int token_rules_keyauth_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > TOKEN_RULES_KEYAUTH_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_base64url((unsigned char)s[i]) && s[i] != '.')
            return 0;
    }
    return 1;
}

static int ipv6_literal_valid(const char *s, size_t len)
{
    /* Hex digits, ':' and '.' (embedded IPv4), with or without brackets;
     * the exact grammar is left to the resolver, we only keep it inert. */
    size_t first = 0, end = len;
    if (len > 0 && s[0] == '[') {
        if (len < 4 || s[len - 1] != ']')
            return 0;
        first = 1;
        end = len - 1;
    }
    int colons = 0;
    for (size_t i = first; i < end; i++) {
        unsigned char c = (unsigned char)s[i];
        int hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                  (c >= 'A' && c <= 'F');
        if (c == ':')
            colons++;
        else if (!hex && c != '.')
            return 0;
    }
    return colons >= 2;
}

static int label_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-';
}

int token_rules_host_valid(const char *s, size_t len)
{
    if (s == NULL || len == 0 || len > TOKEN_RULES_HOST_MAX)
        return 0;
    if (s[0] == '[' || memchr(s, ':', len) != NULL)
        return ipv6_literal_valid(s, len);
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (label == 0)
                return 0;
            if (s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!label_char(c))
            return 0;
        if (label == 0 && c == '-')
            return 0;
        if (++label > 63)
            return 0;
    }
    /* A trailing dot (absolute name) leaves label == 0: refuse it, the
     * store keys on the name as the CA spells it, without the dot. */
    return label > 0 && s[len - 1] != '-';
}

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int token_rules_host_equal(const char *a, size_t alen, const char *b,
                           size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        if (ascii_lower((unsigned char)a[i]) !=
            ascii_lower((unsigned char)b[i]))
            return 0;
    }
    return 1;
}

void token_rules_host_bare(const char **host, size_t *len)
{
    if (*len >= 2 && (*host)[0] == '[' && (*host)[*len - 1] == ']') {
        (*host)++;
        *len -= 2;
    }
}
