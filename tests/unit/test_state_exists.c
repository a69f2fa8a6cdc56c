/* Unit tests of state_exists: what replaced access(2) in the helper
 * answers "is something there" by opening, for every kind of entry a
 * state directory or an httpd include directory may hold. */
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apr_general.h"
#include "apr_strings.h"

#include "base/state.h"

static const char *in(const char *dir, const char *name, apr_pool_t *pool)
{
    return apr_pstrcat(pool, dir, "/", name, NULL);
}

static void test_kinds(const char *dir, apr_pool_t *pool)
{
    const char *file = in(dir, "file", pool);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ok(fd >= 0 && close(fd) == 0, "made a file");
    ok(state_exists(file), "a file is there");
    ok(!state_exists(in(dir, "none", pool)), "a missing name is not");
    ok(!state_exists(in(dir, "file/below", pool)),
       "a name below a file is not (ENOTDIR)");
    ok(!state_exists(in(dir, "none/below", pool)),
       "a name below a missing directory is not");
    ok(state_exists(dir), "a directory is there");
    ok(chmod(file, 0) == 0, "file mode 0");
    ok(state_exists(file), "an unreadable file is still there");
    ok(symlink("file", in(dir, "link", pool)) == 0 &&
           state_exists(in(dir, "link", pool)),
       "a symlink is there");
    ok(symlink("none", in(dir, "dangling", pool)) == 0 &&
           state_exists(in(dir, "dangling", pool)),
       "a dangling symlink is there too (not followed)");
    const char *fifo = in(dir, "fifo", pool);
    ok(mkfifo(fifo, 0600) == 0 && state_exists(fifo),
       "a FIFO is there, and checking it does not wait for a writer");
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool = NULL;
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    char dir[] = "/tmp/expacme-test-state-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp");
        return done_testing();
    }
    test_kinds(dir, pool);
    const char *names[] = {"file", "link", "dangling", "fifo"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unlink(in(dir, names[i], pool));
    rmdir(dir);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
