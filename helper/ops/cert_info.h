/* cert_info.h — a certificate as the status document and pending show
 * present it to admin UIs, and the time format people read. */
#ifndef EXPACME_CERT_INFO_H
#define EXPACME_CERT_INFO_H

#include <jansson.h>

#include "crypto/crypt_cert.h"

json_t *cert_info_json(const crypt_cert_info_t *info);
/* names (const char *) as a JSON array: a certificate's or a CSR's. */
json_t *cert_info_names_json(const apr_array_header_t *names);
/* "2026-11-23 04:19:00 UTC" */
const char *cert_info_time(apr_int64_t t, apr_pool_t *pool);

#endif
