/* status_lines.c — see status_lines.h; the format is common/status_flat.h.
 * Every value is cleaned here (control characters to spaces, a length
 * cap), so the module only has to split lines. */
#include "ops/status_lines.h"

#include <string.h>

#include "apr_strings.h"

#include "base/state.h"
#include "status_flat.h"

typedef struct {
    apr_pool_t *pool;
    apr_array_header_t *lines; /* const char *, each ending in "\n" */
} lines_t;

/* value without control characters, cut at STATUS_FLAT_VALUE_MAX bytes
 * on a UTF-8 character boundary. */
static const char *clean(const char *value, apr_pool_t *pool)
{
    size_t n = strlen(value);
    if (n > STATUS_FLAT_VALUE_MAX) {
        n = STATUS_FLAT_VALUE_MAX;
        while (n > 0 && ((unsigned char)value[n] & 0xC0) == 0x80)
            n--;
    }
    char *out = apr_pstrndup(pool, value, n);
    for (unsigned char *c = (unsigned char *)out; *c != '\0'; c++) {
        if (*c < 0x20 || *c == 0x7f)
            *c = ' ';
    }
    return out;
}

static void put(lines_t *l, const char *key, const char *value)
{
    if (value == NULL)
        return;
    APR_ARRAY_PUSH(l->lines, const char *) =
        apr_pstrcat(l->pool, key, " ", clean(value, l->pool), "\n", NULL);
}

/* Which challenge type validated each name: one line per name. */
static void put_validated(lines_t *l, json_t *validated)
{
    const char *name;
    json_t *type;
    json_object_foreach(validated, name, type)
    {
        if (json_is_string(type))
            put(l, STATUS_FLAT_LAST_SIGN STATUS_FLAT_VALIDATED,
                apr_pstrcat(l->pool, name, " ", json_string_value(type), NULL));
    }
}

/* A string, integer or boolean member of obj under key (with prefix). */
static void put_member(lines_t *l, const char *prefix, json_t *obj,
                       const char *key)
{
    json_t *v = json_object_get(obj, key);
    const char *name = apr_pstrcat(l->pool, prefix, key, NULL);
    if (json_is_string(v))
        put(l, name, json_string_value(v));
    else if (json_is_integer(v))
        put(l, name,
            apr_psprintf(l->pool, "%" APR_INT64_T_FMT,
                         (apr_int64_t)json_integer_value(v)));
    else if (json_is_boolean(v))
        put(l, name, json_is_true(v) ? "on" : "off");
}

/* Each item of an array member as a repeated key. */
static void put_list(lines_t *l, const char *key, json_t *list, const char *as)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(list, key), i, v)
    {
        if (json_is_string(v))
            put(l, as, json_string_value(v));
        else if (json_is_integer(v))
            put(l, as,
                apr_psprintf(l->pool, "%" APR_INT64_T_FMT,
                             (apr_int64_t)json_integer_value(v)));
    }
}

static void put_object(lines_t *l, json_t *c, const char *key,
                       const char *prefix, const char *const *members)
{
    json_t *o = json_object_get(c, key);
    for (size_t i = 0; json_is_object(o) && members[i] != NULL; i++)
        put_member(l, prefix, o, members[i]);
}

