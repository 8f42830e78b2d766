/* cgroup layout detection and path rules on sample /proc texts, then the
 * real thing as root: cgroups made below this process's own cgroup, a child
 * moved in, listed, killed, and everything removed again. The same binary
 * runs on the pure cgroup v2 guest (tests/cgroup-v2/run.sh). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup-internal.h"
#include "runtime/cgroup.h"
#include "unit.h"

/* ---- layouts from text ---- */

static const char hybrid_mountinfo[] =
    "23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup "
    "rw,cpu,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate\n";
static const char hybrid_cgroup[] = "12:net_cls,net_prio:/\n"
                                    "9:name=systemd:/user.slice/s-1.scope\n"
                                    "8:pids:/user.slice/s-1.scope\n"
                                    "4:memory:/agent/x\n"
                                    "3:cpuset:/\n"
                                    "2:cpu,cpuacct:/user.slice\n"
                                    "0::/user.slice/s-1.scope\n";

static const struct cg_hier *find(const struct cg_layout *l, const char *mountpoint)
{
        for (size_t i = 0; i < l->n; i++)
                if (strcmp(l->h[i].mountpoint, mountpoint) == 0)
                        return &l->h[i];
        return NULL;
}

TEST(cgroup_layout_hybrid)
{
        struct error err = {0};
        _cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
        CHECK(cg_layout_parse(hybrid_mountinfo, false, hybrid_cgroup, &l, &err) == 0);
        if (!l)
                return;
        CHECK(l->mode == CGROUP_MODE_HYBRID);
        /* net_cls,net_prio is not mounted: no directory there. */
        CHECK(l->n == 6);
        const struct cg_hier *cpu = find(l, "/sys/fs/cgroup/cpu,cpuacct");
        CHECK(cpu && cg_hier_has(cpu, "cpu") && cg_hier_has(cpu, "cpuacct") && !cpu->v2);
        CHECK(cpu && strcmp(cpu->own, "/user.slice") == 0);
        const struct cg_hier *sd = find(l, "/sys/fs/cgroup/systemd");
        CHECK(sd && cg_hier_has(sd, "name=systemd") && !cg_hier_has(sd, "xattr"));
        const struct cg_hier *u = find(l, "/sys/fs/cgroup/unified");
        CHECK(u && u->v2 && strcmp(u->own, "/user.slice/s-1.scope") == 0);
        CHECK(u && u->ops == &cg_ops_v2);
        CHECK(cpu && cpu->ops == &cg_ops_v1);
        CHECK(cg_hier_of(l, "/sys/fs/cgroup/unified/a/b") == u);
        CHECK(cg_hier_of(l, "/sys/fs/cgroup/unifiedx/a") == NULL);
        CHECK(cg_hier_of(l, "/sys/fs/cgroup/memory") == find(l, "/sys/fs/cgroup/memory"));
}

TEST(cgroup_layout_v2_and_v1)
{
        struct error err = {0};
        _cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
        /* Unified, plus a named v1 hierarchy some hosts keep for old systemd. */
        CHECK(cg_layout_parse("29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                              "50 29 0:40 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
                              "rw,name=systemd\n",
                              false, "1:name=systemd:/\n0::/user.slice\n", &l, &err) == 0);
        if (!l)
                return;
        CHECK(l->mode == CGROUP_MODE_V2);
        CHECK(l->n == 1 && l->h[0].v2 && strcmp(l->h[0].mountpoint, "/sys/fs/cgroup") == 0);
        cg_layout_free(l);
        l = NULL;

        /* Pure v1, from /proc/mounts (no mount roots there). */
        CHECK(cg_layout_parse("cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,memory 0 0\n"
                              "cgroup /sys/fs/cgroup/cpu\\040x cgroup rw,cpu,cpuacct 0 0\n"
                              "proc /proc proc rw 0 0\n",
                              true, "3:cpu,cpuacct:/\n2:memory:/a\n0::/\n", &l, &err) == 0);
        if (!l)
                return;
        CHECK(l->mode == CGROUP_MODE_V1);
        CHECK(l->n == 2);
        CHECK(find(l, "/sys/fs/cgroup/cpu x") != NULL);
        cg_layout_free(l);
        l = NULL;

        /* No cgroup mounted at all: a mode, but create says why it can't. */
        CHECK(cg_layout_parse("", false, "0::/\n", &l, &err) == 0);
        if (!l)
                return;
        CHECK(l->n == 0);
        struct cg_plan_entry *p = NULL;
        size_t n = 0;
        CHECK(cg_plan(l, NULL, "c1", &p, &n, &err) == -ENOENT);
        CHECK(strstr(err.msg, "no cgroup hierarchy is mounted") != NULL);
        cg_layout_free(l);
        l = NULL;
        CHECK(cg_layout_parse("", false, "garbage\n", &l, &err) == -EINVAL);
        CHECK(l == NULL);
}

