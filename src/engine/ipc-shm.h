/* /dev/shm for docker's IPC modes beyond host (runflags.c binds the host's):
 *
 *   shareable      the container's /dev/shm is a tmpfs the engine mounts on
 *                  the host (CTR_DIR/shm) and binds in, so another container
 *                  can bind the same one;
 *   container:X    X's IPC namespace (runflags.c) plus X's CTR_DIR/shm: X
 *                  must be shareable (or host), as docker insists;
 *   none           an IPC namespace of its own and no /dev/shm at all;
 *   private, ""    a tmpfs of the container's own (the default).
 *
 * A mount of another mount namespace can't be bound (the kernel refuses
 * bind and open_tree clones across namespaces), hence the host-side tmpfs.
 */
#pragma once
#include <json-c/json.h>

#include "core/error.h"
#include "engine/engine.h"

/* Rewrites spec's /dev/shm mount per hc's IpcMode, mounting container id's
 * host-side tmpfs when it is shareable. */
int ipc_shm_apply(struct engine *e, const char *id, struct json_object *hc,
                  struct json_object *spec, struct error *err);
/* Unmounts container id's host-side tmpfs if it has one (no error: teardown). */
void ipc_shm_release(struct engine *e, const char *id);
