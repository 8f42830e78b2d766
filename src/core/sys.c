#include "core/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/util.h"

static int explain_fd = -1;

void explain_enable(int fd)
{
        explain_fd = fd;
}

bool explain_on(void)
{
        return explain_fd >= 0;
}

void explain_forward(const char *buf, size_t len)
{
        while (explain_fd >= 0 && len > 0) {
                ssize_t n = write(explain_fd, buf, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                buf += n;
                len -= (size_t)n;
        }
}

static void emit(const char *prefix, const char *fmt, va_list ap)
{
        char line[4096];
        int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
        if (n < 0)
                return;
        if ((size_t)n > sizeof(line) - 2)
                n = sizeof(line) - 2;
        line[n++] = '\n';
        char out[4200];
        int m = snprintf(out, sizeof(out), "%s%.*s", prefix, n, line);
        if (m > 0)
                (void)write_all(explain_fd, out,
                                (size_t)m < sizeof(out) ? (size_t)m : sizeof(out) - 1);
}

void explain(const char *fmt, ...)
{
        if (explain_fd < 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        emit("$ ", fmt, ap);
        va_end(ap);
}

void explain_note(const char *fmt, ...)
{
        if (explain_fd < 0)
                return;
        va_list ap;
        va_start(ap, fmt);
        emit("# ", fmt, ap);
        va_end(ap);
}

const char *shq(const char *s)
{
        static char ring[8][1024];
        static unsigned slot;
        if (!s)
                s = "";
        bool plain = *s != '\0';
        for (const char *p = s; *p; p++)
                if (!strchr(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%",
                        *p))
                        plain = false;
        if (plain)
                return s;
        char *b = ring[slot++ % 8];
        size_t o = 0;
        b[o++] = '\'';
        for (const char *p = s; *p && o < 1016; p++) {
                if (*p == '\'') {
                        memcpy(b + o, "'\\''", 4);
                        o += 4;
                } else {
                        b[o++] = *p;
                }
        }
        b[o++] = '\'';
        b[o] = '\0';
        return b;
}

static const struct {
        unsigned long flag;
        const char *name;
} mflags[] = {
    {MS_RDONLY, "ro"},         {MS_NOSUID, "nosuid"},           {MS_NODEV, "nodev"},
    {MS_NOEXEC, "noexec"},     {MS_SYNCHRONOUS, "sync"},        {MS_DIRSYNC, "dirsync"},
    {MS_MANDLOCK, "mand"},     {MS_NOATIME, "noatime"},         {MS_NODIRATIME, "nodiratime"},
    {MS_RELATIME, "relatime"}, {MS_STRICTATIME, "strictatime"}, {MS_LAZYTIME, "lazytime"},
    {MS_SILENT, "silent"},
};

void mount_flags_string(unsigned long flags, const char *data, char *buf, size_t len)
{
        size_t o = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(mflags); i++)
                if (flags & mflags[i].flag)
                        o += snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "",
                                      mflags[i].name);
        if (data && *data && o < len)
                snprintf(buf + o, len - o, "%s%s", o ? "," : "", data);
}

static const char *prop_name(unsigned long flags)
{
        bool rec = flags & MS_REC;
        if (flags & MS_SHARED)
                return rec ? "--make-rshared" : "--make-shared";
        if (flags & MS_SLAVE)
                return rec ? "--make-rslave" : "--make-slave";
        if (flags & MS_PRIVATE)
                return rec ? "--make-rprivate" : "--make-private";
        if (flags & MS_UNBINDABLE)
                return rec ? "--make-runbindable" : "--make-unbindable";
        return NULL;
}

static void explain_mount(const char *src, const char *tgt, const char *type, unsigned long flags,
                          const char *data)
{
        char opts[1024];
        const char *prop = prop_name(flags);
        if (prop) {
                explain("mount %s %s", prop, shq(tgt));
                return;
        }
        if (flags & MS_MOVE) {
                explain("mount --move %s %s", shq(src), shq(tgt));
                return;
        }
        if (flags & MS_REMOUNT) {
                mount_flags_string(flags, data, opts, sizeof(opts));
                explain("mount -o remount%s%s%s %s", flags & MS_BIND ? ",bind" : "",
                        *opts ? "," : "", opts, shq(tgt));
                return;
        }
        mount_flags_string(flags, data, opts, sizeof(opts));
        if (flags & MS_BIND) {
                explain("mount %s%s%s %s %s", flags & MS_REC ? "--rbind" : "--bind",
                        *opts ? " -o " : "", *opts ? shq(opts) : "", shq(src), shq(tgt));
                return;
        }
        explain("mount -t %s%s%s %s %s", shq(type ? type : "none"), *opts ? " -o " : "",
                *opts ? shq(opts) : "", shq(src ? src : "none"), shq(tgt));
}

