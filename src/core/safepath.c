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

int safe_open_literal(int rootfd, const char *path, int flags, int *ret_fd)
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

/* Walks path inside root one name at a time, creating what is missing:
 * directories, and with last_file the last name as an empty file. A symlink
 * met on the way, dangling or not, is read and its target walked instead
 * (an absolute one from the root), so a missing target is created inside the
 * root too, as runc's MkdirAll does. Every lookup is an openat2 with
 * RESOLVE_IN_ROOT of a path without symlinks left in its prefix, and every
 * create is a single name in an fd: nothing can leave the root. */
static int walk_create(int rootfd, const char *path, bool last_file, mode_t mode, int *ret_fd)
{
        char todo[PATH_MAX], cur[PATH_MAX] = "";
        if (snprintf(todo, sizeof(todo), "%s", path) >= (int)sizeof(todo))
                return -ENAMETOOLONG;
        _cleanup_close_ int curfd = openat2_in_root(rootfd, ".", O_PATH | O_DIRECTORY, 0);
        if (curfd < 0)
                return curfd;
        int links = 0;
        char *p = todo;
        for (;;) {
                while (*p == '/')
                        p++;
                if (!*p)
                        break;
                char *slash = strchr(p, '/');
                size_t n = slash ? (size_t)(slash - p) : strlen(p);
                char comp[NAME_MAX + 1];
                if (n > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(comp, p, n);
                comp[n] = '\0';
                p += n;
                bool last = true;
                for (const char *q = p; *q; q++)
                        if (*q != '/')
                                last = false;
                if (strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        char *up = strrchr(cur, '/');
                        if (up)
                                *up = '\0';
                        else
                                cur[0] = '\0';
                        int fd = openat2_in_root(rootfd, *cur ? cur : ".", O_PATH | O_DIRECTORY, 0);
                        if (fd < 0)
                                return fd;
                        close(curfd);
                        curfd = fd;
                        continue;
                }
                char next[PATH_MAX];
                if (snprintf(next, sizeof(next), "%s%s%s", cur, *cur ? "/" : "", comp) >=
                    (int)sizeof(next))
                        return -ENAMETOOLONG;
                int fd = openat2_in_root(rootfd, next, O_PATH | O_NOFOLLOW, 0);
                if (fd == -ENOENT) {
                        if (last && last_file) {
                                int c = openat(curfd, comp,
                                               O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                                               mode);
                                if (c < 0 && errno != EEXIST)
                                        return -errno;
                                if (c >= 0)
                                        close(c);
                        } else if (mkdirat(curfd, comp, last ? mode : 0755) < 0 &&
                                   errno != EEXIST) {
                                return -errno;
                        }
                        fd = openat2_in_root(rootfd, next, O_PATH | O_NOFOLLOW, 0);
                }
                if (fd < 0)
                        return fd;
                struct stat st;
                if (fstat(fd, &st) < 0) {
                        close(fd);
                        return -errno;
                }
                if (S_ISLNK(st.st_mode)) {
                        char target[PATH_MAX];
                        ssize_t tl = readlinkat(fd, "", target, sizeof(target) - 1);
                        close(fd);
                        if (tl < 0)
                                return -errno;
                        target[tl] = '\0';
                        if (++links > 40)
                                return -ELOOP;
                        /* Continue with TARGET/REST; an absolute target restarts at the root. */
                        char rest[PATH_MAX];
                        snprintf(rest, sizeof(rest), "%s", p);
                        if (snprintf(todo, sizeof(todo), "%s/%s", target, rest) >=
                            (int)sizeof(todo))
                                return -ENAMETOOLONG;
                        p = todo;
                        if (target[0] == '/') {
                                cur[0] = '\0';
                                int rfd = openat2_in_root(rootfd, ".", O_PATH | O_DIRECTORY, 0);
                                if (rfd < 0)
                                        return rfd;
                                close(curfd);
                                curfd = rfd;
                        }
                        continue;
                }
                if (!S_ISDIR(st.st_mode) && !last) {
                        close(fd);
                        return -ENOTDIR;
                }
                if (last && !last_file && !S_ISDIR(st.st_mode)) {
                        close(fd);
                        return -ENOTDIR;
                }
                close(curfd);
                curfd = fd;
                snprintf(cur, sizeof(cur), "%s", next);
        }
        *ret_fd = TAKE_FD(curfd);
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
        return walk_create(rootfd, path, false, mode, ret_fd);
}

int safe_touch(int rootfd, const char *path, mode_t mode, int *ret_fd)
{
        while (*path == '/')
                path++;
        if (!*path)
                return -EINVAL;
        int fd = openat2_in_root(rootfd, path, O_PATH, 0);
        if (fd != -ENOENT) {
                if (fd < 0)
                        return fd;
                *ret_fd = fd;
                return 0;
        }
        return walk_create(rootfd, path, true, mode, ret_fd);
}

const char *fd_proc_path(int fd, char *buf)
{
        snprintf(buf, 32, "/proc/self/fd/%d", fd);
        return buf;
}
