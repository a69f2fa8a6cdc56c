/* mod_expacme.h — what the module's files share: the per-server
 * configuration and the numbered log tags. */
#ifndef MOD_EXPACME_H
#define MOD_EXPACME_H

#include "httpd.h"
#include "http_config.h"

/* Our own message numbers, in the spirit of httpd's APLOGNO (the AH
 * numbers belong to httpd): grep-able, stable across releases. */
#define EXPLOGNO(n) "EXP" #n ": "

#define EXPACME_CHALLENGE_PREFIX "/.well-known/acme-challenge/"

typedef enum {
    EXPACME_MODE_UNSET = -1,
    EXPACME_MODE_OFF = 0,
    EXPACME_MODE_REDIRECT,
    EXPACME_MODE_CHALLENGE_ONLY
} expacme_http_mode_t;

typedef struct {
    expacme_http_mode_t http_mode; /* per virtual host */
    int https_port;                /* per virtual host; -1 unset */
    const char *store_path;        /* global: the shm: file, or NULL */
    const char *status_file;       /* global */
    /* global: the Redis directives (redis_store.h), NULL until one is
     * given; one struct shared by every virtual host.  Its url is set
     * when the store is Redis. */
    struct expacme_redis_conf *redis;
} expacme_server_conf_t;

extern module AP_MODULE_DECLARE_DATA expacme_module;

/* http_port.c: the port-80 decision, run as the first quick_handler. */
int http_port_handle(request_rec *r, int lookup_uri);

/* status_handler.c: `SetHandler expacme-status`, and a section in
 * mod_status's server-status. */
int status_handler_handle(request_rec *r);
int status_handler_server_status(request_rec *r, int flags);

/* tls_alpn.c: tls-alpn-01 inside mod_ssl (RFC 8737). */
int tls_alpn_propose(conn_rec *c, request_rec *r, server_rec *s,
                     const apr_array_header_t *offers,
                     apr_array_header_t *proposals);
int tls_alpn_switch(conn_rec *c, request_rec *r, server_rec *s,
                    const char *protocol);
int tls_alpn_answer(conn_rec *c, const char *server_name,
                    const char **pcert_pem, const char **pkey_pem);
/* cluster_status.c: with a Redis store, every peer's report beside this
 * one's (JSON: {"local":DOC,"peers":[...]}). */
void cluster_status_json(request_rec *r, void (*local)(request_rec *r));
void cluster_status_html(request_rec *r);
void cluster_status_server_status(request_rec *r, int flags);

#endif
