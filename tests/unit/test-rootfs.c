/* rootfs_prepare() + rootfs_finish() for real, on a busybox rootfs in a temp
 * dir, inside namespaces made for the test: the child checks the result from
 * inside the container and reports failures through a pipe. Needs root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/sys.h"
#include "core/util.h"
#include "runtime/mount.h"
#include "runtime/rootfs.h"
#include "unit.h"

/* ---- in the child: failures go to report_fd as lines ---- */

static int report_fd = -1;
static int child_failed;

#define EXPECT(expr)                                                                               \
        do {                                                                                       \
                if (!(expr)) {                                                                     \
                        dprintf(report_fd, "  %s:%d: EXPECT(%s) failed (errno %d %s)\n", __FILE__, \
                                __LINE__, #expr, errno, strerror(errno));                          \
                        child_failed = 1;                                                          \
                }                                                                                  \
        } while (0)

static char *slurp(const char *path)
{
        char *s = NULL;
        if (read_file_at(AT_FDCWD, path, 0, &s, NULL) < 0)
                return NULL;
        return s;
}

/* The mountinfo line whose mount point is exactly mp, or NULL (owned). */
static char *mountinfo_line(const char *mp)
{
        _cleanup_free_ char *mi = slurp("/proc/self/mountinfo");
        if (!mi)
                return NULL;
        char *found = NULL;
        char *save = NULL;
        for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char a[64], b[64], c[64], root[PATH_MAX], point[PATH_MAX];
                if (sscanf(l, "%63s %63s %63s %4095s %4095s", a, b, c, root, point) == 5 &&
                    strcmp(point, mp) == 0) {
                        free(found);
                        found = xstrdup(l);
                }
        }
        return found;
}

static bool is_mount(const char *mp)
{
        _cleanup_free_ char *l = mountinfo_line(mp);
        return l != NULL;
}

static bool creat_fails_erofs(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
                close(fd);
                unlink(path);
                return false;
        }
        return errno == EROFS;
}

/* ---- building the test rootfs ---- */

struct fixture {
        char dir[64];          /* temp dir holding everything */
        char root[PATH_MAX];   /* dir/root */
        char src[PATH_MAX];    /* dir/src: a bind source directory */
        char victim[PATH_MAX]; /* dir/victim: a host dir the image points at */
        char explain[PATH_MAX];
};

static int copy_file(const char *from, const char *to, mode_t mode)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = read_file_at(AT_FDCWD, from, 64 << 20, &buf, &len);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        return write_all(fd, buf, len);
}

static int write_text(const char *path, const char *text)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        return write_all(fd, text, strlen(text));
}

static bool fixture_make(struct fixture *f)
{
        snprintf(f->dir, sizeof(f->dir), "/tmp/husk-rootfs-XXXXXX");
        if (!mkdtemp(f->dir))
                return false;
        snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
        snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
        snprintf(f->victim, sizeof(f->victim), "%s/victim", f->dir);
        snprintf(f->explain, sizeof(f->explain), "%s/explain.txt", f->dir);
        char p[PATH_MAX];
        bool ok =
            mkdir(f->root, 0755) == 0 && mkdir(f->src, 0755) == 0 && mkdir(f->victim, 0755) == 0;
        snprintf(p, sizeof(p), "%s/bin", f->root);
        ok = ok && mkdir(p, 0755) == 0;
        snprintf(p, sizeof(p), "%s/bin/busybox", f->root);
        ok = ok && copy_file("/bin/busybox", p, 0755) == 0;
        snprintf(p, sizeof(p), "%s/bin/sh", f->root);
        ok = ok && symlink("busybox", p) == 0;
        static const char *const dirs[] = {"etc", "masked-dir", "ro-dir"};
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                snprintf(p, sizeof(p), "%s/%s", f->root, dirs[i]);
                ok = ok && mkdir(p, 0755) == 0;
        }
        snprintf(p, sizeof(p), "%s/masked-dir/secret", f->root);
        ok = ok && write_text(p, "secret") == 0;
        snprintf(p, sizeof(p), "%s/etc/masked-file", f->root);
        ok = ok && write_text(p, "secret") == 0;
        /* The image's symlinks that try to lead mounts out of the rootfs. */
        snprintf(p, sizeof(p), "%s/escape", f->root);
        ok = ok && symlink("/", p) == 0;
        snprintf(p, sizeof(p), "%s/mnt", f->root);
        ok = ok && symlink(f->victim, p) == 0;
        snprintf(p, sizeof(p), "%s/file", f->src);
        ok = ok && write_text(p, "hello") == 0;
        snprintf(p, sizeof(p), "%s/single", f->dir);
        ok = ok && write_text(p, "filedata") == 0;
        return ok;
}

static void fixture_remove(struct fixture *f)
{
        /* HUSK_TEST_SHOW_EXPLAIN=1 prints what --explain said, for a look by eye. */
        if (getenv("HUSK_TEST_SHOW_EXPLAIN")) {
                _cleanup_free_ char *text = NULL;
                if (read_file_at(AT_FDCWD, f->explain, 0, &text, NULL) == 0)
                        printf("%s", text);
        }
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
        if (system(cmd) != 0)
                printf("  could not remove %s\n", f->dir);
}

/* ---- running a scenario in new namespaces ---- */

typedef void (*scenario_fn)(struct fixture *f);

