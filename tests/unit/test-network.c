/* Network pure logic: port specs, subnets, resolv.conf and hosts files, and
 * the network records in a scratch store. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "engine/network-internal.h"
#include "unit.h"

TEST(port_specs)
{
        struct error err = {0};
        _cleanup_free_ struct net_port *v = NULL;
        size_t n = 0;
        CHECK(net_port_parse("8080:80", &v, &n, &err) == 0);
        CHECK(net_port_parse("127.0.0.1:53:5353/udp", &v, &n, &err) == 0);
        CHECK(net_port_parse("9000-9001:90-91", &v, &n, &err) == 0);
        CHECK(net_port_parse("443", &v, &n, &err) == 0);
        CHECK(net_port_parse("10.0.0.1::22", &v, &n, &err) == 0);
        CHECK(net_port_parse("127.0.0.1:0:23", &v, &n, &err) == 0);
        CHECK(n == 7);
        CHECK(v[6].host_port == 0 && v[6].container_port == 23);
        CHECK_STR(v[0].host_ip, "0.0.0.0");
        CHECK(v[0].host_port == 8080 && v[0].container_port == 80);
        CHECK_STR(v[0].proto, "tcp");
        CHECK_STR(v[1].host_ip, "127.0.0.1");
        CHECK(v[1].host_port == 53 && v[1].container_port == 5353);
        CHECK_STR(v[1].proto, "udp");
        CHECK(v[2].host_port == 9000 && v[2].container_port == 90);
        CHECK(v[3].host_port == 9001 && v[3].container_port == 91);
        CHECK(v[4].host_port == 0 && v[4].container_port == 443);
        CHECK_STR(v[5].host_ip, "10.0.0.1");
        CHECK(v[5].host_port == 0 && v[5].container_port == 22);
}

TEST(port_spec_errors)
{
        static const char *bad[] = {
            "",        "x",       "0",    "70000", "80/sctp", "1-3:80-81", "300.1.1.1:1:2",
            "5-4:5-4", "a:80:80", "8080:"};
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct error err = {0};
                struct net_port *v = NULL;
                size_t n = 0;
                int r = net_port_parse(bad[i], &v, &n, &err);
                if (r != -EINVAL)
                        printf("  accepted '%s'\n", bad[i]);
                CHECK(r == -EINVAL);
                CHECK(strstr(err.msg, "invalid port") != NULL);
                CHECK(n == 0);
                free(v);
        }
}

TEST(subnets)
{
        struct error err = {0};
        struct in_addr a;
        unsigned len;
        CHECK(net_parse_subnet("10.89.0.0/16", &a, &len, &err) == 0);
        CHECK(len == 16 && ntohl(a.s_addr) == 0x0a590000);
        CHECK(net_parse_subnet("10.89.0.1/16", &a, &len, &err) == -EINVAL);
        CHECK_STR(err.msg, "invalid subnet '10.89.0.1/16': host bits are set (did you mean "
                           "10.89.0.0/16?)");
        CHECK(net_parse_subnet("10.0.0.0", &a, &len, &err) == -EINVAL);
        CHECK(net_parse_subnet("10.0.0.0/33", &a, &len, &err) == -EINVAL);
        CHECK(net_parse_subnet("10.0.0.0/7", &a, &len, &err) == -EINVAL);
        CHECK(net_parse_subnet("fd00::/64", &a, &len, &err) == -EINVAL);
        struct in_addr x, y;
        inet_pton(AF_INET, "10.1.0.0", &x);
        inet_pton(AF_INET, "10.1.2.0", &y);
        CHECK(net_overlaps(x, 16, y, 24));
        CHECK(net_overlaps(y, 24, x, 16));
        CHECK(!net_overlaps(x, 24, y, 24));
}

static int put(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        fputs(text, f);
        return fclose(f) == 0 ? 0 : -EIO;
}

TEST(resolv_conf_drops_loopback_servers)
{
        char dir[] = "/tmp/husk-unit-net.XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        _cleanup_free_ char *host = xasprintf("%s/host", dir), *out = xasprintf("%s/out", dir);
        const char *text = "# generated\nsearch example.com\nnameserver 127.0.0.53\n"
                           "nameserver ::1\nnameserver 192.0.2.1\noptions edns0\n";
        CHECK(put(host, text) == 0);
        struct error err = {0};
        CHECK(net_write_resolv_conf(out, host, NULL, &err) == 0);
        _cleanup_free_ char *got = NULL;
        CHECK(read_file_at(AT_FDCWD, out, 0, &got, NULL) == 0);
        CHECK_STR(got, "# generated\nsearch example.com\nnameserver 192.0.2.1\noptions edns0\n");
        /* only loopback servers: docker's fallback */
        const char *lo = "nameserver 127.0.0.53\noptions trust-ad\n";
        CHECK(put(host, lo) == 0);
        CHECK(net_write_resolv_conf(out, host, NULL, &err) == 0);
        free(got);
        got = NULL;
        CHECK(read_file_at(AT_FDCWD, out, 0, &got, NULL) == 0);
        CHECK_STR(got, "options trust-ad\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n");
        /* --dns replaces every server */
        char *dns[] = {"198.51.100.1", NULL};
        CHECK(net_write_resolv_conf(out, host, dns, &err) == 0);
        free(got);
        got = NULL;
        CHECK(read_file_at(AT_FDCWD, out, 0, &got, NULL) == 0);
        CHECK_STR(got, "options trust-ad\nnameserver 198.51.100.1\n");
        char *bad[] = {"dns.example", NULL};
        CHECK(net_write_resolv_conf(out, host, bad, &err) == -EINVAL);
        CHECK_STR(err.msg, "invalid --dns 'dns.example': not an IP address");
        /* no host file at all */
        _cleanup_free_ char *none = xasprintf("%s/none", dir);
        CHECK(net_write_resolv_conf(out, none, NULL, &err) == 0);
        unlink(host);
        unlink(out);
        rmdir(dir);
}

