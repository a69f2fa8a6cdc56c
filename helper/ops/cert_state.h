/* cert_state.h — one managed certificate's state directory: its
 * status.json (Last Sign Status, the order in flight), the per-certificate
 * lock, and the files (csr.pem, key.pem, pending.pem, ...). */
#ifndef EXPACME_CERT_STATE_H
#define EXPACME_CERT_STATE_H

#include <jansson.h>

#include "acme/acme.h"
#include "ops/ops.h"

typedef struct {
    const char *name;
    const char *dir;
    json_t *status; /* status.json, {} when new */
    int lock_fd;    /* -1 unless locked */
    const ops_ctx_t *ctx;
} cert_state_t;

apr_status_t cert_state_open(cert_state_t **out, const ops_ctx_t *ctx,
                             const char *name, const char **err);
const char *cert_state_file(const cert_state_t *cert, const char *file);
int cert_state_has(const cert_state_t *cert, const char *file);
apr_status_t cert_state_save(cert_state_t *cert, const char **err);

/* Takes the certificate's lock without waiting: APR_EBUSY when another
 * expacmectl holds it.  Released when the pool goes. */
apr_status_t cert_state_lock(cert_state_t *cert, const char **err);

/* Records the outcome of a sign: result "success", "failure" or
 * "interrupted"; problem may be NULL. */
void cert_state_set_sign(cert_state_t *cert, const char *result,
                         const char *detail, const char *provider,
                         const acme_problem_t *problem);

/* An order a killed helper left behind: withdraws its tokens from the
 * challenge store and notes it in Last Sign Status.  *recovered says
 * whether there was one. */
apr_status_t cert_state_recover(cert_state_t *cert, int *recovered,
                                const char **err);

/* 1 while the helper whose pid a journal names may still run: kill()'s
 * EPERM means a process of another user has that pid, so alive too. */
int cert_state_pid_alive(json_int_t pid);

/* The "state" of manual §2: none, csr, signing, pending, deployed. */
const char *cert_state_name(const cert_state_t *cert);

#endif
