/* deploy_live.h — the live certificate and key httpd reads, switched as one.
 *
 * The configured cert_file and key_file become symlinks into a directory
 * of generations kept beside cert_file:
 *
 *   /etc/ssl/expacme/server.pem -> .expacme-server/current/cert.pem
 *   /etc/ssl/expacme/server.key -> .expacme-server/current/key.pem
 *   /etc/ssl/expacme/.expacme-server/current -> gen-1763870000123456
 *   /etc/ssl/expacme/.expacme-server/gen-1763870000123456/{cert,key}.pem
 *
 * A deploy writes a complete new generation, then renames a new `current`
 * symlink over the old one: one rename(2), so the pair httpd would read is
 * the old one or the new one, never a mix, whenever the helper dies.  The
 * first deploy adopts the files it finds as the first generation. */
#ifndef EXPACME_DEPLOY_LIVE_H
#define EXPACME_DEPLOY_LIVE_H

#include "apr_pools.h"

#include "base/config.h"

typedef struct {
    const char *name;
    const char *cert_file;
    const char *key_file;
    const char *root;       /* the generations directory */
    const char *cert_file2; /* the second pair (SPEC §2), or NULL: */
    const char *key_file2;  /* current/{cert2,key2}.pem */
} deploy_live_t;

void deploy_live_init(deploy_live_t *live, const expacme_cert_conf_t *conf,
                      apr_pool_t *pool);
/* Adds conf's cert_file2/key_file2 (NULL when it has none). */
void deploy_live_init_second(deploy_live_t *live,
                             const expacme_cert_conf_t *conf);

/* Claims the generations directory for owner (the real path of the
 * state directory), or refuses with APR_EEXIST when another state
 * directory claimed it: two configurations must never switch each
 * other's `current` (SPEC §2).  Creates the directory when needed. */
apr_status_t deploy_live_claim(const deploy_live_t *live, const char *owner,
                               const char **err, apr_pool_t *pool);

/* The generation `current` names, or NULL when there is none yet. */
const char *deploy_live_current(const deploy_live_t *live, apr_pool_t *pool);

/* Makes cert_file and key_file the symlinks through `current`, taking the
 * files now there as the first generation (*gen; NULL when there were
 * none).  Does nothing when they already are. */
apr_status_t deploy_live_adopt(const char **gen, const deploy_live_t *live,
                               const char **err, apr_pool_t *pool);

/* A new generation holding chain (0644) and key (0600), fsynced. */
apr_status_t deploy_live_write(const char **gen, const deploy_live_t *live,
                               const char *chain, apr_size_t chain_len,
                               const char *key, apr_size_t key_len,
                               const char **err, apr_pool_t *pool);

/* The second pair (cert2.pem, key2.pem) into generation gen. */
apr_status_t deploy_live_write_second(const deploy_live_t *live,
                                      const char *gen, const char *chain,
                                      apr_size_t chain_len, const char *key,
                                      apr_size_t key_len, const char **err,
                                      apr_pool_t *pool);

/* Points `current` at gen (NULL: removes the live links altogether, for a
 * first deploy that failed). */
apr_status_t deploy_live_switch(const deploy_live_t *live, const char *gen,
                                const char **err, apr_pool_t *pool);

/* Removes generations other than keep and keep_too, and the temporary
 * links a killed helper left beside the live files and `current`. */
void deploy_live_prune(const deploy_live_t *live, const char *keep,
                       const char *keep_too, apr_pool_t *pool);

/* The generations and `current`'s temporary link only: after a deploy
 * that was not interrupted, whose start recovered (and so pruned)
 * whatever a killed helper had left.  It reads only the certificate's own
 * directory, never the directory of the live files, which a fleet's thousand
 * vhosts may share: read once per certificate, that was a thousand scans of
 * three thousand names. */
void deploy_live_prune_generations(const deploy_live_t *live, const char *keep,
                                   const char *keep_too, apr_pool_t *pool);

#endif
