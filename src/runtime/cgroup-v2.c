/* cgroup v2 backend: the unified hierarchy.
 *
 * A v2 cgroup has only the controllers its parent enables in
 * cgroup.subtree_control. On a unified host, every time we create a level
 * we enable in its parent whatever the parent has (cgroup.controllers) and
 * has not enabled yet, as runc and crun do, so the container's cgroup can
 * take limits. This is best effort: a parent that holds processes itself
 * (the caller's own cgroup, usually) can't enable controllers for its
 * children (the "no internal processes" rule, EBUSY), and is left alone;
 * the container then still runs, and setting a limit fails later with a
 * precise error.
 *
 * On a hybrid host the unified hierarchy only tracks processes (controllers
 * live in v1), so nothing is enabled there: husk leaves the host's v2 tree
 * as it found it apart from the container's own directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup-internal.h"

/* Whether word is one of the space-separated words of list. */
static bool has_word(const char *list, const char *word)
{
        size_t n = strlen(word);
        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ' || p[-1] == '\n') &&
                    (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
                        return true;
        return false;
}

/* Whether dir is a non-root cgroup with processes of its own. Enabling a
 * controller there is refused for domain controllers (EBUSY), and worse,
 * allowed for threaded ones (pids, cpuset, perf_event): that makes dir a
 * thread root, and its new children invalid domains that no process can
 * enter (EOPNOTSUPP). The root cgroup has no cgroup.type and may mix. */
static bool holds_processes(const char *dir)
{
        _cleanup_free_ char *type = xasprintf("%s/cgroup.type", dir);
        if (access(type, F_OK) < 0)
                return false;
        _cleanup_free_ char *procs = NULL;
        _cleanup_free_ char *ppath = xasprintf("%s/cgroup.procs", dir);
        return read_file_at(AT_FDCWD, ppath, 0, &procs, NULL) == 0 && procs[0] != '\0';
}

/* Enables in dir's cgroup.subtree_control each of its controllers not yet enabled. */
static void delegate(const char *dir)
{
        if (holds_processes(dir))
                return;
        _cleanup_free_ char *avail = NULL, *enabled = NULL;
        _cleanup_free_ char *cpath = xasprintf("%s/cgroup.controllers", dir);
        _cleanup_free_ char *spath = xasprintf("%s/cgroup.subtree_control", dir);
        if (read_file_at(AT_FDCWD, cpath, 0, &avail, NULL) < 0 ||
            read_file_at(AT_FDCWD, spath, 0, &enabled, NULL) < 0)
                return;
        char want[1024] = "";
        size_t o = 0;
        _cleanup_free_ char *copy = xstrdup(avail);
        for (char *save = NULL, *c = strtok_r(copy, " \n", &save); c;
             c = strtok_r(NULL, " \n", &save))
                if (!has_word(enabled, c) && o + strlen(c) + 2 < sizeof(want))
                        o += snprintf(want + o, sizeof(want) - o, "%s+%s", o ? " " : "", c);
        if (!o)
                return;
        if (sys_write_file_at(AT_FDCWD, spath, NULL, want) == 0)
                return;
        /* One refused controller fails the whole write: try them one by one. */
        _cleanup_free_ char *copy2 = xstrdup(want);
        for (char *save = NULL, *c = strtok_r(copy2, " ", &save); c; c = strtok_r(NULL, " ", &save))
                (void)sys_write_file_at(AT_FDCWD, spath, NULL, c);
}

static int v2_init_dir(const struct cg_hier *h, const char *parent, const char *dir, bool leaf,
                       struct error *err)
{
        const struct cg_layout *l;
        if (cg_layout_get(&l, NULL) == 0 && l->mode == CGROUP_MODE_V2)
                delegate(parent);
        return 0;
}

static int v2_kill_all(const char *dir, int sig, struct error *err)
{
        if (sig != SIGKILL)
                return -EOPNOTSUPP;
        _cleanup_free_ char *path = xasprintf("%s/cgroup.kill", dir);
        int r = sys_write_file_at(AT_FDCWD, path, NULL, "1");
        if (r == 0)
                return 0;
        if (r == -ENOENT) {
                struct stat st;
                if (stat(dir, &st) < 0 && errno == ENOENT)
                        return 0;   /* the cgroup is gone: nobody left */
                return -EOPNOTSUPP; /* kernel before 5.14 */
        }
        return error_sys(err, r, "kill cgroup '%s'", dir);
}

static int v2_after_kill(const struct cg_hier *h, const char *dir, int sig, struct error *err)
{
        return 0;
}

static const char *v2_enter_hint(const struct cg_hier *h, int r)
{
        if (r == -EBUSY)
                return "it has controllers enabled for child cgroups, and cgroup v2 then keeps "
                       "processes out of it (no internal processes rule)";
        if (r == -EOPNOTSUPP)
                return "it is a threaded cgroup";
        return NULL;
}

const struct cg_ops cg_ops_v2 = {
    .name = "v2",
    .init_dir = v2_init_dir,
    .kill_all = v2_kill_all,
    .after_kill = v2_after_kill,
    .enter_hint = v2_enter_hint,
};
