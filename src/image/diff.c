/* layer_diff: an overlay upper dir -> an OCI layer tar (see layer.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/safepath.h"
#include "core/util.h"
#include "image/layer.h"
#include "core/lib-crypto.h"
#include "image/lib-archive.h"

struct inode_seen {
        dev_t dev;
        ino_t ino;
        char *path;
};

struct differ {
        struct archive *a;
        int outfd;
        struct digester d;
        uint64_t bytes, size;
        struct inode_seen *links;
        size_t nlinks;
        struct error *err;
        int write_error;
        char *const *skip_empty;
};

static la_ssize_t write_cb(struct archive *a, void *client, const void *buf, size_t len)
{
        struct differ *df = client;
        int r = write_all(df->outfd, buf, len);
        if (r < 0) {
                df->write_error = r;
                archive_set_error(a, -r, "write layer tar: %s", strerror(-r));
                return -1;
        }
        digester_update(&df->d, buf, len);
        df->bytes += len;
        return (la_ssize_t)len;
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool overlay_opaque(int fd)
{
        char v[2] = "";
        return (fgetxattr(fd, "trusted.overlay.opaque", v, sizeof(v)) == 1 ||
                fgetxattr(fd, "user.overlay.opaque", v, sizeof(v)) == 1) &&
               v[0] == 'y';
}

static int put(struct differ *df, struct archive_entry *e, const char *path)
{
        if (archive_write_header(df->a, e) < ARCHIVE_WARN)
                return df->write_error ? df->write_error
                                       : error_msg(df->err, -EIO, "layer tar: entry '%s': %s", path,
                                                   archive_error_string(df->a));
        return 0;
}

static int put_whiteout(struct differ *df, const char *dir, const char *name)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s%s.wh.%s", dir, *dir ? "/" : "", name);
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, 0);
        int r = put(df, e, path);
        archive_entry_free(e);
        return r;
}

static void add_xattrs(struct archive_entry *e, int fd)
{
        char names[8192];
        ssize_t n = flistxattr(fd, names, sizeof(names));
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
                const char *name = names + i;
                if (str_startswith(name, "trusted.overlay.") ||
                    str_startswith(name, "user.overlay."))
                        continue;
                char val[8192];
                ssize_t vl = fgetxattr(fd, name, val, sizeof(val));
                if (vl >= 0)
                        archive_entry_xattr_add_entry(e, name, val, (size_t)vl);
        }
}

static int diff_dir(struct differ *df, int dirfd, const char *dir);

static int diff_entry(struct differ *df, int dirfd, const char *dir, const char *name)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", name);
        struct stat st;
        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return error_sys(df->err, -errno, "stat '%s'", path);
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
                return put_whiteout(df, dir, name);
        if (S_ISREG(st.st_mode) && st.st_size == 0 && strv_contains(df->skip_empty, path))
                return 0;
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, path);
        archive_entry_copy_stat(e, &st);
        archive_entry_set_uname(e, "");
        archive_entry_set_gname(e, "");
        int r = 0;
        _cleanup_close_ int fd = -EBADF;
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
                fd = openat(dirfd, name,
                            O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
                                (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                if (fd < 0) {
                        archive_entry_free(e);
                        return error_sys(df->err, -errno, "open '%s'", path);
                }
                add_xattrs(e, fd);
        }
        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
                if (n < 0) {
                        archive_entry_free(e);
                        return error_sys(df->err, -errno, "readlink '%s'", path);
                }
                target[n] = '\0';
                archive_entry_set_symlink(e, target);
        }
        if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
                for (size_t i = 0; i < df->nlinks; i++) {
                        if (df->links[i].dev == st.st_dev && df->links[i].ino == st.st_ino) {
                                archive_entry_set_hardlink(e, df->links[i].path);
                                archive_entry_set_size(e, 0);
                                r = put(df, e, path);
                                archive_entry_free(e);
                                return r;
                        }
                }
                df->links = xrealloc(df->links, (df->nlinks + 1) * sizeof(*df->links));
                df->links[df->nlinks++] = (struct inode_seen){st.st_dev, st.st_ino, xstrdup(path)};
        }
        if (!S_ISREG(st.st_mode))
                archive_entry_set_size(e, 0);
        r = put(df, e, path);
        archive_entry_free(e);
        if (r < 0)
                return r;
        if (S_ISREG(st.st_mode)) {
                char buf[1 << 16];
                uint64_t left = (uint64_t)st.st_size;
                while (left) {
                        ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                return error_sys(df->err, n < 0 ? -errno : -EIO,
                                                 "read '%s' (changed while diffing?)", path);
                        if (archive_write_data(df->a, buf, (size_t)n) != n)
                                return df->write_error
                                           ? df->write_error
                                           : error_msg(df->err, -EIO, "write '%s': %s", path,
                                                       archive_error_string(df->a));
                        left -= (uint64_t)n;
                }
                df->size += (uint64_t)st.st_size;
        }
        if (S_ISDIR(st.st_mode)) {
                if (overlay_opaque(fd) && (r = put_whiteout(df, path, ".wh..opq")) < 0)
                        return r;
                return diff_dir(df, fd, path);
        }
        return 0;
}

static int diff_dir(struct differ *df, int dirfd, const char *dir)
{
        int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                if (fd >= 0)
                        close(fd);
                return error_sys(df->err, -errno, "read directory '%s'", *dir ? dir : "/");
        }
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        names = strv_push(names, xstrdup(de->d_name));
        closedir(d);
        size_t n = strv_len(names);
        if (n)
                qsort(names, n, sizeof(*names), cmp_names);
        int r = 0;
        for (size_t i = 0; r == 0 && i < n; i++)
                r = diff_entry(df, dirfd, dir, names[i]);
        strv_free(names);
        return r;
}

int layer_diff(int srcfd, int outfd, struct layer_stats *ret, struct error *err)
{
        return layer_diff_skip(srcfd, outfd, NULL, ret, err);
}

int layer_diff_skip(int srcfd, int outfd, char *const *skip_empty, struct layer_stats *ret,
                    struct error *err)
{
        if (lib_archive_need(err) < 0 || lib_crypto_need(err) < 0)
                return err->code;
        struct differ df = {.outfd = outfd, .err = err, .skip_empty = skip_empty};
        digester_init(&df.d);
        df.a = archive_write_new();
        archive_write_set_format_pax_restricted(df.a);
        archive_write_set_bytes_in_last_block(df.a, 1);
        int r = 0;
        if (archive_write_open(df.a, &df, NULL, write_cb, NULL) != ARCHIVE_OK) {
                r = error_msg(err, -EIO, "layer tar: %s", archive_error_string(df.a));
        } else {
                r = diff_dir(&df, srcfd, "");
                if (r == 0 && archive_write_close(df.a) != ARCHIVE_OK)
                        r = df.write_error
                                ? df.write_error
                                : error_msg(err, -EIO, "layer tar: %s", archive_error_string(df.a));
        }
        archive_write_free(df.a);
        for (size_t i = 0; i < df.nlinks; i++)
                free(df.links[i].path);
        free(df.links);
        if (r < 0) {
                digester_free(&df.d);
                return r;
        }
        *ret = (struct layer_stats){.size = df.size, .tar_size = df.bytes};
        digester_final(&df.d, ret->diff_id);
        return 0;
}
