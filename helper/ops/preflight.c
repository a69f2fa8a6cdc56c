/* preflight.c — see preflight.h. */
#include "ops/preflight.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apr_strings.h"

#include "acme/acme_order.h"
#include "base/base64url.h"
#include "base/dns_client.h"
#include "base/http_probe.h"
#include "base/tls_probe.h"
#include "crypto/crypt_challenge.h"
#include "crypto/crypt_random.h"
#include "ops/challenge_alpn.h"
#include "ops/challenge_publish.h"

#define PROBE_TTL 60
#define PROBE_TIMEOUT (apr_time_from_sec(5))
#define PUBLIC_TIMEOUT (apr_time_from_sec(2))

typedef struct {
    const ops_ctx_t *ctx;
    const expacme_cert_conf_t *conf;
    int public_path;
    apr_pool_t *pool;
} preflight_t;

static const char *probe_token(apr_pool_t *pool)
{
    unsigned char bytes[18];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (unsigned char)crypt_random_below(256);
    return base64url_encode(pool, bytes, sizeof(bytes));
}

static int fail(preflight_check_t *c, const char *detail)
{
    c->ok = 0;
    c->detail = detail;
    return 0;
}

static int pass(preflight_check_t *c, const char *detail)
{
    c->ok = 1;
    c->detail = detail;
    return 1;
}

static int check_hook(preflight_t *pf, preflight_check_t *c)
{
    const char *hook = pf->conf->dns_hook;
    struct stat st;
    if (hook == NULL)
        return fail(c, "dns-01 needs dns_hook in the [cert] section");
    if (stat(hook, &st) != 0 || !S_ISREG(st.st_mode) ||
        (st.st_mode & 0111) == 0)
        return fail(c, apr_psprintf(pf->pool,
                                    "dns_hook %s is not an executable file",
                                    hook));
    return pass(c, apr_psprintf(pf->pool,
                                "dns_hook %s is executable (not probed: a "
                                "probe record would change the zone)",
                                hook));
}

/* An http-01 name's probe: its token, published with every other name's
 * of the certificate in one store session (a session locks the store
 * against the run's other writers), withdrawn together after. */
typedef struct {
    preflight_check_t *check;
    const apr_array_header_t *addrs;
    const char *token;
    const char *keyauth;
} probe_t;

static apr_status_t
probes_put(preflight_t *pf, const apr_array_header_t *probes, const char **err)
{
    if (probes->nelts == 0)
        return APR_SUCCESS;
    challenge_publish_t *store = NULL;
    const char *why = NULL;
    apr_status_t rv =
        challenge_publish_open(&store, pf->ctx->config, err, pf->pool);
    if (rv != APR_SUCCESS)
        return rv;
    /* The probes run one after another: the last one's token must
     * still be there after all the others have timed out. */
    apr_int64_t expires =
        (apr_int64_t)time(NULL) + PROBE_TTL +
        probes->nelts * apr_time_sec(PROBE_TIMEOUT + PUBLIC_TIMEOUT);
    for (int i = 0; i < probes->nelts && rv == APR_SUCCESS; i++) {
        const probe_t *p = &APR_ARRAY_IDX(probes, i, probe_t);
        rv = challenge_publish_put(store, p->check->name, p->token, p->keyauth,
                                   expires, &why);
    }
    if (rv == APR_SUCCESS)
        challenge_publish_settle(store);
    challenge_publish_close(store);
    if (rv != APR_SUCCESS)
        *err = apr_psprintf(pf->pool, "cannot publish the probe: %s", why);
    return rv;
}

static void probes_withdraw(preflight_t *pf, const apr_array_header_t *probes)
{
    apr_array_header_t *tokens =
        apr_array_make(pf->pool, probes->nelts, sizeof(const char *));
    for (int i = 0; i < probes->nelts; i++)
        APR_ARRAY_PUSH(tokens, const char *) =
            APR_ARRAY_IDX(probes, i, probe_t).token;
    const char *werr = NULL;
    challenge_publish_withdraw(pf->ctx->config, tokens, &werr, pf->pool);
}

