#include "image/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/safepath.h"
#include "core/sys.h"
#include "core/util.h"
#include "image/fsutil.h"

#define OVL_MAX_STACK  500
#define MOUNT_DATA_MAX 4000 /* one page, less a margin */

static bool is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Opaque as unpacked by root (trusted.*) or rootless (user.*, for userxattr mounts). */
static bool is_opaque(int dirfd)
{
        char v[2] = "";
        return (fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof(v)) == 1 ||
                fgetxattr(dirfd, "user.overlay.opaque", v, sizeof(v)) == 1) &&
               v[0] == 'y';
}

static int copy_dir_meta(int src, int dst)
{
        struct stat st;
        if (fstat(src, &st) < 0)
                return -errno;
        if (fchown(dst, st.st_uid, st.st_gid) < 0 || fchmod(dst, st.st_mode & 07777) < 0)
                return -errno;
        char names[4096];
        ssize_t n = flistxattr(src, names, sizeof(names));
        for (ssize_t i = 0; i > -1 && i < n; i += (ssize_t)strlen(names + i) + 1) {
                const char *name = names + i;
                if (str_startswith(name, "trusted.overlay.") ||
                    str_startswith(name, "user.overlay."))
                        continue;
                char val[4096];
                ssize_t vl = fgetxattr(src, name, val, sizeof(val));
                if (vl >= 0)
                        (void)fsetxattr(dst, name, val, (size_t)vl, 0);
        }
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        return futimens(dst, ts) < 0 ? -errno : 0;
}

/* Applies one layer directory onto the flattened tree. */
static int apply_dir(int src, int dst, const char *where, struct error *err)
{
        _cleanup_close_ int dup = fcntl(src, F_DUPFD_CLOEXEC, 3);
        DIR *d = dup >= 0 ? fdopendir(dup) : NULL;
        if (!d)
                return error_sys(err, -errno, "flatten: read '%s'", where);
        TAKE_FD(dup);
        int r = 0;
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                const char *name = de->d_name;
                if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = error_sys(err, -errno, "flatten: stat '%s/%s'", where, name);
                        break;
                }
                char sub[PATH_MAX];
                snprintf(sub, sizeof(sub), "%s/%s", where, name);
                if (is_whiteout(&st)) {
                        if ((r = rm_rf_at(dst, name)) < 0)
                                error_sys(err, r, "flatten: remove '%s'", sub);
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sfd =
                            openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sfd < 0) {
                                r = error_sys(err, -errno, "flatten: open '%s'", sub);
                                break;
                        }
                        struct stat dst_st;
                        bool exists = fstatat(dst, name, &dst_st, AT_SYMLINK_NOFOLLOW) == 0;
                        if (exists && (!S_ISDIR(dst_st.st_mode) || is_opaque(sfd))) {
                                if ((r = rm_rf_at(dst, name)) < 0) {
                                        error_sys(err, r, "flatten: replace '%s'", sub);
                                        break;
                                }
                                exists = false;
                        }
                        if (!exists && mkdirat(dst, name, 0700) < 0) {
                                r = error_sys(err, -errno, "flatten: mkdir '%s'", sub);
                                break;
                        }
                        _cleanup_close_ int dfd =
                            openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dfd < 0) {
                                r = error_sys(err, -errno, "flatten: open '%s'", sub);
                                break;
                        }
                        if ((r = apply_dir(sfd, dfd, sub, err)) < 0)
                                break;
                        if ((r = copy_dir_meta(sfd, dfd)) < 0)
                                error_sys(err, r, "flatten: metadata of '%s'", sub);
                        continue;
                }
                if ((r = rm_rf_at(dst, name)) < 0) {
                        error_sys(err, r, "flatten: replace '%s'", sub);
                        break;
                }
                /* Lower layers are never written to, so sharing inodes is safe. */
                if (linkat(src, name, dst, name, 0) < 0)
                        r = error_sys(err, -errno, "flatten: link '%s'", sub);
        }
        closedir(d);
        return r;
}

int snapshot_flatten(struct store *s, char *const *layers, size_t n, int destfd, struct error *err)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int lfd = -EBADF;
                int r = store_layer_open(s, layers[i], &lfd, err);
                if (r < 0)
                        return r;
                r = apply_dir(lfd, destfd, "", err);
                if (r == 0 && (r = copy_dir_meta(lfd, destfd)) < 0)
                        error_sys(err, r, "flatten: metadata of '/'");
                if (r < 0)
                        return error_wrap(err, r, "layer %s", layers[i]);
        }
        return 0;
}

