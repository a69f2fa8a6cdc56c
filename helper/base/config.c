/* config.c — parser for expacme.conf (see config.h). */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apr_file_io.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "challenge_store.h"

#define CONFIG_MAX_BYTES (1024 * 1024)

typedef struct {
    const char *key;
    size_t offset; /* of the const char * field */
} string_key_t;

static const string_key_t global_keys[] = {
    {"state_dir", offsetof(expacme_config_t, state_dir)},
    {"challenge_store", offsetof(expacme_config_t, challenge_store)},
    {"challenge_store_auth_file",
     offsetof(expacme_config_t, challenge_store_auth_file)},
    {"cluster_peer", offsetof(expacme_config_t, cluster_peer)},
    {"status_file", offsetof(expacme_config_t, status_file)},
    {"apachectl", offsetof(expacme_config_t, apachectl)},
    {"https_address", offsetof(expacme_config_t, https_address)},
    {"configtest_command", offsetof(expacme_config_t, configtest_command)},
    {"graceful_command", offsetof(expacme_config_t, graceful_command)},
    {"notify_command", offsetof(expacme_config_t, notify_command)},
    {"challenge_window_include",
     offsetof(expacme_config_t, challenge_window_include)},
    {"challenge_window_listen",
     offsetof(expacme_config_t, challenge_window_listen)},
    {"dns_resolver", offsetof(expacme_config_t, dns_resolver)},
    {"check_http_address", offsetof(expacme_config_t, check_http_address)},
    {"check_tls_address", offsetof(expacme_config_t, check_tls_address)},
    {"network_user", offsetof(expacme_config_t, network_user)},
    {NULL, 0}};

typedef struct {
    const char *key;
    size_t offset; /* of the unsigned long field */
    unsigned long min;
    unsigned long max;
} number_key_t;

static const number_key_t number_keys[] = {
    {"challenge_store_capacity", offsetof(expacme_config_t, challenge_capacity),
     CHALLENGE_STORE_MIN_CAPACITY, CHALLENGE_STORE_MAX_CAPACITY},
    {"ca_connect_timeout", offsetof(expacme_config_t, ca_connect_timeout), 1,
     300},
    {"ca_timeout", offsetof(expacme_config_t, ca_timeout), 1, 3600},
    {"order_timeout", offsetof(expacme_config_t, order_timeout), 5, 86400},
    {"deploy_timeout", offsetof(expacme_config_t, deploy_timeout), 1, 600},
    {"dns_hook_timeout", offsetof(expacme_config_t, dns_hook_timeout), 1, 600},
    {"dns_wait", offsetof(expacme_config_t, dns_wait), 1, 3600},
    {"renew_concurrency", offsetof(expacme_config_t, renew_concurrency), 1, 64},
    {NULL, 0, 0, 0}};

static const string_key_t cert_keys[] = {
    {"cert_file", offsetof(expacme_cert_conf_t, cert_file)},
    {"key_file", offsetof(expacme_cert_conf_t, key_file)},
    {"sni", offsetof(expacme_cert_conf_t, sni)},
    {"challenges", offsetof(expacme_cert_conf_t, challenges)},
    {"dns_hook", offsetof(expacme_cert_conf_t, dns_hook)},
    {"cert_file2", offsetof(expacme_cert_conf_t, cert_file2)},
    {"key_file2", offsetof(expacme_cert_conf_t, key_file2)},
    {NULL, 0}};

static const char *const challenge_names[] = {"http-01", "tls-alpn-01",
                                              "dns-01", NULL};

static expacme_cert_conf_t *cert_add(expacme_config_t *config, const char *name,
                                     apr_pool_t *pool)
{
    expacme_cert_conf_t *cert = apr_pcalloc(pool, sizeof(*cert));
    cert->name = apr_pstrdup(pool, name);
    cert->cert_file = apr_psprintf(pool, "/etc/ssl/expacme/%s.pem", name);
    cert->key_file = apr_psprintf(pool, "/etc/ssl/expacme/%s.key", name);
    cert->challenge_types = apr_array_make(pool, 3, sizeof(const char *));
    APR_ARRAY_PUSH(cert->challenge_types, const char *) = "http-01";
    APR_ARRAY_PUSH(config->certs, expacme_cert_conf_t *) = cert;
    return cert;
}

