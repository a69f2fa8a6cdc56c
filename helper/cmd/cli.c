/* cli.c — argument parsing and output shared by every command. */
#include "cmd/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apr_strings.h"

#include "base/clock.h"
#include "base/log.h"
#include "ops/cert_info.h"

static const cli_opt_spec_t *find_spec(const cli_opt_spec_t *specs,
                                       const char *name, size_t len)
{
    for (const cli_opt_spec_t *s = specs; s != NULL && s->name != NULL; s++) {
        if (strlen(s->name) == len && strncmp(s->name, name, len) == 0)
            return s;
    }
    return NULL;
}

/* One "--name[=value]" word (value maybe in the next word); returns the
 * number of words consumed, or 0 after reporting a usage error. */
static int take_option(cli_t *cli, const cli_opt_spec_t *specs, int i)
{
    const char *word = cli->argv[i] + 2;
    const char *eq = strchr(word, '=');
    size_t len = eq != NULL ? (size_t)(eq - word) : strlen(word);
    const cli_opt_spec_t *spec = find_spec(specs, word, len);
    const char *name = apr_pstrndup(cli->pool, word, len);
    if (spec == NULL) {
        cli_fail(cli, CLI_EXIT_USAGE, 2001, "unknown option --%s", name);
        return 0;
    }
    if (spec->kind == CLI_OPT_FLAG) {
        if (eq != NULL) {
            cli_fail(cli, CLI_EXIT_USAGE, 2002, "--%s takes no value", name);
            return 0;
        }
        apr_table_setn(cli->options, spec->name, "1");
        return 1;
    }
    if (eq != NULL) {
        apr_table_setn(cli->options, spec->name, eq + 1);
        return 1;
    }
    if (i + 1 >= cli->argc) {
        cli_fail(cli, CLI_EXIT_USAGE, 2003, "--%s needs a value", name);
        return 0;
    }
    apr_table_setn(cli->options, spec->name, cli->argv[i + 1]);
    return 2;
}

cli_exit_t cli_parse_options(cli_t *cli, const cli_opt_spec_t *specs,
                             int min_positional, int max_positional)
{
    const char **positional =
        apr_pcalloc(cli->pool, sizeof(char *) * (cli->argc + 1));
    int count = 0;
    int options_done = 0;
    cli->options = apr_table_make(cli->pool, 8);
    for (int i = 0; i < cli->argc;) {
        const char *word = cli->argv[i];
        if (!options_done && strcmp(word, "--") == 0) {
            options_done = 1;
            i++;
            continue;
        }
        if (!options_done && strncmp(word, "--", 2) == 0) {
            int used = take_option(cli, specs, i);
            if (used == 0)
                return CLI_EXIT_USAGE;
            i += used;
            continue;
        }
        positional[count++] = word;
        i++;
    }
    if (count < min_positional)
        return cli_fail(cli, CLI_EXIT_USAGE, 2004,
                        "missing argument (see 'expacmectl help')");
    if (count > max_positional)
        return cli_fail(cli, CLI_EXIT_USAGE, 2005,
                        "unexpected argument '%s' (see 'expacmectl help')",
                        positional[max_positional]);
    cli->argv = positional;
    cli->argc = count;
    return CLI_EXIT_OK;
}

const char *cli_option(const cli_t *cli, const char *name)
{
    return cli->options != NULL ? apr_table_get(cli->options, name) : NULL;
}

cli_exit_t cli_fail(cli_t *cli, cli_exit_t code, int logno, const char *fmt,
                    ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = apr_pvsprintf(cli->pool, fmt, ap);
    va_end(ap);
    fprintf(stderr, "expacmectl: EXP%05d: %s\n", logno, message);
    log_error(logno, "%s", message);
    if (cli->result == NULL)
        cli->result = json_object();
    json_object_set_new(cli->result, "error", json_string(message));
    json_object_set_new(cli->result, "code", json_sprintf("EXP%05d", logno));
    return code;
}

void cli_say(cli_t *cli, const char *fmt, ...)
{
    if (cli->json)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

volatile int cli_interrupted;

static void progress_v(void *baton, const char *fmt, va_list ap)
{
    cli_t *cli = baton;
    if (cli->json)
        return;
    fputs("expacmectl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_progress(void *baton, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    progress_v(baton, fmt, ap);
    va_end(ap);
}

static void on_signal(int signo)
{
    cli_interrupted = 1;
}

void cli_trap_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

void cli_ctx_init(cli_t *cli)
{
    cli->ctx.pool = cli->pool;
    cli->ctx.config = cli->config;
    cli->ctx.now = clock_now;
    cli->ctx.progress = progress_v;
    cli->ctx.progress_baton = cli;
    cli->ctx.interrupted = &cli_interrupted;
}

cli_exit_t cli_report(cli_t *cli, ops_status_t status, const ops_error_t *error)
{
    if (status == OPS_OK)
        return CLI_EXIT_OK;
    return cli_fail(cli, status == OPS_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED,
                    error->logno, "%s", error->message);
}

/* "a, b or c" */
static const char *verb_names(const cli_verb_t *verbs, apr_pool_t *pool)
{
    const char *names = "";
    for (const cli_verb_t *v = verbs; v->name != NULL; v++) {
        const char *sep = v == verbs ? "" : v[1].name == NULL ? " or " : ", ";
        names = apr_pstrcat(pool, names, sep, v->name, NULL);
    }
    return names;
}

cli_exit_t cli_run_verb(cli_t *cli, const char *area, const cli_verb_t *verbs,
                        int logno_missing, int logno_unknown)
{
    const char *verb = cli->argc > 0 ? cli->argv[0] : NULL;
    for (const cli_verb_t *v = verbs; verb != NULL && v->name != NULL; v++) {
        if (strcmp(v->name, verb) == 0) {
            cli->argc--;
            cli->argv++;
            return v->run(cli);
        }
    }
    const char *names = verb_names(verbs, cli->pool);
    if (verb == NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, logno_missing, "%s needs %s", area,
                        names);
    return cli_fail(cli, CLI_EXIT_USAGE, logno_unknown,
                    "unknown %s command '%s' (%s)", area, verb, names);
}

int cli_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

void cli_print_cert(cli_t *cli, const char *label,
                    const crypt_cert_info_t *info)
{
    cli_say(cli, "%s\n  subject:    %s\n  issuer:     %s\n", label,
            info->subject, info->issuer);
    for (int i = 0; i < info->names->nelts; i++)
        cli_say(cli, "  name:       %s\n",
                APR_ARRAY_IDX(info->names, i, const char *));
    cli_say(cli,
            "  not before: %s\n  not after:  %s\n  key:        %s\n"
            "  serial:     %s\n  SHA-256:    %s\n  SHA-1:      %s\n",
            cert_info_time(info->not_before, cli->pool),
            cert_info_time(info->not_after, cli->pool), info->key_type,
            info->serial, info->sha256, info->sha1);
}
