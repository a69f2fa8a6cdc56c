/* Unit tests of the tls-alpn-01 answers beside the challenge store:
 * round trip, expiry, replacement, removal, and what a reader refuses
 * (names that climb out, symlinks, FIFOs, oversized or foreign files). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alpn_store.h"
#include "tap.h"

#define CERT                                                                   \
    "-----BEGIN CERTIFICATE-----\nQ0VSVA==\n-----END CERTIFICATE-----\n"
#define KEY "-----BEGIN PRIVATE KEY-----\nS0VZ\n-----END PRIVATE KEY-----\n"

static char store[256], dir[300];

static alpn_store_status_t look(const char *host, int64_t now,
                                const char **cert, const char **key)
{
    static char buf[ALPN_STORE_FILE_MAX + 2];
    return alpn_store_lookup(store, host, now, buf, sizeof(buf), cert, key);
}

static void write_raw(const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_round_trip(void)
{
    const char *cert = NULL, *key = NULL;
    is_int(alpn_store_put(store, "WWW.Example.org", CERT, KEY, 2000),
           ALPN_STORE_OK, "put");
    is_int(look("www.example.ORG", 1000, &cert, &key), ALPN_STORE_OK,
           "found, host case ignored");
    is_str(cert, CERT, "the certificate PEM");
    is_str(key, KEY, "the key PEM");
    is_int(look("www.example.org", 2000, &cert, &key), ALPN_STORE_NOT_FOUND,
           "expired at its expiry");
    ok(cert == NULL && key == NULL, "nothing handed out when expired");
    is_int(alpn_store_put(store, "www.example.org", CERT, KEY, 9000),
           ALPN_STORE_OK, "replaced");
    is_int(look("www.example.org", 5000, &cert, &key), ALPN_STORE_OK,
           "the replacement is live");
    struct stat st;
    char path[400];
    snprintf(path, sizeof(path), "%s/www.example.org", dir);
    ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644,
       "answer file 0644");
    ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0755, "directory 0755");
    is_int(alpn_store_del(store, "www.example.org"), ALPN_STORE_OK, "del");
    is_int(look("www.example.org", 5000, &cert, &key), ALPN_STORE_NOT_FOUND,
           "gone after del");
    is_int(alpn_store_del(store, "www.example.org"), ALPN_STORE_OK,
           "del of an absent answer is no error");
}

static void test_refused(void)
{
    const char *cert = NULL, *key = NULL;
    is_int(alpn_store_put(store, "../escape", CERT, KEY, 9000),
           ALPN_STORE_INVALID, "a name that climbs out refused");
    is_int(alpn_store_put(store, "a/b.example.org", CERT, KEY, 9000),
           ALPN_STORE_INVALID, "a slash refused");
    is_int(alpn_store_put(store, "2001:db8::1", CERT, KEY, 9000),
           ALPN_STORE_INVALID, "an IPv6 literal refused");
    is_int(look(".hidden", 1, &cert, &key), ALPN_STORE_INVALID,
           "lookup of a dot name refused");
    char big[ALPN_STORE_FILE_MAX + 10];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    is_int(alpn_store_put(store, "big.example.org", big, KEY, 9000),
           ALPN_STORE_INVALID, "an oversized answer refused");
    char target[400], link[400];
    snprintf(target, sizeof(target), "%s/target", dir);
    snprintf(link, sizeof(link), "%s/link.example.org", dir);
    write_raw("target", "expacme-tls-alpn-1 9999999999\n" CERT KEY);
    ok(symlink(target, link) == 0, "made a symlink");
    is_int(look("link.example.org", 1, &cert, &key), ALPN_STORE_IO,
           "a symlink is never followed");
    char fifo[400];
    snprintf(fifo, sizeof(fifo), "%s/fifo.example.org", dir);
    ok(mkfifo(fifo, 0644) == 0, "made a FIFO");
    is_int(look("fifo.example.org", 1, &cert, &key), ALPN_STORE_CORRUPT,
           "a FIFO refused without blocking");
    write_raw("foreign.example.org", "something else\n" CERT KEY);
    is_int(look("foreign.example.org", 1, &cert, &key), ALPN_STORE_CORRUPT,
           "a foreign file refused");
    write_raw("nokey.example.org", "expacme-tls-alpn-1 9999999999\n" CERT);
    is_int(look("nokey.example.org", 1, &cert, &key), ALPN_STORE_CORRUPT,
           "a certificate without its key refused");
    write_raw("badtime.example.org", "expacme-tls-alpn-1 12x\n" CERT KEY);
    is_int(look("badtime.example.org", 1, &cert, &key), ALPN_STORE_CORRUPT,
           "a malformed expiry refused");
}

static void test_purge(void)
{
    const char *cert = NULL, *key = NULL;
    unsigned removed = 99;
    alpn_store_put(store, "old.example.org", CERT, KEY, 100);
    alpn_store_put(store, "live.example.org", CERT, KEY, 9000);
    write_raw("junk.example.org", "not an answer\n");
    is_int(alpn_store_purge(store, 5000, &removed), ALPN_STORE_OK, "purge");
    is_int((int)removed, 1, "one expired answer removed");
    is_int(look("live.example.org", 5000, &cert, &key), ALPN_STORE_OK,
           "a live answer stays");
    char path[400];
    snprintf(path, sizeof(path), "%s/junk.example.org", dir);
    ok(access(path, F_OK) == 0, "a file that is no answer is left alone");
    char other[300];
    snprintf(other, sizeof(other), "%s/none", store);
    is_int(alpn_store_purge(other, 5000, &removed), ALPN_STORE_OK,
           "no directory: nothing to purge, no error");
}

int main(void)
{
    char tmpl[] = "/tmp/test_alpn_store.XXXXXX";
    if (mkdtemp(tmpl) == NULL)
        return 1;
    snprintf(store, sizeof(store), "%s/challenges", tmpl);
    ok(alpn_store_dir(dir, sizeof(dir), store), "directory name");
    test_round_trip();
    test_refused();
    test_purge();
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
