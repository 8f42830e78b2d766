#define LAZYLIB_IMPL
#include "core/lib-nettle.h"

LAZYLIB_DEFINE(nettle, NETTLE_LAZY_FNS, HUSK_SONAME_NETTLE, "SHA-256 digests of small blobs")
