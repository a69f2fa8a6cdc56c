/* alpn_store.h — the tls-alpn-01 answers (RFC 8737) that expacmectl
 * publishes beside the challenge store for the module to hand to mod_ssl.
 *
 * A tls-alpn-01 answer is a certificate and its key, a kilobyte or two of
 * PEM: too large for a slot of the fixed-size store table, and needed only
 * during a TLS handshake that asked for "acme-tls/1" (rare, and already
 * costing a key exchange), so they live in a directory beside the store:
 *
 *   <store path>.tls-alpn/            root, 0755
 *       <host>                         root, 0644, one per open challenge:
 *           "expacme-tls-alpn-1 <expires, epoch seconds>\n"
 *           the challenge certificate (PEM), then its key (PKCS#8 PEM)
 *
 * The key is a throwaway made for this one challenge by the helper, never
 * a server key; the certificate only proves the key authorization, which
 * the store itself already shows to every reader (mode 0644), so the key
 * protects nothing the store does not: it is world-readable like the
 * store, for httpd's workers.  A file is written to a temporary name and
 * renamed into place, so a reader sees the old answer or the new one; an
 * answer past its expiry is ignored; the helper removes it when the order
 * ends (and after a killed helper, on the next run).
 *
 * Plain C11 + POSIX, like challenge_store.c. */
#ifndef EXPACME_ALPN_STORE_H
#define EXPACME_ALPN_STORE_H

#include <stddef.h>
#include <stdint.h>

#define ALPN_STORE_SUFFIX ".tls-alpn"
#define ALPN_STORE_MAGIC "expacme-tls-alpn-1"
/* An EC P-256 certificate and key take about 1.2 KiB. */
#define ALPN_STORE_FILE_MAX 16384

typedef enum {
    ALPN_STORE_OK = 0,
    ALPN_STORE_NOT_FOUND, /* no answer for this host, or expired */
    ALPN_STORE_INVALID,   /* host or PEM breaks the rules */
    ALPN_STORE_CORRUPT,   /* not an answer file, too large, not regular */
    ALPN_STORE_IO         /* a system call failed; errno kept */
} alpn_store_status_t;

const char *alpn_store_status_text(alpn_store_status_t status);

/* The directory for the store at store_path, into buf; 0 when too long. */
int alpn_store_dir(char *buf, size_t size, const char *store_path);

/* Writes (replacing) the answer for host: cert_pem then key_pem.  The
 * directory is created (0755) when missing. */
alpn_store_status_t alpn_store_put(const char *store_path, const char *host,
                                   const char *cert_pem, const char *key_pem,
                                   int64_t expires);

/* Removes host's answer (absent: ALPN_STORE_OK). */
alpn_store_status_t alpn_store_del(const char *store_path, const char *host);

/* Removes every answer past its expiry at now (what a killed helper left
 * behind); *removed counts them.  An absent directory is no error. */
alpn_store_status_t alpn_store_purge(const char *store_path, int64_t now,
                                     unsigned *removed);

/* Reads host's answer into buf (NUL-terminated): *cert and *key point
 * into it.  Never follows a symlink, never blocks on a FIFO, refuses
 * files over ALPN_STORE_FILE_MAX. */
alpn_store_status_t alpn_store_lookup(const char *store_path, const char *host,
                                      int64_t now, char *buf, size_t size,
                                      const char **cert, const char **key);

#endif
