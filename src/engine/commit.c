/* export, diff and commit of a container's filesystem (see commit.h). */
#include "engine/commit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/sys.h"
#include "core/util.h"
#include "image/fsutil.h"
#include "image/image.h"
#include "image/import.h"
#include "image/layer.h"
#include "image/manifest.h"
#include "engine/ext-runtime.h" /* extruntime */
#include "runtime/container-cgroup.h"

/* The kernel stacks at most 500 layers in one overlay. */
#define OVL_MAX_LAYERS 500

/* Mount points the runtime creates in the upper dir for the engine's binds. */
static char *const bind_mountpoints[] = {"etc/hostname", "etc/hosts", "etc/resolv.conf", NULL};

static bool is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dirfd)
{
        char v[2] = "";
        return (fgetxattr(dirfd, "trusted.overlay.opaque", v, sizeof(v)) == 1 ||
                fgetxattr(dirfd, "user.overlay.opaque", v, sizeof(v)) == 1) &&
               v[0] == 'y';
}

static bool is_mount_point(const char *path)
{
        struct stat a, b;
        _cleanup_free_ char *parent = xasprintf("%s/..", path);
        return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static int open_dir(const char *path, int *ret_fd, struct error *err)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "open '%s'", path);
        *ret_fd = fd;
        return 0;
}

/* The directories of a container's view, top first: its upper dir (when
 * with_upper and it exists) and its image's layers. */
static int view_dirs(struct engine *e, const struct ctr *c, bool with_upper, char ***ret,
                     struct error *err)
{
        _cleanup_(image_free) struct image img = {0};
        int r = image_get(e->store, c->image_id, &img, err);
        if (r < 0)
                return error_wrap(err, r, "the image of container '%s'", c->name);
        _cleanup_strv_ char **dirs = NULL;
        if (with_upper) {
                _cleanup_free_ char *dir = engine_ctr_dir(e, c->id);
                char *upper = xasprintf("%s/upper", dir);
                struct stat st;
                if (stat(upper, &st) == 0)
                        dirs = strv_push(dirs, upper);
                else
                        free(upper);
        }
        for (size_t i = strv_len(img.layers); i-- > 0;)
                dirs = strv_push(dirs, store_layer_dir(e->store, img.layers[i]));
        if (!dirs)
                return error_msg(err, -EINVAL, "container '%s': its image has no layers", c->name);
        *ret = TAKE_PTR(dirs);
        return 0;
}

/* The kernel's last message about a failed fsconfig/fsmount ("e overlay: ...")
 * into buf: " (overlay: ...)", or "" when it left none. */
static const char *fs_context_log(int fs, char *buf, size_t len)
{
        char msg[512], last[512] = "";
        ssize_t n;
        while ((n = read(fs, msg, sizeof(msg) - 1)) > 0) {
                msg[n] = '\0';
                if (n > 2 && msg[1] == ' ')
                        snprintf(last, sizeof(last), "%s", msg + 2);
        }
        if (*last)
                snprintf(buf, len, " (%s)", last);
        else
                buf[0] = '\0';
        return buf;
}

/* A read-only overlay of dirs (top first) that is never attached: the
 * returned fd is its root, and the mount is gone once that fd is closed.
 * One directory is opened as it is. */
static int open_merged(char *const *dirs, int *ret_fd, struct error *err)
{
        size_t n = strv_len(dirs);
        if (n == 1)
                return open_dir(dirs[0], ret_fd, err);
        if (n > OVL_MAX_LAYERS)
                return error_msg(err, -E2BIG, "%zu layers: an overlay stacks at most %d", n,
                                 OVL_MAX_LAYERS);
        if (explain_on()) {
                explain_note("a read-only overlay, never attached to a path (fsopen, fsconfig "
                             "lowerdir+, fsmount); read through its fd, gone when it is closed");
                size_t len = 0;
                for (size_t i = 0; i < n; i++)
                        len += strlen(dirs[i]) + 1;
                _cleanup_free_ char *lower = xmalloc(len + 1);
                lower[0] = '\0';
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                strcat(lower, ":");
                        strcat(lower, dirs[i]);
                }
                _cleanup_free_ char *opt = xasprintf("ro,lowerdir=%s", lower);
                explain("mount -t overlay overlay -o %s MNT", shq(opt));
        }
        _cleanup_close_ int fs = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs < 0)
                return error_sys(err, -errno, "fsopen overlay");
        char klog[600];
        for (size_t i = 0; i < n; i++) {
                if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", dirs[i], 0) == 0)
                        continue;
                int e = -errno;
                /* "lowerdir" takes at most 256 bytes through fsconfig: no way around. */
                return error_sys(err, e, "overlay lower dir '%s'%s%s", dirs[i],
                                 fs_context_log(fs, klog, sizeof(klog)),
                                 e == -EINVAL ? " (a read-only overlay of many layers needs "
                                                "Linux 6.8 or later: lowerdir+)"
                                              : "");
        }
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int e = -errno;
                return error_sys(err, e, "create a read-only overlay of %zu dirs%s", n,
                                 fs_context_log(fs, klog, sizeof(klog)));
        }
        _cleanup_close_ int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
        if (mnt < 0)
                return error_sys(err, -errno, "fsmount overlay");
        int fd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "open the overlay's root");
        *ret_fd = fd;
        return 0;
}

