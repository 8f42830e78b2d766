/* Attaching network namespaces to bridge networks, and reconciling the host
 * with the database. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"
#include "engine/network-internal.h"

void net_attachment_free(struct net_attachment *a)
{
        if (!a)
                return;
        free(a->network_id);
        free(a->network_name);
        free(a->container_id);
        free(a->bridge);
        free(a->host_veth);
        free(a->address);
        free(a->gateway);
        free(a->mac);
        free(a->ifname);
        free(a->ports);
        free(a);
}

/* PREFIX + c + 8 hex digits: a link of this husk (exact length, so prefixes
 * of different lengths never claim each other's links). */
static bool link_is(const struct net_ctx *ctx, const char *name, char c)
{
        size_t pl = strlen(ctx->prefix);
        if (strlen(name) != pl + 9 || strncmp(name, ctx->prefix, pl) != 0 || name[pl] != c)
                return false;
        for (size_t i = pl + 1; name[i]; i++)
                if (!isxdigit((unsigned char)name[i]) || isupper((unsigned char)name[i]))
                        return false;
        return true;
}

static bool is_bridge_name(const struct net_ctx *ctx, const char *name)
{
        size_t pl = strlen(ctx->prefix);
        return link_is(ctx, name, '-') ||
               (strlen(name) == pl + 1 && strncmp(name, ctx->prefix, pl) == 0 && name[pl] == '0');
}

static int sysctl_set(const char *path, const char *shown, const char *value, struct error *err)
{
        _cleanup_free_ char *cur = NULL;
        if (read_file_at(AT_FDCWD, path, 64, &cur, NULL) == 0 && cur[0] == value[0])
                return 0;
        int r = sys_write_file_at(AT_FDCWD, path, shown, value);
        if (r < 0)
                return error_sys(err, r, "write '%s'", path);
        return 0;
}

/* The bridge of a network with attachments: created with the gateway address,
 * route_localnet (so 127.0.0.1 can be DNATed into it) and up. */
static int bridge_ensure(struct net_ctx *ctx, struct nl *nl, const struct network *net,
                         unsigned mtu, struct error *err)
{
        if (nl_link_index(nl, net->bridge) > 0)
                return 0;
        int r = net_check_host_overlap(ctx, net, err);
        if (r < 0)
                return r;
        r = nl_bridge_add(nl, net->bridge, mtu, err);
        if (r < 0)
                return r;
        r = nl_addr_add(nl, net->bridge, net->gateway, net->prefixlen, err);
        if (r == 0) {
                _cleanup_free_ char *p =
                    xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", net->bridge);
                r = sysctl_set(p, p, "1", err);
        }
        if (r == 0)
                r = nl_link_up(nl, net->bridge, err);
        if (r < 0) {
                struct error e2;
                (void)nl_link_del(nl, net->bridge, &e2);
        }
        return r;
}

static int parse_mac(const char *s, uint8_t mac[6], struct error *err)
{
        unsigned b[6];
        char end;
        if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                   &end) != 6 ||
            strlen(s) != 17)
                return error_msg(err, -EINVAL, "invalid MAC address '%s'", s);
        for (int i = 0; i < 6; i++)
                mac[i] = (uint8_t)b[i];
        if (mac[0] & 1)
                return error_msg(err, -EINVAL, "invalid MAC address '%s': a multicast address", s);
        return 0;
}

static bool valid_container_id(const char *s)
{
        if (!*s || strlen(s) > 128)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
                        return false;
        return true;
}

/* Published ports: free on the host (bind-tested) and not published by another
 * attachment. Host port 0 gets a free port from the kernel. */
