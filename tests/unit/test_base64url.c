/* Unit tests of base64url (RFC 4648 §5, no padding). */
#include "tap.h"

#include "apr_general.h"

#include "base/base64url.h"

typedef struct {
    const char *data;
    apr_size_t len;
    const char *encoded;
} vector_t;

/* RFC 4648 §10 with the padding dropped, and the binary examples of §9
 * in the URL-safe alphabet. */
static const vector_t vectors[] = {
    {"", 0, ""},
    {"f", 1, "Zg"},
    {"fo", 2, "Zm8"},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg"},
    {"fooba", 5, "Zm9vYmE"},
    {"foobar", 6, "Zm9vYmFy"},
    {"\x14\xfb\x9c\x03\xd9\x7e", 6, "FPucA9l-"},
    {"\x14\xfb\x9c\x03\xd9", 5, "FPucA9k"},
    {"\x14\xfb\x9c\x03", 4, "FPucAw"},
    {"\xfb\xff", 2, "-_8"},
    {"\x00\x00\x00", 3, "AAAA"},
    {"\xff\xff\xff", 3, "____"},
};

static void test_vectors(apr_pool_t *pool)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const vector_t *v = &vectors[i];
        char what[80];
        snprintf(what, sizeof(what), "encode vector %zu ('%s')", i, v->encoded);
        is_str(base64url_encode(pool, v->data, v->len), v->encoded, what);
        unsigned char *out = NULL;
        apr_size_t out_len = 0;
        apr_status_t rv = base64url_decode(&out, &out_len, v->encoded, pool);
        snprintf(what, sizeof(what), "decode vector %zu ('%s')", i, v->encoded);
        ok(rv == APR_SUCCESS && out_len == v->len &&
               memcmp(out, v->data, v->len) == 0 && out[out_len] == '\0',
           what);
    }
}

static void test_all_bytes(apr_pool_t *pool)
{
    unsigned char data[256];
    for (int i = 0; i < 256; i++)
        data[i] = (unsigned char)i;
    int round_trips = 1;
    for (apr_size_t len = 0; len <= sizeof(data); len++) {
        unsigned char *out = NULL;
        apr_size_t out_len = 0;
        const char *text = base64url_encode(pool, data + 256 - len, len);
        if (strlen(text) != (len * 4 + 2) / 3 || strpbrk(text, "+/=") != NULL ||
            base64url_decode(&out, &out_len, text, pool) != APR_SUCCESS ||
            out_len != len || memcmp(out, data + 256 - len, len) != 0)
            round_trips = 0;
    }
    ok(round_trips, "every length 0..256 of binary data round-trips, "
                    "unpadded, URL-safe");
}

static void test_refused(apr_pool_t *pool)
{
    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"Zg==", "padding"},
        {"Zm8=", "single padding"},
        {"+/8", "standard alphabet '+' and '/'"},
        {"ab+c", "a '+'"},
        {"ab/c", "a '/'"},
        {"Zm9v Yg", "a space"},
        {"Zm9v\nYg", "a newline"},
        {"Zm9v\tYg", "a tab"},
        {"Z", "length 1"},
        {"Zm9vY", "length 1 mod 4"},
        {"Zh", "non-zero unused bits (non-canonical)"},
        {"Zm9", "non-zero unused bits after two bytes"},
        {"Zm9v.", "a dot"},
        {"\xc3\xa9", "non-ASCII"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char *out = (unsigned char *)"x";
        apr_size_t out_len = 99;
        char what[80];
        snprintf(what, sizeof(what), "refuses %s", bad[i].why);
        apr_status_t rv = base64url_decode(&out, &out_len, bad[i].text, pool);
        ok(rv == APR_EINVAL && out == NULL && out_len == 0, what);
    }
}

int main(void)
{
    apr_pool_t *pool = NULL;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_vectors(pool);
    test_all_bytes(pool);
    test_refused(pool);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