/* The host name: each peer of a cluster reports its status under it. */
static const char *host_name(apr_pool_t *pool)
{
    char name[256];
    if (gethostname(name, sizeof(name)) != 0)
        return "localhost";
    name[sizeof(name) - 1] = '\0';
    return apr_pstrdup(pool, name);
}

static expacme_config_t *config_defaults(apr_pool_t *pool)
{
    expacme_config_t *config = apr_pcalloc(pool, sizeof(*config));
    config->state_dir = "/var/lib/expacme";
    config->challenge_store = "shm:/run/expacme/challenges";
    config->challenge_capacity = CHALLENGE_STORE_DEFAULT_CAPACITY;
    config->status_file = "/run/expacme/status.json";
    config->apachectl = "/usr/sbin/apachectl";
    config->https_address = "127.0.0.1:443";
    config->ca_connect_timeout = 10;
    config->ca_timeout = 60;
    config->order_timeout = 300;
    config->deploy_timeout = 30;
    config->check_http_address = "127.0.0.1:80";
    config->check_tls_address = "127.0.0.1:443";
    config->dns_hook_timeout = 60;
    config->dns_wait = 120;
    config->cluster_peer = host_name(pool);
    config->renew_concurrency = 8;
    config->network_user = "expacme";
    config->certs = apr_array_make(pool, 4, sizeof(expacme_cert_conf_t *));
    cert_add(config, "server", pool);
    return config;
}

