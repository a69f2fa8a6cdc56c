/* Unit tests of base/run_command.c: what a command it runs gets. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "base/run_command.h"
#include "tap.h"

/* The SigIgn mask /proc shows for a process: our own (self) or the
 * command's, as it reports its own. */
static unsigned long long ignored_of_command(apr_pool_t *pool)
{
    run_command_result_t res;
    const char *err = NULL;
    apr_array_header_t *argv = run_command_split(
        "/bin/sed -n s/^SigIgn:[[:space:]]*//p /proc/self/status", pool);
    if (run_command(&res, argv, NULL, apr_time_from_sec(10), &err, pool) !=
            APR_SUCCESS ||
        res.exit_code != 0 || res.output == NULL)
        return ~0ULL;
    return strtoull(res.output, NULL, 16);
}

static unsigned long long ignored_of_self(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long mask = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "SigIgn:", 7) == 0)
            mask = strtoull(line + 7, NULL, 16);
    if (f != NULL)
        fclose(f);
    return mask;
}

int main(void)
{
    apr_initialize();
    apr_pool_t *pool = NULL;
    apr_pool_create(&pool, NULL);
    unsigned long long pipe_bit = 1ULL << (SIGPIPE - 1);
    signal(SIGPIPE, SIG_IGN); /* as expacmectl does */
    ok(ignored_of_self() & pipe_bit, "this process ignores SIGPIPE");
    ok((ignored_of_command(pool) & pipe_bit) == 0,
       "a command it runs gets SIGPIPE's default back");
    signal(SIGINT, SIG_IGN);
    ok(ignored_of_command(pool) & (1ULL << (SIGINT - 1)),
       "other ignored signals are left as they are");
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