static char *plan_str(const struct cg_layout *l, const char *path, const char *id, int *r,
                      struct error *err)
{
        struct cg_plan_entry *p = NULL;
        size_t n = 0;
        *r = cg_plan(l, path, id, &p, &n, err);
        if (*r < 0)
                return NULL;
        char *s = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *t = xasprintf("%s%s%s|%s", s, i ? " " : "", p[i].base, p[i].rel);
                free(s);
                s = t;
        }
        cg_plan_free(p, n);
        return s;
}

TEST(cgroup_plan_paths)
{
        struct error err = {0};
        _cleanup_(cg_layout_freep) struct cg_layout *l = NULL;
        CHECK(cg_layout_parse("40 31 0:37 / /cg/memory rw - cgroup cgroup rw,memory\n"
                              "41 31 0:38 /docker/abc /cg/unified rw - cgroup2 cgroup2 rw\n",
                              false, "4:memory:/agent/x\n0::/docker/abc/sub\n", &l, &err) == 0);
        if (!l)
                return;
        CHECK(l->mode == CGROUP_MODE_HYBRID);
        int r;
        char *s;
        /* No path: husk-<id> below our own cgroup, also through a mount of a subtree. */
        s = plan_str(l, NULL, "web", &r, &err);
        CHECK_STR(s, "/cg/memory/agent/x|husk-web /cg/unified/sub|husk-web");
        free(s);
        s = plan_str(l, "", "web", &r, &err);
        CHECK_STR(s, "/cg/memory/agent/x|husk-web /cg/unified/sub|husk-web");
        free(s);
        /* Relative: nested below our own; empty components dropped. */
        s = plan_str(l, "a//b/", "web", &r, &err);
        CHECK_STR(s, "/cg/memory/agent/x|a/b /cg/unified/sub|a/b");
        free(s);
        /* Absolute: from the hierarchy's root; a subtree mount stands for its root. */
        s = plan_str(l, "/machine/web", "web", &r, &err);
        CHECK_STR(s, "/cg/memory|machine/web /cg/unified|machine/web");
        free(s);
        s = plan_str(l, "/docker/abc/web", "web", &r, &err);
        CHECK_STR(s, "/cg/memory|docker/abc/web /cg/unified|web");
        free(s);

        CHECK(plan_str(l, "a/../../b", "web", &r, &err) == NULL && r == -EINVAL);
        CHECK(strstr(err.msg, "'..'") != NULL);
        CHECK(plan_str(l, "/a/./b", "web", &r, &err) == NULL && r == -EINVAL);
        CHECK(plan_str(l, "..", "web", &r, &err) == NULL && r == -EINVAL);
        CHECK(plan_str(l, "/", "web", &r, &err) == NULL && r == -EINVAL);
        CHECK(plan_str(l, "/docker/abc", "web", &r, &err) == NULL && r == -EINVAL);
        CHECK(plan_str(l, NULL, "", &r, &err) == NULL && r == -EINVAL);
        CHECK(plan_str(l, NULL, NULL, &r, &err) == NULL && r == -EINVAL);
        CHECK(plan_str(l, NULL, "a/b", &r, &err) == NULL && r == -EINVAL);
        CHECK(plan_str(l, NULL, "..", &r, &err) == NULL && r == -EINVAL);
        char longname[300];
        memset(longname, 'x', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        CHECK(plan_str(l, longname, "web", &r, &err) == NULL && r == -ENAMETOOLONG);

        CHECK(plan_str(l, "system.slice:husk:web", "web", &r, &err) == NULL && r == -EOPNOTSUPP);
        CHECK(strstr(err.msg, "systemd cgroup driver is not supported") != NULL);
        CHECK(strstr(err.msg, "path") != NULL);
        /* Colons elsewhere are just names. */
        s = plan_str(l, "a:b/c", "web", &r, &err);
        CHECK_STR(s, "/cg/memory/agent/x|a:b/c /cg/unified/sub|a:b/c");
        free(s);

        /* Our own cgroup outside what the mount shows: refuse to guess. */
        cg_layout_free(l);
        l = NULL;
        CHECK(cg_layout_parse("41 31 0:38 /docker/abc /cg rw - cgroup2 cgroup2 rw\n", false,
                              "0::/elsewhere\n", &l, &err) == 0);
        if (!l)
                return;
        CHECK(plan_str(l, "x", "web", &r, &err) == NULL && r == -ENOENT);
        s = plan_str(l, "/x", "web", &r, &err);
        CHECK_STR(s, "/cg|x");
        free(s);
}

/* ---- the real thing (root only) ---- */

static bool can_run(const char *name)
{
        if (geteuid() != 0) {
                printf("  note: %s needs root, not run\n", name);
                return false;
        }
        const struct cg_layout *l;
        struct error err = {0};
        if (cg_layout_get(&l, &err) < 0 || l->n == 0) {
                printf("  note: %s: no cgroup hierarchy here (%s), not run\n", name, err.msg);
                return false;
        }
        return true;
}

static bool exists(const char *p)
{
        struct stat st;
        return stat(p, &st) == 0;
}

static bool file_has_pid(const char *path, pid_t pid)
{
        _cleanup_free_ char *text = NULL;
        if (read_file_at(AT_FDCWD, path, 0, &text, NULL) < 0)
                return false;
        for (char *p = text, *end; *p; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p)
                        return false;
                if (v == pid)
                        return true;
                while (*end == '\n')
                        end++;
        }
        return false;
}

