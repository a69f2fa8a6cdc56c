/* cmd_token.c — `token put|del|list`: the challenge store by hand, for
 * diagnostics and tests.  The ACME code publishes through the same
 * challenge_store_put, so what works here works there. */
#include "cmd/commands.h"

#include <string.h>
#include <time.h>

#include "apr_strings.h"

#include "ops/challenge_publish.h"
#include "challenge_store.h"
#include "token_rules.h"

#define TOKEN_DEFAULT_TTL 600
#define TOKEN_MAX_TTL (7 * 24 * 3600)

static cli_exit_t open_writer(cli_t *cli, challenge_store_writer_t **writer)
{
    const char *err = NULL;
    apr_status_t rv = challenge_publish_open(writer, cli->config, &err,
                                             cli->pool);
    if (rv == APR_EINVAL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2101, "%s", err);
    if (rv != APR_SUCCESS)
        return cli_fail(cli, CLI_EXIT_FAILED, 2103, "%s", err);
    return CLI_EXIT_OK;
}

static const cli_opt_spec_t put_options[] = {
    {"host", CLI_OPT_VALUE}, {"ttl", CLI_OPT_VALUE}, {NULL, 0}};

static cli_exit_t token_put(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, put_options, 2, 2);
    if (code != CLI_EXIT_OK)
        return code;
    const char *token = cli->argv[0];
    const char *keyauth = cli->argv[1];
    const char *host = cli_option(cli, "host");
    unsigned long ttl = TOKEN_DEFAULT_TTL;
    if (host == NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2111, "token put needs --host");
    if (!token_rules_token_valid(token, strlen(token)))
        return cli_fail(cli, CLI_EXIT_USAGE, 2112,
                        "token must be 1-255 base64url characters");
    if (!token_rules_keyauth_valid(keyauth, strlen(keyauth)))
        return cli_fail(cli, CLI_EXIT_USAGE, 2113,
                        "key authorization must be 1-511 characters of "
                        "base64url and '.'");
    if (!token_rules_host_valid(host, strlen(host)))
        return cli_fail(cli, CLI_EXIT_USAGE, 2114,
                        "--host must be a DNS name or IP address");
    if (cli_option(cli, "ttl") != NULL &&
        (cli_parse_uint(cli_option(cli, "ttl"), TOKEN_MAX_TTL, &ttl) != 0 ||
         ttl == 0))
        return cli_fail(cli, CLI_EXIT_USAGE, 2115,
                        "--ttl must be 1..%d seconds", TOKEN_MAX_TTL);
    challenge_store_writer_t *writer = NULL;
    code = open_writer(cli, &writer);
    if (code != CLI_EXIT_OK)
        return code;
    int64_t now = (int64_t)time(NULL);
    challenge_store_status_t rv =
        challenge_store_put(writer, host, token, keyauth, now + (int64_t)ttl,
                            now);
    challenge_store_writer_close(writer);
    if (rv != CHALLENGE_STORE_OK)
        return cli_fail(cli, CLI_EXIT_FAILED, 2116, "token put: %s",
                        challenge_store_status_text(rv));
    cli->result = json_pack("{s:s, s:s, s:I}", "token", token, "host", host,
                            "expires", (json_int_t)(now + (int64_t)ttl));
    cli_say(cli, "published %s for %s, expires in %lus\n", token, host, ttl);
    return CLI_EXIT_OK;
}

static cli_exit_t token_del(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 1, 1);
    if (code != CLI_EXIT_OK)
        return code;
    const char *token = cli->argv[0];
    if (!token_rules_token_valid(token, strlen(token)))
        return cli_fail(cli, CLI_EXIT_USAGE, 2121,
                        "token must be 1-255 base64url characters");
    challenge_store_writer_t *writer = NULL;
    code = open_writer(cli, &writer);
    if (code != CLI_EXIT_OK)
        return code;
    unsigned removed = 0;
    challenge_store_status_t rv = challenge_store_del(writer, token, &removed);
    challenge_store_writer_close(writer);
    if (rv == CHALLENGE_STORE_NOT_FOUND)
        return cli_fail(cli, CLI_EXIT_FAILED, 2122, "no such token: %s", token);
    if (rv != CHALLENGE_STORE_OK)
        return cli_fail(cli, CLI_EXIT_FAILED, 2123, "token del: %s",
                        challenge_store_status_text(rv));
    cli->result = json_pack("{s:s, s:i}", "token", token, "removed", removed);
    cli_say(cli, "removed %s (%u entr%s)\n", token, removed,
            removed == 1 ? "y" : "ies");
    return CLI_EXIT_OK;
}

typedef struct {
    cli_t *cli;
    json_t *list;
    int64_t now;
} list_baton_t;

static int list_one(const challenge_store_entry_t *entry, void *baton)
{
    list_baton_t *b = baton;
    int64_t left = entry->expires - b->now;
    json_array_append_new(
        b->list, json_pack("{s:s, s:s, s:s, s:I, s:b}", "host", entry->host,
                           "token", entry->token, "keyauth", entry->keyauth,
                           "expires", (json_int_t)entry->expires, "expired",
                           left <= 0));
    if (left > 0)
        cli_say(b->cli, "%-40s %-45s %llds\n", entry->host, entry->token,
                (long long)left);
    else
        cli_say(b->cli, "%-40s %-45s expired\n", entry->host, entry->token);
    return 0;
}

static cli_exit_t token_list(cli_t *cli)
{
    cli_exit_t code = cli_parse_options(cli, NULL, 0, 0);
    if (code != CLI_EXIT_OK)
        return code;
    const char *err = NULL;
    const char *path = config_store_path(cli->config, &err);
    if (path == NULL)
        return cli_fail(cli, CLI_EXIT_USAGE, 2131, "%s", err);
    challenge_store_map_t *map = NULL;
    challenge_store_status_t rv = challenge_store_map(&map, path);
    list_baton_t baton = {cli, json_array(), (int64_t)time(NULL)};
    cli->result = json_pack("{s:s, s:o}", "store", path, "tokens", baton.list);
    if (rv == CHALLENGE_STORE_ABSENT) {
        cli_say(cli, "no challenge store yet at %s\n", path);
        return CLI_EXIT_OK;
    }
    if (rv != CHALLENGE_STORE_OK)
        return cli_fail(cli, CLI_EXIT_FAILED, 2132, "%s: %s", path,
                        challenge_store_status_text(rv));
    json_object_set_new(cli->result, "capacity",
                        json_integer(challenge_store_capacity(map)));
    json_object_set_new(cli->result, "window_open",
                        json_boolean(challenge_store_window_open(map,
                                                                 baton.now)));
    challenge_store_foreach(map, list_one, &baton);
    challenge_store_unmap(map);
    if (json_array_size(baton.list) == 0)
        cli_say(cli, "no open challenges\n");
    return CLI_EXIT_OK;
}

cli_exit_t cmd_token_run(cli_t *cli)
{
    static const cli_verb_t verbs[] = {
        {"put", token_put}, {"del", token_del}, {"list", token_list}, {NULL,
                                                                       NULL}};
    return cli_run_verb(cli, "token", verbs, 2100);
}
