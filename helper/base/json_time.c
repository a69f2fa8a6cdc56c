/* json_time.c — see json_time.h. */
#include "base/json_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* The members that hold a time (or a list of times) wherever they are:
 * one table, so every command's output says times the same way. */
static const char *const time_names[] = {
    "generated",    "created",   "expires",          "time",
    "not_before",   "not_after", "renewal_due",      "next_slot",
    "next_attempt", "resubmit",  "next_deploy_slot", "start",
    "end",
};

static int is_time_name(const char *key)
{
    for (size_t i = 0; i < sizeof(time_names) / sizeof(time_names[0]); i++) {
        if (strcmp(key, time_names[i]) == 0)
            return 1;
    }
    return 0;
}

const char *json_time_format(char buf[JSON_TIME_LEN], apr_int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(buf, JSON_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, JSON_TIME_LEN, "1970-01-01T00:00:00Z");
    return buf;
}

static json_t *time_string(json_t *epoch)
{
    char buf[JSON_TIME_LEN];
    return json_string(json_time_format(buf, json_integer_value(epoch)));
}

/* An array of epoch integers as strings; NULL unless every item is one. */
static json_t *time_list(json_t *list)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return NULL;
    }
    json_t *out = json_array();
    json_array_foreach(list, i, v)
    {
        json_array_append_new(out, time_string(v));
    }
    return out;
}

/* The rewritten form of member key, or NULL to leave it alone. */
static json_t *converted(const char *key, json_t *value)
{
    if (!is_time_name(key))
        return NULL;
    if (json_is_integer(value) && json_integer_value(value) >= 0)
        return time_string(value);
    if (json_is_array(value) && json_array_size(value) > 0)
        return time_list(value);
    return NULL;
}

static void rewrite_object(json_t *obj)
{
    json_t *changes = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        json_t *text = converted(key, value);
        if (text == NULL) {
            json_time_rfc3339(value);
            continue;
        }
        char name[128];
        snprintf(name, sizeof(name), "%s_epoch", key);
        json_object_set(changes, name, value);
        json_object_set_new(changes, key, text);
    }
    json_object_update(obj, changes);
    json_decref(changes);
}

void json_time_rfc3339(json_t *doc)
{
    size_t i;
    json_t *v;
    if (json_is_object(doc))
        rewrite_object(doc);
    else if (json_is_array(doc)) {
        json_array_foreach(doc, i, v)
        {
            json_time_rfc3339(v);
        }
    }
}