/* A child that waits until its pipe closes (or a signal kills it). When it
 * reads an 'f' from the pipe it starts `forks` grandchildren doing the same
 * (so they start where the child is by then). */
static pid_t spawn(int forks, int *ret_wfd)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                close(p[1]);
                char c;
                while (read(p[0], &c, 1) == 1)
                        if (c == 'f')
                                for (int i = 0; i < forks; i++)
                                        if (fork() == 0)
                                                break;
                _exit(0);
        }
        close(p[0]);
        *ret_wfd = p[1];
        return pid;
}

/* Whether pid's /proc/PID/cgroup puts it at h->own + "/" + rel in every hierarchy. */
static bool proc_cgroup_is(pid_t pid, const char *rel)
{
        const struct cg_layout *l;
        if (cg_layout_get(&l, NULL) < 0)
                return false;
        _cleanup_free_ char *path = xasprintf("/proc/%d/cgroup", (int)pid), *text = NULL;
        if (read_file_at(AT_FDCWD, path, 0, &text, NULL) < 0)
                return false;
        for (size_t i = 0; i < l->n; i++) {
                const struct cg_hier *h = &l->h[i];
                _cleanup_free_ char *ctrls = NULL;
                if (h->v2) {
                        ctrls = xstrdup("");
                } else {
                        ctrls = xstrdup("");
                        for (char **c = h->controllers; *c; c++) {
                                char *t = xasprintf("%s%s%s", ctrls, *ctrls ? "," : "", *c);
                                free(ctrls);
                                ctrls = t;
                        }
                }
                _cleanup_free_ char *want = xasprintf(":%s:%s%s%s\n", ctrls, h->own,
                                                      strcmp(h->own, "/") == 0 ? "" : "/", rel);
                if (!strstr(text, want)) {
                        printf("  %s lacks '%.*s'\n%s", path, (int)strlen(want) - 1, want, text);
                        return false;
                }
        }
        return true;
}

