/* Network records: the store, subnets, ids, the default network, port specs. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "engine/network-internal.h"

uint32_t net_mask(unsigned prefixlen)
{
        return prefixlen == 0 ? 0 : 0xffffffffu << (32 - prefixlen);
}

bool net_overlaps(struct in_addr a, unsigned alen, struct in_addr b, unsigned blen)
{
        unsigned len = alen < blen ? alen : blen;
        uint32_t m = net_mask(len);
        return (ntohl(a.s_addr) & m) == (ntohl(b.s_addr) & m);
}

void net_ntoa(struct in_addr a, char buf[16])
{
        inet_ntop(AF_INET, &a, buf, 16);
}

static int parse_ip(const char *s, struct in_addr *ret)
{
        return inet_pton(AF_INET, s, ret) == 1 ? 0 : -EINVAL;
}

int net_parse_subnet(const char *s, struct in_addr *ret, unsigned *ret_len, struct error *err)
{
        const char *slash = strchr(s, '/');
        uint64_t len;
        if (!slash || parse_u64(slash + 1, &len) < 0 || len > 32)
                return error_msg(err, -EINVAL,
                                 "invalid subnet '%s': expected an IPv4 CIDR like "
                                 "10.1.2.0/24",
                                 s);
        _cleanup_free_ char *ip = xstrndup(s, (size_t)(slash - s));
        struct in_addr a;
        if (parse_ip(ip, &a) < 0)
                return error_msg(err, -EINVAL, "invalid subnet '%s': '%s' is not an IPv4 address",
                                 s, ip);
        if (len < 8 || len > 30)
                return error_msg(err, -EINVAL,
                                 "invalid subnet '%s': the prefix length must be between 8 and 30",
                                 s);
        uint32_t h = ntohl(a.s_addr);
        if (h & ~net_mask((unsigned)len)) {
                char b[16];
                struct in_addr n = {htonl(h & net_mask((unsigned)len))};
                net_ntoa(n, b);
                return error_msg(err, -EINVAL,
                                 "invalid subnet '%s': host bits are set (did you "
                                 "mean %s/%u?)",
                                 s, b, (unsigned)len);
        }
        *ret = a;
        *ret_len = (unsigned)len;
        return 0;
}

static bool valid_chars(const char *s, const char *extra)
{
        for (; *s; s++)
                if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
                    !strchr(extra, *s))
                        return false;
        return true;
}

int net_open(const char *root, struct net_ctx **ret, struct error *err)
{
        _cleanup_(net_closep) struct net_ctx *ctx = xzalloc(sizeof(*ctx));
        ctx->lockfd = -1;
        ctx->root = xstrdup(root);
        const char *p = getenv("HUSK_NET_PREFIX"), *t = getenv("HUSK_NFT_TABLE");
        ctx->prefix = xstrdup(p && *p ? p : "husk");
        ctx->table = xstrdup(t && *t ? t : "husk");
        if (strlen(ctx->prefix) > 6 || !valid_chars(ctx->prefix, ""))
                return error_msg(
                    err, -EINVAL,
                    "HUSK_NET_PREFIX '%s': expected 1 to 6 lowercase letters or digits",
                    ctx->prefix);
        if (strlen(ctx->table) > 32 || !valid_chars(ctx->table, "_"))
                return error_msg(err, -EINVAL,
                                 "HUSK_NFT_TABLE '%s': expected 1 to 32 lowercase letters, digits "
                                 "or '_'",
                                 ctx->table);
        const char *d = getenv("HUSK_DEFAULT_SUBNET");
        int r = net_parse_subnet(d && *d ? d : "10.89.0.0/16", &ctx->def_subnet,
                                 &ctx->def_prefixlen, err);
        if (r < 0)
                return error_wrap(err, r, "HUSK_DEFAULT_SUBNET");
        if (mkdir(root, 0700) < 0 && errno != EEXIST)
                return error_sys(err, -errno, "create '%s'", root);
        _cleanup_free_ char *dbpath = xasprintf("%s/husk.db", root);
        r = db_open(dbpath, &ctx->db, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *lock = xasprintf("%s/network.lock", root);
        ctx->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (ctx->lockfd < 0)
                return error_sys(err, -errno, "open '%s'", lock);
        *ret = TAKE_PTR(ctx);
        return 0;
}

void net_close(struct net_ctx *ctx)
{
        if (!ctx)
                return;
        db_close(ctx->db);
        if (ctx->lockfd >= 0)
                close(ctx->lockfd);
        free(ctx->root);
        free(ctx->prefix);
        free(ctx->table);
        free(ctx);
}

const char *net_table(const struct net_ctx *ctx)
{
        return ctx->table;
}

const char *net_prefix(const struct net_ctx *ctx)
{
        return ctx->prefix;
}

/* One husk root owns a link prefix and an nft table on a host: reconciling
 * deletes every link and rule of the prefix and table that its own database
 * does not know, so a second root with the same ones would destroy the
 * first one's. The claim is a file under /run naming the root; a claim by a
 * root whose database is gone is taken over. */
