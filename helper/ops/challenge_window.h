/* challenge_window.h — port 80 opened only while challenges are open
 * (manual §7), for hosts that do not serve plain HTTP otherwise.
 *
 * With challenge_window_include (a file httpd includes, e.g. through
 * IncludeOptional) and challenge_window_listen (e.g. "80") configured,
 * opening writes a Listen and a challenge-only virtual host there and
 * reloads httpd gracefully; closing removes the file and reloads again.
 * Without them both calls do nothing. */
#ifndef EXPACME_CHALLENGE_WINDOW_H
#define EXPACME_CHALLENGE_WINDOW_H

#include "ops/ops.h"

apr_status_t challenge_window_open(const ops_ctx_t *ctx, const char **err);
/* Also what recovery calls after a helper died with the window open. */
apr_status_t challenge_window_close(const ops_ctx_t *ctx, const char **err);

#endif