static int counter;

static char *unique_name(void)
{
        return xasprintf("husk-unit-%d-%d", (int)getpid(), counter++);
}

TEST(cgroup_lifecycle)
{
        if (!can_run("cgroup_lifecycle"))
                return;
        struct error err = {0};
        _cleanup_free_ char *name = unique_name();
        _cleanup_strv_ char **dirs = NULL;
        const struct cg_layout *l;
        CHECK(cg_layout_get(&l, &err) == 0);
        CHECK(cgroup_mode() == l->mode);
        int r = cgroup_create(name, "ignored", &dirs, &err);
        CHECK(r == 0);
        if (r < 0) {
                printf("  %s\n", err.msg);
                return;
        }
        CHECK(strv_len(dirs) == l->n);
        for (char **d = dirs; *d; d++)
                CHECK(exists(*d) && str_endswith(*d, name));
        CHECK((cgroup_unified_dir(dirs) != NULL) == (l->mode != CGROUP_MODE_V1));
        /* cpuset (v1) got cpus and mems from its parent. */
        for (char **d = dirs; *d; d++) {
                const struct cg_hier *h = cg_hier_of(l, *d);
                CHECK(h != NULL);
                if (!h || !cg_hier_has(h, "cpuset"))
                        continue;
                _cleanup_free_ char *cpus = NULL, *p = xasprintf("%s/cpuset.cpus", *d);
                CHECK(read_file_at(AT_FDCWD, p, 0, &cpus, NULL) == 0 && cpus && cpus[0] != '\n');
        }
        /* Creating it again reuses it. */
        _cleanup_strv_ char **again = NULL;
        CHECK(cgroup_create(name, "ignored", &again, &err) == 0);
        CHECK(again && strcmp(again[0], dirs[0]) == 0);

        int wfd = -1;
        pid_t child = spawn(0, &wfd);
        CHECK(child > 0);
        CHECK(cgroup_enter(dirs, child, &err) == 0);
        for (char **d = dirs; *d; d++) {
                _cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", *d);
                CHECK(file_has_pid(procs, child));
        }
        CHECK(proc_cgroup_is(child, name));

        pid_t *pids = NULL;
        size_t n = 0;
        CHECK(cgroup_pids(dirs, &pids, &n, &err) == 0);
        CHECK(n == 1 && pids && pids[0] == child);
        free(pids);

        /* Busy: destroy waits about a second, then says so, and keeps it. */
        int64_t t0 = now_ms();
        r = cgroup_destroy(dirs, &err);
        CHECK(r == -EBUSY);
        CHECK(now_ms() - t0 >= 900);
        CHECK(strstr(err.msg, dirs[0]) != NULL);
        CHECK(exists(dirs[0]));

        CHECK(cgroup_kill_all(dirs, SIGKILL, &err) == 0);
        int status = 0;
        CHECK(waitpid(child, &status, 0) == child);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        close(wfd);
        CHECK(cgroup_pids(dirs, &pids, &n, &err) == 0);
        CHECK(n == 0);
        free(pids);

        CHECK(cgroup_destroy(dirs, &err) == 0);
        for (char **d = dirs; *d; d++)
                CHECK(!exists(*d));
        /* Gone already is fine; so is listing or killing nothing. */
        CHECK(cgroup_destroy(dirs, &err) == 0);
        CHECK(cgroup_kill_all(dirs, SIGKILL, &err) == 0);
        CHECK(cgroup_pids(dirs, &pids, &n, &err) == -ENOENT);
}

