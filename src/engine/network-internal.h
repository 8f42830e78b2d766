/* Shared between the network files; not for other layers. */
#pragma once
#include "engine/netlink.h"
#include "engine/network.h"

struct net_ctx {
        struct db *db;
        char *root;
        char *prefix; /* link names */
        char *table;  /* nft table */
        struct in_addr def_subnet;
        unsigned def_prefixlen;
        int lockfd;
        int locked; /* nesting depth */
};

int net_lock(struct net_ctx *ctx, struct error *err);
void net_unlock(struct net_ctx *ctx);
/* Claims the link prefix and nft table for this root (net_lock does it). */
int net_claim(struct net_ctx *ctx, struct error *err);
/* Gives up this root's claim on its link prefix and nft table (nothing of
 * them is left on the host). Call with the lock held. */
void net_release_claims(struct net_ctx *ctx);

/* "10.1.0.0/16" -> address and prefix; host bits must be zero. */
int net_parse_subnet(const char *s, struct in_addr *ret, unsigned *ret_len, struct error *err);
uint32_t net_mask(unsigned prefixlen);
bool net_overlaps(struct in_addr a, unsigned alen, struct in_addr b, unsigned blen);
void net_ntoa(struct in_addr a, char buf[16]);

/* Fails with -EADDRINUSE when net's subnet overlaps an address or route of the host. */
int net_check_host_overlap(struct net_ctx *ctx, const struct network *net, struct error *err);

/* Rewrites husk's nft table from the database in one atomic batch (the table
 * is deleted when nothing needs it). */
int net_nft_sync(struct net_ctx *ctx, struct error *err);
/* Deletes husk's nft table (if present). */
int net_nft_delete(struct net_ctx *ctx, struct error *err);

/* Rewrites the hosts file of every attachment on the networks container_id is on
 * (all attachments when container_id is NULL). */
int net_hosts_refresh(struct net_ctx *ctx, struct error *err);
