/* Unit tests of the Redis store layout (URLs, keys, values) and of the
 * credentials file rules, shared by module and helper. */
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redis_auth.h"
#include "redis_layout.h"

static int url_ok(const char *url, redis_layout_url_t *u)
{
    const char *err = NULL;
    return redis_layout_url_parse(u, url, &err) == 0;
}

static void test_urls(void)
{
    redis_layout_url_t u;
    ok(url_ok("redis://127.0.0.1:6379", &u), "plain TCP URL");
    is_str(u.host, "127.0.0.1", "host");
    is_int(u.port, 6379, "port");
    is_str(u.prefix, "expacme", "default prefix");
    is_str(u.socket, "", "no socket");
    ok(url_ok("redis://redis.example.test:7000/cluster-a", &u), "with prefix");
    is_str(u.host, "redis.example.test", "DNS host");
    is_str(u.prefix, "cluster-a", "prefix from the path");
    ok(url_ok("redis://[::1]:6380/p.1_x", &u), "IPv6 literal");
    is_str(u.host, "::1", "brackets taken off");
    ok(url_ok("redis+unix:///run/redis/redis.sock", &u), "unix socket");
    is_str(u.socket, "/run/redis/redis.sock", "socket path");
    is_int(u.port, 0, "no port for a socket");
    ok(url_ok("redis+unix:///run/r.sock?prefix=abc", &u), "socket + prefix");
    is_str(u.prefix, "abc", "prefix from the query");

    const char *bad[] = {
        "redis://127.0.0.1",
        "redis://127.0.0.1:",
        "redis://127.0.0.1:0",
        "redis://127.0.0.1:65536",
        "redis://127.0.0.1:63x9",
        "redis://:6379",
        "redis://user:pw@host:6379",
        "redis://h:6379/",
        "redis://h:6379/a:b",
        "redis://h:6379/a*",
        "redis://h:6379?prefix=x",
        "redis://::1:6379",
        "redis://[::1]/x",
        "redis://h_x:6379",
        "redis+unix://relative",
        "redis+unix:///s?other=1",
        "redis+unix:///s?prefix=",
        "redis+unix:///s?prefix=a&b=c",
        "redis://h :6379",
        "rediss://h:6379",
        "shm:/x",
        "redis+unix://",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = NULL;
        char name[160];
        snprintf(name, sizeof(name), "refused: %s", bad[i]);
        ok(redis_layout_url_parse(&u, bad[i], &err) != 0 && err != NULL, name);
    }
    const char *err = NULL;
    redis_layout_url_parse(&u, "redis://user:secret@h:1", &err);
    ok(strstr(err, "secret") == NULL, "the reason never repeats the URL");
    char longp[200];
    memset(longp, 'p', sizeof(longp));
    strcpy(longp, "redis://h:1/");
    memset(longp + 12, 'p', 65);
    longp[12 + 65] = '\0';
    ok(!url_ok(longp, &u), "65-character prefix refused");
    longp[12 + 64] = '\0';
    ok(url_ok(longp, &u), "64-character prefix accepted");
    ok(redis_layout_is_url("redis://x") && redis_layout_is_url("redis+unix://"),
       "both schemes recognised");
    ok(!redis_layout_is_url("shm:/x"), "shm is not Redis");
}

static void test_keys(void)
{
    char buf[REDIS_LAYOUT_KEY_MAX];
    size_t n =
        redis_layout_challenge_key(buf, sizeof(buf), "expacme", "tok_1-A", 7);
    is_str(buf, "expacme:challenge:tok_1-A", "challenge key");
    is_int(n, strlen(buf), "its length");
    is_int(redis_layout_challenge_key(buf, sizeof(buf), "p", "a*b", 3), 0,
           "glob character in a token refused");
    is_int(redis_layout_challenge_key(buf, 10, "p", "abcdefgh", 8), 0,
           "too small a buffer");
    char tok[256];
    memset(tok, 'T', 255);
    ok(redis_layout_challenge_key(buf, sizeof(buf), "expacme", tok, 255) > 255,
       "the longest token fits REDIS_LAYOUT_KEY_MAX");
    redis_layout_open_key(buf, sizeof(buf), "c1");
    is_str(buf, "c1:open", "open key");
    redis_layout_peer_key(buf, sizeof(buf), "c1", "peer-a.example.test");
    is_str(buf, "c1:peer:peer-a.example.test", "peer key");
    is_int(redis_layout_peer_key(buf, sizeof(buf), "c1", "a*"), 0,
           "peer with a glob refused");
    is_int(redis_layout_peer_key(buf, sizeof(buf), "c1", "::1"), 0,
           "peer with a colon refused");
    redis_layout_peer_pattern(buf, sizeof(buf), "c1");
    is_str(buf, "c1:peer:*", "peer pattern");
}

