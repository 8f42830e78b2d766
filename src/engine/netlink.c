#include "engine/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/sys.h"
#include "core/util.h"

/* A request: header, family header, attributes. 4 KiB holds any we send. */
struct nlreq {
        union {
                struct nlmsghdr h;
                char buf[4096];
        };
};

static void *req_tail(struct nlreq *r)
{
        return r->buf + NLMSG_ALIGN(r->h.nlmsg_len);
}

static struct rtattr *attr_put(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
        struct rtattr *a = req_tail(r);
        size_t total = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_SPACE(len);
        if (total > sizeof(r->buf))
                abort(); /* a programming error: our requests are small and fixed */
        a->rta_type = type;
        a->rta_len = (unsigned short)RTA_LENGTH(len);
        if (len)
                memcpy(RTA_DATA(a), data, len);
        r->h.nlmsg_len = (uint32_t)total;
        return a;
}

static void attr_str(struct nlreq *r, unsigned short type, const char *s)
{
        attr_put(r, type, s, strlen(s) + 1);
}

static void attr_u32(struct nlreq *r, unsigned short type, uint32_t v)
{
        attr_put(r, type, &v, sizeof(v));
}

static struct rtattr *nest_begin(struct nlreq *r, unsigned short type)
{
        return attr_put(r, type, NULL, 0);
}

static void nest_end(struct nlreq *r, struct rtattr *nest)
{
        nest->rta_len = (unsigned short)((char *)req_tail(r) - (char *)nest);
}

static void req_init(struct nlreq *r, uint16_t type, uint16_t flags, const void *fam, size_t famlen)
{
        memset(r, 0, sizeof(*r));
        r->h.nlmsg_type = type;
        r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        r->h.nlmsg_len = (uint32_t)NLMSG_LENGTH(famlen);
        memcpy(NLMSG_DATA(&r->h), fam, famlen);
}

int nl_open(struct nl *nl, int netns_fd, const char *ns_shown, struct error *err)
{
        nl->fd = -1;
        nl->seq = (uint32_t)now_ms();
        nl->ns_shown = NULL;
        _cleanup_close_ int self = -EBADF;
        if (netns_fd >= 0) {
                /* A netlink socket belongs to the namespace it was created in:
                 * enter, create, come back. husk is single-threaded here. */
                self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
                if (self < 0)
                        return error_sys(err, -errno, "open '/proc/self/ns/net'");
                if (setns(netns_fd, CLONE_NEWNET) < 0)
                        return error_sys(err, -errno, "enter network namespace '%s'",
                                         ns_shown ? ns_shown : "?");
        }
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        int saved = errno;
        if (self >= 0 && setns(self, CLONE_NEWNET) < 0)
                abort(); /* cannot continue in the wrong namespace */
        if (fd < 0)
                return error_sys(err, -saved, "open rtnetlink socket");
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = error_sys(err, -errno, "bind rtnetlink socket");
                close(fd);
                return r;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        nl->fd = fd;
        if (netns_fd >= 0)
                nl->ns_shown = xstrdup(ns_shown ? ns_shown : "?");
        return 0;
}

void nl_close(struct nl *nl)
{
        if (nl->fd >= 0)
                close(nl->fd);
        nl->fd = -1;
        free(nl->ns_shown);
        nl->ns_shown = NULL;
}

/* "nsenter --net=PATH " when the socket is in another namespace. */
static const char *ns_prefix(struct nl *nl, char *buf, size_t len)
{
        if (!nl->ns_shown)
                return "";
        snprintf(buf, len, "nsenter --net=%s ", shq(nl->ns_shown));
        return buf;
}

/* Sends r and reads the answer: fn (if any) gets every message of it that is
 * not an error or the end; a negative return of fn ends with that error, a
 * positive one ends with that value. Returns 0 at the ack or the end of a
 * dump, or the kernel's negative errno. */
static int nl_exchange(struct nl *nl, struct nlreq *r, int (*fn)(struct nlmsghdr *h, void *u),
                       void *u)
{
        r->h.nlmsg_seq = ++nl->seq;
        if (send(nl->fd, r->buf, r->h.nlmsg_len, 0) < 0)
                return -errno;
        /* Larger than any dump skb the kernel builds (it sizes them from the
         * reader's buffer, up to 32 KiB); MSG_TRUNC reports a cut message. */
        const size_t size = 65536;
        _cleanup_free_ char *buf = xmalloc(size);
        for (;;) {
                ssize_t n = recv(nl->fd, buf, size, MSG_TRUNC);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if ((size_t)n > size)
                        return -EMSGSIZE;
                for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
                     h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_seq != nl->seq)
                                continue;
                        if (h->nlmsg_type == NLMSG_DONE)
                                return 0;
                        if (h->nlmsg_type == NLMSG_ERROR)
                                return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
                        int r2 = fn ? fn(h, u) : 0;
                        if (r2 != 0)
                                return r2;
                }
        }
}

