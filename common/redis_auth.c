/* redis_auth.c — the Redis credentials file (see redis_auth.h). */
#include "redis_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_word_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* Splits one line into at most two words of printable ASCII. */
static int split_words(const char *s, size_t len, const char *word[2],
                       size_t word_len[2], const char **why)
{
    int n = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i == len)
            break;
        if (n == 2) {
            *why = "more than two words (want PASSWORD or USER PASSWORD)";
            return -1;
        }
        word[n] = s + i;
        while (i < len && is_word_char((unsigned char)s[i]))
            i++;
        if (i < len && s[i] != ' ' && s[i] != '\t') {
            *why = "a control or non-ASCII character";
            return -1;
        }
        word_len[n] = (size_t)(s + i - word[n]);
        n++;
    }
    if (n == 0)
        *why = "empty (want PASSWORD or USER PASSWORD)";
    return n;
}

int redis_auth_parse(redis_auth_t *out, const char *data, size_t len,
                     const char **why)
{
    memset(out, 0, sizeof(*out));
    /* One line: a final newline (LF or CRLF) is allowed, nothing after. */
    if (len > 0 && data[len - 1] == '\n')
        len--;
    if (len > 0 && data[len - 1] == '\r')
        len--;
    if (memchr(data, '\n', len) != NULL || memchr(data, '\r', len) != NULL) {
        *why = "more than one line";
        return -1;
    }
    const char *word[2] = {NULL, NULL};
    size_t word_len[2] = {0, 0};
    int n = split_words(data, len, word, word_len, why);
    if (n <= 0)
        return -1;
    const char *pass = word[n - 1];
    size_t pass_len = word_len[n - 1];
    if (pass_len > REDIS_AUTH_PASSWORD_MAX ||
        (n == 2 && word_len[0] > REDIS_AUTH_USER_MAX)) {
        *why = "user name or password too long";
        return -1;
    }
    if (n == 2)
        memcpy(out->user, word[0], word_len[0]);
    memcpy(out->password, pass, pass_len);
    return 0;
}

static int read_all(int fd, char *buf, size_t size, size_t *len)
{
    *len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + *len, size - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        *len += (size_t)n;
        if (*len == size)
            return 0;
    }
}

/* Opens path without following a symlink and without blocking on a FIFO,
 * and checks what it is before a byte is read. */
static int open_checked(const char *path, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_size, "Redis auth file %s: %s", path,
                 errno == ELOOP ? "is a symbolic link" : strerror(errno));
        return -1;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if ((st.st_mode & 066) != 0)
        why = "group or others may read or write it (chmod 600)";
    else if (st.st_size > REDIS_AUTH_FILE_MAX)
        why = "larger than 1 KiB";
    if (why != NULL) {
        if ((st.st_mode & 066) != 0 && S_ISREG(st.st_mode))
            snprintf(err, err_size, "Redis auth file %s: mode %04o: %s", path,
                     (unsigned)(st.st_mode & 07777), why);
        else
            snprintf(err, err_size, "Redis auth file %s: %s", path, why);
        close(fd);
        return -1;
    }
    return fd;
}

int redis_auth_read(redis_auth_t *out, const char *path, char *err,
                    size_t err_size)
{
    memset(out, 0, sizeof(*out));
    int fd = open_checked(path, err, err_size);
    if (fd < 0)
        return -1;
    char buf[REDIS_AUTH_FILE_MAX + 1];
    size_t len = 0;
    int rc = read_all(fd, buf, sizeof(buf), &len);
    int saved = errno;
    close(fd);
    if (rc != 0 || len > REDIS_AUTH_FILE_MAX) {
        snprintf(err, err_size, "Redis auth file %s: %s", path,
                 rc != 0 ? strerror(saved) : "larger than 1 KiB");
        explicit_bzero(buf, sizeof(buf));
        return -1;
    }
    const char *why = NULL;
    rc = redis_auth_parse(out, buf, len, &why);
    explicit_bzero(buf, sizeof(buf));
    if (rc != 0) {
        snprintf(err, err_size, "Redis auth file %s: %s", path, why);
        return -1;
    }
    return 0;
}

void redis_auth_clear(redis_auth_t *auth)
{
    /* Not memset: stores to memory freed next may be optimised away. */
    explicit_bzero(auth, sizeof(*auth));
}