static int claim(struct net_ctx *ctx, const char *kind, const char *name, const char *env,
                 struct error *err)
{
        if (mkdir("/run/husk-net", 0700) < 0 && errno != EEXIST)
                return error_sys(err, -errno, "create '/run/husk-net'");
        _cleanup_free_ char *path = xasprintf("/run/husk-net/%s-%s", kind, name);
        _cleanup_free_ char *cur = NULL;
        int r = read_file_at(AT_FDCWD, path, 8192, &cur, NULL);
        if (r == 0 && strcmp(cur, ctx->root) == 0)
                return 0;
        if (r == 0) {
                _cleanup_free_ char *db = xasprintf("%s/husk.db", cur);
                if (access(db, F_OK) == 0)
                        return error_msg(err, -EBUSY,
                                         "%s '%s' belongs to the husk root '%s': set %s to use "
                                         "another one with this root",
                                         kind, name, cur, env);
        } else if (r != -ENOENT) {
                return error_sys(err, r, "read '%s'", path);
        }
        _cleanup_close_ int dfd = open("/run/husk-net", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return error_sys(err, -errno, "open '/run/husk-net'");
        _cleanup_free_ char *base = xasprintf("%s-%s", kind, name);
        r = write_file_atomic(dfd, base, ctx->root, strlen(ctx->root), 0600);
        if (r < 0)
                return error_sys(err, r, "write '%s'", path);
        return 0;
}

int net_claim(struct net_ctx *ctx, struct error *err)
{
        int r = claim(ctx, "links", ctx->prefix, "HUSK_NET_PREFIX", err);
        if (r == 0)
                r = claim(ctx, "nft", ctx->table, "HUSK_NFT_TABLE", err);
        return r;
}

void net_release_claims(struct net_ctx *ctx)
{
        const char *kinds[][2] = {{"links", ctx->prefix}, {"nft", ctx->table}};
        for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
                _cleanup_free_ char *path =
                    xasprintf("/run/husk-net/%s-%s", kinds[i][0], kinds[i][1]);
                _cleanup_free_ char *cur = NULL;
                if (read_file_at(AT_FDCWD, path, 8192, &cur, NULL) == 0 &&
                    strcmp(cur, ctx->root) == 0)
                        (void)unlink(path);
        }
}

int net_lock(struct net_ctx *ctx, struct error *err)
{
        if (ctx->locked++)
                return 0;
        while (flock(ctx->lockfd, LOCK_EX) < 0) {
                if (errno == EINTR)
                        continue;
                ctx->locked = 0;
                return error_sys(err, -errno, "lock '%s/network.lock'", ctx->root);
        }
        /* Under the lock: two husk processes of one root claim together. */
        int r = net_claim(ctx, err);
        if (r < 0) {
                ctx->locked = 0;
                (void)flock(ctx->lockfd, LOCK_UN);
        }
        return r;
}

void net_unlock(struct net_ctx *ctx)
{
        if (ctx->locked > 0 && --ctx->locked == 0)
                (void)flock(ctx->lockfd, LOCK_UN);
}

void network_free(struct network *n)
{
        if (!n)
                return;
        free(n->id);
        free(n->name);
        free(n->driver);
        free(n->bridge);
        free(n);
}

