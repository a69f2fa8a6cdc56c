/* Unit tests of the expacme.conf parser. */
#include "tap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "base/config.h"

static char dir[] = "/tmp/expacme-config-test.XXXXXX";

static const char *write_conf(apr_pool_t *pool, const char *name,
                              const char *text)
{
    const char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

static const char *load_error(apr_pool_t *pool, const char *text)
{
    expacme_config_t *config = NULL;
    const char *err = NULL;
    config_load(&config, &err, write_conf(pool, "bad.conf", text), pool);
    return config == NULL ? err : NULL;
}

static void test_full_file(apr_pool_t *pool)
{
    const char *path =
        write_conf(pool, "full.conf",
                   "# comment\n\nstate_dir = /srv/state   # trailing\n"
                   "challenge_store = shm:/srv/run/ch\n"
                   "challenge_store_capacity = 4096\n"
                   "status_file=/srv/status.json\n"
                   "apachectl = /opt/httpd/bin/apachectl\n"
                   "https_address = [::1]:8443\n"
                   "[cert server]\ncert_file = /e/s.pem\nkey_file = /e/s.key\n"
                   "[ cert www.example.org ]\ncert_file = /e/w.pem\n");
    expacme_config_t *config = NULL;
    const char *err = NULL;
    is_int(config_load(&config, &err, path, pool), APR_SUCCESS, "loads");
    if (config == NULL)
        return;
    is_str(config->state_dir, "/srv/state", "state_dir, comment stripped");
    is_str(config->status_file, "/srv/status.json", "no spaces around =");
    is_str(config->https_address, "[::1]:8443", "https_address");
    is_str(config->apachectl, "/opt/httpd/bin/apachectl", "apachectl");
    is_int(config->challenge_capacity, 4096, "capacity");
    is_int(config->certs->nelts, 2, "server plus one SNI certificate");
    const expacme_cert_conf_t *server = config_cert(config, "server");
    is_str(server ? server->key_file : NULL, "/e/s.key", "server key");
    const expacme_cert_conf_t *www = config_cert(config, "www.example.org");
    is_str(www ? www->cert_file : NULL, "/e/w.pem", "SNI cert file");
    is_str(www ? www->key_file : NULL, "/etc/ssl/expacme/www.example.org.key",
           "SNI key file defaults by name");
    const char *store_err = NULL;
    is_str(config_store_path(config, &store_err), "/srv/run/ch",
           "shm: store path");
}

static void test_defaults(apr_pool_t *pool)
{
    expacme_config_t *config = NULL;
    const char *err = NULL;
    unsetenv("EXPACME_CONFIG");
    /* The default path need not exist; a named one must. */
    apr_status_t rv =
        config_load(&config, &err, apr_pstrcat(pool, dir, "/none", NULL), pool);
    ok(rv != APR_SUCCESS && err != NULL && strstr(err, "none") != NULL,
       "explicit missing file is an error naming it");
    setenv("EXPACME_CONFIG", write_conf(pool, "env.conf", "state_dir=/x\n"), 1);
    rv = config_load(&config, &err, NULL, pool);
    is_str(rv == APR_SUCCESS ? config->state_dir : NULL, "/x",
           "$EXPACME_CONFIG used");
    char host[256] = "";
    gethostname(host, sizeof(host));
    is_str(rv == APR_SUCCESS ? config->cluster_peer : NULL, host,
           "cluster_peer defaults to the host name");
    unsetenv("EXPACME_CONFIG");
    if (access(CONFIG_DEFAULT_PATH, F_OK) != 0) {
        rv = config_load(&config, &err, NULL, pool);
        is_str(rv == APR_SUCCESS ? config->challenge_store : NULL,
               "shm:/run/expacme/challenges", "defaults when absent");
    }
}

static void test_errors(apr_pool_t *pool)
{
    const char *err = load_error(pool, "state_dir = /a\nbogus = 1\n");
    ok(err && strstr(err, "bad.conf:2:") && strstr(err, "unknown key 'bogus'"),
       "unknown key names file, line and key");
    err = load_error(pool, "\n\njust words\n");
    ok(err && strstr(err, ":3: expected 'key = value'"),
       "malformed line named, empty lines counted");
    err = load_error(pool, "state_dir =\n");
    ok(err && strstr(err, ":1:"), "empty value refused");
    err = load_error(pool, "[cert server\n");
    ok(err && strstr(err, "must end with ']'"), "unclosed section");
    err = load_error(pool, "[domain x]\n");
    ok(err && strstr(err, "only [cert NAME]"), "unknown section kind");
    err = load_error(pool, "[cert ../etc]\n");
    ok(err != NULL, "traversal in certificate name refused");
    err = load_error(pool, "[cert s]\nstate_dir = /x\n");
    ok(err && strstr(err, "in [cert s]"), "global key inside a section");
    err = load_error(pool, "challenge_store_capacity = 10\n");
    ok(err && strstr(err, "1024..65536"), "capacity below minimum");
    err = load_error(pool, "challenge_store_capacity = 12x\n");
    ok(err != NULL, "capacity not a number");
    expacme_config_t *config = NULL;
    const char *e2 = NULL;
    const char *path = write_conf(pool, "nul.conf", "state_dir = /a");
    FILE *f = fopen(path, "a");
    fputc('\0', f);
    fclose(f);
    config_load(&config, &e2, path, pool);
    ok(config == NULL && e2 && strstr(e2, "not a text file"), "NUL byte");
    config_load(&config, &e2,
                write_conf(pool, "redis.conf",
                           "challenge_store = redis://127.0.0.1:6379/c1\n"
                           "challenge_store_auth_file = /etc/expacme/r.auth\n"
                           "cluster_peer = peer-a.example.test\n"),
                pool);
    const char *store_err = NULL;
    ok(config && config_store_path(config, &store_err) == NULL && store_err,
       "a redis store has no shm: path");
    ok(config && strcmp(config->challenge_store_auth_file,
                        "/etc/expacme/r.auth") == 0,
       "challenge_store_auth_file read");
    ok(config && strcmp(config->cluster_peer, "peer-a.example.test") == 0,
       "cluster_peer read");
}

/* Issue 10 / SPEC §3: a key or a section given twice and relative paths
 * are errors naming the line (before: last wins, relative accepted). */
static void test_twice_and_relative(apr_pool_t *pool)
{
    const char *err = load_error(pool, "state_dir = /a\n# c\nstate_dir = /b\n");
    ok(err && strstr(err, ":3:") && strstr(err, "state_dir") &&
           strstr(err, "twice") && strstr(err, "line 1"),
       "a global key twice: error naming both lines");
    if (err)
        printf("# %s\n", err);
    err = load_error(pool, "[cert a]\ncert_file = /x\n\ncert_file = /y\n");
    ok(err && strstr(err, ":4:") && strstr(err, "cert_file") &&
           strstr(err, "[cert a]"),
       "a certificate key twice: error naming the line and section");
    err = load_error(pool, "[cert a]\ncert_file = /x\n[cert b]\ncert_file = "
                           "/y\n");
    ok(err == NULL, "the same key in two sections is fine");
    err = load_error(pool, "[cert a]\nsni = a\n[cert b]\n[cert a]\n");
    ok(err && strstr(err, ":4:") && strstr(err, "[cert a]") &&
           strstr(err, "twice") && strstr(err, "line 1"),
       "a section twice: error naming both lines");
    err = load_error(pool, "[cert server]\n");
    ok(err == NULL, "[cert server] once (the built-in default) is fine");
    static const struct {
        const char *text, *line, *key;
    } rel[] = {
        {"state_dir = y\n", ":1:", "state_dir"},
        {"status_file = run/status.json\n", ":1:", "status_file"},
        {"apachectl = apachectl\n", ":1:", "apachectl"},
        {"challenge_window_include = httpd.d/w.conf\n",
         ":1:", "challenge_window_include"},
        {"[cert s]\ncert_file = s.pem\n", ":2:", "cert_file"},
        {"[cert s]\nkey_file = ./s.key\n", ":2:", "key_file"},
        {"challenge_store = shm:run/challenges\n", ":1:", "challenge_store"},
    };
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        err = load_error(pool, rel[i].text);
        ok(err && strstr(err, rel[i].line) && strstr(err, "absolute"),
           apr_psprintf(pool, "relative %s refused, naming the line",
                        rel[i].key));
    }
}

/* The sample the package installs still loads under the stricter rules. */
static void test_sample_loads(apr_pool_t *pool)
{
    const char *top = getenv("srcdir") ? getenv("srcdir") : ".";
    const char *sample = apr_pstrcat(pool, top, "/conf/expacme.conf", NULL);
    expacme_config_t *config = NULL;
    const char *err = NULL;
    ok(config_load(&config, &err, sample, pool) == APR_SUCCESS,
       "conf/expacme.conf loads");
    if (err)
        printf("# %s\n", err);
}

int main(void)
{
    apr_pool_t *pool = NULL;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (mkdtemp(dir) == NULL)
        return 1;
    test_full_file(pool);
    test_defaults(pool);
    test_errors(pool);
    test_twice_and_relative(pool);
    test_sample_loads(pool);
    int rc = done_testing();
    static const char *const made[] = {"full.conf", "bad.conf", "env.conf",
                                       "nul.conf", "redis.conf"};
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
        unlink(apr_pstrcat(pool, dir, "/", made[i], NULL));
    if (rmdir(dir) != 0)
        rc = 1;
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
