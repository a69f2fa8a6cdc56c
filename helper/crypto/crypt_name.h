/* crypt_name.h — the rules for the names a certificate may carry (DNS
 * names and IP literals), and reading names out of X.509 structures.
 * The rules are pure string checks; the X.509 readers turn what a CA or
 * a CSR holds into text that is safe to print and compare. */
#ifndef EXPACME_CRYPT_NAME_H
#define EXPACME_CRYPT_NAME_H

#include <openssl/x509v3.h>

#include "apr_pools.h"
#include "apr_tables.h"

/* 1 when name is an acceptable DNS identifier for a certificate: FQDN
 * (at least two labels, LDH labels, no wildcard, not an IP address);
 * otherwise 0 with *why. IP addresses are accepted separately by
 * crypt_name_is_ip. */
int crypt_name_valid_fqdn(const char *name, const char **why, apr_pool_t *pool);
/* 1 when name is a literal IPv4 or IPv6 address (RFC 8738 identifier). */
int crypt_name_is_ip(const char *name);

/* --- for crypt_csr.c and crypt_cert.c ------------------------------------ */

/* The address bytes of an IP literal: 4, 16, or 0 when name is none. */
int crypt_name_ip_bytes(const char *name, unsigned char addr[16]);
/* Same identifier: IPs as addresses, DNS names case-insensitively. */
int crypt_name_equal(const char *a, const char *b);
/* 1 when names (const char *) holds an identifier equal to name. */
int crypt_name_contains(const apr_array_header_t *names, const char *name);
/* Appends name unless an equal one is there already. */
void crypt_name_add_unique(apr_array_header_t *names, const char *name);
/* Appends the DNS and IP names of gens (may be NULL) as text, IPs in
 * inet_ntop form, without duplicates.  A malformed DNS name comes out
 * mangled, so it never matches. */
void crypt_name_add_general(apr_array_header_t *names,
                            const GENERAL_NAMES *gens, apr_pool_t *pool);
/* The CN of a distinguished name, UTF-8 without control characters, or
 * NULL. */
const char *crypt_name_cn(const X509_NAME *name, apr_pool_t *pool);
/* A distinguished name on one line (RFC 2253), or NULL. */
const char *crypt_name_line(const X509_NAME *name, apr_pool_t *pool);

#endif
