/* The container's mount tree: spec mounts, then pivot_root and the finishing
 * steps (see rootfs.h). Devices live in rootfs-dev.c. */
#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "core/safepath.h"
#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup.h"
#include "runtime/mount.h"
#include "runtime/rootfs-internal.h"

/* The mount table, read only when something needs it: the host's can be
 * long (tens of KiB of overlay options), and the init that reads it shares
 * its heap copy-on-write with its parent. */
struct mount_table {
        bool read;
        struct mountinfo *mi;
        size_t n_mi;
};

/* What one rootfs_prepare() call works with. */
struct setup {
        const struct rootfs_ctx *ctx;
        char root[PATH_MAX]; /* the rootfs, symlinks resolved */
        int rootfd;          /* O_PATH of the rootfs after it was bound onto itself */
        struct mount_table *mt;
};

static int mount_table_get(const struct setup *s, struct error *err)
{
        if (s->mt->read)
                return 0;
        int r = mountinfo_read(&s->mt->mi, &s->mt->n_mi);
        if (r < 0)
                return error_sys(err, r, "read '/proc/self/mountinfo'");
        s->mt->read = true;
        return 0;
}

static const unsigned long propagation_flags = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;
static const unsigned long bind_remount_flags =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
    MS_STRICTATIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK | MS_LAZYTIME;

static const char *mount_what(const struct spec_mount *m)
{
        if (m->source && *m->source)
                return m->source;
        return m->type ? m->type : "none";
}

static bool mount_is_bind(const struct spec_mount *m)
{
        return (m->flags & MS_BIND) || (m->type && strcmp(m->type, "bind") == 0);
}

/* Resolves the container path of an fd opened inside the rootfs (after symlinks). */
static int fd_container_path(const struct setup *s, int fd, char *buf, size_t len)
{
        char proc[32], host[PATH_MAX];
        ssize_t n = readlink(fd_proc_path(fd, proc), host, sizeof(host) - 1);
        if (n < 0)
                return -errno;
        host[n] = '\0';
        if (strcmp(s->root, "/") == 0)
                return snprintf(buf, len, "%s", host) < (int)len ? 0 : -ENAMETOOLONG;
        if (!path_below(host, s->root))
                return -EXDEV;
        const char *rest = host + strlen(s->root);
        return snprintf(buf, len, "%s", *rest ? rest : "/") < (int)len ? 0 : -ENAMETOOLONG;
}

/* runc's rule: nothing may be mounted inside /proc but a few files that lxcfs
 * emulates, and on /proc itself only a procfs. */
static int check_proc_dest(const char *resolved, const struct spec_mount *m, struct error *err)
{
        static const char *const allowed[] = {
            "/proc/cpuinfo", "/proc/diskstats",
            "/proc/meminfo", "/proc/stat",
            "/proc/swaps",   "/proc/uptime",
            "/proc/loadavg", "/proc/slabinfo",
            "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
        };
        if (!path_below(resolved, "/proc"))
                return 0;
        if (strcmp(resolved, "/proc") == 0) {
                if (!mount_is_bind(m) && m->type && strcmp(m->type, "proc") == 0)
                        return 0;
                struct statfs sf;
                if (mount_is_bind(m) && m->source && statfs(m->source, &sf) == 0 &&
                    sf.f_type == PROC_SUPER_MAGIC)
                        return 0;
                return error_msg(err, -EPERM, "'%s' cannot be mounted on '/proc': not a procfs",
                                 mount_what(m));
        }
        for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
                if (strcmp(resolved, allowed[i]) == 0)
                        return 0;
        return error_msg(err, -EPERM, "'%s' cannot be mounted because it is inside /proc",
                         resolved);
}

/* Opens the destination (creating it: a directory, or a file when a bind's
 * source is not a directory) and checks where it really is. */
