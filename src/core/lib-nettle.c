#define LAZYLIB_IMPL
#include "core/lib-nettle.h"

static const char *const names[] = {
#define NETTLE_LAZY_NAME(f) #f,
    NETTLE_LAZY_FNS(NETTLE_LAZY_NAME)
#undef NETTLE_LAZY_NAME
};

struct lib_nettle_fns lib_nettle_fns;

static void fill(void *const *addrs)
{
        size_t i = 0;
#define NETTLE_LAZY_SET(f) lib_nettle_fns.f = (__typeof__(lib_nettle_fns.f))addrs[i++];
        NETTLE_LAZY_FNS(NETTLE_LAZY_SET)
#undef NETTLE_LAZY_SET
}

struct lazylib lib_nettle = {
    .soname = HUSK_SONAME_NETTLE,
    .what = "SHA-256 digests of small blobs",
    .names = names,
    .n = sizeof(names) / sizeof(names[0]),
    .fill = fill,
};

int lib_nettle_need(struct error *err)
{
        return lazylib_load(&lib_nettle, err);
}
