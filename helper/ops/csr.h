/* csr.h — the key and the CSR of one managed certificate (SPEC §2-§3):
 * `csr generate|show|discard`.  Files in its state directory: key.pem
 * (0600), csr.pem, and csr.json (what was asked for, which `status`
 * shows).  Nothing secret is ever in a result: the key stays in key.pem. */
#ifndef EXPACME_CSR_H
#define EXPACME_CSR_H

#include <jansson.h>

#include "apr_tables.h"

#include "crypto/crypt_key.h"
#include "crypto/crypt_csr.h"
#include "ops/ops.h"

typedef struct {
    crypt_csr_spec_t spec;      /* passed crypt_csr_spec_check */
    crypt_key_type_t key_type;  /* of a new key */
    int key_type_given;         /* a reused key must then be of key_type */
    int reuse_key;              /* the stored key instead of a new one */
    int has_second;             /* a second key and CSR (key2.pem, */
    crypt_key_type_t key_type2; /* csr2.pem) of the other kind */
} csr_request_t;

typedef struct {
    json_t *record;            /* csr.json as written, bound to the pool */
    const char *pem;           /* the CSR */
    const char *dir;           /* the certificate's state directory */
    crypt_key_type_t key_type; /* the key's, the stored one's if reused */
    const char *warning;       /* a pending certificate lost its key */
} csr_generate_result_t;

/* A new CSR (and key, unless reused) for certificate name; the old ones
 * stay as they were on any failure before the new key is stored. */
ops_status_t csr_generate(csr_generate_result_t *result, ops_error_t *error,
                          const ops_ctx_t *ctx, const char *name,
                          const csr_request_t *req);

typedef struct {
    const char *pem;
    const char *text;          /* OpenSSL's text form */
    const char *cn;            /* the first name, or NULL */
    apr_array_header_t *names; /* const char *, from the CSR itself */
    const char *key_type;      /* NULL when not one of ours */
    json_t *record;            /* csr.json, NULL when unreadable */
} csr_show_result_t;

ops_status_t csr_show(csr_show_result_t *result, ops_error_t *error,
                      const ops_ctx_t *ctx, const char *name);

typedef struct {
    const char *warning; /* a pending certificate lost its key */
} csr_discard_result_t;

/* Removes the CSR and its key. */
ops_status_t csr_discard(csr_discard_result_t *result, ops_error_t *error,
                         const ops_ctx_t *ctx, const char *name);

#endif