static int open_dest(const struct setup *s, const struct spec_mount *m, const char *dest, bool file,
                     int *ret_fd, struct error *err)
{
        _cleanup_close_ int fd = -EBADF;
        /* Checked as written, then again where the image's symlinks lead. */
        int r = check_proc_dest(dest, m, err);
        if (r < 0)
                return r;
        /* Fast path: the destination exists and no component is a symlink, so it
         * resolved to exactly dest and the /proc check above already holds. */
        int oflags = O_PATH | (file ? 0 : O_DIRECTORY);
        bool clean = safe_path_is_clean(dest);
        int q = clean ? safe_open_literal(s->rootfd, dest, oflags, &fd) : -EINVAL;
        if (q == -ENOENT) {
                /* Often only the last name is missing (a fresh tmpfs): make it in a
                 * parent that has no symlinks either. */
                char parent[PATH_MAX];
                snprintf(parent, sizeof(parent), "%s", dest);
                char *slash = strrchr(parent, '/');
                _cleanup_close_ int pfd = -EBADF;
                if (slash && slash[1]) {
                        *slash = '\0';
                        if (safe_open_literal(s->rootfd, *parent ? parent : "/",
                                              O_PATH | O_DIRECTORY, &pfd) == 0) {
                                if (explain_on())
                                        explain(file ? "install -D /dev/null %s" : "mkdir -p %s",
                                                shq(dest));
                                if (file) {
                                        int c = openat(pfd, slash + 1,
                                                       O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC |
                                                           O_NOFOLLOW,
                                                       0644);
                                        if (c >= 0)
                                                close(c);
                                } else {
                                        (void)mkdirat(pfd, slash + 1, 0755);
                                }
                                q = safe_open_literal(s->rootfd, dest, oflags, &fd);
                        }
                }
        }
        if (q == 0) {
                struct stat st;
                if (!file || (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))) {
                        *ret_fd = TAKE_FD(fd);
                        return 0;
                }
                close(TAKE_FD(fd));
        }
        if (explain_on()) {
                _cleanup_close_ int probe = -EBADF;
                if (safe_open(s->rootfd, dest, O_PATH, 0, &probe) == -ENOENT)
                        explain(file ? "install -D /dev/null %s" : "mkdir -p %s", shq(dest));
        }
        r = file ? safe_touch(s->rootfd, dest, 0644, &fd)
                 : safe_mkdir_p(s->rootfd, dest, 0755, &fd);
        if (r < 0)
                return error_sys(err, r, "create mount point '%s'", dest);
        char resolved[PATH_MAX];
        r = fd_container_path(s, fd, resolved, sizeof(resolved));
        if (r < 0)
                return error_sys(err, r, "resolve mount point '%s'", dest);
        r = check_proc_dest(resolved, m, err);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Re-resolves dest after something was mounted there: an fd opened before
 * the mount names the covered directory, not the new mount. */
static int reopen_dest(const struct setup *s, const char *dest, int *ret_fd, struct error *err)
{
        int r = safe_open(s->rootfd, dest, O_PATH, 0, ret_fd);
        if (r < 0)
                return error_sys(err, r, "open mount point '%s'", dest);
        return 0;
}

static int remount_dest(const struct setup *s, const char *dest, unsigned long flags,
                        struct error *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r = reopen_dest(s, dest, &fd, err);
        if (r < 0)
                return r;
        char p[32];
        r = mount_remount_bind(fd_proc_path(fd, p), dest, flags);
        if (r < 0)
                return error_sys(err, r, "remount '%s'", dest);
        return 0;
}

static int propagate_dest(const struct setup *s, const char *dest, unsigned long propagation,
                          struct error *err)
{
        if (!propagation)
                return 0;
        _cleanup_close_ int fd = -EBADF;
        int r = reopen_dest(s, dest, &fd, err);
        if (r < 0)
                return r;
        char p[32];
        r = mount_propagate(fd_proc_path(fd, p), dest, propagation);
        if (r < 0)
                return error_sys(err, r, "set propagation of '%s'", dest);
        return 0;
}

/* A bind through open_tree/mount_setattr/move_mount, for idmap and recursive
 * attributes that mount(2) can't express. */