static void test_fields_values(void)
{
    char f[TOKEN_RULES_HOST_MAX + 1];
    redis_layout_host_field(f, sizeof(f), "WWW.Example.TEST", 16);
    is_str(f, "www.example.test", "host field lower case");
    redis_layout_host_field(f, sizeof(f), "[2001:DB8::1]", 13);
    is_str(f, "2001:db8::1", "IPv6 field without brackets");
    is_int(redis_layout_host_field(f, sizeof(f), "a b", 3), 0, "bad host");

    char v[REDIS_LAYOUT_VALUE_MAX];
    size_t n = redis_layout_challenge_value(v, sizeof(v), 1733000000, "tok.ka");
    is_str(v, "1 1733000000 tok.ka", "value format");
    int64_t exp = 0;
    const char *ka = NULL;
    size_t ka_len = 0;
    ok(redis_layout_challenge_parse(v, n, &exp, &ka, &ka_len) == 0,
       "value parses");
    is_int(exp, 1733000000, "expiry");
    ok(ka_len == 6 && memcmp(ka, "tok.ka", 6) == 0, "key authorization");
    is_int(redis_layout_challenge_value(v, sizeof(v), 1, "bad key"), 0,
           "bad key authorization refused");
    const char *garbage[] = {"",
                             "1",
                             "1 ",
                             "1 12",
                             "1 12 ",
                             "2 12 a.b",
                             "1 x a.b",
                             "1 -1 a.b",
                             "1 12 a b",
                             "1 12 a/b",
                             "1  12 a.b",
                             "x",
                             "1 1234567890123456789 a.b"};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        char name[80];
        snprintf(name, sizeof(name), "garbage value '%s' refused", garbage[i]);
        ok(redis_layout_challenge_parse(garbage[i], strlen(garbage[i]), &exp,
                                        &ka, &ka_len) != 0,
           name);
    }
    ok(redis_layout_challenge_parse("1 12 a.b", 5, &exp, &ka, &ka_len) != 0,
       "counted: a cut value is not read past its length");
}

static void test_auth_parse(void)
{
    redis_auth_t a;
    const char *why = NULL;
    ok(redis_auth_parse(&a, "s3cret\n", 7, &why) == 0, "password only");
    is_str(a.user, "", "default user");
    is_str(a.password, "s3cret", "password");
    ok(redis_auth_parse(&a, "expacme p@ss:w0rd\r\n", 19, &why) == 0,
       "user and password, CRLF");
    is_str(a.user, "expacme", "user");
    is_str(a.password, "p@ss:w0rd", "password with punctuation");
    ok(redis_auth_parse(&a, "  u\tp  ", 7, &why) == 0, "blanks around");
    is_str(a.password, "p", "trimmed");
    ok(redis_auth_parse(&a, "", 0, &why) != 0, "empty refused");
    ok(redis_auth_parse(&a, "\n", 1, &why) != 0, "empty line refused");
    ok(redis_auth_parse(&a, "a b c", 5, &why) != 0, "three words refused");
    ok(redis_auth_parse(&a, "a\nb", 3, &why) != 0, "two lines refused");
    ok(redis_auth_parse(&a, "a\n\n", 3, &why) != 0, "trailing empty line");
    ok(redis_auth_parse(&a, "p\x01x", 3, &why) != 0, "control char refused");
    redis_auth_clear(&a);
    ok(a.password[0] == '\0' && a.user[0] == '\0', "cleared");
}

static void write_file(const char *path, const char *data, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, data, strlen(data)) < 0)
        perror(path);
    close(fd);
    chmod(path, mode);
}

static void test_auth_file(void)
{
    char dir[] = "/tmp/test_redis_auth.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp");
        return;
    }
    char path[128], link[128], err[512];
    snprintf(path, sizeof(path), "%s/auth", dir);
    snprintf(link, sizeof(link), "%s/link", dir);
    redis_auth_t a;
    write_file(path, "user topsecret\n", 0600);
    ok(redis_auth_read(&a, path, err, sizeof(err)) == 0, "0600 file read");
    is_str(a.password, "topsecret", "its password");
    chmod(path, 0400);
    ok(redis_auth_read(&a, path, err, sizeof(err)) == 0, "0400 file read");
    chmod(path, 0640);
    ok(redis_auth_read(&a, path, err, sizeof(err)) != 0,
       "group-readable refused");
    ok(strstr(err, "0640") != NULL && strstr(err, path) != NULL,
       "the reason names the file and its mode");
    ok(strstr(err, "topsecret") == NULL, "never the password");
    chmod(path, 0604);
    ok(redis_auth_read(&a, path, err, sizeof(err)) != 0,
       "world-readable refused");
    chmod(path, 0620);
    ok(redis_auth_read(&a, path, err, sizeof(err)) != 0,
       "group-writable refused");
    chmod(path, 0600);
    if (symlink(path, link) != 0)
        perror(link);
    ok(redis_auth_read(&a, link, err, sizeof(err)) != 0, "symlink refused");
    unlink(link);
    ok(redis_auth_read(&a, link, err, sizeof(err)) != 0, "missing refused");
    ok(strstr(err, "No such file") != NULL, "missing: says so");
    ok(redis_auth_read(&a, dir, err, sizeof(err)) != 0, "directory refused");
    write_file(path, "a b c\n", 0600);
    ok(redis_auth_read(&a, path, err, sizeof(err)) != 0 &&
           strstr(err, "more than two words") != NULL,
       "malformed content: says why");
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_urls();
    test_keys();
    test_fields_values();
    test_auth_parse();
    test_auth_file();
    return done_testing();
}