void network_list_free(struct network **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                network_free(v[i]);
        free(v);
}

#define NET_COLS "id, name, driver, subnet, gateway, internal, bridge, created"

static int row_network(sqlite3_stmt *st, struct network **ret, struct error *err)
{
        _cleanup_(network_freep) struct network *n = xzalloc(sizeof(*n));
        n->id = db_col_str(st, 0);
        n->name = db_col_str(st, 1);
        n->driver = db_col_str(st, 2);
        _cleanup_free_ char *subnet = db_col_str(st, 3), *gw = db_col_str(st, 4);
        n->internal = sqlite3_column_int(st, 5) != 0;
        n->bridge = db_col_str(st, 6);
        n->created = sqlite3_column_int64(st, 7);
        int r = net_parse_subnet(subnet ? subnet : "", &n->subnet, &n->prefixlen, err);
        if (r < 0)
                return error_wrap(err, r, "network '%s' in the store", n->name);
        if (!gw || parse_ip(gw, &n->gateway) < 0)
                return error_msg(err, -EINVAL, "network '%s' in the store: bad gateway", n->name);
        *ret = TAKE_PTR(n);
        return 0;
}

static int network_query(struct net_ctx *ctx, const char *sql, const char *arg,
                         struct network ***ret, size_t *ret_n, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db, sql, &st, err);
        if (r < 0)
                return r;
        if (arg)
                sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
        struct network **v = NULL;
        size_t n = 0;
        while ((r = db_step(ctx->db, st, err)) > 0) {
                struct network *net = NULL;
                r = row_network(st, &net, err);
                if (r < 0)
                        break;
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = net;
        }
        if (r < 0) {
                network_list_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static void random_hex(char *buf, size_t nhex)
{
        uint8_t b[32];
        size_t nb = (nhex + 1) / 2;
        if (getrandom(b, nb, 0) != (ssize_t)nb)
                abort(); /* the kernel's CSPRNG does not fail for <= 256 bytes */
        for (size_t i = 0; i < nhex; i++)
                buf[i] = "0123456789abcdef"[(b[i / 2] >> (i % 2 ? 0 : 4)) & 15];
        buf[nhex] = '\0';
}

/* Subnets that are taken: every husk network's and every IPv4 route and
 * address on the host (the bridges of other husk roots among them). */
static bool subnet_taken(struct network **nets, size_t n, const struct nl_addr4 *host, size_t nh,
                         struct in_addr s, unsigned len, const char **what)
{
        for (size_t i = 0; i < n; i++)
                if (net_overlaps(nets[i]->subnet, nets[i]->prefixlen, s, len)) {
                        *what = nets[i]->name;
                        return true;
                }
        for (size_t i = 0; i < nh; i++)
                if (net_overlaps(host[i].addr, host[i].prefixlen, s, len)) {
                        *what = NULL;
                        return true;
                }
        return false;
}

static int host_nets(struct nl_addr4 **ret, size_t *ret_n, struct error *err)
{
        struct nl nl;
        int r = nl_open(&nl, -1, NULL, err);
        if (r < 0)
                return r;
        struct nl_addr4 *a = NULL, *rt = NULL;
        size_t na = 0, nr = 0;
        r = nl_addr4_list(&nl, &a, &na, err);
        if (r == 0)
                r = nl_route4_list(&nl, &rt, &nr, err);
        nl_close(&nl);
        if (r < 0) {
                free(a);
                return r;
        }
        a = xrealloc(a, (na + nr + 1) * sizeof(*a));
        for (size_t i = 0; i < nr; i++)
                /* 127/8 is on lo; link-local routes and the like all count */
                a[na + i] = rt[i];
        free(rt);
        *ret = a;
        *ret_n = na + nr;
        return 0;
}

int net_check_host_overlap(struct net_ctx *ctx, const struct network *net, struct error *err)
{
        (void)ctx;
        _cleanup_free_ struct nl_addr4 *host = NULL;
        size_t nh = 0;
        int r = host_nets(&host, &nh, err);
        if (r < 0)
                return r;
        const char *what;
        if (subnet_taken(NULL, 0, host, nh, net->subnet, net->prefixlen, &what)) {
                char s[16];
                net_ntoa(net->subnet, s);
                return error_msg(err, -EADDRINUSE,
                                 "subnet %s/%u of network '%s' overlaps an address or route of "
                                 "this host",
                                 s, net->prefixlen, net->name);
        }
        return 0;
}

static bool valid_name(const char *s)
{
        /* docker's [a-zA-Z0-9][a-zA-Z0-9_.-]* */
        if (!*s || !isalnum((unsigned char)*s) || strlen(s) > 64)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
                        return false;
        return true;
}

static int network_insert(struct net_ctx *ctx, const char *name, struct in_addr subnet,
                          unsigned len, const char *gateway, bool internal, bool is_default,
                          struct network **ret, struct error *err)
{
        if (!valid_name(name))
                return error_msg(
                    err, -EINVAL,
                    "invalid network name '%s': use letters, digits, '_', '.' and '-', "
                    "starting with a letter or digit (at most 64)",
                    name);
        _cleanup_(network_freep) struct network *n = xzalloc(sizeof(*n));
        n->id = xmalloc(65);
        random_hex(n->id, 64);
        n->name = xstrdup(name);
        n->driver = xstrdup("bridge");
        n->subnet = subnet;
        n->prefixlen = len;
        n->internal = internal;
        n->created = (int64_t)time(NULL);
        n->bridge =
            is_default ? xasprintf("%s0", ctx->prefix) : xasprintf("%s-%.8s", ctx->prefix, n->id);
        uint32_t base = ntohl(subnet.s_addr), bcast = base | ~net_mask(len);
        if (gateway) {
                if (parse_ip(gateway, &n->gateway) < 0)
                        return error_msg(err, -EINVAL, "invalid gateway '%s': not an IPv4 address",
                                         gateway);
                uint32_t g = ntohl(n->gateway.s_addr);
                if ((g & net_mask(len)) != base || g == base || g == bcast)
                        return error_msg(err, -EINVAL,
                                         "gateway '%s' is not a host address of the subnet",
                                         gateway);
        } else {
                n->gateway.s_addr = htonl(base + 1);
        }
        char s[16], g[16];
        net_ntoa(subnet, s);
        net_ntoa(n->gateway, g);
        _cleanup_free_ char *cidr = xasprintf("%s/%u", s, len);
        _cleanup_free_ char *created = xasprintf("%lld", (long long)n->created);
        int r = db_run(ctx->db,
                       "INSERT INTO networks (id, name, driver, subnet, gateway, internal, bridge, "
                       "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                       err, 8, n->id, n->name, n->driver, cidr, g, internal ? "1" : "0", n->bridge,
                       created);
        if (r == -EEXIST)
                return error_msg(err, r, "network with name '%s' already exists", name);
        if (r < 0)
                return r;
        if (ret)
                *ret = TAKE_PTR(n);
        return 0;
}

static int ensure_default(struct net_ctx *ctx, struct error *err);

int net_network_create(struct net_ctx *ctx, const struct net_create_opts *o, struct network **ret,
                       struct error *err)
{
        if (strcmp(o->name, NET_DEFAULT_NAME) == 0 || strcmp(o->name, "host") == 0 ||
            strcmp(o->name, "none") == 0 || strcmp(o->name, "bridge") == 0)
                return error_msg(err, -EEXIST, "network name '%s' is reserved", o->name);
        struct in_addr subnet = {0};
        unsigned len = 0;
        if (o->subnet) {
                int r = net_parse_subnet(o->subnet, &subnet, &len, err);
                if (r < 0)
                        return r;
        } else if (o->gateway) {
                return error_msg(err, -EINVAL, "--gateway needs --subnet");
        }
        /* The default network's subnet is taken even before its first use. */
        int r = ensure_default(ctx, err);
        if (r < 0)
                return r;
        _cleanup_free_ struct nl_addr4 *host = NULL;
        size_t nh = 0;
        r = host_nets(&host, &nh, err);
        if (r < 0)
                return r;
        r = db_begin(ctx->db, err);
        if (r < 0)
                return r;
        struct network **nets = NULL;
        size_t n = 0;
        r = network_query(ctx, "SELECT " NET_COLS " FROM networks", NULL, &nets, &n, err);
        if (r < 0)
                goto out;
        const char *what = NULL;
        if (o->subnet) {
                if (subnet_taken(nets, n, host, nh, subnet, len, &what)) {
                        r = what ? error_msg(err, -EADDRINUSE, "subnet '%s' overlaps network '%s'",
                                             o->subnet, what)
                                 : error_msg(err, -EADDRINUSE,
                                             "subnet '%s' overlaps an address or route of this "
                                             "host",
                                             o->subnet);
                        goto out;
                }
        } else {
                /* The first free 10.90.N.0/24: clear of the default 10.89.0.0/16. */
                bool found = false;
                for (unsigned i = 1; i < 256 && !found; i++) {
                        struct in_addr c = {htonl((10u << 24) | (90u << 16) | (i << 8))};
                        if (!subnet_taken(nets, n, host, nh, c, 24, &what) &&
                            !net_overlaps(ctx->def_subnet, ctx->def_prefixlen, c, 24)) {
                                subnet = c;
                                len = 24;
                                found = true;
                        }
                }
                if (!found) {
                        r = error_msg(err, -ENOSPC,
                                      "no free subnet in 10.90.0.0/16: give one with --subnet");
                        goto out;
                }
        }
        r = network_insert(ctx, o->name, subnet, len, o->gateway, o->internal, false, ret, err);
out:
        network_list_free(nets, n);
        if (r < 0) {
                db_rollback(ctx->db);
                return r;
        }
        return db_commit(ctx->db, err);
}

static int ensure_default(struct net_ctx *ctx, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db, "SELECT 1 FROM networks WHERE name = ?1", &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, NET_DEFAULT_NAME, -1, SQLITE_STATIC);
        r = db_step(ctx->db, st, err);
        if (r != 0)
                return r < 0 ? r : 0;
        r = db_begin(ctx->db, err);
        if (r < 0)
                return r;
        r = network_insert(ctx, NET_DEFAULT_NAME, ctx->def_subnet, ctx->def_prefixlen, NULL, false,
                           true, NULL, err);
        if (r == -EEXIST) { /* another husk made it first */
                db_rollback(ctx->db);
                return 0;
        }
        if (r < 0) {
                db_rollback(ctx->db);
                return error_wrap(err, r, "create the default network '%s'", NET_DEFAULT_NAME);
        }
        return db_commit(ctx->db, err);
}

