/* tls_alpn.c — tls-alpn-01 (RFC 8737) inside mod_ssl.
 *
 * A CA validating tls-alpn-01 opens a TLS connection offering only the
 * ALPN protocol "acme-tls/1", with the name as SNI.  httpd asks the
 * protocol_propose hooks what to offer; core keeps only protocols the
 * virtual host's `Protocols` lists, so a vhost without acme-tls/1 never
 * gets here.  Once acme-tls/1 is selected (protocol_switch), mod_ssl asks
 * ssl_answer_challenge for the certificate to present instead of the
 * configured one; we hand it the PEM strings expacmectl published for that
 * name beside the challenge store (common/alpn_store.h), only while the
 * answer has not expired.  No HTTP is spoken on such a connection: it is
 * closed after the handshake.  Every other connection, on the same port,
 * gets the vhost's own certificate as before. */
#include "mod_expacme.h"

#include <string.h>

#include "apr_strings.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_ssl.h"

#include "alpn_store.h"

APLOG_USE_MODULE(expacme);

#define ACME_TLS_1 "acme-tls/1"

static int is_acme_tls(conn_rec *c)
{
    return ap_get_module_config(c->conn_config, &expacme_module) != NULL;
}

int tls_alpn_propose(conn_rec *c, request_rec *r, server_rec *s,
                     const apr_array_header_t *offers,
                     apr_array_header_t *proposals)
{
    /* Core keeps only what Protocols allows; asking too costs nothing and
     * does not depend on it. */
    if (r != NULL || offers == NULL || !ap_ssl_conn_is_ssl(c) ||
        !ap_array_str_contains(offers, ACME_TLS_1) ||
        !ap_is_allowed_protocol(c, NULL, s, ACME_TLS_1))
        return DECLINED;
    APR_ARRAY_PUSH(proposals, const char *) = ACME_TLS_1;
    return OK;
}

int tls_alpn_switch(conn_rec *c, request_rec *r, server_rec *s,
                    const char *protocol)
{
    (void)s;
    if (r != NULL || !ap_ssl_conn_is_ssl(c) || strcmp(protocol, ACME_TLS_1))
        return DECLINED;
    /* Marks the connection: only these get a challenge certificate. */
    ap_set_module_config(c->conn_config, &expacme_module, (void *)ACME_TLS_1);
    c->keepalive = AP_CONN_CLOSE;
    return OK;
}

int tls_alpn_answer(conn_rec *c, const char *server_name,
                    const char **pcert_pem, const char **pkey_pem)
{
    const expacme_server_conf_t *conf =
        ap_get_module_config(c->base_server->module_config, &expacme_module);
    if (!is_acme_tls(c) || server_name == NULL || conf->store_path == NULL)
        return DECLINED;
    char *buf = apr_palloc(c->pool, ALPN_STORE_FILE_MAX + 2);
    const char *cert = NULL, *key = NULL;
    alpn_store_status_t st = alpn_store_lookup(
        conf->store_path, server_name, (int64_t)apr_time_sec(apr_time_now()),
        buf, ALPN_STORE_FILE_MAX + 2, &cert, &key);
    if (st != ALPN_STORE_OK) {
        ap_log_cerror(APLOG_MARK, APLOG_DEBUG, 0, c,
                      "no tls-alpn-01 answer for %s: %s", server_name,
                      alpn_store_status_text(st));
        return DECLINED;
    }
    *pcert_pem = cert;
    *pkey_pem = key;
    ap_log_cerror(APLOG_MARK, APLOG_INFO, 0, c,
                  EXPLOGNO(01200) "answered tls-alpn-01 challenge for %s",
                  server_name);
    return OK;
}