/* The container's merged root: its live mount while it runs, else a
 * detached overlay of its upper dir and image layers. */
static int open_view(struct engine *e, const struct ctr *c, int *ret_fd, struct error *err)
{
        _cleanup_free_ char *dir = engine_ctr_dir(e, c->id);
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
        if (strcmp(c->state, "running") == 0 && is_mount_point(rootfs))
                return open_dir(rootfs, ret_fd, err);
        _cleanup_strv_ char **dirs = NULL;
        int r = view_dirs(e, c, true, &dirs, err);
        if (r < 0)
                return r;
        return open_merged(dirs, ret_fd, err);
}

int engine_export(struct engine *e, const struct ctr *c, int outfd, struct error *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r = open_view(e, c, &fd, err);
        if (r < 0)
                return error_wrap(err, r, "export container '%s'", c->name);
        struct layer_stats st;
        r = layer_diff(fd, outfd, &st, err);
        if (r < 0)
                return error_wrap(err, r, "export container '%s'", c->name);
        return 0;
}

/* ------------------------------------------------------------------ diff */

void ctr_changes_free(struct ctr_change *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].path);
        free(v);
}

struct changes {
        struct ctr_change *v;
        size_t n;
};

static void change_add(struct changes *ch, char kind, char *path)
{
        ch->v = xrealloc(ch->v, (ch->n + 1) * sizeof(*ch->v));
        ch->v[ch->n++] = (struct ctr_change){kind, path};
}

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_changes(const void *a, const void *b)
{
        return strcmp(((const struct ctr_change *)a)->path, ((const struct ctr_change *)b)->path);
}

/* The names in a directory, sorted. */
static int list_dir(int dirfd, const char *path, char ***ret, struct error *err)
{
        int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                int r = -errno;
                if (fd >= 0)
                        close(fd);
                return error_sys(err, r, "read directory '%s'", *path ? path : "/");
        }
        char **names = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        names = strv_push(names, xstrdup(de->d_name));
        closedir(d);
        if (names)
                qsort(names, strv_len(names), sizeof(*names), cmp_names);
        *ret = names;
        return 0;
}

/* Compares the upper dir ufd (at path, "" for the root) with the image's
 * merged view lfd of the same directory (-EBADF: none there). hidden: an
 * opaque directory above, so what lfd holds and ufd lacks is gone. */
