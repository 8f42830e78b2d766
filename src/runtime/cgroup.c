/* What cgroup v1 and v2 share: finding the hierarchies, the path rules,
 * creating and removing directories, moving and listing processes.
 *
 * Paths are joined as strings here, which DESIGN.md otherwise forbids for
 * config-supplied paths. It is safe for cgroupfs: the components are
 * validated first (no "..", no "."), and cgroupfs holds no symlinks, so a
 * joined path can't leave the hierarchy. The joined paths are also what the
 * runtime stores and what --explain shows.
 */
#include "runtime/cgroup.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup-internal.h"
#include "runtime/userns.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* How long cgroup_destroy waits for exiting processes to leave. */
#define DESTROY_WAIT_MS 1000
/* How many times cgroup_kill_all re-reads the cgroup for processes forked
 * while it was signalling. */
#define KILL_ROUNDS 100

/* ---- parsing /proc ---- */

/* Splits s in place at sep into a NULL-terminated array of pointers into s
 * (empty fields kept). The array is owned by the caller, the strings not. */
static char **split_inplace(char *s, char sep)
{
        size_t n = 1;
        for (char *p = s; *p; p++)
                n += *p == sep;
        char **v = xmalloc((n + 1) * sizeof(*v));
        size_t i = 0;
        v[i++] = s;
        for (char *p = s; *p; p++)
                if (*p == sep) {
                        *p = '\0';
                        v[i++] = p + 1;
                }
        v[i] = NULL;
        return v;
}

/* Decodes the \ooo escapes the kernel uses in mount tables for space, tab,
 * newline and backslash. */
static void unescape_octal(char *s)
{
        char *w = s;
        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else {
                        *w++ = *r++;
                }
        }
        *w = '\0';
}

struct cg_mount {
        bool v2;
        char *root, *mountpoint, *opts; /* point into the line */
};

/* Parses one mount table line; returns false for lines that are not cgroup mounts. */
static bool parse_mount_line(char *line, bool mounts_format, struct cg_mount *m)
{
        _cleanup_free_ char **f = split_inplace(line, ' ');
        size_t n = strv_len(f);
        const char *type;
        if (mounts_format) {
                /* SOURCE MOUNTPOINT TYPE OPTS FREQ PASSNO */
                if (n < 4)
                        return false;
                type = f[2];
                m->mountpoint = f[1];
                m->root = NULL;
                m->opts = f[3];
        } else {
                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - TYPE SOURCE SUPEROPTS */
                size_t sep = 6;
                while (sep < n && strcmp(f[sep], "-") != 0)
                        sep++;
                if (sep + 3 >= n)
                        return false;
                type = f[sep + 1];
                m->root = f[3];
                m->mountpoint = f[4];
                m->opts = f[sep + 3];
        }
        if (strcmp(type, "cgroup2") == 0)
                m->v2 = true;
        else if (strcmp(type, "cgroup") == 0)
                m->v2 = false;
        else
                return false;
        unescape_octal(m->mountpoint);
        if (m->root)
                unescape_octal(m->root);
        return true;
}

