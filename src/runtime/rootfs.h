/* Building the container's root filesystem, inside its new mount namespace.
 *
 * Two phases around the createContainer hooks (runtime-spec order):
 *   rootfs_prepare(): make the mount tree under the rootfs path
 *       - set "/" to rslave (or linux.rootfsPropagation) so nothing leaks
 *         back to the host, bind the rootfs onto itself
 *       - every spec mount in order, each destination resolved inside the
 *         rootfs without following symlinks out (core/safepath.h), with its
 *         flags, data, propagation, and idmap where the kernel allows
 *       - proc, sysfs (bind of /sys when a user namespace without its own
 *         network namespace forbids a sysfs mount), cgroup (v2: cgroup2 with
 *         a cgroup namespace, else binds of the container's own cgroup dirs;
 *         v1: a tmpfs with one bind per hierarchy), mqueue, devpts (newinstance,
 *         ptmxmode=0666), tmpfs, bind and rbind
 *       - /dev when not a bind of the host: the default devices (null, zero,
 *         full, random, urandom, tty) and linux.devices, made with mknod, or
 *         bind-mounted from the host inside a user namespace; /dev/fd,
 *         /dev/stdin|stdout|stderr symlinks, /dev/ptmx -> pts/ptmx,
 *         /dev/console bound to the container's pty when one exists
 *   rootfs_finish(): pivot_root into it (chroot with no_pivot), detach the
 *       old root, then maskedPaths (tmpfs for directories, /dev/null bind
 *       for files, skipped when absent), readonlyPaths (bind remount ro),
 *       root.readonly, and the final rootfsPropagation of "/".
 *
 * All steps go through core/sys.h so --explain prints them.
 */
#pragma once
#include <stdbool.h>

#include "core/error.h"
#include "runtime/spec.h"

struct rootfs_ctx {
        const struct spec *spec;
        const char *rootfs;       /* canonical absolute path (realpath) of the rootfs, host view */
        bool userns;              /* the container has its own user namespace */
        bool netns;               /* the container has its own network namespace */
        bool cgroupns;            /* the container has its own cgroup namespace */
        char *const *cgroup_dirs; /* host paths of the container's cgroups (strv) */
        const char *console_path; /* pty slave to bind at /dev/console, or NULL */
};

int rootfs_prepare(const struct rootfs_ctx *ctx, struct error *err);
int rootfs_finish(const struct rootfs_ctx *ctx, bool no_pivot, struct error *err);

/* rootfs_finish() in halves, for a caller that acts in between as runc does
 * (after pivot_root it sets up the console and writes linux.sysctl, and only
 * then applies readonlyPaths, which usually cover /proc/sys):
 *   rootfs_pivot()    pivot_root into the rootfs (chroot with no_pivot)
 *   rootfs_console()  binds the pty slave pts_path (a container path such as
 *                     "/dev/pts/0", made after rootfs_pivot()) onto /dev/console
 *   rootfs_protect()  /dev read-only if asked, maskedPaths, readonlyPaths,
 *                     root.readonly, and the final rootfsPropagation of "/"
 * rootfs_finish() is rootfs_pivot() then rootfs_protect(). */
int rootfs_pivot(const struct rootfs_ctx *ctx, bool no_pivot, struct error *err);
int rootfs_console(const char *pts_path, struct error *err);
int rootfs_protect(const struct rootfs_ctx *ctx, struct error *err);
