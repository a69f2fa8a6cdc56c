/* config.c — parser for expacme.conf (see config.h). */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
    {NULL, 0, 0, 0}};

static const string_key_t cert_keys[] = {
    {"cert_file", offsetof(expacme_cert_conf_t, cert_file)},
    {"key_file", offsetof(expacme_cert_conf_t, key_file)},
    {"sni", offsetof(expacme_cert_conf_t, sni)},
    {NULL, 0}};

static expacme_cert_conf_t *cert_add(expacme_config_t *config, const char *name,
                                     apr_pool_t *pool)
{
    expacme_cert_conf_t *cert = apr_pcalloc(pool, sizeof(*cert));
    cert->name = apr_pstrdup(pool, name);
    cert->cert_file = apr_psprintf(pool, "/etc/ssl/expacme/%s.pem", name);
    cert->key_file = apr_psprintf(pool, "/etc/ssl/expacme/%s.key", name);
    APR_ARRAY_PUSH(config->certs, expacme_cert_conf_t *) = cert;
    return cert;
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
    config->certs = apr_array_make(pool, 4, sizeof(expacme_cert_conf_t *));
    cert_add(config, "server", pool);
    return config;
}

const expacme_cert_conf_t *config_cert(const expacme_config_t *config,
                                       const char *name)
{
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
    if (set_string(cert_keys, st->section, key, value, st->pool))
        return NULL;
    return apr_psprintf(st->pool, "unknown key '%s' in [cert %s]", key,
                        st->section->name);
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
    *out = config;
    return APR_SUCCESS;
}

const char *config_store_path(const expacme_config_t *config, const char **err)
{
    const char *store = config->challenge_store;
    if (strncmp(store, "shm:", 4) == 0 && store[4] == '/')
        return store + 4;
    if (strncmp(store, "redis://", 8) == 0)
        *err = "challenge_store redis:// is not supported by this build yet; "
               "use shm:/path";
    else
        *err = "challenge_store must be shm:/absolute/path";
    return NULL;
}
