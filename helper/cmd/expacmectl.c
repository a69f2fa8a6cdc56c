/* expacmectl.c — the control helper's entry point: global options, the
 * command table, --json output and the exit code. */
#include "build_config.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "apr_file_info.h"
#include "apr_general.h"
#include "apr_strings.h"

#include "base/json_time.h"
#include "base/state.h"
#include "cmd/cli.h"
#include "cmd/commands.h"
#include "ops/status.h"

typedef struct {
    const char *name;
    cli_exit_t (*run)(cli_t *cli);
    int needs_config;
    const char *usage;
} command_t;

static cli_exit_t cmd_help(cli_t *cli);
static cli_exit_t cmd_version(cli_t *cli);

static const command_t commands[] = {
    {"help", cmd_help, 0, "help                          this text"},
    {"version", cmd_version, 0, "version                       the version"},
    {"provider", cmd_provider_run, 1,
     "provider list\n"
     "  provider add NAME --directory URL [--ca-bundle PEM]\n"
     "      [--eab-kid KID --eab-hmac-key-file FILE] [--fallback NAME]\n"
     "      [--preferred-chain ISSUER_CN] [--profile NAME]"},
    {"account", cmd_account_run, 1,
     "account register --provider NAME --email ADDR --agree-tos "
     "[--key-type T]\n"
     "  account show | rollover [--key-type T] | deactivate"},
    {"csr", cmd_csr_run, 1,
     "csr generate --cn FQDN [--san NAME,...] [--reuse-key]\n"
     "      [--key-type rsa2048|rsa3072|rsa4096|ec256|ec384]\n"
     "      [--digest sha256|sha384|sha512]\n"
     "      [--org O] [--unit OU] [--locality L] [--state ST] [--country C]\n"
     "  csr show [--pem] | discard    the key and CSR of a certificate"},
    {"sign", cmd_sign_run, 1,
     "sign [--profile NAME] [--check|--no-check]  the stored CSR to a pending "
     "certificate"},
    {"pending", cmd_pending_run, 1, "pending show [--pem] | discard"},
    {"deploy", cmd_deploy_run, 1,
     "deploy                        the pending certificate, no restart"},
    {"schedule", cmd_schedule_run, 1,
     "schedule --auto on|off [--days mon,tue,...] [--time HH:MM]"},
    {"renew", cmd_renew_run, 1,
     "renew [--now]                 what is due, for every certificate"},
    {"revoke", cmd_revoke_run, 1,
     "revoke CERTFILE [--provider NAME] [--key KEYFILE]\n"
     "      [--reason unspecified|keyCompromise|superseded|"
     "cessationOfOperation] [--force]"},
    {"status", cmd_status_run, 1,
     "status                        every managed certificate"},
    {"token", cmd_token_run, 1,
     "token put TOKEN KEYAUTH --host NAME [--ttl S]\n"
     "  token del TOKEN\n"
     "  token list                    the challenge store, by hand"},
};

static cli_exit_t cmd_help(cli_t *cli)
{
    if (cli->json) {
        json_t *list = json_array();
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
            json_array_append_new(list, json_string(commands[i].name));
        cli->result = json_pack("{s:o}", "commands", list);
        return CLI_EXIT_OK;
    }
    printf("usage: expacmectl [--config FILE] [--json] COMMAND ...\n\n"
           "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  %s\n", commands[i].usage);
    printf("\n--cert NAME    the managed certificate (default server)\n"
           "--config FILE  default $EXPACME_CONFIG, else %s\n"
           "--json         machine-readable result on stdout\n"
           "exit codes: 0 success, 1 operation failed, 2 usage or "
           "configuration error\n",
           CONFIG_DEFAULT_PATH);
    return CLI_EXIT_OK;
}