static void put_cert(lines_t *l, json_t *c)
{
    static const char *const cert_keys[] = {
        STATUS_FLAT_ISSUER,       STATUS_FLAT_SUBJECT,
        STATUS_FLAT_SERIAL,       STATUS_FLAT_NOT_BEFORE,
        STATUS_FLAT_NOT_AFTER,    STATUS_FLAT_RENEWAL_DUE,
        STATUS_FLAT_RENEWAL_RULE, NULL};
    static const char *const last_keys[] = {
        STATUS_FLAT_TIME, STATUS_FLAT_RESULT, STATUS_FLAT_STEP,
        STATUS_FLAT_DETAIL, NULL};
    static const char *const ari_keys[] = {"start", "end", "time", NULL};
    static const char *const plain[] = {STATUS_FLAT_STATE,
                                        STATUS_FLAT_ERROR,
                                        STATUS_FLAT_AUTOMATED,
                                        STATUS_FLAT_KEY_TYPE,
                                        STATUS_FLAT_PROVIDER,
                                        STATUS_FLAT_ACCOUNT,
                                        STATUS_FLAT_NEXT_ATTEMPT,
                                        STATUS_FLAT_FAILURES,
                                        STATUS_FLAT_NEXT_SLOT,
                                        STATUS_FLAT_DEPLOY_TIME,
                                        NULL};
    put(l, STATUS_FLAT_CERT, json_string_value(json_object_get(c, "name")));
    for (size_t i = 0; plain[i] != NULL; i++)
        put_member(l, "", c, plain[i]);
    put_list(l, "names", c, STATUS_FLAT_NAME);
    put_list(l, "resubmit", c, STATUS_FLAT_RESUBMIT);
    put_list(l, "warnings", c, STATUS_FLAT_WARNING);
    const char *days = NULL;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(c, "deploy_days"), i, d)
    {
        days = days == NULL ? json_string_value(d)
                            : apr_pstrcat(l->pool, days, ",",
                                          json_string_value(d), NULL);
    }
    put(l, STATUS_FLAT_DEPLOY_DAYS, days);
    put_object(l, c, "deployed", STATUS_FLAT_DEPLOYED, cert_keys);
    put_object(l, c, "pending", STATUS_FLAT_PENDING, cert_keys);
    put_object(l, c, "ari", "ari_", ari_keys);
    put_object(l, c, "last_sign", STATUS_FLAT_LAST_SIGN, last_keys);
    put_validated(
        l, json_object_get(json_object_get(c, "last_sign"), "validated"));
    put_object(l, c, "last_deploy", STATUS_FLAT_LAST_DEPLOY, last_keys);
}

const char *status_lines_path(const char *status_file, apr_pool_t *pool)
{
    size_t n = strlen(status_file);
    if (n > 5 && strcmp(status_file + n - 5, ".json") == 0)
        return apr_pstrcat(pool, apr_pstrndup(pool, status_file, n - 5),
                           STATUS_FLAT_SUFFIX, NULL);
    return apr_pstrcat(pool, status_file, STATUS_FLAT_SUFFIX, NULL);
}

apr_status_t status_lines_write(const ops_ctx_t *ctx, json_t *doc,
                                const char *path, const char **written,
                                const char **err)
{
    if (written != NULL)
        *written = NULL;
    lines_t l = {ctx->pool,
                 apr_array_make(ctx->pool, 64, sizeof(const char *))};
    APR_ARRAY_PUSH(l.lines, const char *) = apr_psprintf(
        ctx->pool, "%s %d\n", STATUS_FLAT_MAGIC, STATUS_FLAT_VERSION);
    put_member(&l, "", doc, STATUS_FLAT_GENERATED);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "certificates"), i, c)
    {
        put_cert(&l, c);
    }
    APR_ARRAY_PUSH(l.lines, const char *) = STATUS_FLAT_END "\n";
    /* Too large: the whole lines that fit, without "end", so the page says
     * it was cut short (refusing left the last page up as if current). */
    size_t len = 0;
    int n = 0;
    for (; n < l.lines->nelts; n++) {
        size_t line = strlen(APR_ARRAY_IDX(l.lines, n, const char *));
        if (len + line > STATUS_FLAT_FILE_MAX)
            break;
        len += line;
    }
    apr_array_header_t fit = *l.lines;
    fit.nelts = n;
    const char *text = apr_array_pstrcat(ctx->pool, &fit, 0);
    apr_status_t rv =
        state_write_file_spare(path, text, strlen(text), 0644, err, ctx->pool);
    if (rv == APR_SUCCESS && written != NULL)
        *written = text;
    if (rv == APR_SUCCESS && n < l.lines->nelts) {
        *err = "the status is larger than the page form allows: the page "
               "shows the first certificates only";
        return APR_EGENERAL;
    }
    return rv;
}
