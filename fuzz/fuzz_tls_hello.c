/* A server's answer to the deploy check's TLS 1.2 hello: records and
 * handshake messages parsed from any bytes, the leaf found inside them
 * or the flight refused, never a read outside the two buffers. */
#include "fuzz.h"

#include "base/tls_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly as large as the parser is told, so ASan sees any overrun. */
    unsigned char *flight = malloc(size ? size : 1);
    unsigned char *scratch = malloc(size ? size : 1);
    if (flight == NULL || scratch == NULL)
        abort();
    memcpy(flight, data, size);
    const unsigned char *leaf = NULL;
    apr_size_t leaf_len = 0;
    const char *err = NULL;
    tls_hello_state_t st =
        tls_hello_parse(flight, size, scratch, &leaf, &leaf_len, &err);
    if (st == TLS_HELLO_BAD && err == NULL)
        abort();
    if (st == TLS_HELLO_LEAF &&
        (leaf < scratch || leaf_len == 0 || leaf + leaf_len > scratch + size))
        abort();
    free(flight);
    free(scratch);
    return 0;
}
