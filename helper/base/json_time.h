/* json_time.h — times as expacmectl shows them to the outside (manual §3):
 * RFC 3339 strings in UTC, with the epoch seconds beside them.
 *
 * Inside, documents carry epoch seconds (state files, the schedule's
 * arithmetic).  At the edge — what --json prints and what is published
 * for admin UIs — json_time_rfc3339() rewrites every member named in one
 * table (docs/schema/common.json describes the result):
 *   "not_after": 1796144724
 * becomes
 *   "not_after": "2026-12-01T17:05:24Z", "not_after_epoch": 1796144724
 * and an array of times ("resubmit") becomes an array of strings with
 * "resubmit_epoch" beside it. */
#ifndef EXPACME_JSON_TIME_H
#define EXPACME_JSON_TIME_H

#include <jansson.h>

#include "apr.h"

#define JSON_TIME_LEN 21 /* "YYYY-MM-DDTHH:MM:SSZ" and its NUL */

/* t as RFC 3339 UTC into buf; returns buf. */
const char *json_time_format(char buf[JSON_TIME_LEN], apr_int64_t t);

/* Rewrites doc (objects and arrays, all the way down) in place; running
 * it twice changes nothing more. */
void json_time_rfc3339(json_t *doc);

#endif
