#include "image/layer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/safepath.h"
#include "core/sys.h"
#include "core/util.h"
#include "image/fsutil.h"
#include "image/stream.h"
#include "image/lib-archive.h"
#include "runtime/userns.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
/* Trailing bytes after the end-of-archive marker we accept (padding). */
#define MAX_TRAILER (16u << 20)

struct dir_meta {
        char *path;
        mode_t mode;
        bool superseded; /* a later entry of the same path wins */
        struct timespec times[2];
};

struct unpack {
        int rootfd;
        bool root;
        /* New nodes already belong to (uid, gid) unless the layer root is setgid;
         * entries owned by them need no chown. */
        bool owner_known;
        uid_t uid;
        gid_t gid;
        mode_t umask; /* 0777 when unknown: modes are then always set with chmod */
        const char *opaque_xattr;
        struct ustream *in;
        struct error *err;
        int read_error;
        struct dir_meta *dirs;
        size_t ndirs, cap;
        char *cached_dir;
        int cached_fd;
        struct layer_stats st;
};

static la_ssize_t tar_read_cb(struct archive *a, void *client, const void **buf)
{
        struct unpack *u = client;
        ssize_t n = ustream_read(u->in, buf, u->err);
        if (n < 0) {
                u->read_error = (int)n;
                archive_set_error(a, (int)-n, "%s", u->err->msg);
                return -1;
        }
        return n;
}

/* Cleans a tar name into "a/b/c" (no leading '/', no "." or empty parts);
 * ".." anywhere is refused. An empty result is the layer root. */
static int clean_path(const char *name, char *out, size_t len)
{
        size_t o = 0;
        const char *p = name;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (n == 0)
                        break;
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return -EXDEV;
                if (!(n == 1 && p[0] == '.')) {
                        if (o + n + 2 > len)
                                return -ENAMETOOLONG;
                        if (o)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
        }
        out[o] = '\0';
        return 0;
}

static void drop_cache(struct unpack *u)
{
        free(u->cached_dir);
        u->cached_dir = NULL;
        if (u->cached_fd >= 0)
                close(u->cached_fd);
        u->cached_fd = -1;
}

/* Opens (creating missing ones, 0755) the directory dir inside the layer,
 * refusing symlinks on the way. Returns a borrowed fd (cached). */
static int open_dir(struct unpack *u, const char *dir, int *ret)
{
        if (!*dir) {
                /* The cache only ever holds the parent of the entry being placed, so a
                 * removal (of a child of that parent) can never leave it stale. */
                drop_cache(u);
                *ret = u->rootfd;
                return 0;
        }
        if (u->cached_dir && strcmp(u->cached_dir, dir) == 0) {
                *ret = u->cached_fd;
                return 0;
        }
        drop_cache(u);
        int fd = -1;
        int r = safe_open_literal(u->rootfd, dir, O_PATH | O_DIRECTORY, &fd);
        if (r == -ENOENT) {
                /* Walk down, making what is missing; each step refuses symlinks. */
                char buf[PATH_MAX];
                snprintf(buf, sizeof(buf), "%s", dir);
                _cleanup_close_ int cur = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 3);
                if (cur < 0)
                        return -errno;
                char *save = NULL;
                for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                        int next = openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (next < 0 && errno == ENOENT) {
                                if (mkdirat(cur, c, 0755) < 0 && errno != EEXIST)
                                        return -errno;
                                next =
                                    openat(cur, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        }
                        if (next < 0)
                                return -errno;
                        close(cur);
                        cur = next;
                }
                fd = TAKE_FD(cur);
        } else if (r < 0) {
                return r;
        }
        u->cached_dir = xstrdup(dir);
        u->cached_fd = fd;
        *ret = fd;
        return 0;
}

static int fail(struct unpack *u, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct unpack *u, int code, const char *path, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* Hostile names can be huge: show the start and the length. */
        size_t len = strlen(path);
        if (len > 160)
                return error_msg(u->err, code, "layer entry '%.120s...' (%zu bytes): %s", path, len,
                                 msg);
        return error_msg(u->err, code, "layer entry '%s': %s", path, msg);
}

