/* /dev inside the container: device nodes (made with mknod, or bound from the
 * host inside a user namespace, where mknod is not allowed), the ptmx and
 * stdio symlinks, and the console. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/safepath.h"
#include "core/sys.h"
#include "core/util.h"
#include "runtime/mount.h"
#include "runtime/rootfs-internal.h"

/* runtime-spec config-linux.md "Default Devices". */
static const struct spec_device default_devices[] = {
    {.type = 'c', .path = "/dev/null", .major = 1, .minor = 3},
    {.type = 'c', .path = "/dev/zero", .major = 1, .minor = 5},
    {.type = 'c', .path = "/dev/full", .major = 1, .minor = 7},
    {.type = 'c', .path = "/dev/random", .major = 1, .minor = 8},
    {.type = 'c', .path = "/dev/urandom", .major = 1, .minor = 9},
    {.type = 'c', .path = "/dev/tty", .major = 5, .minor = 0},
};

/* Binds the host's node at the same path onto an empty file, as runc does
 * where mknod is not allowed. */
static int bind_device(int rootfd, const char *path, struct error *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r = safe_touch(rootfd, path, 0, &fd);
        if (r < 0)
                return error_sys(err, r, "create '%s'", path);
        char p[32];
        r = sys_mount(path, fd_proc_path(fd, p), path, NULL, MS_BIND, NULL);
        if (r < 0)
                return error_sys(err, r, "mount '%s' on '%s'", path, path);
        return 0;
}

/* What every make_device of one rootfs_dev_populate shares: asked once,
 * not per node (each syscall counts in the init's critical path). */
struct dev_env {
        uid_t euid;
        gid_t egid;
        int devfd; /* /dev, opened for the first node made there */
};

static int make_device(const struct rootfs_ctx *ctx, int rootfd, struct dev_env *env,
                       const struct spec_device *d, struct error *err)
{
        char path[PATH_MAX];
        int r = path_clean(d->path, path, sizeof(path));
        if (r < 0 || strcmp(path, "/") == 0)
                return error_msg(err, -EINVAL, "device path '%s' is not valid", d->path);
        mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
        if (ctx->userns && type != S_IFIFO)
                return bind_device(rootfd, path, err);

        char *slash = strrchr(path, '/');
        *slash = '\0';
        const char *base = slash + 1;
        _cleanup_close_ int own = -EBADF;
        bool in_dev = strcmp(path, "/dev") == 0;
        if (!in_dev || env->devfd < 0) {
                r = safe_mkdir_p(rootfd, *path ? path : "/", 0755, &own);
                if (r < 0) {
                        *slash = '/';
                        return error_sys(err, r, "create the directory of '%s'", path);
                }
                if (in_dev)
                        env->devfd = TAKE_FD(own);
        }
        *slash = '/';
        int dfd = own >= 0 ? own : env->devfd;
        mode_t mode = (d->has_file_mode ? d->file_mode : 0666) & 07777;
        dev_t dev = type == S_IFIFO ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
        /* The node gets exactly the mode asked for (the caller's umask is 0). */
        r = sys_mknod_at(dfd, base, path, type | mode, dev);
        if (r == -EEXIST)
                return 0; /* kept as it is, like runc */
        if (r == -EPERM && type != S_IFIFO)
                return bind_device(rootfd, path, err);
        if (r < 0)
                return error_sys(err, r, "mknod '%s'", path);
        uid_t uid = d->has_uid ? d->uid : 0;
        gid_t gid = d->has_gid ? d->gid : 0;
        if (uid != env->euid || gid != env->egid) {
                r = sys_chown_at(dfd, base, path, uid, gid);
                if (r < 0)
                        return error_sys(err, r, "chown '%s'", path);
        }
        return 0;
}

