#define LAZYLIB_IMPL
#include "core/lib-crypto.h"

LAZYLIB_DEFINE(crypto, CRYPTO_LAZY_FNS, HUSK_SONAME_CRYPTO, "SHA-256 digests")
