/* husk port, husk network connect/disconnect: containers and their networks. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/husk.h"
#include "core/util.h"
#include "engine/ctr-net.h"
#include "engine/engine.h"

int cmd_port(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
        int c;
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                if (c != 'h')
                        return husk_bad_option(ctx);
                printf("Usage: husk port CONTAINER [PORT[/PROTO]]\n\nList the published ports "
                       "of a running container, or the host addresses of one of its ports.\n");
                return 0;
        }
        if (optind >= argc || argc - optind > 2)
                return husk_usage_error(ctx, "want CONTAINER [PORT[/PROTO]]");
        unsigned want = 0;
        char proto[8] = "tcp";
        const char *spec = argc - optind == 2 ? argv[optind + 1] : NULL;
        if (spec) {
                char extra;
                int n = sscanf(spec, "%u/%7[a-z]%c", &want, proto, &extra);
                if (n < 1 || n > 2 || want == 0 || want > 65535 ||
                    (strcmp(proto, "tcp") && strcmp(proto, "udp")))
                        return husk_usage_error(
                            ctx, "invalid port '%s': want PORT or PORT/tcp or PORT/udp", spec);
        }
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr ct = {0};
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_lookup(e, argv[optind], &ct, &err) < 0)
                return husk_fail(ctx, &err);
        struct net_port *p = NULL;
        size_t n = 0;
        int r = strcmp(ct.state, "running") == 0 ? ctr_net_ports(e, ct.id, &p, &n, &err) : 0;
        _cleanup_free_ char *name = xstrdup(ct.name);
        ctr_free(&ct);
        if (r < 0)
                return husk_fail(ctx, &err);
        size_t shown = 0;
        for (size_t i = 0; i < n; i++) {
                if (spec && (p[i].container_port != want || strcmp(p[i].proto, proto)))
                        continue;
                if (spec)
                        printf("%s:%u\n", p[i].host_ip, p[i].host_port);
                else
                        printf("%u/%s -> %s:%u\n", p[i].container_port, p[i].proto, p[i].host_ip,
                               p[i].host_port);
                shown++;
        }
        free(p);
        if (spec && shown == 0) {
                error_msg(&err, -ENOENT, "no public port '%u/%s' published for %s", want, proto,
                          name);
                return husk_fail(ctx, &err);
        }
        return 0;
}

static int connect_cmd(struct husk_ctx *ctx, int argc, char **argv, bool connect)
{
        static const struct option opts[] = {{"ip", required_argument, NULL, 'i'},
                                             {"alias", required_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        const char *ip = NULL;
        _cleanup_strv_ char **aliases = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (c) {
                case 'i':
                        if (!connect)
                                return husk_bad_option(ctx);
                        ip = optarg;
                        break;
                case 'a':
                        if (!connect)
                                return husk_bad_option(ctx);
                        aliases = strv_push(aliases, xstrdup(optarg));
                        break;
                case 'h':
                        if (connect)
                                printf("Usage: husk network connect [--ip IP] [--alias NAME]... "
                                       "NETWORK CONTAINER\n\nConnect a container to a network: now "
                                       "when "
                                       "it runs, and at its next starts.\n");
                        else
                                printf("Usage: husk network disconnect NETWORK CONTAINER\n\n"
                                       "Disconnect a container from a network.\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (argc - optind != 2)
                return husk_usage_error(ctx, "want NETWORK CONTAINER");
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr ct = {0};
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_lookup(e, argv[optind + 1], &ct, &err) < 0)
                return husk_fail(ctx, &err);
        int r = connect ? ctr_net_connect(e, &ct, argv[optind], ip, aliases, &err)
                        : ctr_net_disconnect(e, &ct, argv[optind], &err);
        ctr_free(&ct);
        if (r < 0)
                return husk_fail(ctx, &err);
        return 0;
}

int cmd_network_connect(struct husk_ctx *ctx, int argc, char **argv)
{
        return connect_cmd(ctx, argc, argv, true);
}

int cmd_network_disconnect(struct husk_ctx *ctx, int argc, char **argv)
{
        return connect_cmd(ctx, argc, argv, false);
}