static cli_exit_t cmd_version(cli_t *cli)
{
    cli->result = json_pack("{s:s}", "version", PACKAGE_VERSION);
    cli_say(cli, "expacmectl %s\n", PACKAGE_VERSION);
    return CLI_EXIT_OK;
}

/* The global options that take a value: --config FILE, --cert NAME. */
typedef struct {
    const char *name;
    size_t offset; /* of the const char * in cli_t */
    int logno;
} global_value_t;

static const global_value_t global_values[] = {
    {"config", offsetof(cli_t, config_path), 2006},
    {"cert", offsetof(cli_t, cert_name), 2010},
};

/* Consumes argv[*i] (and its value) when it is one of global_values:
 * 1 taken, 0 not ours, -1 usage error already reported. */
static int take_global_value(cli_t *cli, int argc, const char *const *argv,
                             int *i)
{
    const char *word = argv[*i];
    for (size_t k = 0; k < sizeof(global_values) / sizeof(global_values[0]);
         k++) {
        const global_value_t *g = &global_values[k];
        size_t n = strlen(g->name);
        const char **field = (const char **)((char *)cli + g->offset);
        if (strncmp(word, "--", 2) != 0 || strncmp(word + 2, g->name, n) != 0)
            continue;
        if (word[2 + n] == '=') {
            *field = word + 3 + n;
            return 1;
        }
        if (word[2 + n] != '\0')
            continue;
        if (*i + 1 >= argc) {
            cli_fail(cli, CLI_EXIT_USAGE, g->logno, "--%s needs a value",
                     g->name);
            return -1;
        }
        *field = argv[++*i];
        return 1;
    }
    return 0;
}

/* Takes --config, --cert and --json from anywhere before "--"; the rest
 * stays in order for the command. */
static cli_exit_t take_globals(cli_t *cli, int argc, const char *const *argv)
{
    const char **rest = apr_pcalloc(cli->pool, sizeof(char *) * (argc + 1));
    int count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                rest[count++] = argv[i++];
            break;
        }
        int taken = take_global_value(cli, argc, argv, &i);
        if (taken < 0)
            return CLI_EXIT_USAGE;
        if (taken)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            cli->json = 1;
        else
            rest[count++] = argv[i];
    }
    cli->argv = rest;
    cli->argc = count;
    if (!config_name_valid(cli->cert_name))
        return cli_fail(cli, CLI_EXIT_USAGE, 2011,
                        "--cert: a name of letters, digits, '.', '-' and "
                        "'_' (not starting with '.')");
    return CLI_EXIT_OK;
}

/* What changes the state directory waits for any other helper working
 * there; what only reads (lists, shows, status) does not. */
static int takes_state_lock(const command_t *cmd, const cli_t *cli)
{
    static const char *const writers[] = {
        "account", "csr", "sign", "deploy", "schedule", "renew", "revoke"};
    const char *verb = cli->argc > 0 ? cli->argv[0] : "";
    for (size_t i = 0; i < sizeof(writers) / sizeof(writers[0]); i++) {
        if (strcmp(cmd->name, writers[i]) == 0)
            return strcmp(verb, "show") != 0;
    }
    return (strcmp(cmd->name, "provider") == 0 && strcmp(verb, "add") == 0) ||
           (strcmp(cmd->name, "pending") == 0 && strcmp(verb, "discard") == 0);
}

/* The commands that act on an existing managed certificate (--cert):
 * all but csr generate, which makes one. */
static int needs_existing_cert(const command_t *cmd, const cli_t *cli)
{
    static const char *const users[] = {"sign",     "deploy", "pending",
                                        "schedule", "status", "csr"};
    const char *verb = cli->argc > 0 ? cli->argv[0] : "";
    if (strcmp(cmd->name, "csr") == 0 && strcmp(verb, "generate") == 0)
        return 0;
    for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
        if (strcmp(cmd->name, users[i]) == 0)
            return 1;
    }
    return 0;
}

/* A managed certificate exists when it is "server", has a [cert NAME]
 * section, or has a state directory (csr generate made one). */