static int bind_with_attrs(const struct setup *s, const struct spec_mount *m, const char *dest,
                           const char *target, struct error *err)
{
        const struct spec *sp = s->ctx->spec;
        struct sys_mount_attr a = {
            .attr_set = m->attr_set | (m->rro ? MOUNT_ATTR_RDONLY : 0),
            .attr_clr = m->attr_clr,
            .userns_fd = -1,
            .idmap_recursive = m->ridmap,
        };
        _cleanup_close_ int userns = -EBADF;
        char shown[512];
        if (m->idmap || m->ridmap) {
                const struct spec_id_mapping *u = m->uid_mappings, *g = m->gid_mappings;
                size_t nu = m->n_uid_mappings, ng = m->n_gid_mappings;
                if (!nu && !ng) {
                        u = sp->linux.uid_mappings;
                        nu = sp->linux.n_uid_mappings;
                        g = sp->linux.gid_mappings;
                        ng = sp->linux.n_gid_mappings;
                }
                if (!nu || !ng)
                        return error_msg(err, -EINVAL,
                                         "idmapped mount on '%s' needs uidMappings and gidMappings "
                                         "(on the mount or in linux)",
                                         dest);
                int r = mount_make_userns(u, nu, g, ng, &userns, err);
                if (r < 0)
                        return error_wrap(err, r, "idmapped mount on '%s'", dest);
                mount_idmap_string(u, nu, g, ng, shown, sizeof(shown));
                a.userns_fd = userns;
                a.idmap_shown = shown;
        }
        bool rec = (m->flags & MS_REC) || m->ridmap || m->rro;
        int r = sys_mount_bind_attr(m->source, target, dest, rec, &a);
        if (r == -ENOSYS || r == -EINVAL || r == -EPERM || r == -EOPNOTSUPP)
                return error_sys(err, r,
                                 "mount '%s' on '%s' with %s (the kernel or the filesystem may "
                                 "not support it)",
                                 mount_what(m), dest,
                                 a.userns_fd >= 0 ? "an idmap" : "recursive mount attributes");
        if (r < 0)
                return error_sys(err, r, "mount '%s' on '%s'", mount_what(m), dest);
        return 0;
}

static int mount_bind(const struct setup *s, const struct spec_mount *m, const char *dest,
                      struct error *err)
{
        if (!m->source || !*m->source)
                return error_msg(err, -EINVAL, "bind mount on '%s' has no source", dest);
        struct stat st;
        if (stat(m->source, &st) < 0)
                return error_sys(err, -errno, "mount '%s' on '%s'", m->source, dest);
        _cleanup_close_ int fd = -EBADF;
        int r = open_dest(s, m, dest, !S_ISDIR(st.st_mode), &fd, err);
        if (r < 0)
                return r;
        char p[32];
        fd_proc_path(fd, p);
        if (m->idmap || m->ridmap || m->rro || m->attr_set || m->attr_clr) {
                r = bind_with_attrs(s, m, dest, p, err);
                if (r < 0)
                        return r;
        } else {
                r = sys_mount(m->source, p, dest, NULL, MS_BIND | (m->flags & MS_REC), NULL);
                if (r < 0)
                        return error_sys(err, r, "mount '%s' on '%s'", m->source, dest);
        }
        /* A bind keeps the source's flags; the asked ones need a remount. */
        unsigned long extra = m->flags & bind_remount_flags;
        if (extra) {
                r = remount_dest(s, dest, extra, err);
                if (r < 0)
                        return r;
        }
        return propagate_dest(s, dest, m->propagation, err);
}

static int mount_fs(const struct setup *s, const struct spec_mount *m, const char *dest,
                    unsigned long flags, const char *data, struct error *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r = open_dest(s, m, dest, false, &fd, err);
        if (r < 0)
                return r;
        char p[32];
        r = sys_mount(mount_what(m), fd_proc_path(fd, p), dest, m->type, flags, data);
        if (r == -EPERM && s->ctx->userns)
                return error_msg(err, r,
                                 "mount '%s' on '%s': %s (in a user namespace only some file "
                                 "systems may be mounted, e.g. tmpfs, proc, mqueue, devpts, "
                                 "overlay; bind-mount others from the host)",
                                 mount_what(m), dest, strerror(EPERM));
        if (r < 0)
                return error_sys(err, r, "mount '%s' on '%s'", mount_what(m), dest);
        if (m->attr_set || m->attr_clr || m->rro) {
                _cleanup_close_ int nfd = -EBADF;
                r = reopen_dest(s, dest, &nfd, err);
                if (r < 0)
                        return r;
                r = sys_mount_setattr(fd_proc_path(nfd, p), dest, m->rro,
                                      m->attr_set | (m->rro ? MOUNT_ATTR_RDONLY : 0), m->attr_clr);
                if (r < 0)
                        return error_sys(err, r, "set mount attributes of '%s'", dest);
        }
        return propagate_dest(s, dest, m->propagation, err);
}