/* Sends r and waits for its ack. Returns 0 or the kernel's negative errno. */
static int nl_talk(struct nl *nl, struct nlreq *r)
{
        return nl_exchange(nl, r, NULL, NULL);
}

/* Dumps with request r; calls fn for every message of the answer. */
static int nl_dump(struct nl *nl, struct nlreq *r, int (*fn)(struct nlmsghdr *h, void *u), void *u)
{
        r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        return nl_exchange(nl, r, fn, u);
}

static int link_index_of(struct nlmsghdr *h, void *u)
{
        (void)u;
        return h->nlmsg_type == RTM_NEWLINK ? ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_index : 0;
}

int nl_link_index(struct nl *nl, const char *name)
{
        if (strlen(name) >= IFNAMSIZ)
                return -ENODEV;
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        struct nlreq r;
        req_init(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
        r.h.nlmsg_flags = NLM_F_REQUEST; /* the answer is the link itself */
        attr_str(&r, IFLA_IFNAME, name);
        int idx = nl_exchange(nl, &r, link_index_of, NULL);
        return idx == 0 ? -EPROTO : idx;
}

static int need_index(struct nl *nl, const char *name, struct error *err)
{
        int idx = nl_link_index(nl, name);
        if (idx < 0)
                return error_sys(err, idx, "find link '%s'", name);
        return idx;
}

static int link_new(struct nl *nl, const char *name, const char *kind, const char *peer,
                    unsigned mtu, struct error *err)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        struct nlreq r;
        req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
        attr_str(&r, IFLA_IFNAME, name);
        if (mtu)
                attr_u32(&r, IFLA_MTU, mtu);
        struct rtattr *li = nest_begin(&r, IFLA_LINKINFO);
        attr_str(&r, IFLA_INFO_KIND, kind);
        if (peer) {
                struct rtattr *data = nest_begin(&r, IFLA_INFO_DATA);
                struct rtattr *p = nest_begin(&r, VETH_INFO_PEER);
                struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
                /* The peer's ifinfomsg sits at the start of the nested attribute. */
                memcpy(req_tail(&r), &pifi, sizeof(pifi));
                r.h.nlmsg_len += NLMSG_ALIGN(sizeof(pifi));
                attr_str(&r, IFLA_IFNAME, peer);
                if (mtu)
                        attr_u32(&r, IFLA_MTU, mtu);
                nest_end(&r, p);
                nest_end(&r, data);
        }
        nest_end(&r, li);
        char mtus[32] = "";
        if (mtu)
                snprintf(mtus, sizeof(mtus), " mtu %u", mtu);
        char pre[512];
        if (peer)
                explain("%sip link add %s%s type veth peer name %s%s",
                        ns_prefix(nl, pre, sizeof(pre)), shq(name), mtus, shq(peer), mtus);
        else
                explain("%sip link add %s%s type %s", ns_prefix(nl, pre, sizeof(pre)), shq(name),
                        mtus, kind);
        int rc = nl_talk(nl, &r);
        if (rc < 0)
                return error_sys(err, rc, "ip link add '%s' type %s", name, kind);
        return 0;
}

int nl_bridge_add(struct nl *nl, const char *name, unsigned mtu, struct error *err)
{
        return link_new(nl, name, "bridge", NULL, mtu, err);
}

int nl_veth_add(struct nl *nl, const char *name, const char *peer, unsigned mtu, struct error *err)
{
        return link_new(nl, name, "veth", peer, mtu, err);
}

/* RTM_NEWLINK on an existing link (by index) with the attributes put by fill. */
static int link_change(struct nl *nl, const char *name, unsigned flags, unsigned change,
                       struct nlreq *r, int idx)
{
        struct ifinfomsg *ifi = NLMSG_DATA(&r->h);
        ifi->ifi_index = idx;
        ifi->ifi_flags = flags;
        ifi->ifi_change = change;
        (void)name;
        return nl_talk(nl, r);
}

static void link_req(struct nlreq *r)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        req_init(r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
}