static int cert_exists(const cli_t *cli)
{
    apr_finfo_t fi;
    const char *dir = apr_pstrcat(cli->pool, cli->config->state_dir, "/certs/",
                                  cli->cert_name, NULL);
    return strcmp(cli->cert_name, "server") == 0 ||
           config_cert(cli->config, cli->cert_name) != NULL ||
           (apr_stat(&fi, dir, APR_FINFO_TYPE, cli->pool) == APR_SUCCESS &&
            fi.filetype == APR_DIR);
}

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

static cli_exit_t dispatch(cli_t *cli)
{
    if (cli->argc == 0)
        return cli_fail(cli, CLI_EXIT_USAGE, 2007,
                        "no command given (see 'expacmectl help')");
    const command_t *cmd = find_command(cli->argv[0]);
    if (cmd == NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2008,
                        "unknown command '%s' (see 'expacmectl help')",
                        cli->argv[0]);
    cli->argc--;
    cli->argv++;
    if (cmd->needs_config) {
        const char *err = NULL;
        if (config_load(&cli->config, &err, cli->config_path, cli->pool) !=
            APR_SUCCESS)
            return cli_fail(cli, CLI_EXIT_USAGE, 2009, "%s", err);
        if (needs_existing_cert(cmd, cli) && !cert_exists(cli))
            return cli_fail(cli, CLI_EXIT_USAGE, 2019,
                            "no CSR for %s and no [cert %s] section: no "
                            "such managed certificate (run 'expacmectl "
                            "--cert %s csr generate --cn FQDN' first)",
                            cli->cert_name, cli->cert_name, cli->cert_name);
        cli_ctx_init(cli);
        if (takes_state_lock(cmd, cli)) {
            if (state_lock(cli->config, apr_time_from_sec(5), &err,
                           cli->pool) != APR_SUCCESS)
                return cli_fail(cli, CLI_EXIT_FAILED, 2012, "%s", err);
            /* Whatever it changed, failure included, the status page
             * shows next. */
            cli_exit_t code = cmd->run(cli);
            if (!cli->unchanged || !status_fresh(&cli->ctx, STATUS_FRESH_S))
                status_refresh(&cli->ctx);
            return code;
        }
    }
    return cmd->run(cli);
}

static void print_json(cli_t *cli, cli_exit_t code)
{
    json_t *out = cli->result != NULL ? cli->result : json_object();
    json_object_set_new(out, "ok", json_boolean(code == CLI_EXIT_OK));
    /* Times leave as RFC 3339 strings (manual §3), epoch beside them. */
    json_time_rfc3339(out);
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(out);
    cli->result = NULL;
}

int main(int argc, const char *const *argv)
{
    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) {
        fprintf(stderr, "expacmectl: cannot initialise APR\n");
        return CLI_EXIT_FAILED;
    }
    umask(022);
    /* A write to a peer that has gone (a probe's TLS alert to a server
     * that closed first, progress to a reader that stopped reading) must
     * fail with EPIPE, not end the helper in the middle of a deploy.
     * Commands it runs get the default back (run_command.c). */
    signal(SIGPIPE, SIG_IGN);
    openlog("expacmectl", LOG_PID, LOG_DAEMON);
    apr_pool_t *pool = NULL;
    apr_pool_create(&pool, NULL);
    cli_t cli = {0};
    cli.pool = pool;
    cli.cert_name = "server";
    cli_exit_t code = take_globals(&cli, argc, argv);
    if (code == CLI_EXIT_OK)
        code = dispatch(&cli);
    if (cli.json)
        print_json(&cli, code);
    else
        json_decref(cli.result);
    if (fflush(stdout) != 0 && code == CLI_EXIT_OK)
        code = CLI_EXIT_FAILED;
    apr_pool_destroy(pool);
    apr_terminate();
    closelog();
    return code;
}
