#define LAZYLIB_IMPL
#include "image/lib-isal.h"

static const char *const names[] = {
#define ISAL_LAZY_NAME(f) #f,
    ISAL_LAZY_FNS(ISAL_LAZY_NAME)
#undef ISAL_LAZY_NAME
};

struct lib_isal_fns lib_isal_fns;

static void fill(void *const *addrs)
{
        size_t i = 0;
#define ISAL_LAZY_SET(f) lib_isal_fns.f = (__typeof__(lib_isal_fns.f))addrs[i++];
        ISAL_LAZY_FNS(ISAL_LAZY_SET)
#undef ISAL_LAZY_SET
}

struct lazylib lib_isal = {
    .soname = HUSK_SONAME_ISAL,
    .what = "fast gzip layer decompression",
    .names = names,
    .n = sizeof(names) / sizeof(names[0]),
    .fill = fill,
};

int lib_isal_need(struct error *err)
{
        return lazylib_load(&lib_isal, err);
}