int net_network_get(struct net_ctx *ctx, const char *ref, struct network **ret, struct error *err)
{
        if (strcmp(ref, NET_DEFAULT_NAME) == 0) {
                int r = ensure_default(ctx, err);
                if (r < 0)
                        return r;
        }
        struct network **v = NULL;
        size_t n = 0;
        int r = network_query(ctx, "SELECT " NET_COLS " FROM networks WHERE name = ?1", ref, &v, &n,
                              err);
        if (r == 0 && n == 0 && *ref && strlen(ref) <= 64 && valid_chars(ref, "")) {
                _cleanup_free_ char *like = xasprintf("%s%%", ref);
                r = network_query(ctx, "SELECT " NET_COLS " FROM networks WHERE id LIKE ?1", like,
                                  &v, &n, err);
        }
        if (r < 0)
                return r;
        if (n == 0)
                return error_msg(err, -ENOENT, "network '%s' not found (see 'husk network ls')",
                                 ref);
        if (n > 1) {
                network_list_free(v, n);
                return error_msg(err, -EINVAL, "network id prefix '%s' is ambiguous", ref);
        }
        *ret = v[0];
        free(v);
        return 0;
}

int net_network_list(struct net_ctx *ctx, struct network ***ret, size_t *ret_n, struct error *err)
{
        int r = ensure_default(ctx, err);
        if (r < 0)
                return r;
        return network_query(ctx, "SELECT " NET_COLS " FROM networks ORDER BY name", NULL, ret,
                             ret_n, err);
}

