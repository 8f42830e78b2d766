#include "core/safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util.h"

static int openat2_resolve(int rootfd, const char *path, int flags, mode_t mode,
                           unsigned long long resolve)
{
        struct open_how how = {
            .flags = (unsigned)(flags | O_CLOEXEC),
            .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
            .resolve = resolve,
        };
        for (;;) {
                long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
                if (fd >= 0)
                        return (int)fd;
                /* EAGAIN: a concurrent rename inside the root; the kernel asks us to retry. */
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
        }
}

static int openat2_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
        return openat2_resolve(rootfd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int safe_open_nosymlinks(int rootfd, const char *path, int flags, mode_t mode, int *ret_fd)
{
        while (*path == '/')
                path++;
        int fd = openat2_resolve(rootfd, *path ? path : ".", flags, mode,
                                 RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
                                     RESOLVE_NO_XDEV);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int safe_open(int rootfd, const char *path, int flags, mode_t mode, int *ret_fd)
{
        while (*path == '/')
                path++;
        int fd = openat2_in_root(rootfd, *path ? path : ".", flags, mode);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int safe_mkdir_p(int rootfd, const char *path, mode_t mode, int *ret_fd)
{
        char buf[PATH_MAX];
        if (strlen(path) >= sizeof(buf))
                return -ENAMETOOLONG;
        while (*path == '/')
                path++;
        snprintf(buf, sizeof(buf), "%s", path);
        _cleanup_close_ int cur = openat2_in_root(rootfd, ".", O_PATH | O_DIRECTORY, 0);
        if (cur < 0)
                return cur;
        /* Each prefix is resolved from the root, so an absolute symlink in the middle
         * means the container's root; a missing last name is made in its parent. */
        char prefix[PATH_MAX] = "";
        size_t plen = 0;
        char *save = NULL;
        for (char *comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
                plen +=
                    snprintf(prefix + plen, sizeof(prefix) - plen, "%s%s", plen ? "/" : "", comp);
                int next = openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
                if (next == -ENOENT) {
                        if (mkdirat(cur, comp, mode) < 0 && errno != EEXIST)
                                return -errno;
                        next = openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
                }
                if (next < 0)
                        return next;
                close(cur);
                cur = next;
        }
        *ret_fd = TAKE_FD(cur);
        return 0;
}

int safe_touch(int rootfd, const char *path, mode_t mode, int *ret_fd)
{
        char dir[PATH_MAX];
        if (strlen(path) >= sizeof(dir))
                return -ENAMETOOLONG;
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        const char *base = slash ? slash + 1 : dir;
        if (slash)
                *slash = '\0';
        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                return -EINVAL;
        _cleanup_close_ int dfd = -EBADF;
        int r = safe_mkdir_p(rootfd, slash ? dir : "", 0755, &dfd);
        if (r < 0)
                return r;
        int fd = openat2_in_root(rootfd, path, O_PATH, 0);
        if (fd == -ENOENT) {
                _cleanup_close_ int c =
                    openat(dfd, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, mode);
                if (c < 0 && errno != EEXIST)
                        return -errno;
                fd = openat2_in_root(rootfd, path, O_PATH, 0);
        }
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

const char *fd_proc_path(int fd, char *buf)
{
        snprintf(buf, 32, "/proc/self/fd/%d", fd);
        return buf;
}
