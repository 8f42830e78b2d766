/* husk network: create, ls, inspect, rm, prune; and hidden debug commands
 * (_attach, _detach, _reconcile) that attach a network namespace the caller
 * made, for tests and for learning what `husk run` will do. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/format.h"
#include "cli/husk.h"
#include "core/json.h"
#include "core/util.h"
#include "engine/rootless.h" /* rootless */
#include "engine/engine.h"
#include "engine/network.h"

static int open_net(struct husk_ctx *ctx, struct net_ctx **ret)
{
        struct error err = {0};
        if (net_open(ctx->root, ret, &err) < 0)
                return husk_fail(ctx, &err);
        return 0;
}

static void subnet_text(const struct network *n, char *buf, size_t len)
{
        char s[16];
        inet_ntop(AF_INET, &n->subnet, s, sizeof(s));
        snprintf(buf, len, "%s/%u", s, n->prefixlen);
}

static int cmd_network_create(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"subnet", required_argument, NULL, 's'}, {"gateway", required_argument, NULL, 'g'},
            {"internal", no_argument, NULL, 'i'},     {"driver", required_argument, NULL, 'd'},
            {"help", no_argument, NULL, 'h'},         {},
        };
        struct net_create_opts o = {0};
        int c;
        while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
                switch (c) {
                case 's':
                        o.subnet = optarg;
                        break;
                case 'g':
                        o.gateway = optarg;
                        break;
                case 'i':
                        o.internal = true;
                        break;
                case 'd':
                        if (strcmp(optarg, "bridge") != 0)
                                return husk_usage_error(
                                    ctx, "driver '%s' is not supported (only 'bridge')", optarg);
                        break;
                case 'h':
                        printf("Usage: husk network create [OPTIONS] NETWORK\n\n"
                               "Create a bridge network.\n\n"
                               "Options:\n"
                               "  -d, --driver bridge  the driver (only bridge)\n"
                               "      --subnet CIDR    IPv4 subnet (default: a free 10.90.N.0/24)\n"
                               "      --gateway IP     the bridge's address (default: the "
                               "subnet's first)\n"
                               "      --internal       no route out of the network\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (argc - optind != 1)
                return husk_usage_error(ctx, "want exactly one NETWORK name");
        o.name = argv[optind];
        _cleanup_net_ struct net_ctx *net = NULL;
        int r = open_net(ctx, &net);
        if (r)
                return r;
        struct error err = {0};
        _cleanup_(network_freep) struct network *n = NULL;
        if (net_network_create(net, &o, &n, &err) < 0)
                return husk_fail(ctx, &err);
        printf("%s\n", n->id);
        return 0;
}

static const struct fmt_header net_headers[] = {
    {"ID", "NETWORK ID"}, {"Name", "NAME"},         {"Driver", "DRIVER"},        {"Scope", "SCOPE"},
    {"IPv6", "IPV6"},     {"Internal", "INTERNAL"}, {"CreatedAt", "CREATED AT"}, {},
};

static void created_text(int64_t t, char *buf, size_t len)
{
        time_t tt = (time_t)t;
        struct tm tm;
        localtime_r(&tt, &tm);
        strftime(buf, len, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
}

static int cmd_network_ls(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"quiet", no_argument, NULL, 'q'},
            {"no-trunc", no_argument, NULL, 'n'},
            {"format", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool quiet = false, no_trunc = false;
        const char *format = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                case 'n':
                        no_trunc = true;
                        break;
                case 'f':
                        format = optarg;
                        break;
                case 'h':
                        printf("Usage: husk network ls [OPTIONS]\n\nList networks.\n\n"
                               "Options:\n"
                               "      --format FMT   'table', 'json', 'table TEMPLATE' or a Go "
                               "template\n"
                               "      --no-trunc     do not truncate network IDs\n"
                               "  -q, --quiet        only show network IDs\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (optind != argc)
                return husk_usage_error(ctx, "takes no arguments");
        _cleanup_net_ struct net_ctx *net = NULL;
        int r = open_net(ctx, &net);
        if (r)
                return r;
        struct error err = {0};
        struct network **v = NULL;
        size_t n = 0;
        if (net_network_list(net, &v, &n, &err) < 0)
                return husk_fail(ctx, &err);
        struct json_object **rows = xzalloc((n + 1) * sizeof(*rows));
        for (size_t i = 0; i < n; i++) {
                if (quiet) {
                        printf("%.*s\n", no_trunc ? 64 : 12, v[i]->id);
                        continue;
                }
                struct json_object *o = json_object_new_object();
                char id[65], at[64];
                snprintf(id, sizeof(id), "%.*s", no_trunc ? 64 : 12, v[i]->id);
                created_text(v[i]->created, at, sizeof(at));
                json_object_object_add(o, "CreatedAt", json_object_new_string(at));
                json_object_object_add(o, "Driver", json_object_new_string(v[i]->driver));
                json_object_object_add(o, "ID", json_object_new_string(id));
                json_object_object_add(o, "IPv6", json_object_new_string("false"));
                json_object_object_add(o, "Internal",
                                       json_object_new_string(v[i]->internal ? "true" : "false"));
                json_object_object_add(o, "Labels", json_object_new_string(""));
                json_object_object_add(o, "Name", json_object_new_string(v[i]->name));
                json_object_object_add(o, "Scope", json_object_new_string("local"));
                rows[i] = o;
        }
        if (!quiet)
                r = format_print(stdout, format,
                                 "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", net_headers,
                                 rows, n, &err);
        for (size_t i = 0; i < n; i++)
                if (rows[i])
                        json_object_put(rows[i]);
        free(rows);
        network_list_free(v, n);
        return r < 0 ? husk_fail(ctx, &err) : 0;
}

static struct json_object *network_json(struct net_ctx *net, const struct network *n,
                                        struct error *err)
{
        struct net_endpoint *eps = NULL;
        size_t neps = 0;
        if (net_network_endpoints(net, n->id, &eps, &neps, err) < 0)
                return NULL;
        struct json_object *o = json_object_new_object();
        char created[64], subnet[32], gw[16];
        struct tm tm;
        time_t t = (time_t)n->created;
        gmtime_r(&t, &tm);
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
        subnet_text(n, subnet, sizeof(subnet));
        inet_ntop(AF_INET, &n->gateway, gw, sizeof(gw));
        json_object_object_add(o, "Name", json_object_new_string(n->name));
        json_object_object_add(o, "Id", json_object_new_string(n->id));
        json_object_object_add(o, "Created", json_object_new_string(created));
        json_object_object_add(o, "Scope", json_object_new_string("local"));
        json_object_object_add(o, "Driver", json_object_new_string(n->driver));
        json_object_object_add(o, "EnableIPv6", json_object_new_boolean(0));
        struct json_object *ipam = json_object_new_object(), *cfg = json_object_new_array();
        struct json_object *c0 = json_object_new_object();
        json_object_object_add(c0, "Subnet", json_object_new_string(subnet));
        json_object_object_add(c0, "Gateway", json_object_new_string(gw));
        json_object_array_add(cfg, c0);
        json_object_object_add(ipam, "Driver", json_object_new_string("default"));
        json_object_object_add(ipam, "Options", NULL);
        json_object_object_add(ipam, "Config", cfg);
        json_object_object_add(o, "IPAM", ipam);
        json_object_object_add(o, "Internal", json_object_new_boolean(n->internal));
        json_object_object_add(o, "Attachable", json_object_new_boolean(0));
        json_object_object_add(o, "Ingress", json_object_new_boolean(0));
        struct json_object *from = json_object_new_object();
        json_object_object_add(from, "Network", json_object_new_string(""));
        json_object_object_add(o, "ConfigFrom", from);
        json_object_object_add(o, "ConfigOnly", json_object_new_boolean(0));
        struct json_object *cs = json_object_new_object();
        for (size_t i = 0; i < neps; i++) {
                struct json_object *e = json_object_new_object();
                _cleanup_free_ char *a = xasprintf("%s/%u", eps[i].address, n->prefixlen);
                json_object_object_add(e, "Name",
                                       json_object_new_string(eps[i].name ? eps[i].name : ""));
                json_object_object_add(e, "EndpointID", json_object_new_string(""));
                json_object_object_add(e, "MacAddress", json_object_new_string(eps[i].mac));
                json_object_object_add(e, "IPv4Address", json_object_new_string(a));
                json_object_object_add(e, "IPv6Address", json_object_new_string(""));
                json_object_object_add(cs, eps[i].container_id, e);
        }
        net_endpoints_free(eps, neps);
        json_object_object_add(o, "Containers", cs);
        struct json_object *opt = json_object_new_object();
        json_object_object_add(opt, "com.docker.network.bridge.name",
                               json_object_new_string(n->bridge));
        json_object_object_add(o, "Options", opt);
        json_object_object_add(o, "Labels", json_object_new_object());
        return o;
}

static int cmd_network_inspect(struct husk_ctx *ctx, int argc, char **argv)
{
        const char *format = NULL;
        int st = husk_inspect_args(ctx, argc, argv, "f:h",
                                   "Usage: husk network inspect [OPTIONS] NETWORK...\n\n"
                                   "Show details of networks as JSON.\n\n"
                                   "Options:\n"
                                   "  -f, --format FMT   a Go template for each network\n",
                                   "NETWORK", &format);
        if (st >= 0)
                return st;
        _cleanup_net_ struct net_ctx *net = NULL;
        int r = open_net(ctx, &net);
        if (r)
                return r;
        _cleanup_json_ struct json_object *all = json_object_new_array();
        int status = 0;
        struct error err = {0};
        for (int i = optind; i < argc; i++) {
                _cleanup_(network_freep) struct network *n = NULL;
                struct json_object *o = NULL;
                if (net_network_get(net, argv[i], &n, &err) < 0 ||
                    !(o = network_json(net, n, &err))) {
                        husk_fail(ctx, &err);
                        status = HUSK_EXIT_FAIL;
                        continue;
                }
                json_object_array_add(all, o);
        }
        return husk_print_inspect(ctx, all, format, status);
}

/* A network in use: the error names its containers as the user knows them. */
static void name_users(struct husk_ctx *ctx, struct net_ctx *net, const char *ref,
                       struct error *err)
{
        struct network *n = NULL;
        _cleanup_strv_ char **ids = NULL;
        _cleanup_engine_ struct engine *e = NULL;
        struct error ign = {0};
        if (net_network_get(net, ref, &n, &ign) < 0)
                return;
        int k = net_network_users(net, n->id, &ids, &ign);
        if (k > 0 && engine_open(ctx->root, ctx->runroot, &e, &ign) == 0) {
                _cleanup_free_ char *list = xstrdup("");
                for (size_t i = 0; ids[i]; i++) {
                        struct ctr c = {0};
                        char *l = ctr_get(e->store->db, ids[i], &c, &ign) == 0
                                      ? xasprintf("%s%s%s", list, i ? ", " : "", c.name)
                                      : xasprintf("%s%s%.12s", list, i ? ", " : "", ids[i]);
                        ctr_free(&c);
                        free(list);
                        list = l;
                }
                error_msg(err, -EBUSY,
                          "network '%s' is in use by container%s %s: stop or disconnect "
                          "%s first (husk network disconnect %s CONTAINER)",
                          n->name, k > 1 ? "s" : "", list, k > 1 ? "them" : "it", n->name);
        }
        network_free(n);
}

static int cmd_network_rm(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool force = false;
        int c;
        while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'h':
                        printf("Usage: husk network rm [OPTIONS] NETWORK...\n\n"
                               "Remove networks. A network with attached containers is refused.\n\n"
                               "Options:\n"
                               "  -f, --force   no error for a network that does not exist\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one NETWORK");
        _cleanup_net_ struct net_ctx *net = NULL;
        int r = open_net(ctx, &net);
        if (r)
                return r;
        int status = 0;
        for (int i = optind; i < argc; i++) {
                struct error err = {0};
                r = net_network_remove(net, argv[i], &err);
                if (r == -ENOENT && force)
                        continue;
                if (r == -EBUSY)
                        name_users(ctx, net, argv[i], &err);
                if (r < 0) {
                        husk_fail(ctx, &err);
                        status = HUSK_EXIT_FAIL;
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return status;
}

static int cmd_network_prune(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        break; /* husk does not prompt */
                case 'h':
                        printf("Usage: husk network prune [OPTIONS]\n\n"
                               "Remove every network no container is attached to (not %s).\n\n"
                               "Options:\n"
                               "  -f, --force   accepted for docker compatibility (husk does not "
                               "prompt)\n",
                               NET_DEFAULT_NAME);
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (optind != argc)
                return husk_usage_error(ctx, "takes no arguments");
        _cleanup_net_ struct net_ctx *net = NULL;
        int r = open_net(ctx, &net);
        if (r)
                return r;
        struct error err = {0};
        _cleanup_strv_ char **gone = NULL;
        if (net_network_prune(net, &gone, &err) < 0)
                return husk_fail(ctx, &err);
        if (gone) {
                printf("Deleted Networks:\n");
                for (size_t i = 0; gone[i]; i++)
                        printf("%s\n", gone[i]);
        }
        return 0;
}

static struct json_object *attachment_json(const struct net_attachment *a)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "Network", json_object_new_string(a->network_name));
        json_object_object_add(o, "NetworkID", json_object_new_string(a->network_id));
        json_object_object_add(o, "ContainerID", json_object_new_string(a->container_id));
        json_object_object_add(o, "Bridge", json_object_new_string(a->bridge));
        json_object_object_add(o, "HostVeth", json_object_new_string(a->host_veth));
        json_object_object_add(o, "Interface", json_object_new_string(a->ifname ? a->ifname : ""));
        json_object_object_add(o, "IPAddress", json_object_new_string(a->address));
        json_object_object_add(o, "IPPrefixLen", json_object_new_int((int)a->prefixlen));
        json_object_object_add(o, "Gateway", json_object_new_string(a->gateway));
        json_object_object_add(o, "MacAddress", json_object_new_string(a->mac));
        struct json_object *ports = json_object_new_array();
        for (size_t i = 0; i < a->n_ports; i++) {
                struct json_object *p = json_object_new_object();
                json_object_object_add(p, "HostIp", json_object_new_string(a->ports[i].host_ip));
                json_object_object_add(p, "HostPort", json_object_new_int(a->ports[i].host_port));
                json_object_object_add(p, "ContainerPort",
                                       json_object_new_int(a->ports[i].container_port));
                json_object_object_add(p, "Protocol", json_object_new_string(a->ports[i].proto));
                json_object_array_add(ports, p);
        }
        json_object_object_add(o, "Ports", ports);
        return o;
}

/* husk network _attach --netns PATH [options] NETWORK CONTAINER_ID */
static int cmd_network_attach(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"netns", required_argument, NULL, 'n'},
            {"name", required_argument, NULL, 'N'},
            {"hostname", required_argument, NULL, 'H'},
            {"ip", required_argument, NULL, 'i'},
            {"mac-address", required_argument, NULL, 'm'},
            {"publish", required_argument, NULL, 'p'},
            {"hosts", required_argument, NULL, 'o'},
            {"resolv", required_argument, NULL, 'r'},
            {"dns", required_argument, NULL, 'd'},
            {"add-host", required_argument, NULL, 'a'},
            {"mtu", required_argument, NULL, 'M'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        struct net_attach_opts o = {0};
        const char *netns = NULL, *resolv = NULL;
        _cleanup_strv_ char **dns = NULL, **extra = NULL;
        _cleanup_free_ struct net_port *ports = NULL;
        size_t nports = 0;
        struct error err = {0};
        int c;
        while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
                switch (c) {
                case 'n':
                        netns = optarg;
                        break;
                case 'N':
                        o.name = optarg;
                        break;
                case 'H':
                        o.hostname = optarg;
                        break;
                case 'i':
                        o.ip = optarg;
                        break;
                case 'm':
                        o.mac = optarg;
                        break;
                case 'p':
                        if (net_port_parse(optarg, &ports, &nports, &err) < 0)
                                return husk_fail(ctx, &err);
                        break;
                case 'o':
                        o.hosts_path = optarg;
                        break;
                case 'r':
                        resolv = optarg;
                        break;
                case 'd':
                        dns = strv_push(dns, xstrdup(optarg));
                        break;
                case 'a':
                        extra = strv_push(extra, xstrdup(optarg));
                        break;
                case 'M': {
                        uint64_t v;
                        if (parse_u64(optarg, &v) < 0 || v > 65535)
                                return husk_usage_error(ctx, "invalid --mtu '%s'", optarg);
                        o.mtu = (unsigned)v;
                        break;
                }
                case 'h':
                        printf("Usage: husk network _attach --netns PATH [OPTIONS] NETWORK "
                               "CONTAINER_ID\n\n"
                               "Debug: attach a network namespace made by the caller, as the "
                               "engine does for a container.\nPrints the attachment as JSON.\n\n"
                               "Options: --name, --hostname, --ip, --mac-address, -p/--publish, "
                               "--hosts FILE, --resolv FILE, --dns, --add-host, --mtu\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (!netns)
                return husk_usage_error(ctx, "--netns PATH is required");
        if (argc - optind != 2)
                return husk_usage_error(ctx, "want NETWORK and CONTAINER_ID");
        o.container_id = argv[optind + 1];
        o.ports = ports;
        o.n_ports = nports;
        o.extra_hosts = extra;
        if (resolv && net_write_resolv_conf(resolv, "/etc/resolv.conf", dns, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_close_ int fd = open(netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                error_sys(&err, -errno, "open network namespace '%s'", netns);
                return husk_fail(ctx, &err);
        }
        _cleanup_net_ struct net_ctx *net = NULL;
        int r = open_net(ctx, &net);
        if (r)
                return r;
        _cleanup_(net_attachment_freep) struct net_attachment *a = NULL;
        if (net_attach(net, fd, netns, argv[optind], &o, &a, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_json_ struct json_object *j = attachment_json(a);
        printf("%s\n", json_compact(j));
        return 0;
}

static int cmd_network_detach(struct husk_ctx *ctx, int argc, char **argv)
{
        if (argc != 3)
                return husk_usage_error(ctx,
                                        "usage: husk network _detach NETWORK|--all CONTAINER_ID");
        _cleanup_net_ struct net_ctx *net = NULL;
        int r = open_net(ctx, &net);
        if (r)
                return r;
        struct error err = {0};
        if (strcmp(argv[1], "--all") == 0) {
                struct net_attachment **v = NULL;
                size_t n = 0;
                if (net_container_attachments(net, argv[2], &v, &n, &err) < 0)
                        return husk_fail(ctx, &err);
                for (size_t i = 0; i < n && r == 0; i++)
                        r = net_detach(net, v[i], &err);
                net_attachments_free(v, n);
                return r < 0 ? husk_fail(ctx, &err) : 0;
        }
        _cleanup_(net_attachment_freep) struct net_attachment *a = NULL;
        if (net_attachment_get(net, argv[1], argv[2], &a, &err) < 0 || net_detach(net, a, &err) < 0)
                return husk_fail(ctx, &err);
        return 0;
}

/* A hidden maintenance subcommand without arguments: open the network store
 * and run FN on it. */
static int network_maint(struct husk_ctx *ctx, int argc,
                         int (*fn)(struct net_ctx *, struct error *))
{
        if (argc != 1)
                return husk_usage_error(ctx, "takes no arguments");
        _cleanup_net_ struct net_ctx *net = NULL;
        int r = open_net(ctx, &net);
        if (r)
                return r;
        struct error err = {0};
        if (fn(net, &err) < 0)
                return husk_fail(ctx, &err);
        return 0;
}

static int cmd_network_reconcile(struct husk_ctx *ctx, int argc, char **argv)
{
        return network_maint(ctx, argc, net_reconcile);
}

/* speed: husk network _down: bridges stay up while their network exists;
 * this takes the idle ones (and their rules) down, for tests and uninstall. */
static int cmd_network_down(struct husk_ctx *ctx, int argc, char **argv)
{
        return network_maint(ctx, argc, net_down);
}

static const struct husk_command network_commands[] = {
    {"connect", cmd_network_connect, "Connect a container to a network"},
    {"create", cmd_network_create, "Create a network"},
    {"disconnect", cmd_network_disconnect, "Disconnect a container from a network"},
    {"inspect", cmd_network_inspect, "Show details of networks"},
    {"ls", cmd_network_ls, "List networks"},
    {"list", cmd_network_ls, NULL},
    {"prune", cmd_network_prune, "Remove unused networks"},
    {"rm", cmd_network_rm, "Remove networks"},
    {"remove", cmd_network_rm, NULL},
    {"_attach", cmd_network_attach, NULL},
    {"_detach", cmd_network_detach, NULL},
    {"_reconcile", cmd_network_reconcile, NULL},
    {"_down", cmd_network_down, NULL}, /* speed */
};

int cmd_network(struct husk_ctx *ctx, int argc, char **argv)
{
        /* rootless: a bridge, veths and nft rules need root (engine/pasta.h) */
        if (rootless_active() && argc > 1 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) {
                fprintf(stderr,
                        "husk: network: networks (bridges, veths, nftables) need root; rootless "
                        "containers use --network pasta (the default, with -p), none, host or "
                        "container:NAME\n");
                return HUSK_EXIT_FAIL;
        }
        return husk_subcommand(ctx, "network", "a", "Manage networks.", network_commands,
                               ARRAY_SIZE(network_commands), argc, argv);
}
