/* Inside the cgroup module: the host layout as parsed from /proc, the plan
 * for a container's directories, and the per-version backends.
 *
 * cgroup.c holds what v1 and v2 share (detection, path rules, mkdir -p with
 * rollback, enter, pids, kill, destroy). What differs is a small table of
 * function pointers, one per version: cgroup-v1.c (cpuset inheritance) and
 * cgroup-v2.c (controller delegation, cgroup.kill).
 *
 * The parsers take text so the unit tests can feed them the layouts of
 * hosts they do not run on.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/cleanup.h"
#include "core/error.h"
#include "runtime/cgroup.h"

struct cg_hier;

struct cg_ops {
        const char *name; /* "v1" or "v2" */
        /* Prepares a directory cgroup_create just made below parent (both
         * absolute paths); leaf says whether it is the container's own. */
        int (*init_dir)(const struct cg_hier *h, const char *parent, const char *dir, bool leaf,
                        struct error *err);
        /* Kills everything below dir at once if the kernel can; -EOPNOTSUPP
         * when it can't (the caller then signals pid by pid). */
        int (*kill_all)(const char *dir, int sig, struct error *err);
        /* After cgroup_kill_all signalled dir's processes: lets them act on
         * sig (v1 thaws a frozen cgroup for SIGKILL; v2's freezer lets fatal
         * signals through by itself). */
        int (*after_kill)(const struct cg_hier *h, const char *dir, int sig, struct error *err);
        /* Why writing a pid to cgroup.procs failed with r, if it can tell. */
        const char *(*enter_hint)(const struct cg_hier *h, int r);
};

extern const struct cg_ops cg_ops_v1;
extern const struct cg_ops cg_ops_v2;

/* One hierarchy this process belongs to and can reach through a mount. */
struct cg_hier {
        bool v2;
        char *mountpoint;   /* where it is mounted (decoded) */
        char *mount_root;   /* which cgroup the mount shows at mountpoint, "/" usually */
        char *own;          /* this process's cgroup in it, from /proc/self/cgroup */
        char **controllers; /* v1: "cpu", "cpuacct", "name=systemd" ...; v2: NULL */
        const struct cg_ops *ops;
};

struct cg_layout {
        enum cgroup_mode mode;
        struct cg_hier *h; /* the hierarchies a container gets a directory in */
        size_t n;
};

/* Builds a layout from the text of /proc/self/mountinfo (or, when
 * mounts_format, of /proc/mounts) and /proc/self/cgroup. */
int cg_layout_parse(const char *mountinfo, bool mounts_format, const char *proc_cgroup,
                    struct cg_layout **ret, struct error *err);
void cg_layout_free(struct cg_layout *l);
DEFINE_FREEP(struct cg_layout, cg_layout_free)
/* The host's layout, parsed once and kept. */
int cg_layout_get(const struct cg_layout **ret, struct error *err);

/* The container's directory in each hierarchy of l, in the order of l->h:
 * base is an existing directory to start from (this process's own cgroup
 * or the mount point), rel the validated components to create below it,
 * joined by '/'. */
struct cg_plan_entry {
        const struct cg_hier *h;
        char *base;
        char *rel;
};
int cg_plan(const struct cg_layout *l, const char *cgroups_path, const char *id,
            struct cg_plan_entry **ret, size_t *ret_n, struct error *err);
void cg_plan_free(struct cg_plan_entry *p, size_t n);

/* The hierarchy dir lies in (longest mount point prefix), or NULL. */
const struct cg_hier *cg_hier_of(const struct cg_layout *l, const char *dir);
bool cg_hier_has(const struct cg_hier *h, const char *controller);
