/* libnettle, opened on first use (see core/lazylib.h): include this instead of
 * <nettle/sha2.h>; calls read as usual. A function husk starts to use must
 * be added to both lists below. digest.c hashes small buffers (image
 * configs, manifests: read on every `husk run`) with it because it loads in
 * well under a millisecond, where libcrypto's load and init take ~4 ms;
 * layer streams keep libcrypto's faster SHA-256. */
#pragma once
#include <nettle/sha2.h>

#include "core/lazylib.h"

#ifndef HUSK_SONAME_NETTLE
#define HUSK_SONAME_NETTLE "libnettle.so.8"
#endif

#define NETTLE_LAZY_FNS(X)                                                                         \
        X(nettle_sha256_digest)                                                                    \
        X(nettle_sha256_init)                                                                      \
        X(nettle_sha256_update)

struct lib_nettle_fns {
#define NETTLE_LAZY_FIELD(f) __typeof__(f) *f;
        NETTLE_LAZY_FNS(NETTLE_LAZY_FIELD)
#undef NETTLE_LAZY_FIELD
};
extern struct lazylib lib_nettle;
extern struct lib_nettle_fns lib_nettle_fns;

/* 0 when libnettle.so.8 is (or can now be) loaded; otherwise an error naming it. */
int lib_nettle_need(struct error *err);

#ifndef LAZYLIB_IMPL
#define NETTLE_LAZY          LAZYLIB_TABLE(lib_nettle, lib_nettle_fns)
#define nettle_sha256_digest (NETTLE_LAZY->nettle_sha256_digest)
#define nettle_sha256_init   (NETTLE_LAZY->nettle_sha256_init)
#define nettle_sha256_update (NETTLE_LAZY->nettle_sha256_update)
#endif