static bool host_is_cgroup2(void)
{
        struct statfs sf;
        return statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* The controllers of a v1 hierarchy as mount -t cgroup -o wants them. */
static void cgroup_v1_opts(const char *super, char *buf, size_t len)
{
        static const char *const skip[] = {
            "rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods"};
        _cleanup_free_ char *copy = xstrdup(super);
        size_t o = 0;
        buf[0] = '\0';
        char *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                bool drop = str_startswith(t, "release_agent=");
                for (size_t i = 0; i < ARRAY_SIZE(skip); i++)
                        drop = drop || strcmp(t, skip[i]) == 0;
                if (!drop)
                        o += snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "", t);
        }
}

/* Where the hierarchy holding the container's cgroup dir d is mounted, and
 * its type and controllers: from the cgroup layout the runtime already
 * parsed, else (a directory outside it) from the mount table. */
static int cgroup_hier(const struct setup *s, const char *d, const char **ret_mp, bool *ret_v2,
                       char *opts, size_t len, struct error *err)
{
        if (cgroup_dir_mount(d, ret_mp, ret_v2, opts, len))
                return 0;
        int r = mount_table_get(s, err);
        if (r < 0)
                return r;
        const struct mountinfo *h = mountinfo_find(s->mt->mi, s->mt->n_mi, d, "cgroup");
        if (!h)
                return error_msg(err, -ENOENT, "no cgroup hierarchy holds '%s'", d);
        *ret_mp = h->mount_point;
        *ret_v2 = strcmp(h->fstype, "cgroup2") == 0;
        cgroup_v1_opts(h->super_opts, opts, len);
        return 0;
}

/* The name of d's hierarchy below /sys/fs/cgroup ("memory", "cpu,cpuacct"),
 * the last component of its host mount point; "" for none. */
static int cgroup_sub_name(const struct setup *s, const char *d, char *name, size_t len,
                           bool *ret_v2, char *opts, size_t opts_len, struct error *err)
{
        const char *mp = NULL;
        int r = cgroup_hier(s, d, &mp, ret_v2, opts, opts_len, err);
        if (r < 0)
                return r;
        const char *n = strrchr(mp, '/');
        n = n ? n + 1 : mp;
        if (snprintf(name, len, "%s", n) >= (int)len)
                return error_msg(err, -ENAMETOOLONG, "cgroup mount point '%s': name too long", mp);
        return 0;
}

/* Binds the container's cgroup src onto a new directory name of the fresh
 * tmpfs dfd (ours alone, so made and opened without a symlink-safe walk). */
static int bind_cgroup_dir(int dfd, const char *src, const char *name, const char *shown,
                           struct error *err)
{
        int r = sys_mkdir_at(dfd, name, shown, 0755);
        if (r < 0 && r != -EEXIST)
                return error_sys(err, r, "create mount point '%s'", shown);
        _cleanup_close_ int fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "open mount point '%s'", shown);
        char p[32];
        r = sys_mount(src, fd_proc_path(fd, p), shown, NULL, MS_BIND | MS_REC, NULL);
        if (r < 0)
                return error_sys(err, r, "mount '%s' on '%s'", src, shown);
        return 0;
}

/* MS_* flags of a bind remount as mount_setattr attributes (the atime mode
 * as a remount sets it: relatime unless told otherwise). */
static void remount_attrs(unsigned long flags, uint64_t *ret_set, uint64_t *ret_clr)
{
        uint64_t set = 0, clr = 0;
        set |= flags & MS_RDONLY ? MOUNT_ATTR_RDONLY : 0;
        set |= flags & MS_NOSUID ? MOUNT_ATTR_NOSUID : 0;
        set |= flags & MS_NODEV ? MOUNT_ATTR_NODEV : 0;
        set |= flags & MS_NOEXEC ? MOUNT_ATTR_NOEXEC : 0;
        if (flags & MS_NODIRATIME)
                set |= MOUNT_ATTR_NODIRATIME;
        else
                clr |= MOUNT_ATTR_NODIRATIME;
        set |= flags & MS_NOATIME ? MOUNT_ATTR_NOATIME : MOUNT_ATTR_RELATIME;
        clr |= MOUNT_ATTR__ATIME;
        *ret_set = set;
        *ret_clr = clr;
}

/* The read-only flags of a v1 cgroup mount, one bind remount per hierarchy
 * and one of the tmpfs: what mount_cgroup_v1 falls back to when one
 * recursive mount_setattr can't do it (kernel < 5.12, flags locked by a more
 * privileged namespace). */