/* The container's own cgroups, as the lead's code would pass them. */
static char **own_cgroup_dirs(void)
{
        _cleanup_free_ char *text = slurp("/proc/self/cgroup");
        char **v = NULL;
        char *save = NULL;
        for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = '\0';
                const char *ctrl = c1 + 1;
                char *d;
                if (!*ctrl)
                        d = xasprintf("/sys/fs/cgroup/unified%s", c2 + 1);
                else if (str_startswith(ctrl, "name="))
                        d = xasprintf("/sys/fs/cgroup/%s%s", ctrl + 5, c2 + 1);
                else
                        d = xasprintf("/sys/fs/cgroup/%s%s", ctrl, c2 + 1);
                struct stat st;
                if (stat(d, &st) == 0 && S_ISDIR(st.st_mode))
                        v = strv_push(v, d);
                else
                        free(d);
        }
        return v;
}

enum {
        RUN_USERNS = 1,   /* inside a new user namespace, mapped 0-65535 by the parent */
        RUN_SUBMOUNT = 2, /* a tmpfs on f->src/sub, for recursive binds */
        RUN_CGROUPNS = 4, /* a cgroup namespace of its own */
        RUN_NETNS = 8,    /* a network namespace of its own */
};

/* Runs fn as pid 1 of new mount+pid+ipc namespaces, after the test's own
 * mount namespace was made private (nothing reaches the host even where "/"
 * is shared). RUN_USERNS first mounts a nosuid,nodev,noexec tmpfs on f->src,
 * so its flags are locked inside the user namespace. Returns the child's
 * failure report (empty on success). */
static char *run_scenario(struct fixture *f, unsigned opts, scenario_fn fn)
{
        int rep[2], up[2], ack[2];
        if (pipe2(rep, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0 || pipe2(ack, O_CLOEXEC) < 0)
                return xstrdup("pipe failed");
        fflush(stdout);
        pid_t a = fork();
        if (a < 0)
                return xstrdup("fork failed");
        if (a == 0) {
                close(rep[0]);
                close(up[0]);
                close(ack[1]);
                report_fd = rep[1];
                child_failed = 0;
                if (unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                        dprintf(report_fd, "  setup: %s\n", strerror(errno));
                        _exit(1);
                }
                char p[PATH_MAX];
                if (opts & RUN_SUBMOUNT) {
                        snprintf(p, sizeof(p), "%s/sub", f->src);
                        if (mkdir(p, 0755) < 0 || mount("tmpfs", p, "tmpfs", 0, "size=1m") < 0) {
                                dprintf(report_fd, "  setup submount: %s\n", strerror(errno));
                                _exit(1);
                        }
                }
                if (opts & RUN_USERNS) {
                        char c = 'x';
                        if (mount("tmpfs", f->src, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                  "size=1m") < 0) {
                                dprintf(report_fd, "  setup: %s\n", strerror(errno));
                                _exit(1);
                        }
                        snprintf(p, sizeof(p), "%s/file", f->src);
                        if (write_text(p, "hello") < 0 || unshare(CLONE_NEWUSER) < 0 ||
                            write(up[1], &c, 1) != 1 || read(ack[0], &c, 1) != 1) {
                                dprintf(report_fd, "  setup userns: %s\n", strerror(errno));
                                _exit(1);
                        }
                }
                if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                            (opts & RUN_CGROUPNS ? CLONE_NEWCGROUP : 0) |
                            (opts & RUN_NETNS ? CLONE_NEWNET : 0)) < 0) {
                        dprintf(report_fd, "  unshare: %s\n", strerror(errno));
                        _exit(1);
                }
                pid_t b = fork();
                if (b == 0) {
                        fn(f);
                        /* exit(), not _exit(): under ASan the leak check runs here too. */
                        exit(child_failed ? 1 : 0);
                }
                int st = 0;
                if (b < 0 || waitpid(b, &st, 0) < 0)
                        _exit(1);
                if (!WIFEXITED(st))
                        dprintf(report_fd, "  container process died: status %d\n", st);
                _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
        }
        close(rep[1]);
        close(up[1]);
        close(ack[0]);
        if (opts & RUN_USERNS) {
                char c;
                if (read(up[0], &c, 1) == 1) {
                        char p[64];
                        snprintf(p, sizeof(p), "/proc/%d/uid_map", (int)a);
                        bool ok = sys_write_file_at(AT_FDCWD, p, NULL, "0 0 65536\n") == 0;
                        snprintf(p, sizeof(p), "/proc/%d/gid_map", (int)a);
                        ok = ok && sys_write_file_at(AT_FDCWD, p, NULL, "0 0 65536\n") == 0;
                        if (ok && write(ack[1], &c, 1) != 1)
                                ok = false;
                        if (!ok)
                                kill(a, SIGKILL);
                }
        }
        close(up[0]);
        close(ack[1]);
        char *out = xstrdup("");
        char buf[4096];
        ssize_t n;
        while ((n = read(rep[0], buf, sizeof(buf) - 1)) > 0) {
                buf[n] = '\0';
                char *t = xasprintf("%s%s", out, buf);
                free(out);
                out = t;
        }
        close(rep[0]);
        int st = 0;
        waitpid(a, &st, 0);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) && !*out) {
                free(out);
                out = xasprintf("  child exited with status %d and no report\n", st);
        }
        return out;
}

static bool require_root(void)
{
        if (geteuid() == 0)
                return true;
        printf("  skipped: needs root\n");
        return false;
}

/* ---- the spec, filled by hand ---- */

#define MNT(dest, typ, src, fl, dat)                                                               \
        {                                                                                          \
                .destination = dest, .type = typ, .source = src, .flags = fl, .data = dat          \
        }