static int ports_check(struct net_ctx *ctx, struct net_port *p, size_t n, struct error *err)
{
        for (size_t i = 0; i < n; i++) {
                bool udp = strcmp(p[i].proto, "udp") == 0;
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p[i].host_port)};
                inet_pton(AF_INET, p[i].host_ip, &sa.sin_addr);
                _cleanup_close_ int fd =
                    socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return error_sys(err, -errno, "socket");
                int one = 1;
                /* A server would set it too: a port in TIME_WAIT is free for it. */
                if (!udp)
                        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        if (errno == EADDRINUSE)
                                return error_msg(err, -EADDRINUSE,
                                                 "host port %s:%u/%s is already in use",
                                                 p[i].host_ip, p[i].host_port, p[i].proto);
                        return error_sys(err, -errno, "bind-test host port %s:%u/%s", p[i].host_ip,
                                         p[i].host_port, p[i].proto);
                }
                if (p[i].host_port == 0) {
                        socklen_t l = sizeof(sa);
                        if (getsockname(fd, (struct sockaddr *)&sa, &l) < 0)
                                return error_sys(err, -errno, "getsockname");
                        p[i].host_port = ntohs(sa.sin_port);
                }
                for (size_t j = 0; j < i; j++)
                        if (p[j].host_port == p[i].host_port && !strcmp(p[j].proto, p[i].proto) &&
                            (!strcmp(p[j].host_ip, p[i].host_ip) ||
                             !strcmp(p[j].host_ip, "0.0.0.0") || !strcmp(p[i].host_ip, "0.0.0.0")))
                                return error_msg(err, -EINVAL, "host port %s:%u/%s is given twice",
                                                 p[i].host_ip, p[i].host_port, p[i].proto);
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                int r = db_prepare(ctx->db,
                                   "SELECT p.container_id, a.name FROM network_ports p LEFT JOIN "
                                   "network_allocations a ON a.network_id = p.network_id AND "
                                   "a.container_id = p.container_id WHERE p.proto = ?1 AND "
                                   "p.host_port = ?2 AND (p.host_ip = ?3 OR p.host_ip = "
                                   "'0.0.0.0' OR ?3 = '0.0.0.0')",
                                   &st, err);
                if (r < 0)
                        return r;
                sqlite3_bind_text(st, 1, p[i].proto, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int(st, 2, p[i].host_port);
                sqlite3_bind_text(st, 3, p[i].host_ip, -1, SQLITE_TRANSIENT);
                r = db_step(ctx->db, st, err);
                if (r < 0)
                        return r;
                if (r > 0) {
                        /* By its name when it has one (a container's), else the id. */
                        const char *by = (const char *)sqlite3_column_text(st, 1);
                        const char *id = (const char *)sqlite3_column_text(st, 0);
                        return error_msg(err, -EADDRINUSE,
                                         "host port %s:%u/%s is already published by container "
                                         "%.*s",
                                         p[i].host_ip, p[i].host_port, p[i].proto,
                                         by && *by ? (int)strlen(by) : 12, by && *by ? by : id);
                }
        }
        return 0;
}

/* The lowest free host address of the subnet (or the requested one), in the
 * caller's transaction. */
static int address_pick(struct net_ctx *ctx, const struct network *net, const char *want,
                        struct in_addr *ret, struct error *err)
{
        uint32_t base = ntohl(net->subnet.s_addr), size = ~net_mask(net->prefixlen) + 1;
        uint32_t gw = ntohl(net->gateway.s_addr);
        _cleanup_free_ uint8_t *used = xzalloc(size / 8 + 1);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db, "SELECT address FROM network_allocations WHERE network_id = ?1",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, net->id, -1, SQLITE_TRANSIENT);
        while ((r = db_step(ctx->db, st, err)) > 0) {
                struct in_addr a;
                const char *t = (const char *)sqlite3_column_text(st, 0);
                if (t && inet_pton(AF_INET, t, &a) == 1) {
                        uint32_t off = ntohl(a.s_addr) - base;
                        if (off < size)
                                used[off / 8] |= (uint8_t)(1u << (off % 8));
                }
        }
        if (r < 0)
                return r;
        if (want) {
                struct in_addr a;
                if (inet_pton(AF_INET, want, &a) != 1)
                        return error_msg(err, -EINVAL, "invalid --ip '%s': not an IPv4 address",
                                         want);
                uint32_t h = ntohl(a.s_addr), off = h - base;
                if ((h & net_mask(net->prefixlen)) != base || off == 0 || off == size - 1 ||
                    h == gw)
                        return error_msg(err, -EINVAL,
                                         "--ip '%s' is not a free host address of network '%s'",
                                         want, net->name);
                if (used[off / 8] & (1u << (off % 8)))
                        return error_msg(err, -EADDRINUSE,
                                         "address %s is already in use on network '%s'", want,
                                         net->name);
                *ret = a;
                return 0;
        }
        for (uint32_t off = 1; off < size - 1; off++)
                if (base + off != gw && !(used[off / 8] & (1u << (off % 8)))) {
                        ret->s_addr = htonl(base + off);
                        return 0;
                }
        return error_msg(err, -ENOSPC, "network '%s' has no free address left", net->name);
}

