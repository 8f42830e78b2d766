/* The uid and gid maps of a container's new user namespace, written by the
 * runtime (in the parent user namespace) once the init exists.
 *
 * As root the maps are written directly. An unprivileged caller may write
 * directly only a single line that maps its own euid (egid, after "deny" in
 * /proc/PID/setgroups); anything else goes through the setuid helpers
 * newuidmap/newgidmap (package uidmap), which allow the caller's own id and
 * its subordinate ids from /etc/subuid and /etc/subgid. This is what runc and
 * crun do. When a helper refuses, the error names the linux.uidMappings or
 * linux.gidMappings entry that /etc/subuid or /etc/subgid does not grant.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "runtime/spec.h"

/* Whether the runtime acts rootless (state root, cgroups only where it may
 * create them, device rules ignored), as runc decides it: the global
 * --rootless true|false, or by default (auto) when it is not root, or is
 * root of a user namespace other than the host's (as under rootless Podman,
 * which runs the runtime inside its own user namespace). */
enum userns_rootless_mode { ROOTLESS_AUTO, ROOTLESS_TRUE, ROOTLESS_FALSE };
void userns_set_rootless(enum userns_rootless_mode mode);
bool userns_rootless(void);
/* Whether this process is in a user namespace other than the initial one
 * (its uid_map is not the identity "0 0 4294967295"). */
bool userns_in_child_namespace(void);
/* "uid 1000", or "root of a user namespace": who the runtime runs as, for messages. */
const char *userns_caller(void);

/* Writes the maps of s (linux.uidMappings, linux.gidMappings) for pid. */
int userns_write_maps(const struct spec *s, pid_t pid, struct error *err);

/* Whether the caller (user name, id) may map host ids [host, host + size)
 * according to subid_text, the contents of /etc/subuid or /etc/subgid
 * ("NAME_OR_ID:START:COUNT" lines): its own id alone (size 1), or ids that
 * the union of its ranges covers. */
bool userns_subid_allows(const char *subid_text, const char *user, uint32_t id, uint32_t host,
                         uint32_t size);