int nl_link_set_netns(struct nl *nl, const char *name, int netns_fd, const char *ns_shown,
                      struct error *err)
{
        int idx = need_index(nl, name, err);
        if (idx < 0)
                return idx;
        struct nlreq r;
        link_req(&r);
        attr_u32(&r, IFLA_NET_NS_FD, (uint32_t)netns_fd);
        char pre[512];
        /* ip(8) takes a netns name or a pid; a path is reached through nsenter's fd. */
        explain("%sip link set %s netns %s", ns_prefix(nl, pre, sizeof(pre)), shq(name),
                shq(ns_shown));
        int rc = link_change(nl, name, 0, 0, &r, idx);
        if (rc < 0)
                return error_sys(err, rc, "move link '%s' into network namespace '%s'", name,
                                 ns_shown);
        return 0;
}

int nl_link_rename(struct nl *nl, const char *name, const char *newname, struct error *err)
{
        int idx = need_index(nl, name, err);
        if (idx < 0)
                return idx;
        struct nlreq r;
        link_req(&r);
        attr_str(&r, IFLA_IFNAME, newname);
        char pre[512];
        explain("%sip link set %s name %s", ns_prefix(nl, pre, sizeof(pre)), shq(name),
                shq(newname));
        int rc = link_change(nl, name, 0, 0, &r, idx);
        if (rc < 0)
                return error_sys(err, rc, "rename link '%s' to '%s'", name, newname);
        return 0;
}

int nl_link_set_mac(struct nl *nl, const char *name, const uint8_t mac[6], struct error *err)
{
        int idx = need_index(nl, name, err);
        if (idx < 0)
                return idx;
        struct nlreq r;
        link_req(&r);
        attr_put(&r, IFLA_ADDRESS, mac, 6);
        char pre[512];
        explain("%sip link set %s address %02x:%02x:%02x:%02x:%02x:%02x",
                ns_prefix(nl, pre, sizeof(pre)), shq(name), mac[0], mac[1], mac[2], mac[3], mac[4],
                mac[5]);
        int rc = link_change(nl, name, 0, 0, &r, idx);
        if (rc < 0)
                return error_sys(err, rc, "set the MAC address of link '%s'", name);
        return 0;
}

int nl_link_set_mtu(struct nl *nl, const char *name, unsigned mtu, struct error *err)
{
        int idx = need_index(nl, name, err);
        if (idx < 0)
                return idx;
        struct nlreq r;
        link_req(&r);
        attr_u32(&r, IFLA_MTU, mtu);
        char pre[512];
        explain("%sip link set %s mtu %u", ns_prefix(nl, pre, sizeof(pre)), shq(name), mtu);
        int rc = link_change(nl, name, 0, 0, &r, idx);
        if (rc < 0)
                return error_sys(err, rc, "set the MTU of link '%s' to %u", name, mtu);
        return 0;
}

int nl_link_set_master(struct nl *nl, const char *name, const char *master, struct error *err)
{
        int idx = need_index(nl, name, err);
        if (idx < 0)
                return idx;
        int midx = need_index(nl, master, err);
        if (midx < 0)
                return midx;
        struct nlreq r;
        link_req(&r);
        attr_u32(&r, IFLA_MASTER, (uint32_t)midx);
        char pre[512];
        explain("%sip link set %s master %s", ns_prefix(nl, pre, sizeof(pre)), shq(name),
                shq(master));
        int rc = link_change(nl, name, 0, 0, &r, idx);
        if (rc < 0)
                return error_sys(err, rc, "attach link '%s' to bridge '%s'", name, master);
        return 0;
}

int nl_link_up(struct nl *nl, const char *name, struct error *err)
{
        int idx = need_index(nl, name, err);
        if (idx < 0)
                return idx;
        struct nlreq r;
        link_req(&r);
        char pre[512];
        explain("%sip link set %s up", ns_prefix(nl, pre, sizeof(pre)), shq(name));
        int rc = link_change(nl, name, IFF_UP, IFF_UP, &r, idx);
        if (rc < 0)
                return error_sys(err, rc, "set link '%s' up", name);
        return 0;
}

/* speed: one RTM_NEWLINK makes the pair with the host side in the bridge
 * and up, and the peer born in the container's namespace with its final
 * name and MAC. Moving a link to another namespace afterwards waits for an
 * RCU grace period in the kernel (~25 ms here), and a rename and a MAC change
 * are two more requests. (The peer cannot be set up in the same request: the
 * kernel opens it before the pair is joined, ENOTCONN.) */