/* Sub-cgroups a container makes itself, processes in them, a plain signal. */
TEST(cgroup_descendants_and_signals)
{
        if (!can_run("cgroup_descendants_and_signals"))
                return;
        struct error err = {0};
        _cleanup_free_ char *name = unique_name();
        _cleanup_strv_ char **dirs = NULL;
        CHECK(cgroup_create(name, NULL, &dirs, &err) == 0);
        if (!dirs) {
                printf("  %s\n", err.msg);
                return;
        }
        /* Reap grandchildren ourselves. */
        CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
        int wfd = -1;
        pid_t child = spawn(2, &wfd);
        CHECK(cgroup_enter(dirs, child, &err) == 0);

        /* A sub-cgroup in every hierarchy, and the child moved there. */
        _cleanup_strv_ char **subs = NULL;
        for (char **d = dirs; *d; d++) {
                subs = strv_push(subs, xasprintf("%s/inner", *d));
                CHECK(mkdir(subs[strv_len(subs) - 1], 0755) == 0);
        }
        const struct cg_layout *l;
        CHECK(cg_layout_get(&l, &err) == 0);
        for (char **d = dirs; *d; d++) {
                const struct cg_hier *h = cg_hier_of(l, *d);
                if (h && cg_hier_has(h, "cpuset")) {
                        /* Made by hand, so inherit by hand. */
                        char *pc = xasprintf("%s/cpuset.cpus", *d),
                             *pm = xasprintf("%s/cpuset.mems", *d);
                        _cleanup_free_ char *cpus = NULL, *mems = NULL;
                        CHECK(read_file_at(AT_FDCWD, pc, 0, &cpus, NULL) == 0);
                        CHECK(read_file_at(AT_FDCWD, pm, 0, &mems, NULL) == 0);
                        free(pc);
                        free(pm);
                        _cleanup_free_ char *sc = xasprintf("%s/inner/cpuset.cpus", *d);
                        _cleanup_free_ char *sm = xasprintf("%s/inner/cpuset.mems", *d);
                        CHECK(sys_write_file_at(AT_FDCWD, sc, NULL, cpus) == 0);
                        CHECK(sys_write_file_at(AT_FDCWD, sm, NULL, mems) == 0);
                }
        }
        CHECK(cgroup_enter(subs, child, &err) == 0);
        CHECK(write(wfd, "f", 1) == 1);

        /* Wait until both grandchildren are there (they fork after start). */
        pid_t *pids = NULL;
        size_t n = 0;
        for (int i = 0; i < 200; i++) {
                free(pids);
                pids = NULL;
                CHECK(cgroup_pids(dirs, &pids, &n, &err) == 0);
                if (n == 3)
                        break;
                usleep(5000);
        }
        CHECK(n == 3);
        for (size_t i = 1; i < n; i++)
                CHECK(pids[i - 1] < pids[i]);
        bool has_child = false;
        for (size_t i = 0; i < n; i++)
                has_child |= pids[i] == child;
        CHECK(has_child);
        free(pids);

        /* SIGTERM goes pid by pid (no cgroup.kill for it), to every one. */
        CHECK(cgroup_kill_all(dirs, SIGTERM, &err) == 0);
        int reaped = 0, termed = 0;
        for (int i = 0; i < 3; i++) {
                int st = 0;
                pid_t w = waitpid(-1, &st, 0);
                if (w <= 0)
                        break;
                reaped++;
                termed += WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
        }
        CHECK(reaped == 3 && termed == 3);
        close(wfd);
        CHECK(prctl(PR_SET_CHILD_SUBREAPER, 0) == 0);

        /* Destroy takes the inner cgroups too, deepest first. */
        CHECK(cgroup_destroy(dirs, &err) == 0);
        for (char **d = subs; *d; d++)
                CHECK(!exists(*d));
        for (char **d = dirs; *d; d++)
                CHECK(!exists(*d));
}