/* What an answer to the probe says, in the words of what to check. */
static const char *http_seen(preflight_t *pf, const char *address,
                             const http_probe_result_t *r, const char *keyauth)
{
    const char *store = pf->ctx->config->challenge_store;
    if (r->status == 200 && strcmp(r->body, keyauth) == 0)
        return NULL;
    if (r->status == 200)
        return apr_psprintf(pf->pool,
                            "httpd on %s answered 200 with something else "
                            "than the probe (another handler serves the "
                            "challenge path?)",
                            address);
    if (r->status == 301 || r->status == 302 || r->status == 404)
        return apr_psprintf(
            pf->pool,
            "httpd on %s answered %d%s%s to the probe token: the module "
            "did not find it (is mod_expacme on this name's virtual host, "
            "and ExpAcmeChallengeStore the same store as challenge_store "
            "%s?)",
            address, r->status, r->location ? " to " : "",
            r->location ? acme_escape(r->location, 200, pf->pool) : "", store);
    return apr_psprintf(pf->pool, "httpd on %s answered %d to the probe token",
                        address, r->status);
}

static const char *http_ask(preflight_t *pf, const char *address,
                            const char *host, const char *token,
                            const char *keyauth, apr_interval_time_t timeout)
{
    http_probe_result_t r;
    const char *err = NULL;
    const char *path =
        apr_pstrcat(pf->pool, "/.well-known/acme-challenge/", token, NULL);
    if (http_probe_get(&r, address, host, path, timeout, &err, pf->pool) !=
        APR_SUCCESS)
        return err;
    return http_seen(pf, address, &r, keyauth);
}

static const char *public_address(const char *addr, const char *port,
                                  apr_pool_t *pool)
{
    return strchr(addr, ':') ? apr_psprintf(pool, "[%s]:%s", addr, port)
                             : apr_psprintf(pool, "%s:%s", addr, port);
}

/* put_err: why the probes could not be published (NULL: they were). */
static int check_http(preflight_t *pf, const probe_t *probe,
                      const char *put_err)
{
    preflight_check_t *c = probe->check;
    const char *address = pf->ctx->config->check_http_address;
    if (put_err != NULL)
        return fail(c, put_err);
    /* As a CA asks: an IPv6 literal in brackets in Host (RFC 8738). */
    const char *host = strchr(c->name, ':') != NULL
                           ? apr_pstrcat(pf->pool, "[", c->name, "]", NULL)
                           : c->name;
    const char *seen = http_ask(pf, address, host, probe->token, probe->keyauth,
                                PROBE_TIMEOUT);
    if (pf->public_path && probe->addrs != NULL && probe->addrs->nelts > 0) {
        const char *pub = public_address(
            APR_ARRAY_IDX(probe->addrs, 0, const char *), "80", pf->pool);
        const char *p = http_ask(pf, pub, host, probe->token, probe->keyauth,
                                 PUBLIC_TIMEOUT);
        c->public_path =
            p ? p : apr_psprintf(pf->pool, "%s answered the probe", pub);
    }
    if (seen != NULL)
        return fail(c, seen);
    return pass(
        c, apr_psprintf(pf->pool, "httpd on %s answered the probe", address));
}

static const char *alpn_ask(preflight_t *pf, const char *address,
                            const char *host, const char *keyauth,
                            apr_interval_time_t timeout)
{
    X509 *leaf = NULL;
    const char *err = NULL;
    if (tls_probe_alpn_leaf(&leaf, address, host, "acme-tls/1", timeout, &err,
                            pf->pool) != APR_SUCCESS)
        return apr_psprintf(pf->pool,
                            "%s, %s (is acme-tls/1 in Protocols of this "
                            "name's TLS virtual host?)",
                            address, err);
    if (!crypt_challenge_alpn_matches(leaf, keyauth))
        return apr_psprintf(pf->pool,
                            "%s selected acme-tls/1 but served another "
                            "certificate than the probe's (is "
                            "ExpAcmeChallengeStore the same store as "
                            "challenge_store %s?)",
                            address, pf->ctx->config->challenge_store);
    return NULL;
}

