#define LAZYLIB_IMPL
#include "engine/lib-nft.h"

static const char *const names[] = {
#define NFT_LAZY_NAME(f) #f,
    NFT_LAZY_FNS(NFT_LAZY_NAME)
#undef NFT_LAZY_NAME
};

struct lib_nft_fns lib_nft_fns;

static void fill(void *const *addrs)
{
        size_t i = 0;
#define NFT_LAZY_SET(f) lib_nft_fns.f = (__typeof__(lib_nft_fns.f))addrs[i++];
        NFT_LAZY_FNS(NFT_LAZY_SET)
#undef NFT_LAZY_SET
}

struct lazylib lib_nft = {
    .soname = HUSK_SONAME_NFT,
    .what = "nftables rules",
    .names = names,
    .n = sizeof(names) / sizeof(names[0]),
    .fill = fill,
};

int lib_nft_need(struct error *err)
{
        return lazylib_load(&lib_nft, err);
}