/* A nested relative path; a failure halfway leaves nothing of what it made. */
TEST(cgroup_nested_and_rollback)
{
        if (!can_run("cgroup_nested_and_rollback"))
                return;
        struct error err = {0};
        _cleanup_free_ char *name = unique_name();
        _cleanup_free_ char *nested = xasprintf("%s/mid/leaf", name);
        _cleanup_strv_ char **dirs = NULL;
        CHECK(cgroup_create(nested, NULL, &dirs, &err) == 0);
        if (!dirs) {
                printf("  %s\n", err.msg);
                return;
        }
        int wfd = -1;
        pid_t child = spawn(0, &wfd);
        CHECK(cgroup_enter(dirs, child, &err) == 0);
        CHECK(proc_cgroup_is(child, nested));
        if (cgroup_mode() == CGROUP_MODE_V2) {
                /* The levels we made pass their controllers down. */
                _cleanup_free_ char *c = NULL, *cp = xasprintf("%s/cgroup.controllers", dirs[0]);
                CHECK(read_file_at(AT_FDCWD, cp, 0, &c, NULL) == 0);
                CHECK(c && strstr(c, "memory") && strstr(c, "pids"));
        }
        CHECK(cgroup_kill_all(dirs, SIGKILL, &err) == 0);
        CHECK(waitpid(child, NULL, 0) == child);
        close(wfd);
        CHECK(cgroup_destroy(dirs, &err) == 0);
        /* Only the leaf goes, as in runc; the parents stay for whoever shares them. */
        _cleanup_strv_ char **top = NULL, **mid = NULL;
        for (char **d = dirs; *d; d++) {
                CHECK(!exists(*d));
                mid = strv_push(mid, xstrndup(*d, strlen(*d) - strlen("/leaf")));
                top = strv_push(top, xstrndup(*d, strlen(*d) - strlen("/mid/leaf")));
                CHECK(exists(mid[strv_len(mid) - 1]));
        }
        strv_free(dirs);
        dirs = NULL;

        /* Make the v2 cgroup refuse depth beyond one level (or, on v1 only,
         * occupy the leaf name with... nothing to break: v1 has no limit). */
        const char *u = cgroup_unified_dir(top);
        if (u) {
                _cleanup_free_ char *md = xasprintf("%s/cgroup.max.depth", u);
                CHECK(sys_write_file_at(AT_FDCWD, md, NULL, "1") == 0);
                _cleanup_free_ char *deeper = xasprintf("%s/new/leaf", name);
                CHECK(cgroup_create(deeper, NULL, &dirs, &err) == -EAGAIN);
                CHECK(dirs == NULL);
                CHECK(strstr(err.msg, "create cgroup") != NULL);
                /* Nothing of new/ or new/leaf remains in any hierarchy. */
                for (char **t = top; *t; t++) {
                        _cleanup_free_ char *nd = xasprintf("%s/new", *t);
                        CHECK(!exists(nd));
                }
        } else {
                printf("  note: no cgroup v2 here, rollback not exercised\n");
        }
        CHECK(cgroup_destroy(top, &err) == 0);
        for (char **t = top; *t; t++)
                CHECK(!exists(*t));
}

static bool wait_exit(pid_t pid, int ms, int *status)
{
        for (int i = 0; i < ms; i++) {
                if (waitpid(pid, status, WNOHANG) == pid)
                        return true;
                usleep(1000);
        }
        return false;
}

static bool file_starts(const char *path, const char *want)
{
        _cleanup_free_ char *text = NULL;
        return read_file_at(AT_FDCWD, path, 0, &text, NULL) == 0 && str_startswith(text, want);
}

/* A paused (frozen) container still dies on a forced kill. On a hybrid host
 * the v1 dirs alone are given, so the pid-by-pid path and the v1 thaw run. */
