/* acme_json.h — type-checked access to JSON from a CA.  Every field is looked
 * up through these, so a wrong type, a missing member or an absurd length
 * is an error with a name instead of a crash. */
#ifndef EXPACME_ACME_JSON_H
#define EXPACME_ACME_JSON_H

#include <jansson.h>

#include "apr_pools.h"

#define ACME_JSON_STRING_MAX 8192

/* Parses an object (duplicates rejected), bound to pool. */
apr_status_t acme_json_parse_object(json_t **out, const char *text,
                                    apr_size_t len, const char *what,
                                    const char **err, apr_pool_t *pool);

/* The string member key of obj, or NULL when absent, not a string, empty,
 * longer than ACME_JSON_STRING_MAX or holding a NUL. */
const char *acme_json_string_member(const json_t *obj, const char *key);
/* Like acme_json_string_member, and the value must be an https:// URL. */
const char *acme_json_url_member(const json_t *obj, const char *key);
/* Members of a given type, or NULL. */
json_t *acme_json_array_member(const json_t *obj, const char *key);
json_t *acme_json_object_member(const json_t *obj, const char *key);

#endif