int sys_mount(const char *src, const char *target, const char *shown_target, const char *type,
              unsigned long flags, const char *data)
{
        if (explain_fd >= 0)
                explain_mount(src, shown_target ? shown_target : target, type, flags, data);
        if (mount(src, target, type, flags, data) < 0)
                return -errno;
        return 0;
}

int sys_umount(const char *target, const char *shown, int flags)
{
        explain("umount%s %s", flags & MNT_DETACH ? " -l" : "", shq(shown ? shown : target));
        return umount2(target, flags) < 0 ? -errno : 0;
}

int sys_pivot_root(const char *new_root, const char *put_old, const char *shown)
{
        explain("pivot_root %s %s", shq(new_root), shq(put_old));
        return syscall(SYS_pivot_root, new_root, put_old) < 0 ? -errno : 0;
}

static const struct {
        int flag;
        const char *opt;
} nsopts[] = {
    {CLONE_NEWUSER, "--user"},     {CLONE_NEWPID, "--pid"},   {CLONE_NEWNS, "--mount"},
    {CLONE_NEWUTS, "--uts"},       {CLONE_NEWIPC, "--ipc"},   {CLONE_NEWNET, "--net"},
    {CLONE_NEWCGROUP, "--cgroup"}, {CLONE_NEWTIME, "--time"},
};

void ns_flags_string(int flags, char *buf, size_t len)
{
        size_t o = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(nsopts); i++)
                if (flags & nsopts[i].flag)
                        o += snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? " " : "",
                                      nsopts[i].opt);
}

int sys_unshare(int flags)
{
        if (explain_fd >= 0) {
                char b[256];
                ns_flags_string(flags, b, sizeof(b));
                explain("unshare %s", b);
        }
        return unshare(flags) < 0 ? -errno : 0;
}

void explain_clone(int ns_flags, const char *what)
{
        if (explain_fd < 0)
                return;
        char b[256];
        ns_flags_string(ns_flags, b, sizeof(b));
        explain("unshare %s%s%s  # %s", b, ns_flags & CLONE_NEWPID ? " --fork" : "",
                ns_flags & CLONE_NEWPID ? "" : "", what);
}

int sys_setns(int fd, int nstype, const char *shown_path)
{
        if (explain_fd >= 0) {
                const char *o = "--all";
                for (size_t i = 0; i < ARRAY_SIZE(nsopts); i++)
                        if (nstype == nsopts[i].flag)
                                o = nsopts[i].opt;
                explain("nsenter %s=%s", o, shq(shown_path));
        }
        return setns(fd, nstype) < 0 ? -errno : 0;
}

int sys_sethostname(const char *name)
{
        explain("hostname %s", shq(name));
        return sethostname(name, strlen(name)) < 0 ? -errno : 0;
}

int sys_setdomainname(const char *name)
{
        explain("domainname %s", shq(name));
        return setdomainname(name, strlen(name)) < 0 ? -errno : 0;
}

int sys_write_file_at(int dirfd, const char *path, const char *shown, const char *value)
{
        explain("echo %s > %s", shq(value), shq(shown ? shown : path));
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        size_t len = strlen(value);
        ssize_t n = write(fd, value, len);
        if (n < 0)
                return -errno;
        return (size_t)n == len ? 0 : -EIO;
}

int sys_mkdir_at(int dirfd, const char *path, const char *shown, mode_t mode)
{
        explain("mkdir -m %o %s", (unsigned)mode, shq(shown ? shown : path));
        return mkdirat(dirfd, path, mode) < 0 ? -errno : 0;
}