TEST(cgroup_kill_frozen)
{
        if (!can_run("cgroup_kill_frozen"))
                return;
        struct error err = {0};
        _cleanup_free_ char *name = unique_name();
        _cleanup_strv_ char **dirs = NULL;
        CHECK(cgroup_create(name, NULL, &dirs, &err) == 0);
        if (!dirs) {
                printf("  %s\n", err.msg);
                return;
        }
        const struct cg_layout *l;
        CHECK(cg_layout_get(&l, &err) == 0);
        int wfd = -1;
        pid_t child = spawn(0, &wfd);
        CHECK(cgroup_enter(dirs, child, &err) == 0);

        _cleanup_strv_ char **target = NULL;
        const char *frozen = NULL;
        for (char **d = dirs; *d; d++) {
                const struct cg_hier *h = cg_hier_of(l, *d);
                if (l->mode == CGROUP_MODE_V2 || (h && !h->v2))
                        target = strv_push(target, xstrdup(*d));
                if (h && cg_hier_has(h, "freezer")) {
                        _cleanup_free_ char *st = xasprintf("%s/freezer.state", *d);
                        CHECK(sys_write_file_at(AT_FDCWD, st, NULL, "FROZEN") == 0);
                        for (int i = 0; i < 1000 && !file_starts(st, "FROZEN"); i++)
                                usleep(1000);
                        CHECK(file_starts(st, "FROZEN"));
                        frozen = *d;
                }
                if (h && h->v2 && l->mode == CGROUP_MODE_V2) {
                        _cleanup_free_ char *fz = xasprintf("%s/cgroup.freeze", *d);
                        _cleanup_free_ char *ev = xasprintf("%s/cgroup.events", *d);
                        CHECK(sys_write_file_at(AT_FDCWD, fz, NULL, "1") == 0);
                        _cleanup_free_ char *text = NULL;
                        for (int i = 0; i < 1000; i++) {
                                free(text);
                                text = NULL;
                                if (read_file_at(AT_FDCWD, ev, 0, &text, NULL) == 0 &&
                                    strstr(text, "frozen 1"))
                                        break;
                                usleep(1000);
                        }
                        CHECK(text && strstr(text, "frozen 1"));
                        frozen = *d;
                }
        }
        CHECK(frozen != NULL);
        /* Frozen really means stuck: the child can't act on its pipe closing. */
        close(wfd);
        int status = 0;
        CHECK(!wait_exit(child, 50, &status));

        CHECK(cgroup_kill_all(target, SIGKILL, &err) == 0);
        bool died = wait_exit(child, 2000, &status);
        CHECK(died && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        if (!died) {
                /* Don't leave it behind: thaw by hand and kill. */
                for (char **d = dirs; *d; d++) {
                        _cleanup_free_ char *st = xasprintf("%s/freezer.state", *d);
                        _cleanup_free_ char *fz = xasprintf("%s/cgroup.freeze", *d);
                        (void)sys_write_file_at(AT_FDCWD, st, NULL, "THAWED");
                        (void)sys_write_file_at(AT_FDCWD, fz, NULL, "0");
                }
                kill(child, SIGKILL);
                waitpid(child, NULL, 0);
        }
        CHECK(cgroup_destroy(dirs, &err) == 0);
        for (char **d = dirs; *d; d++)
                CHECK(!exists(*d));
}

/* --explain shows each step as the shell command that does it. */
TEST(cgroup_explain)
{
        if (!can_run("cgroup_explain"))
                return;
        struct error err = {0};
        _cleanup_free_ char *name = unique_name();
        _cleanup_strv_ char **dirs = NULL, **again = NULL;
        int p[2];
        CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
        explain_enable(p[1]);
        CHECK(cgroup_create(name, NULL, &dirs, &err) == 0);
        /* Again: everything exists, so no mkdir is shown. */
        CHECK(cgroup_create(name, NULL, &again, &err) == 0);
        int wfd = -1;
        pid_t child = spawn(0, &wfd);
        CHECK(cgroup_enter(dirs, child, &err) == 0);
        CHECK(cgroup_kill_all(dirs, SIGKILL, &err) == 0);
        CHECK(waitpid(child, NULL, 0) == child);
        close(wfd);
        CHECK(cgroup_destroy(dirs, &err) == 0);
        explain_enable(-1);
        static char out[65536];
        ssize_t n = read(p[0], out, sizeof(out) - 1);
        close(p[0]);
        close(p[1]);
        CHECK(n > 0);
        out[n > 0 ? n : 0] = '\0';
        if (!dirs)
                return;
        size_t mkdirs = 0;
        for (const char *q = out; (q = strstr(q, "$ mkdir ")); q++)
                mkdirs++;
        CHECK(mkdirs == strv_len(dirs));
        const struct cg_layout *l;
        CHECK(cg_layout_get(&l, &err) == 0);
        for (char **d = dirs; *d; d++) {
                _cleanup_free_ char *mk = xasprintf("$ mkdir -m 755 %s\n", *d);
                _cleanup_free_ char *en =
                    xasprintf("$ echo %d > %s/cgroup.procs\n", (int)child, *d);
                _cleanup_free_ char *rm = xasprintf("$ rmdir %s\n", *d);
                CHECK(strstr(out, mk) != NULL);
                CHECK(strstr(out, en) != NULL);
                CHECK(strstr(out, rm) != NULL);
                const struct cg_hier *h = cg_hier_of(l, *d);
                if (h && cg_hier_has(h, "cpuset")) {
                        _cleanup_free_ char *cs = xasprintf("> %s/cpuset.cpus\n", *d);
                        CHECK(strstr(out, cs) != NULL);
                }
        }
        const char *u = cgroup_unified_dir(dirs);
        _cleanup_free_ char *k = u ? xasprintf("$ echo 1 > %s/cgroup.kill\n", u)
                                   : xasprintf("$ kill -KILL %d\n", (int)child);
        CHECK(strstr(out, k) != NULL);
        if (*unit_failed)
                printf("%s", out);
}

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return (x > y) - (x < y);
}

