/* A container's networks: the flags of create/run (--network, -p, -P, --ip,
 * --mac-address, --dns, --add-host) in its stored document, the OCI
 * config's network namespace and /etc/resolv.conf, the attach when it
 * starts (network.h: net_attach), the release when it stops or is removed,
 * network connect/disconnect, and what inspect, ps and port show.
 *
 * In the stored document: HostConfig.NetworkMode ("bridge", "none", "host",
 * "container:ID" or a network's name), HostConfig.PortBindings
 * ({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}, HostPort ""
 * for a free one), HostConfig.PublishAllPorts, HostConfig.Dns,
 * HostConfig.ExtraHosts, Config.ExposedPorts, Config.MacAddress, and
 * NetworkingConfig.EndpointsConfig: the networks it joins at each start, in
 * order ({"NAME": {"IPAMConfig": {"IPv4Address": "10.1.2.3"}}}); the first
 * gets the published ports. See docs/network.md.
 */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"
#include "engine/engine.h"
#include "engine/network.h"

/* engine_create: checks the network flags and writes them into doc. */
int ctr_net_make(struct engine *e, struct json_object *image_cfg, const struct ctr_create_opts *o,
                 struct json_object *doc, struct error *err);

/* The monitor, writing the bundle: /etc/resolv.conf (and /etc/hosts for
 * the modes without an attach) in ctr_dir, and spec's network namespace
 * (none for host, the other container's for container:X). */
int ctr_net_spec(struct engine *e, struct json_object *doc, const char *id, const char *ctr_dir,
                 struct json_object *spec, struct error *err);

/* The monitor, after create and before start: attaches the namespace of
 * init to the container's networks. Nothing attached is left on failure. */
int ctr_net_attach(struct engine *e, const struct ctr *c, struct json_object *doc, pid_t init,
                   struct error *err);

/* Detaches every network of the container (recorded attachments; a gone
 * namespace is fine). Idempotent. */
int ctr_net_release(struct engine *e, const char *id, struct error *err);
/* startproto: only what a non-bridge container can hold (rootless: pasta). */
void ctr_net_release_pasta(struct engine *e, const char *id);
/* startproto: whether the container's network mode joins networks (a bridge
 * network: only those can hold attachments). */
bool ctr_net_bridged(struct json_object *doc);

/* `network connect`: a running container is attached now; any container
 * joins the network at its next starts. ip may be NULL; aliases (--alias,
 * may be NULL): more names of it on that network. */
int ctr_net_connect(struct engine *e, const struct ctr *c, const char *net, const char *ip,
                    char *const *aliases, struct error *err);
/* gaps: after `rename`: the hosts files of the networks container id is on
 * (its own and its peers') name it by its new name. */
int ctr_net_rename(struct engine *e, const char *id, const char *name, struct error *err);
/* `network disconnect`. */
int ctr_net_disconnect(struct engine *e, const struct ctr *c, const char *net, struct error *err);

/* The published ports of a running container (host ports as chosen). */
int ctr_net_ports(struct engine *e, const char *id, struct net_port **ret, size_t *ret_n,
                  struct error *err);
/* ps: the published ports of every container on a network, read in one
 * query when ps needs the first of them (one query per container and
 * network, on a second connection, cost ~0.1 ms a row). */
struct ctr_port_table {
        bool loaded;
        struct ctr_port_row {
                char *id; /* the container */
                struct net_port p;
        } * v; /* by container id, then in ctr_net_ports' order */
        size_t n;
};
/* ps: ports of running container id (doc: its stored document) as
 * ctr_net_ports gives them: pasta's from its run dir, the others from t
 * (loaded on first use). */
int ctr_net_ports_ps(struct engine *e, struct ctr_port_table *t, const char *id,
                     struct json_object *doc, struct net_port **ret, size_t *ret_n,
                     struct error *err);
void ctr_port_table_free(struct ctr_port_table *t);
/* "0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp" (ps's PORTS); "" for none. */
char *ctr_net_ports_text(const struct net_port *p, size_t n);
/* inspect's NetworkSettings. */
struct json_object *ctr_net_settings(struct engine *e, const struct ctr *c,
                                     struct json_object *doc);
