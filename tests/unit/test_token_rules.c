/* Unit tests of the shared token, key-authorization and host rules. */
#include "tap.h"
#include "token_rules.h"

static int tok(const char *s)
{
    return token_rules_token_valid(s, strlen(s));
}

static int host(const char *s)
{
    return token_rules_host_valid(s, strlen(s));
}

static void test_tokens(void)
{
    char long_token[300];
    ok(tok("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"), "CA-style token");
    ok(tok("a"), "one character");
    ok(tok("AZaz09-_"), "every base64url class");
    ok(!tok(""), "empty refused");
    ok(!tok("abc.def"), "dot refused");
    ok(!tok(".."), "dot-dot refused");
    ok(!tok("%2e%2e"), "percent-encoding refused");
    ok(!tok("a/b"), "slash refused");
    ok(!tok("a\\b"), "backslash refused");
    ok(!tok("a b"), "space refused");
    ok(!tok("abc="), "padding refused");
    ok(!tok("abc+/"), "plain base64 refused");
    ok(!token_rules_token_valid("ab\0cd", 5), "embedded NUL refused");
    ok(!token_rules_token_valid(NULL, 0), "NULL refused");
    memset(long_token, 'a', sizeof(long_token));
    ok(token_rules_token_valid(long_token, 255), "255 characters accepted");
    ok(!token_rules_token_valid(long_token, 256), "256 characters refused");
    ok(!tok("\xc3\xa9t\xc3\xa9"), "non-ASCII refused");
}

static void test_keyauth(void)
{
    const char *ka = "tok.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
    ok(token_rules_keyauth_valid(ka, strlen(ka)), "token.thumbprint");
    ok(!token_rules_keyauth_valid("a<b", 3), "markup refused");
    ok(!token_rules_keyauth_valid("a\r\nb", 4), "CRLF refused");
    ok(!token_rules_keyauth_valid("", 0), "empty refused");
    char big[600];
    memset(big, 'k', sizeof(big));
    ok(token_rules_keyauth_valid(big, 511), "511 characters accepted");
    ok(!token_rules_keyauth_valid(big, 512), "512 characters refused");
}

static void test_hosts(void)
{
    ok(host("example.org"), "DNS name");
    ok(host("WWW.Example.ORG"), "mixed case");
    ok(host("localhost"), "single label");
    ok(host("a-b.c-d.example"), "inner hyphens");
    ok(host("192.0.2.1"), "IPv4");
    ok(host("[2001:db8::1]"), "bracketed IPv6");
    ok(host("2001:db8::1"), "bare IPv6 (as httpd's r->hostname has it)");
    const char *h = "[::1]";
    size_t hl = 5;
    token_rules_host_bare(&h, &hl);
    ok(hl == 3 && strncmp(h, "::1", 3) == 0, "brackets taken off");
    ok(!host(""), "empty refused");
    ok(!host("-a.example"), "leading hyphen refused");
    ok(!host("a-.example"), "trailing hyphen in label refused");
    ok(!host("a..example"), "empty label refused");
    ok(!host(".example"), "leading dot refused");
    ok(!host("example.org."), "trailing dot refused");
    ok(!host("exa mple.org"), "space refused");
    ok(!host("evil.org\r\nX-Injected: 1"), "CRLF refused");
    ok(!host("evil.org/path"), "slash refused");
    ok(!host("user@evil.org"), "userinfo refused");
    ok(!host("evil.org:8080"), "port refused");
    ok(!host("[2001:db8::1"), "unclosed bracket refused");
    ok(!host("[zz::1]"), "non-hex IPv6 refused");
    ok(!host("*.example.org"), "wildcard refused");
    char label[80];
    memset(label, 'a', sizeof(label));
    label[64] = '\0';
    ok(!host(label), "64-character label refused");
    label[63] = '\0';
    ok(host(label), "63-character label accepted");
    char name[300];
    memset(name, 'a', sizeof(name));
    for (int i = 10; i < 300; i += 10)
        name[i] = '.';
    name[254] = '\0';
    ok(!host(name), "254-character name refused");
}

static void test_host_equal(void)
{
    ok(token_rules_host_equal("Example.ORG", 11, "example.org", 11),
       "case-insensitive");
    ok(!token_rules_host_equal("example.org", 11, "example.or", 10),
       "lengths differ");
    ok(!token_rules_host_equal("example.org", 11, "examp1e.org", 11),
       "one character differs");
}

int main(void)
{
    test_tokens();
    test_keyauth();
    test_hosts();
    test_host_equal();
    return done_testing();
}