static int diff_walk(struct changes *ch, int ufd, int lfd, const char *path, bool hidden,
                     struct error *err)
{
        _cleanup_strv_ char **names = NULL;
        int r = list_dir(ufd, path, &names, err);
        if (r < 0)
                return r;
        if (hidden && lfd >= 0) {
                _cleanup_strv_ char **lower = NULL;
                if ((r = list_dir(lfd, path, &lower, err)) < 0)
                        return r;
                for (char **l = lower; l && *l; l++)
                        if (!strv_contains(names, *l))
                                change_add(ch, 'D', xasprintf("%s/%s", path, *l));
        }
        for (char **n = names; n && *n; n++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", path, *n);
                struct stat st, lst;
                if (fstatat(ufd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return error_sys(err, -errno, "stat '%s' in the upper dir", p);
                if (is_whiteout(&st)) {
                        change_add(ch, 'D', TAKE_PTR(p));
                        continue;
                }
                if (S_ISREG(st.st_mode) && st.st_size == 0 &&
                    strv_contains(bind_mountpoints, p + 1))
                        continue;
                bool in_lower = lfd >= 0 && fstatat(lfd, *n, &lst, AT_SYMLINK_NOFOLLOW) == 0;
                if (!S_ISDIR(st.st_mode)) {
                        change_add(ch, in_lower ? 'C' : 'A', TAKE_PTR(p));
                        continue;
                }
                _cleanup_close_ int sub =
                    openat(ufd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return error_sys(err, -errno, "open '%s' in the upper dir", p);
                _cleanup_close_ int sublower = -EBADF;
                if (in_lower && S_ISDIR(lst.st_mode)) {
                        sublower = openat(lfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sublower < 0)
                                return error_sys(err, -errno, "open '%s' in the image", p);
                }
                size_t before = ch->n;
                bool opaque = is_opaque(sub);
                if ((r = diff_walk(ch, sub, sublower, p, hidden || opaque, err)) < 0)
                        return r;
                /* A directory only copied up (for a mount point made in it, or a
                 * change below that is not shown) is no change of its own. */
                if (in_lower && S_ISDIR(lst.st_mode) && !opaque && ch->n == before &&
                    st.st_mode == lst.st_mode && st.st_uid == lst.st_uid && st.st_gid == lst.st_gid)
                        continue;
                change_add(ch, in_lower ? 'C' : 'A', TAKE_PTR(p));
        }
        return 0;
}

int engine_diff(struct engine *e, const struct ctr *c, struct ctr_change **ret, size_t *ret_n,
                struct error *err)
{
        _cleanup_free_ char *dir = engine_ctr_dir(e, c->id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        struct changes ch = {0};
        _cleanup_close_ int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ufd < 0) {
                if (errno != ENOENT)
                        return error_sys(err, -errno, "diff container '%s': open '%s'", c->name,
                                         upper);
                /* Never started: no upper dir yet, no changes. */
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        _cleanup_strv_ char **dirs = NULL;
        _cleanup_close_ int lfd = -EBADF;
        int r = view_dirs(e, c, false, &dirs, err);
        if (r == 0)
                r = open_merged(dirs, &lfd, err);
        if (r == 0)
                r = diff_walk(&ch, ufd, lfd, "", false, err);
        if (r < 0) {
                ctr_changes_free(ch.v, ch.n);
                return error_wrap(err, r, "diff container '%s'", c->name);
        }
        if (ch.n)
                qsort(ch.v, ch.n, sizeof(*ch.v), cmp_changes);
        *ret = ch.v;
        *ret_n = ch.n;
        return 0;
}

/* ---------------------------------------------------------------- commit */

static struct json_object *obj_field(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;
        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static bool empty_value(struct json_object *v)
{
        return !v || (json_object_is_type(v, json_type_string) && !*json_object_get_string(v));
}

/* The new image's "config": the parent's, with what the container runs
 * (as docker commit keeps it), then the --change instructions. */
static int commit_config(struct json_object *cfg, struct json_object *ctr_cfg, char *const *changes,
                         struct error *err)
{
        static const char *const keys[] = {"Env",        "Cmd",  "Entrypoint",
                                           "WorkingDir", "User", "Labels"};
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                struct json_object *v = obj_field(ctr_cfg, keys[i]);
                if (empty_value(v))
                        json_object_object_del(cfg, keys[i]);
                else
                        json_object_object_add(cfg, keys[i], json_object_get(v));
        }
        /* The engine fills in SIGTERM; keep it only when the image or the user chose one. */
        struct json_object *sig = obj_field(ctr_cfg, "StopSignal");
        if (!empty_value(sig) &&
            (obj_field(cfg, "StopSignal") || strcmp(json_object_get_string(sig), "SIGTERM")))
                json_object_object_add(cfg, "StopSignal", json_object_get(sig));
        /* gaps: --stop-timeout too, as docker's commit (the parent's stays otherwise). */
        struct json_object *timeout = obj_field(ctr_cfg, "StopTimeout");
        if (timeout && json_object_is_type(timeout, json_type_int))
                json_object_object_add(cfg, "StopTimeout", json_object_get(timeout));
        for (char *const *c = changes; c && *c; c++) {
                int r = config_apply_change(cfg, *c, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What the container runs, for the history entry's created_by. */
static char *ctr_command(struct json_object *ctr_cfg)
{
        char *s = xstrdup("");
        const char *keys[] = {"Entrypoint", "Cmd"};
        for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
                struct json_object *a = obj_field(ctr_cfg, keys[k]);
                if (!a || !json_object_is_type(a, json_type_array))
                        continue;
                for (size_t i = 0; i < json_object_array_length(a); i++) {
                        char *n =
                            xasprintf("%s%s%s", s, *s ? " " : "",
                                      json_object_get_string(json_object_array_get_idx(a, i)));
                        free(s);
                        s = n;
                }
        }
        return s;
}

/* An OCI media type for a layer of the parent's manifest (Docker's gzip type
 * also labels plain tars, so the blob's first bytes decide). */
static const char *oci_layer_type(struct store *s, const struct descriptor *d)
{
        const char *mt = d->media_type ? d->media_type : MT_OCI_LAYER;
        if (str_startswith(mt, "application/vnd.oci."))
                return mt;
        _cleanup_close_ int fd = -EBADF;
        struct error ign = {0};
        unsigned char b[4] = {0};
        if (blob_open(s, d->digest, &fd, &ign) < 0 || read_all(fd, b, 4) < 4)
                return MT_OCI_LAYER;
        if (b[0] == 0x1f && b[1] == 0x8b)
                return MT_OCI_LAYER_GZIP;
        if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
                return MT_OCI_LAYER_ZSTD;
        return MT_OCI_LAYER;
}

static struct json_object *descriptor_json(const char *mt, const char *digest, int64_t size)
{
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "mediaType", json_object_new_string(mt));
        json_object_object_add(d, "digest", json_object_new_string(digest));
        json_object_object_add(d, "size", json_object_new_int64(size));
        return d;
}

/* Writes the container's upper dir as a layer tar into the store: ret_blob
 * gets its digest (the plain tar's, so also its diffID), st its sizes. */
static int commit_layer(struct engine *e, const struct ctr *c, bool pause,
                        char ret_blob[DIGEST_STR_MAX], struct layer_stats *st, struct error *err)
{
        struct store *s = e->store;
        _cleanup_free_ char *dir = engine_ctr_dir(e, c->id);
        _cleanup_free_ char *upper = xasprintf("%s/upper", dir);
        _cleanup_close_ int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        char empty[64] = "";
        if (ufd < 0 && errno == ENOENT) {
                /* Never started: an empty layer, as docker commits one. */
                int r = mkdtemp_at(s->tmpfd, "commit", empty, sizeof(empty));
                if (r < 0)
                        return error_sys(err, r, "create an empty directory");
                ufd = openat(s->tmpfd, empty, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        int r = 0;
        if (ufd < 0)
                r = error_sys(err, -errno, "open '%s'", upper);
        _cleanup_close_ int tmp = -EBADF;
        if (r == 0) {
                tmp = openat(s->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
                if (tmp < 0)
                        r = error_sys(err, -errno, "create a temporary file in '%s/image/tmp'",
                                      s->root);
        }
        bool paused = false;
        if (r == 0 && pause && strcmp(c->state, "running") == 0) {
                r = engine_rt_pause(e, c, true, err); /* extruntime */
                if (r < 0)
                        error_wrap(err, r, "pause the container (or commit with --pause=false)");
                else
                        paused = true;
        }
        if (r == 0)
                r = layer_diff_skip(ufd, tmp, bind_mountpoints, st, err);
        if (paused) {
                struct error e2 = {0};
                int r2 = engine_rt_pause(e, c, false, &e2);
                if (r2 < 0 && r == 0) {
                        *err = e2;
                        r = error_wrap(err, r2, "resume the container");
                }
        }
        if (*empty)
                rm_rf_at(s->tmpfd, empty);
        if (r < 0)
                return r;
        if (lseek(tmp, 0, SEEK_SET) < 0)
                return error_sys(err, -errno, "rewind the layer tar");
        return blob_put_fd(s, tmp, st->diff_id, (int64_t)st->tar_size, ret_blob, err);
}

static int commit_locked(struct engine *e, const struct ctr *c, const struct commit_opts *o,
                         char ret_id[DIGEST_STR_MAX], struct error *err)
{
        struct store *s = e->store;
        _cleanup_(image_free) struct image img = {0};
        int r = image_get(s, c->image_id, &img, err);
        if (r < 0)
                return error_wrap(err, r, "the image of container '%s'", c->name);
        _cleanup_free_ char *ctext = NULL, *mtext = NULL;
        if ((r = image_read_config(s, &img, &ctext, err)) < 0 ||
            (r = image_read_manifest(s, &img, &mtext, err)) < 0)
                return r;
        _cleanup_json_ struct json_object *config = NULL, *doc = NULL;
        _cleanup_(manifest_free) struct manifest m = {0};
        if ((r = json_parse_string("image config", ctext, &config, err)) < 0 ||
            (r = json_parse_string("container config", c->config, &doc, err)) < 0 ||
            (r = manifest_parse("image manifest", mtext, &m, err)) < 0)
                return r;
        if (!json_object_is_type(config, json_type_object))
                return error_msg(err, -EINVAL, "image config: not a JSON object");
        struct json_object *ctr_cfg = obj_field(doc, "Config");
        struct json_object *cfg = obj_field(config, "config");
        if (!cfg || !json_object_is_type(cfg, json_type_object)) {
                cfg = json_object_new_object();
                json_object_object_add(config, "config", cfg);
        }
        /* The edits first: a bad --change fails before anything is written. */
        if ((r = commit_config(cfg, ctr_cfg, o->changes, err)) < 0)
                return r;

        char blob[DIGEST_STR_MAX], chain[DIGEST_STR_MAX];
        struct layer_stats st, lst;
        if ((r = commit_layer(e, c, o->pause, blob, &st, err)) < 0)
                return error_wrap(err, r, "the container's layer");
        if ((r = store_layer_ensure(s, img.top_layer, blob, st.diff_id, chain, &lst, err)) < 0)
                return r;

        char now[64];
        format_rfc3339((int64_t)time(NULL), now, sizeof(now));
        json_object_object_add(config, "created", json_object_new_string(now));
        if (o->author)
                json_object_object_add(config, "author", json_object_new_string(o->author));
        struct json_object *rootfs = obj_field(config, "rootfs"), *ids = NULL;
        if (!rootfs || !json_object_is_type(rootfs, json_type_object)) {
                rootfs = json_object_new_object();
                json_object_object_add(rootfs, "type", json_object_new_string("layers"));
                json_object_object_add(config, "rootfs", rootfs);
        }
        ids = obj_field(rootfs, "diff_ids");
        if (!ids || !json_object_is_type(ids, json_type_array)) {
                ids = json_object_new_array();
                json_object_object_add(rootfs, "diff_ids", ids);
        }
        json_object_array_add(ids, json_object_new_string(st.diff_id));
        struct json_object *history = obj_field(config, "history");
        if (!history || !json_object_is_type(history, json_type_array)) {
                history = json_object_new_array();
                json_object_object_add(config, "history", history);
        }
        struct json_object *h = json_object_new_object();
        json_object_object_add(h, "created", json_object_new_string(now));
        _cleanup_free_ char *by = ctr_command(ctr_cfg);
        json_object_object_add(h, "created_by", json_object_new_string(by));
        if (o->author)
                json_object_object_add(h, "author", json_object_new_string(o->author));
        if (o->message)
                json_object_object_add(h, "comment", json_object_new_string(o->message));
        json_object_array_add(history, h);
        const char *cjson = json_compact(config);
        char cdigest[DIGEST_STR_MAX];
        if ((r = blob_put(s, cjson, strlen(cjson), cdigest, err)) < 0)
                return r;

        _cleanup_json_ struct json_object *man = json_object_new_object();
        json_object_object_add(man, "schemaVersion", json_object_new_int(2));
        json_object_object_add(man, "mediaType", json_object_new_string(MT_OCI_MANIFEST));
        json_object_object_add(man, "config",
                               descriptor_json(MT_OCI_CONFIG, cdigest, (int64_t)strlen(cjson)));
        struct json_object *layers = json_object_new_array();
        json_object_object_add(man, "layers", layers);
        for (size_t i = 0; i < m.nlayers; i++)
                json_object_array_add(layers,
                                      descriptor_json(oci_layer_type(s, &m.layers[i]),
                                                      m.layers[i].digest, m.layers[i].size));
        json_object_array_add(layers, descriptor_json(MT_OCI_LAYER, blob, (int64_t)st.tar_size));
        const char *mjson = json_compact(man);
        char mdigest[DIGEST_STR_MAX];
        if ((r = blob_put(s, mjson, strlen(mjson), mdigest, err)) < 0)
                return r;
        return image_register(s, mdigest, o->names, ret_id, err);
}

int engine_commit(struct engine *e, const struct ctr *c, const struct commit_opts *o,
                  char ret_id[DIGEST_STR_MAX], struct error *err)
{
        struct store *s = e->store;
        int r = store_lock(s, false, err);
        if (r < 0)
                return r;
        r = commit_locked(e, c, o, ret_id, err);
        if (r < 0)
                store_discard_created(s);
        else
                store_forget_created(s);
        store_unlock(s);
        if (r < 0)
                return error_wrap(err, r, "commit container '%s'", c->name);
        return 0;
}
