/* status_doc.h — the status expacmectl published, read from its line form
 * (common/status_flat.h) into tables the page is made from. */
#ifndef MOD_EXPACME_STATUS_DOC_H
#define MOD_EXPACME_STATUS_DOC_H

#include "apr_file_io.h"
#include "apr_pools.h"
#include "apr_tables.h"

typedef struct {
    const char *name;
    apr_table_t *fields; /* key -> value; repeated keys in file order */
} status_doc_cert_t;

typedef struct {
    status_doc_cert_t header;  /* keys before the first certificate */
    apr_array_header_t *certs; /* status_doc_cert_t */
    int complete;              /* the "end" line was there */
} status_doc_t;

/* Parses text (NUL-terminated, changed in place; its lines end up in the
 * tables).  APR_EGENERAL when the first line is not the magic. */
apr_status_t status_doc_parse(status_doc_t **out, char *text, apr_pool_t *pool);

/* The flat file beside the JSON status file: ".json" -> ".flat". */
const char *status_doc_flat_path(const char *status_file, apr_pool_t *pool);

/* Opens a status file for reading: NONBLOCK and only a regular file of
 * at most max bytes (max < 0: any size), so that a FIFO or a huge file in
 * its place cannot hang or swamp the worker; *size is its size.  It is
 * held with a shared lock for as long as it stays open: the helper
 * rewrites its status files in place through a spare, never one a reader
 * holds (helper/base/state.c), so what is read or sent stays whole.  A
 * rewrite under way takes microseconds (an fsync at most milliseconds);
 * one stopped is not waited for past about 200 ms.  APR_ENOENT when
 * there is no file. */
apr_status_t status_doc_open(apr_file_t **file, apr_off_t *size,
                             const char *path, apr_off_t max, apr_pool_t *pool);

/* Reads and parses the flat file; APR_ENOENT when there is none. */
apr_status_t status_doc_read(status_doc_t **out, const char *status_file,
                             apr_pool_t *pool);

/* The value of key, NULL when absent (the first of a repeated key). */
const char *status_doc_get(const status_doc_cert_t *cert, const char *key);

/* A time value: 1 and *t set when the value is a plausible time. */
int status_doc_time_value(const char *v, apr_int64_t *t);
/* The same for the value of key. */
int status_doc_time(const status_doc_cert_t *cert, const char *key,
                    apr_int64_t *t);

/* Every value of a repeated key, in order (an empty array if none). */
apr_array_header_t *status_doc_all(const status_doc_cert_t *cert,
                                   const char *key, apr_pool_t *pool);

#endif
