/* cert_info.c — see cert_info.h. */
#include "ops/cert_info.h"

#include <time.h>

#include "apr_strings.h"

const char *cert_info_time(apr_int64_t t, apr_pool_t *pool)
{
    char buf[64];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return apr_pstrdup(pool, buf);
}

json_t *cert_info_names_json(const apr_array_header_t *names)
{
    json_t *list = json_array();
    for (int i = 0; i < names->nelts; i++)
        json_array_append_new(
            list, json_string(APR_ARRAY_IDX(names, i, const char *)));
    return list;
}

json_t *cert_info_json(const crypt_cert_info_t *info)
{
    json_t *names = cert_info_names_json(info->names);
    return json_pack("{s:s, s:s, s:o, s:I, s:I, s:s, s:s, s:s, s:s}", "subject",
                     info->subject, "issuer", info->issuer, "names", names,
                     "not_before", (json_int_t)info->not_before, "not_after",
                     (json_int_t)info->not_after, "key_type", info->key_type,
                     "serial", info->serial, "sha256", info->sha256, "sha1",
                     info->sha1);
}