static int cgroup_v1_remount_each(const struct setup *s, const char *dest, unsigned long keep,
                                  struct error *err)
{
        for (char *const *d = s->ctx->cgroup_dirs; d && *d; d++) {
                char name[NAME_MAX + 1], opts[512], sub[PATH_MAX];
                bool v2;
                int r = cgroup_sub_name(s, *d, name, sizeof(name), &v2, opts, sizeof(opts), err);
                if (r < 0)
                        return r;
                if (!*name)
                        continue;
                snprintf(sub, sizeof(sub), "%s/%s", dest, name);
                if ((r = remount_dest(s, sub, keep, err)) < 0)
                        return r;
        }
        return remount_dest(s, dest, MS_RDONLY | MS_NOEXEC | MS_NOSUID | MS_NODEV, err);
}

/* cgroup v1 (and hybrid): a tmpfs with one directory per hierarchy, each the
 * container's own cgroup (bound, or mounted in a cgroup namespace), as runc.
 * Read-only binds are bound plainly, then the tmpfs and all of them are made
 * read-only by one recursive mount_setattr instead of a remount each. */
static int mount_cgroup_v1(const struct setup *s, const struct spec_mount *m, const char *dest,
                           struct error *err)
{
        unsigned long keep = m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME |
                                         MS_NODIRATIME | MS_RELATIME);
        bool batch = !s->ctx->cgroupns && (m->flags & MS_RDONLY);
        struct spec_mount tm = {
            .destination = m->destination,
            .type = "tmpfs",
            .source = "tmpfs",
            .propagation = m->propagation,
        };
        int r = mount_fs(s, &tm, dest, MS_NOEXEC | MS_NOSUID | MS_NODEV, "mode=755", err);
        if (r < 0)
                return r;
        _cleanup_close_ int dfd = -EBADF;
        if ((r = reopen_dest(s, dest, &dfd, err)) < 0)
                return r;
        for (char *const *d = s->ctx->cgroup_dirs; d && *d; d++) {
                char name[NAME_MAX + 1], opts[512], sub[PATH_MAX];
                bool v2;
                r = cgroup_sub_name(s, *d, name, sizeof(name), &v2, opts, sizeof(opts), err);
                if (r < 0)
                        return r;
                if (!*name)
                        continue;
                snprintf(sub, sizeof(sub), "%s/%s", dest, name);
                if (s->ctx->cgroupns) {
                        struct spec_mount cm = {
                            .destination = sub,
                            .type = v2 ? "cgroup2" : "cgroup",
                            .source = "cgroup",
                        };
                        r = mount_fs(s, &cm, sub, keep, v2 || !*opts ? NULL : opts, err);
                } else if (batch) {
                        r = bind_cgroup_dir(dfd, *d, name, sub, err);
                } else {
                        struct spec_mount bm = {
                            .destination = sub,
                            .source = *d,
                            .flags = MS_BIND | MS_REC | keep,
                        };
                        r = mount_bind(s, &bm, sub, err);
                }
                if (r < 0)
                        return r;
                /* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct". */
                if (strchr(name, ',')) {
                        char list[NAME_MAX + 1];
                        snprintf(list, sizeof(list), "%s", name);
                        char *save = NULL;
                        for (char *c = strtok_r(list, ",", &save); c;
                             c = strtok_r(NULL, ",", &save)) {
                                char shown[PATH_MAX];
                                snprintf(shown, sizeof(shown), "%s/%s", dest, c);
                                r = sys_symlink_at(name, dfd, c, shown);
                                if (r < 0 && r != -EEXIST)
                                        return error_sys(err, r, "symlink '%s'", shown);
                        }
                }
        }
        if (batch) {
                uint64_t set, clr;
                remount_attrs(keep, &set, &clr);
                char p[32];
                r = sys_mount_setattr(fd_proc_path(dfd, p), dest, true, set, clr);
                if (r == 0)
                        return 0;
                explain_note("recursive mount attributes failed (%s); remounting one by one",
                             strerror(-r));
                return cgroup_v1_remount_each(s, dest, keep, err);
        }
        if (m->flags & MS_RDONLY)
                return remount_dest(s, dest, MS_RDONLY | MS_NOEXEC | MS_NOSUID | MS_NODEV, err);
        return 0;
}

