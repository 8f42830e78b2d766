/* `husk diff`: what a container changed, from its overlay's upper dir, as
 * docker prints it (A added, C changed, D deleted). Walked by fd, never
 * following symlinks; a path counts as changed when a lower layer has it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/util.h"
#include "engine/engine.h"
#include "image/image.h"

struct walk {
        int *lowers; /* fds of the image's layer dirs, top first */
        size_t n_lowers;
        char **out; /* "A /path" lines */
};

static bool in_lower(struct walk *w, const char *rel)
{
        struct stat st;
        for (size_t i = 0; i < w->n_lowers; i++) {
                if (fstatat(w->lowers[i], rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        return !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        }
        return false;
}

static int walk_dir(struct walk *w, int dfd, const char *rel, bool opaque_parent)
{
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *path = xasprintf("%s/%s", rel, de->d_name);
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                const char *p = path + 1; /* relative to the root, for the lowers */
                if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
                        w->out = strv_push(w->out, xasprintf("D %s", path));
                        continue;
                }
                bool existed = !opaque_parent && in_lower(w, p);
                /* The empty mount points made for the /etc/hostname and /etc/hosts binds
                 * are husk's, not the container's doing (docker keeps them out too). */
                if (!existed && S_ISREG(st.st_mode) && st.st_size == 0 &&
                    (!strcmp(path, "/etc/hostname") || !strcmp(path, "/etc/hosts")))
                        continue;
                w->out = strv_push(w->out, xasprintf("%c %s", existed ? 'C' : 'A', path));
                if (!S_ISDIR(st.st_mode))
                        continue;
                int sub =
                    openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        continue;
                char v[4] = {0};
                bool opaque =
                    fgetxattr(sub, "trusted.overlay.opaque", v, sizeof(v)) > 0 && v[0] == 'y';
                r = walk_dir(w, sub, path, opaque_parent || opaque || !existed);
                close(sub);
        }
        closedir(d);
        return r;
}

static int cmp_path(const void *a, const void *b)
{
        return strcmp(*(char *const *)a + 2, *(char *const *)b + 2);
}

int engine_diff(struct engine *e, const struct ctr *c, char ***ret, struct error *err)
{
        _cleanup_(image_free) struct image img = {0};
        int r = image_get(e->store, c->image_id, &img, err);
        if (r < 0)
                return r;
        size_t n = strv_len(img.layers);
        struct walk w = {.lowers = xzalloc((n + 1) * sizeof(int))};
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *dir = store_layer_dir(e->store, img.layers[n - 1 - i]);
                int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0)
                        w.lowers[w.n_lowers++] = fd;
        }
        _cleanup_free_ char *upper = xasprintf("%s/%s/upper", e->ctr_root, c->id);
        int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (ufd >= 0) {
                r = walk_dir(&w, ufd, "", false);
                close(ufd);
        } else if (errno != ENOENT) {
                r = -errno;
        }
        for (size_t i = 0; i < w.n_lowers; i++)
                close(w.lowers[i]);
        free(w.lowers);
        if (r < 0) {
                strv_free(w.out);
                return error_sys(err, r, "diff of container %s: walk '%s'", c->name, upper);
        }
        if (w.out)
                qsort(w.out, strv_len(w.out), sizeof(char *), cmp_path);
        *ret = w.out;
        return 0;
}
