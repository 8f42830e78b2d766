/* core/lazylib: libraries opened on first use, with errors that name them. */
#include <errno.h>

#include "core/digest.h"
#include "core/error.h"
#include "core/lazylib.h"
#include "core/lib-crypto.h"
#include "unit.h"

static int filled;
static void *first;

static void fill_one(void *const *addrs)
{
        filled++;
        first = addrs[0];
}

TEST(missing_library_is_named)
{
        static const char *const names[] = {"nothing"};
        struct lazylib l = {.soname = "libhusk-no-such.so.9",
                            .what = "a test",
                            .names = names,
                            .n = 1,
                            .fill = fill_one};
        struct error err = {0};
        filled = 0;
        CHECK(lazylib_load(&l, &err) == -ENOENT);
        CHECK(strstr(err.msg, "cannot load libhusk-no-such.so.9 (needed for a test)") != NULL);
        CHECK(!l.loaded);
        CHECK(filled == 0);
}

TEST(missing_function_is_named)
{
        static const char *const names[] = {"EVP_MD_CTX_new", "husk_no_such_function"};
        struct lazylib l = {.soname = HUSK_SONAME_CRYPTO,
                            .what = "a test",
                            .names = names,
                            .n = 2,
                            .fill = fill_one};
        struct error err = {0};
        filled = 0;
        CHECK(lazylib_load(&l, &err) == -ENOENT);
        CHECK(strstr(err.msg, HUSK_SONAME_CRYPTO) != NULL);
        CHECK(strstr(err.msg, "husk_no_such_function") != NULL);
        CHECK(!l.loaded);
        CHECK(filled == 0);
}

TEST(loads_once_and_fills_the_table)
{
        static const char *const names[] = {"EVP_MD_CTX_new"};
        struct lazylib l = {.soname = HUSK_SONAME_CRYPTO,
                            .what = "a test",
                            .names = names,
                            .n = 1,
                            .fill = fill_one};
        struct error err = {0};
        filled = 0;
        CHECK(lazylib_load(&l, &err) == 0);
        CHECK(l.loaded);
        CHECK(filled == 1);
        CHECK(first != NULL);
        CHECK(lazylib_load(&l, &err) == 0);
        CHECK(filled == 1); /* not resolved again */
}

TEST(calls_through_the_table)
{
        /* EVP_sha256 and friends here are the lib-crypto.h redirections. */
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        CHECK(c != NULL);
        CHECK(lib_crypto.loaded);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        CHECK(EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1);
        CHECK(EVP_DigestUpdate(c, "abc", 3) == 1);
        CHECK(EVP_DigestFinal_ex(c, md, &n) == 1);
        CHECK(n == 32 && md[0] == 0xba && md[1] == 0x78);
        EVP_MD_CTX_free(c);
        struct error err = {0};
        CHECK(lib_crypto_need(&err) == 0);
}

/* digest_buffer hashes small buffers with nettle, the digester with
 * libcrypto: the same SHA-256 at every size around the block boundaries. */
TEST(nettle_and_libcrypto_agree)
{
        static unsigned char buf[(1u << 20) + 100];
        for (size_t i = 0; i < sizeof(buf); i++)
                buf[i] = (unsigned char)(i * 131 + 7);
        const size_t sizes[] = {
            0, 1, 55, 56, 63, 64, 65, 342, 4096, 1u << 20, (1u << 20) + 1, sizeof(buf)};
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
                char a[DIGEST_STR_MAX], b[DIGEST_STR_MAX];
                digest_buffer(buf, sizes[k], a);
                struct digester d;
                digester_init(&d);
                digester_update(&d, buf, sizes[k]);
                digester_final(&d, b);
                CHECK_STR(a, b);
        }
        char e[DIGEST_STR_MAX];
        digest_buffer("", 0, e);
        CHECK_STR(e, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

UNIT_MAIN()
