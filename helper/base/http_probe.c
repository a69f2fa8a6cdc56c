/* http_probe.c — see http_probe.h. */
#include "base/http_probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apr_strings.h"

#include "base/tls_probe.h"

#define PROBE_MAX 8192

static void parse_answer(http_probe_result_t *result, char *raw,
                         apr_pool_t *pool)
{
    char *end = strstr(raw, "\r\n\r\n");
    result->body = end != NULL ? apr_pstrdup(pool, end + 4) : "";
    if (end != NULL)
        *end = '\0';
    if (strncmp(raw, "HTTP/1.", 7) == 0 && strlen(raw) > 12)
        result->status = atoi(raw + 9);
    for (char *line = strstr(raw, "\r\n"); line != NULL;
         line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Location:", 9) != 0)
            continue;
        char *v = line + 11;
        while (*v == ' ')
            v++;
        result->location = apr_pstrndup(pool, v, strcspn(v, "\r"));
    }
}

apr_status_t http_probe_get(http_probe_result_t *result, const char *address,
                            const char *host, const char *path,
                            apr_interval_time_t timeout, const char **err,
                            apr_pool_t *pool)
{
    memset(result, 0, sizeof(*result));
    int fd = tls_probe_connect(address, timeout, pool);
    if (fd < 0) {
        *err = apr_psprintf(pool, "nothing answers on %s (%s)", address,
                            strerror(errno));
        return APR_ECONNREFUSED;
    }
    const char *req = apr_psprintf(pool,
                                   "GET %s HTTP/1.0\r\nHost: %s\r\n"
                                   "User-Agent: expacmectl-check\r\n\r\n",
                                   path, host);
    char *raw = apr_palloc(pool, PROBE_MAX + 1);
    size_t len = 0;
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
        close(fd);
        *err = apr_psprintf(pool, "%s: cannot send the request", address);
        return APR_EGENERAL;
    }
    /* HTTP/1.0: the answer ends when the server closes. */
    for (;;) {
        ssize_t n = recv(fd, raw + len, PROBE_MAX - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len >= PROBE_MAX)
            break;
    }
    close(fd);
    raw[len] = '\0';
    if (len == 0) {
        *err = apr_psprintf(pool, "%s closed without an HTTP answer", address);
        return APR_EGENERAL;
    }
    parse_answer(result, raw, pool);
    return APR_SUCCESS;
}