static int fail_sys(struct unpack *u, int code, const char *path, const char *doing)
{
        if (code == -ELOOP)
                return fail(u, code, path,
                            "%s: a parent is a symlink (refused: it could lead "
                            "outside the layer)",
                            doing);
        if (code == -ENOTDIR)
                return fail(u, code, path, "%s: a parent is not a directory", doing);
        if (code == -EXDEV)
                return fail(u, code, path, "%s: path leads outside the layer", doing);
        return fail(u, code, path, "%s: %s", doing, strerror(-code));
}

static void split(char *path, char **dir, char **base)
{
        char *slash = strrchr(path, '/');
        if (slash) {
                *slash = '\0';
                *dir = path;
                *base = slash + 1;
        } else {
                *dir = path + strlen(path); /* "" */
                *base = path;
        }
}

static int set_xattrs(struct unpack *u, struct archive_entry *e, const char *path, int fd, int dfd,
                      const char *base, mode_t type)
{
        const char *name;
        const void *value;
        size_t size;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (str_startswith(name, "trusted.overlay.") ||
                    str_startswith(name, "user.overlay."))
                        return fail(u, -EPERM, path,
                                    "overlay attribute '%s' is not allowed in a layer", name);
                if (type == S_IFLNK)
                        continue; /* no portable way to set them; user.* is refused anyway */
                bool privileged = !str_startswith(name, "user.");
                if (privileged && !u->root)
                        continue;
                int r;
                if (fd >= 0) {
                        r = fsetxattr(fd, name, value, size, 0);
                } else {
                        _cleanup_close_ int pfd =
                            openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        if (pfd < 0)
                                return fail_sys(u, -errno, path, "open for xattrs");
                        char proc[32];
                        r = setxattr(fd_proc_path(pfd, proc), name, value, size, 0);
                }
                if (r < 0 && !(errno == ENOTSUP && str_startswith(name, "security.selinux")))
                        return fail(u, -errno, path, "set xattr '%s': %s", name, strerror(errno));
        }
        return 0;
}

static int remove_existing(struct unpack *u, int dfd, const char *base, const char *path,
                           bool keep_dir)
{
        struct stat st;
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : fail_sys(u, -errno, path, "stat");
        if (keep_dir && S_ISDIR(st.st_mode))
                return 1;
        /* dfd (the cached parent) stays valid: only a child of it goes. */
        int r = rm_rf_at(dfd, base);
        return r < 0 ? fail_sys(u, r, path, "replace existing entry") : 0;
}

static int write_file(struct unpack *u, struct archive *a, int fd, const char *path, int64_t size)
{
        int64_t end = 0;
        for (;;) {
                const void *buf;
                size_t len;
                la_int64_t off;
                int r = archive_read_data_block(a, &buf, &len, &off);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        if (u->read_error)
                                return u->read_error;
                        return fail(u, -EINVAL, path, "read data: %s", archive_error_string(a));
                }
                const char *p = buf;
                while (len) {
                        ssize_t n = pwrite(fd, p, len, off);
                        if (n < 0) {
                                if (errno == EINTR)
                                        continue;
                                return fail_sys(u, -errno, path, "write");
                        }
                        p += n;
                        len -= (size_t)n;
                        off += n;
                }
                if (off > end)
                        end = off;
        }
        /* Sparse entries may end in a hole; give the file its full size. */
        if (end != size && ftruncate(fd, size) < 0)
                return fail_sys(u, -errno, path, "truncate");
        return 0;
}

static int do_whiteout(struct unpack *u, const char *path, char *dir, const char *base)
{
        int dfd;
        int r = open_dir(u, dir, &dfd);
        if (r < 0)
                return fail_sys(u, r, path, "open parent of whiteout");
        if (strcmp(base, WH_OPAQUE) == 0) {
                char proc[32];
                _cleanup_close_ int pfd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
                if (pfd < 0)
                        return fail_sys(u, -errno, path, "opaque whiteout");
                if (setxattr(fd_proc_path(pfd, proc), u->opaque_xattr, "y", 1, 0) < 0)
                        return fail(u, -errno, path, "set '%s' on '%s': %s", u->opaque_xattr,
                                    *dir ? dir : "/", strerror(errno));
                return 0;
        }
        if (str_startswith(base, WH_PREFIX WH_PREFIX))
                return 0; /* other AUFS metadata (.wh..wh.plnk ...) has no meaning here */
        const char *name = base + strlen(WH_PREFIX);
        if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return fail(u, -EINVAL, path, "whiteout of '%s' is not a valid name", name);
        r = remove_existing(u, dfd, name, path, false);
        if (r < 0)
                return r;
        if ((r = open_dir(u, dir, &dfd)) < 0)
                return fail_sys(u, r, path, "open parent of whiteout");
        r = sys_mknod_at(dfd, name, path, S_IFCHR | 0, makedev(0, 0));
        if (r < 0)
                return fail_sys(u, r, path, "create whiteout device");
        return 0;
}