/* Whether cgroup path p is root or lies below it. */
static bool path_under(const char *p, const char *root)
{
        if (strcmp(root, "/") == 0)
                return true;
        size_t n = strlen(root);
        return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static bool opts_have_all(const char *opts, char *const *want)
{
        _cleanup_free_ char *copy = xstrdup(opts);
        _cleanup_free_ char **have = split_inplace(copy, ',');
        for (char *const *w = want; *w; w++)
                if (!strv_contains(have, *w))
                        return false;
        return true;
}

bool cg_hier_has(const struct cg_hier *h, const char *controller)
{
        return h->controllers && strv_contains(h->controllers, controller);
}

static void hier_clear(struct cg_hier *h)
{
        free(h->mountpoint);
        free(h->mount_root);
        free(h->own);
        strv_free(h->controllers);
}

void cg_layout_free(struct cg_layout *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                hier_clear(&l->h[i]);
        free(l->h);
        free(l);
}

/* Picks the mount of one hierarchy: of those whose root shows own, the one
 * with the shortest root (bind mounts of sub-cgroups come second); when
 * none shows own, the first. Fills h and returns true if any mount matched. */
static bool pick_mount(struct cg_mount *mounts, size_t n, bool v2, char *const *controllers,
                       const char *own, struct cg_hier *h)
{
        const struct cg_mount *best = NULL;
        bool best_shows = false;
        for (size_t i = 0; i < n; i++) {
                const struct cg_mount *m = &mounts[i];
                if (m->v2 != v2 || (!v2 && !opts_have_all(m->opts, controllers)))
                        continue;
                const char *root = m->root ? m->root : "/";
                bool shows = path_under(own, root);
                if (!best || (shows && !best_shows) ||
                    (shows == best_shows && shows &&
                     strlen(root) < strlen(best->root ? best->root : "/"))) {
                        best = m;
                        best_shows = shows;
                }
        }
        if (!best)
                return false;
        h->v2 = v2;
        h->mountpoint = xstrdup(best->mountpoint);
        h->mount_root = xstrdup(best->root ? best->root : "/");
        h->own = xstrdup(own);
        h->controllers = v2 ? NULL : strv_copy(controllers);
        h->ops = v2 ? &cg_ops_v2 : &cg_ops_v1;
        return true;
}

static bool hier_is_real_v1(const struct cg_hier *h)
{
        if (h->v2)
                return false;
        for (char **c = h->controllers; c && *c; c++)
                if (!str_startswith(*c, "name="))
                        return true;
        return false;
}

int cg_layout_parse(const char *mountinfo, bool mounts_format, const char *proc_cgroup,
                    struct cg_layout **ret, struct error *err)
{
        _cleanup_free_ char *mi = xstrdup(mountinfo);
        _cleanup_free_ char **mlines = split_inplace(mi, '\n');
        size_t n_lines = strv_len(mlines);
        _cleanup_free_ struct cg_mount *mounts = xzalloc((n_lines + 1) * sizeof(*mounts));
        size_t n_mounts = 0;
        for (size_t i = 0; i < n_lines; i++)
                if (parse_mount_line(mlines[i], mounts_format, &mounts[n_mounts]))
                        n_mounts++;

        _cleanup_(cg_layout_freep) struct cg_layout *l = xzalloc(sizeof(*l));
        _cleanup_free_ char *pc = xstrdup(proc_cgroup);
        _cleanup_free_ char **clines = split_inplace(pc, '\n');
        l->h = xzalloc((strv_len(clines) + 1) * sizeof(*l->h));
        bool have_v2 = false, have_v1 = false;
        for (char **line = clines; *line; line++) {
                if (!**line)
                        continue;
                /* ID:CONTROLLERS:PATH, and PATH may hold colons. */
                char *c1 = strchr(*line, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2 || c2[1] != '/')
                        return error_msg(err, -EINVAL, "parse /proc/self/cgroup line '%s'", *line);
                *c1 = *c2 = '\0';
                const char *own = c2 + 1;
                bool v2 = strcmp(*line, "0") == 0 && c1[1] == '\0';
                _cleanup_free_ char **ctrls = v2 ? NULL : split_inplace(c1 + 1, ',');
                if (!v2 && (!ctrls[0][0]))
                        continue; /* a v1 hierarchy without controllers or name: not usable */
                struct cg_hier *h = &l->h[l->n];
                if (!pick_mount(mounts, n_mounts, v2, ctrls, own, h))
                        continue; /* not mounted here */
                l->n++;
                have_v2 |= v2;
                have_v1 |= hier_is_real_v1(h);
        }
        if (have_v1)
                l->mode = have_v2 ? CGROUP_MODE_HYBRID : CGROUP_MODE_V1;
        else if (have_v2)
                l->mode = CGROUP_MODE_V2;
        else
                l->mode = CGROUP_MODE_V1;
        if (l->mode == CGROUP_MODE_V2) {
                /* A unified host may still mount a named v1 hierarchy (for old
                 * systemd in containers); a container gets only the v2 cgroup. */
                size_t k = 0;
                for (size_t i = 0; i < l->n; i++) {
                        if (l->h[i].v2)
                                l->h[k++] = l->h[i];
                        else
                                hier_clear(&l->h[i]);
                }
                l->n = k;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static struct cg_layout *host_layout;

int cg_layout_get(const struct cg_layout **ret, struct error *err)
{
        if (host_layout) {
                *ret = host_layout;
                return 0;
        }
        _cleanup_free_ char *mounts = NULL, *cg = NULL;
        bool mounts_format = false;
        int r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 0, &mounts, NULL);
        if (r < 0) {
                mounts_format = true;
                r = read_file_at(AT_FDCWD, "/proc/mounts", 0, &mounts, NULL);
                if (r < 0)
                        return error_sys(err, r, "read '/proc/self/mountinfo'");
        }
        r = read_file_at(AT_FDCWD, "/proc/self/cgroup", 0, &cg, NULL);
        if (r < 0)
                return error_sys(err, r, "read '/proc/self/cgroup'");
        r = cg_layout_parse(mounts, mounts_format, cg, &host_layout, err);
        if (r < 0)
                return r;
        *ret = host_layout;
        return 0;
}

enum cgroup_mode cgroup_mode(void)
{
        const struct cg_layout *l;
        if (cg_layout_get(&l, NULL) == 0)
                return l->mode;
        /* Without /proc, the type of /sys/fs/cgroup is the best guess. */
        struct statfs sf;
        if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
                return CGROUP_MODE_V2;
        return CGROUP_MODE_V1;
}

const struct cg_hier *cg_hier_of(const struct cg_layout *l, const char *dir)
{
        const struct cg_hier *best = NULL;
        size_t best_len = 0;
        for (size_t i = 0; i < l->n; i++) {
                const char *mp = l->h[i].mountpoint;
                size_t n = strlen(mp);
                if (strncmp(dir, mp, n) == 0 && (dir[n] == '/' || dir[n] == '\0') &&
                    (!best || n > best_len)) {
                        best = &l->h[i];
                        best_len = n;
                }
        }
        return best;
}

/* ---- path rules ---- */

/* "slice:prefix:name", the systemd driver's form: no slash, two colons. */
static bool is_systemd_form(const char *p)
{
        if (strchr(p, '/'))
                return false;
        size_t colons = 0;
        for (; *p; p++)
                colons += *p == ':';
        return colons == 2;
}

/* Splits a cgroupsPath into validated components (empty ones dropped). */
static int path_components(const char *path, char ***ret, struct error *err)
{
        _cleanup_free_ char *copy = xstrdup(path);
        _cleanup_free_ char **parts = split_inplace(copy, '/');
        _cleanup_strv_ char **comps = NULL;
        for (char **p = parts; *p; p++) {
                if (!**p)
                        continue;
                if (strcmp(*p, "..") == 0 || strcmp(*p, ".") == 0)
                        return error_msg(err, -EINVAL,
                                         "cgroupsPath '%s': '%s' components are not allowed", path,
                                         *p);
                if (strlen(*p) > NAME_MAX)
                        return error_msg(err, -ENAMETOOLONG,
                                         "cgroupsPath '%s': a component is longer than %d bytes",
                                         path, NAME_MAX);
                comps = strv_push(comps, xstrdup(*p));
        }
        *ret = TAKE_PTR(comps);
        return 0;
}

static char *join_comps(char *const *c, size_t from)
{
        size_t len = 1;
        for (size_t i = from; c[i]; i++)
                len += strlen(c[i]) + 1;
        char *s = xzalloc(len);
        for (size_t i = from; c[i]; i++) {
                if (i > from)
                        strcat(s, "/");
                strcat(s, c[i]);
        }
        return s;
}

/* The directory that shows cgroup cg of h (cg must lie below h's mount root). */
static char *fs_path(const struct cg_hier *h, const char *cg)
{
        const char *rest = cg;
        if (strcmp(h->mount_root, "/") != 0)
                rest = cg + strlen(h->mount_root);
        while (*rest == '/')
                rest++;
        return *rest ? xasprintf("%s/%s", h->mountpoint, rest) : xstrdup(h->mountpoint);
}

void cg_plan_free(struct cg_plan_entry *p, size_t n)
{
        for (size_t i = 0; p && i < n; i++) {
                free(p[i].base);
                free(p[i].rel);
        }
        free(p);
}

int cg_plan(const struct cg_layout *l, const char *cgroups_path, const char *id,
            struct cg_plan_entry **ret, size_t *ret_n, struct error *err)
{
        _cleanup_free_ char *dflt = NULL;
        const char *path = cgroups_path;
        if (!path || !*path) {
                if (!id || !*id || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
                        return error_msg(err, -EINVAL, "invalid container id '%s' for a cgroup",
                                         id ? id : "");
                path = dflt = xasprintf("husk-%s", id);
        } else if (path[0] != '/' && is_systemd_form(path)) {
                return error_msg(err, -EOPNOTSUPP,
                                 "cgroupsPath '%s': the systemd cgroup driver is not supported; "
                                 "use a cgroupfs path such as '/machine/%s'",
                                 path, id && *id ? id : "NAME");
        }
        bool absolute = path[0] == '/';
        _cleanup_strv_ char **comps = NULL;
        int r = path_components(path, &comps, err);
        if (r < 0)
                return r;
        if (!comps)
                return error_msg(err, -EINVAL, "cgroupsPath '%s' names no cgroup below the root",
                                 path);
        if (l->n == 0)
                return error_msg(err, -ENOENT,
                                 "no cgroup hierarchy is mounted (see /proc/self/mountinfo)");

        struct cg_plan_entry *p = xzalloc(l->n * sizeof(*p));
        size_t n = 0;
        for (size_t i = 0; i < l->n; i++, n++) {
                const struct cg_hier *h = &l->h[i];
                p[n].h = h;
                if (absolute) {
                        /* Taken from the hierarchy's root; a mount that shows
                         * only a subtree stands for the root, as in runc. */
                        _cleanup_strv_ char **root = NULL;
                        (void)path_components(h->mount_root, &root, NULL);
                        size_t k = strv_len(root), j = 0;
                        while (j < k && comps[j] && strcmp(comps[j], root[j]) == 0)
                                j++;
                        size_t skip = j == k ? k : 0;
                        if (!comps[skip]) {
                                cg_plan_free(p, n);
                                return error_msg(err, -EINVAL,
                                                 "cgroupsPath '%s' is the root of the hierarchy "
                                                 "mounted at '%s'",
                                                 path, h->mountpoint);
                        }
                        p[n].base = xstrdup(h->mountpoint);
                        p[n].rel = join_comps(comps, skip);
                } else {
                        if (!path_under(h->own, h->mount_root)) {
                                cg_plan_free(p, n);
                                return error_msg(err, -ENOENT,
                                                 "this process's cgroup '%s' is not visible in "
                                                 "'%s' (it shows '%s')",
                                                 h->own, h->mountpoint, h->mount_root);
                        }
                        p[n].base = fs_path(h, h->own);
                        p[n].rel = join_comps(comps, 0);
                }
        }
        *ret = p;
        *ret_n = n;
        return 0;
}

/* ---- create ---- */

static void rollback(char **created)
{
        for (size_t i = strv_len(created); i > 0; i--)
                (void)sys_rmdir_at(AT_FDCWD, created[i - 1], NULL);
}

/* mkdir -p of e->rel below e->base; appends what it made to *created. */
static int create_one(const struct cg_plan_entry *e, char ***created, char **ret_leaf,
                      struct error *err)
{
        _cleanup_free_ char *rel = xstrdup(e->rel);
        _cleanup_free_ char **comps = split_inplace(rel, '/');
        _cleanup_free_ char *dir = xstrdup(e->base);
        for (size_t i = 0; comps[i]; i++) {
                _cleanup_free_ char *parent = TAKE_PTR(dir);
                dir = xasprintf("%s/%s", parent, comps[i]);
                bool leaf = comps[i + 1] == NULL;
                /* Look first, so --explain shows only the mkdirs really done. */
                struct stat st;
                int r = stat(dir, &st) == 0 ? -EEXIST : sys_mkdir_at(AT_FDCWD, dir, NULL, 0755);
                if (r == -EEXIST) {
                        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                                return error_sys(err, -ENOTDIR, "create cgroup '%s'", dir);
                        continue;
                }
                if (r < 0)
                        return error_sys(err, r, "create cgroup '%s'", dir);
                *created = strv_push(*created, xstrdup(dir));
                r = e->h->ops->init_dir(e->h, parent, dir, leaf, err);
                if (r < 0)
                        return r;
        }
        *ret_leaf = TAKE_PTR(dir);
        return 0;
}

/* The deepest directory that holds both a and b (absolute paths in one hierarchy). */
static char *common_dir(const char *a, const char *b)
{
        size_t n = 0, last = 0;
        while (a[n] && a[n] == b[n]) {
                if (a[n] == '/')
                        last = n;
                n++;
        }
        if ((!a[n] && (b[n] == '/' || !b[n])) || (!b[n] && a[n] == '/'))
                last = n;
        return xstrndup(a, last ? last : 1);
}

/* Whether an unprivileged caller may make and use the planned directory:
 * on v2, moving a process needs write access to cgroup.procs of the common
 * ancestor of where it is and where it goes (the delegation rule), and
 * clone3(CLONE_INTO_CGROUP) checks the same. v1 has no such rule: the mkdir
 * itself tells. */
static bool may_use(const struct cg_plan_entry *e)
{
        if (!e->h->v2)
                return true;
        _cleanup_free_ char *own = fs_path(e->h, e->h->own);
        _cleanup_free_ char *target = xasprintf("%s/%s", e->base, e->rel);
        _cleanup_free_ char *common = common_dir(own, target);
        _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", common);
        return faccessat(AT_FDCWD, procs, W_OK, AT_EACCESS) == 0;
}

static int create_impl(const char *cgroups_path, const char *id, bool rootless, char ***ret_dirs,
                       char ***ret_skipped, struct error *err)
{
        const struct cg_layout *l;
        int r = cg_layout_get(&l, err);
        if (r < 0)
                return r;
        struct cg_plan_entry *plan = NULL;
        size_t n = 0;
        r = cg_plan(l, cgroups_path, id, &plan, &n, err);
        if (r < 0)
                return r;
        _cleanup_strv_ char **created = NULL, **dirs = NULL, **skipped = NULL;
        for (size_t i = 0; i < n && r >= 0; i++) {
                char *leaf = NULL;
                size_t before = strv_len(created);
                r = rootless && !may_use(&plan[i]) ? -EACCES
                                                   : create_one(&plan[i], &created, &leaf, err);
                if (r >= 0) {
                        dirs = strv_push(dirs, leaf);
                        continue;
                }
                if (!rootless || (r != -EACCES && r != -EPERM && r != -EROFS))
                        break;
                /* Not ours to create: the container stays in our own cgroup there. */
                explain_note("%s may not create cgroups in %s: the container stays in the "
                             "caller's cgroup there",
                             userns_caller(), plan[i].h->mountpoint);
                for (size_t k = strv_len(created); k > before; k--) {
                        (void)sys_rmdir_at(AT_FDCWD, created[k - 1], NULL);
                        free(created[k - 1]);
                        created[k - 1] = NULL;
                }
                error_clear(err);
                skipped = strv_push(skipped, fs_path(plan[i].h, plan[i].h->own));
                r = 0;
        }
        cg_plan_free(plan, n);
        if (r < 0) {
                rollback(created);
                return r;
        }
        *ret_dirs = TAKE_PTR(dirs);
        if (ret_skipped)
                *ret_skipped = TAKE_PTR(skipped);
        return 0;
}

int cgroup_create(const char *cgroups_path, const char *id, char ***ret_dirs, struct error *err)
{
        return create_impl(cgroups_path, id, false, ret_dirs, NULL, err);
}

int cgroup_create_rootless(const char *cgroups_path, const char *id, char ***ret_dirs,
                           char ***ret_skipped, struct error *err)
{
        return create_impl(cgroups_path, id, true, ret_dirs, ret_skipped, err);
}

/* ---- enter ---- */

int cgroup_enter(char *const *dirs, pid_t pid, struct error *err)
{
        const struct cg_layout *l = NULL;
        (void)cg_layout_get(&l, NULL);
        char val[32];
        snprintf(val, sizeof(val), "%d", (int)pid);
        for (char *const *d = dirs; d && *d; d++) {
                _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", *d);
                int r = sys_write_file_at(AT_FDCWD, procs, NULL, val);
                if (r < 0) {
                        const struct cg_hier *h = l ? cg_hier_of(l, *d) : NULL;
                        const char *hint = h ? h->ops->enter_hint(h, r) : NULL;
                        if (hint)
                                return error_msg(err, r, "move pid %d into cgroup '%s': %s (%s)",
                                                 (int)pid, *d, strerror(-r), hint);
                        return error_sys(err, r, "move pid %d into cgroup '%s'", (int)pid, *d);
                }
        }
        return 0;
}

int cgroup_enter_self(char *const *dirs, bool in_unified, struct error *err)
{
        const struct cg_layout *l = NULL;
        (void)cg_layout_get(&l, NULL);
        for (char *const *d = dirs; d && *d; d++) {
                const struct cg_hier *h = l ? cg_hier_of(l, *d) : NULL;
                bool v2 = h && h->v2;
                if (v2 && in_unified)
                        continue;
                /* v2 has no per-thread file outside threaded subtrees: cgroup.procs.
                 * On the stack: this runs in a child that shares its heap pages
                 * copy-on-write with its parent (each page written is copied). */
                char f[PATH_MAX];
                int r = snprintf(f, sizeof(f), "%s/%s", *d, v2 ? "cgroup.procs" : "tasks");
                r = r < (int)sizeof(f) ? sys_write_file_at(AT_FDCWD, f, NULL, "0") : -ENAMETOOLONG;
                if (r < 0) {
                        const char *hint = h ? h->ops->enter_hint(h, r) : NULL;
                        if (hint)
                                return error_msg(err, r, "enter cgroup '%s': %s (%s)", *d,
                                                 strerror(-r), hint);
                        return error_sys(err, r, "enter cgroup '%s'", *d);
                }
        }
        return 0;
}

pid_t cgroup_clone(char *const *dirs, unsigned long flags, bool *ret_in_unified)
{
        *ret_in_unified = false;
        const char *u = cgroup_unified_dir(dirs);
        if (u) {
                int fd = open(u, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0) {
                        struct clone_args a = {
                            .flags = flags | CLONE_INTO_CGROUP,
                            .exit_signal = SIGCHLD,
                            .cgroup = (uint64_t)fd,
                        };
                        explain_note("clone3(CLONE_INTO_CGROUP): the child starts in %s", u);
                        pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
                        int saved = errno;
                        if (pid != 0)
                                close(fd);
                        if (pid >= 0) {
                                *ret_in_unified = true;
                                return pid;
                        }
                        if (saved != ENOSYS && saved != E2BIG && saved != EINVAL) {
                                errno = saved;
                                return -1;
                        }
                }
        }
        return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

bool cgroup_dir_mount(const char *dir, const char **ret_mountpoint, bool *ret_v2, char *opts,
                      size_t opts_len)
{
        const struct cg_layout *l;
        if (cg_layout_get(&l, NULL) < 0)
                return false;
        const struct cg_hier *h = cg_hier_of(l, dir);
        if (!h || opts_len == 0)
                return false;
        size_t o = 0;
        opts[0] = '\0';
        for (char **c = h->controllers; c && *c; c++)
                o += snprintf(opts + o, o < opts_len ? opts_len - o : 0, "%s%s", o ? "," : "", *c);
        if (o >= opts_len)
                return false;
        *ret_mountpoint = h->mountpoint;
        *ret_v2 = h->v2;
        return true;
}

const char *cgroup_unified_dir(char *const *dirs)
{
        const struct cg_layout *l;
        if (cg_layout_get(&l, NULL) < 0)
                return NULL;
        for (char *const *d = dirs; d && *d; d++) {
                const struct cg_hier *h = cg_hier_of(l, *d);
                if (h && h->v2)
                        return *d;
        }
        return NULL;
}

/* ---- pids ---- */

/* The directory whose cgroup.procs tells who is in the container: the v2
 * one on a unified host; otherwise v1 "pids", then any v1 hierarchy with
 * controllers, then whatever there is. */
static const char *pids_dir(char *const *dirs)
{
        const struct cg_layout *l;
        if (!dirs || !dirs[0])
                return NULL;
        if (cg_layout_get(&l, NULL) < 0)
                return dirs[0];
        if (l->mode == CGROUP_MODE_V2) {
                const char *u = cgroup_unified_dir(dirs);
                if (u)
                        return u;
        }
        const char *any_v1 = NULL;
        for (char *const *d = dirs; *d; d++) {
                const struct cg_hier *h = cg_hier_of(l, *d);
                if (h && cg_hier_has(h, "pids"))
                        return *d;
                if (h && !any_v1 && hier_is_real_v1(h))
                        any_v1 = *d;
        }
        return any_v1 ? any_v1 : dirs[0];
}

struct pidset {
        pid_t *v;
        size_t n, cap;
};

static void pidset_add(struct pidset *s, pid_t p)
{
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 16;
                s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
        }
        s->v[s->n++] = p;
}

static int pid_cmp(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
        return (x > y) - (x < y);
}

static void pidset_sort_unique(struct pidset *s)
{
        if (!s->n)
                return;
        qsort(s->v, s->n, sizeof(*s->v), pid_cmp);
        size_t k = 1;
        for (size_t i = 1; i < s->n; i++)
                if (s->v[i] != s->v[k - 1])
                        s->v[k++] = s->v[i];
        s->n = k;
}

static bool pidset_has(const struct pidset *s, pid_t p)
{
        return s->n && bsearch(&p, s->v, s->n, sizeof(*s->v), pid_cmp);
}

/* Adds the pids of dirfd's cgroup.procs and of every cgroup below it. */
static int collect_pids(int dirfd, const char *shown, struct pidset *s, struct error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dirfd, "cgroup.procs", 0, &text, NULL);
        if (r < 0)
                return error_sys(err, r, "read '%s/cgroup.procs'", shown);
        for (char *p = text, *end; *p; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                if (v > 0)
                        pidset_add(s, (pid_t)v);
                while (*end == '\n')
                        end++;
        }
        int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return error_sys(err, -errno, "open '%s'", shown);
        DIR *d = fdopendir(dfd);
        if (!d) {
                r = -errno;
                close(dfd);
                return error_sys(err, r, "open '%s'", shown);
        }
        r = 0;
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 ||
                    strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_close_ int sub =
                    openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (sub < 0) {
                        if (errno == ENOENT)
                                continue; /* removed while we looked */
                        r = error_sys(err, -errno, "open '%s/%s'", shown, de->d_name);
                        break;
                }
                _cleanup_free_ char *sub_shown = xasprintf("%s/%s", shown, de->d_name);
                r = collect_pids(sub, sub_shown, s, err);
                if (r == -ENOENT)
                        r = 0;
        }
        closedir(d);
        return r;
}

static int read_pids(const char *dir, struct pidset *s, struct error *err)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "open cgroup '%s'", dir);
        int r = collect_pids(fd, dir, s, err);
        if (r < 0)
                return r;
        pidset_sort_unique(s);
        return 0;
}

