/* Directory, order and authorization objects: the checked accessors the
 * ACME code reads them with, over every field it uses. */
#include "fuzz.h"

#include "acme/acme_json.h"
#include "token_rules.h"

static const char *const urls[] = {
    "newNonce",    "newAccount", "newOrder",    "revokeCert", "keyChange",
    "renewalInfo", "finalize",   "certificate", "url",        NULL};
static const char *const strings[] = {"status",         "type",   "value",
                                      "token",          "detail", "expires",
                                      "termsOfService", NULL};

static void walk(const json_t *obj, int depth)
{
    for (const char *const *k = urls; *k; k++) {
        const char *u = acme_json_url_member(obj, *k);
        if (u != NULL && strncmp(u, "https://", 8) != 0)
            abort(); /* only https URLs come out */
    }
    for (const char *const *k = strings; *k; k++) {
        const char *s = acme_json_string_member(obj, *k);
        if (s != NULL && strcmp(*k, "token") == 0)
            token_rules_token_valid(s, strlen(s));
    }
    if (depth > 3)
        return;
    static const char *const objects[] = {"meta", "identifier", "error",
                                          "profiles", NULL};
    for (const char *const *k = objects; *k; k++) {
        const json_t *o = acme_json_object_member(obj, *k);
        if (o != NULL)
            walk(o, depth + 1);
    }
    static const char *const arrays[] = {"challenges", "authorizations",
                                         "identifiers", "subproblems", NULL};
    for (const char *const *k = arrays; *k; k++) {
        json_t *a = acme_json_array_member(obj, *k);
        size_t i;
        json_t *v;
        json_array_foreach(a, i, v)
        {
            if (json_is_object(v))
                walk(v, depth + 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool_new();
    json_t *doc = NULL;
    const char *err = NULL;
    if (acme_json_parse_object(&doc, (const char *)data, size, "fuzz", &err,
                               pool) == APR_SUCCESS)
        walk(doc, 0);
    apr_pool_destroy(pool);
    return 0;
}