static int record_dir(struct unpack *u, const char *path, struct archive_entry *e)
{
        if (u->ndirs == u->cap) {
                u->cap = u->cap ? 2 * u->cap : 64;
                u->dirs = xrealloc(u->dirs, u->cap * sizeof(*u->dirs));
        }
        struct dir_meta *d = &u->dirs[u->ndirs++];
        d->path = xstrdup(path);
        d->mode = archive_entry_perm(e) & 07777;
        d->superseded = false;
        d->times[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
        d->times[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
        if (!archive_entry_atime_is_set(e))
                d->times[0] = d->times[1];
        return 0;
}

/* A hardlink: its target must be an earlier entry of this layer, reached without symlinks.
 * -EEXIST, with no message, when the name is taken. */
static int do_hardlink(struct unpack *u, const char *raw, const char *hardlink, int dfd,
                       const char *base)
{
        char target[PATH_MAX];
        int r = clean_path(hardlink, target, sizeof(target));
        if (r < 0 || !*target)
                return fail(u, -EXDEV, raw, "hardlink target '%s' is outside the layer", hardlink);
        _cleanup_close_ int tfd = -EBADF;
        r = safe_open_literal(u->rootfd, target, O_PATH | O_NOFOLLOW, &tfd);
        if (r < 0)
                return fail(u, r, raw,
                            "hardlink target '%s' is not an earlier entry of this layer: %s",
                            hardlink, strerror(-r));
        struct stat st;
        if (fstat(tfd, &st) < 0 || S_ISDIR(st.st_mode))
                return fail(u, -EPERM, raw, "hardlink to directory '%s' refused", hardlink);
        char proc[32];
        if (linkat(AT_FDCWD, fd_proc_path(tfd, proc), dfd, base, AT_SYMLINK_FOLLOW) < 0)
                return errno == EEXIST ? -EEXIST : fail_sys(u, -errno, raw, "hardlink");
        return 0;
}

/* True when a node made now already has the entry's owner, so chown can go. */
static bool owner_matches(struct unpack *u, struct archive_entry *e)
{
        return u->owner_known && (uid_t)archive_entry_uid(e) == u->uid &&
               (gid_t)archive_entry_gid(e) == u->gid;
}

/* The mode a new regular file can be created with so that no chmod is needed
 * afterwards, or 0600 (and *ret_chmod) when chmod must follow: after a chown
 * (which clears setuid bits), for setuid/setgid/sticky bits (writing as a
 * user without CAP_FSETID would clear them) and for bits the umask takes. */
static mode_t create_mode(struct unpack *u, struct archive_entry *e, bool chown, bool *ret_chmod)
{
        mode_t perm = archive_entry_perm(e) & 07777;
        *ret_chmod = chown || (perm & 07000) || (perm & u->umask);
        return *ret_chmod ? 0600 : perm;
}

/* Creates the node itself; a regular file gets its data, and its fd in *ret_fd.
 * Returns -EEXIST, with no message, when the name is taken (the caller
 * removes what is there and tries again); *ret_dir_exists says the name is
 * an existing directory a directory entry can just take over. */
static int create_node(struct unpack *u, struct archive *a, struct archive_entry *e,
                       const char *raw, const char *path, int dfd, const char *base,
                       bool *ret_dir_exists, bool *ret_chmod, int *ret_fd)
{
        mode_t type = archive_entry_filetype(e);
        mode_t perm = archive_entry_perm(e) & 07777;
        int r;
        switch (type) {
        case AE_IFREG: {
                mode_t mode = create_mode(u, e, u->root && !owner_matches(u, e), ret_chmod);
                _cleanup_close_ int fd =
                    openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (fd < 0 && errno == EEXIST)
                        return -EEXIST;
                if (fd < 0)
                        return fail_sys(u, -errno, raw, "create file");
                int64_t size = archive_entry_size(e);
                r = write_file(u, a, fd, raw, size);
                if (r < 0)
                        return r;
                u->st.size += (uint64_t)size;
                *ret_fd = TAKE_FD(fd);
                return 0;
        }
        case AE_IFDIR:
                if (mkdirat(dfd, base, 0700) < 0) {
                        if (errno != EEXIST)
                                return fail_sys(u, -errno, raw, "create directory");
                        struct stat st;
                        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                                return fail_sys(u, -errno, raw, "stat");
                        if (!S_ISDIR(st.st_mode))
                                return -EEXIST;
                        *ret_dir_exists = true;
                }
                return 0;
        case AE_IFLNK: {
                const char *t = archive_entry_symlink(e);
                if (!t || !*t)
                        return fail(u, -EINVAL, raw, "symlink with an empty target");
                if (symlinkat(t, dfd, base) < 0)
                        return errno == EEXIST ? -EEXIST
                                               : fail_sys(u, -errno, raw, "create symlink");
                return 0;
        }
        case AE_IFCHR:
        case AE_IFBLK:
                /* Root of a user namespace (rootless husk) may not mknod either. */
                if (!u->root || userns_in_child_namespace())
                        return fail(u, -EPERM, raw,
                                    "device node refused: only root may unpack device nodes");
                r = sys_mknod_at(dfd, base, path, type | perm,
                                 makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e)));
                if (r == -EEXIST)
                        return r;
                return r < 0 ? fail_sys(u, r, raw, "create device node") : 0;
        case AE_IFIFO:
                r = sys_mknod_at(dfd, base, path, S_IFIFO | perm, 0);
                if (r == -EEXIST)
                        return r;
                return r < 0 ? fail_sys(u, r, raw, "create fifo") : 0;
        default:
                return fail(u, -EINVAL, raw, "unsupported entry type 0%o", (unsigned)type);
        }
}