int cgroup_pids(char *const *dirs, pid_t **ret_pids, size_t *ret_n, struct error *err)
{
        const char *dir = pids_dir(dirs);
        if (!dir)
                return error_msg(err, -EINVAL, "no cgroup directory given");
        struct pidset s = {0};
        int r = read_pids(dir, &s, err);
        if (r < 0) {
                free(s.v);
                return r;
        }
        *ret_pids = s.v;
        *ret_n = s.n;
        return 0;
}

/* ---- kill ---- */

static int signal_one(pid_t pid, int sig, struct error *err)
{
        const char *name = sigabbrev_np(sig);
        if (name)
                explain("kill -%s %d", name, (int)pid);
        else
                explain("kill -%d %d", sig, (int)pid);
        if (kill(pid, sig) < 0 && errno != ESRCH)
                return error_sys(err, -errno, "send signal %d to pid %d", sig, (int)pid);
        return 0;
}

static int after_kill(char *const *dirs, int sig, struct error *err)
{
        const struct cg_layout *l;
        if (cg_layout_get(&l, NULL) < 0)
                return 0;
        for (char *const *d = dirs; d && *d; d++) {
                const struct cg_hier *h = cg_hier_of(l, *d);
                int r = h ? h->ops->after_kill(h, *d, sig, err) : 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

int cgroup_kill_all(char *const *dirs, int sig, struct error *err)
{
        const char *u = cgroup_unified_dir(dirs);
        if (u) {
                int r = cg_ops_v2.kill_all(u, sig, err);
                if (r == 0)
                        return after_kill(dirs, sig, err);
                if (r != -EOPNOTSUPP)
                        return r;
        }
        const char *dir = pids_dir(dirs);
        if (!dir)
                return error_msg(err, -EINVAL, "no cgroup directory given");
        /* Signal pid by pid, and read again for processes forked meanwhile
         * until a read shows nobody new. Exiting (zombie) processes may stay
         * listed for a while; they were signalled, which is all we promise. */
        struct pidset done = {0};
        int r = 0;
        for (int round = 0; round < KILL_ROUNDS && r >= 0; round++) {
                struct pidset now = {0};
                r = read_pids(dir, &now, err);
                if (r == -ENOENT) {
                        r = 0; /* the cgroup is gone: nobody left to signal */
                        error_clear(err);
                }
                bool fresh = false;
                for (size_t i = 0; r >= 0 && i < now.n; i++) {
                        if (pidset_has(&done, now.v[i]))
                                continue;
                        fresh = true;
                        r = signal_one(now.v[i], sig, err);
                        pidset_add(&done, now.v[i]);
                }
                free(now.v);
                pidset_sort_unique(&done);
                if (!fresh)
                        break;
        }
        free(done.v);
        if (r < 0)
                return r;
        return after_kill(dirs, sig, err);
}

/* ---- destroy ---- */

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* rmdir, waiting (until deadline) while processes are still leaving. */
static int rmdir_wait(const char *dir, int64_t deadline, struct error *err)
{
        int wait = 1;
        for (;;) {
                int r = sys_rmdir_at(AT_FDCWD, dir, NULL);
                if (r == 0 || r == -ENOENT)
                        return 0;
                if (r != -EBUSY || now_ms() >= deadline) {
                        if (r == -EBUSY)
                                return error_msg(err, r,
                                                 "remove cgroup '%s': %s (processes still in it "
                                                 "after %d ms)",
                                                 dir, strerror(EBUSY), DESTROY_WAIT_MS);
                        return error_sys(err, r, "remove cgroup '%s'", dir);
                }
                sleep_ms(wait);
                if (wait < 32)
                        wait *= 2;
        }
}

/* Removes dir and every cgroup below it (a container may make its own), deepest first. */
static int remove_tree(const char *dir, int64_t deadline, struct error *err)
{
        /* Most containers make no cgroups of their own: try the rmdir first and
         * only list children when the kernel says the directory is busy. The
         * explanation is printed by rmdir_wait for the attempt that counts. */
        if (rmdir(dir) == 0 || errno == ENOENT) {
                explain("rmdir %s", shq(dir));
                return 0;
        }
        if (errno != EBUSY && errno != ENOTEMPTY)
                return error_sys(err, -errno, "remove cgroup '%s'", dir);
        _cleanup_strv_ char **subs = NULL;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                return error_sys(err, -errno, "open cgroup '%s'", dir);
        }
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return error_sys(err, r, "open cgroup '%s'", dir);
        }
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 &&
                    strcmp(de->d_name, "..") != 0)
                        subs = strv_push(subs, xasprintf("%s/%s", dir, de->d_name));
        closedir(d);
        for (char **s = subs; s && *s; s++) {
                int r = remove_tree(*s, deadline, err);
                if (r < 0)
                        return r;
        }
        return rmdir_wait(dir, deadline, err);
}

int cgroup_destroy(char *const *dirs, struct error *err)
{
        int64_t deadline = now_ms() + DESTROY_WAIT_MS;
        int ret = 0;
        for (char *const *d = dirs; d && *d; d++) {
                struct error e = {0};
                int r = remove_tree(*d, deadline, &e);
                if (r < 0 && ret == 0) {
                        ret = r;
                        if (err)
                                *err = e;
                }
        }
        return ret;
}
