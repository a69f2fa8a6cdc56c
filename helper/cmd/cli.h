/* cli.h — what every expacmectl command shares: parsed arguments, the
 * output channel (text or --json), errors and exit codes. */
#ifndef EXPACME_CLI_H
#define EXPACME_CLI_H

#include <jansson.h>

#include "apr_pools.h"
#include "apr_tables.h"

#include "base/config.h"
#include "crypto/crypt_cert.h"
#include "ops/ops.h"

/* The exit code is part of the interface (manual §3). */
typedef enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_FAILED = 1, /* the operation failed */
    CLI_EXIT_USAGE = 2   /* usage or configuration error */
} cli_exit_t;

typedef enum { CLI_OPT_FLAG, CLI_OPT_VALUE } cli_opt_kind_t;

typedef struct {
    const char *name; /* without the leading "--" */
    cli_opt_kind_t kind;
} cli_opt_spec_t;

typedef struct {
    apr_pool_t *pool;
    int json;                /* --json */
    const char *config_path; /* as given, or NULL */
    const char *cert_name;   /* --cert NAME, default "server" */
    expacme_config_t *config;
    ops_ctx_t ctx;  /* what operations run in (cli_ctx_init) */
    json_t *result; /* what --json prints on success */
    int argc;       /* remaining words after the command */
    const char **argv;
    apr_table_t *options; /* parsed command options */
} cli_t;

/* Splits argv into positionals and options allowed by specs (NULL name
 * ends the list).  CLI_EXIT_USAGE with a message on anything else. */
cli_exit_t cli_parse_options(cli_t *cli, const cli_opt_spec_t *specs,
                             int min_positional, int max_positional);

const char *cli_option(const cli_t *cli, const char *name);

/* Prints "expacmectl: EXPnnnnn: message" to stderr (and syslog), stores the
 * message for --json, and returns code. */
cli_exit_t cli_fail(cli_t *cli, cli_exit_t code, int logno, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* Progress and text output: stdout without --json, nothing with it. */
void cli_say(cli_t *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Progress of long operations: "expacmectl: message" on stderr, unless
 * --json. Matches acme_progress_fn (baton is the cli_t). */
void cli_progress(void *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* SIGINT/SIGTERM set this flag instead of killing the process, so every
 * operation can withdraw its tokens and close the window first. */
extern volatile int cli_interrupted;
void cli_trap_signals(void);

/* Makes cli->ctx the context operations run in: the command's pool and
 * configuration, the clock, progress on stderr, the interrupted flag. */
void cli_ctx_init(cli_t *cli);

/* An operation's outcome as the command's: OPS_OK passes, anything else
 * is reported like cli_fail with the operation's message number. */
cli_exit_t cli_report(cli_t *cli, ops_status_t status,
                      const ops_error_t *error);

/* A certificate as `pending show` prints it. */
void cli_print_cert(cli_t *cli, const char *label,
                    const crypt_cert_info_t *info);

/* A command area's verbs ("token put", "csr show", ...). */
typedef struct {
    const char *name;
    cli_exit_t (*run)(cli_t *cli);
} cli_verb_t;

/* Takes the first word as the verb and runs it from verbs (ended by a
 * NULL name); a usage error naming the verbs otherwise: logno_missing
 * when there is no verb, logno_unknown for one not in verbs. */
cli_exit_t cli_run_verb(cli_t *cli, const char *area, const cli_verb_t *verbs,
                        int logno_missing, int logno_unknown);

/* Parses a non-negative decimal; 0 on success. */
int cli_parse_uint(const char *s, unsigned long max, unsigned long *out);

#endif
