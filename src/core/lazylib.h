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
