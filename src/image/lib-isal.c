#define LAZYLIB_IMPL
#include "image/lib-isal.h"

LAZYLIB_DEFINE(isal, ISAL_LAZY_FNS, HUSK_SONAME_ISAL, "fast gzip layer decompression")
