/* key_file.h — private keys in files: the file side of crypto/'s PEM
 * parser and serialiser (crypto/ does no file I/O).  Keys are written
 * 0600 and atomically, and their PEM bytes are cleansed after use. */
#ifndef EXPACME_KEY_FILE_H
#define EXPACME_KEY_FILE_H

#include <openssl/evp.h>

#include "apr_pools.h"

/* The PEM private key in path (size-capped; see crypt_key_parse_pem for
 * what is refused).  An absent file gives an APR_STATUS_IS_ENOENT status
 * (with *err set), so callers can tell "no key yet".  Every *err names
 * the file. */
/* The PEM bytes of the key file at path (size-capped, not parsed), for
 * a caller that parses them itself; the caller cleanses them. */
apr_status_t key_file_read(char **pem, apr_size_t *len, const char *path,
                           const char **err, apr_pool_t *pool);
/* Those bytes parsed (crypt_key_parse_pem), *err naming path. */
apr_status_t key_file_parse(EVP_PKEY **out, const char *path, const char *pem,
                            apr_size_t len, const char **err, apr_pool_t *pool);
apr_status_t key_file_load(EVP_PKEY **out, const char *path, const char **err,
                           apr_pool_t *pool);
/* Writes the key as PKCS#8 PEM, mode 0600, atomically (temp file, fsync,
 * rename, fsync dir); the PEM bytes are cleansed before this returns. */
apr_status_t key_file_save(EVP_PKEY *key, const char *path, const char **err,
                           apr_pool_t *pool);

#endif
