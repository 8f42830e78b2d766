/* cgroup v1 backend: one directory per mounted hierarchy.
 *
 * The one v1 quirk at creation time is cpuset: a new cpuset cgroup starts
 * with empty cpuset.cpus and cpuset.mems, and the kernel then refuses to
 * move any process into it (ENOSPC). runc and crun copy both from the
 * parent; so do we, for every level we create.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup-internal.h"

static bool blank(const char *s)
{
        return s[strspn(s, " \t\n")] == '\0';
}

static int cpuset_inherit(const char *parent, const char *dir, const char *file, struct error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, file);
        _cleanup_free_ char *mine = NULL, *theirs = NULL;
        int r = read_file_at(AT_FDCWD, path, 0, &mine, NULL);
        if (r < 0)
                return error_sys(err, r, "read '%s'", path);
        if (!blank(mine))
                return 0;
        _cleanup_free_ char *ppath = xasprintf("%s/%s", parent, file);
        r = read_file_at(AT_FDCWD, ppath, 0, &theirs, NULL);
        if (r < 0)
                return error_sys(err, r, "read '%s'", ppath);
        theirs[strcspn(theirs, "\n")] = '\0';
        if (blank(theirs))
                return 0; /* nothing to inherit; cgroup_enter will say why it fails */
        r = sys_write_file_at(AT_FDCWD, path, NULL, theirs);
        if (r < 0)
                return error_sys(err, r, "write '%s' to '%s'", theirs, path);
        return 0;
}

static int v1_init_dir(const struct cg_hier *h, const char *parent, const char *dir, bool leaf,
                       struct error *err)
{
        if (!cg_hier_has(h, "cpuset"))
                return 0;
        int r = cpuset_inherit(parent, dir, "cpuset.cpus", err);
        if (r < 0)
                return r;
        return cpuset_inherit(parent, dir, "cpuset.mems", err);
}

static int v1_kill_all(const char *dir, int sig, struct error *err)
{
        return -EOPNOTSUPP;
}

static void v1_enter_hint(const struct cg_hier *h, const char *dir, int r, struct error *err)
{
        if (r == -ENOSPC && cg_hier_has(h, "cpuset"))
                error_wrap(err, 0, "cpuset.cpus or cpuset.mems of '%s' is empty", dir);
}

const struct cg_ops cg_ops_v1 = {
    .name = "v1",
    .init_dir = v1_init_dir,
    .kill_all = v1_kill_all,
    .enter_hint = v1_enter_hint,
};
