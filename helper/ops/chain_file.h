/* chain_file.h — verifying a chain against trust anchors kept in a file:
 * the file side of crypt_chain_verify_root (crypto/ does no file I/O). */
#ifndef EXPACME_CHAIN_FILE_H
#define EXPACME_CHAIN_FILE_H

#include "apr_pools.h"
#include "apr_tables.h"

/* crypt_chain_verify_root with the anchors read from ca_file (PEM);
 * *err names the file, also when it cannot be read. */
apr_status_t chain_file_verify_root(const apr_array_header_t *chain,
                                    const char *ca_file, const char **err,
                                    apr_pool_t *pool);

#endif