/* Owner first (chown clears setuid bits and file capabilities), then mode, xattrs, times.
 * Directories get mode and times at the end (finish_dirs). A regular file
 * created with its final mode and owner (create_mode) skips chown and chmod. */
static int apply_meta(struct unpack *u, struct archive_entry *e, const char *raw, const char *path,
                      int dfd, const char *base, int fd, bool need_chmod)
{
        mode_t type = archive_entry_filetype(e);
        mode_t perm = archive_entry_perm(e) & 07777;
        if (u->root && !owner_matches(u, e)) {
                uid_t uid = (uid_t)archive_entry_uid(e);
                gid_t gid = (gid_t)archive_entry_gid(e);
                int r = fd >= 0 ? fchown(fd, uid, gid)
                                : fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
                if (r < 0)
                        return fail_sys(u, -errno, raw, "chown");
        }
        if (type == AE_IFDIR) {
                record_dir(u, path, e);
                return set_xattrs(u, e, raw, -1, dfd, base, type);
        }
        if (type != AE_IFLNK && (fd < 0 || need_chmod)) {
                int r = fd >= 0 ? fchmod(fd, perm) : fchmodat(dfd, base, perm, AT_SYMLINK_NOFOLLOW);
                if (r < 0)
                        return fail_sys(u, -errno, raw, "chmod");
        }
        int r = set_xattrs(u, e, raw, fd, dfd, base, type);
        if (r < 0)
                return r;
        struct timespec ts[2] = {
            {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
            {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
        };
        if (archive_entry_atime_is_set(e))
                ts[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
        r = fd >= 0 ? futimens(fd, ts) : utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW);
        if (r < 0)
                return fail_sys(u, -errno, raw, "set times");
        return 0;
}

static int do_entry(struct unpack *u, struct archive *a, struct archive_entry *e)
{
        const char *raw = archive_entry_pathname(e);
        if (!raw)
                return error_msg(u->err, -EINVAL, "layer entry without a usable name");
        char path[PATH_MAX];
        int r = clean_path(raw, path, sizeof(path));
        if (r == -EXDEV)
                return fail(u, -EXDEV, raw, "path escapes the layer root ('..' is not allowed)");
        if (r < 0)
                return fail(u, r, raw, "path longer than %d bytes", PATH_MAX - 1);
        mode_t type = archive_entry_filetype(e);
        const char *hardlink = archive_entry_hardlink(e);
        u->st.entries++;
        if (!*path) {
                if (type != AE_IFDIR)
                        return fail(u, -EINVAL, raw, "the layer root must be a directory");
                if (u->root && !owner_matches(u, e) &&
                    fchown(u->rootfd, archive_entry_uid(e), archive_entry_gid(e)) < 0)
                        return fail_sys(u, -errno, raw, "chown");
                return record_dir(u, "", e);
        }
        char work[PATH_MAX];
        memcpy(work, path, strlen(path) + 1);
        char *dir, *base;
        split(work, &dir, &base);
        if (str_startswith(base, WH_PREFIX))
                return do_whiteout(u, raw, dir, base);

        int dfd;
        r = open_dir(u, dir, &dfd);
        if (r < 0)
                return fail_sys(u, r, raw, "open parent directory");
        /* Create first; only a taken name (a later entry replacing an earlier
         * one, rare) costs a look at what is there and its removal. */
        _cleanup_close_ int fd = -EBADF;
        bool dir_exists = false, need_chmod = false;
        for (int attempt = 0;; attempt++) {
                if (hardlink)
                        r = do_hardlink(u, raw, hardlink, dfd, base);
                else
                        r = create_node(u, a, e, raw, path, dfd, base, &dir_exists, &need_chmod,
                                        &fd);
                if (r != -EEXIST)
                        break;
                if (attempt)
                        return fail_sys(u, r, raw, "create");
                r = remove_existing(u, dfd, base, raw, false);
                if (r < 0)
                        return r;
        }
        if (r < 0 || hardlink)
                return r;
        return apply_meta(u, e, raw, path, dfd, base, fd, need_chmod);
}

/* Directory modes and times last: creating children would change them. */
static int cmp_dir_index(const void *a, const void *b, void *arg)
{
        const struct dir_meta *dirs = arg;
        size_t x = *(const size_t *)a, y = *(const size_t *)b;
        int c = strcmp(dirs[x].path, dirs[y].path);
        return c ? c : (x < y ? -1 : x > y);
}

/* A directory named twice (or replaced and made again) takes the mode and
 * times of its last entry, as with tar. */
static void mark_superseded(struct unpack *u)
{
        _cleanup_free_ size_t *idx = xmalloc((u->ndirs + 1) * sizeof(*idx));
        for (size_t i = 0; i < u->ndirs; i++)
                idx[i] = i;
        qsort_r(idx, u->ndirs, sizeof(*idx), cmp_dir_index, u->dirs);
        for (size_t i = 0; i + 1 < u->ndirs; i++)
                if (strcmp(u->dirs[idx[i]].path, u->dirs[idx[i + 1]].path) == 0)
                        u->dirs[idx[i]].superseded = true;
}

static int finish_dirs(struct unpack *u)
{
        mark_superseded(u);
        for (size_t i = u->ndirs; i-- > 0;) {
                struct dir_meta *d = &u->dirs[i];
                if (d->superseded)
                        continue;
                _cleanup_close_ int fd = -EBADF;
                if (!*d->path) {
                        fd = fcntl(u->rootfd, F_DUPFD_CLOEXEC, 3);
                } else {
                        int r = safe_open_literal(u->rootfd, d->path, O_RDONLY | O_DIRECTORY, &fd);
                        if (r == -ENOENT || r == -ELOOP || r == -ENOTDIR)
                                continue; /* replaced by a later entry */
                        if (r < 0)
                                return fail_sys(u, r, d->path, "open directory");
                }
                if (fd < 0)
                        return fail_sys(u, -errno, d->path, "open directory");
                if (fchmod(fd, d->mode) < 0)
                        return fail_sys(u, -errno, d->path, "chmod");
                if (futimens(fd, d->times) < 0)
                        return fail_sys(u, -errno, d->path, "set times");
        }
        return 0;
}

/* The umask, read without changing it (umask(2) can only set it, and the
 * helper thread of the stream runs meanwhile); 0777 when unknown. */
static mode_t current_umask(void)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        unsigned m;
        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "Umask: %o", &m) == 1)
                        return (mode_t)m & 0777;
        return 0777;
}

