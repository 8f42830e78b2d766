/* Mount helpers shared by the rootfs setup: the mount table, lexical path
 * cleaning, remounts that keep the flags a user namespace may not drop, and
 * user namespaces made for idmapped mounts.
 *
 * Like everything kernel-facing, each step goes through core/sys.h.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"
#include "runtime/spec.h"

struct mountinfo {
        char *mount_point; /* unescaped */
        char *root;        /* root of the mount within its filesystem */
        char *fstype;
        char *source;
        char *options;    /* per-mount options ("rw,nosuid,...") */
        char *super_opts; /* per-superblock options */
        bool shared;      /* optional fields name a peer group ("shared:N") */
};

/* Reads /proc/self/mountinfo. */
int mountinfo_read(struct mountinfo **ret, size_t *ret_n);
void mountinfo_free(struct mountinfo *m, size_t n);
/* The entry whose mount point is the longest path prefix of path (the last one
 * mounted there when several stack), or NULL. fstype restricts the search
 * when non-NULL ("cgroup" matches "cgroup" and "cgroup2"). */
const struct mountinfo *mountinfo_find(const struct mountinfo *m, size_t n, const char *path,
                                       const char *fstype_prefix);

/* Lexically cleans an absolute path into buf: collapses "//" and ".", resolves
 * ".." without going above "/" (a relative path is taken from "/"). */
int path_clean(const char *path, char *buf, size_t len);
/* True when path equals dir or lies below it (both clean). */
bool path_below(const char *path, const char *dir);

/* Remounts target (a bind mount) with flags | MS_REMOUNT | MS_BIND. When the
 * kernel says EPERM (flags locked by a more privileged mount namespace), it
 * retries with the mount's current nosuid/nodev/noexec/ro/atime flags added,
 * as runc does. */
int mount_remount_bind(const char *target, const char *shown, unsigned long flags);
/* Applies MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC) to target, one
 * propagation type per call as the kernel wants. */
int mount_propagate(const char *target, const char *shown, unsigned long propagation);

/* Makes a user namespace with these mappings for MOUNT_ATTR_IDMAP (a child
 * that unshares and is killed once its namespace is open); returns its fd. */
int mount_make_userns(const struct spec_id_mapping *uids, size_t n_uids,
                      const struct spec_id_mapping *gids, size_t n_gids, int *ret_fd,
                      struct error *err);
/* Writes the mappings as mount(8) X-mount.idmap= text into buf. */
void mount_idmap_string(const struct spec_id_mapping *uids, size_t n_uids,
                        const struct spec_id_mapping *gids, size_t n_gids, char *buf, size_t len);
