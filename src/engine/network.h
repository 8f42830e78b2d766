/* Bridge networks: the records in the store (networks, address allocations,
 * published ports), and attaching a network namespace to a network.
 *
 * A network is a row in the database until a namespace is attached to it;
 * then it has a bridge, nftables rules in husk's own table, and (unless it
 * is internal) ip_forward on. The last detach removes the bridge and the
 * rules again. Every call that changes the host first reconciles the host
 * with the database (net_reconcile), so whatever a crashed husk left behind
 * is cleaned by the next call.
 *
 * All host changes happen under an exclusive lock on ROOT/network.lock, and
 * address allocation in one database transaction, so concurrent husk
 * processes never hand out one address twice.
 *
 * The environment variables HUSK_NET_PREFIX (default "husk": link names
 * PREFIX0, PREFIX-XXXXXXXX, PREFIXvXXXXXXXX) and HUSK_NFT_TABLE (default
 * "husk") let tests run side by side without sharing host state;
 * HUSK_DEFAULT_SUBNET sets the default network's subnet (10.89.0.0/16).
 */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cleanup.h"
#include "core/db.h"
#include "core/error.h"

#define NET_DEFAULT_NAME "husk0"

struct net_ctx;

/* Opens ROOT/husk.db and the network lock file; reads the environment. */
int net_open(const char *root, struct net_ctx **ret, struct error *err);
void net_close(struct net_ctx *ctx);
DEFINE_FREEP(struct net_ctx, net_close)
#define _cleanup_net_ _cleanup_(net_closep)
/* The nft table name and link name prefix in use. */
const char *net_table(const struct net_ctx *ctx);
const char *net_prefix(const struct net_ctx *ctx);

struct network {
        char *id; /* 64 hex digits */
        char *name;
        char *driver; /* "bridge" */
        struct in_addr subnet;
        unsigned prefixlen;
        struct in_addr gateway;
        bool internal;
        char *bridge;
        int64_t created; /* unix seconds */
};
void network_free(struct network *n);
DEFINE_FREEP(struct network, network_free)
void network_list_free(struct network **v, size_t n);

struct net_create_opts {
        const char *name;
        const char *subnet;  /* "10.1.2.0/24", NULL picks a free /24 */
        const char *gateway; /* NULL: the subnet's first address */
        bool internal;
};
int net_network_create(struct net_ctx *ctx, const struct net_create_opts *o, struct network **ret,
                       struct error *err);
/* By name, full id, or a unique id prefix. NET_DEFAULT_NAME is created on first use. */
int net_network_get(struct net_ctx *ctx, const char *ref, struct network **ret, struct error *err);
/* Every network (the default one created on first use), sorted by name. */
int net_network_list(struct net_ctx *ctx, struct network ***ret, size_t *ret_n, struct error *err);
/* Refuses the default network and a network with attachments. */
int net_network_remove(struct net_ctx *ctx, const char *ref, struct error *err);
/* Removes every network without attachments except the default; *ret lists their names. */
int net_network_prune(struct net_ctx *ctx, char ***ret, struct error *err);
/* Number of attachments of a network. */
int net_network_users(struct net_ctx *ctx, const char *network_id, char ***ret_containers,
                      struct error *err);

struct net_endpoint {
        char *container_id, *name, *mac, *address;
};
/* The attachments of a network, by container id. */
int net_network_endpoints(struct net_ctx *ctx, const char *network_id, struct net_endpoint **ret,
                          size_t *ret_n, struct error *err);
void net_endpoints_free(struct net_endpoint *v, size_t n);

/* A published port: host_ip:host_port -> the container's address:container_port/proto. */
struct net_port {
        char host_ip[16]; /* "0.0.0.0" for every address of the host */
        uint16_t host_port;
        uint16_t container_port;
        char proto[4]; /* "tcp" or "udp" */
};
/* Parses docker's -p syntax: [hostip:][hostport:]containerport[/proto], ports
 * may be ranges of equal length ("8000-8001:80-81"); a missing host port is a
 * free one picked by the kernel. Appends to *v. */