const expacme_cert_conf_t *config_cert(const expacme_config_t *config,
                                       const char *name)
{
    /* A thousand sections: looked up by hash once loaded. */
    if (config->cert_index != NULL)
        return apr_hash_get(config->cert_index, name, APR_HASH_KEY_STRING);
    for (int i = 0; i < config->certs->nelts; i++) {
        const expacme_cert_conf_t *cert =
            APR_ARRAY_IDX(config->certs, i, expacme_cert_conf_t *);
        if (strcmp(cert->name, name) == 0)
            return cert;
    }
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int set_string(const string_key_t *keys, void *target, const char *key,
                      const char *value, apr_pool_t *pool)
{
    for (const string_key_t *k = keys; k->key != NULL; k++) {
        if (strcmp(k->key, key) == 0) {
            *(const char **)((char *)target + k->offset) =
                apr_pstrdup(pool, value);
            return 1;
        }
    }
    return 0;
}

int config_name_valid(const char *name)
{
    if (*name == '\0' || strlen(name) > 253 || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            return 0;
    }
    return 1;
}

typedef struct {
    expacme_config_t *config;
    expacme_cert_conf_t *section; /* NULL in the global part */
    apr_pool_t *pool;
    apr_hash_t *seen; /* "[cert N]" and "N\nkey" -> first line (int *) */
    int lineno;
} parse_state_t;

/* Keys whose value is a file or directory: relative ones would depend on
 * the directory expacmectl happens to run in (a `status` run from / made
 * /y), so they must be absolute. */
static const char *const path_keys[] = {
    "state_dir", "status_file", "apachectl", "challenge_window_include",
    "cert_file", "key_file",    NULL};

static int is_path_key(const char *key)
{
    for (const char *const *k = path_keys; *k != NULL; k++) {
        if (strcmp(*k, key) == 0)
            return 1;
    }
    return 0;
}

/* A second sight of what (a section or a key) is an error naming the
 * line of the first: "last wins" would hide a typo'd copy-paste. */
static const char *seen_once(parse_state_t *st, const char *what,
                             const char *label)
{
    int *first = apr_hash_get(st->seen, what, APR_HASH_KEY_STRING);
    if (first != NULL)
        return apr_psprintf(st->pool, "%s given twice (first on line %d)",
                            label, *first);
    first = apr_palloc(st->pool, sizeof(*first));
    *first = st->lineno;
    apr_hash_set(st->seen, apr_pstrdup(st->pool, what), APR_HASH_KEY_STRING,
                 first);
    return NULL;
}

static const char *key_check(parse_state_t *st, const char *key,
                             const char *value)
{
    const char *section = st->section ? st->section->name : "";
    const char *label =
        st->section
            ? apr_psprintf(st->pool, "key '%s' in [cert %s]", key, section)
            : apr_psprintf(st->pool, "key '%s'", key);
    const char *problem =
        seen_once(st, apr_pstrcat(st->pool, section, "\n", key, NULL), label);
    if (problem == NULL && is_path_key(key) && value[0] != '/')
        problem = apr_psprintf(st->pool, "%s must be an absolute path", key);
    if (problem == NULL && strcmp(key, "challenge_store") == 0 &&
        strncmp(value, "shm:", 4) == 0 && value[4] != '/')
        problem = "challenge_store shm: must name an absolute path";
    return problem;
}

static const char *parse_section(parse_state_t *st, char *line)
{
    size_t len = strlen(line);
    if (line[len - 1] != ']')
        return "section header must end with ']'";
    line[len - 1] = '\0';
    char *inner = trim(line + 1);
    if (strncmp(inner, "cert", 4) != 0 || !isspace((unsigned char)inner[4]))
        return "only [cert NAME] sections exist";
    char *name = trim(inner + 4);
    if (!config_name_valid(name))
        return "certificate name may use letters, digits, '.', '-', '_'";
    const char *twice =
        seen_once(st, apr_pstrcat(st->pool, "[cert ", name, "]", NULL),
                  apr_psprintf(st->pool, "section [cert %s]", name));
    if (twice != NULL)
        return twice;
    expacme_cert_conf_t *cert =
        (expacme_cert_conf_t *)config_cert(st->config, name);
    st->section = cert != NULL ? cert : cert_add(st->config, name, st->pool);
    return NULL;
}

static const char *parse_global_value(parse_state_t *st, const char *key,
                                      const char *value)
{
    for (const number_key_t *k = number_keys; k->key != NULL; k++) {
        if (strcmp(k->key, key) != 0)
            continue;
        char *end = NULL;
        errno = 0;
        unsigned long n = strtoul(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0' || value[0] == '-' ||
            n < k->min || n > k->max)
            return apr_psprintf(st->pool, "%s must be %lu..%lu", key, k->min,
                                k->max);
        *(unsigned long *)((char *)st->config + k->offset) = n;
        return NULL;
    }
    if (set_string(global_keys, st->config, key, value, st->pool))
        return NULL;
    return apr_psprintf(st->pool, "unknown key '%s'", key);
}

static int known_challenge(const char *name)
{
    for (int i = 0; challenge_names[i] != NULL; i++) {
        if (strcmp(challenge_names[i], name) == 0)
            return 1;
    }
    return 0;
}

/* "http-01 tls-alpn-01 dns-01": known types, each once, preferred first. */
static const char *parse_challenges(parse_state_t *st, const char *value)
{
    apr_array_header_t *types =
        apr_array_make(st->pool, 3, sizeof(const char *));
    char *copy = apr_pstrdup(st->pool, value);
    char *save = NULL;
    for (char *w = apr_strtok(copy, " \t,", &save); w != NULL;
         w = apr_strtok(NULL, " \t,", &save)) {
        if (!known_challenge(w))
            return apr_psprintf(st->pool,
                                "unknown challenge type '%s' (use http-01, "
                                "tls-alpn-01, dns-01)",
                                w);
        for (int i = 0; i < types->nelts; i++) {
            if (strcmp(APR_ARRAY_IDX(types, i, const char *), w) == 0)
                return apr_psprintf(st->pool, "challenge type %s given twice",
                                    w);
        }
        APR_ARRAY_PUSH(types, const char *) = w;
    }
    st->section->challenge_types = types;
    return NULL;
}

static const char *parse_line(parse_state_t *st, char *raw)
{
    char *hash = strchr(raw, '#');
    if (hash != NULL)
        *hash = '\0';
    char *line = trim(raw);
    if (*line == '\0')
        return NULL;
    if (*line == '[')
        return parse_section(st, line);
    char *eq = strchr(line, '=');
    if (eq == NULL)
        return "expected 'key = value'";
    *eq = '\0';
    char *key = trim(line);
    char *value = trim(eq + 1);
    if (*key == '\0' || *value == '\0')
        return "expected 'key = value'";
    const char *problem = key_check(st, key, value);
    if (problem != NULL)
        return problem;
    if (st->section == NULL)
        return parse_global_value(st, key, value);
    if (!set_string(cert_keys, st->section, key, value, st->pool))
        return apr_psprintf(st->pool, "unknown key '%s' in [cert %s]", key,
                            st->section->name);
    if (strcmp(key, "challenges") == 0)
        return parse_challenges(st, value);
    if (strcmp(key, "dns_hook") == 0 && value[0] != '/')
        return "dns_hook must be an absolute path";
    return NULL;
}

static apr_status_t read_file(char **out, apr_size_t *len, const char *path,
                              apr_pool_t *pool)
{
    apr_file_t *file = NULL;
    apr_finfo_t finfo;
    apr_status_t rv = apr_file_open(&file, path, APR_FOPEN_READ, 0, pool);
    if (rv != APR_SUCCESS)
        return rv;
    rv = apr_file_info_get(&finfo, APR_FINFO_SIZE, file);
    if (rv == APR_SUCCESS && finfo.size > CONFIG_MAX_BYTES)
        rv = APR_EGENERAL;
    apr_size_t got = 0;
    if (rv == APR_SUCCESS) {
        *out = apr_palloc(pool, (apr_size_t)finfo.size + 1);
        rv = apr_file_read_full(file, *out, (apr_size_t)finfo.size, &got);
        if (APR_STATUS_IS_EOF(rv))
            rv = APR_SUCCESS;
        (*out)[got] = '\0';
        *len = got;
    }
    apr_file_close(file);
    return rv;
}

/* What only the whole section can say: dns-01 needs its hook. */
static const char *certs_check(const expacme_config_t *config, apr_pool_t *pool)
{
    for (int i = 0; i < config->certs->nelts; i++) {
        const expacme_cert_conf_t *c =
            APR_ARRAY_IDX(config->certs, i, expacme_cert_conf_t *);
        if (c->challenge_types->nelts == 0)
            return apr_psprintf(pool, "[cert %s]: challenges lists no type",
                                c->name);
        if (config_cert_allows(c, "dns-01") && c->dns_hook == NULL)
            return apr_psprintf(pool,
                                "[cert %s]: challenges include dns-01 but "
                                "no dns_hook is set",
                                c->name);
    }
    return NULL;
}

/* Two managed certificates never share a deployed file (SPEC §2): what
 * names the first file given twice, or NULL. */
static const char *shared_file(const expacme_config_t *config, apr_pool_t *pool)
{
    apr_hash_t *seen = apr_hash_make(pool);
    for (int i = 0; i < config->certs->nelts; i++) {
        const expacme_cert_conf_t *c =
            APR_ARRAY_IDX(config->certs, i, expacme_cert_conf_t *);
        const char *files[] = {c->cert_file, c->key_file, c->cert_file2,
                               c->key_file2};
        for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
            if (files[k] == NULL)
                continue;
            const char *other =
                apr_hash_get(seen, files[k], APR_HASH_KEY_STRING);
            if (other != NULL && strcmp(other, c->name) != 0)
                return apr_psprintf(pool,
                                    "[cert %s] and [cert %s] both name %s: "
                                    "each managed certificate needs files "
                                    "of its own",
                                    other, c->name, files[k]);
            apr_hash_set(seen, files[k], APR_HASH_KEY_STRING, c->name);
        }
    }
    return NULL;
}

