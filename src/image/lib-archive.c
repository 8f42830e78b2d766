#define LAZYLIB_IMPL
#include "image/lib-archive.h"

LAZYLIB_DEFINE(archive, ARCHIVE_LAZY_FNS, HUSK_SONAME_ARCHIVE, "image layers and tar archives")
