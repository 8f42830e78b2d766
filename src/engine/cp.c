/* husk cp (see cp.h). */
#include "engine/cp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/safepath.h"
#include "core/util.h"
#include "engine/volume.h"
#include "image/image.h"
#include "image/lib-archive.h"

/* ------------------------------------------------------------ the root */

static int running_root(const struct ctr *c, int *ret_fd, struct error *err)
{
        int pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
        if (pidfd < 0)
                return error_sys(err, -errno, "container '%s': its process %d", c->name,
                                 (int)c->pid);
        _cleanup_close_ int pfd = pidfd;
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/root", (int)c->pid);
        int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "container '%s': open '%s'", c->name, p);
        /* Still the same process (not a reused pid) after the open. */
        if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
                close(fd);
                return error_msg(err, -ESRCH, "container '%s' stopped during the copy", c->name);
        }
        *ret_fd = fd;
        return 0;
}

static int stopped_root(struct engine *e, const struct ctr *c, int *ret_fd, struct error *err)
{
        _cleanup_(image_free) struct image img = {0};
        int r = image_get(e->store, c->image_id, &img, err);
        if (r < 0)
                return error_wrap(err, r, "the image of container '%s'", c->name);
        _cleanup_free_ char *dir = engine_ctr_dir(e, c->id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        _cleanup_free_ char *work = xasprintf("%s/work", dir);
        if ((mkdir(dir, 0700) < 0 && errno != EEXIST) ||
            (mkdir(upper, 0755) < 0 && errno != EEXIST) ||
            (mkdir(work, 0755) < 0 && errno != EEXIST))
                return error_sys(err, -errno, "container '%s': create '%s'", c->name, upper);
        _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return error_sys(err, -errno, "fsopen overlay");
        for (size_t i = strv_len(img.layers); i-- > 0;) {
                _cleanup_free_ char *l = store_layer_dir(e->store, img.layers[i]);
                if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", l, 0) < 0)
                        return error_sys(err, -errno, "overlay lower dir '%s'", l);
        }
        if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
            fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
            fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return error_sys(err, -errno,
                                 "container '%s': mount its root (is it being started?)", c->name);
        _cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
        if (mnt < 0)
                return error_sys(err, -errno, "fsmount overlay");
        int fd = openat(mnt, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "open the overlay's root");
        *ret_fd = fd;
        return 0;
}

static int open_root(struct engine *e, const struct ctr *c, int *ret_fd, struct error *err)
{
        if (strcmp(c->state, "running") == 0 && c->pid > 0)
                return running_root(c, ret_fd, err);
        return stopped_root(e, c, ret_fd, err);
}

/* Splits a container path into its parent (opened inside root, a real
 * directory fd) and its last component. "/" or a path ending in "/." gives
 * the directory itself and name NULL (its contents). */
static int open_parent(int rootfd, const char *cname, const char *path, int *ret_dir,
                       char **ret_name, struct error *err)
{
        if (path[0] != '/')
                return error_msg(err, -EINVAL, "container path '%s' is not absolute", path);
        _cleanup_free_ char *p = xstrdup(path);
        size_t n = strlen(p);
        bool contents = (n >= 2 && strcmp(p + n - 2, "/.") == 0);
        while (n > 1 && (p[n - 1] == '/' || (p[n - 1] == '.' && p[n - 2] == '/')))
                p[--n] = '\0';
        char *slash = strrchr(p, '/');
        char *name = slash + 1;
        if (strcmp(name, "..") == 0)
                return error_msg(err, -EINVAL, "container path '%s' ends in '..'", path);
        int fd = -1, r;
        if (!*name || contents) {
                r = safe_open(rootfd, p, O_RDONLY | O_DIRECTORY, 0, &fd);
                name = NULL;
        } else {
                *slash = '\0';
                r = safe_open(rootfd, *p ? p : "/", O_RDONLY | O_DIRECTORY, 0, &fd);
        }
        if (r < 0)
                return error_sys(err, r, "container '%s': '%s'", cname, path);
        *ret_dir = fd;
        *ret_name = name ? xstrdup(name) : NULL;
        return 0;
}

/* cp through symlinks: a container path whose last component is a symlink
 * is replaced by the link's target, again and again (at most 40 times, as
 * the kernel), each one resolved inside the root by open_parent's
 * RESOLVE_IN_ROOT walk: an absolute or "../../.." target stays inside.
 * Returns the path to use (a copy of path when it is no symlink, or when its
 * parent can't be opened: the caller's own open then names the error). */
static int follow_final_links(int rootfd, const char *cname, const char *path, char **ret,
                              struct error *err)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (int hops = 0;; hops++) {
                _cleanup_close_ int dir = -1;
                _cleanup_free_ char *name = NULL;
                struct error ignored = {0};
                if (open_parent(rootfd, cname, p, &dir, &name, &ignored) < 0) {
                        error_clear(&ignored);
                        break;
                }
                struct stat st;
                if (!name || fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISLNK(st.st_mode))
                        break;
                if (hops == 40)
                        return error_msg(err, -ELOOP,
                                         "container '%s': '%s': too many levels of symbolic "
                                         "links",
                                         cname, path);
                char t[PATH_MAX];
                ssize_t n = readlinkat(dir, name, t, sizeof(t) - 1);
                if (n < 0)
                        return error_sys(err, -errno, "container '%s': readlink '%s'", cname, p);
                t[n] = '\0';
                if (t[0] == '/') {
                        free(p);
                        p = xstrdup(t);
                        continue;
                }
                /* Relative: from the link's directory (p without its last component). */
                size_t len = strlen(p);
                while (len > 1 && p[len - 1] == '/')
                        p[--len] = '\0';
                char *slash = strrchr(p, '/');
                slash[1] = '\0';
                char *next = xasprintf("%s%s", p, t);
                free(p);
                p = next;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

/* ------------------------------------------------------------ tar out */

static int tar_err(struct archive *a, struct error *err, const char *what)
{
        return error_msg(err, -EIO, "%s: %s", what, archive_error_string(a));
}

static int tar_entry(struct archive *a, int dirfd, const char *name, const char *tarname,
                     struct error *err);

static int tar_dir(struct archive *a, int fd, const char *prefix, struct error *err)
{
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return error_sys(err, -errno, "dup");
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return error_sys(err, -errno, "read directory '%s'", prefix);
        }
        int r = 0;
        struct dirent *de;
        while (r >= 0 && (de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *tn =
                    *prefix ? xasprintf("%s/%s", prefix, de->d_name) : xstrdup(de->d_name);
                r = tar_entry(a, fd, de->d_name, tn, err);
        }
        closedir(d);
        return r;
}

static int tar_entry(struct archive *a, int dirfd, const char *name, const char *tarname,
                     struct error *err)
{
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return error_sys(err, -errno, "stat '%s'", tarname);
        if (S_ISSOCK(st.st_mode))
                return 0;
        struct archive_entry *en = archive_entry_new();
        archive_entry_copy_stat(en, &st);
        archive_entry_set_pathname(en, tarname);
        int fd = -1;
        if (S_ISLNK(st.st_mode)) {
                char t[PATH_MAX];
                ssize_t n = readlinkat(dirfd, name, t, sizeof(t) - 1);
                if (n < 0) {
                        archive_entry_free(en);
                        return error_sys(err, -errno, "readlink '%s'", tarname);
                }
                t[n] = '\0';
                archive_entry_set_symlink(en, t);
        } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
                fd = openat(dirfd, name,
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
                                (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                if (fd < 0) {
                        archive_entry_free(en);
                        return error_sys(err, -errno, "open '%s'", tarname);
                }
        }
        _cleanup_close_ int fdc = fd;
        int r = 0;
        if (archive_write_header(a, en) != ARCHIVE_OK)
                r = tar_err(a, err, tarname);
        archive_entry_free(en);
        if (r < 0)
                return r;
        if (S_ISREG(st.st_mode)) {
                char buf[65536];
                ssize_t n;
                off_t left = st.st_size;
                while (left > 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
                        if (n > left)
                                n = (ssize_t)left;
                        if (archive_write_data(a, buf, (size_t)n) < 0)
                                return tar_err(a, err, tarname);
                        left -= n;
                }
                if (left > 0)
                        return error_msg(err, -EIO, "'%s' shrank while it was read", tarname);
        } else if (S_ISDIR(st.st_mode)) {
                return tar_dir(a, fd, tarname, err);
        }
        return 0;
}

static int write_tar(int dirfd, const char *name, int outfd, struct error *err)
{
        if (lib_archive_need(err) < 0)
                return err->code;
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        int r = 0;
        if (archive_write_open_fd(a, outfd) != ARCHIVE_OK)
                r = tar_err(a, err, "write tar");
        else if (name)
                r = tar_entry(a, dirfd, name, name, err);
        else
                r = tar_dir(a, dirfd, "", err);
        if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
                r = tar_err(a, err, "write tar");
        archive_write_free(a);
        return r;
}

/* ------------------------------------------------------------ tar in */

static int clean_name(const char *in, char **ret, struct error *err)
{
        while (*in == '/')
                in++;
        while (in[0] == '.' && in[1] == '/')
                in += 2;
        _cleanup_free_ char *p = xstrdup(in);
        size_t n = strlen(p);
        while (n > 0 && p[n - 1] == '/')
                p[--n] = '\0';
        char *save = NULL;
        _cleanup_free_ char *copy = xstrdup(p);
        for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save))
                if (!strcmp(t, ".."))
                        return error_msg(err, -EINVAL, "tar entry '%s': '..' in its name", in);
        *ret = TAKE_PTR(p);
        return 0;
}

/* Entries land below dst (a container path); each one's directory is
 * resolved (and made) inside the container's root, so a symlink on the way
 * leads where it leads in the container, never out of it. */
static int extract_one(struct archive *a, struct archive_entry *en, int rootfd, const char *dst,
                       struct error *err)
{
        _cleanup_free_ char *p = NULL;
        int r = clean_name(archive_entry_pathname(en), &p, err);
        if (r < 0 || !*p || !strcmp(p, "."))
                return r;
        _cleanup_free_ char *full = xasprintf("%s/%s", dst, p);
        char *slash = strrchr(full, '/');
        const char *name = slash + 1;
        *slash = '\0';
        int opath = -1;
        if ((r = safe_mkdir_p(rootfd, *full ? full : "/", 0755, &opath)) < 0)
                return error_sys(err, r, "tar entry '%s': its directory", p);
        int pfd = openat(opath, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        close(opath);
        if (pfd < 0)
                return error_sys(err, -errno, "tar entry '%s'", p);
        _cleanup_close_ int pfdc = pfd;
        mode_t type = archive_entry_filetype(en);
        struct stat old;
        bool exists = fstatat(pfd, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
        if (exists && !(type == AE_IFDIR && S_ISDIR(old.st_mode))) {
                if (S_ISDIR(old.st_mode))
                        return error_msg(err, -EISDIR,
                                         "tar entry '%s': cannot overwrite a directory with a "
                                         "non-directory",
                                         archive_entry_pathname(en));
                if (unlinkat(pfd, name, 0) < 0)
                        return error_sys(err, -errno, "tar entry '%s': replace",
                                         archive_entry_pathname(en));
                exists = false;
        }
        const char *hl = archive_entry_hardlink(en);
        const char *what = archive_entry_pathname(en);
        mode_t mode = archive_entry_perm(en);
        if (hl) {
                _cleanup_free_ char *hp = NULL;
                if ((r = clean_name(hl, &hp, err)) < 0)
                        return r;
                int tfd = -1;
                _cleanup_free_ char *hfull = xasprintf("%s/%s", dst, hp);
                if ((r = safe_open(rootfd, hfull, O_PATH | O_NOFOLLOW, 0, &tfd)) < 0)
                        return error_sys(err, r, "tar entry '%s': link target '%s'", what, hl);
                r = linkat(tfd, "", pfd, name, AT_EMPTY_PATH) < 0 ? -errno : 0;
                close(tfd);
                return r < 0 ? error_sys(err, r, "tar entry '%s': link", what) : 0;
        }
        if (type == AE_IFDIR) {
                if (!exists && mkdirat(pfd, name, 0700) < 0)
                        return error_sys(err, -errno, "tar entry '%s': mkdir", what);
        } else if (type == AE_IFREG) {
                _cleanup_close_ int fd =
                    openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0)
                        return error_sys(err, -errno, "tar entry '%s': create", what);
                if (archive_read_data_into_fd(a, fd) != ARCHIVE_OK)
                        return tar_err(a, err, what);
        } else if (type == AE_IFLNK) {
                if (symlinkat(archive_entry_symlink(en), pfd, name) < 0)
                        return error_sys(err, -errno, "tar entry '%s': symlink", what);
        } else if (type == AE_IFIFO || type == AE_IFCHR || type == AE_IFBLK) {
                if (mknodat(pfd, name, type | mode, archive_entry_rdev(en)) < 0)
                        return error_sys(err, -errno, "tar entry '%s': mknod", what);
        } else {
                return error_msg(err, -EINVAL, "tar entry '%s': unsupported type", what);
        }
        if (fchownat(pfd, name, (uid_t)archive_entry_uid(en), (gid_t)archive_entry_gid(en),
                     AT_SYMLINK_NOFOLLOW) < 0)
                return error_sys(err, -errno, "tar entry '%s': chown", what);
        if (type != AE_IFLNK && fchmodat(pfd, name, mode, 0) < 0)
                return error_sys(err, -errno, "tar entry '%s': chmod", what);
        struct timespec ts[2] = {{archive_entry_atime(en), archive_entry_atime_nsec(en)},
                                 {archive_entry_mtime(en), archive_entry_mtime_nsec(en)}};
        if (!archive_entry_atime_is_set(en))
                ts[0] = ts[1];
        utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
}

static int read_tar(int infd, int rootfd, const char *dst, struct error *err)
{
        if (lib_archive_need(err) < 0)
                return err->code;
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        archive_read_support_filter_all(a);
        int r = 0;
        if (archive_read_open_fd(a, infd, 65536) != ARCHIVE_OK) {
                r = tar_err(a, err, "read tar");
        } else {
                struct archive_entry *en;
                int rc;
                while (r >= 0 && (rc = archive_read_next_header(a, &en)) == ARCHIVE_OK)
                        r = extract_one(a, en, rootfd, dst, err);
                if (r >= 0 && rc != ARCHIVE_EOF)
                        r = tar_err(a, err, "read tar");
        }
        archive_read_free(a);
        return r;
}

/* ------------------------------------------------------------ cp */

static const char *base_name(const char *p, char *buf, size_t len)
{
        snprintf(buf, len, "%s", p);
        size_t n = strlen(buf);
        while (n > 1 && buf[n - 1] == '/')
                buf[--n] = '\0';
        char *s = strrchr(buf, '/');
        return s ? s + 1 : buf;
}

/* Where a copy lands: into dst when it is a directory (as NAME), else as
 * dst itself. dst_dir: dst opened if a directory (-1 when not); dst_parent:
 * its parent; dst_name: its last component. */
static int land(int src_dir, const char *src_name, int dst_dir, int dst_parent,
                const char *dst_name, const struct volume_owner *own, const char *what,
                struct error *err)
{
        int r;
        if (!src_name) { /* the contents of a directory */
                int into = dst_dir;
                _cleanup_close_ int made = -1;
                if (into < 0) {
                        if (mkdirat(dst_parent, dst_name, 0755) < 0)
                                return error_sys(err, -errno, "%s: create '%s'", what, dst_name);
                        made = openat(dst_parent, dst_name,
                                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (made < 0)
                                return error_sys(err, -errno, "%s: open '%s'", what, dst_name);
                        into = made;
                }
                if ((r = volume_copy_tree(src_dir, into, own)) < 0)
                        return error_sys(err, r, "%s", what);
                return 0;
        }
        int pfd = dst_dir >= 0 ? dst_dir : dst_parent;
        const char *name = dst_dir >= 0 ? src_name : dst_name;
        struct stat s, d;
        if (fstatat(src_dir, src_name, &s, AT_SYMLINK_NOFOLLOW) < 0)
                return error_sys(err, -errno, "%s: '%s'", what, src_name);
        if (fstatat(pfd, name, &d, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISDIR(d.st_mode) && !S_ISDIR(s.st_mode))
                        return error_msg(err, -EISDIR,
                                         "%s: cannot overwrite directory '%s' with a file", what,
                                         name);
                if (S_ISDIR(d.st_mode)) {
                        _cleanup_close_ int sd = openat(
                            src_dir, src_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int dd =
                            openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sd < 0 || dd < 0)
                                return error_sys(err, -errno, "%s: open '%s'", what, name);
                        if ((r = volume_copy_tree(sd, dd, own)) < 0)
                                return error_sys(err, r, "%s", what);
                        return 0;
                }
                if (S_ISDIR(s.st_mode))
                        return error_msg(err, -ENOTDIR,
                                         "%s: cannot copy a directory to the file '%s'", what,
                                         name);
                if (unlinkat(pfd, name, 0) < 0)
                        return error_sys(err, -errno, "%s: replace '%s'", what, name);
        }
        if ((r = volume_copy_entry(src_dir, src_name, pfd, name, own)) < 0)
                return error_sys(err, r, "%s: copy '%s'", what, src_name);
        return 0;
}

int engine_cp_from(struct engine *e, const struct ctr *c, const char *src, const char *dst,
                   int outfd, bool archive, bool follow, struct error *err)
{
        _cleanup_close_ int root = -1;
        int r = open_root(e, c, &root, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *rsrc = NULL; /* cp -L: the link's target, inside the root */
        if (follow && src[0] == '/') {
                if ((r = follow_final_links(root, c->name, src, &rsrc, err)) < 0)
                        return r;
                src = rsrc;
        }
        _cleanup_close_ int sdir = -1;
        _cleanup_free_ char *sname = NULL;
        if ((r = open_parent(root, c->name, src, &sdir, &sname, err)) < 0)
                return r;
        struct stat st;
        if (sname && fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return error_sys(err, -errno, "container '%s': '%s'", c->name, src);
        if (strcmp(dst, "-") == 0)
                return write_tar(sdir, sname, outfd, err);
        _cleanup_free_ char *what = xasprintf("copy %s:%s to '%s'", c->name, src, dst);
        _cleanup_close_ int ddir = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int dparent = -1;
        char buf[PATH_MAX];
        const char *dname = base_name(dst, buf, sizeof(buf));
        if (ddir < 0) {
                _cleanup_free_ char *pp = xstrdup(dst);
                char *s = strrchr(pp, '/');
                const char *parent = s ? (s == pp ? "/" : (*s = '\0', pp)) : ".";
                dparent = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dparent < 0)
                        return error_sys(err, -errno, "%s: destination directory '%s'", what,
                                         parent);
        }
        /* As docker's cp without -a: the copies belong to the user running it. */
        struct volume_owner me = {getuid(), getgid()};
        return land(sdir, sname, ddir, dparent, dname, archive ? NULL : &me, what, err);
}

int engine_cp_to(struct engine *e, const struct ctr *c, const char *src, int infd, const char *dst,
                 bool archive, struct error *err)
{
        _cleanup_close_ int root = -1;
        int r = open_root(e, c, &root, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *what = xasprintf("copy '%s' to %s:%s", src, c->name, dst);
        if (dst[0] != '/')
                return error_msg(err, -EINVAL, "%s: the container path is not absolute", what);
        /* As docker: a destination that is a symlink is followed (inside the root). */
        _cleanup_free_ char *rdst = NULL;
        if ((r = follow_final_links(root, c->name, dst, &rdst, err)) < 0)
                return r;
        dst = rdst;
        int ddir = -1;
        r = safe_open(root, dst, O_RDONLY | O_DIRECTORY, 0, &ddir);
        _cleanup_close_ int ddirc = r == 0 ? ddir : -1;
        if (strcmp(src, "-") == 0) {
                if (r < 0)
                        return error_sys(err, r, "%s: destination must be a directory", what);
                return read_tar(infd, root, dst, err);
        }
        _cleanup_close_ int dparent = -1;
        _cleanup_free_ char *dname = NULL;
        if (r < 0 && (r = open_parent(root, c->name, dst, &dparent, &dname, err)) < 0)
                return r;
        if (ddirc < 0 && !dname)
                return error_msg(err, -ENOTDIR, "%s: not a directory", what);
        char buf[PATH_MAX];
        _cleanup_free_ char *sp = xstrdup(src);
        size_t n = strlen(sp);
        bool contents = n >= 2 && strcmp(sp + n - 2, "/.") == 0;
        const char *sname = contents ? NULL : base_name(src, buf, sizeof(buf));
        _cleanup_close_ int sdir = -1;
        if (contents) {
                sdir = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        } else {
                char *s = strrchr(sp, '/');
                while (s && s[1] == '\0' && s != sp) {
                        *s = '\0';
                        s = strrchr(sp, '/');
                }
                const char *parent = s ? (s == sp ? "/" : (*s = '\0', sp)) : ".";
                sdir = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        if (sdir < 0)
                return error_sys(err, -errno, "%s: '%s'", what, src);
        struct stat st;
        if (sname && fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return error_sys(err, -errno, "%s: '%s'", what, src);
        /* As docker's cp without -a: the copies belong to the container's root. */
        static const struct volume_owner root_owner = {0, 0};
        return land(sdir, sname, ddirc, dparent, dname, archive ? NULL : &root_owner, what, err);
}