int net_network_users(struct net_ctx *ctx, const char *network_id, char ***ret_containers,
                      struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT container_id FROM network_allocations WHERE network_id = ?1 "
                           "ORDER BY container_id",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, network_id, -1, SQLITE_TRANSIENT);
        char **v = NULL;
        int n = 0;
        while ((r = db_step(ctx->db, st, err)) > 0) {
                v = strv_push(v, db_col_str(st, 0));
                n++;
        }
        if (r < 0) {
                strv_free(v);
                return r;
        }
        if (ret_containers)
                *ret_containers = v;
        else
                strv_free(v);
        return n;
}

int net_network_remove(struct net_ctx *ctx, const char *ref, struct error *err)
{
        if (strcmp(ref, NET_DEFAULT_NAME) == 0)
                return error_msg(err, -EPERM, "the default network '%s' cannot be removed",
                                 NET_DEFAULT_NAME);
        int r = net_lock(ctx, err);
        if (r < 0)
                return r;
        /* An attachment whose namespace died must not keep the network busy. */
        r = net_reconcile(ctx, err);
        _cleanup_(network_freep) struct network *n = NULL;
        if (r == 0)
                r = net_network_get(ctx, ref, &n, err);
        if (r == 0 && strcmp(n->name, NET_DEFAULT_NAME) == 0)
                r = error_msg(err, -EPERM, "the default network '%s' cannot be removed",
                              NET_DEFAULT_NAME);
        if (r == 0)
                r = db_begin(ctx->db, err);
        if (r < 0) {
                net_unlock(ctx);
                return r;
        }
        _cleanup_strv_ char **users = NULL;
        r = net_network_users(ctx, n->id, &users, err);
        if (r > 0) {
                _cleanup_free_ char *list = xstrdup("");
                for (size_t i = 0; users[i]; i++) {
                        char *l = xasprintf("%s%s%.12s", list, i ? ", " : "", users[i]);
                        free(list);
                        list = l;
                }
                r = error_msg(err, -EBUSY,
                              "network '%s' has active endpoints (containers %s): stop or "
                              "disconnect them first",
                              n->name, list);
        }
        if (r == 0)
                r = db_run(ctx->db, "DELETE FROM networks WHERE id = ?1", err, 1, n->id);
        if (r == 0)
                r = db_commit(ctx->db, err);
        else
                db_rollback(ctx->db);
        /* speed: its bridge stayed up while the network existed; now it goes. */
        if (r == 0)
                r = net_reconcile(ctx, err);
        net_unlock(ctx);
        return r;
}

