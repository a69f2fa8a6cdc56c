/* preflight.h — the pre-flight self-check of sign (SPEC §12): before any
 * order exists, what can be known for certain about each name.
 *
 *   http-01      the name resolves (dns_resolver), and this host's httpd,
 *                asked on check_http_address with the name as Host,
 *                answers a probe token published to our challenge store
 *   tls-alpn-01  the name resolves, and an acme-tls/1 handshake on
 *                check_tls_address with the name as SNI gets the probe's
 *                challenge certificate
 *   dns-01       the certificate's dns_hook is an executable file (a
 *                probe record would change the operator's zone)
 *
 * A name that fails cannot validate, so sign creates no order.  What this
 * host sees on the public path (the name's own addresses, ports 80 and
 * 443) is gathered only when asked (`sign --check`) and never decides
 * anything: NAT hairpins, split DNS and firewalls make it unknowable from
 * inside.  Probes live 60 s at most and are withdrawn before each check
 * returns. */
#ifndef EXPACME_PREFLIGHT_H
#define EXPACME_PREFLIGHT_H

#include "ops/ops.h"

typedef struct {
    const char *name;
    const char *type; /* the challenge type the order would use */
    int ok;
    const char *detail;      /* what was seen, one line */
    const char *public_path; /* --check only: information, or NULL */
} preflight_check_t;

typedef struct {
    apr_array_header_t *checks; /* preflight_check_t, one per name */
    int failed;
} preflight_result_t;

void preflight_run(preflight_result_t *result, const ops_ctx_t *ctx,
                   const expacme_cert_conf_t *conf,
                   const apr_array_header_t *names, int public_path);

#endif
