/* httpd_ctl.h — configtest and graceful, as the operator configured them
 * (configtest_command / graceful_command, else "<apachectl> configtest" /
 * "<apachectl> graceful"), run without a shell. */
#ifndef EXPACME_HTTPD_CTL_H
#define EXPACME_HTTPD_CTL_H

#include "ops/ops.h"

typedef enum { HTTPD_CTL_CONFIGTEST, HTTPD_CTL_GRACEFUL } httpd_ctl_verb_t;

/* APR_SUCCESS when the command exited 0; otherwise *err holds the command,
 * its exit code and the start of its output. */
apr_status_t httpd_ctl_run(const ops_ctx_t *ctx, httpd_ctl_verb_t verb,
                           const char **err);

#endif