apr_status_t config_load(expacme_config_t **out, const char **err,
                         const char *path, apr_pool_t *pool)
{
    *out = NULL;
    *err = NULL;
    int explicit = path != NULL;
    if (path == NULL && getenv("EXPACME_CONFIG") != NULL) {
        path = getenv("EXPACME_CONFIG");
        explicit = 1;
    }
    if (path == NULL)
        path = CONFIG_DEFAULT_PATH;
    expacme_config_t *config = config_defaults(pool);
    char *text = NULL;
    apr_size_t len = 0;
    apr_status_t rv = read_file(&text, &len, path, pool);
    if (rv != APR_SUCCESS) {
        if (APR_STATUS_IS_ENOENT(rv) && !explicit) {
            *out = config;
            return APR_SUCCESS;
        }
        char buf[120];
        *err = apr_psprintf(pool, "%s: cannot read: %s", path,
                            rv == APR_EGENERAL
                                ? "file too large"
                                : apr_strerror(rv, buf, sizeof(buf)));
        return rv;
    }
    rv = config_parse(&config, err, path, text, len, pool);
    if (rv == APR_SUCCESS)
        config->path = apr_pstrdup(pool, path);
    *out = config;
    return rv;
}

apr_status_t config_parse(expacme_config_t **out, const char **err,
                          const char *name, char *text, apr_size_t len,
                          apr_pool_t *pool)
{
    *out = NULL;
    if (strlen(text) != len) {
        *err = apr_psprintf(pool, "%s: not a text file", name);
        return APR_EINVAL;
    }
    expacme_config_t *config = config_defaults(pool);
    parse_state_t st = {config, NULL, pool, apr_hash_make(pool), 0};
    char *save = NULL;
    int lineno = 0;
    /* strtok_r would skip empty lines and so miscount: split by hand. */
    for (char *line = text; line != NULL; line = save) {
        save = strchr(line, '\n');
        if (save != NULL)
            *save++ = '\0';
        st.lineno = ++lineno;
        const char *problem = parse_line(&st, line);
        if (problem != NULL) {
            *err = apr_psprintf(pool, "%s:%d: %s", name, lineno, problem);
            return APR_EINVAL;
        }
    }
    const char *problem = certs_check(config, pool);
    if (problem != NULL) {
        *err = apr_psprintf(pool, "%s: %s", name, problem);
        return APR_EINVAL;
    }
    config->cert_index = apr_hash_make(pool);
    for (int i = 0; i < config->certs->nelts; i++) {
        expacme_cert_conf_t *c =
            APR_ARRAY_IDX(config->certs, i, expacme_cert_conf_t *);
        apr_hash_set(config->cert_index, c->name, APR_HASH_KEY_STRING, c);
    }
    const char *shared = shared_file(config, pool);
    if (shared != NULL) {
        *err = apr_psprintf(pool, "%s: %s", name, shared);
        return APR_EINVAL;
    }
    *out = config;
    return APR_SUCCESS;
}

int config_cert_allows(const expacme_cert_conf_t *cert, const char *type)
{
    for (int i = 0; i < cert->challenge_types->nelts; i++) {
        if (strcmp(APR_ARRAY_IDX(cert->challenge_types, i, const char *),
                   type) == 0)
            return 1;
    }
    return 0;
}

const char *config_store_path(const expacme_config_t *config, const char **err)
{
    const char *store = config->challenge_store;
    if (strncmp(store, "shm:", 4) == 0 && store[4] == '/')
        return store + 4;
    *err = "challenge_store must be shm:/absolute/path, "
           "redis://HOST:PORT[/PREFIX] or "
           "redis+unix:///SOCKET[?prefix=PREFIX]";
    return NULL;
}