static struct spec_mount base_mounts[] = {
    MNT("/proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL),
    MNT("/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"),
    MNT("/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620"),
    MNT("/dev/shm", "tmpfs", "shm", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k"),
    MNT("/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL),
    MNT("/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL),
};

static void fill_spec(struct spec *sp, struct spec_mount *extra, size_t n_extra,
                      struct spec_mount *all)
{
        memset(sp, 0, sizeof(*sp));
        size_t n = 0;
        for (size_t i = 0; i < ARRAY_SIZE(base_mounts); i++)
                all[n++] = base_mounts[i];
        for (size_t i = 0; i < n_extra; i++)
                all[n++] = extra[i];
        sp->mounts = all;
        sp->n_mounts = n;
}

static void check_explained(const char *path, const char *const *want, size_t n)
{
        _cleanup_free_ char *text = slurp(path);
        EXPECT(text != NULL);
        for (size_t i = 0; text && i < n; i++)
                if (!strstr(text, want[i])) {
                        dprintf(report_fd, "  explain output lacks \"%s\"\n", want[i]);
                        child_failed = 1;
                }
}

/* ---- scenarios (run as pid 1 of the new namespaces) ---- */

static void scenario_full(struct fixture *f)
{
        char src_file[PATH_MAX], single[PATH_MAX];
        snprintf(src_file, sizeof(src_file), "%s/file", f->src);
        snprintf(single, sizeof(single), "%s/single", f->dir);
        struct spec_mount extra[] = {
            MNT("/sys/fs/cgroup", "cgroup", "cgroup",
                MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY, NULL),
            MNT("/data", "bind", f->src, MS_BIND | MS_REC | MS_RDONLY, NULL),
            MNT("/data-file", "bind", single, MS_BIND, NULL),
            MNT("/tmp", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m"),
            MNT("/escape/tmp/landed", "tmpfs", "tmpfs", 0, NULL),
            MNT("/shared", "tmpfs", "tmpfs", 0, NULL),
        };
        extra[5].propagation = MS_SHARED;
        struct spec_mount all[32];
        struct spec sp;
        fill_spec(&sp, extra, ARRAY_SIZE(extra), all);
        struct spec_device devs[] = {
            {.type = 'c',
             .path = "/dev/mydev",
             .major = 1,
             .minor = 3,
             .has_file_mode = true,
             .file_mode = 0600,
             .has_uid = true,
             .uid = 1000,
             .has_gid = true,
             .gid = 1001},
            {.type = 'p', .path = "/dev/sub/fifo"},
        };
        sp.linux.devices = devs;
        sp.linux.n_devices = ARRAY_SIZE(devs);
        char *masked[] = {"/proc/kcore",      "/proc/timer_list", "/masked-dir",
                          "/etc/masked-file", "/no/such/path",    NULL};
        char *ro[] = {"/proc/sys", "/ro-dir", "/no/such/ro", NULL};
        sp.linux.masked_paths = masked;
        sp.linux.readonly_paths = ro;
        _cleanup_strv_ char **cg = own_cgroup_dirs();

        /* A pty on the host's devpts for /dev/console. */
        int ptm = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        EXPECT(ptm >= 0 && grantpt(ptm) == 0 && unlockpt(ptm) == 0);
        char *pts = ptm >= 0 ? ptsname(ptm) : NULL;

        struct rootfs_ctx ctx = {
            .spec = &sp,
            .rootfs = f->root,
            .cgroup_dirs = cg,
            .console_path = pts,
        };
        int efd = open(f->explain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        EXPECT(efd >= 0);
        explain_enable(efd);
        struct error err = {0};
        int r = rootfs_prepare(&ctx, &err);
        if (r < 0) {
                dprintf(report_fd, "  rootfs_prepare: %s\n", err.msg);
                _exit(1);
        }
        /* The symlink "escape -> /" stayed inside the rootfs. */
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/tmp/landed", f->root);
        EXPECT(is_mount(p));
        EXPECT(!is_mount("/tmp/landed"));
        r = rootfs_finish(&ctx, false, &err);
        if (r < 0) {
                dprintf(report_fd, "  rootfs_finish: %s\n", err.msg);
                _exit(1);
        }
        explain_enable(-1);
        close(efd);

        EXPECT(getpid() == 1);
        /* The old root is gone: no mount point names the host's temp dir. */
        _cleanup_free_ char *mi = slurp("/proc/self/mountinfo");
        EXPECT(mi != NULL);
        char *save = NULL;
        int n_mounts = 0;
        for (char *l = mi ? strtok_r(mi, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
                char a[64], b[64], c[64], mroot[PATH_MAX], point[PATH_MAX];
                n_mounts++;
                if (sscanf(l, "%63s %63s %63s %4095s %4095s", a, b, c, mroot, point) == 5 &&
                    str_startswith(point, f->dir)) {
                        dprintf(report_fd, "  host mount left: %s\n", l);
                        child_failed = 1;
                }
        }
        EXPECT(n_mounts < 40);
        EXPECT(access("/bin/busybox", X_OK) == 0);
        static const char *const points[] = {
            "/",
            "/proc",
            "/dev",
            "/dev/pts",
            "/dev/shm",
            "/dev/mqueue",
            "/sys",
            "/sys/fs/cgroup",
            "/data",
            "/data-file",
            "/tmp",
            "/tmp/landed",
            "/shared",
            "/dev/console",
            "/proc/timer_list",
            "/masked-dir",
            "/etc/masked-file",
            "/proc/sys",
            "/ro-dir",
        };
        for (size_t i = 0; i < ARRAY_SIZE(points); i++)
                if (!is_mount(points[i])) {
                        dprintf(report_fd, "  '%s' is not a mount point\n", points[i]);
                        child_failed = 1;
                }
        EXPECT(!is_mount("/no/such/path"));
        struct stat st;
        EXPECT(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
               minor(st.st_rdev) == 3 && (st.st_mode & 07777) == 0666);
        EXPECT(stat("/dev/tty", &st) == 0 && major(st.st_rdev) == 5 && minor(st.st_rdev) == 0);
        EXPECT(stat("/dev/urandom", &st) == 0 && minor(st.st_rdev) == 9);
        EXPECT(stat("/dev/mydev", &st) == 0 && S_ISCHR(st.st_mode) &&
               (st.st_mode & 07777) == 0600 && st.st_uid == 1000 && st.st_gid == 1001);
        EXPECT(stat("/dev/sub/fifo", &st) == 0 && S_ISFIFO(st.st_mode));
        char link[64];
        ssize_t n = readlink("/dev/ptmx", link, sizeof(link) - 1);
        EXPECT(n == 8 && memcmp(link, "pts/ptmx", 8) == 0);
        n = readlink("/dev/fd", link, sizeof(link) - 1);
        EXPECT(n == 13 && memcmp(link, "/proc/self/fd", 13) == 0);
        n = readlink("/dev/stderr", link, sizeof(link) - 1);
        EXPECT(n == 15 && memcmp(link, "/proc/self/fd/2", 15) == 0);
        EXPECT(stat("/dev/ptmx", &st) == 0 && S_ISCHR(st.st_mode));
        EXPECT(stat("/dev/console", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 136);
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        EXPECT(fd >= 0 && write(fd, "x", 1) == 1);
        if (fd >= 0)
                close(fd);
        /* Bind mounts: the ro one refuses writes; the file one shows the file. */
        _cleanup_free_ char *hello = slurp("/data/file");
        EXPECT(hello && strcmp(hello, "hello") == 0);
        EXPECT(creat_fails_erofs("/data/new"));
        _cleanup_free_ char *single_text = slurp("/data-file");
        EXPECT(single_text && strcmp(single_text, "filedata") == 0);
        struct statfs sf;
        EXPECT(statfs("/tmp", &sf) == 0 && sf.f_type == TMPFS_MAGIC &&
               (uint64_t)sf.f_blocks * sf.f_bsize == 1 << 20);
        EXPECT(write_text("/tmp/ok", "x") == 0);
        struct statvfs sv;
        EXPECT(statvfs("/proc", &sv) == 0 && (sv.f_flag & ST_NOSUID) && (sv.f_flag & ST_NOEXEC));
        EXPECT(statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY));
        EXPECT(statfs("/dev/pts", &sf) == 0 && sf.f_type == DEVPTS_SUPER_MAGIC);
        EXPECT(statfs("/dev/mqueue", &sf) == 0 && sf.f_type == 0x19800202 /* MQUEUE_MAGIC */);
        /* cgroup v1: a read-only tmpfs holding the container's hierarchies. */
        EXPECT(statfs("/sys/fs/cgroup", &sf) == 0 &&
               (sf.f_type == TMPFS_MAGIC || sf.f_type == CGROUP2_SUPER_MAGIC));
        EXPECT(statvfs("/sys/fs/cgroup", &sv) == 0 && (sv.f_flag & ST_RDONLY));
        if (sf.f_type == TMPFS_MAGIC) {
                EXPECT(access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0);
                EXPECT(statvfs("/sys/fs/cgroup/memory", &sv) == 0 && (sv.f_flag & ST_RDONLY));
        }
        /* Propagation asked for one mount. */
        _cleanup_free_ char *shared = mountinfo_line("/shared");
        EXPECT(shared && strstr(shared, " shared:"));
        /* Masked: empty file, empty read-only directory; missing ones skipped. */
        _cleanup_free_ char *tl = slurp("/proc/timer_list");
        EXPECT(tl && *tl == '\0');
        _cleanup_free_ char *mf = slurp("/etc/masked-file");
        EXPECT(mf && *mf == '\0');
        EXPECT(access("/masked-dir/secret", F_OK) < 0 && errno == ENOENT);
        EXPECT(creat_fails_erofs("/masked-dir/x"));
        /* Read-only paths. */
        fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
        EXPECT(fd < 0 && errno == EROFS);
        if (fd >= 0)
                close(fd);
        EXPECT(creat_fails_erofs("/ro-dir/x"));
        EXPECT(statvfs("/ro-dir", &sv) == 0 && (sv.f_flag & ST_NOSUID) && (sv.f_flag & ST_NOEXEC) &&
               (sv.f_flag & ST_NODEV));
        /* The root stays writable (root.readonly is false). */
        EXPECT(write_text("/etc/written", "x") == 0);
        if (ptm >= 0)
                close(ptm);
}

static const char *const full_explained[] = {
    "# rootfs is ",
    "$ mount --make-rslave /\n",
    "$ mount -t proc -o nosuid,nodev,noexec proc /proc\n",
    "$ mount -t tmpfs -o nosuid,strictatime,mode=755,size=65536k tmpfs /dev\n",
    "$ mknod -m 666 /dev/null c 1 3\n",
    "$ mknod -m 600 /dev/mydev c 1 3\n",
    "$ chown -h 1000:1001 /dev/mydev\n",
    "$ ln -s pts/ptmx /dev/ptmx\n",
    "$ mount -o remount,bind,ro /data\n",
    " /escape/tmp/landed\n",
    "$ pivot_root . .\n",
    "$ umount -l .\n",
    "$ mount --bind /dev/null /proc/timer_list\n",
    "$ mount -t tmpfs -o ro tmpfs /masked-dir\n",
    "$ mount -o remount,bind,ro,nosuid,nodev,noexec /proc/sys\n",
};

TEST(rootfs_full_container)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report = run_scenario(&f, 0, scenario_full);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        /* --explain names the container paths. */
        report_fd = STDOUT_FILENO;
        child_failed = 0;
        check_explained(f.explain, full_explained, ARRAY_SIZE(full_explained));
        CHECK(!child_failed);
        /* Nothing landed on the host. */
        CHECK(access("/tmp/landed", F_OK) < 0);
        fixture_remove(&f);
}

static void scenario_userns(struct fixture *f)
{
        struct spec_mount extra[] = {
            MNT("/data", "bind", f->src, MS_BIND | MS_REC | MS_RDONLY, NULL),
        };
        struct spec_mount all[16];
        struct spec sp;
        fill_spec(&sp, extra, ARRAY_SIZE(extra), all);
        struct spec_device devs[] = {
            {.type = 'c', .path = "/dev/kmsg", .major = 1, .minor = 11},
        };
        sp.linux.devices = devs;
        sp.linux.n_devices = ARRAY_SIZE(devs);
        char *masked[] = {"/proc/kcore", "/proc/timer_list", NULL};
        sp.linux.masked_paths = masked;
        sp.root_readonly = true;
        struct rootfs_ctx ctx = {.spec = &sp, .rootfs = f->root, .userns = true};
        int efd = open(f->explain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        EXPECT(efd >= 0);
        explain_enable(efd);
        struct error err = {0};
        if (rootfs_prepare(&ctx, &err) < 0 || rootfs_finish(&ctx, false, &err) < 0) {
                dprintf(report_fd, "  %s\n", err.msg);
                _exit(1);
        }
        explain_enable(-1);
        close(efd);
        /* Devices are the host's nodes bound onto empty files. */
        struct stat st;
        EXPECT(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
               minor(st.st_rdev) == 3);
        EXPECT(is_mount("/dev/null"));
        EXPECT(is_mount("/dev/kmsg"));
        EXPECT(stat("/dev/kmsg", &st) == 0 && minor(st.st_rdev) == 11);
        /* sysfs could not be mounted: the host's /sys is bound, read-only. */
        EXPECT(access("/sys/kernel", F_OK) == 0);
        struct statvfs sv;
        EXPECT(statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY));
        /* The ro bind of a nosuid,nodev,noexec mount kept those locked flags. */
        _cleanup_free_ char *hello = slurp("/data/file");
        EXPECT(hello && strcmp(hello, "hello") == 0);
        EXPECT(creat_fails_erofs("/data/x"));
        EXPECT(statvfs("/data", &sv) == 0 && (sv.f_flag & ST_NOSUID) && (sv.f_flag & ST_NODEV) &&
               (sv.f_flag & ST_NOEXEC));
        EXPECT(is_mount("/proc/timer_list"));
        /* root.readonly, while /dev (a tmpfs) stays writable. */
        EXPECT(creat_fails_erofs("/etc/x"));
        EXPECT(write_text("/dev/shm/ok", "x") == 0);
}

static const char *const userns_explained[] = {
    "$ mount --bind /dev/null /dev/null\n",
    "# sysfs can't be mounted in this user namespace: binding the host's /sys\n",
    "$ mount --rbind /sys /sys\n",
    "$ mount -o remount,bind,ro,nosuid,nodev,noexec /data\n",
    "$ mount -o remount,bind,ro /\n",
};

TEST(rootfs_user_namespace)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report = run_scenario(&f, RUN_USERNS, scenario_userns);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        report_fd = STDOUT_FILENO;
        child_failed = 0;
        check_explained(f.explain, userns_explained, ARRAY_SIZE(userns_explained));
        CHECK(!child_failed);
        fixture_remove(&f);
}

static void scenario_no_pivot(struct fixture *f)
{
        struct spec_mount extra[] = {
            MNT("/tmp", "tmpfs", "tmpfs", 0, NULL),
        };
        struct spec_mount all[16];
        struct spec sp;
        fill_spec(&sp, extra, ARRAY_SIZE(extra), all);
        all[1].flags |= MS_RDONLY; /* /dev */
        sp.root_readonly = true;
        sp.linux.rootfs_propagation = MS_PRIVATE | MS_REC;
        struct rootfs_ctx ctx = {.spec = &sp, .rootfs = f->root};
        struct error err = {0};
        _cleanup_close_ int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        EXPECT(oldroot >= 0 && faccessat(oldroot, "proc/self", F_OK, 0) == 0);
        if (rootfs_prepare(&ctx, &err) < 0 || rootfs_finish(&ctx, true, &err) < 0) {
                dprintf(report_fd, "  %s\n", err.msg);
                _exit(1);
        }
        /* The host's procfs and sysfs under the old root were detached. */
        EXPECT(faccessat(oldroot, "proc/self", F_OK, 0) < 0);
        EXPECT(faccessat(oldroot, "sys/kernel", F_OK, 0) < 0);
        EXPECT(access("/proc/self", F_OK) == 0 && access("/sys/kernel", F_OK) == 0);
        /* /dev was asked read-only: filled first, then remounted. */
        EXPECT(creat_fails_erofs("/dev/x"));
        EXPECT(write_text("/dev/shm/x", "x") == 0);
        EXPECT(access("/bin/busybox", X_OK) == 0);
        EXPECT(access(f->dir, F_OK) < 0);
        EXPECT(creat_fails_erofs("/etc/x"));
        EXPECT(write_text("/tmp/ok", "x") == 0);
        struct stat st;
        EXPECT(stat("/dev/zero", &st) == 0 && S_ISCHR(st.st_mode) && minor(st.st_rdev) == 5);
        _cleanup_free_ char *root = mountinfo_line("/");
        EXPECT(root && !strstr(root, " shared:") && !strstr(root, " master:"));
}

TEST(rootfs_no_pivot_readonly_root)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report = run_scenario(&f, 0, scenario_no_pivot);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        fixture_remove(&f);
}

/* A user namespace with its own network namespace mounts a real sysfs. */
static void scenario_userns_netns(struct fixture *f)
{
        struct spec_mount all[16];
        struct spec sp;
        fill_spec(&sp, NULL, 0, all);
        struct rootfs_ctx ctx = {.spec = &sp, .rootfs = f->root, .userns = true, .netns = true};
        struct error err = {0};
        if (rootfs_prepare(&ctx, &err) < 0 || rootfs_finish(&ctx, false, &err) < 0) {
                dprintf(report_fd, "  %s\n", err.msg);
                _exit(1);
        }
        /* Only the new namespace's loopback: not the host's /sys. */
        EXPECT(access("/sys/class/net/lo", F_OK) == 0);
        int links = 0;
        DIR *d = opendir("/sys/class/net");
        EXPECT(d != NULL);
        for (struct dirent *e; d && (e = readdir(d));)
                links += e->d_name[0] != '.';
        if (d)
                closedir(d);
        EXPECT(links == 1);
        struct statvfs sv;
        EXPECT(statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY));
}

TEST(rootfs_user_and_network_namespace)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report =
            run_scenario(&f, RUN_USERNS | RUN_NETNS, scenario_userns_netns);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        fixture_remove(&f);
}

/* rootfs_pivot(), then what runc does in between (console, sysctl), then
 * rootfs_protect(). */
static void scenario_split(struct fixture *f)
{
        struct spec_mount all[16];
        struct spec sp;
        fill_spec(&sp, NULL, 0, all);
        all[1].flags |= MS_RDONLY; /* /dev: read-only only after the console exists */
        char *ro[] = {"/proc/sys", NULL};
        sp.linux.readonly_paths = ro;
        struct rootfs_ctx ctx = {.spec = &sp, .rootfs = f->root};
        struct error err = {0};
        if (rootfs_prepare(&ctx, &err) < 0 || rootfs_pivot(&ctx, false, &err) < 0) {
                dprintf(report_fd, "  %s\n", err.msg);
                _exit(1);
        }
        /* A pty of the container's own devpts, as runc makes it. */
        int ptm = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        EXPECT(ptm >= 0 && unlockpt(ptm) == 0);
        char *pts = ptm >= 0 ? ptsname(ptm) : NULL;
        EXPECT(pts && str_startswith(pts, "/dev/pts/"));
        EXPECT(pts && rootfs_console(pts, &err) == 0);
        struct stat st, pst;
        EXPECT(pts && stat(pts, &pst) == 0 && stat("/dev/console", &st) == 0 &&
               st.st_rdev == pst.st_rdev && major(st.st_rdev) == 136);
        /* sysctl goes here: /proc/sys is still writable (a UTS namespace of
         * the test's own, and nothing is written). */
        int fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
        EXPECT(fd >= 0);
        if (fd >= 0)
                close(fd);
        if (rootfs_protect(&ctx, &err) < 0) {
                dprintf(report_fd, "  %s\n", err.msg);
                _exit(1);
        }
        fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
        EXPECT(fd < 0 && errno == EROFS);
        if (fd >= 0)
                close(fd);
        EXPECT(creat_fails_erofs("/dev/x"));
        if (ptm >= 0)
                close(ptm);
}

TEST(rootfs_split_finish)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report = run_scenario(&f, 0, scenario_split);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        fixture_remove(&f);
}

/* A cgroup namespace: v1 hierarchies (or cgroup2) are mounted, not bound. */
static void scenario_cgroupns(struct fixture *f)
{
        struct spec_mount extra[] = {
            MNT("/sys/fs/cgroup", "cgroup", "cgroup", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL),
        };
        struct spec_mount all[16];
        struct spec sp;
        fill_spec(&sp, extra, ARRAY_SIZE(extra), all);
        _cleanup_strv_ char **cg = own_cgroup_dirs();
        struct rootfs_ctx ctx = {
            .spec = &sp, .rootfs = f->root, .cgroupns = true, .cgroup_dirs = cg};
        struct error err = {0};
        if (rootfs_prepare(&ctx, &err) < 0 || rootfs_finish(&ctx, false, &err) < 0) {
                dprintf(report_fd, "  %s\n", err.msg);
                _exit(1);
        }
        struct statfs sf;
        EXPECT(statfs("/sys/fs/cgroup", &sf) == 0);
        if (sf.f_type == TMPFS_MAGIC) {
                EXPECT(statfs("/sys/fs/cgroup/memory", &sf) == 0 &&
                       sf.f_type == CGROUP_SUPER_MAGIC);
                EXPECT(access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0);
                /* Mounted in the namespace: its root is the container's cgroup. */
                _cleanup_free_ char *line = mountinfo_line("/sys/fs/cgroup/memory");
                EXPECT(line && strstr(line, " / /sys/fs/cgroup/memory "));
                struct statvfs sv;
                EXPECT(statvfs("/sys/fs/cgroup/memory", &sv) == 0 && !(sv.f_flag & ST_RDONLY));
        } else {
                EXPECT(sf.f_type == CGROUP2_SUPER_MAGIC);
                EXPECT(access("/sys/fs/cgroup/cgroup.procs", F_OK) == 0);
        }
}

TEST(rootfs_cgroup_namespace)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report = run_scenario(&f, RUN_CGROUPNS, scenario_cgroupns);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        fixture_remove(&f);
}