static int mount_cgroup(const struct setup *s, const struct spec_mount *m, const char *dest,
                        struct error *err)
{
        if (!host_is_cgroup2())
                return mount_cgroup_v1(s, m, dest, err);
        struct spec_mount cm = *m;
        cm.type = "cgroup2";
        unsigned long flags = m->flags & ~(propagation_flags | MS_REC | MS_BIND);
        struct error sub = {0};
        int r = mount_fs(s, &cm, dest, flags, NULL, &sub);
        if (r == 0)
                return 0;
        if ((r != -EPERM && r != -EBUSY) || s->ctx->cgroupns || !s->ctx->cgroup_dirs ||
            !s->ctx->cgroup_dirs[0]) {
                *err = sub;
                return r;
        }
        /* No cgroup namespace of its own in a user namespace: bind the
         * container's cgroup instead, as runc does. */
        explain_note("cgroup2 can't be mounted here; binding the container's cgroup instead");
        struct spec_mount bm = {
            .destination = m->destination,
            .source = s->ctx->cgroup_dirs[0],
            .flags = MS_BIND | MS_REC | (m->flags & bind_remount_flags),
            .propagation = m->propagation,
        };
        return mount_bind(s, &bm, dest, err);
}

static int mount_one(const struct setup *s, const struct spec_mount *m, struct error *err)
{
        char dest[PATH_MAX];
        int r = path_clean(m->destination ? m->destination : "", dest, sizeof(dest));
        if (r < 0)
                return error_sys(err, r, "mount destination '%s'", m->destination);
        if (strcmp(dest, "/") == 0)
                return error_msg(err, -EINVAL, "mount '%s' on '/': the rootfs itself",
                                 mount_what(m));
        if (mount_is_bind(m))
                return mount_bind(s, m, dest, err);
        const char *type = m->type ? m->type : "";
        if (strcmp(type, "cgroup") == 0)
                return mount_cgroup(s, m, dest, err);
        if (strcmp(type, "sysfs") == 0 && s->ctx->userns) {
                /* sysfs belongs to the network namespace's owner: a user namespace
                 * that shares the host's network (or joined one it doesn't own)
                 * may not mount it; runc binds the host's /sys then. */
                if (s->ctx->netns) {
                        struct error sub = {0};
                        int r2 = mount_fs(s, m, dest, m->flags & ~(propagation_flags | MS_REC),
                                          m->data, &sub);
                        if (r2 != -EPERM) {
                                if (r2 < 0)
                                        *err = sub;
                                return r2;
                        }
                }
                explain_note("sysfs can't be mounted in this user namespace: binding the host's "
                             "/sys");
                struct spec_mount bm = *m;
                bm.source = "/sys";
                bm.type = NULL;
                bm.flags =
                    MS_BIND | MS_REC | (m->flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
                return mount_bind(s, &bm, dest, err);
        }
        unsigned long flags = m->flags & ~(propagation_flags | MS_REC);
        /* /dev is filled with devices first; rootfs_finish() makes it read-only. */
        if (strcmp(dest, "/dev") == 0)
                flags &= ~MS_RDONLY;
        return mount_fs(s, m, dest, flags, m->data, err);
}

/* The last non-bind mount on /dev, whose read-only flag waits for rootfs_finish(). */
static const struct spec_mount *dev_mount(const struct spec *sp, bool *ret_bind)
{
        const struct spec_mount *found = NULL;
        *ret_bind = false;
        for (size_t i = 0; i < sp->n_mounts; i++) {
                char d[PATH_MAX];
                if (path_clean(sp->mounts[i].destination ? sp->mounts[i].destination : "", d,
                               sizeof(d)) < 0 ||
                    strcmp(d, "/dev") != 0)
                        continue;
                if (mount_is_bind(&sp->mounts[i]))
                        *ret_bind = true;
                else
                        found = &sp->mounts[i];
        }
        return found;
}

/* Makes the parent mount of the rootfs private when it is shared: pivot_root
 * refuses a shared parent, and binds must not travel to other namespaces. */
static int parent_private(struct setup *s, unsigned long prop, struct error *err)
{
        /* After a recursive slave or private, no mount in this namespace is
         * shared: nothing to look up. */
        if ((prop & MS_REC) && (prop & (MS_SLAVE | MS_PRIVATE)) && !(prop & MS_SHARED))
                return 0;
        int r = mount_table_get(s, err);
        if (r < 0)
                return r;
        const struct mountinfo *p = mountinfo_find(s->mt->mi, s->mt->n_mi, s->root, NULL);
        if (!p || !p->shared)
                return 0;
        r = sys_mount(NULL, p->mount_point, NULL, NULL, MS_PRIVATE, NULL);
        if (r < 0)
                return error_sys(err, r, "make '%s' private", p->mount_point);
        return 0;
}

int rootfs_prepare(const struct rootfs_ctx *ctx, struct error *err)
{
        const struct spec *sp = ctx->spec;
        struct mount_table mt = {0};
        struct setup s = {.ctx = ctx, .rootfd = -EBADF, .mt = &mt};
        /* ctx->rootfs is canonical already (rootfs.h): no realpath walk needed. */
        if (ctx->rootfs[0] != '/' ||
            snprintf(s.root, sizeof(s.root), "%s", ctx->rootfs) >= (int)sizeof(s.root))
                return error_msg(err, -EINVAL, "rootfs '%s': not an absolute path", ctx->rootfs);
        explain_note("rootfs is %s", s.root);
        unsigned long prop =
            sp->linux.rootfs_propagation ? sp->linux.rootfs_propagation : MS_SLAVE | MS_REC;
        int r = mount_propagate("/", "/", prop);
        if (r < 0)
                return error_sys(err, r, "set propagation of '/'");
        r = parent_private(&s, prop, err);
        if (r == 0) {
                r = sys_mount(s.root, s.root, NULL, NULL, MS_BIND | MS_REC, NULL);
                if (r < 0)
                        error_sys(err, r, "bind rootfs '%s' onto itself", s.root);
        }
        if (r == 0) {
                s.rootfd = open(s.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (s.rootfd < 0)
                        r = error_sys(err, -errno, "open rootfs '%s'", s.root);
        }
        for (size_t i = 0; r == 0 && i < sp->n_mounts; i++)
                r = mount_one(&s, &sp->mounts[i], err);
        bool dev_bound = false;
        dev_mount(sp, &dev_bound);
        if (r == 0 && !dev_bound)
                r = rootfs_dev_populate(ctx, s.rootfd, err);
        if (r == 0 && ctx->console_path)
                r = rootfs_dev_console(ctx, s.rootfd, err);
        if (mt.read)
                mountinfo_free(mt.mi, mt.n_mi);
        if (s.rootfd >= 0)
                close(s.rootfd);
        return r;
}

/* maskedPaths: a read-only tmpfs over a directory, /dev/null over anything else. */
static int mask_path(const char *path, struct error *err)
{
        struct stat st;
        if (stat(path, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return error_sys(err, -errno, "mask '%s'", path);
        }
        int r = S_ISDIR(st.st_mode) ? sys_mount("tmpfs", path, NULL, "tmpfs", MS_RDONLY, NULL)
                                    : sys_mount("/dev/null", path, NULL, NULL, MS_BIND, NULL);
        if (r < 0)
                return error_sys(err, r, "mask '%s'", path);
        return 0;
}

/* readonlyPaths: bound onto themselves, then remounted read-only. */
static int readonly_path(const char *path, struct error *err)
{
        struct stat st;
        if (stat(path, &st) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return error_sys(err, -errno, "make '%s' read-only", path);
        }
        int r = sys_mount(path, path, NULL, NULL, MS_BIND | MS_REC, NULL);
        if (r < 0)
                return error_sys(err, r, "make '%s' read-only", path);
        r = mount_remount_bind(path, NULL, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
        if (r < 0)
                return error_sys(err, r, "make '%s' read-only", path);
        return 0;
}

/* Without pivot_root the host's mounts stay below the new root in this
 * namespace. A full procfs or sysfs there would let the container mount new
 * ones (the kernel allows it when a full one is visible), so, as runc does,
 * they are detached, or covered with a tmpfs where that is not allowed. */
static int hide_host_pseudo_fs(const char *root, struct error *err)
{
        struct mountinfo *mi = NULL;
        size_t n = 0;
        int r = mountinfo_read(&mi, &n);
        if (r < 0)
                return error_sys(err, r, "read '/proc/self/mountinfo'");
        for (size_t i = 0; r == 0 && i < n; i++) {
                const char *mp = mi[i].mount_point;
                if (strcmp(mi[i].root, "/") != 0 ||
                    (strcmp(mi[i].fstype, "proc") != 0 && strcmp(mi[i].fstype, "sysfs") != 0) ||
                    path_below(mp, root))
                        continue;
                r = mount_propagate(mp, NULL, MS_SLAVE | MS_REC);
                if (r == -ENOENT || r == -EINVAL) {
                        r = 0; /* already gone with a parent */
                        continue;
                }
                if (r < 0) {
                        error_sys(err, r, "make '%s' a slave", mp);
                        break;
                }
                r = sys_umount(mp, NULL, MNT_DETACH);
                if (r == -EINVAL || r == -EPERM) {
                        r = sys_mount("tmpfs", mp, NULL, "tmpfs", 0, NULL);
                        if (r < 0)
                                error_sys(err, r, "cover '%s'", mp);
                } else if (r < 0) {
                        error_sys(err, r, "detach '%s'", mp);
                }
        }
        mountinfo_free(mi, n);
        return r;
}

static int enter_root(const struct rootfs_ctx *ctx, bool no_pivot, struct error *err)
{
        char root[PATH_MAX];
        if (ctx->rootfs[0] != '/' ||
            snprintf(root, sizeof(root), "%s", ctx->rootfs) >= (int)sizeof(root))
                return error_msg(err, -EINVAL, "rootfs '%s': not an absolute path", ctx->rootfs);
        int r = sys_chdir(root);
        if (r < 0)
                return error_sys(err, r, "cd '%s'", root);
        if (no_pivot) {
                r = hide_host_pseudo_fs(root, err);
                if (r < 0)
                        return r;
                r = sys_mount(root, "/", NULL, NULL, MS_MOVE, NULL);
                if (r < 0)
                        return error_sys(err, r, "move '%s' onto '/'", root);
                r = sys_chroot(".");
                if (r < 0)
                        return error_sys(err, r, "chroot '%s'", root);
        } else {
                /* pivot_root(".", ".") stacks the old root on top of the new one.
                 * Through an fd opened before, the old root (and only it) is made
                 * a slave, so its detach doesn't reach the host, then detached. */
                _cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (oldroot < 0)
                        return error_sys(err, -errno, "open '/'");
                explain_note("fd %d is the old root", oldroot);
                r = sys_pivot_root(".", ".", root);
                if (r < 0)
                        return error_sys(err, r, "pivot_root into '%s'", root);
                char p[32];
                r = sys_fchdir(oldroot, fd_proc_path(oldroot, p));
                if (r < 0)
                        return error_sys(err, r, "cd to the old root");
                r = mount_propagate(".", ".", MS_SLAVE | MS_REC);
                if (r < 0)
                        return error_sys(err, r, "make the old root a slave");
                r = sys_umount(".", ".", MNT_DETACH);
                if (r < 0)
                        return error_sys(err, r, "detach the old root");
        }
        r = sys_chdir("/");
        if (r < 0)
                return error_sys(err, r, "cd '/'");
        return 0;
}

int rootfs_pivot(const struct rootfs_ctx *ctx, bool no_pivot, struct error *err)
{
        return enter_root(ctx, no_pivot, err);
}

int rootfs_protect(const struct rootfs_ctx *ctx, struct error *err)
{
        const struct spec *sp = ctx->spec;
        int r;
        bool dev_bound;
        const struct spec_mount *dm = dev_mount(sp, &dev_bound);
        if (dm && (dm->flags & MS_RDONLY)) {
                r = mount_remount_bind("/dev", NULL, dm->flags & bind_remount_flags);
                if (r < 0)
                        return error_sys(err, r, "make '/dev' read-only");
        }
        for (char **p = sp->linux.masked_paths; p && *p; p++) {
                r = mask_path(*p, err);
                if (r < 0)
                        return r;
        }
        for (char **p = sp->linux.readonly_paths; p && *p; p++) {
                r = readonly_path(*p, err);
                if (r < 0)
                        return r;
        }
        if (sp->root_readonly) {
                r = mount_remount_bind("/", NULL, MS_RDONLY);
                if (r < 0)
                        return error_sys(err, r, "make the root read-only");
        }
        if (sp->linux.rootfs_propagation) {
                r = mount_propagate("/", "/", sp->linux.rootfs_propagation);
                if (r < 0)
                        return error_sys(err, r, "set propagation of '/'");
        }
        return 0;
}

int rootfs_finish(const struct rootfs_ctx *ctx, bool no_pivot, struct error *err)
{
        int r = rootfs_pivot(ctx, no_pivot, err);
        if (r < 0)
                return r;
        return rootfs_protect(ctx, err);
}
