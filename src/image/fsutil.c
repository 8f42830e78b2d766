#include "image/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"

/* Reads all names of a directory (so no DIR stream stays open while recursing). */
static int list_dir(int dfd, char ***ret)
{
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        char **names = NULL;
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                names = strv_push(names, xstrdup(de->d_name));
        }
        int r = errno ? -errno : 0;
        closedir(d);
        if (r < 0) {
                strv_free(names);
                return r;
        }
        *ret = names;
        return 0;
}

int rm_rf_at(int dirfd, const char *name)
{
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode)) {
                if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }
        _cleanup_close_ int fd =
            openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
                fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        if ((st.st_mode & 0700) != 0700)
                (void)fchmod(fd, 0700); /* lets a non-root owner empty it */
        _cleanup_strv_ char **names = NULL;
        int r = list_dir(fd, &names);
        if (r < 0)
                return r;
        for (char **n = names; n && *n; n++) {
                r = rm_rf_at(fd, *n);
                if (r < 0)
                        return r;
        }
        if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int mkdtemp_at(int dirfd, const char *prefix, char *ret_name, size_t len)
{
        static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        for (int attempt = 0; attempt < 100; attempt++) {
                unsigned char rnd[8];
                if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                        return -EIO;
                char suffix[9];
                for (int i = 0; i < 8; i++)
                        suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
                suffix[8] = '\0';
                snprintf(ret_name, len, "%s-%s", prefix, suffix);
                if (mkdirat(dirfd, ret_name, 0700) == 0)
                        return 0;
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

int tree_size_at(int dirfd, uint64_t *ret)
{
        _cleanup_strv_ char **names = NULL;
        int r = list_dir(dirfd, &names);
        if (r < 0)
                return r;
        for (char **n = names; n && *n; n++) {
                struct stat st;
                if (fstatat(dirfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                if (S_ISREG(st.st_mode)) {
                        *ret += (uint64_t)st.st_size;
                } else if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int fd =
                            openat(dirfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                return -errno;
                        r = tree_size_at(fd, ret);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