int net_network_prune(struct net_ctx *ctx, char ***ret, struct error *err)
{
        int r = net_lock(ctx, err);
        if (r < 0)
                return r;
        r = net_reconcile(ctx, err);
        if (r == 0)
                r = db_begin(ctx->db, err);
        if (r < 0) {
                net_unlock(ctx);
                return r;
        }
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char **names = NULL;
        r = db_prepare(ctx->db,
                       "SELECT name FROM networks WHERE name != ?1 AND id NOT IN (SELECT "
                       "network_id FROM network_allocations) ORDER BY name",
                       &st, err);
        if (r == 0) {
                sqlite3_bind_text(st, 1, NET_DEFAULT_NAME, -1, SQLITE_STATIC);
                while ((r = db_step(ctx->db, st, err)) > 0)
                        names = strv_push(names, db_col_str(st, 0));
        }
        for (size_t i = 0; r == 0 && names && names[i]; i++)
                r = db_run(ctx->db, "DELETE FROM networks WHERE name = ?1", err, 1, names[i]);
        if (r == 0)
                r = db_commit(ctx->db, err);
        else
                db_rollback(ctx->db);
        if (r == 0) /* speed: the bridges of the pruned networks */
                r = net_reconcile(ctx, err);
        net_unlock(ctx);
        if (r < 0) {
                strv_free(names);
                return r;
        }
        *ret = names;
        return 0;
}

