#define LAZYLIB_IMPL
#include "core/lib-crypto.h"

static const char *const names[] = {
#define CRYPTO_LAZY_NAME(f) #f,
    CRYPTO_LAZY_FNS(CRYPTO_LAZY_NAME)
#undef CRYPTO_LAZY_NAME
};

struct lib_crypto_fns lib_crypto_fns;

static void fill(void *const *addrs)
{
        size_t i = 0;
#define CRYPTO_LAZY_SET(f) lib_crypto_fns.f = (__typeof__(lib_crypto_fns.f))addrs[i++];
        CRYPTO_LAZY_FNS(CRYPTO_LAZY_SET)
#undef CRYPTO_LAZY_SET
}

struct lazylib lib_crypto = {
    .soname = HUSK_SONAME_CRYPTO,
    .what = "SHA-256 digests",
    .names = names,
    .n = sizeof(names) / sizeof(names[0]),
    .fill = fill,
};

int lib_crypto_need(struct error *err)
{
        return lazylib_load(&lib_crypto, err);
}
