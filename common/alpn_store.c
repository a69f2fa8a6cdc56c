/* alpn_store.c — see alpn_store.h for the layout. */
#include "alpn_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "token_rules.h"

#define PATH_MAX_LEN 4096

static const char *const status_texts[] = {
    [ALPN_STORE_OK] = "ok",
    [ALPN_STORE_NOT_FOUND] = "no open tls-alpn-01 challenge for this name",
    [ALPN_STORE_INVALID] = "invalid host name or certificate",
    [ALPN_STORE_CORRUPT] = "not a tls-alpn-01 answer file",
    [ALPN_STORE_IO] = "tls-alpn-01 answer I/O error",
};
_Static_assert(sizeof(status_texts) / sizeof(status_texts[0]) ==
                   ALPN_STORE_IO + 1,
               "one text per status");

const char *alpn_store_status_text(alpn_store_status_t status)
{
    if ((unsigned)status > ALPN_STORE_IO)
        return "unknown tls-alpn-01 answer status";
    return status_texts[status];
}

int alpn_store_dir(char *buf, size_t size, const char *store_path)
{
    int n = snprintf(buf, size, "%s%s", store_path, ALPN_STORE_SUFFIX);
    return n > 0 && (size_t)n < size;
}

/* The file of host's answer: DNS names only (RFC 8737 §3: the SNI is the
 * name), lower-cased, so the name can never climb out of the directory. */
static int answer_path(char *buf, size_t size, const char *store_path,
                       const char *host)
{
    size_t len = strlen(host);
    if (!token_rules_host_valid(host, len) || host[0] == '.' ||
        strchr(host, ':') != NULL || strchr(host, '[') != NULL)
        return 0;
    char dir[PATH_MAX_LEN];
    if (!alpn_store_dir(dir, sizeof(dir), store_path))
        return 0;
    int n = snprintf(buf, size, "%s/", dir);
    if (n <= 0 || (size_t)n + len >= size)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        char c = host[i];
        buf[n + i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    return 1;
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return 0;
        s += n;
        len -= (size_t)n;
    }
    return 1;
}

static alpn_store_status_t make_dir(const char *store_path)
{
    char dir[PATH_MAX_LEN];
    if (!alpn_store_dir(dir, sizeof(dir), store_path))
        return ALPN_STORE_INVALID;
    if (mkdir(dir, 0755) == 0) {
        /* Ours: readable by httpd's workers whatever the umask. */
        if (chmod(dir, 0755) != 0)
            return ALPN_STORE_IO;
    } else if (errno != EEXIST) {
        return ALPN_STORE_IO;
    }
    struct stat st;
    if (lstat(dir, &st) != 0)
        return ALPN_STORE_IO;
    /* Never write through a directory someone else put there. */
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022) != 0)
        return ALPN_STORE_CORRUPT;
    return ALPN_STORE_OK;
}

alpn_store_status_t alpn_store_put(const char *store_path, const char *host,
                                   const char *cert_pem, const char *key_pem,
                                   int64_t expires)
{
    char path[PATH_MAX_LEN], tmp[PATH_MAX_LEN + 16];
    char head[64];
    if (!answer_path(path, sizeof(path), store_path, host))
        return ALPN_STORE_INVALID;
    int hn = snprintf(head, sizeof(head), "%s %" PRId64 "\n", ALPN_STORE_MAGIC,
                      expires);
    if (strlen(cert_pem) + strlen(key_pem) + (size_t)hn >= ALPN_STORE_FILE_MAX)
        return ALPN_STORE_INVALID;
    alpn_store_status_t st = make_dir(store_path);
    if (st != ALPN_STORE_OK)
        return st;
    snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
    int fd =
        open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return ALPN_STORE_IO;
    int ok = fchmod(fd, 0644) == 0 && write_all(fd, head, (size_t)hn) &&
             write_all(fd, cert_pem, strlen(cert_pem)) &&
             write_all(fd, key_pem, strlen(key_pem)) && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp, path) == 0)
        return ALPN_STORE_OK;
    int saved = errno;
    unlink(tmp);
    errno = saved;
    return ALPN_STORE_IO;
}