/* rootfsPropagation "rshared": pivot_root still works and "/" ends shared. */
static void scenario_rshared(struct fixture *f)
{
        struct spec_mount all[16];
        struct spec sp;
        fill_spec(&sp, NULL, 0, all);
        sp.linux.rootfs_propagation = MS_SHARED | MS_REC;
        struct rootfs_ctx ctx = {.spec = &sp, .rootfs = f->root};
        struct error err = {0};
        if (rootfs_prepare(&ctx, &err) < 0 || rootfs_finish(&ctx, false, &err) < 0) {
                dprintf(report_fd, "  %s\n", err.msg);
                _exit(1);
        }
        _cleanup_free_ char *root = mountinfo_line("/");
        EXPECT(root && strstr(root, " shared:"));
        _cleanup_free_ char *proc = mountinfo_line("/proc");
        EXPECT(proc && strstr(proc, " shared:"));
}

TEST(rootfs_rshared_propagation)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report = run_scenario(&f, 0, scenario_rshared);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        fixture_remove(&f);
}

/* "mnt -> <host dir>" in the image: resolved inside the rootfs (as runc
 * does), the missing directories are made there and the mount lands there,
 * never on the host directory. */
static void scenario_symlink_out(struct fixture *f)
{
        struct spec_mount extra[] = {
            MNT("/mnt/evil", "tmpfs", "tmpfs", 0, NULL),
        };
        struct spec_mount all[16];
        struct spec sp;
        fill_spec(&sp, extra, ARRAY_SIZE(extra), all);
        struct rootfs_ctx ctx = {.spec = &sp, .rootfs = f->root};
        struct error err = {0};
        int r = rootfs_prepare(&ctx, &err);
        EXPECT(r == 0);
        char p[PATH_MAX], inside[PATH_MAX * 2];
        snprintf(inside, sizeof(inside), "%s%s/evil", f->root, f->victim);
        EXPECT(is_mount(inside));
        snprintf(p, sizeof(p), "%s/evil", f->victim);
        EXPECT(access(p, F_OK) < 0);
        EXPECT(!is_mount(p));
        EXPECT(!is_mount(f->victim));
}

