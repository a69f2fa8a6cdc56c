/* redis_auth.h — the Redis credentials file, read the same way by the
 * httpd parent (ExpAcmeRedisAuthFile, as root at configuration time) and
 * by expacmectl (challenge_store_auth_file).
 *
 * One line: `PASSWORD` (requirepass, the default user) or
 * `USER PASSWORD` (a Redis 6+ ACL user).  The file must be a regular
 * file that neither group nor others can read or write (0600 or 0400):
 * whoever holds the password can write the store and so obtain
 * certificates for our names.  No message ever shows the password.
 *
 * Plain C11 + POSIX, no APR.
 */
#ifndef EXPACME_REDIS_AUTH_H
#define EXPACME_REDIS_AUTH_H

#include <stddef.h>

#define REDIS_AUTH_USER_MAX 128
#define REDIS_AUTH_PASSWORD_MAX 512
#define REDIS_AUTH_FILE_MAX 1024

typedef struct {
    char user[REDIS_AUTH_USER_MAX + 1]; /* "" for the default user */
    char password[REDIS_AUTH_PASSWORD_MAX + 1];
} redis_auth_t;

/* Reads and checks path.  0 on success; -1 with a one-line reason in err
 * (naming the path, never the content). */
int redis_auth_read(redis_auth_t *out, const char *path, char *err,
                    size_t err_size);

/* The same on bytes already read (the unit tests; the mode is not
 * checked here). */
int redis_auth_parse(redis_auth_t *out, const char *data, size_t len,
                     const char **why);

/* Overwrites the secret, e.g. before the memory is released. */
void redis_auth_clear(redis_auth_t *auth);

#endif
