/* libnftables, opened on first use (see core/lazylib.h): include this instead of
 * <nftables/libnftables.h>; calls read as usual. A function husk starts
 * to use must be added to both lists below. */
#pragma once
#include <nftables/libnftables.h>

#include "core/lazylib.h"

#ifndef HUSK_SONAME_NFT
#define HUSK_SONAME_NFT "libnftables.so.1"
#endif

#define NFT_LAZY_FNS(X)                                                                            \
        X(nft_ctx_buffer_error)                                                                    \
        X(nft_ctx_buffer_output)                                                                   \
        X(nft_ctx_free)                                                                            \
        X(nft_ctx_get_error_buffer)                                                                \
        X(nft_ctx_new)                                                                             \
        X(nft_run_cmd_from_buffer)

struct lib_nft_fns {
#define NFT_LAZY_FIELD(f) __typeof__(f) *f;
        NFT_LAZY_FNS(NFT_LAZY_FIELD)
#undef NFT_LAZY_FIELD
};
extern struct lazylib lib_nft;
extern struct lib_nft_fns lib_nft_fns;

/* 0 when libnftables.so.1 is (or can now be) loaded; otherwise an error naming it. */
int lib_nft_need(struct error *err);

#ifndef LAZYLIB_IMPL
#define NFT_LAZY                 LAZYLIB_TABLE(lib_nft, lib_nft_fns)
#define nft_ctx_buffer_error     (NFT_LAZY->nft_ctx_buffer_error)
#define nft_ctx_buffer_output    (NFT_LAZY->nft_ctx_buffer_output)
#define nft_ctx_free             (NFT_LAZY->nft_ctx_free)
#define nft_ctx_get_error_buffer (NFT_LAZY->nft_ctx_get_error_buffer)
#define nft_ctx_new              (NFT_LAZY->nft_ctx_new)
#define nft_run_cmd_from_buffer  (NFT_LAZY->nft_run_cmd_from_buffer)
#endif