static char *join_lines(char *const *v)
{
        _cleanup_free_ char *s = xstrdup("");
        for (size_t i = 0; v && v[i]; i++) {
                char *t = xasprintf("%s%s%s", s, i ? "\n" : "", v[i]);
                free(s);
                s = t;
        }
        return TAKE_PTR(s);
}

/* Records the attachment (address, MAC, veth name, ports) in one transaction.
 * Without --mac-address the MAC comes from the address, as docker's 02:42:a.b.c.d:
 * a container restarted with its address keeps its MAC, so the ARP entries its
 * peers hold stay right instead of pointing at the old random one for a minute. */
static int attachment_record(struct net_ctx *ctx, const struct network *net,
                             const struct net_attach_opts *o, struct net_port *ports,
                             struct net_attachment *a, uint8_t mac[6], struct error *err)
{
        int r = db_begin(ctx->db, err);
        if (r < 0)
                return r;
        struct in_addr addr = {0};
        r = address_pick(ctx, net, o->ip, &addr, err);
        char ip[16];
        net_ntoa(addr, ip);
        if (r == 0 && !o->mac) {
                uint32_t h = ntohl(addr.s_addr);
                mac[0] = 0x02; /* unicast, locally administered */
                mac[1] = 0x42;
                for (int i = 0; i < 4; i++)
                        mac[2 + i] = (uint8_t)(h >> (24 - 8 * i));
        }
        free(a->mac);
        a->mac = xasprintf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                           mac[5]);
        _cleanup_free_ char *extra = join_lines(o->extra_hosts);
        _cleanup_free_ char *aliases = o->aliases ? strv_join(o->aliases, " ") : NULL; /* gaps */
        _cleanup_free_ char *now = xasprintf("%lld", (long long)time(NULL));
        if (r == 0)
                r = ports_check(ctx, ports, o->n_ports, err);
        if (r == 0) {
                r = db_run(ctx->db,
                           "INSERT INTO network_allocations (network_id, address, container_id, "
                           "name, hostname, mac, host_veth, hosts_path, extra_hosts, created, "
                           "aliases) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                           err, 11, net->id, ip, o->container_id, o->name, o->hostname, a->mac,
                           a->host_veth, o->hosts_path, extra, now, aliases);
                if (r == -EEXIST)
                        r = error_msg(err, r, "container %.12s is already attached to network '%s'",
                                      o->container_id, net->name);
        }
        for (size_t i = 0; r == 0 && i < o->n_ports; i++) {
                char hp[8], cp[8];
                snprintf(hp, sizeof(hp), "%u", ports[i].host_port);
                snprintf(cp, sizeof(cp), "%u", ports[i].container_port);
                r = db_run(ctx->db,
                           "INSERT INTO network_ports (network_id, container_id, host_ip, "
                           "host_port, proto, container_port) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           err, 6, net->id, o->container_id, ports[i].host_ip, hp, ports[i].proto,
                           cp);
        }
        if (r == 0)
                r = db_commit(ctx->db, err);
        else
                db_rollback(ctx->db);
        if (r == 0)
                a->address = xstrdup(ip);
        return r;
}

/* The namespace side, once the peer is there as a->ifname: its address, up
 * with lo; the default route goes through the first network that is not
 * internal. */
static int reconcile(struct net_ctx *ctx, bool apply, struct error *err);

/* The first free ethN in the namespace (eth0 for a container's first network). */
static int free_ifname(struct nl *in, char ifname[IFNAMSIZ], struct error *err)
{
        for (int i = 0; i < 64; i++) {
                snprintf(ifname, IFNAMSIZ, "eth%d", i);
                if (nl_link_index(in, ifname) == -ENODEV)
                        return 0;
        }
        return error_msg(err, -EBUSY, "no free ethN name in the namespace");
}