static int64_t now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Prints the median cost of create, enter and destroy with HUSK_UNIT_TIMING=1. */
TEST(cgroup_timing)
{
        if (!getenv("HUSK_UNIT_TIMING") || !can_run("cgroup_timing"))
                return;
        enum { N = 31 };
        int64_t tc[N], te[N], td[N];
        struct error err = {0};
        for (int i = 0; i < N; i++) {
                _cleanup_free_ char *name = unique_name();
                _cleanup_strv_ char **dirs = NULL;
                int wfd = -1;
                pid_t child = spawn(0, &wfd);
                int64_t t0 = now_us();
                CHECK(cgroup_create(name, NULL, &dirs, &err) == 0);
                int64_t t1 = now_us();
                CHECK(cgroup_enter(dirs, child, &err) == 0);
                int64_t t2 = now_us();
                close(wfd);
                CHECK(waitpid(child, NULL, 0) == child);
                int64_t t3 = now_us();
                CHECK(cgroup_destroy(dirs, &err) == 0);
                int64_t t4 = now_us();
                tc[i] = t1 - t0;
                te[i] = t2 - t1;
                td[i] = t4 - t3;
        }
        qsort(tc, N, sizeof(*tc), cmp_i64);
        qsort(te, N, sizeof(*te), cmp_i64);
        qsort(td, N, sizeof(*td), cmp_i64);
        printf("  timing (median of %d, %s): create %lld us, enter %lld us, destroy %lld us\n", N,
               cgroup_mode() == CGROUP_MODE_V2       ? "v2"
               : cgroup_mode() == CGROUP_MODE_HYBRID ? "hybrid"
                                                     : "v1",
               (long long)tc[N / 2], (long long)te[N / 2], (long long)td[N / 2]);
}

UNIT_MAIN()
