/* The comment of an nftables table, read with one raw nfnetlink request
 * (NFT_MSG_GETTABLE): no libnftables context and no cache dump. husk keeps
 * a hash of the ruleset it generated in its table's comment, so a rewrite
 * that would change nothing is skipped (network-nft.c). */
#pragma once
#include <stddef.h>

/* Copies the comment of table `ip NAME` into buf: 0 (buf "" when it has no
 * comment), -ENOENT when there is no such table, another negative errno when
 * the kernel cannot be asked. */
int nft_table_comment(const char *name, char *buf, size_t len);
