/* expacme.conf parser: any bytes either parse into a configuration whose
 * paths are absolute, or give one error naming a line. */
#include "fuzz.h"

#include "base/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool_new();
    char *text = fuzz_cstring(data, size, pool);
    expacme_config_t *config = NULL;
    const char *err = NULL;
    if (config_parse(&config, &err, "fuzz.conf", text, size, pool) ==
        APR_SUCCESS) {
        if (config == NULL || config->state_dir[0] != '/')
            abort();
        for (int i = 0; i < config->certs->nelts; i++) {
            const expacme_cert_conf_t *c =
                APR_ARRAY_IDX(config->certs, i, expacme_cert_conf_t *);
            if (!config_name_valid(c->name) || c->cert_file[0] != '/')
                abort();
        }
        config_store_path(config, &err);
    } else if (config != NULL || err == NULL ||
               strncmp(err, "fuzz.conf", 9) != 0) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
