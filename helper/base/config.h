/* config.h — expacme.conf: plain `key = value` lines, `#` comments and
 * `[cert NAME]` sections (manual §3). */
#ifndef EXPACME_CONFIG_H
#define EXPACME_CONFIG_H

#include "apr_pools.h"
#include "apr_tables.h"

/* SYSCONFDIR/expacme/expacme.conf: Makefile.am passes the configured
 * sysconfdir as EXPACME_CONFIG_DEFAULT. */
#ifndef EXPACME_CONFIG_DEFAULT
#define EXPACME_CONFIG_DEFAULT "/etc/expacme/expacme.conf"
#endif
#define CONFIG_DEFAULT_PATH EXPACME_CONFIG_DEFAULT

typedef struct {
    const char *name;
    const char *cert_file;
    const char *key_file;
    const char *sni;        /* name deploy asks the HTTPS listener for; NULL:
                               the certificate's first name */
    const char *challenges; /* as written: "http-01 tls-alpn-01 dns-01" */
    apr_array_header_t *challenge_types; /* const char *, preferred first */
    const char *dns_hook;   /* PROGRAM add|del NAME VALUE, or NULL */
    const char *cert_file2; /* the second pair (RSA beside ECDSA), or */
    const char *key_file2;  /* NULL: SPEC §2 */
} expacme_cert_conf_t;

typedef struct {
    const char *path; /* the file read, or NULL when defaults only */
    const char *state_dir;
    const char *challenge_store;           /* "shm:/path" or a Redis URL */
    const char *challenge_store_auth_file; /* Redis credentials, or NULL */
    const char *cluster_peer; /* this peer's name in the cluster's status
                                 reports; default: the host name */
    unsigned long challenge_capacity; /* slots of a newly created store */
    const char *status_file;
    const char *apachectl;
    const char *https_address;
    const char *configtest_command;       /* NULL: "<apachectl> configtest" */
    const char *graceful_command;         /* NULL: "<apachectl> graceful" */
    const char *notify_command;           /* NULL: none */
    const char *challenge_window_include; /* see challenge_window.h */
    const char *challenge_window_listen;
    unsigned long deploy_timeout;     /* seconds to see the new certificate */
    unsigned long ca_connect_timeout; /* seconds */
    unsigned long ca_timeout;         /* seconds, one request */
    unsigned long order_timeout;      /* seconds, one whole order */
    const char *dns_resolver;         /* "HOST:PORT"; NULL: the system's */
    const char *check_http_address;   /* pre-flight probe, plain HTTP */
    const char *check_tls_address;    /* pre-flight probe, tls-alpn-01 */
    unsigned long dns_hook_timeout;   /* seconds for one hook run */
    unsigned long dns_wait;           /* seconds for a TXT record to show */
    unsigned long renew_concurrency;  /* orders renew runs at a time */
    const char *network_user;         /* the network and key processes' user
                                         (SPEC §10); "nobody" when it does not
                                         exist */
    apr_array_header_t *certs;     /* expacme_cert_conf_t *; "server" first */
    struct apr_hash_t *cert_index; /* name -> cert, once loaded; or NULL */
} expacme_config_t;

/* Reads path (or $EXPACME_CONFIG, or the default).  A file named
 * explicitly must exist; the default may be absent.  On error *out is
 * NULL and *err says which line and why. */
apr_status_t config_load(expacme_config_t **out, const char **err,
                         const char *path, apr_pool_t *pool);

/* Parses text[0..len) (NUL-terminated, modified in place) as the file
 * name says in errors: what config_load does once it has read the file. */
apr_status_t config_parse(expacme_config_t **out, const char **err,
                          const char *name, char *text, apr_size_t len,
                          apr_pool_t *pool);

const expacme_cert_conf_t *config_cert(const expacme_config_t *config,
                                       const char *name);

/* 1 when name can name a managed certificate, provider or account (and
 * so a directory under state_dir): 1..253 of [A-Za-z0-9._-], not
 * starting with '.'. */
int config_name_valid(const char *name);

/* 1 when the certificate's challenges list type ("dns-01", ...). */
int config_cert_allows(const expacme_cert_conf_t *cert, const char *type);

/* The file path of a "shm:" challenge store, or NULL (with *err; a
 * Redis store is ops/challenge_publish.c's). */
const char *config_store_path(const expacme_config_t *config, const char **err);

#endif
