/* dns_client.h — just enough DNS (RFC 1035) over UDP for the pre-flight
 * check and dns-01: A, AAAA and TXT questions to one resolver, answers as
 * text.  The resolver is expacme.conf's dns_resolver (HOST:PORT, an
 * address literal), or else the first nameserver of /etc/resolv.conf. */
#ifndef EXPACME_DNS_CLIENT_H
#define EXPACME_DNS_CLIENT_H

#include "apr_pools.h"
#include "apr_tables.h"

typedef enum {
    DNS_CLIENT_A = 1,
    DNS_CLIENT_TXT = 16,
    DNS_CLIENT_AAAA = 28
} dns_client_type_t;

/* *answers: const char * (addresses in inet_ntop form, TXT records with
 * their strings joined).  APR_SUCCESS with an empty list when the name
 * exists without such records; APR_ENOENT for NXDOMAIN; anything else
 * (no answer before timeout, SERVFAIL, a malformed reply) an error.  *err
 * always says what the resolver answered, for the one-line reports. */
apr_status_t dns_client_query(apr_array_header_t **answers,
                              const char *resolver, const char *name,
                              dns_client_type_t type,
                              apr_interval_time_t timeout, const char **err,
                              apr_pool_t *pool);

/* The addresses of name: A then AAAA through resolver, or getaddrinfo()
 * (so /etc/hosts counts) when resolver is NULL.  An empty list with *err
 * when there are none. */
apr_status_t dns_client_addresses(apr_array_header_t **addresses,
                                  const char *resolver, const char *name,
                                  apr_interval_time_t timeout, const char **err,
                                  apr_pool_t *pool);

/* What the reports call the resolver: "127.0.0.1:53 (system)", ... */
const char *dns_client_resolver_name(const char *resolver, apr_pool_t *pool);

#endif
