#include "engine/nft-comment.h"

#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"

/* libnftnl's user data: a list of {u8 type, u8 len, value}; type 0 of a
 * table is its comment, NUL-terminated. */
#define UDATA_TABLE_COMMENT 0

static void comment_from_udata(const unsigned char *p, size_t n, char *buf, size_t len)
{
        while (n >= 2) {
                size_t l = p[1];
                if (l + 2 > n)
                        return;
                if (p[0] == UDATA_TABLE_COMMENT) {
                        size_t c = strnlen((const char *)p + 2, l);
                        if (c >= len)
                                c = len - 1;
                        memcpy(buf, p + 2, c);
                        buf[c] = '\0';
                        return;
                }
                p += l + 2;
                n -= l + 2;
        }
}

static int parse_table(struct nlmsghdr *h, char *buf, size_t len)
{
        size_t hl = NLMSG_SPACE(sizeof(struct nfgenmsg));
        if (h->nlmsg_len < hl)
                return -EPROTO;
        struct nlattr *a = (struct nlattr *)((char *)h + hl);
        size_t rem = h->nlmsg_len - hl;
        while (rem >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= rem) {
                if ((a->nla_type & NLA_TYPE_MASK) == NFTA_TABLE_USERDATA)
                        comment_from_udata((const unsigned char *)a + NLA_HDRLEN,
                                           a->nla_len - NLA_HDRLEN, buf, len);
                size_t step = NLA_ALIGN(a->nla_len);
                if (step > rem)
                        break;
                rem -= step;
                a = (struct nlattr *)((char *)a + step);
        }
        return 0;
}

int nft_table_comment(const char *name, char *buf, size_t len)
{
        if (!len)
                return -EINVAL;
        buf[0] = '\0';
        size_t nl = strlen(name) + 1;
        if (nl > NFT_TABLE_MAXNAMELEN)
                return -ENOENT;
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (fd < 0)
                return -errno;
        struct {
                struct nlmsghdr h;
                struct nfgenmsg g;
                struct nlattr a;
                char name[NFT_TABLE_MAXNAMELEN + 4];
        } req;
        memset(&req, 0, sizeof(req));
        req.h.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
        req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        req.h.nlmsg_seq = 1;
        req.g.nfgen_family = NFPROTO_IPV4;
        req.g.version = NFNETLINK_V0;
        req.a.nla_type = NFTA_TABLE_NAME;
        req.a.nla_len = (uint16_t)(NLA_HDRLEN + nl);
        memcpy(req.name, name, nl);
        req.h.nlmsg_len = (uint32_t)(NLMSG_SPACE(sizeof(req.g)) + NLA_ALIGN(req.a.nla_len));
        if (send(fd, &req, req.h.nlmsg_len, 0) < 0)
                return -errno;
        /* The table message, then the ack (or just an error). */
        char rbuf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
        int found = 0;
        for (;;) {
                ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n);
                     h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                struct nlmsgerr *e = NLMSG_DATA(h);
                                if (e->error)
                                        return e->error;
                                return found ? 0 : -ENOENT;
                        }
                        if (h->nlmsg_type == NLMSG_DONE)
                                return found ? 0 : -ENOENT;
                        if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) {
                                int r = parse_table(h, buf, len);
                                if (r < 0)
                                        return r;
                                found = 1;
                        }
                }
        }
}
