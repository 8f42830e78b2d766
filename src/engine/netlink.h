/* A small rtnetlink client: links, addresses and routes, in-tree (no libnl,
 * no exec of ip(8)). Every change is explained as the ip(8) command a person
 * would type; a socket opened inside another network namespace explains its
 * steps as "nsenter --net=PATH ip ...".
 *
 * All functions return 0 or a negative errno; with err they say what failed.
 */
#pragma once
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

struct nl {
        int fd;
        uint32_t seq;
        char *ns_shown; /* NULL for the caller's namespace, else the netns path shown */
};

/* Opens a NETLINK_ROUTE socket in the caller's network namespace (netns_fd < 0)
 * or in the namespace netns_fd refers to (entered and left again with setns). */
int nl_open(struct nl *nl, int netns_fd, const char *ns_shown, struct error *err);
void nl_close(struct nl *nl);

/* The interface index of name: > 0, or -ENODEV when there is no such link. */
int nl_link_index(struct nl *nl, const char *name);

int nl_bridge_add(struct nl *nl, const char *name, unsigned mtu, struct error *err);
/* A veth pair name <-> peer, both in nl's namespace. */
int nl_veth_add(struct nl *nl, const char *name, const char *peer, unsigned mtu, struct error *err);
/* speed: a veth pair name <-> peer with name in bridge master and up, peer
 * created directly in the namespace netns_fd (no move, no rename). */
struct nl_veth_in_ns {
        const char *name, *master, *peer;
        int netns_fd;
        const char *ns_shown;
        const uint8_t *mac; /* the peer's, 6 bytes */
        unsigned mtu;
};
int nl_veth_add_in_ns(struct nl *nl, const struct nl_veth_in_ns *v, struct error *err);
/* Moves link name into the namespace netns_fd (shown as ns_shown). */
int nl_link_set_netns(struct nl *nl, const char *name, int netns_fd, const char *ns_shown,
                      struct error *err);
int nl_link_rename(struct nl *nl, const char *name, const char *newname, struct error *err);
int nl_link_set_mac(struct nl *nl, const char *name, const uint8_t mac[6], struct error *err);
int nl_link_set_mtu(struct nl *nl, const char *name, unsigned mtu, struct error *err);
int nl_link_set_master(struct nl *nl, const char *name, const char *master, struct error *err);
int nl_link_up(struct nl *nl, const char *name, struct error *err);
/* Deletes a link; -ENODEV (with err set) when it is gone already. */
int nl_link_del(struct nl *nl, const char *name, struct error *err);
int nl_addr_add(struct nl *nl, const char *dev, struct in_addr addr, unsigned prefixlen,
                struct error *err);
int nl_route_add_default(struct nl *nl, struct in_addr gateway, const char *dev, struct error *err);

/* Names of every link in the namespace (a strv). */
int nl_link_names(struct nl *nl, char ***ret, struct error *err);

struct nl_addr4 {
        struct in_addr addr;
        unsigned prefixlen;
};
/* Every IPv4 address configured in the namespace. */
int nl_addr4_list(struct nl *nl, struct nl_addr4 **ret, size_t *ret_n, struct error *err);
/* Every IPv4 route destination (main table) in the namespace, default route excluded. */
int nl_route4_list(struct nl *nl, struct nl_addr4 **ret, size_t *ret_n, struct error *err);
