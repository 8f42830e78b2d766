/* Placing a container's processes in a cgroup, on cgroup v1, v2 and hybrid
 * hosts, behind one interface.
 *
 * A container's cgroup is a set of directories, one per hierarchy that holds
 * controllers (v2: one; v1: one per mounted hierarchy, named ones like
 * name=systemd included; hybrid: the v1 ones plus the v2 one). The runtime
 * stores that list in its state and hands it back to every call, so later
 * commands never re-derive it.
 *
 * Path rules (DESIGN.md): a relative cgroupsPath, and no cgroupsPath at all
 * (then "husk-<id>" is used), nest under the cgroup of the calling process in
 * each hierarchy, so husk never escapes the limits it runs under. An absolute
 * cgroupsPath is taken from the root of each hierarchy, as runc does.
 * "slice:prefix:name" (systemd driver) is refused: -EOPNOTSUPP with a hint.
 *
 * Every write goes through core/sys.h so --explain shows it.
 */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"

enum cgroup_mode {
        CGROUP_MODE_V1,     /* only v1 hierarchies with controllers */
        CGROUP_MODE_V2,     /* pure unified */
        CGROUP_MODE_HYBRID, /* v1 controllers plus a v2 mount */
};

/* Detects the host layout (cached after the first call). */
enum cgroup_mode cgroup_mode(void);

/* Creates the container's cgroup directories (mkdir -p semantics; existing
 * directories are reused, as runc does for shared parents) and returns their
 * absolute paths as a strv. Nothing is left behind on failure. */
int cgroup_create(const char *cgroups_path, const char *id, char ***ret_dirs, struct error *err);
/* The same for an unprivileged caller (rootless): a hierarchy where the
 * caller may not create the directory (EACCES, EPERM, EROFS; on v2 also when
 * cgroup.procs of the common ancestor is not writable, i.e. not delegated) is
 * skipped, and the caller's own cgroup directory there is added to
 * *ret_skipped (owned strv, NULL when nothing was skipped): the container
 * stays in it. Other errors fail as in cgroup_create. */
int cgroup_create_rootless(const char *cgroups_path, const char *id, char ***ret_dirs,
                           char ***ret_skipped, struct error *err);
/* Why limits can't be set where cgroup_create_rootless skipped a hierarchy. */
#define CGROUP_ROOTLESS_UNAVAILABLE                                                                \
        "husk-runtime runs as an unprivileged user that may not create cgroups there (cgroup "     \
        "v1, or a cgroup v2 tree not delegated to it)"
/* Moves pid into every directory (writes cgroup.procs). */
int cgroup_enter(char *const *dirs, pid_t pid, struct error *err);
/* Moves the calling (single-threaded) process into every directory itself:
 * "0" into v1 tasks files. A thread that moves itself skips the kernel's
 * global cgroup_threadgroup_rwsem, whose write side waits for an RCU grace
 * period (~5 ms here) each time a parent writes a pid into cgroup.procs.
 * With in_unified, the v2 directory is already joined (clone3). */
int cgroup_enter_self(char *const *dirs, bool in_unified, struct error *err);
/* fork()/clone() with CLONE_NEW* flags, straight into the v2 directory of
 * dirs when there is one (clone3 CLONE_INTO_CGROUP). Returns like fork;
 * *ret_in_unified says whether the child is already in the v2 directory. */
pid_t cgroup_clone(char *const *dirs, unsigned long flags, bool *ret_in_unified);
/* Where the hierarchy holding dir is mounted on the host, from the layout
 * parsed once per process (no /proc read when it is cached, as in a child
 * cloned after cgroup_create): its mount point, whether it is v2 and, for
 * v1, its controllers as mount -t cgroup -o takes them ("cpu,cpuacct",
 * "name=systemd"). False when no hierarchy of the layout holds dir. */
bool cgroup_dir_mount(const char *dir, const char **ret_mountpoint, bool *ret_v2, char *opts,
                      size_t opts_len);
/* The v2 directory among dirs (for clone3 CLONE_INTO_CGROUP), or NULL. */
const char *cgroup_unified_dir(char *const *dirs);
/* Lists the pids in the container's cgroup (and its descendants), sorted. */
int cgroup_pids(char *const *dirs, pid_t **ret_pids, size_t *ret_n, struct error *err);
/* Sends sig to every process in the cgroup (v2 cgroup.kill for SIGKILL where present). */
int cgroup_kill_all(char *const *dirs, int sig, struct error *err);
/* Removes the directories (deepest first), waiting briefly for exiting
 * processes; directories that are already gone are fine. */
int cgroup_destroy(char *const *dirs, struct error *err);