static int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
        const char *dash = strchr(s, '-');
        uint64_t a, b;
        if (dash) {
                _cleanup_free_ char *x = xstrndup(s, (size_t)(dash - s));
                if (parse_u64(x, &a) < 0 || parse_u64(dash + 1, &b) < 0)
                        return -EINVAL;
        } else {
                if (parse_u64(s, &a) < 0)
                        return -EINVAL;
                b = a;
        }
        if (a < 1 || b > 65535 || a > b)
                return -EINVAL;
        *lo = (uint16_t)a;
        *hi = (uint16_t)b;
        return 0;
}

int net_port_parse(const char *spec, struct net_port **v, size_t *n, struct error *err)
{
        _cleanup_free_ char *s = xstrdup(spec);
        char proto[4] = "tcp";
        char *slash = strrchr(s, '/');
        if (slash) {
                if (strcmp(slash + 1, "tcp") != 0 && strcmp(slash + 1, "udp") != 0)
                        return error_msg(err, -EINVAL,
                                         "invalid port '%s': protocol must be tcp or udp", spec);
                snprintf(proto, sizeof(proto), "%s", slash + 1);
                *slash = '\0';
        }
        /* Fields from the right: containerport, hostport, hostip. */
        char *parts[3] = {NULL, NULL, NULL};
        int np = 0;
        char *p = s;
        for (char *c; np < 2 && (c = strrchr(p, ':'));) {
                parts[np++] = c + 1;
                *c = '\0';
        }
        parts[np++] = p;
        /* parts: [containerport, hostport?, hostip?] in reverse order of appearance */
        const char *cport = parts[0], *hport = np > 1 ? parts[1] : NULL,
                   *hip = np > 2 ? parts[2] : NULL;
        if (np == 3 && strchr(hip, ':'))
                return error_msg(err, -EINVAL, "invalid port '%s': IPv6 is not supported", spec);
        struct in_addr a;
        if (hip && *hip && parse_ip(hip, &a) < 0)
                return error_msg(err, -EINVAL, "invalid port '%s': '%s' is not an IPv4 address",
                                 spec, hip);
        uint16_t clo, chi, hlo = 0, hhi = 0;
        if (parse_port_range(cport, &clo, &chi) < 0)
                return error_msg(err, -EINVAL, "invalid port '%s': bad container port '%s'", spec,
                                 cport);
        if (hport && strcmp(hport, "0") == 0) {
                hport = NULL; /* as docker: 0 is a free port the kernel picks */
        } else if (hport && *hport) {
                if (parse_port_range(hport, &hlo, &hhi) < 0)
                        return error_msg(err, -EINVAL, "invalid port '%s': bad host port '%s'",
                                         spec, hport);
                if (hhi - hlo != chi - clo)
                        return error_msg(err, -EINVAL,
                                         "invalid port '%s': host and container ranges differ in "
                                         "length",
                                         spec);
        }
        size_t count = (size_t)(chi - clo) + 1;
        *v = xrealloc(*v, (*n + count) * sizeof(**v));
        for (unsigned i = 0; i < count; i++) {
                struct net_port *np2 = &(*v)[(*n)++];
                memset(np2, 0, sizeof(*np2));
                snprintf(np2->host_ip, sizeof(np2->host_ip), "%s", hip && *hip ? hip : "0.0.0.0");
                np2->container_port = (uint16_t)(clo + i);
                np2->host_port = hlo ? (uint16_t)(hlo + i) : 0;
                memcpy(np2->proto, proto, sizeof(proto));
        }
        return 0;
}

void net_endpoints_free(struct net_endpoint *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].container_id);
                free(v[i].name);
                free(v[i].mac);
                free(v[i].address);
        }
        free(v);
}

int net_network_endpoints(struct net_ctx *ctx, const char *network_id, struct net_endpoint **ret,
                          size_t *ret_n, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(ctx->db,
                           "SELECT container_id, name, mac, address FROM network_allocations "
                           "WHERE network_id = ?1 ORDER BY container_id",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, network_id, -1, SQLITE_TRANSIENT);
        struct net_endpoint *v = NULL;
        size_t n = 0;
        while ((r = db_step(ctx->db, st, err)) > 0) {
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = (struct net_endpoint){db_col_str(st, 0), db_col_str(st, 1),
                                               db_col_str(st, 2), db_col_str(st, 3)};
        }
        if (r < 0) {
                net_endpoints_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}
