/* A container's networks, between the engine and the network library. See ctr-net.h. */
#include "engine/ctr-net.h"
#include "engine/pasta.h"    /* rootless */
#include "engine/rootless.h" /* rootless */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "engine/ctr-store.h"

static void add(struct json_object *o, const char *key, struct json_object *v)
{
        json_object_object_add(o, key, v);
}

static struct json_object *jfield(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;
        if (o)
                json_object_object_get_ex(o, key, &v);
        return v;
}

static const char *jstr(struct json_object *o, const char *key)
{
        struct json_object *v = jfield(o, key);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static struct json_object *str_array(char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static char **strv_of(struct json_object *a)
{
        char **v = NULL;
        for (size_t i = 0;
             a && json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++)
                v = strv_push(v, xstrdup(json_object_get_string(json_object_array_get_idx(a, i))));
        return v;
}

/* The mode's kinds: an attach to networks, or none of that. */
enum net_kind { KIND_BRIDGE, KIND_NONE, KIND_HOST, KIND_CONTAINER, KIND_PASTA /* rootless */ };

static enum net_kind kind_of(const char *mode)
{
        if (!mode || strcmp(mode, "none") == 0)
                return KIND_NONE;
        if (strcmp(mode, "host") == 0)
                return KIND_HOST;
        if (strncmp(mode, "container:", 10) == 0)
                return KIND_CONTAINER;
        if (strcmp(mode, "pasta") == 0)
                return KIND_PASTA;
        return KIND_BRIDGE;
}

static const char *mode_of(struct json_object *doc)
{
        return jstr(jfield(doc, "HostConfig"), "NetworkMode");
}

static bool valid_mac(const char *s)
{
        if (strlen(s) != 17)
                return false;
        for (int i = 0; i < 17; i++)
                if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
                        return false;
        return true;
}

static const char *network_ref(const char *mode)
{
        return strcmp(mode, "bridge") == 0 ? NET_DEFAULT_NAME : mode;
}

/* ---------------------------------------------------------------- create */

static int make_ports(struct json_object *image_cfg, const struct ctr_create_opts *o,
                      struct json_object *cfg, struct json_object *hc, struct error *err)
{
        struct json_object *exposed = json_object_new_object();
        add(cfg, "ExposedPorts", exposed);
        struct json_object *from_image = jfield(image_cfg, "ExposedPorts");
        if (from_image && json_object_is_type(from_image, json_type_object)) {
                json_object_object_foreach(from_image, k, v)
                {
                        (void)v;
                        add(exposed, k, json_object_new_object());
                }
        }
        struct json_object *bindings = json_object_new_object();
        add(hc, "PortBindings", bindings);
        add(hc, "PublishAllPorts", json_object_new_boolean(o->publish_all));
        _cleanup_free_ struct net_port *ports = NULL;
        size_t n = 0;
        for (char *const *p = o->publish; p && *p; p++) {
                int r = net_port_parse(*p, &ports, &n, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                char key[16], hport[8] = "";
                snprintf(key, sizeof(key), "%u/%s", ports[i].container_port, ports[i].proto);
                if (ports[i].host_port)
                        snprintf(hport, sizeof(hport), "%u", ports[i].host_port);
                struct json_object *list = jfield(bindings, key);
                if (!list) {
                        list = json_object_new_array();
                        add(bindings, key, list);
                }
                struct json_object *b = json_object_new_object();
                add(b, "HostIp",
                    json_object_new_string(strcmp(ports[i].host_ip, "0.0.0.0") ? ports[i].host_ip
                                                                               : ""));
                add(b, "HostPort", json_object_new_string(hport));
                json_object_array_add(list, b);
                if (!jfield(exposed, key))
                        add(exposed, key, json_object_new_object());
        }
        return 0;
}

int ctr_net_make(struct engine *e, struct json_object *image_cfg, const struct ctr_create_opts *o,
                 struct json_object *doc, struct error *err)
{
        struct json_object *cfg = jfield(doc, "Config"), *hc = jfield(doc, "HostConfig");
        /* rootless: pasta by default; bridges need root (engine/pasta.h) */
        const char *want = o->network ? o->network : rootless_active() ? "pasta" : "bridge";
        if (!*want)
                return error_msg(err, -EINVAL, "--network: empty network name");
        enum net_kind kind = kind_of(want);
        if (kind == KIND_BRIDGE && rootless_active())
                return error_msg(err, -EINVAL,
                                 "--network '%s': bridge networks need root; rootless husk "
                                 "runs containers with --network pasta (the default), none, "
                                 "host or container:NAME",
                                 want);
        _cleanup_free_ char *mode = xstrdup(want);
        if (kind == KIND_CONTAINER) {
                struct ctr other = {0};
                int r = ctr_lookup(e->store->db, want + 10, &other, err);
                if (r < 0)
                        return error_wrap(err, r, "--network '%s'", want);
                free(mode);
                mode = xasprintf("container:%s", other.id);
                ctr_free(&other);
        }
        if (kind != KIND_BRIDGE) {
                const char *what = (o->publish || o->publish_all) && kind != KIND_PASTA ? "-p/-P"
                                   : o->ip                                              ? "--ip"
                                   : o->mac ? "--mac-address"
                                            : NULL;
                if (what)
                        return error_msg(err, -EINVAL,
                                         "%s needs a bridge network, not --network '%s'%s", what,
                                         want,
                                         kind == KIND_HOST ? " (the container uses the host's "
                                                             "ports directly)"
                                                           : "");
                if (kind == KIND_CONTAINER && (o->dns || o->add_hosts || o->hostname))
                        return error_msg(err, -EINVAL,
                                         "--dns, --add-host and --hostname conflict with "
                                         "--network '%s': the container shares those of the "
                                         "other",
                                         want);
        }
        if (o->ip) {
                struct in_addr a;
                if (inet_pton(AF_INET, o->ip, &a) != 1)
                        return error_msg(err, -EINVAL, "invalid --ip '%s': not an IPv4 address",
                                         o->ip);
        }
        if (o->mac && !valid_mac(o->mac))
                return error_msg(err, -EINVAL,
                                 "invalid --mac-address '%s': want six hex pairs "
                                 "(02:42:ac:11:00:02)",
                                 o->mac);
        for (char *const *d = o->dns; d && *d; d++) {
                struct in_addr a;
                struct in6_addr a6;
                if (inet_pton(AF_INET, *d, &a) != 1 && inet_pton(AF_INET6, *d, &a6) != 1)
                        return error_msg(err, -EINVAL, "invalid --dns '%s': not an IP address", *d);
        }
        for (char *const *h = o->add_hosts; h && *h; h++) {
                int r = net_check_extra_host(*h, err);
                if (r < 0)
                        return r;
                if (kind != KIND_BRIDGE && strstr(*h, ":host-gateway"))
                        return error_msg(err, -EINVAL,
                                         "--add-host '%s': host-gateway needs a bridge network",
                                         *h);
        }
        struct json_object *endpoints = json_object_new_object();
        if (kind == KIND_BRIDGE) {
                _cleanup_net_ struct net_ctx *ctx = NULL;
                struct network *n = NULL;
                int r = net_open(e->root, &ctx, err);
                if (r == 0)
                        r = net_network_get(ctx, network_ref(want), &n, err);
                if (r == 0 && n->internal && (o->publish || o->publish_all))
                        r = error_msg(err, -EINVAL,
                                      "-p/-P: network '%s' is internal (no way in or out): "
                                      "nothing can be published from it",
                                      n->name);
                network_free(n);
                if (r < 0) {
                        json_object_put(endpoints);
                        return r;
                }
                struct json_object *ep = json_object_new_object();
                struct json_object *ipam = json_object_new_object();
                if (o->ip)
                        add(ipam, "IPv4Address", json_object_new_string(o->ip));
                add(ep, "IPAMConfig", ipam);
                if (o->network_aliases) /* gaps */
                        add(ep, "Aliases", str_array(o->network_aliases));
                add(endpoints, network_ref(want), ep);
        } else if (o->network_aliases) {
                json_object_put(endpoints);
                return error_msg(err, -EINVAL,
                                 "--network-alias needs a bridge network, not "
                                 "--network '%s'",
                                 want);
        }
        struct json_object *nc = json_object_new_object();
        add(nc, "EndpointsConfig", endpoints);
        add(doc, "NetworkingConfig", nc);
        add(hc, "NetworkMode", json_object_new_string(mode));
        add(hc, "Dns", str_array(o->dns));
        add(hc, "ExtraHosts", str_array(o->add_hosts));
        if (o->mac)
                add(cfg, "MacAddress", json_object_new_string(o->mac));
        if (kind == KIND_HOST && !o->hostname) {
                /* As docker: the host's name. */
                char host[256] = "";
                gethostname(host, sizeof(host) - 1);
                add(cfg, "Hostname", json_object_new_string(host));
        }
        return make_ports(image_cfg, o, cfg, hc, err);
}

/* ---------------------------------------------------------------- the bundle */

static int write_at(const char *dir, const char *name, const char *text, struct error *err)
{
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return error_sys(err, -errno, "open '%s'", dir);
        int r = write_file_atomic(dfd, name, text, strlen(text), 0644);
        if (r < 0)
                return error_sys(err, r, "write '%s/%s'", dir, name);
        return 0;
}

static void set_mount_source(struct json_object *spec, const char *dest, const char *source)
{
        struct json_object *mounts = jfield(spec, "mounts");
        for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
                struct json_object *m = json_object_array_get_idx(mounts, i);
                const char *d = jstr(m, "destination");
                if (d && strcmp(d, dest) == 0) {
                        add(m, "source", json_object_new_string(source));
                        return;
                }
        }
        struct json_object *m = json_object_new_object();
        add(m, "destination", json_object_new_string(dest));
        add(m, "type", json_object_new_string("bind"));
        add(m, "source", json_object_new_string(source));
        struct json_object *opts = json_object_new_array();
        json_object_array_add(opts, json_object_new_string("rbind"));
        json_object_array_add(opts, json_object_new_string("rprivate"));
        add(m, "options", opts);
        json_object_array_add(mounts, m);
}

/* Drops (path NULL) or points the spec's network namespace at path. */
static void set_netns(struct json_object *spec, const char *path)
{
        struct json_object *nss = jfield(jfield(spec, "linux"), "namespaces");
        for (size_t i = 0; nss && i < json_object_array_length(nss); i++) {
                struct json_object *ns = json_object_array_get_idx(nss, i);
                const char *t = jstr(ns, "type");
                if (!t || strcmp(t, "network") != 0)
                        continue;
                if (path)
                        add(ns, "path", json_object_new_string(path));
                else
                        json_object_array_del_idx(nss, i, 1);
                return;
        }
}

int ctr_net_spec(struct engine *e, struct json_object *doc, const char *id, const char *ctr_dir,
                 struct json_object *spec, struct error *err)
{
        (void)id;
        const char *mode = mode_of(doc);
        enum net_kind kind = kind_of(mode);
        struct json_object *hc = jfield(doc, "HostConfig");
        _cleanup_strv_ char **dns = strv_of(jfield(hc, "Dns"));
        _cleanup_strv_ char **extra = strv_of(jfield(hc, "ExtraHosts"));
        _cleanup_free_ char *resolv = xasprintf("%s/resolv.conf", ctr_dir);
        int r = 0;
        if (kind == KIND_CONTAINER) {
                struct ctr other = {0};
                r = ctr_get(e->store->db, mode + 10, &other, err);
                if (r < 0)
                        return error_wrap(err, r, "--network '%s'", mode);
                bool running = strcmp(other.state, "running") == 0 && other.pid > 0;
                pid_t pid = other.pid;
                _cleanup_free_ char *name = xstrdup(other.name);
                ctr_free(&other);
                if (!running)
                        return error_msg(err, -ESRCH,
                                         "--network container:%s: that container is not running",
                                         name);
                _cleanup_free_ char *ns = xasprintf("/proc/%d/ns/net", (int)pid);
                set_netns(spec, ns);
                /* Its names and resolver too, as docker. */
                _cleanup_free_ char *odir = engine_ctr_dir(e, mode + 10);
                _cleanup_free_ char *hosts = xasprintf("%s/hosts", odir);
                _cleanup_free_ char *oresolv = xasprintf("%s/resolv.conf", odir);
                set_mount_source(spec, "/etc/hosts", hosts);
                set_mount_source(spec, "/etc/resolv.conf", oresolv);
                return 0;
        }
        if (kind == KIND_HOST) {
                set_netns(spec, NULL);
                /* The host's files as they are: its loopback resolver is reachable. */
                _cleanup_free_ char *text = NULL, *hosts = NULL;
                if ((r = read_file_at(AT_FDCWD, "/etc/resolv.conf", 1 << 20, &text, NULL)) < 0 &&
                    r != -ENOENT)
                        return error_sys(err, r, "read '/etc/resolv.conf'");
                if ((r = write_at(ctr_dir, "resolv.conf", text ? text : "", err)) < 0)
                        return r;
                if ((r = read_file_at(AT_FDCWD, "/etc/hosts", 1 << 20, &hosts, NULL)) < 0 &&
                    r != -ENOENT)
                        return error_sys(err, r, "read '/etc/hosts'");
                _cleanup_free_ char *all = xstrdup(hosts ? hosts : "");
                for (char **h = extra; h && *h; h++) {
                        const char *c = strchr(*h, ':');
                        char *n = xasprintf("%s%s\t%.*s\n", all, c + 1, (int)(c - *h), *h);
                        free(all);
                        all = n;
                }
                if ((r = write_at(ctr_dir, "hosts", all, err)) < 0)
                        return r;
        } else {
                if ((r = net_write_resolv_conf(resolv, "/etc/resolv.conf", dns, err)) < 0)
                        return r;
                if (kind == KIND_NONE || kind == KIND_PASTA) {
                        const char *hostname = jstr(jfield(doc, "Config"), "Hostname");
                        _cleanup_free_ char *self =
                            xasprintf("127.0.0.1\t%s", hostname ? hostname : "localhost");
                        char *entries[] = {self, NULL};
                        _cleanup_free_ char *text = net_hosts_render(extra, NULL, entries);
                        if ((r = write_at(ctr_dir, "hosts", text, err)) < 0)
                                return r;
                }
                /* Bridge: net_attach writes the hosts file with the peers. */
        }
        set_mount_source(spec, "/etc/resolv.conf", resolv);
        return 0;
}

/* ---------------------------------------------------------------- attach, release */

/* The published ports the document asks for; with PublishAllPorts every
 * exposed port without a binding gets a free host port. */
static void doc_ports(struct json_object *doc, struct net_port **ret, size_t *ret_n)
{
        struct json_object *hc = jfield(doc, "HostConfig"), *cfg = jfield(doc, "Config");
        struct net_port *v = NULL;
        size_t n = 0;
        struct json_object *bindings = jfield(hc, "PortBindings");
        struct json_object *all = jfield(hc, "PublishAllPorts");
        struct json_object *exposed = jfield(cfg, "ExposedPorts");
        for (int pass = 0; pass < 2; pass++) {
                struct json_object *src = pass == 0 ? bindings : exposed;
                if (!src || (pass == 1 && !(all && json_object_get_boolean(all))))
                        continue;
                json_object_object_foreach(src, key, list)
                {
                        unsigned port = 0;
                        char proto[8] = "tcp";
                        if (sscanf(key, "%u/%7s", &port, proto) < 1 || port == 0 || port > 65535 ||
                            (strcmp(proto, "tcp") && strcmp(proto, "udp")))
                                continue;
                        if (pass == 1 && bindings && jfield(bindings, key))
                                continue;
                        size_t nb = pass == 0 && json_object_is_type(list, json_type_array)
                                        ? json_object_array_length(list)
                                        : 1;
                        for (size_t i = 0; i < nb; i++) {
                                struct json_object *b =
                                    pass == 0 ? json_object_array_get_idx(list, i) : NULL;
                                const char *ip = jstr(b, "HostIp"), *hp = jstr(b, "HostPort");
                                v = xrealloc(v, (n + 1) * sizeof(*v));
                                struct net_port *p = &v[n++];
                                memset(p, 0, sizeof(*p));
                                snprintf(p->host_ip, sizeof(p->host_ip), "%s",
                                         ip && *ip ? ip : "0.0.0.0");
                                p->host_port = hp && *hp ? (uint16_t)atoi(hp) : 0;
                                p->container_port = (uint16_t)port;
                                snprintf(p->proto, sizeof(p->proto), "%s", proto);
                        }
                }
        }
        *ret = v;
        *ret_n = n;
}

static int attach_one(struct net_ctx *ctx, struct engine *e, const struct ctr *c,
                      struct json_object *doc, int nsfd, const char *shown, const char *net,
                      const char *ip, bool primary, struct error *err)
{
        struct json_object *cfg = jfield(doc, "Config"), *hc = jfield(doc, "HostConfig");
        _cleanup_strv_ char **extra = strv_of(jfield(hc, "ExtraHosts"));
        _cleanup_free_ struct net_port *ports = NULL;
        size_t n = 0;
        if (primary)
                doc_ports(doc, &ports, &n);
        _cleanup_free_ char *dir = engine_ctr_dir(e, c->id);
        _cleanup_free_ char *hosts = xasprintf("%s/hosts", dir);
        struct json_object *eps = jfield(jfield(doc, "NetworkingConfig"), "EndpointsConfig");
        _cleanup_strv_ char **aliases = strv_of(jfield(jfield(eps, net), "Aliases")); /* gaps */
        struct net_attach_opts o = {
            .container_id = c->id,
            .name = c->name,
            .hostname = jstr(cfg, "Hostname"),
            .ip = ip && *ip ? ip : NULL,
            .mac = primary ? jstr(cfg, "MacAddress") : NULL,
            .ports = ports,
            .n_ports = n,
            .hosts_path = hosts,
            .extra_hosts = extra,
            .aliases = aliases,
        };
        struct net_attachment *a = NULL;
        int r = net_attach(ctx, nsfd, shown, net, &o, &a, err);
        net_attachment_free(a);
        return r;
}

int ctr_net_attach(struct engine *e, const struct ctr *c, struct json_object *doc, pid_t init,
                   struct error *err)
{
        if (kind_of(mode_of(doc)) == KIND_PASTA) { /* rootless */
                _cleanup_free_ struct net_port *ports = NULL;
                size_t n = 0;
                doc_ports(doc, &ports, &n);
                _cleanup_free_ char *run = engine_run_dir(e, c->id);
                return pasta_start(run, init, ports, n, err);
        }
        if (kind_of(mode_of(doc)) != KIND_BRIDGE)
                return 0;
        struct json_object *eps = jfield(jfield(doc, "NetworkingConfig"), "EndpointsConfig");
        if (!eps || json_object_object_length(eps) == 0)
                return 0;
        _cleanup_free_ char *shown = xasprintf("/proc/%d/ns/net", (int)init);
        _cleanup_close_ int nsfd = open(shown, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                return error_sys(err, -errno, "open '%s'", shown);
        _cleanup_net_ struct net_ctx *ctx = NULL;
        int r = net_open(e->root, &ctx, err);
        if (r < 0)
                return r;
        bool primary = true;
        json_object_object_foreach(eps, name, ep)
        {
                const char *ip = jstr(jfield(ep, "IPAMConfig"), "IPv4Address");
                r = attach_one(ctx, e, c, doc, nsfd, shown, name, ip, primary, err);
                if (r < 0) {
                        struct error ign = {0};
                        ctr_net_release(e, c->id, &ign);
                        return r;
                }
                primary = false;
        }
        return 0;
}

bool ctr_net_bridged(struct json_object *doc)
{
        return kind_of(mode_of(doc)) == KIND_BRIDGE;
}

void ctr_net_release_pasta(struct engine *e, const char *id)
{
        _cleanup_free_ char *pasta_run = engine_run_dir(e, id); /* rootless */
        pasta_stop(pasta_run);
}

int ctr_net_release(struct engine *e, const char *id, struct error *err)
{
        ctr_net_release_pasta(e, id);
        _cleanup_net_ struct net_ctx *ctx = NULL;
        int r = net_open(e->root, &ctx, err);
        if (r < 0)
                return r;
        struct net_attachment **v = NULL;
        size_t n = 0;
        if ((r = net_container_attachments(ctx, id, &v, &n, err)) < 0)
                return r;
        int first = 0;
        for (size_t i = 0; i < n; i++) {
                struct error e2 = {0};
                r = net_detach(ctx, v[i], &e2);
                if (r < 0 && first == 0) {
                        first = error_msg(err, r, "%s", e2.msg);
                }
                error_clear(&e2);
        }
        net_attachments_free(v, n);
        return first;
}

/* ---------------------------------------------------------------- connect, disconnect */

static int save_doc(struct engine *e, const struct ctr *c, struct json_object *doc,
                    struct error *err)
{
        return ctr_set_config(e->store->db, c->id, json_compact(doc), err);
}

static bool is_running(const struct ctr *c)
{
        return strcmp(c->state, "running") == 0 && c->pid > 0;
}

int ctr_net_connect(struct engine *e, const struct ctr *c, const char *net, const char *ip,
                    char *const *aliases, struct error *err)
{
        _cleanup_json_ struct json_object *doc = NULL;
        int r = json_parse_string("container config", c->config, &doc, err);
        if (r < 0)
                return r;
        const char *mode = mode_of(doc);
        if (kind_of(mode) != KIND_BRIDGE)
                return error_msg(err, -EINVAL,
                                 "container %s uses --network %s: it cannot join a network",
                                 c->name, mode ? mode : "none");
        if (ip) {
                struct in_addr a;
                if (inet_pton(AF_INET, ip, &a) != 1)
                        return error_msg(err, -EINVAL, "invalid --ip '%s': not an IPv4 address",
                                         ip);
        }
        _cleanup_net_ struct net_ctx *ctx = NULL;
        struct network *n = NULL;
        if ((r = net_open(e->root, &ctx, err)) < 0 ||
            (r = net_network_get(ctx, network_ref(net), &n, err)) < 0)
                return r;
        _cleanup_free_ char *name = xstrdup(n->name);
        network_free(n);
        struct json_object *nc = jfield(doc, "NetworkingConfig");
        if (!nc) {
                nc = json_object_new_object();
                add(doc, "NetworkingConfig", nc);
        }
        struct json_object *eps = jfield(nc, "EndpointsConfig");
        if (!eps) {
                eps = json_object_new_object();
                add(nc, "EndpointsConfig", eps);
        }
        if (jfield(eps, name))
                return error_msg(err, -EEXIST, "container %s is already connected to network %s",
                                 c->name, name);
        for (size_t i = 0; aliases && aliases[i]; i++) /* gaps: --alias */
                if (!net_valid_hostname(aliases[i], strlen(aliases[i])))
                        return error_msg(err, -EINVAL,
                                         "invalid --alias '%s': want letters, digits, '-', '.' "
                                         "or '_'",
                                         aliases[i]);
        struct json_object *ep = json_object_new_object();
        struct json_object *ipam = json_object_new_object();
        if (ip)
                add(ipam, "IPv4Address", json_object_new_string(ip));
        add(ep, "IPAMConfig", ipam);
        if (aliases && aliases[0])
                add(ep, "Aliases", str_array(aliases));
        add(eps, name, ep); /* before attaching: attach_one reads its aliases */
        if (is_running(c)) {
                _cleanup_free_ char *shown = xasprintf("/proc/%d/ns/net", (int)c->pid);
                _cleanup_close_ int nsfd = open(shown, O_RDONLY | O_CLOEXEC);
                if (nsfd < 0)
                        return error_sys(err, -errno, "open '%s'", shown);
                if ((r = attach_one(ctx, e, c, doc, nsfd, shown, name, ip, false, err)) < 0)
                        return r;
        }
        if ((r = save_doc(e, c, doc, err)) < 0 && is_running(c)) {
                struct net_attachment *a = NULL;
                struct error ign = {0};
                if (net_attachment_get(ctx, name, c->id, &a, &ign) == 0)
                        net_detach(ctx, a, &ign);
                net_attachment_free(a);
        }
        return r;
}

int ctr_net_rename(struct engine *e, const char *id, const char *name, struct error *err)
{
        _cleanup_net_ struct net_ctx *ctx = NULL;
        int r = net_open(e->root, &ctx, err);
        if (r < 0)
                return r;
        return net_rename_container(ctx, id, name, err);
}

int ctr_net_disconnect(struct engine *e, const struct ctr *c, const char *net, struct error *err)
{
        _cleanup_json_ struct json_object *doc = NULL;
        int r = json_parse_string("container config", c->config, &doc, err);
        if (r < 0)
                return r;
        _cleanup_net_ struct net_ctx *ctx = NULL;
        struct network *n = NULL;
        if ((r = net_open(e->root, &ctx, err)) < 0 ||
            (r = net_network_get(ctx, network_ref(net), &n, err)) < 0)
                return r;
        _cleanup_free_ char *name = xstrdup(n->name);
        network_free(n);
        struct json_object *eps = jfield(jfield(doc, "NetworkingConfig"), "EndpointsConfig");
        struct net_attachment *a = NULL;
        struct error ign = {0};
        bool attached = net_attachment_get(ctx, name, c->id, &a, &ign) == 0;
        if (!attached && !jfield(eps, name))
                return error_msg(err, -ENOENT, "container %s is not connected to network %s",
                                 c->name, name);
        if (attached) {
                r = net_detach(ctx, a, err);
                net_attachment_free(a);
                if (r < 0)
                        return r;
        }
        if (eps && jfield(eps, name)) {
                json_object_object_del(eps, name);
                return save_doc(e, c, doc, err);
        }
        return 0;
}

/* ---------------------------------------------------------------- port, ps, inspect */

int ctr_net_ports(struct engine *e, const char *id, struct net_port **ret, size_t *ret_n,
                  struct error *err)
{
        _cleanup_free_ char *pasta_run = engine_run_dir(e, id); /* rootless */
        if (pasta_ports(pasta_run, ret, ret_n))
                return 0;
        /* speed: ps asks for every container; one network store for them all. */
        int r = e->net_cache ? 0 : net_open(e->root, &e->net_cache, err);
        if (r < 0)
                return r;
        struct net_ctx *ctx = e->net_cache;
        struct net_attachment **v = NULL;
        size_t n = 0;
        if ((r = net_container_attachments(ctx, id, &v, &n, err)) < 0)
                return r;
        struct net_port *out = NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (!v[i]->n_ports)
                        continue;
                out = xrealloc(out, (k + v[i]->n_ports) * sizeof(*out));
                memcpy(out + k, v[i]->ports, v[i]->n_ports * sizeof(*out));
                k += v[i]->n_ports;
        }
        net_attachments_free(v, n);
        *ret = out;
        *ret_n = k;
        return 0;
}

static int port_table_load(struct engine *e, struct ctr_port_table *t, struct error *err)
{
        /* The order of ctr_net_ports: attachments by created, network_id,
         * ports by proto, host_port; only networks that exist. */
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(e->store->db,
                           "SELECT p.container_id, p.host_ip, p.host_port, p.container_port, "
                           "p.proto FROM network_ports p JOIN network_allocations a ON "
                           "a.network_id = p.network_id AND a.container_id = p.container_id "
                           "JOIN networks n ON n.id = p.network_id ORDER BY p.container_id, "
                           "a.created, a.network_id, p.proto, p.host_port",
                           &st, err);
        if (r < 0)
                return r;
        while ((r = db_step(e->store->db, st, err)) > 0) {
                t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
                struct ctr_port_row *row = &t->v[t->n++];
                memset(row, 0, sizeof(*row));
                row->id = db_col_str(st, 0);
                snprintf(row->p.host_ip, sizeof(row->p.host_ip), "%s",
                         (const char *)sqlite3_column_text(st, 1));
                row->p.host_port = (uint16_t)sqlite3_column_int(st, 2);
                row->p.container_port = (uint16_t)sqlite3_column_int(st, 3);
                snprintf(row->p.proto, sizeof(row->p.proto), "%s",
                         (const char *)sqlite3_column_text(st, 4));
        }
        if (r < 0) /* ps shows no ports then; not asked again for each row */
                ctr_port_table_free(t);
        t->loaded = true;
        return r;
}

int ctr_net_ports_ps(struct engine *e, struct ctr_port_table *t, const char *id,
                     struct json_object *doc, struct net_port **ret, size_t *ret_n,
                     struct error *err)
{
        *ret = NULL;
        *ret_n = 0;
        if (kind_of(mode_of(doc)) == KIND_PASTA) { /* rootless */
                _cleanup_free_ char *run = engine_run_dir(e, id);
                pasta_ports(run, ret, ret_n);
                return 0;
        }
        int r = t->loaded ? 0 : port_table_load(e, t, err);
        if (r < 0)
                return r;
        size_t lo = 0, hi = t->n;
        while (lo < hi) { /* the first row of id */
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(t->v[mid].id, id) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        size_t k = 0;
        while (lo + k < t->n && strcmp(t->v[lo + k].id, id) == 0)
                k++;
        if (k == 0)
                return 0;
        *ret = xmalloc(k * sizeof(**ret));
        for (size_t i = 0; i < k; i++)
                (*ret)[i] = t->v[lo + i].p;
        *ret_n = k;
        return 0;
}

void ctr_port_table_free(struct ctr_port_table *t)
{
        for (size_t i = 0; i < t->n; i++)
                free(t->v[i].id);
        free(t->v);
        memset(t, 0, sizeof(*t));
}

char *ctr_net_ports_text(const struct net_port *p, size_t n)
{
        char *s = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *t = xasprintf("%s%s%s:%u->%u/%s", s, i ? ", " : "", p[i].host_ip,
                                    p[i].host_port, p[i].container_port, p[i].proto);
                free(s);
                s = t;
        }
        return s;
}

static struct json_object *endpoint_json(const struct net_attachment *a, struct json_object *ep)
{
        struct json_object *o = json_object_new_object();
        struct json_object *al = jfield(ep, "Aliases"); /* gaps: null when none, as docker */
        add(o, "Aliases", al ? json_object_get(al) : NULL);
        add(o, "NetworkID", json_object_new_string(a ? a->network_id : ""));
        add(o, "Gateway", json_object_new_string(a && a->gateway ? a->gateway : ""));
        add(o, "IPAddress", json_object_new_string(a && a->address ? a->address : ""));
        add(o, "IPPrefixLen", json_object_new_int(a ? (int)a->prefixlen : 0));
        add(o, "MacAddress", json_object_new_string(a && a->mac ? a->mac : ""));
        return o;
}

struct json_object *ctr_net_settings(struct engine *e, const struct ctr *c, struct json_object *doc)
{
        struct json_object *net = json_object_new_object();
        struct json_object *networks = json_object_new_object();
        struct json_object *ports = json_object_new_object();
        struct net_attachment **v = NULL;
        size_t n = 0;
        _cleanup_net_ struct net_ctx *ctx = NULL;
        struct error ign = {0};
        if (net_open(e->root, &ctx, &ign) < 0 ||
            net_container_attachments(ctx, c->id, &v, &n, &ign) < 0)
                n = 0;
        const char *mode = mode_of(doc);
        enum net_kind kind = kind_of(mode);
        /* Configured networks first (empty while stopped), then what is attached. */
        struct json_object *eps = jfield(jfield(doc, "NetworkingConfig"), "EndpointsConfig");
        if (eps) {
                json_object_object_foreach(eps, name, ep)
                {
                        add(networks, name, endpoint_json(NULL, ep));
                }
        }
        if (kind == KIND_HOST || kind == KIND_NONE)
                add(networks, kind == KIND_HOST ? "host" : "none", endpoint_json(NULL, NULL));
        for (size_t i = 0; i < n; i++) {
                add(networks, v[i]->network_name,
                    endpoint_json(v[i], jfield(eps, v[i]->network_name)));
                for (size_t j = 0; j < v[i]->n_ports; j++) {
                        const struct net_port *p = &v[i]->ports[j];
                        char key[16], hp[8];
                        snprintf(key, sizeof(key), "%u/%s", p->container_port, p->proto);
                        snprintf(hp, sizeof(hp), "%u", p->host_port);
                        struct json_object *list = jfield(ports, key);
                        if (!list || !json_object_is_type(list, json_type_array)) {
                                list = json_object_new_array();
                                add(ports, key, list);
                        }
                        struct json_object *b = json_object_new_object();
                        add(b, "HostIp", json_object_new_string(p->host_ip));
                        add(b, "HostPort", json_object_new_string(hp));
                        json_object_array_add(list, b);
                }
        }
        /* Exposed but not published: null, as docker. */
        struct json_object *exposed = jfield(jfield(doc, "Config"), "ExposedPorts");
        if (exposed && n > 0) {
                json_object_object_foreach(exposed, key, val)
                {
                        (void)val;
                        if (!jfield(ports, key))
                                add(ports, key, NULL);
                }
        }
        const struct net_attachment *first = n ? v[0] : NULL;
        add(net, "Bridge", json_object_new_string(first ? first->bridge : ""));
        _cleanup_free_ char *sandbox = is_running(c) && kind != KIND_HOST
                                           ? xasprintf("/proc/%d/ns/net", (int)c->pid)
                                           : xstrdup("");
        add(net, "SandboxKey", json_object_new_string(sandbox));
        add(net, "Ports", ports);
        add(net, "Gateway", json_object_new_string(first && first->gateway ? first->gateway : ""));
        add(net, "IPAddress",
            json_object_new_string(first && first->address ? first->address : ""));
        add(net, "IPPrefixLen", json_object_new_int(first ? (int)first->prefixlen : 0));
        add(net, "MacAddress", json_object_new_string(first && first->mac ? first->mac : ""));
        add(net, "Networks", networks);
        net_attachments_free(v, n);
        return net;
}
