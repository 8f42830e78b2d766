/* Rootless husk: the engine run by an unprivileged user (as rootless Podman).
 *
 * Every husk command run by a user other than root enters one long-lived
 * user namespace and mount namespace, held open by a tiny "pause" process
 * (RUNROOT/pause.pid). The user's own uid is root (0) there and its ranges
 * from /etc/subuid and /etc/subgid are ids 1..N (written by newuidmap and
 * newgidmap). Inside, the engine runs as that "root" with almost no change:
 * image layers are unpacked with their owners mapped to subordinate ids, the
 * overlay mounts of running containers live in the pause's mount namespace,
 * so later commands (ps, exec, stop, rm) see them. The first command that
 * needs it creates the pause process; later ones join it with setns; a pause
 * process gone (killed, reboot) is created again.
 */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"

/* Enters the pause process's namespaces (creating it first when there is
 * none), when the caller is not root; nothing when it is. runroot is where
 * pause.pid and pause.lock live. The current directory is kept. Must be
 * called while the process has a single thread. */
int rootless_enter(const char *runroot, struct error *err);

/* Whether husk runs rootless: as an unprivileged user, inside the pause
 * process's user namespace (or any user namespace other than the host's). */
bool rootless_active(void);

/* The caller's uid on the host: the id that 0 maps to in its user namespace
 * (the user's own, inside the pause process's), else its euid. */
uid_t rootless_host_uid(void);

/* Brings up lo in the network namespace of init from a child process (a
 * rootless process could not come back to the host's namespace); nothing for
 * a container in the host's own namespace. */
int rootless_loopback_up(pid_t init, struct error *err);
