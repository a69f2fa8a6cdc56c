/* A CA's certificate download: PEM chain parse, then the checks made
 * before a chain is staged (leaf key, names, each signed by the next). */
#include "fuzz.h"

#include <openssl/x509.h>

#include "crypto/crypt_cert.h"
#include "crypto/crypt_chain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool_new();
    char *pem = fuzz_cstring(data, size, pool);
    apr_array_header_t *chain = NULL;
    const char *err = NULL;
    if (crypt_chain_parse(&chain, pem, size, &err, pool) == APR_SUCCESS) {
        for (int i = 0; i < chain->nelts; i++) {
            crypt_cert_info_t info;
            crypt_cert_info(&info, APR_ARRAY_IDX(chain, i, X509 *), pool);
        }
        X509 *leaf = APR_ARRAY_IDX(chain, 0, X509 *);
        EVP_PKEY *key = X509_get0_pubkey(leaf);
        apr_array_header_t *names = apr_array_make(pool, 1, sizeof(char *));
        APR_ARRAY_PUSH(names, const char *) = "a.example";
        if (key != NULL)
            crypt_chain_verify(chain, key, names, &err, pool);
    } else if (err == NULL) {
        abort();
    }
    apr_pool_destroy(pool);
    return 0;
}
