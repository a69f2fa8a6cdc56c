/* cert_info.h — a certificate as status and pending show present it:
 * JSON for admin UIs, aligned text for people. */
#ifndef EXPACME_CERT_INFO_H
#define EXPACME_CERT_INFO_H

#include "cmd/cli.h"
#include "crypto/crypt_cert.h"

json_t *cert_info_json(const crypt_cert_info_t *info);
void cert_info_print(cli_t *cli, const char *label,
                     const crypt_cert_info_t *info);
/* "2026-11-23 04:19:00 UTC" */
const char *cert_info_time(apr_int64_t t, apr_pool_t *pool);

#endif
