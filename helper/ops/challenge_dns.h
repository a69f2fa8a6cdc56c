/* challenge_dns.h — dns-01 through the operator's hook (SPEC §12): the
 * certificate's dns_hook runs as `PROGRAM add NAME VALUE` and
 * `PROGRAM del NAME VALUE` (argv, no shell, dns_hook_timeout, exit status
 * checked, output escaped into errors), and after add the TXT record is
 * polled through dns_resolver until it shows the value or dns_wait has
 * passed — only then is the CA told to validate. */
#ifndef EXPACME_CHALLENGE_DNS_H
#define EXPACME_CHALLENGE_DNS_H

#include "ops/ops.h"

/* "_acme-challenge.<host>" (RFC 8555 §8.4; host without "*."). */
const char *challenge_dns_record(const char *host, apr_pool_t *pool);

/* verb "add" or "del".  APR_SUCCESS only when the hook exited 0. */
apr_status_t challenge_dns_hook(const ops_ctx_t *ctx, const char *hook,
                                const char *verb, const char *record,
                                const char *value, const char **err);

/* Polls (100 ms doubling to 2 s) until record's TXT answers hold value;
 * APR_TIMEUP after dns_wait seconds, APR_EINTR when interrupted, with
 * *err saying what the resolver last answered. */
apr_status_t challenge_dns_wait(const ops_ctx_t *ctx, const char *record,
                                const char *value, const char **err);

#endif