TEST(hosts_file)
{
        char *extra[] = {"db:192.0.2.9", "gw:host-gateway", NULL};
        char *entries[] = {"10.1.0.2\tweb abc", NULL};
        _cleanup_free_ char *h = net_hosts_render(extra, "10.1.0.1", entries);
        CHECK(str_startswith(h, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost"));
        CHECK(str_endswith(h, "192.0.2.9\tdb\n10.1.0.1\tgw\n10.1.0.2\tweb abc\n"));
        struct error err = {0};
        CHECK(net_check_extra_host("a:192.0.2.1", &err) == 0);
        CHECK(net_check_extra_host("a:2001:db8::1", &err) == 0);
        CHECK(net_check_extra_host("a:host-gateway", &err) == 0);
        CHECK(net_check_extra_host("a", &err) == -EINVAL);
        CHECK(net_check_extra_host(":1.2.3.4", &err) == -EINVAL);
        CHECK(net_check_extra_host("a\n9.9.9.9 evil:1.2.3.4", &err) == -EINVAL);
        CHECK(net_check_extra_host("a b:1.2.3.4", &err) == -EINVAL);
        CHECK(!net_valid_hostname("web\n1.2.3.4 x", 14));
        CHECK(net_valid_hostname("web-1.example", 13));
        CHECK(net_check_extra_host("a:nope", &err) == -EINVAL);
        CHECK_STR(err.msg, "invalid --add-host 'a:nope': 'nope' is not an IP address or "
                           "host-gateway");
}

TEST(network_records)
{
        char dir[] = "/tmp/husk-unit-net.XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        setenv("HUSK_NET_PREFIX", "hu0", 1);
        setenv("HUSK_NFT_TABLE", "husk_unit", 1);
        setenv("HUSK_DEFAULT_SUBNET", "10.250.0.0/16", 1);
        struct error err = {0};
        struct net_ctx *ctx = NULL;
        CHECK(net_open(dir, &ctx, &err) == 0);
        if (!ctx)
                return;
        /* Before the default network was ever used, its subnet is taken all the same. */
        struct net_create_opts early = {.name = "early", .subnet = "10.250.9.0/24"};
        CHECK(net_network_create(ctx, &early, NULL, &err) == -EADDRINUSE);
        CHECK_STR(err.msg, "subnet '10.250.9.0/24' overlaps network 'husk0'");
        struct network **v = NULL;
        size_t n = 0;
        CHECK(net_network_list(ctx, &v, &n, &err) == 0);
        CHECK(n == 1 && strcmp(v[0]->name, NET_DEFAULT_NAME) == 0);
        CHECK(n == 1 && strcmp(v[0]->bridge, "hu00") == 0);
        network_list_free(v, n);
        struct net_create_opts o = {.name = "a", .subnet = "10.251.7.0/24", .internal = true};
        struct network *a = NULL;
        CHECK(net_network_create(ctx, &o, &a, &err) == 0);
        CHECK(a && a->internal && ntohl(a->gateway.s_addr) == 0x0afb0701);
        o.name = "b";
        CHECK(net_network_create(ctx, &o, NULL, &err) == -EADDRINUSE);
        CHECK_STR(err.msg, "subnet '10.251.7.0/24' overlaps network 'a'");
        o.subnet = "10.250.3.0/24"; /* inside the default network's /16 */
        CHECK(net_network_create(ctx, &o, NULL, &err) == -EADDRINUSE);
        struct network *got = NULL;
        char prefix[9];
        snprintf(prefix, sizeof(prefix), "%.8s", a ? a->id : "");
        CHECK(net_network_get(ctx, prefix, &got, &err) == 0);
        CHECK(got && strcmp(got->name, "a") == 0);
        network_free(got);
        CHECK(net_network_users(ctx, a ? a->id : "", NULL, &err) == 0);
        network_free(a);
        CHECK(net_network_get(ctx, "zz", &got, &err) == -ENOENT);
        CHECK(net_network_remove(ctx, NET_DEFAULT_NAME, &err) == -EPERM);
        char **gone = NULL;
        CHECK(net_network_prune(ctx, &gone, &err) == 0);
        CHECK(gone && strcmp(gone[0], "a") == 0 && !gone[1]);
        strv_free(gone);
        net_close(ctx);
        _cleanup_free_ char *db = xasprintf("%s/husk.db", dir),
                            *lock = xasprintf("%s/network.lock", dir);
        _cleanup_free_ char *wal = xasprintf("%s-wal", db), *shm = xasprintf("%s-shm", db);
        unlink(db);
        unlink(wal);
        unlink(shm);
        unlink(lock);
        rmdir(dir);
}

UNIT_MAIN()
