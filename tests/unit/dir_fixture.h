/* dir_fixture.h — how a unit test that works in a temporary directory
 * starts and ends: APR, its root pool, the directory (made from a
 * mkdtemp template), and the directory's removal. */
#ifndef EXPACME_DIR_FIXTURE_H
#define EXPACME_DIR_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "apr_general.h"
#include "apr_pools.h"

/* 1, or 0 after a TAP "Bail out!" (the test then exits 1). */
static inline int test_dir_begin(apr_pool_t **pool, char *dir_template)
{
    apr_initialize();
    apr_pool_create(pool, NULL);
    if (mkdtemp(dir_template) == NULL) {
        printf("Bail out! cannot create a temporary directory\n");
        return 0;
    }
    return 1;
}

static inline void test_dir_remove(const char *dir)
{
    char command[256];
    snprintf(command, sizeof(command), "rm -rf '%s'", dir);
    if (system(command) != 0)
        printf("# cannot remove %s\n", dir);
}

/* Permission bits of what path names (through a symlink: a deployed key
 * is one), or -1 when it cannot be stat'ed. */
static inline int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* The inode of the name itself (a symlink's own), 0 when there is none. */
static inline unsigned long inode_of(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

#endif