int nl_veth_add_in_ns(struct nl *nl, const struct nl_veth_in_ns *v, struct error *err)
{
        int midx = need_index(nl, v->master, err);
        if (midx < 0)
                return midx;
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
        struct nlreq r;
        req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof(ifi));
        attr_str(&r, IFLA_IFNAME, v->name);
        attr_u32(&r, IFLA_MTU, v->mtu);
        attr_u32(&r, IFLA_MASTER, (uint32_t)midx);
        struct rtattr *li = nest_begin(&r, IFLA_LINKINFO);
        attr_str(&r, IFLA_INFO_KIND, "veth");
        struct rtattr *data = nest_begin(&r, IFLA_INFO_DATA);
        struct rtattr *p = nest_begin(&r, VETH_INFO_PEER);
        struct ifinfomsg pifi = {.ifi_family = AF_UNSPEC};
        memcpy(req_tail(&r), &pifi, sizeof(pifi));
        r.h.nlmsg_len += NLMSG_ALIGN(sizeof(pifi));
        attr_str(&r, IFLA_IFNAME, v->peer);
        attr_u32(&r, IFLA_MTU, v->mtu);
        attr_put(&r, IFLA_ADDRESS, v->mac, 6);
        attr_u32(&r, IFLA_NET_NS_FD, (uint32_t)v->netns_fd);
        nest_end(&r, p);
        nest_end(&r, data);
        nest_end(&r, li);
        const uint8_t *m = v->mac;
        char pre[512];
        explain("%sip link add %s mtu %u master %s up type veth peer name %s mtu %u address "
                "%02x:%02x:%02x:%02x:%02x:%02x netns %s",
                ns_prefix(nl, pre, sizeof(pre)), shq(v->name), v->mtu, shq(v->master), shq(v->peer),
                v->mtu, m[0], m[1], m[2], m[3], m[4], m[5], shq(v->ns_shown));
        int rc = nl_talk(nl, &r);
        if (rc < 0)
                return error_sys(err, rc, "ip link add '%s' type veth peer '%s' in '%s'", v->name,
                                 v->peer, v->ns_shown);
        return 0;
}

int nl_link_del(struct nl *nl, const char *name, struct error *err)
{
        int idx = nl_link_index(nl, name);
        if (idx < 0)
                return error_sys(err, idx, "delete link '%s'", name);
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = idx};
        struct nlreq r;
        req_init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
        char pre[512];
        explain("%sip link del %s", ns_prefix(nl, pre, sizeof(pre)), shq(name));
        int rc = nl_talk(nl, &r);
        if (rc < 0)
                return error_sys(err, rc, "delete link '%s'", name);
        return 0;
}

int nl_addr_add(struct nl *nl, const char *dev, struct in_addr addr, unsigned prefixlen,
                struct error *err)
{
        int idx = need_index(nl, dev, err);
        if (idx < 0)
                return idx;
        struct ifaddrmsg ifa = {.ifa_family = AF_INET,
                                .ifa_prefixlen = (unsigned char)prefixlen,
                                .ifa_index = (unsigned)idx};
        struct nlreq r;
        req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
        attr_put(&r, IFA_LOCAL, &addr, sizeof(addr));
        attr_put(&r, IFA_ADDRESS, &addr, sizeof(addr));
        struct in_addr brd = addr;
        if (prefixlen < 31) {
                brd.s_addr = htonl(ntohl(addr.s_addr) | (0xffffffffu >> prefixlen));
                attr_put(&r, IFA_BROADCAST, &brd, sizeof(brd));
        }
        char a[INET_ADDRSTRLEN], pre[512];
        inet_ntop(AF_INET, &addr, a, sizeof(a));
        explain("%sip addr add %s/%u%s dev %s", ns_prefix(nl, pre, sizeof(pre)), a, prefixlen,
                prefixlen < 31 ? " brd +" : "", shq(dev));
        int rc = nl_talk(nl, &r);
        if (rc < 0)
                return error_sys(err, rc, "add address %s/%u to '%s'", a, prefixlen, dev);
        return 0;
}

