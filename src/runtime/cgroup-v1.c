/* cgroup v1 backend: one directory per mounted hierarchy.
 *
 * The one v1 quirk at creation time is cpuset: a new cpuset cgroup starts
 * with empty cpuset.cpus and cpuset.mems, and the kernel then refuses to
 * move any process into it (ENOSPC). runc and crun copy both from the
 * parent; so do we, for every level we create.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

/* A frozen v1 cgroup keeps even SIGKILLed processes until it is thawed,
 * so a forced kill of a paused container thaws it once the signal is sent
 * (sent first, so nobody can fork in between), as runc does. */
static int v1_after_kill(const struct cg_hier *h, const char *dir, int sig, struct error *err)
{
        if (sig != SIGKILL || !cg_hier_has(h, "freezer"))
                return 0;
        _cleanup_free_ char *path = xasprintf("%s/freezer.state", dir), *state = NULL;
        int r = read_file_at(AT_FDCWD, path, 0, &state, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_sys(err, r, "read '%s'", path);
        if (str_startswith(state, "THAWED"))
                return 0;
        r = sys_write_file_at(AT_FDCWD, path, NULL, "THAWED");
        if (r < 0 && r != -ENOENT)
                return error_sys(err, r, "thaw cgroup '%s'", dir);
        return 0;
}

static const char *v1_enter_hint(const struct cg_hier *h, int r)
{
        if (r == -ENOSPC && cg_hier_has(h, "cpuset"))
                return "its cpuset.cpus or cpuset.mems is empty";
        return NULL;
}

const struct cg_ops cg_ops_v1 = {
    .name = "v1",
    .init_dir = v1_init_dir,
    .kill_all = v1_kill_all,
    .after_kill = v1_after_kill,
    .enter_hint = v1_enter_hint,
};
