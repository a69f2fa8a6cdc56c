/* mod_expacme.c — configuration, directives and hook registration.
 * The port-80 behaviour lives in http_port.c, the store mapping in
 * store_attach.c, the status page in status_handler.c. */
#include "mod_expacme.h"
#include "redis_store.h"
#include "store_attach.h"

#include <string.h>

#include "apr_strings.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "mod_status.h"

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    expacme_server_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    conf->http_mode = EXPACME_MODE_UNSET;
    conf->https_port = -1;
    return conf;
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    const expacme_server_conf_t *base = basev;
    const expacme_server_conf_t *add = addv;
    expacme_server_conf_t *conf = apr_pcalloc(p, sizeof(*conf));
    conf->http_mode =
        add->http_mode != EXPACME_MODE_UNSET ? add->http_mode : base->http_mode;
    conf->https_port =
        add->https_port != -1 ? add->https_port : base->https_port;
    /* Global settings always come from the main server. */
    conf->store_path = base->store_path;
    conf->status_file = base->status_file;
    conf->redis = base->redis;
    return conf;
}

static expacme_server_conf_t *server_conf(const cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &expacme_module);
}

/* The Redis settings of this configuration, made by the first Redis
 * directive (they are global: cmd->server is the main server). */
static expacme_redis_conf_t *redis_conf(cmd_parms *cmd)
{
    expacme_server_conf_t *conf = server_conf(cmd);
    if (conf->redis == NULL)
        conf->redis = apr_pcalloc(cmd->pool, sizeof(*conf->redis));
    return conf->redis;
}

static const char *set_redis_store(cmd_parms *cmd, const char *arg)
{
    const char *why = NULL;
    expacme_redis_conf_t *redis = redis_conf(cmd);
    if (redis_layout_url_parse(&redis->where, arg, &why) != 0)
        /* Not echoing arg: it might carry a password after all. */
        return apr_pstrcat(cmd->pool, "ExpAcmeChallengeStore: ", why, NULL);
    redis->url = apr_pstrdup(cmd->pool, arg);
    server_conf(cmd)->store_path = NULL;
    return NULL;
}

static const char *set_challenge_store(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    if (err != NULL)
        return err;
    if (strncmp(arg, "shm:", 4) == 0) {
        const char *path = arg + 4;
        if (path[0] != '/')
            return "ExpAcmeChallengeStore shm: needs an absolute path, "
                   "e.g. shm:/run/expacme/challenges";
        server_conf(cmd)->store_path = apr_pstrdup(cmd->pool, path);
        if (server_conf(cmd)->redis != NULL)
            server_conf(cmd)->redis->url = NULL;
        return NULL;
    }
    if (redis_layout_is_url(arg))
        return set_redis_store(cmd, arg);
    return "ExpAcmeChallengeStore must be shm:PATH, redis://HOST:PORT[/PREFIX] "
           "or redis+unix:///SOCKET[?prefix=PREFIX]";
}

static const char *set_redis_auth_file(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    if (err != NULL)
        return err;
    /* Only the path now: the parent reads the file (as root) once the
     * whole configuration is known, in check_config. */
    const char *path = ap_server_root_relative(cmd->pool, arg);
    if (path == NULL)
        return "ExpAcmeRedisAuthFile: invalid path";
    redis_conf(cmd)->auth_file = path;
    return NULL;
}

static const char *set_redis_timeout(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    if (err != NULL)
        return err;
    char *end = NULL;
    apr_int64_t ms = apr_strtoi64(arg, &end, 10);
    if (end == arg || *end != '\0' || ms < 1 || ms > REDIS_STORE_MAX_TIMEOUT_MS)
        return "ExpAcmeRedisTimeout must be a number of milliseconds from 1 "
               "to 10000";
    redis_conf(cmd)->timeout_ms = (int)ms;
    return NULL;
}

static const char *set_http_mode(cmd_parms *cmd, void *dc, const char *arg)
{
    expacme_server_conf_t *conf = server_conf(cmd);
    if (strcasecmp(arg, "redirect") == 0)
        conf->http_mode = EXPACME_MODE_REDIRECT;
    else if (strcasecmp(arg, "challenge-only") == 0)
        conf->http_mode = EXPACME_MODE_CHALLENGE_ONLY;
    else if (strcasecmp(arg, "off") == 0)
        conf->http_mode = EXPACME_MODE_OFF;
    else
        return "ExpAcmeHttpMode must be redirect, challenge-only or off";
    return NULL;
}

