/* husk cp: files between a container and the host, both ways, for running
 * and stopped containers.
 *
 * Every container path is resolved inside the container's root with
 * openat2(RESOLVE_IN_ROOT) (core/safepath.h): "..", absolute symlinks and
 * renames racing the copy stay inside the container. The last component is
 * then handled relative to its parent's fd, never followed. The root is the
 * running container's own (/proc/PID/root, so its volumes and tmpfs mounts
 * are seen), or for a stopped one a detached overlay of its layers and upper
 * dir (fsopen/fsmount, never attached to a path, gone when closed).
 */
#pragma once
#include <stdbool.h>

#include "core/error.h"
#include "engine/engine.h"

/* Container path src to host path dst ("-": a tar stream to outfd). As
 * docker's: the copies belong to the caller unless archive (keep owners);
 * a tar stream carries the source's owners. follow (cp -L): a src that is a
 * symlink is replaced by its target, resolved inside the container's root. */
int engine_cp_from(struct engine *e, const struct ctr *c, const char *src, const char *dst,
                   int outfd, bool archive, bool follow, struct error *err);
/* Host path src ("-": a tar stream read from infd) to container path dst;
 * the copies belong to root (uid 0) unless archive; a tar stream's entries
 * keep their owners. A dst that is a symlink is followed, inside the root. */
int engine_cp_to(struct engine *e, const struct ctr *c, const char *src, int infd, const char *dst,
                 bool archive, struct error *err);