int net_port_parse(const char *spec, struct net_port **v, size_t *n, struct error *err);

struct net_attach_opts {
        const char *container_id; /* owner of the address */
        const char *name;         /* resolvable by this name on the network (may be NULL) */
        const char *hostname;     /* also resolvable; NULL: none */
        const char *ip;           /* requested address, NULL for the next free */
        const char *mac;          /* requested MAC, NULL for a random local one */
        const struct net_port *ports;
        size_t n_ports;
        const char *hosts_path;   /* the container's /etc/hosts, rewritten as peers come and go */
        char *const *extra_hosts; /* "name:ip" (--add-host); ip "host-gateway" is the gateway */
        unsigned mtu;             /* 0: 1500 */
        char *const *aliases;     /* gaps: more names on this network (--network-alias) */
};

struct net_attachment {
        char *network_id, *network_name, *container_id;
        char *bridge, *host_veth;
        char *address, *gateway, *mac; /* text forms */
        char *ifname;                  /* in the namespace ("eth0"); NULL when read back */
        unsigned prefixlen;
        bool internal;
        struct net_port *ports;
        size_t n_ports;
};
void net_attachment_free(struct net_attachment *a);
DEFINE_FREEP(struct net_attachment, net_attachment_free)

/* Gives the namespace netns_fd (shown as netns_shown in explanations) an eth0
 * in network ref: a veth into the network's bridge, an address, the default
 * route (not on an internal network), published ports. Nothing is left behind
 * on failure. */
int net_attach(struct net_ctx *ctx, int netns_fd, const char *netns_shown, const char *ref,
               const struct net_attach_opts *o, struct net_attachment **ret, struct error *err);
/* Undoes net_attach: the veth, the address, the ports, the rules; the bridge
 * when it was the last attachment. An attachment whose namespace is gone
 * already is released all the same. */
int net_detach(struct net_ctx *ctx, const struct net_attachment *a, struct error *err);
/* The attachment of container_id to network ref, as recorded. */
int net_attachment_get(struct net_ctx *ctx, const char *ref, const char *container_id,
                       struct net_attachment **ret, struct error *err);

/* Every attachment of container_id, first attached first (for rm: detach them all). */
int net_container_attachments(struct net_ctx *ctx, const char *container_id,
                              struct net_attachment ***ret, size_t *ret_n, struct error *err);
void net_attachments_free(struct net_attachment **v, size_t n);

/* Brings the host in line with the database: releases attachments whose veth
 * is gone, deletes husk links nothing uses and the bridges of networks that
 * no longer exist, rewrites the nft table. A network's bridge (and its base
 * rules) stays up while the network exists, like docker0. */
int net_reconcile(struct net_ctx *ctx, struct error *err);
/* speed: net_reconcile, and also takes down the bridges (and their rules) of
 * networks nothing is attached to; with nothing attached at all, nothing of
 * this root is left on the host (`husk network _down`). */
int net_down(struct net_ctx *ctx, struct error *err);

/* /etc/resolv.conf for a container: the host's (host_path, normally
 * /etc/resolv.conf) with loopback name servers dropped (the container cannot
 * reach the host's loopback), Google's public servers when none remain, or
 * the dns servers given (--dns). Written to path. */
int net_write_resolv_conf(const char *path, const char *host_path, char *const *dns,
                          struct error *err);
/* gaps: container_id is now called name: its attachments' rows and every
 * hosts file that lists it follow (network-names.c). */
int net_rename_container(struct net_ctx *ctx, const char *container_id, const char *name,
                         struct error *err);
/* A name that may go into a hosts file: letters, digits, '-', '.', '_'. */
bool net_valid_hostname(const char *s, size_t len);
/* Checks one --add-host value (NAME:IP, IP may be host-gateway). */
int net_check_extra_host(const char *s, struct error *err);
/* Renders a hosts file: localhost lines, extra hosts, then the entries. */
char *net_hosts_render(char *const *extra_hosts, const char *gateway, char *const *entries);