/* The flattened tree of layers[0..n), cached as image/flat/HEX (HEX = chain of the last). */
static int ensure_flat(struct store *s, char *const *layers, size_t n, struct error *err)
{
        _cleanup_close_ int flatfd = -EBADF;
        if (mkdirat(s->imagefd, "flat", 0700) < 0 && errno != EEXIST)
                return error_sys(err, -errno, "create '%s/image/flat'", s->root);
        flatfd = openat(s->imagefd, "flat", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (flatfd < 0)
                return error_sys(err, -errno, "open '%s/image/flat'", s->root);
        const char *hex = digest_hex(layers[n - 1]);
        struct stat st;
        if (fstatat(flatfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        char tmp[64];
        int r = mkdtemp_at(s->tmpfd, "flat", tmp, sizeof(tmp));
        if (r < 0)
                return error_sys(err, r, "create temporary flattened dir");
        _cleanup_close_ int tfd = openat(s->tmpfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        r = tfd < 0 ? error_sys(err, -errno, "open temporary dir")
                    : snapshot_flatten(s, layers, n, tfd, err);
        if (r == 0 && renameat(s->tmpfd, tmp, flatfd, hex) < 0 && errno != EEXIST &&
            errno != ENOTEMPTY)
                r = error_sys(err, -errno, "move flattened layers into place");
        rm_rf_at(s->tmpfd, tmp); /* gone after a rename; leftovers when another won */
        return r;
}

int snapshot_mount(struct store *s, char *const *layers, const char *upper, const char *work,
                   const char *target, const struct snapshot_opts *o, struct error *err)
{
        size_t n = strv_len(layers);
        if (n == 0)
                return error_msg(err, -EINVAL, "overlay of an image without layers");
        size_t max = o && o->max_lowers ? o->max_lowers : OVL_MAX_STACK;
        /* Lower dirs are named relative to image/layers ("HEX/diff", "../flat/HEX"),
         * so more fit in the one page of mount options. */
        size_t fixed = strlen(upper) + strlen(work) + 64;
        size_t per = DIGEST_HEX_LEN + 6;
        size_t fit = fixed < MOUNT_DATA_MAX ? (MOUNT_DATA_MAX - fixed) / per : 0;
        if (fit < 2)
                return error_msg(err, -ENAMETOOLONG,
                                 "upper dir path too long for an overlay mount");
        if (max > fit)
                max = fit;
        size_t direct = n <= max ? n : max - 1; /* layers mounted as they are, from the top */
        size_t flat = n - direct;               /* bottom layers merged into one dir */
        int r;
        if (flat && (r = ensure_flat(s, layers, flat, err)) < 0)
                return error_wrap(err, r, "flatten the bottom %zu of %zu layers", flat, n);
        size_t cap = MOUNT_DATA_MAX + 4096;
        _cleanup_free_ char *data = xmalloc(cap);
        size_t len = (size_t)snprintf(data, cap, "lowerdir=");
        for (size_t i = n; i-- > flat;)
                len += (size_t)snprintf(data + len, cap - len, "%s%s/diff", i + 1 == n ? "" : ":",
                                        digest_hex(layers[i]));
        if (flat)
                len += (size_t)snprintf(data + len, cap - len, "%s../flat/%s", direct ? ":" : "",
                                        digest_hex(layers[flat - 1]));
        len += (size_t)snprintf(data + len, cap - len, ",upperdir=%s,workdir=%s", upper, work);
        if (o && o->volatile_upper) {
                /* A volatile mount leaves work/work/incompat/volatile behind, and
                 * overlay refuses the next mount while it is there: this upper
                 * dir's contents do not matter, so it goes. */
                const char *marks[] = {"work/incompat/volatile/dirty", "work/incompat/volatile",
                                       "work/incompat"};
                for (size_t i = 0; i < ARRAY_SIZE(marks); i++) {
                        _cleanup_free_ char *p = xasprintf("%s/%s", work, marks[i]);
                        if (i == 0)
                                (void)unlink(p);
                        else
                                (void)rmdir(p);
                }
                snprintf(data + len, cap - len, ",volatile");
        }

        _cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0)
                return error_sys(err, -errno, "open current directory");
        _cleanup_free_ char *layers_dir = xasprintf("%s/image/layers", s->root);
        r = sys_chdir(layers_dir);
        if (r < 0)
                return error_sys(err, r, "cd '%s'", layers_dir);
        r = sys_mount("overlay", target, NULL, "overlay", 0, data);
        int saved = r;
        if (fchdir(cwd) < 0 && saved == 0) {
                sys_umount(target, NULL, MNT_DETACH);
                return error_sys(err, -errno, "return to the current directory");
        }
        if (saved < 0)
                return error_sys(err, saved, "mount overlay of %zu layers on '%s'", n, target);
        return 0;
}

int snapshot_unmount(const char *target, struct error *err)
{
        int r = sys_umount(target, NULL, 0);
        if (r < 0)
                return error_sys(err, r, "unmount '%s'", target);
        return 0;
}
