/* Shared libraries loaded on first use instead of at program start.
 *
 * Every library in the executable's DT_NEEDED list is mapped and relocated
 * before main(), on every `husk ps` and `husk run`, whether the command uses
 * it or not (libarchive alone pulls in libxml2, ICU and libstdc++). The heavy
 * ones that only some commands need (tar layers, digests, nftables) are
 * opened with dlopen() the first time one of their functions is called.
 *
 * Each library has a small header (lib-archive.h, lib-crypto.h, ...) that
 * includes the library's own header, lists the functions husk calls, and
 * redefines each name as a call through a table of pointers filled on first
 * use, so calling code reads exactly as with the library linked directly.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct error;

struct lazylib {
        const char *soname;       /* "libarchive.so.13" */
        const char *what;         /* what husk needs it for, for error messages */
        const char *const *names; /* the functions, in table order */
        size_t n;
        /* Stores the n resolved addresses, in names order, into the typed table. */
        void (*fill)(void *const *addrs);
        bool loaded;
};

/* Opens l->soname, resolves every name and hands them to l->fill; 0, or -ENOENT with
 * err saying which library (or which function of it) is missing. Idempotent
 * and safe to call from several threads (layer streams decompress in one). */
int lazylib_load(struct lazylib *l, struct error *err);

/* lazylib_load() for a call site with no way to report an error: a missing
 * library is a broken installation, so this prints the error and exits 127,
 * as the dynamic loader would have done at start. Commands that can say so
 * earlier call the library's *_need() with their error instead. */
void lazylib_require(struct lazylib *l);

/* The table of LIB's pointers: loaded on first use. Used by the lib-*.h headers. */
#define LAZYLIB_TABLE(lib, tab)                                                                    \
        (__atomic_load_n(&(lib).loaded, __ATOMIC_ACQUIRE) ? (void)0 : lazylib_require(&(lib)),     \
         &(tab))

/* In lib-X.c: the names, the typed table lib_X_fns, the struct lazylib lib_X
 * and lib_X_need() of one library, whose functions FNS (the X-macro of its
 * lib-X.h) lists in table order. The table is a struct of function pointers,
 * one per name, filled from dlsym's addresses as they come. */
#define LAZYLIB_NAME_(f) #f,
#define LAZYLIB_DEFINE(x, FNS, soname_, what_)                                                     \
        static const char *const x##_names[] = {FNS(LAZYLIB_NAME_)};                               \
        struct lib_##x##_fns lib_##x##_fns;                                                        \
        static void x##_fill(void *const *addrs)                                                   \
        {                                                                                          \
                _Static_assert(sizeof(lib_##x##_fns) == sizeof(x##_names), "a pointer a name");    \
                memcpy(&lib_##x##_fns, addrs, sizeof(lib_##x##_fns));                              \
        }                                                                                          \
        struct lazylib lib_##x = {.soname = soname_,                                               \
                                  .what = what_,                                                   \
                                  .names = x##_names,                                              \
                                  .n = sizeof(x##_names) / sizeof(x##_names[0]),                   \
                                  .fill = x##_fill};                                               \
        int lib_##x##_need(struct error *err)                                                      \
        {                                                                                          \
                return lazylib_load(&lib_##x, err);                                                \
        }
