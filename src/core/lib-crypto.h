/* libcrypto, opened on first use (see core/lazylib.h): include this instead of
 * <openssl/evp.h>; calls read as usual. A function husk starts
 * to use must be added to both lists below. */
#pragma once
#include <openssl/evp.h>

#include "core/lazylib.h"

#ifndef HUSK_SONAME_CRYPTO
#define HUSK_SONAME_CRYPTO "libcrypto.so.3"
#endif

#define CRYPTO_LAZY_FNS(X)                                                                         \
        X(EVP_DigestFinal_ex)                                                                      \
        X(EVP_DigestInit_ex)                                                                       \
        X(EVP_DigestUpdate)                                                                        \
        X(EVP_MD_CTX_free)                                                                         \
        X(EVP_MD_CTX_new)                                                                          \
        X(EVP_sha256)

struct lib_crypto_fns {
#define CRYPTO_LAZY_FIELD(f) __typeof__(f) *f;
        CRYPTO_LAZY_FNS(CRYPTO_LAZY_FIELD)
#undef CRYPTO_LAZY_FIELD
};
extern struct lazylib lib_crypto;
extern struct lib_crypto_fns lib_crypto_fns;

/* 0 when libcrypto.so.3 is (or can now be) loaded; otherwise an error naming it. */
int lib_crypto_need(struct error *err);

#ifndef LAZYLIB_IMPL
#define CRYPTO_LAZY        LAZYLIB_TABLE(lib_crypto, lib_crypto_fns)
#define EVP_DigestFinal_ex (CRYPTO_LAZY->EVP_DigestFinal_ex)
#define EVP_DigestInit_ex  (CRYPTO_LAZY->EVP_DigestInit_ex)
#define EVP_DigestUpdate   (CRYPTO_LAZY->EVP_DigestUpdate)
#define EVP_MD_CTX_free    (CRYPTO_LAZY->EVP_MD_CTX_free)
#define EVP_MD_CTX_new     (CRYPTO_LAZY->EVP_MD_CTX_new)
#define EVP_sha256         (CRYPTO_LAZY->EVP_sha256)
#endif