alpn_store_status_t alpn_store_del(const char *store_path, const char *host)
{
    char path[PATH_MAX_LEN];
    if (!answer_path(path, sizeof(path), store_path, host))
        return ALPN_STORE_INVALID;
    if (unlink(path) != 0 && errno != ENOENT)
        return ALPN_STORE_IO;
    return ALPN_STORE_OK;
}

static alpn_store_status_t read_file(const char *path, char *buf, size_t size,
                                     size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? ALPN_STORE_NOT_FOUND : ALPN_STORE_IO;
    struct stat st;
    alpn_store_status_t rv = ALPN_STORE_OK;
    if (fstat(fd, &st) != 0)
        rv = ALPN_STORE_IO;
    else if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
             st.st_size >= ALPN_STORE_FILE_MAX || (size_t)st.st_size + 2 > size)
        rv = ALPN_STORE_CORRUPT;
    *len = 0;
    while (rv == ALPN_STORE_OK && *len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + *len, (size_t)st.st_size - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rv = n == 0 ? ALPN_STORE_CORRUPT : ALPN_STORE_IO;
        else
            *len += (size_t)n;
    }
    close(fd);
    if (rv == ALPN_STORE_OK)
        buf[*len] = '\0';
    return rv;
}

alpn_store_status_t alpn_store_lookup(const char *store_path, const char *host,
                                      int64_t now, char *buf, size_t size,
                                      const char **cert, const char **key)
{
    char path[PATH_MAX_LEN];
    size_t len = 0;
    *cert = *key = NULL;
    if (!answer_path(path, sizeof(path), store_path, host))
        return ALPN_STORE_INVALID;
    alpn_store_status_t rv = read_file(path, buf, size, &len);
    if (rv != ALPN_STORE_OK)
        return rv;
    size_t magic = strlen(ALPN_STORE_MAGIC);
    char *nl = strchr(buf, '\n');
    if (strlen(buf) != len || nl == NULL ||
        strncmp(buf, ALPN_STORE_MAGIC " ", magic + 1) != 0)
        return ALPN_STORE_CORRUPT;
    char *end = NULL;
    long long expires = strtoll(buf + magic + 1, &end, 10);
    if (end != nl)
        return ALPN_STORE_CORRUPT;
    if (expires <= now)
        return ALPN_STORE_NOT_FOUND;
    char *k = strstr(nl + 1, "-----BEGIN PRIVATE KEY-----");
    if (k == NULL || strncmp(nl + 1, "-----BEGIN CERTIFICATE-----", 27) != 0)
        return ALPN_STORE_CORRUPT;
    /* Two strings in one buffer: the certificate ends where the key
     * starts, so move the key one byte on to make room for a NUL. */
    memmove(k + 1, k, strlen(k) + 1);
    *k = '\0';
    *cert = nl + 1;
    *key = k + 1;
    return ALPN_STORE_OK;
}

alpn_store_status_t alpn_store_purge(const char *store_path, int64_t now,
                                     unsigned *removed)
{
    char dir[PATH_MAX_LEN];
    char buf[ALPN_STORE_FILE_MAX + 2];
    *removed = 0;
    if (!alpn_store_dir(dir, sizeof(dir), store_path))
        return ALPN_STORE_INVALID;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? ALPN_STORE_OK : ALPN_STORE_IO;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        const char *cert = NULL, *key = NULL;
        if (e->d_name[0] == '.')
            continue;
        /* Only answers that parse and have expired: a file mid-write
         * (".tmp") or anything else is left alone. */
        if (alpn_store_lookup(store_path, e->d_name, now, buf, sizeof(buf),
                              &cert, &key) == ALPN_STORE_NOT_FOUND &&
            alpn_store_del(store_path, e->d_name) == ALPN_STORE_OK)
            (*removed)++;
    }
    closedir(d);
    return ALPN_STORE_OK;
}