int nl_route_add_default(struct nl *nl, struct in_addr gateway, const char *dev, struct error *err)
{
        int idx = need_index(nl, dev, err);
        if (idx < 0)
                return idx;
        struct rtmsg rtm = {.rtm_family = AF_INET,
                            .rtm_table = RT_TABLE_MAIN,
                            .rtm_protocol = RTPROT_BOOT,
                            .rtm_scope = RT_SCOPE_UNIVERSE,
                            .rtm_type = RTN_UNICAST};
        struct nlreq r;
        req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
        attr_put(&r, RTA_GATEWAY, &gateway, sizeof(gateway));
        attr_u32(&r, RTA_OIF, (uint32_t)idx);
        char g[INET_ADDRSTRLEN], pre[512];
        inet_ntop(AF_INET, &gateway, g, sizeof(g));
        explain("%sip route add default via %s dev %s", ns_prefix(nl, pre, sizeof(pre)), g,
                shq(dev));
        int rc = nl_talk(nl, &r);
        if (rc < 0)
                return error_sys(err, rc, "add default route via %s dev '%s'", g, dev);
        return 0;
}

static int collect_name(struct nlmsghdr *h, void *u)
{
        char ***v = u;
        if (h->nlmsg_type != RTM_NEWLINK)
                return 0;
        struct ifinfomsg *ifi = NLMSG_DATA(h);
        int len = (int)IFLA_PAYLOAD(h);
        for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFLA_IFNAME)
                        *v = strv_push(*v, xstrndup(RTA_DATA(a), RTA_PAYLOAD(a)));
        return 0;
}

int nl_link_names(struct nl *nl, char ***ret, struct error *err)
{
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
        struct nlreq r;
        req_init(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
        char **v = NULL;
        int rc = nl_dump(nl, &r, collect_name, &v);
        if (rc < 0) {
                strv_free(v);
                return error_sys(err, rc, "list links");
        }
        *ret = v;
        return 0;
}

struct addr_list {
        struct nl_addr4 *v;
        size_t n;
};

static void addr_list_push(struct addr_list *l, struct in_addr a, unsigned plen)
{
        l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
        l->v[l->n++] = (struct nl_addr4){a, plen};
}

static int collect_addr(struct nlmsghdr *h, void *u)
{
        if (h->nlmsg_type != RTM_NEWADDR)
                return 0;
        struct ifaddrmsg *ifa = NLMSG_DATA(h);
        if (ifa->ifa_family != AF_INET)
                return 0;
        int len = (int)IFA_PAYLOAD(h);
        for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == IFA_LOCAL && RTA_PAYLOAD(a) == 4) {
                        struct in_addr in;
                        memcpy(&in, RTA_DATA(a), 4);
                        addr_list_push(u, in, ifa->ifa_prefixlen);
                }
        return 0;
}

/* Dumps with request r and collects the IPv4 prefixes `collect` picks. */
static int addr4_dump(struct nl *nl, struct nlreq *r, int (*collect)(struct nlmsghdr *, void *),
                      const char *what, struct nl_addr4 **ret, size_t *ret_n, struct error *err)
{
        struct addr_list l = {0};
        int rc = nl_dump(nl, r, collect, &l);
        if (rc < 0) {
                free(l.v);
                return error_sys(err, rc, "%s", what);
        }
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}

int nl_addr4_list(struct nl *nl, struct nl_addr4 **ret, size_t *ret_n, struct error *err)
{
        struct ifaddrmsg ifa = {.ifa_family = AF_INET};
        struct nlreq r;
        req_init(&r, RTM_GETADDR, 0, &ifa, sizeof(ifa));
        return addr4_dump(nl, &r, collect_addr, "list addresses", ret, ret_n, err);
}

static int collect_route(struct nlmsghdr *h, void *u)
{
        if (h->nlmsg_type != RTM_NEWROUTE)
                return 0;
        struct rtmsg *rtm = NLMSG_DATA(h);
        if (rtm->rtm_family != AF_INET || rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_dst_len == 0)
                return 0;
        int len = (int)RTM_PAYLOAD(h);
        for (struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len))
                if (a->rta_type == RTA_DST && RTA_PAYLOAD(a) == 4) {
                        struct in_addr in;
                        memcpy(&in, RTA_DATA(a), 4);
                        addr_list_push(u, in, rtm->rtm_dst_len);
                }
        return 0;
}

int nl_route4_list(struct nl *nl, struct nl_addr4 **ret, size_t *ret_n, struct error *err)
{
        struct rtmsg rtm = {.rtm_family = AF_INET};
        struct nlreq r;
        req_init(&r, RTM_GETROUTE, 0, &rtm, sizeof(rtm));
        return addr4_dump(nl, &r, collect_route, "list routes", ret, ret_n, err);
}
