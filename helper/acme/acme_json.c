/* acme_json.c — see acme_json.h. */
#include "acme/acme_json.h"

#include <string.h>

#include "apr_strings.h"

#include "base/json_pool.h"

apr_status_t acme_json_parse_object(json_t **out, const char *text,
                                    apr_size_t len, const char *what,
                                    const char **err, apr_pool_t *pool)
{
    json_error_t jerr;
    *out = NULL;
    json_t *json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (json == NULL) {
        *err = apr_psprintf(pool, "%s: malformed JSON: %s", what, jerr.text);
        return APR_EINVAL;
    }
    json_pool_bind(json, pool);
    if (!json_is_object(json)) {
        *err = apr_psprintf(pool, "%s: JSON is not an object", what);
        return APR_EINVAL;
    }
    *out = json;
    return APR_SUCCESS;
}

const char *acme_json_string_member(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (!json_is_string(v))
        return NULL;
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len == 0 || len > ACME_JSON_STRING_MAX || strlen(s) != len)
        return NULL;
    return s;
}

const char *acme_json_url_member(const json_t *obj, const char *key)
{
    const char *s = acme_json_string_member(obj, key);
    if (s == NULL || strncmp(s, "https://", 8) != 0 || s[8] == '\0')
        return NULL;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return NULL;
    }
    return s;
}

json_t *acme_json_array_member(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

json_t *acme_json_object_member(const json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_object(v) ? v : NULL;
}