int sys_rmdir_at(int dirfd, const char *path, const char *shown)
{
        explain("rmdir %s", shq(shown ? shown : path));
        return unlinkat(dirfd, path, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int sys_mknod_at(int dirfd, const char *path, const char *shown, mode_t mode, dev_t dev)
{
        char t = S_ISCHR(mode) ? 'c' : S_ISBLK(mode) ? 'b' : 'p';
        if (t == 'p')
                explain("mkfifo -m %o %s", (unsigned)(mode & 07777), shq(shown ? shown : path));
        else
                explain("mknod -m %o %s %c %u %u", (unsigned)(mode & 07777),
                        shq(shown ? shown : path), t, major(dev), minor(dev));
        return mknodat(dirfd, path, mode, dev) < 0 ? -errno : 0;
}

int sys_symlink_at(const char *target, int dirfd, const char *path, const char *shown)
{
        explain("ln -s %s %s", shq(target), shq(shown ? shown : path));
        return symlinkat(target, dirfd, path) < 0 ? -errno : 0;
}

int sys_chdir(const char *path)
{
        explain("cd %s", shq(path));
        return chdir(path) < 0 ? -errno : 0;
}

int sys_chroot(const char *path)
{
        explain("chroot %s", shq(path));
        return chroot(path) < 0 ? -errno : 0;
}

int sys_fchdir(int fd, const char *shown)
{
        explain("cd %s", shq(shown));
        return fchdir(fd) < 0 ? -errno : 0;
}

int sys_unlink_at(int dirfd, const char *path, const char *shown)
{
        explain("rm -f %s", shq(shown ? shown : path));
        return unlinkat(dirfd, path, 0) < 0 ? -errno : 0;
}

int sys_chown_at(int dirfd, const char *path, const char *shown, uid_t uid, gid_t gid)
{
        explain("chown -h %u:%u %s", (unsigned)uid, (unsigned)gid, shq(shown ? shown : path));
        return fchownat(dirfd, path, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* Renders MOUNT_ATTR_* as mount(8) options; suffix is "=recursive" or "". */
static size_t attr_string(uint64_t set, uint64_t clr, const char *suffix, char *buf, size_t len,
                          size_t o)
{
        static const struct {
                uint64_t attr;
                const char *on, *off;
        } names[] = {
            {MOUNT_ATTR_RDONLY, "ro", "rw"},
            {MOUNT_ATTR_NOSUID, "nosuid", "suid"},
            {MOUNT_ATTR_NODEV, "nodev", "dev"},
            {MOUNT_ATTR_NOEXEC, "noexec", "exec"},
            {MOUNT_ATTR_NODIRATIME, "nodiratime", "diratime"},
            {MOUNT_ATTR_NOSYMFOLLOW, "nosymfollow", "symfollow"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                const char *n = set & names[i].attr   ? names[i].on
                                : clr & names[i].attr ? names[i].off
                                                      : NULL;
                if (n)
                        o += snprintf(buf + o, o < len ? len - o : 0, "%s%s%s", o ? "," : "", n,
                                      suffix);
        }
        if ((set | clr) & MOUNT_ATTR__ATIME) {
                uint64_t a = set & MOUNT_ATTR__ATIME;
                const char *n = a == MOUNT_ATTR_NOATIME       ? "noatime"
                                : a == MOUNT_ATTR_STRICTATIME ? "strictatime"
                                                              : "relatime";
                o += snprintf(buf + o, o < len ? len - o : 0, "%s%s%s", o ? "," : "", n, suffix);
        }
        return o < len ? o : len - 1;
}

static int setattr_fd(int fd, const char *path, unsigned flags, uint64_t set, uint64_t clr,
                      int userns_fd)
{
        struct mount_attr attr = {
            .attr_set = set,
            .attr_clr = clr,
            .userns_fd = userns_fd >= 0 ? (uint64_t)userns_fd : 0,
        };
        /* Changing the atime mode needs the whole field cleared first. */
        if (set & MOUNT_ATTR__ATIME)
                attr.attr_clr |= MOUNT_ATTR__ATIME;
        if (syscall(SYS_mount_setattr, fd, path, flags, &attr, sizeof(attr)) < 0)
                return -errno;
        return 0;
}

int sys_mount_bind_attr(const char *src, const char *target, const char *shown_target,
                        bool recursive, const struct sys_mount_attr *a)
{
        if (explain_fd >= 0) {
                char opts[1024];
                size_t o = attr_string(a->attr_set, a->attr_clr, recursive ? "=recursive" : "",
                                       opts, sizeof(opts), 0);
                if (a->userns_fd >= 0)
                        snprintf(opts + o, sizeof(opts) - o, "%sX-mount.idmap=%s", o ? "," : "",
                                 a->idmap_shown ? a->idmap_shown : "");
                explain("mount %s -o %s %s %s", recursive ? "--rbind" : "--bind", shq(opts),
                        shq(src), shq(shown_target ? shown_target : target));
        }
        int fd = (int)syscall(SYS_open_tree, AT_FDCWD, src,
                              OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
        if (fd < 0)
                return -errno;
        int r = 0;
        if (a->attr_set || a->attr_clr)
                r = setattr_fd(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), a->attr_set,
                               a->attr_clr, -1);
        if (r == 0 && a->userns_fd >= 0)
                r = setattr_fd(fd, "",
                               AT_EMPTY_PATH | (recursive && a->idmap_recursive ? AT_RECURSIVE : 0),
                               MOUNT_ATTR_IDMAP, 0, a->userns_fd);
        if (r == 0 && syscall(SYS_move_mount, fd, "", AT_FDCWD, target,
                              MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
                r = -errno;
        close(fd);
        return r;
}

int sys_mount_setattr(const char *target, const char *shown, bool recursive, uint64_t attr_set,
                      uint64_t attr_clr)
{
        if (explain_fd >= 0) {
                char opts[512];
                attr_string(attr_set, attr_clr, recursive ? "=recursive" : "", opts, sizeof(opts),
                            0);
                explain("mount -o remount,bind,%s %s", opts, shq(shown ? shown : target));
        }
        return setattr_fd(AT_FDCWD, target, recursive ? AT_RECURSIVE : 0, attr_set, attr_clr, -1);
}
