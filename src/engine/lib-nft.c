#define LAZYLIB_IMPL
#include "engine/lib-nft.h"

LAZYLIB_DEFINE(nft, NFT_LAZY_FNS, HUSK_SONAME_NFT, "nftables rules")
