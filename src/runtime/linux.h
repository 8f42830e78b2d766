/* Creating the container's first process (its init) from a parsed spec.
 *
 * The parent (the runtime) and the child talk over a SEQPACKET socket:
 *
 *   parent                              child
 *   clone(new namespaces) ------------> (waits)
 *   cgroup.procs <- pid, uid/gid maps
 *   GO -------------------------------> join namespaces given by path,
 *                                       unshare the rest (fork when a pid
 *                                       namespace must be entered), cgroup
 *                                       and time namespaces, hostname,
 *                                       mounts (rootfs_prepare)
 *                   <----------------- HOOKS (when prestart/createRuntime exist)
 *   run prestart, createRuntime hooks
 *   HOOKS_DONE -----------------------> createContainer hooks, pivot_root,
 *                                       masked/readonly paths, sysctl, pty,
 *                                       resolve the executable, drop privileges
 *                   <----------------- CREATED  (or ERROR "message")
 *   create returns                      blocks reading exec.fifo until start
 *                                       writes a byte, then startContainer
 *                                       hooks and exec.
 *
 * When no namespace is joined by path, one clone() creates them all (the
 * fast path). Otherwise the child joins by path first, then unshares, as
 * runc does, so that joined namespaces are entered while it still holds its
 * privileges; a pid namespace then needs one more fork.
 */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"
#include "runtime/process.h"
#include "runtime/spec.h"

struct init_config {
        const struct spec *spec;
        const char *id;
        const char *bundle;
        const char *rootfs; /* absolute */
        char *const *cgroup_dirs;
        /* What the container's cgroup mount shows: cgroup_dirs, plus (rootless)
         * the caller's own cgroups in hierarchies where none could be made. */
        char *const *cgroup_view_dirs;
        int fifo_fd;    /* exec.fifo opened O_RDWR, -1 for none */
        int console_fd; /* connected console socket, -1 for none */
        int lock_fd;    /* the locked state dir: closed in the child, or the
                         * init would hold the lock for as long as it lives */
        bool no_pivot;
        struct process_opts popts;
        const char *seccomp_metadata; /* listenerMetadata for the notify state */
        /* Renders the OCI state JSON for hooks given the init's pid. */
        char *(*state_json)(void *opaque, pid_t pid, const char *status);
        void *opaque;
        /* startproto: called once the init's pid and namespaces exist, while
         * the init still sets itself up (right after the clone when it needs
         * nothing more from us, else once it is created); a failure stops it. */
        int (*spawned)(void *arg, pid_t init, struct error *err);
        void *spawned_arg;
};

/* Starts the init and waits until it is "created". Returns its pid in the
 * runtime's pid namespace. On failure nothing of the init remains. */
int linux_spawn_init(const struct init_config *c, pid_t *ret_pid, struct error *err);
