#include "core/safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util.h"

static int openat2_how(int rootfd, const char *path, int flags, mode_t mode, uint64_t resolve)
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
        return openat2_how(rootfd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

bool safe_path_is_clean(const char *path)
{
        const char *p = path;
        while (*p == '/')
                p++;
        while (*p) {
                const char *e = strchr(p, '/');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += n;
                if (*p == '/')
                        p++;
        }
        return true;
}

int safe_open_nosymlinks(int rootfd, const char *path, int flags, int *ret_fd)
{
        while (*path == '/')
                path++;
        int fd = openat2_how(rootfd, *path ? path : ".", flags, 0,
                             RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
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
        while (*path == '/')
                path++;
        /* Usually it all exists already: one lookup. */
        int fd = openat2_in_root(rootfd, *path ? path : ".", O_PATH | O_DIRECTORY, 0);
        if (fd != -ENOENT) {
                if (fd < 0)
                        return fd;
                *ret_fd = fd;
                return 0;
        }
        /* Make the parent (recursively, so only missing levels cost), then the last
         * name inside it. The name has no slash, so mkdirat can't leave the parent;
         * the result is reopened from the root so a symlink planted meanwhile is
         * still resolved inside the root. */
        char parent[PATH_MAX];
        if (strlen(path) >= sizeof(parent))
                return -ENAMETOOLONG;
        snprintf(parent, sizeof(parent), "%s", path);
        size_t n = strlen(parent);
        while (n > 0 && parent[n - 1] == '/')
                parent[--n] = '\0';
        char *slash = strrchr(parent, '/');
        const char *base = slash ? slash + 1 : parent;
        if (slash)
                *slash = '\0';
        if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
                return -ENOENT;
        _cleanup_close_ int pfd = -EBADF;
        int r = slash ? safe_mkdir_p(rootfd, parent, mode, &pfd)
                      : (pfd = openat2_in_root(rootfd, ".", O_PATH | O_DIRECTORY, 0)) < 0 ? pfd : 0;
        if (r < 0)
                return r;
        if (mkdirat(pfd, base, mode) < 0 && errno != EEXIST)
                return -errno;
        fd = openat2_in_root(rootfd, path, O_PATH | O_DIRECTORY, 0);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
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