TEST(rootfs_symlink_out_of_root_lands_inside)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report = run_scenario(&f, 0, scenario_symlink_out);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        fixture_remove(&f);
}

/* Mounts inside /proc are refused (runc's rule), /proc/cpuinfo is allowed. */
static void scenario_proc_rule(struct fixture *f)
{
        char single[PATH_MAX];
        snprintf(single, sizeof(single), "%s/single", f->dir);
        struct spec_mount ok[] = {
            MNT("/proc/cpuinfo", "bind", single, MS_BIND, NULL),
        };
        struct spec_mount all[16];
        struct spec sp;
        fill_spec(&sp, ok, ARRAY_SIZE(ok), all);
        struct rootfs_ctx ctx = {.spec = &sp, .rootfs = f->root};
        struct error err = {0};
        EXPECT(rootfs_prepare(&ctx, &err) == 0);
        struct spec_mount bad[] = {
            MNT("/proc/self/x", "tmpfs", "tmpfs", 0, NULL),
        };
        sp.mounts = bad;
        sp.n_mounts = 1;
        EXPECT(rootfs_prepare(&ctx, &err) == -EPERM);
        EXPECT(strstr(err.msg, "inside /proc") != NULL);
}

/* Errors name the mount; destinations are cleaned before use. */
static void scenario_errors(struct fixture *f)
{
        struct spec_mount one[] = {MNT("/x", "bind", "/nonexistent-husk-source", MS_BIND, NULL)};
        struct spec sp = {.mounts = one, .n_mounts = 1};
        struct rootfs_ctx ctx = {.spec = &sp, .rootfs = f->root};
        struct error err = {0};
        EXPECT(rootfs_prepare(&ctx, &err) == -ENOENT);
        EXPECT(strcmp(err.msg, "mount '/nonexistent-husk-source' on '/x': No such file or "
                               "directory") == 0);
        struct rootfs_ctx rel = {.spec = &sp, .rootfs = "relative/root"};
        EXPECT(rootfs_prepare(&rel, &err) == -EINVAL);
        one[0] = (struct spec_mount)MNT("/y", "nosuchfs", "thing", 0, NULL);
        EXPECT(rootfs_prepare(&ctx, &err) == -ENODEV);
        EXPECT(strcmp(err.msg, "mount 'thing' on '/y': No such device") == 0);
        one[0] = (struct spec_mount)MNT("/", "tmpfs", "tmpfs", 0, NULL);
        EXPECT(rootfs_prepare(&ctx, &err) == -EINVAL);
        /* A file where a directory is needed. */
        one[0] = (struct spec_mount)MNT("/bin/busybox/sub", "tmpfs", "tmpfs", 0, NULL);
        EXPECT(rootfs_prepare(&ctx, &err) == -ENOTDIR);
        EXPECT(strstr(err.msg, "'/bin/busybox/sub'") != NULL);
        /* "..", "." and "//" are cleaned lexically and stay inside. */
        one[0] = (struct spec_mount)MNT("/../../a/.//b/../c", "tmpfs", "tmpfs", 0, NULL);
        EXPECT(rootfs_prepare(&ctx, &err) == 0);
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/a/c", f->root);
        EXPECT(is_mount(p));
}

