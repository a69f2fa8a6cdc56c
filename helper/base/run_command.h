/* run_command.h — runs an external command (apachectl, a notify hook)
 * from an argv, never through a shell, with a time limit, and keeps the
 * first part of its output for error messages. */
#ifndef EXPACME_RUN_COMMAND_H
#define EXPACME_RUN_COMMAND_H

#include "apr_pools.h"
#include "apr_tables.h"

typedef struct {
    int exit_code; /* -1 when it did not exit normally */
    int timed_out;
    const char *output; /* stdout + stderr, at most 4 KiB, one line */
} run_command_result_t;

/* Splits a configured command line on blanks (no quoting, no shell
 * expansion: a path with spaces belongs in a wrapper script). */
apr_array_header_t *run_command_split(const char *line, apr_pool_t *pool);

/* env: extra "NAME=value" strings (may be NULL). */
apr_status_t run_command(run_command_result_t *result,
                         const apr_array_header_t *argv,
                         const apr_array_header_t *env,
                         apr_interval_time_t timeout, const char **err,
                         apr_pool_t *pool);

#endif