static int netns_setup(struct nl *in, struct net_attachment *a, struct error *err)
{
        const char *ifname = a->ifname;
        struct in_addr addr, gw;
        inet_pton(AF_INET, a->address, &addr);
        inet_pton(AF_INET, a->gateway, &gw);
        int r = nl_addr_add(in, ifname, addr, a->prefixlen, err);
        if (r == 0)
                r = nl_link_up(in, ifname, err);
        if (r == 0)
                r = nl_link_up(in, "lo", err);
        if (r == 0 && !a->internal) {
                r = nl_route_add_default(in, gw, ifname, err);
                if (r == -EEXIST) /* an earlier network has the default route */
                        r = 0;
        }
        return r;
}

/* speed: the container's side is created in its namespace with its final
 * name and MAC (nl_veth_add_in_ns), no move or rename afterwards. */
static int host_setup(struct net_ctx *ctx, int netns_fd, const char *netns_shown,
                      const struct network *net, struct net_attachment *a, const uint8_t mac[6],
                      unsigned mtu, struct error *err)
{
        struct nl in;
        int r = nl_open(&in, netns_fd, netns_shown, err);
        if (r < 0)
                return r;
        char ifname[IFNAMSIZ];
        r = free_ifname(&in, ifname, err);
        struct nl nl;
        if (r == 0)
                r = nl_open(&nl, -1, NULL, err);
        if (r < 0) {
                nl_close(&in);
                return r;
        }
        r = bridge_ensure(ctx, &nl, net, mtu, err);
        if (r == 0)
                r = nl_veth_add_in_ns(&nl,
                                      &(struct nl_veth_in_ns){.name = a->host_veth,
                                                              .master = net->bridge,
                                                              .peer = ifname,
                                                              .netns_fd = netns_fd,
                                                              .ns_shown = netns_shown,
                                                              .mac = mac,
                                                              .mtu = mtu},
                                      err);
        nl_close(&nl);
        if (r == 0) {
                free(a->ifname);
                a->ifname = xstrdup(ifname);
                r = netns_setup(&in, a, err);
        }
        nl_close(&in);
        if (r == 0 && !net->internal)
                r = sysctl_set("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/ip_forward",
                               "1", err);
        return r;
}

/* Deletes the rows of an attachment. */
static int attachment_forget(struct net_ctx *ctx, const char *network_id, const char *container_id,
                             struct error *err)
{
        return db_run(ctx->db,
                      "DELETE FROM network_allocations WHERE network_id = ?1 AND container_id = ?2",
                      err, 2, network_id, container_id);
}

/* fd must be a network namespace, and not husk's own: configuring "eth0"
 * and a default route there would rewire the host. */
static int check_netns(int fd, const char *shown, struct error *err)
{
        int type = ioctl(fd, NS_GET_NSTYPE);
        if (type < 0 || type != CLONE_NEWNET)
                return error_msg(err, -EINVAL, "'%s' is not a network namespace", shown);
        struct stat a, b;
        if (fstat(fd, &a) < 0 || stat("/proc/self/ns/net", &b) < 0)
                return error_sys(err, -errno, "stat network namespace '%s'", shown);
        if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                return error_msg(err, -EINVAL,
                                 "'%s' is husk's own network namespace, not a container's", shown);
        return 0;
}

