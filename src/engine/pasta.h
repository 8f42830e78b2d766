/* Rootless networking through pasta (Debian package passt): a user-mode
 * TCP/IP stack that connects a container's network namespace to the host's
 * sockets, with no bridge, veth or nftables (none of which a user may make).
 *
 * The monitor starts pasta once the container's namespace exists: pasta
 * configures the namespace with the host's address, routes and resolvers
 * (--config-net), forwards the published ports (-t/-u [IP/]HOSTPORT:PORT) by
 * listening on the host and connecting inside, and maps connections to the
 * gateway address to the host's loopback. pasta forks into the background;
 * its pid goes to RUNDIR/pasta.pid and the ports it was given (host ports
 * chosen) to RUNDIR/pasta.ports. It is killed when the container stops, or by
 * the next husk command when the monitor died.
 */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"
#include "engine/network.h"

/* Starts pasta for the network namespace of init, publishing ports (host
 * port 0: a free one). A host port already taken is an error before pasta
 * starts. On failure nothing is left running. */
int pasta_start(const char *run_dir, pid_t init, const struct net_port *ports, size_t n,
                struct error *err);

/* Kills the container's pasta (when it still runs) and removes its files.
 * Idempotent. */
void pasta_stop(const char *run_dir);

/* The ports pasta publishes for the container (none when it has no pasta).
 * Returns 1 when the container uses pasta, 0 when not. */
int pasta_ports(const char *run_dir, struct net_port **ret, size_t *ret_n);
