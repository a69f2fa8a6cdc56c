/* netproc_escape.c — the test build's compromised network process (see
 * netproc_run.h): every attempt it makes, and whether the kernel let it.
 * A release build compiles none of it. */
#include "net/netproc_run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "apr_strings.h"

#include "acme/acme_order.h"
#include "crypto/crypt_csr.h"
#include "crypto/crypt_key.h"

#ifdef EXPACME_TEST_HOOKS
static void attempt(const char *what, const char *path, int fd)
{
    fprintf(stderr, "expacmectl network process (escape test): %s %s: %s\n",
            what, path, fd >= 0 ? "ALLOWED" : strerror(errno));
    if (fd >= 0)
        close(fd);
}

void netproc_test_escape(const privdrop_result_t *dropped)
{
    const char *paths = getenv("EXPACME_TEST_NETPROC_ESCAPE");
    if (paths == NULL)
        return;
    fprintf(stderr,
            "expacmectl network process (escape test): uid %ld gid %ld "
            "landlock %d no_new_privs %d dumpable %d\n",
            (long)dropped->uid, (long)dropped->gid, dropped->landlock_abi,
            prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
            prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    char *copy = strdup(paths), *save = NULL;
    for (char *p = strtok_r(copy, ":", &save); p != NULL;
         p = strtok_r(NULL, ":", &save)) {
        char made[4096];
        attempt("read", p, open(p, O_RDONLY | O_CLOEXEC));
        snprintf(made, sizeof(made), "%s/escape-test", p);
        attempt("create", made,
                open(made, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        attempt("write", p, open(p, O_WRONLY | O_CLOEXEC));
    }
    free(copy);
}

const apr_array_header_t *netproc_test_forge(const apr_array_header_t *list,
                                             apr_pool_t *pool)
{
    const char *what = getenv("EXPACME_TEST_NETPROC_FORGE");
    if (what == NULL || list->nelts == 0 ||
        (strcmp(what, "name") && strcmp(what, "keyauth") &&
         strcmp(what, "twice")))
        return list;
    apr_array_header_t *forged = apr_array_copy(pool, list);
    acme_challenge_t *c = &APR_ARRAY_IDX(forged, 0, acme_challenge_t);
    if (strcmp(what, "name") == 0)
        c->name = c->host = "forged.example";
    else if (strcmp(what, "keyauth") == 0)
        c->keyauth = apr_pstrcat(pool, c->token, ".forged-thumbprint", NULL);
    else { /* "twice": decoys, well formed, other tokens */
        const char *dot = strchr(c->keyauth, '.');
        c->token = apr_pstrcat(pool, "decoy", c->token, NULL);
        c->keyauth = apr_pstrcat(pool, c->token, dot ? dot : "", NULL);
    }
    fprintf(stderr, "expacmectl network process (forge test): %s forged\n",
            what);
    return forged;
}

int netproc_test_twice(void)
{
    const char *what = getenv("EXPACME_TEST_NETPROC_FORGE");
    return what != NULL && strcmp(what, "twice") == 0;
}

/* ...=csr: the order finalized with a CSR of a key made here, for the
 * same names: what a compromised network process wants a certificate
 * for. */
const char *netproc_test_forge_csr(const char *csr_der_b64url,
                                   const apr_array_header_t *names,
                                   apr_pool_t *pool)
{
    const char *what = getenv("EXPACME_TEST_NETPROC_FORGE");
    crypt_key_type_t type;
    EVP_PKEY *key = NULL;
    X509_REQ *csr = NULL;
    const char *err = NULL;
    if (what == NULL || strcmp(what, "csr") != 0)
        return csr_der_b64url;
    crypt_csr_spec_t spec = {.cn = APR_ARRAY_IDX(names, 0, const char *),
                             .names = (apr_array_header_t *)names,
                             .digest = CRYPT_DIGEST_SHA256};
    if (crypt_key_type_parse(&type, "ec256", &err, pool) != APR_SUCCESS ||
        crypt_key_generate(&key, type, &err, pool) != APR_SUCCESS ||
        crypt_csr_create(&csr, key, &spec, &err, pool) != APR_SUCCESS)
        return csr_der_b64url;
    fprintf(stderr, "expacmectl network process (forge test): csr forged\n");
    return crypt_csr_der_b64url(csr, pool);
}
#else
void netproc_test_escape(const privdrop_result_t *dropped)
{
    (void)dropped;
}

const apr_array_header_t *netproc_test_forge(const apr_array_header_t *list,
                                             apr_pool_t *pool)
{
    (void)pool;
    return list;
}

int netproc_test_twice(void)
{
    return 0;
}

const char *netproc_test_forge_csr(const char *csr_der_b64url,
                                   const apr_array_header_t *names,
                                   apr_pool_t *pool)
{
    (void)names;
    (void)pool;
    return csr_der_b64url;
}
#endif
