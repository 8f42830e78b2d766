#define LAZYLIB_IMPL
#include "image/lib-archive.h"

static const char *const names[] = {
#define ARCHIVE_LAZY_NAME(f) #f,
    ARCHIVE_LAZY_FNS(ARCHIVE_LAZY_NAME)
#undef ARCHIVE_LAZY_NAME
};

struct lib_archive_fns lib_archive_fns;

static void fill(void *const *addrs)
{
        size_t i = 0;
#define ARCHIVE_LAZY_SET(f) lib_archive_fns.f = (__typeof__(lib_archive_fns.f))addrs[i++];
        ARCHIVE_LAZY_FNS(ARCHIVE_LAZY_SET)
#undef ARCHIVE_LAZY_SET
}

struct lazylib lib_archive = {
    .soname = HUSK_SONAME_ARCHIVE,
    .what = "image layers and tar archives",
    .names = names,
    .n = sizeof(names) / sizeof(names[0]),
    .fill = fill,
};

int lib_archive_need(struct error *err)
{
        return lazylib_load(&lib_archive, err);
}
