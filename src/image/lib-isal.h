/* libisal, opened on first use (see core/lazylib.h): include this instead of
 * <isa-l/igzip_lib.h>; calls read as usual. A function husk starts
 * to use must be added to both lists below. */
#pragma once
#include <isa-l/igzip_lib.h>

#include "core/lazylib.h"

#ifndef HUSK_SONAME_ISAL
#define HUSK_SONAME_ISAL "libisal.so.2"
#endif

#define ISAL_LAZY_FNS(X)                                                                           \
        X(isal_inflate)                                                                            \
        X(isal_inflate_init)                                                                       \
        X(isal_inflate_reset)

struct lib_isal_fns {
#define ISAL_LAZY_FIELD(f) __typeof__(f) *f;
        ISAL_LAZY_FNS(ISAL_LAZY_FIELD)
#undef ISAL_LAZY_FIELD
};
extern struct lazylib lib_isal;
extern struct lib_isal_fns lib_isal_fns;

/* 0 when libisal.so.2 is (or can now be) loaded; otherwise an error naming it. */
int lib_isal_need(struct error *err);

#ifndef LAZYLIB_IMPL
#define ISAL_LAZY          LAZYLIB_TABLE(lib_isal, lib_isal_fns)
#define isal_inflate       (ISAL_LAZY->isal_inflate)
#define isal_inflate_init  (ISAL_LAZY->isal_inflate_init)
#define isal_inflate_reset (ISAL_LAZY->isal_inflate_reset)
#endif