static void unpack_free(struct unpack *u)
{
        for (size_t i = 0; i < u->ndirs; i++)
                free(u->dirs[i].path);
        free(u->dirs);
        drop_cache(u);
}

static int empty_input(struct error *err, const char *what)
{
        return error_msg(err, -EINVAL, "%s: empty input (want a tar archive)", what);
}

int layer_unpack(int fd, int destfd, const struct layer_unpack_opts *o, struct layer_stats *ret,
                 struct error *err)
{
        const char *what = o && o->what ? o->what : "layer";
        struct unpack u = {
            .rootfd = destfd,
            .root = geteuid() == 0,
            .uid = geteuid(),
            .gid = getegid(),
            .umask = current_umask(),
            .err = err,
            .cached_fd = -1,
        };
        /* In a setgid root new nodes take its group, not ours. */
        struct stat rst;
        u.owner_known = fstat(destfd, &rst) == 0 && !(rst.st_mode & S_ISGID);
        u.opaque_xattr = u.root ? "trusted.overlay.opaque" : "user.overlay.opaque";
        int r = ustream_open_tee(fd, what, o ? o->max_bytes : 0, o && o->tee ? o->tee_fd : -1,
                                 &u.in, err);
        if (r < 0)
                return r;
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        /* A gnutar "sparse" entry or pax headers beyond 1 MiB are libarchive's own limits. */
        if (archive_read_open(a, &u, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
                r = u.read_error ? u.read_error
                    : ustream_bytes(u.in) == 0
                        ? empty_input(err, what)
                        : error_msg(err, -EINVAL, "%s: not a tar archive: %s", what,
                                    archive_error_string(a));
                goto out;
        }
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(a, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN) {
                        r = u.read_error ? u.read_error
                            : ustream_bytes(u.in) == 0
                                ? empty_input(err, what)
                                : error_msg(err, -EINVAL,
                                            "%s: bad tar header after %llu "
                                            "entries: %s",
                                            what, (unsigned long long)u.st.entries,
                                            archive_error_string(a));
                        goto out;
                }
                r = do_entry(&u, a, e);
                if (r < 0) {
                        /* A stream error already names the layer. */
                        if (!u.read_error)
                                error_wrap(err, r, "%s", what);
                        goto out;
                }
        }
        r = finish_dirs(&u);
        if (r < 0) {
                error_wrap(err, r, "%s", what);
                goto out;
        }
        /* The rest of the stream (end blocks, padding) counts for the diffID. */
        for (uint64_t trailer = 0;;) {
                const void *buf;
                ssize_t n = ustream_read(u.in, &buf, err);
                if (n < 0) {
                        r = (int)n;
                        goto out;
                }
                if (n == 0)
                        break;
                trailer += (uint64_t)n;
                if (trailer > MAX_TRAILER) {
                        r = error_msg(err, -EINVAL,
                                      "%s: more than %u bytes of data after the end of the tar",
                                      what, MAX_TRAILER);
                        goto out;
                }
        }
        ustream_digest(u.in, u.st.diff_id);
        u.st.tar_size = ustream_bytes(u.in);
        if (u.st.tar_size == 0) {
                r = empty_input(err, what);
                goto out;
        }
        if (o && o->expect_diff_id && strcmp(o->expect_diff_id, u.st.diff_id) != 0) {
                r = error_msg(err, -EBADMSG, "%s: diffID mismatch: expected %s, got %s", what,
                              o->expect_diff_id, u.st.diff_id);
                goto out;
        }
        if (o && o->expect_blob) {
                char blob[DIGEST_STR_MAX];
                ustream_input_digest(u.in, blob);
                if (strcmp(o->expect_blob, blob) != 0) {
                        r = error_msg(err, -EBADMSG,
                                      "%s: blob digest mismatch: expected %s, got %s", what,
                                      o->expect_blob, blob);
                        goto out;
                }
        }
        *ret = u.st;
        r = 0;
out:
        archive_read_free(a);
        ustream_free(u.in);
        unpack_free(&u);
        return r;
}