int net_attach(struct net_ctx *ctx, int netns_fd, const char *netns_shown, const char *ref,
               const struct net_attach_opts *o, struct net_attachment **ret, struct error *err)
{
        if (!o->container_id || !valid_container_id(o->container_id))
                return error_msg(err, -EINVAL, "invalid container id '%s'",
                                 o->container_id ? o->container_id : "");
        if (o->name && !net_valid_hostname(o->name, strlen(o->name)))
                return error_msg(err, -EINVAL, "invalid container name '%s' for a hosts file",
                                 o->name);
        if (o->hostname && !net_valid_hostname(o->hostname, strlen(o->hostname)))
                return error_msg(err, -EINVAL, "invalid hostname '%s'", o->hostname);
        for (size_t i = 0; o->aliases && o->aliases[i]; i++) /* gaps */
                if (!net_valid_hostname(o->aliases[i], strlen(o->aliases[i])))
                        return error_msg(err, -EINVAL,
                                         "invalid network alias '%s': want letters, digits, "
                                         "'-', '.' or '_'",
                                         o->aliases[i]);
        for (size_t i = 0; o->extra_hosts && o->extra_hosts[i]; i++) {
                int r = net_check_extra_host(o->extra_hosts[i], err);
                if (r < 0)
                        return r;
        }
        int r = check_netns(netns_fd, netns_shown, err);
        if (r < 0)
                return r;
        unsigned mtu = o->mtu ? o->mtu : 1500;
        if (mtu < 68 || mtu > 65535)
                return error_msg(err, -EINVAL, "invalid MTU %u: expected 68 to 65535", mtu);
        uint8_t mac[6] = {0};
        if (o->mac) {
                r = parse_mac(o->mac, mac, err);
                if (r < 0)
                        return r;
        }
        r = net_lock(ctx, err);
        if (r < 0)
                return r;
        r = reconcile(ctx, false, err);
        /* The reconcile let the names go when nothing was attached: take them again. */
        if (r == 0)
                r = net_claim(ctx, err);
        _cleanup_(network_freep) struct network *net = NULL;
        if (r == 0)
                r = net_network_get(ctx, ref, &net, err);
        if (r == 0 && net->internal && o->n_ports)
                r = error_msg(err, -EINVAL,
                              "network '%s' is internal: ports cannot be published from it",
                              net->name);
        if (r < 0) {
                /* What the first reconcile released still has to leave the rules. */
                struct error e2;
                (void)reconcile(ctx, true, &e2);
                net_unlock(ctx);
                return r;
        }
        _cleanup_(net_attachment_freep) struct net_attachment *a = xzalloc(sizeof(*a));
        a->network_id = xstrdup(net->id);
        a->network_name = xstrdup(net->name);
        a->container_id = xstrdup(o->container_id);
        a->bridge = xstrdup(net->bridge);
        a->prefixlen = net->prefixlen;
        a->internal = net->internal;
        char gw[16], hex[9];
        net_ntoa(net->gateway, gw);
        a->gateway = xstrdup(gw);
        if (getrandom(hex, 4, 0) != 4)
                abort();
        unsigned char *hb = (unsigned char *)hex;
        _cleanup_free_ char *suffix = xasprintf("%02x%02x%02x%02x", hb[0], hb[1], hb[2], hb[3]);
        a->host_veth = xasprintf("%sv%s", ctx->prefix, suffix);
        a->ports = xmalloc((o->n_ports + 1) * sizeof(*a->ports));
        if (o->n_ports)
                memcpy(a->ports, o->ports, o->n_ports * sizeof(*a->ports));
        a->n_ports = o->n_ports;

        explain_note("attach network '%s' (bridge %s) to %s", net->name, net->bridge, netns_shown);
        r = attachment_record(ctx, net, o, a->ports, a, mac, err);
        if (r < 0) {
                struct error e2;
                (void)reconcile(ctx, true, &e2);
                net_unlock(ctx);
                return error_wrap(err, r, "attach to network '%s'", net->name);
        }
        if (o->hosts_path) {
                _cleanup_close_ int fd =
                    open(o->hosts_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (fd < 0)
                        r = error_sys(err, -errno, "create hosts file '%s'", o->hosts_path);
        }
        if (r == 0)
                r = host_setup(ctx, netns_fd, netns_shown, net, a, mac, mtu, err);
        if (r == 0)
                r = net_nft_sync(ctx, err);
        if (r == 0)
                r = net_hosts_refresh(ctx, err);
        if (r < 0) {
                /* Undo: the veth (its peer goes with it), the rows; reconcile takes the
                 * bridge and the rules back to what the database says. */
                struct error e2;
                struct nl nl;
                if (nl_open(&nl, -1, NULL, &e2) == 0) {
                        (void)nl_link_del(&nl, a->host_veth, &e2);
                        nl_close(&nl);
                }
                (void)attachment_forget(ctx, net->id, o->container_id, &e2);
                (void)net_reconcile(ctx, &e2);
                net_unlock(ctx);
                return error_wrap(err, r, "attach to network '%s'", net->name);
        }
        net_unlock(ctx);
        *ret = TAKE_PTR(a);
        return 0;
}

int net_detach(struct net_ctx *ctx, const struct net_attachment *a, struct error *err)
{
        int r = net_lock(ctx, err);
        if (r < 0)
                return r;
        explain_note("detach container %.12s from network '%s'", a->container_id, a->network_name);
        struct nl nl;
        r = nl_open(&nl, -1, NULL, err);
        if (r == 0) {
                r = nl_link_del(&nl, a->host_veth, err);
                if (r == -ENODEV) /* the namespace is gone, and the veth with it */
                        r = 0;
                nl_close(&nl);
        }
        if (r == 0)
                r = attachment_forget(ctx, a->network_id, a->container_id, err);
        if (r == 0)
                r = net_reconcile(ctx, err);
        net_unlock(ctx);
        if (r < 0)
                return error_wrap(err, r, "detach %.12s from network '%s'", a->container_id,
                                  a->network_name);
        return 0;
}

int net_attachment_get(struct net_ctx *ctx, const char *ref, const char *container_id,
                       struct net_attachment **ret, struct error *err)
{
        _cleanup_(network_freep) struct network *net = NULL;
        int r = net_network_get(ctx, ref, &net, err);
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = db_prepare(ctx->db,
                       "SELECT address, mac, host_veth FROM network_allocations WHERE network_id "
                       "= ?1 AND container_id = ?2",
                       &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, net->id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, container_id, -1, SQLITE_TRANSIENT);
        r = db_step(ctx->db, st, err);
        if (r < 0)
                return r;
        if (r == 0)
                return error_msg(err, -ENOENT, "container %.12s is not attached to network '%s'",
                                 container_id, net->name);
        _cleanup_(net_attachment_freep) struct net_attachment *a = xzalloc(sizeof(*a));
        a->network_id = xstrdup(net->id);
        a->network_name = xstrdup(net->name);
        a->container_id = xstrdup(container_id);
        a->bridge = xstrdup(net->bridge);
        a->address = db_col_str(st, 0);
        a->mac = db_col_str(st, 1);
        a->host_veth = db_col_str(st, 2);
        a->prefixlen = net->prefixlen;
        a->internal = net->internal;
        char gw[16];
        net_ntoa(net->gateway, gw);
        a->gateway = xstrdup(gw);
        _cleanup_stmt_ sqlite3_stmt *ps = NULL;
        r = db_prepare(ctx->db,
                       "SELECT host_ip, host_port, container_port, proto FROM network_ports WHERE "
                       "network_id = ?1 AND container_id = ?2 ORDER BY proto, host_port",
                       &ps, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(ps, 1, net->id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ps, 2, container_id, -1, SQLITE_TRANSIENT);
        a->ports = xmalloc(sizeof(*a->ports));
        while ((r = db_step(ctx->db, ps, err)) > 0) {
                a->ports = xrealloc(a->ports, (a->n_ports + 1) * sizeof(*a->ports));
                struct net_port *p = &a->ports[a->n_ports++];
                memset(p, 0, sizeof(*p));
                snprintf(p->host_ip, sizeof(p->host_ip), "%s", sqlite3_column_text(ps, 0));
                p->host_port = (uint16_t)sqlite3_column_int(ps, 1);
                p->container_port = (uint16_t)sqlite3_column_int(ps, 2);
                snprintf(p->proto, sizeof(p->proto), "%s", sqlite3_column_text(ps, 3));
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

int net_container_attachments(struct net_ctx *ctx, const char *container_id,
                              struct net_attachment ***ret, size_t *ret_n, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT network_id FROM network_allocations WHERE container_id = ?1 "
                           "ORDER BY created, network_id",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, container_id, -1, SQLITE_TRANSIENT);
        _cleanup_strv_ char **ids = NULL;
        while ((r = db_step(ctx->db, st, err)) > 0)
                ids = strv_push(ids, db_col_str(st, 0));
        if (r < 0)
                return r;
        size_t n = strv_len(ids);
        struct net_attachment **v = xzalloc((n + 1) * sizeof(*v));
        for (size_t i = 0; i < n; i++) {
                r = net_attachment_get(ctx, ids[i], container_id, &v[i], err);
                if (r < 0) {
                        net_attachments_free(v, i);
                        return r;
                }
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

void net_attachments_free(struct net_attachment **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                net_attachment_free(v[i]);
        free(v);
}

/* Rows whose veth is not on the host: the namespace died without a detach. */
static int release_orphans(struct net_ctx *ctx, char *const *links, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT network_id, container_id, host_veth FROM "
                           "network_allocations",
                           &st, err);
        if (r < 0)
                return r;
        _cleanup_strv_ char **gone = NULL;
        while ((r = db_step(ctx->db, st, err)) > 0) {
                const char *veth = (const char *)sqlite3_column_text(st, 2);
                if (veth && strv_contains(links, veth))
                        continue;
                gone = strv_push(gone, db_col_str(st, 0));
                gone = strv_push(gone, db_col_str(st, 1));
        }
        if (r < 0)
                return r;
        for (size_t i = 0; gone && gone[i]; i += 2) {
                explain_note("container %.12s left network %.12s without a detach: releasing its "
                             "address",
                             gone[i + 1], gone[i]);
                r = attachment_forget(ctx, gone[i], gone[i + 1], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Is name a bridge of a network that has attachments? */
static int bridge_in_use(struct net_ctx *ctx, const char *name, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT 1 FROM networks n JOIN network_allocations a ON a.network_id "
                           "= n.id WHERE n.bridge = ?1 LIMIT 1",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        return db_step(ctx->db, st, err);
}

/* speed: is name the bridge of a network that exists? Such a bridge stays up
 * without attachments, like docker0 (net_down takes idle ones down). */
static int bridge_known(struct net_ctx *ctx, const char *name, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db, "SELECT 1 FROM networks WHERE bridge = ?1", &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        return db_step(ctx->db, st, err);
}

static int veth_in_use(struct net_ctx *ctx, const char *name, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r =
            db_prepare(ctx->db, "SELECT 1 FROM network_allocations WHERE host_veth = ?1", &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        return db_step(ctx->db, st, err);
}

/* With apply false, the nft table and hosts files are left to the caller,
 * which rewrites them right after (attach). With down, the bridges of
 * networks without attachments go too (net_down). */
static int reconcile_mode(struct net_ctx *ctx, bool apply, bool down, struct error *err)
{
        int r = net_lock(ctx, err);
        if (r < 0)
                return r;
        struct nl nl;
        r = nl_open(&nl, -1, NULL, err);
        if (r < 0) {
                net_unlock(ctx);
                return r;
        }
        _cleanup_strv_ char **links = NULL;
        r = nl_link_names(&nl, &links, err);
        if (r == 0)
                r = release_orphans(ctx, links, err);
        /* Veths first (a bridge goes once its ports are gone), then bridges. */
        bool bridge_left = false;
        for (int pass = 0; r == 0 && pass < 2; pass++)
                for (size_t i = 0; r == 0 && links && links[i]; i++) {
                        const char *l = links[i];
                        int used;
                        if (pass == 0 && link_is(ctx, l, 'p'))
                                used = 0; /* a peer still on the host: an attach died midway */
                        else if (pass == 0 && link_is(ctx, l, 'v'))
                                used = veth_in_use(ctx, l, err);
                        else if (pass == 1 && is_bridge_name(ctx, l))
                                used =
                                    down ? bridge_in_use(ctx, l, err) : bridge_known(ctx, l, err);
                        else
                                continue;
                        if (used < 0) {
                                r = used;
                                break;
                        }
                        if (used) {
                                bridge_left = bridge_left || pass == 1;
                                continue;
                        }
                        r = nl_link_del(&nl, l, err);
                        if (r == -ENODEV)
                                r = 0;
                }
        nl_close(&nl);
        if (r == 0 && apply)
                r = net_nft_sync(ctx, err);
        if (r == 0 && apply)
                r = net_hosts_refresh(ctx, err);
        if (r == 0 && apply && !bridge_left) {
                /* Nothing of this root is left on the host: let the names go. */
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                r = db_prepare(ctx->db, "SELECT 1 FROM network_allocations LIMIT 1", &st, err);
                if (r == 0)
                        r = db_step(ctx->db, st, err);
                if (r == 0)
                        net_release_claims(ctx);
                r = r < 0 ? r : 0;
        }
        net_unlock(ctx);
        return r;
}

static int reconcile(struct net_ctx *ctx, bool apply, struct error *err)
{
        return reconcile_mode(ctx, apply, false, err);
}

int net_reconcile(struct net_ctx *ctx, struct error *err)
{
        return reconcile(ctx, true, err);
}

int net_down(struct net_ctx *ctx, struct error *err)
{
        return reconcile_mode(ctx, true, true, err);
}