static const char *set_https_port(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end = NULL;
    apr_int64_t port = apr_strtoi64(arg, &end, 10);
    if (end == arg || *end != '\0' || port < 1 || port > 65535)
        return "ExpAcmeHttpsPort must be a port number from 1 to 65535";
    server_conf(cmd)->https_port = (int)port;
    return NULL;
}

static const char *set_status_file(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    if (err != NULL)
        return err;
    server_conf(cmd)->status_file = ap_server_root_relative(cmd->pool, arg);
    if (server_conf(cmd)->status_file == NULL)
        return "ExpAcmeStatusFile: invalid path";
    return NULL;
}

static const command_rec expacme_cmds[] = {
    AP_INIT_TAKE1("ExpAcmeChallengeStore", set_challenge_store, NULL, RSRC_CONF,
                  "where open challenges live: shm:/path (single node), "
                  "redis://HOST:PORT[/PREFIX] or "
                  "redis+unix:///SOCKET[?prefix=PREFIX] (cluster)"),
    AP_INIT_TAKE1("ExpAcmeRedisAuthFile", set_redis_auth_file, NULL, RSRC_CONF,
                  "Redis credentials, one line PASSWORD or USER PASSWORD, "
                  "mode 0600; read once by the parent at start-up"),
    AP_INIT_TAKE1("ExpAcmeRedisTimeout", set_redis_timeout, NULL, RSRC_CONF,
                  "milliseconds a challenge lookup may wait for Redis "
                  "(default 100), then 404"),
    AP_INIT_TAKE1("ExpAcmeHttpMode", set_http_mode, NULL, RSRC_CONF,
                  "redirect | challenge-only | off: what this plain-HTTP "
                  "virtual host answers besides open challenges"),
    AP_INIT_TAKE1("ExpAcmeHttpsPort", set_https_port, NULL, RSRC_CONF,
                  "port in the HTTPS redirect target (default 443)"),
    AP_INIT_TAKE1("ExpAcmeStatusFile", set_status_file, NULL, RSRC_CONF,
                  "status JSON published by expacmectl, shown by the "
                  "expacme-status handler"),
    {NULL}};

/* Runs in the parent, as root, for `httpd -t` too: the Redis credentials
 * are read here, and a store that refuses them fails the configuration. */
static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                        server_rec *s)
{
    const expacme_server_conf_t *conf =
        ap_get_module_config(s->module_config, &expacme_module);
    if (conf->redis == NULL || conf->redis->url == NULL)
        return OK;
    return redis_store_check_config(conf->redis, pconf, ptemp, s);
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    const expacme_server_conf_t *conf =
        ap_get_module_config(s->module_config, &expacme_module);
    apr_status_t rv = store_attach_child_init(pchild, s, conf->store_path);
    if (rv == APR_SUCCESS)
        rv = redis_store_child_init(pchild, s, conf->redis);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     EXPLOGNO(01000) "cannot set up the challenge store "
                                     "view; challenges will not be answered");
    }
}

static int status_handler(request_rec *r)
{
    if (r->handler == NULL || strcmp(r->handler, "expacme-status") != 0)
        return DECLINED;
    return status_handler_handle(r);
}

static void register_hooks(apr_pool_t *p)
{
    /* quick_handler, really first: the answer for port 80 is decided
     * before URI translation, so no module can map the challenge path to
     * a file or redirect it elsewhere; and unlike post_read_request, an
     * answer given here keeps the connection alive. */
    ap_hook_quick_handler(http_port_handle, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* Each child maps the store itself: a mapping made in the parent
     * would outlive a store the helper has since replaced. */
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* check_config, not post_config: it runs for `httpd -t` as well, so a
     * configtest already says when Redis refuses our credentials. */
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* tls-alpn-01: offer acme-tls/1 where the vhost's Protocols allow
     * it, mark the connection when it is selected, and give mod_ssl the
     * challenge certificate for it (nothing happens without mod_ssl). */
    ap_hook_protocol_propose(tls_alpn_propose, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_protocol_switch(tls_alpn_switch, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_ssl_answer_challenge(tls_alpn_answer, NULL, NULL, APR_HOOK_MIDDLE);
    /* Optional: does nothing unless mod_status is loaded. */
    APR_OPTIONAL_HOOK(ap, status_hook, status_handler_server_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(expacme) = {
    STANDARD20_MODULE_STUFF,
    NULL,               /* per-directory config: none */
    NULL,               /* merge per-directory: none */
    create_server_conf, /* per-server config */
    merge_server_conf,  /* merge per-server */
    expacme_cmds,       /* directives */
    register_hooks,     /* hooks */
    AP_MODULE_FLAG_NONE /* flags */
};
