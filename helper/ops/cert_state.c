/* cert_state.c — see cert_state.h. */
#include "ops/cert_state.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "apr_strings.h"

#include "ops/challenge_publish.h"
#include "ops/challenge_window.h"
#include "acme/acme_json.h"
#include "base/state.h"

static apr_status_t unlock_cleanup(void *data)
{
    cert_state_t *cert = data;
    if (cert->lock_fd >= 0)
        close(cert->lock_fd);
    cert->lock_fd = -1;
    return APR_SUCCESS;
}

apr_status_t cert_state_open(cert_state_t **out, const ops_ctx_t *ctx,
                             const char *name, const char **err)
{
    cert_state_t *cert = apr_pcalloc(ctx->pool, sizeof(*cert));
    *out = NULL;
    cert->name = name;
    cert->ctx = ctx;
    cert->lock_fd = -1;
    apr_status_t rv =
        state_cert_dir(&cert->dir, ctx->config, name, err, ctx->pool);
    if (rv != APR_SUCCESS)
        return rv;
    rv = state_read_json(&cert->status, cert_state_file(cert, "status.json"),
                         err, ctx->pool);
    if (APR_STATUS_IS_ENOENT(rv)) {
        cert->status = json_pool_bind(json_object(), ctx->pool);
        rv = APR_SUCCESS;
    }
    apr_pool_cleanup_register(ctx->pool, cert, unlock_cleanup,
                              apr_pool_cleanup_null);
    if (rv == APR_SUCCESS)
        *out = cert;
    return rv;
}

const char *cert_state_file(const cert_state_t *cert, const char *file)
{
    return apr_pstrcat(cert->ctx->pool, cert->dir, "/", file, NULL);
}

int cert_state_has(const cert_state_t *cert, const char *file)
{
    return state_exists(cert_state_file(cert, file));
}

apr_status_t cert_state_save(cert_state_t *cert, const char **err)
{
    return state_write_json(cert_state_file(cert, "status.json"), cert->status,
                            err, cert->ctx->pool);
}

apr_status_t cert_state_lock(cert_state_t *cert, const char **err)
{
    const char *path = cert_state_file(cert, "lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        *err = apr_psprintf(cert->ctx->pool, "cannot open %s: %s", path,
                            strerror(errno));
        return errno;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        *err = apr_psprintf(cert->ctx->pool,
                            "busy: another expacmectl is "
                            "working on certificate %s",
                            cert->name);
        return APR_EBUSY;
    }
    cert->lock_fd = fd;
    return APR_SUCCESS;
}

static json_t *problem_json(const acme_problem_t *p)
{
    json_t *o = json_pack("{s:i, s:s?, s:s?}", "status", p->http_status, "type",
                          p->type, "detail", p->detail);
    if (p->subproblems->nelts > 0) {
        json_t *subs = json_array();
        for (int i = 0; i < p->subproblems->nelts; i++) {
            const acme_subproblem_t *s =
                &APR_ARRAY_IDX(p->subproblems, i, acme_subproblem_t);
            json_array_append_new(subs,
                                  json_pack("{s:s?, s:s?, s:s?}", "identifier",
                                            s->identifier, "type", s->type,
                                            "detail", s->detail));
        }
        json_object_set_new(o, "subproblems", subs);
    }
    if (p->retry_after_s >= 0)
        json_object_set_new(o, "retry_after", json_integer(p->retry_after_s));
    return o;
}

void cert_state_set_sign(cert_state_t *cert, const char *result,
                         const char *detail, const char *provider,
                         const acme_problem_t *problem)
{
    json_t *sign =
        json_pack("{s:I, s:s, s:s?, s:s?}", "time", (json_int_t)time(NULL),
                  "result", result, "detail", detail, "provider", provider);
    if (problem != NULL)
        json_object_set_new(sign, "problem", problem_json(problem));
    json_object_set_new(cert->status, "last_sign", sign);
}

int cert_state_pid_alive(json_int_t pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static apr_status_t withdraw_tokens(cert_state_t *cert, json_t *list,
                                    const char **err)
{
    apr_array_header_t *tokens =
        apr_array_make(cert->ctx->pool, 8, sizeof(const char *));
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t)
    {
        if (json_is_string(t))
            APR_ARRAY_PUSH(tokens, const char *) = json_string_value(t);
    }
    return challenge_publish_withdraw(cert->ctx->config, tokens, err,
                                      cert->ctx->pool);
}

apr_status_t cert_state_recover(cert_state_t *cert, int *recovered,
                                const char **err)
{
    json_t *signing = acme_json_object_member(cert->status, "signing");
    *recovered = 0;
    if (signing == NULL)
        return APR_SUCCESS;
    json_int_t pid = json_integer_value(json_object_get(signing, "pid"));
    if (cert_state_pid_alive(pid) && pid != getpid())
        return APR_SUCCESS;
    apr_status_t rv =
        withdraw_tokens(cert, json_object_get(signing, "tokens"), err);
    if (rv == APR_SUCCESS)
        rv = challenge_window_close(cert->ctx, err);
    if (rv != APR_SUCCESS)
        return rv;
    cert_state_set_sign(cert, "interrupted",
                        "the previous sign was killed mid-order; its "
                        "challenges were withdrawn",
                        acme_json_string_member(signing, "provider"), NULL);
    json_object_del(cert->status, "signing");
    *recovered = 1;
    return cert_state_save(cert, err);
}

const char *cert_state_name(const cert_state_t *cert)
{
    json_t *signing = acme_json_object_member(cert->status, "signing");
    if (signing != NULL && cert_state_pid_alive(json_integer_value(
                               json_object_get(signing, "pid"))))
        return "signing";
    if (cert_state_has(cert, "deployed.json"))
        return cert_state_has(cert, "pending.pem") ? "pending" : "deployed";
    if (cert_state_has(cert, "pending.pem"))
        return "pending";
    if (cert_state_has(cert, "csr.pem"))
        return "csr";
    return "none";
}