static bool listed(const struct spec *sp, const char *path)
{
        char a[PATH_MAX], b[PATH_MAX];
        if (path_clean(path, a, sizeof(a)) < 0)
                return false;
        for (size_t i = 0; i < sp->linux.n_devices; i++)
                if (sp->linux.devices[i].path &&
                    path_clean(sp->linux.devices[i].path, b, sizeof(b)) == 0 && strcmp(a, b) == 0)
                        return true;
        return false;
}

static int dev_symlink(int devfd, const char *target, const char *name, struct error *err)
{
        char shown[64];
        snprintf(shown, sizeof(shown), "/dev/%s", name);
        int r = sys_symlink_at(target, devfd, name, shown);
        if (r < 0 && r != -EEXIST)
                return error_sys(err, r, "symlink '%s'", shown);
        return 0;
}

static int make_devices(const struct rootfs_ctx *ctx, int rootfd, struct error *err)
{
        const struct spec *sp = ctx->spec;
        struct dev_env env = {.euid = geteuid(), .egid = getegid(), .devfd = -EBADF};
        int r = 0;
        /* Once for all nodes; directories made on the way are 0755 either way. */
        mode_t old = umask(0);
        for (size_t i = 0; r == 0 && i < ARRAY_SIZE(default_devices); i++)
                if (!listed(sp, default_devices[i].path))
                        r = make_device(ctx, rootfd, &env, &default_devices[i], err);
        for (size_t i = 0; r == 0 && i < sp->linux.n_devices; i++)
                if (sp->linux.devices[i].path)
                        r = make_device(ctx, rootfd, &env, &sp->linux.devices[i], err);
        umask(old);
        if (env.devfd >= 0)
                close(env.devfd);
        return r;
}

int rootfs_dev_populate(const struct rootfs_ctx *ctx, int rootfd, struct error *err)
{
        int r = make_devices(ctx, rootfd, err);
        if (r < 0)
                return r;

        _cleanup_close_ int devfd = -EBADF;
        r = safe_mkdir_p(rootfd, "/dev", 0755, &devfd);
        if (r < 0)
                return error_sys(err, r, "open '/dev'");
        /* The devpts instance's own ptmx, whatever the image had there. */
        r = sys_unlink_at(devfd, "ptmx", "/dev/ptmx");
        if (r < 0 && r != -ENOENT)
                return error_sys(err, r, "remove '/dev/ptmx'");
        r = dev_symlink(devfd, "pts/ptmx", "ptmx", err);
        if (r < 0)
                return r;
        static const char *const links[][2] = {
            {"/proc/self/fd", "fd"},
            {"/proc/self/fd/0", "stdin"},
            {"/proc/self/fd/1", "stdout"},
            {"/proc/self/fd/2", "stderr"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(links); i++) {
                r = dev_symlink(devfd, links[i][0], links[i][1], err);
                if (r < 0)
                        return r;
        }
        if (access("/proc/kcore", F_OK) == 0) {
                r = dev_symlink(devfd, "/proc/kcore", "core", err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Binds src onto /dev/console inside root (made as an empty file if missing). */
static int bind_console(int rootfd, const char *src, bool via_proc, struct error *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r = safe_touch(rootfd, "/dev/console", 0666, &fd);
        if (r < 0)
                return error_sys(err, r, "create '/dev/console'");
        char p[32];
        /* After pivot_root the root is the container's: without a /proc there,
         * the plain path can't lead out either. */
        const char *target = via_proc ? fd_proc_path(fd, p) : "/dev/console";
        r = sys_mount(src, target, "/dev/console", NULL, MS_BIND, NULL);
        if (r < 0)
                return error_sys(err, r, "mount '%s' on '/dev/console'", src);
        return 0;
}

int rootfs_dev_console(const struct rootfs_ctx *ctx, int rootfd, struct error *err)
{
        return bind_console(rootfd, ctx->console_path, true, err);
}

int rootfs_console(const char *pts_path, struct error *err)
{
        _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return error_sys(err, -errno, "open '/'");
        return bind_console(rootfd, pts_path, access("/proc/self/fd", F_OK) == 0, err);
}