TEST(rootfs_errors_name_the_mount)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report = run_scenario(&f, 0, scenario_errors);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        fixture_remove(&f);
}

TEST(rootfs_proc_destinations)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        _cleanup_free_ char *report = run_scenario(&f, 0, scenario_proc_rule);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        fixture_remove(&f);
}

static bool idmap_supported;

/* Whether this kernel can idmap a mount of path's filesystem (tmpfs only
 * since 6.3): the idmap is tried on a detached clone, which vanishes. */
static bool probe_idmap(const char *path)
{
        struct spec_id_mapping map = {.container_id = 0, .host_id = 1000, .size = 1};
        struct error err = {0};
        _cleanup_close_ int userns = -EBADF;
        if (mount_make_userns(&map, 1, &map, 1, &userns, &err) < 0)
                return false;
        _cleanup_close_ int tree =
            (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return false;
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
        return syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0;
}

/* The new mount API: a recursive read-only rbind and an idmapped bind. */
static void scenario_new_api(struct fixture *f)
{
        struct spec_mount extra[] = {
            MNT("/rro", "bind", f->src, MS_BIND | MS_REC, NULL),
            MNT("/idm", "bind", f->src, MS_BIND, NULL),
            MNT("/nosym", "tmpfs", "tmpfs", 0, NULL),
        };
        extra[0].rro = true;
        struct spec_id_mapping map = {.container_id = 0, .host_id = 1000, .size = 1};
        extra[1].idmap = idmap_supported;
        extra[1].uid_mappings = extra[1].gid_mappings = &map;
        extra[1].n_uid_mappings = extra[1].n_gid_mappings = 1;
        extra[2].attr_set = MOUNT_ATTR_NOSYMFOLLOW;
        struct spec_mount all[16];
        struct spec sp;
        fill_spec(&sp, extra, ARRAY_SIZE(extra), all);
        struct rootfs_ctx ctx = {.spec = &sp, .rootfs = f->root};
        int efd = open(f->explain, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        EXPECT(efd >= 0);
        explain_enable(efd);
        struct error err = {0};
        if (rootfs_prepare(&ctx, &err) < 0 || rootfs_finish(&ctx, false, &err) < 0) {
                dprintf(report_fd, "  %s\n", err.msg);
                _exit(1);
        }
        explain_enable(-1);
        close(efd);
        /* rro: the submount is read-only too, which MS_RDONLY can't do. */
        EXPECT(creat_fails_erofs("/rro/x"));
        EXPECT(creat_fails_erofs("/rro/sub/x"));
        EXPECT(is_mount("/rro/sub"));
        /* idmap: the on-disk owner is the container id; 0 shows as host 1000,
         * and 1000 has no mapping (the overflow id). */
        struct stat st;
        if (idmap_supported) {
                EXPECT(stat("/idm/file", &st) == 0 && st.st_uid == 1000 && st.st_gid == 1000);
                EXPECT(stat("/idm/owned", &st) == 0 && st.st_uid == 65534);
                _cleanup_free_ char *line = mountinfo_line("/idm");
                EXPECT(line && strstr(line, "idmapped"));
        }
        EXPECT(stat("/rro/file", &st) == 0 && st.st_uid == 0);
        /* attr_set without a bind goes through mount_setattr on the mount. */
        EXPECT(symlink("/etc", "/nosym/l") == 0);
        EXPECT(open("/nosym/l/.", O_PATH | O_CLOEXEC) < 0 && errno == ELOOP);
}

/* The idmap line first: it is left out where idmaps can't be tested. */
static const char *const new_api_explained[] = {
    "$ mount --bind -o 'X-mount.idmap=u:0:1000:1 g:0:1000:1' ",
    "$ mount --rbind -o ro=recursive ",
    "$ mount -o remount,bind,nosymfollow /nosym\n",
};

TEST(rootfs_new_mount_api)
{
        if (!require_root())
                return;
        struct fixture f;
        CHECK(fixture_make(&f));
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/owned", f.src);
        CHECK(write_text(p, "x") == 0 && chown(p, 1000, 1000) == 0);
        idmap_supported = probe_idmap(f.src);
        if (!idmap_supported)
                printf("  no idmapped mounts of %s here: idmap part skipped\n", f.src);
        _cleanup_free_ char *report = run_scenario(&f, RUN_SUBMOUNT, scenario_new_api);
        if (*report) {
                printf("%s", report);
                *unit_failed = 1;
        }
        report_fd = STDOUT_FILENO;
        child_failed = 0;
        check_explained(f.explain, new_api_explained + !idmap_supported,
                        ARRAY_SIZE(new_api_explained) - !idmap_supported);
        CHECK(!child_failed);
        fixture_remove(&f);
}

TEST(path_clean_lexical)
{
        char b[64];
        CHECK(path_clean("/a//b/./c/", b, sizeof(b)) == 0);
        CHECK_STR(b, "/a/b/c");
        CHECK(path_clean("/../../x/../y", b, sizeof(b)) == 0);
        CHECK_STR(b, "/y");
        CHECK(path_clean("rel/dir", b, sizeof(b)) == 0);
        CHECK_STR(b, "/rel/dir");
        CHECK(path_clean("/", b, sizeof(b)) == 0);
        CHECK_STR(b, "/");
        CHECK(path_below("/proc/sys", "/proc"));
        CHECK(!path_below("/procx", "/proc"));
        CHECK(path_below("/proc", "/proc"));
}

UNIT_MAIN()
