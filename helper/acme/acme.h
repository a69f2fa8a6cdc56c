/* acme.h — an RFC 8555 session with one CA: the directory, the nonce
 * pool, signed requests (JWS with jwk, then kid), badNonce retries,
 * Retry-After on 503 and rateLimited, and problem documents.  Accounts
 * and orders (acme_account.c, acme_order.c) are built on acme_post. */
#ifndef EXPACME_ACME_H
#define EXPACME_ACME_H

#include <jansson.h>

#include "apr_pools.h"
#include "apr_tables.h"

#include "acme/http.h"
#include "acme/jws.h"

/* RFC 8555 §6.7 problem document, as the CA sent it (strings escaped
 * only when printed). */
typedef struct {
    const char *identifier; /* "dns:www.example.org"; NULL at top level */
    const char *type;
    const char *detail;
} acme_subproblem_t;

typedef struct {
    int http_status;
    const char *type; /* "urn:ietf:params:acme:error:badNonce", ... */
    const char *detail;
    long retry_after_s;              /* -1 when none */
    apr_array_header_t *subproblems; /* acme_subproblem_t */
} acme_problem_t;

typedef void acme_progress_fn(void *baton, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

typedef struct {
    http_options_t http;
    int bad_nonce_retries;  /* default 20: a CA rejecting half of all
                               nonces still gets through a 100-name
                               order; one rejecting all is given up on
                               within milliseconds */
    long max_retry_after_s; /* wait at most this long for a 503/429
                               Retry-After inside one command (default 60) */
    acme_progress_fn *progress;
    void *progress_baton;
} acme_options_t;

/* A CA shared by the sessions of a concurrent run (acme/acme_ca.h). */
typedef struct acme_ca acme_ca_t;

/* Which kind of request a session is making, for the CA view's lanes
 * (acme_ca.h); ANY requests pass freely. */
typedef enum {
    ACME_LANE_ANY = 0,
    ACME_LANE_NEW_ORDER,
    ACME_LANE_AUTHZ,
    ACME_LANES
} acme_lane_t;

typedef struct acme_session {
    apr_pool_t *pool;
    acme_ca_t *ca; /* the shared view, or NULL for a session of its own */
    http_client_t *http;
    acme_options_t options;
    const char *directory_url;
    json_t *directory;
    const char *new_nonce_url;
    const char *new_account_url;
    const char *new_order_url;
    const char *revoke_cert_url;
    const char *key_change_url;
    const char *renewal_info_url; /* NULL unless the CA offers ARI */
    const char *terms_of_service;
    int eab_required;
    json_t *profiles;           /* meta.profiles object, or NULL */
    apr_array_header_t *nonces; /* const char * */
    jws_signer_t signer;
    acme_problem_t *problem; /* of the last failed request */
    acme_lane_t lane; /* of the requests now made: the order code sets it */
} acme_session_t;

/* Fills in the defaults of what options leaves 0. */
void acme_options_defaults(acme_options_t *options);

/* Fetches the directory.  APR_SUCCESS or an error in *err; transport
 * failures keep their http.h status (http_error_unreachable). */
apr_status_t acme_session_open(acme_session_t **out, const char *directory_url,
                               const acme_options_t *options, const char **err,
                               apr_pool_t *pool);

/* Signed POST of payload (NULL: POST-as-GET) to url.  Success means a 2xx
 * answer; a problem document lands in session->problem and *err says
 * "CA answered <status>: <type>: <detail>". */
apr_status_t acme_post(http_response_t **out, acme_session_t *session,
                       const char *url, const json_t *payload,
                       const char *accept, const char **err, apr_pool_t *pool);

/* POST and parse the answer as a JSON object. */
apr_status_t acme_post_json(json_t **out, http_response_t **resp,
                            acme_session_t *session, const char *url,
                            const json_t *payload, const char **err,
                            apr_pool_t *pool);

/* Reads a problem document out of an error response (what it can: a
 * malformed body still gives the HTTP status). */
acme_problem_t *acme_problem_parse(const http_response_t *resp,
                                   apr_pool_t *pool);

/* A problem document found inside another object (a challenge's
 * "error", an order's "error"); strings copied to pool. */
acme_problem_t *acme_problem_from_json(const json_t *doc, int http_status,
                                       apr_pool_t *pool);

/* The problem as one line (type and detail verbatim but with control
 * characters escaped, subproblems appended). */
const char *acme_problem_text(const acme_problem_t *problem, apr_pool_t *pool);

/* Makes s printable on one line: control characters and non-ASCII become
 * \xNN, and it is cut at max bytes. For every CA string we print. */
const char *acme_escape(const char *s, apr_size_t max, apr_pool_t *pool);

/* Waits seconds (in slices, returning early with APR_EINTR when
 * options.http.interrupted is set). */
apr_status_t acme_wait(acme_session_t *session, apr_interval_time_t wait);

/* RFC 9773: the CA's suggested renewal window for a certificate id
 * (crypt_cert_ari_id).  *retry_after_s is the CA's Retry-After (-1:
 * none).  APR_ENOTIMPL when the CA offers no renewalInfo. */
apr_status_t acme_renewal_info(apr_int64_t *start, apr_int64_t *end,
                               long *retry_after_s, acme_session_t *session,
                               const char *cert_id, const char **err,
                               apr_pool_t *pool);

/* RFC 3339 timestamp to epoch seconds; -1 when malformed. */
apr_int64_t acme_parse_rfc3339(const char *s);

#define ACME_ERROR_PREFIX "urn:ietf:params:acme:error:"

#endif