static int check_alpn(preflight_t *pf, preflight_check_t *c,
                      const apr_array_header_t *addrs)
{
    const char *address = pf->ctx->config->check_tls_address;
    const char *keyauth =
        apr_pstrcat(pf->pool, probe_token(pf->pool), ".probe", NULL);
    const char *err = NULL;
    apr_int64_t expires = (apr_int64_t)time(NULL) + PROBE_TTL;
    if (challenge_alpn_put(pf->ctx->config, c->name, keyauth, expires, &err,
                           pf->pool) != APR_SUCCESS)
        return fail(c, err);
    const char *seen = alpn_ask(pf, address, c->name, keyauth, PROBE_TIMEOUT);
    if (pf->public_path && addrs != NULL && addrs->nelts > 0) {
        const char *pub = public_address(APR_ARRAY_IDX(addrs, 0, const char *),
                                         "443", pf->pool);
        const char *p = alpn_ask(pf, pub, c->name, keyauth, PUBLIC_TIMEOUT);
        c->public_path =
            p ? p : apr_psprintf(pf->pool, "%s answered the probe", pub);
    }
    challenge_alpn_del(pf->ctx->config, c->name, &err, pf->pool);
    if (seen != NULL)
        return fail(c, seen);
    return pass(c, apr_psprintf(pf->pool,
                                "httpd on %s answered the acme-tls/1 probe",
                                address));
}

/* The challenge type and the name's addresses; 1 when it still needs
 * its probe (http-01 or tls-alpn-01), else decided here. */
static int check_first(preflight_t *pf, preflight_check_t *c,
                       apr_array_header_t **addrs)
{
    *addrs = NULL;
    c->type = acme_order_type_for(pf->conf->challenge_types, c->name);
    if (c->type == NULL)
        return fail(c, "no configured challenge type can validate this name "
                       "(a wildcard needs dns-01, an IP address http-01)");
    if (strcmp(c->type, "dns-01") == 0) {
        check_hook(pf, c);
        return 0;
    }
    const char *err = NULL;
    if (!acme_order_name_is_ip(c->name) &&
        dns_client_addresses(addrs, pf->ctx->config->dns_resolver, c->name,
                             PROBE_TIMEOUT, &err, pf->pool) != APR_SUCCESS)
        return fail(c, apr_psprintf(pf->pool, "no address: %s", err));
    if (strcmp(c->type, "http-01") == 0 &&
        pf->ctx->config->challenge_window_include != NULL) {
        pass(c, "not probed: port 80 opens only for the challenge window");
        return 0;
    }
    return 1;
}

void preflight_run(preflight_result_t *result, const ops_ctx_t *ctx,
                   const expacme_cert_conf_t *conf,
                   const apr_array_header_t *names, int public_path)
{
    preflight_t pf = {ctx, conf, public_path, ctx->pool};
    /* Made with room for every name: the checks never move, and the
     * probes point at them. */
    result->checks =
        apr_array_make(ctx->pool, names->nelts, sizeof(preflight_check_t));
    result->failed = 0;
    apr_array_header_t *http =
        apr_array_make(ctx->pool, names->nelts, sizeof(probe_t));
    for (int i = 0; i < names->nelts; i++) {
        preflight_check_t *c = apr_array_push(result->checks);
        memset(c, 0, sizeof(*c));
        c->name = APR_ARRAY_IDX(names, i, const char *);
        apr_array_header_t *addrs = NULL;
        if (!check_first(&pf, c, &addrs))
            continue;
        if (strcmp(c->type, "http-01") != 0) {
            check_alpn(&pf, c, addrs);
            continue;
        }
        probe_t *p = apr_array_push(http);
        p->check = c;
        p->addrs = addrs;
        p->token = probe_token(pf.pool);
        p->keyauth = apr_pstrcat(pf.pool, p->token, ".probe", NULL);
    }
    const char *put_err = NULL;
    probes_put(&pf, http, &put_err);
    for (int i = 0; i < http->nelts; i++)
        check_http(&pf, &APR_ARRAY_IDX(http, i, probe_t), put_err);
    /* Those published before a put failed go too. */
    probes_withdraw(&pf, http);
    for (int i = 0; i < names->nelts; i++)
        result->failed +=
            !APR_ARRAY_IDX(result->checks, i, preflight_check_t).ok;
}
