/* core/lazylib: libraries opened on first use, with errors that name them. */
#include <errno.h>

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

UNIT_MAIN()
