/* status_doc.c — the parser of the status line form; see
 * common/status_flat.h for the format and why it is this simple. */
#include "status_doc.h"
#include "status_flat.h"
#include "file_lock.h"

#include <string.h>

#include "apr_file_io.h"
#include "apr_portable.h"
#include "apr_lib.h"
#include "apr_strings.h"

/* [a-z0-9_.]{1,64} */
static int key_valid(const char *key)
{
    size_t n = 0;
    for (; key[n] != '\0'; n++) {
        char c = key[n];
        if (!(apr_islower(c) || apr_isdigit(c) || c == '_' || c == '.'))
            return 0;
    }
    return n > 0 && n <= STATUS_FLAT_KEY_MAX;
}

/* The writer promises no control characters; a reader still makes sure,
 * so nothing it passes on can break a line of ?auto or a log. */
static void scrub(char *value)
{
    for (unsigned char *c = (unsigned char *)value; *c != '\0'; c++) {
        if (*c < 0x20 || *c == 0x7f)
            *c = ' ';
    }
}

/* One "KEY VALUE" line into the document. */
static void take_line(status_doc_t *doc, char *line, apr_pool_t *pool)
{
    char *space = strchr(line, ' ');
    const char *value = "";
    if (space != NULL) {
        *space = '\0';
        value = space + 1;
    }
    if (!key_valid(line))
        return;
    scrub((char *)value);
    if (strcmp(line, STATUS_FLAT_CERT) == 0) {
        status_doc_cert_t *cert = apr_array_push(doc->certs);
        cert->name = value;
        cert->fields = apr_table_make(pool, 8);
        return;
    }
    if (doc->certs->nelts == 0)
        apr_table_addn(doc->header.fields, line, value);
    else
        apr_table_addn(
            APR_ARRAY_IDX(doc->certs, doc->certs->nelts - 1, status_doc_cert_t)
                .fields,
            line, value);
}

/* The next line without its end (LF, or CRLF), or NULL at the end. */
static char *next_line(char *text, char **state)
{
    char *line = apr_strtok(text, "\n", state);
    size_t n = line != NULL ? strlen(line) : 0;
    if (n > 0 && line[n - 1] == '\r')
        line[n - 1] = '\0';
    return line;
}

apr_status_t status_doc_parse(status_doc_t **out, char *text, apr_pool_t *pool)
{
    status_doc_t *doc = apr_pcalloc(pool, sizeof(*doc));
    doc->header.fields = apr_table_make(pool, 4);
    doc->certs = apr_array_make(pool, 4, sizeof(status_doc_cert_t));
    char *state = NULL;
    char *line = next_line(text, &state);
    const char *magic = STATUS_FLAT_MAGIC " 1";
    *out = NULL;
    if (line == NULL || strcmp(line, magic) != 0)
        return APR_EGENERAL;
    while ((line = next_line(NULL, &state)) != NULL) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        doc->complete = strcmp(line, STATUS_FLAT_END) == 0;
        if (!doc->complete)
            take_line(doc, line, pool);
    }
    *out = doc;
    return APR_SUCCESS;
}

const char *status_doc_flat_path(const char *status_file, apr_pool_t *pool)
{
    size_t n = strlen(status_file);
    if (n > 5 && strcmp(status_file + n - 5, ".json") == 0)
        return apr_pstrcat(pool, apr_pstrndup(pool, status_file, n - 5),
                           STATUS_FLAT_SUFFIX, NULL);
    return apr_pstrcat(pool, status_file, STATUS_FLAT_SUFFIX, NULL);
}

apr_status_t status_doc_open(apr_file_t **file, apr_off_t *size,
                             const char *path, apr_off_t max, apr_pool_t *pool)
{
    apr_finfo_t finfo;
    apr_os_file_t fd = -1;
    apr_status_t rv =
        apr_file_open(file, path, APR_FOPEN_READ | APR_FOPEN_NONBLOCK, 0, pool);
    if (rv != APR_SUCCESS)
        return rv;
    if (apr_os_file_get(&fd, *file) == APR_SUCCESS)
        file_lock_shared_wait(fd, 200);
    rv = apr_file_info_get(&finfo, APR_FINFO_SIZE | APR_FINFO_TYPE, *file);
    if (rv == APR_SUCCESS &&
        (finfo.filetype != APR_REG || (max >= 0 && finfo.size > max)))
        rv = APR_EGENERAL;
    if (rv != APR_SUCCESS) {
        apr_file_close(*file);
        *file = NULL;
        return rv;
    }
    *size = finfo.size;
    return APR_SUCCESS;
}

apr_status_t status_doc_read(status_doc_t **out, const char *status_file,
                             apr_pool_t *pool)
{
    apr_file_t *file = NULL;
    apr_off_t size = 0;
    *out = NULL;
    apr_status_t rv =
        status_doc_open(&file, &size, status_doc_flat_path(status_file, pool),
                        STATUS_FLAT_FILE_MAX, pool);
    if (rv != APR_SUCCESS)
        return rv;
    apr_size_t len = (apr_size_t)size;
    char *text = apr_palloc(pool, len + 1);
    rv = apr_file_read_full(file, text, len, &len);
    if (APR_STATUS_IS_EOF(rv))
        rv = APR_SUCCESS; /* shrank under us: parse what is there */
    apr_file_close(file);
    if (rv != APR_SUCCESS)
        return rv;
    text[len] = '\0';
    /* A NUL inside would hide the rest: the file is not ours. */
    if (strlen(text) != len)
        return APR_EGENERAL;
    return status_doc_parse(out, text, pool);
}

const char *status_doc_get(const status_doc_cert_t *cert, const char *key)
{
    return apr_table_get(cert->fields, key);
}

int status_doc_time(const status_doc_cert_t *cert, const char *key,
                    apr_int64_t *t)
{
    return status_doc_time_value(status_doc_get(cert, key), t);
}

int status_doc_time_value(const char *v, apr_int64_t *t)
{
    char *end = NULL;
    if (v == NULL || !apr_isdigit(v[0]))
        return 0;
    apr_int64_t n = apr_strtoi64(v, &end, 10);
    /* up to the year 9999: what a date can show */
    if (*end != '\0' || n <= 0 || n > APR_INT64_C(253402300799))
        return 0;
    *t = n;
    return 1;
}

typedef struct {
    apr_array_header_t *values;
} collect_t;

static int collect(void *baton, const char *key, const char *value)
{
    collect_t *c = baton;
    APR_ARRAY_PUSH(c->values, const char *) = value;
    return 1;
}

apr_array_header_t *status_doc_all(const status_doc_cert_t *cert,
                                   const char *key, apr_pool_t *pool)
{
    collect_t c = {apr_array_make(pool, 4, sizeof(const char *))};
    apr_table_do(collect, &c, cert->fields, key, NULL);
    return c.values;
}
