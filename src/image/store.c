#include "image/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/safepath.h"
#include "core/util.h"
#include "image/fsutil.h"

static int open_sub(int dirfd, const char *name, int *ret)
{
        /* ps: open first; made only when missing (one syscall, not two, on
         * each of the five of every husk command). */
        int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
                if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
                        return -errno;
                fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

int store_open(const char *root, struct store **ret, struct error *err)
{
        _cleanup_(store_closep) struct store *s = xzalloc(sizeof(*s));
        s->root = xstrdup(root);
        s->rootfd = s->imagefd = s->blobsfd = s->layersfd = s->tmpfd = s->lockfd = -1;
        /* The root may be missing; make it (and its parents) like mkdir -p. It is
         * the user's own path on the host, so plain mkdir is right here.
         * ps: only when it is missing. */
        s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->rootfd < 0 && errno == ENOENT) {
                _cleanup_free_ char *path = xstrdup(root);
                for (char *p = path + 1;; p++) {
                        if (*p != '/' && *p != '\0')
                                continue;
                        char c = *p;
                        *p = '\0';
                        if (mkdir(path, 0711) < 0 && errno != EEXIST)
                                return error_sys(err, -errno, "create store root '%s'", path);
                        *p = c;
                        if (!c)
                                break;
                }
                s->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        }
        int r;
        if (s->rootfd < 0)
                return error_sys(err, -errno, "open store root '%s'", root);
        _cleanup_close_ int blobs = -EBADF;
        const char *step = "image";
        r = open_sub(s->rootfd, "image", &s->imagefd);
        if (r == 0 && (step = "image/blobs", 1))
                r = open_sub(s->imagefd, "blobs", &blobs);
        if (r == 0 && (step = "image/blobs/sha256", 1))
                r = open_sub(blobs, "sha256", &s->blobsfd);
        if (r == 0 && (step = "image/layers", 1))
                r = open_sub(s->imagefd, "layers", &s->layersfd);
        if (r == 0 && (step = "image/tmp", 1))
                r = open_sub(s->imagefd, "tmp", &s->tmpfd);
        if (r == 0 && (step = "image/lock", 1)) {
                s->lockfd =
                    openat(s->imagefd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                r = s->lockfd < 0 ? -errno : 0;
        }
        if (r < 0)
                return error_sys(err, r, "store '%s': open '%s'", root, step);
        _cleanup_free_ char *dbpath = xasprintf("%s/husk.db", root);
        r = db_open(dbpath, &s->db, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

void store_close(struct store *s)
{
        if (!s)
                return;
        store_forget_created(s);
        db_close(s->db);
        int *fds[] = {&s->rootfd, &s->imagefd, &s->blobsfd, &s->layersfd, &s->tmpfd, &s->lockfd};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (*fds[i] >= 0)
                        close(*fds[i]);
        free(s->root);
        free(s);
}

int store_lock(struct store *s, bool exclusive, struct error *err)
{
        int op = exclusive ? LOCK_EX : LOCK_SH;
        if (s->lock_state == op)
                return 0;
        while (flock(s->lockfd, op) < 0) {
                if (errno != EINTR)
                        return error_sys(err, -errno, "lock store '%s'", s->root);
        }
        s->lock_state = op;
        return 0;
}

void store_unlock(struct store *s)
{
        if (s->lock_state)
                flock(s->lockfd, LOCK_UN);
        s->lock_state = 0;
}

/* ---- blobs ---- */

int blob_writer_begin(struct store *s, struct blob_writer *w, struct error *err)
{
        *w = (struct blob_writer){.s = s, .fd = -1};
        w->fd = openat(s->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        if (w->fd < 0)
                return error_sys(err, -errno, "create temporary blob in '%s/image/tmp'", s->root);
        digester_init(&w->d);
        return 0;
}

int blob_writer_write(struct blob_writer *w, const void *buf, size_t len, struct error *err)
{
        int r = write_all(w->fd, buf, len);
        if (r < 0)
                return error_sys(err, r, "write blob");
        digester_update(&w->d, buf, len);
        w->size += len;
        return 0;
}

void blob_writer_abort(struct blob_writer *w)
{
        if (w->fd >= 0)
                close(w->fd);
        w->fd = -1;
        digester_free(&w->d);
}

/* Gives the O_TMPFILE fd its name; an existing blob of that digest is the same. */
static int link_blob(struct store *s, int fd, const char *digest, struct error *err)
{
        char proc[32];
        if (linkat(AT_FDCWD, fd_proc_path(fd, proc), s->blobsfd, digest_hex(digest),
                   AT_SYMLINK_FOLLOW) < 0) {
                if (errno != EEXIST)
                        return error_sys(err, -errno, "store blob %s", digest);
        } else {
                s->created_blobs = strv_push(s->created_blobs, xstrdup(digest));
        }
        return 0;
}

int blob_writer_commit(struct blob_writer *w, const char *expect, int64_t expect_size,
                       char out[DIGEST_STR_MAX], struct error *err)
{
        char got[DIGEST_STR_MAX];
        digester_final(&w->d, got);
        _cleanup_close_ int fd = TAKE_FD(w->fd);
        if (expect_size >= 0 && (uint64_t)expect_size != w->size)
                return error_msg(
                    err, -EBADMSG, "blob %s: size mismatch: expected %lld bytes, got %llu",
                    expect ? expect : got, (long long)expect_size, (unsigned long long)w->size);
        if (expect && strcmp(expect, got) != 0)
                return error_msg(err, -EBADMSG, "blob digest mismatch: expected %s, got %s", expect,
                                 got);
        int r = link_blob(w->s, fd, got, err);
        if (r < 0)
                return r;
        if (out)
                memcpy(out, got, DIGEST_STR_MAX);
        return 0;
}

int blob_writer_commit_known(struct blob_writer *w, const char *digest, struct error *err)
{
        digester_free(&w->d);
        _cleanup_close_ int fd = TAKE_FD(w->fd);
        if (!digest_valid(digest))
                return error_msg(err, -EINVAL, "invalid blob digest '%s'", digest);
        return link_blob(w->s, fd, digest, err);
}

int blob_put(struct store *s, const void *buf, size_t len, char out[DIGEST_STR_MAX],
             struct error *err)
{
        char d[DIGEST_STR_MAX];
        digest_buffer(buf, len, d);
        if (blob_exists(s, d)) {
                if (out)
                        memcpy(out, d, DIGEST_STR_MAX);
                return 0;
        }
        struct blob_writer w;
        int r = blob_writer_begin(s, &w, err);
        if (r < 0)
                return r;
        r = blob_writer_write(&w, buf, len, err);
        if (r < 0) {
                blob_writer_abort(&w);
                return r;
        }
        return blob_writer_commit(&w, d, (int64_t)len, out, err);
}

int blob_put_fd(struct store *s, int fd, const char *expect, int64_t size, char out[DIGEST_STR_MAX],
                struct error *err)
{
        struct blob_writer w;
        int r = blob_writer_begin(s, &w, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *buf = xmalloc(1 << 17);
        uint64_t left = size >= 0 ? (uint64_t)size : UINT64_MAX;
        while (left) {
                size_t want = left < (1 << 17) ? (size_t)left : (1 << 17);
                ssize_t n = read(fd, buf, want);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = error_sys(err, -errno, "read blob data");
                        break;
                }
                if (n == 0)
                        break;
                r = blob_writer_write(&w, buf, (size_t)n, err);
                if (r < 0)
                        break;
                left -= (uint64_t)n;
        }
        if (r < 0) {
                blob_writer_abort(&w);
                return r;
        }
        return blob_writer_commit(&w, expect, size, out, err);
}

bool blob_exists(struct store *s, const char *digest)
{
        struct stat st;
        return digest_valid(digest) &&
               fstatat(s->blobsfd, digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISREG(st.st_mode);
}

int blob_open(struct store *s, const char *digest, int *ret_fd, struct error *err)
{
        if (!digest_valid(digest))
                return error_msg(err, -EINVAL, "invalid digest '%s'", digest);
        int fd = openat(s->blobsfd, digest_hex(digest), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "blob %s", digest);
        *ret_fd = fd;
        return 0;
}

int blob_read(struct store *s, const char *digest, size_t max, char **ret, size_t *ret_len,
              struct error *err)
{
        if (!digest_valid(digest))
                return error_msg(err, -EINVAL, "invalid digest '%s'", digest);
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r = read_file_at(s->blobsfd, digest_hex(digest), max, &buf, &len);
        if (r == -EFBIG)
                return error_msg(err, r, "blob %s: larger than %zu bytes", digest, max);
        if (r < 0)
                return error_sys(err, r, "read blob %s", digest);
        char got[DIGEST_STR_MAX];
        digest_buffer(buf, len, got);
        if (strcmp(got, digest) != 0)
                return error_msg(err, -EBADMSG, "blob %s is corrupt (its content hashes to %s)",
                                 digest, got);
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* ---- layers ---- */

char *store_layer_dir(struct store *s, const char *chain_id)
{
        return xasprintf("%s/image/layers/%s/diff", s->root, digest_hex(chain_id));
}

int store_layer_open(struct store *s, const char *chain_id, int *ret_fd, struct error *err)
{
        char name[DIGEST_STR_MAX + 8];
        snprintf(name, sizeof(name), "%s/diff", digest_hex(chain_id));
        int fd = openat(s->layersfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "layer %s", chain_id);
        *ret_fd = fd;
        return 0;
}

static int read_layer_info(struct store *s, const char *hex, struct layer_stats *st)
{
        char name[DIGEST_STR_MAX + 16];
        snprintf(name, sizeof(name), "%s/info.json", hex);
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(s->layersfd, name, 1 << 16, &text, NULL);
        if (r < 0)
                return r;
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ char *diff = NULL;
        struct error e = {0};
        if (json_parse_string(name, text, &o, &e) < 0 ||
            jget_str(o, "", "diff_id", &diff, &e) != 1 ||
            jget_u64(o, "", "size", &st->size, &e) != 1 ||
            jget_u64(o, "", "tar_size", &st->tar_size, &e) != 1 || !digest_valid(diff))
                return -EBADMSG;
        snprintf(st->diff_id, sizeof(st->diff_id), "%s", diff);
        return 0;
}

/* Unpacks fd into tmp/diff and writes tmp/info.json. */
static int unpack_into(struct store *s, const char *tmp, int fd, const struct layer_unpack_opts *o,
                       const char *parent_chain, struct layer_stats *st, struct error *err)
{
        _cleanup_close_ int tfd = openat(s->tmpfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int dfd = -EBADF;
        if (tfd < 0 || mkdirat(tfd, "diff", 0755) < 0 ||
            (dfd = openat(tfd, "diff", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                return error_sys(err, -errno, "create temporary layer dir");
        int r = layer_unpack(fd, dfd, o, st, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *info =
            xasprintf("{\"diff_id\":\"%s\",\"size\":%llu,\"tar_size\":%llu,\"parent\":%s%s%s}\n",
                      st->diff_id, (unsigned long long)st->size, (unsigned long long)st->tar_size,
                      parent_chain ? "\"" : "", parent_chain ? parent_chain : "null",
                      parent_chain ? "\"" : "");
        r = write_file_atomic(tfd, "info.json", info, strlen(info), 0644);
        if (r < 0)
                return error_sys(err, r, "write layer info");
        return 0;
}

static int discard_tmp(struct store *s, const char *tmp, int r)
{
        rm_rf_at(s->tmpfd, tmp);
        return r;
}

/* Moves an unpacked tmp layer to its chain ID's place. */
static int place_layer(struct store *s, const char *tmp, const char *chain, struct error *err)
{
        if (renameat(s->tmpfd, tmp, s->layersfd, digest_hex(chain)) == 0) {
                s->created_layers = strv_push(s->created_layers, xstrdup(chain));
                return 0;
        }
        /* EEXIST: another husk unpacked the same layer meanwhile (or an import
         * of the same tar did before); use that one. */
        if (errno == EEXIST || errno == ENOTEMPTY)
                return discard_tmp(s, tmp, 0);
        return discard_tmp(s, tmp, error_sys(err, -errno, "move layer %s into place", chain));
}

int store_layer_ensure(struct store *s, const char *parent_chain, const char *blob,
                       const char *diff_id, char ret_chain[DIGEST_STR_MAX], struct layer_stats *st,
                       struct error *err)
{
        if (!digest_valid(diff_id))
                return error_msg(err, -EINVAL, "invalid diffID '%s'", diff_id);
        char chain[DIGEST_STR_MAX];
        digest_chain(parent_chain, diff_id, chain);
        const char *hex = digest_hex(chain);
        memcpy(ret_chain, chain, DIGEST_STR_MAX);
        if (read_layer_info(s, hex, st) == 0 && strcmp(st->diff_id, diff_id) == 0)
                return 0;

        _cleanup_close_ int blobfd = -EBADF;
        int r = blob_open(s, blob, &blobfd, err);
        if (r < 0)
                return r;
        char tmp[64];
        r = mkdtemp_at(s->tmpfd, "layer", tmp, sizeof(tmp));
        if (r < 0)
                return error_sys(err, r, "create temporary layer dir in '%s/image/tmp'", s->root);
        char what[128];
        snprintf(what, sizeof(what), "layer %s", blob);
        struct layer_unpack_opts o = {.expect_diff_id = diff_id, .expect_blob = blob, .what = what};
        r = unpack_into(s, tmp, blobfd, &o, parent_chain, st, err);
        return r < 0 ? discard_tmp(s, tmp, r) : place_layer(s, tmp, chain, err);
}

int store_layer_import(struct store *s, int fd, const char *what, char ret_diff[DIGEST_STR_MAX],
                       struct layer_stats *st, struct error *err)
{
        struct blob_writer w;
        int r = blob_writer_begin(s, &w, err);
        if (r < 0)
                return r;
        char tmp[64];
        r = mkdtemp_at(s->tmpfd, "layer", tmp, sizeof(tmp));
        if (r < 0) {
                blob_writer_abort(&w);
                return error_sys(err, r, "create temporary layer dir in '%s/image/tmp'", s->root);
        }
        /* The stream writes the uncompressed tar to the blob as it goes and
         * its digest is the diffID: the blob needs no hashing of its own. */
        struct layer_unpack_opts o = {.what = what, .tee = true, .tee_fd = w.fd};
        r = unpack_into(s, tmp, fd, &o, NULL, st, err);
        if (r < 0) {
                blob_writer_abort(&w);
                return discard_tmp(s, tmp, r);
        }
        r = blob_writer_commit_known(&w, st->diff_id, err);
        if (r < 0)
                return discard_tmp(s, tmp, r);
        memcpy(ret_diff, st->diff_id, DIGEST_STR_MAX);
        return place_layer(s, tmp, st->diff_id, err);
}

/* ---- cleanup and gc ---- */

void store_forget_created(struct store *s)
{
        strv_free(s->created_blobs);
        strv_free(s->created_layers);
        s->created_blobs = s->created_layers = NULL;
}

static bool referenced(struct store *s, const char *sql, const char *digest)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct error e = {0};
        if (db_prepare(s->db, sql, &st, &e) < 0)
                return true; /* when in doubt, keep */
        sqlite3_bind_text(st, 1, digest, -1, SQLITE_STATIC);
        return db_step(s->db, st, &e) != 0;
}

#define BLOB_USED_SQL  "SELECT 1 FROM image_blobs WHERE digest = ?1 LIMIT 1"
#define LAYER_USED_SQL "SELECT 1 FROM image_layers WHERE chain_id = ?1 LIMIT 1"

void store_discard_created(struct store *s)
{
        if (!s->created_blobs && !s->created_layers)
                return;
        /* Wait until no other husk is adding content, so nothing they are about
         * to reference is removed. */
        int old = s->lock_state;
        struct error e = {0};
        if (store_lock(s, true, &e) == 0) {
                for (char **d = s->created_layers; d && *d; d++)
                        if (!referenced(s, LAYER_USED_SQL, *d))
                                rm_rf_at(s->layersfd, digest_hex(*d));
                for (char **d = s->created_blobs; d && *d; d++)
                        if (!referenced(s, BLOB_USED_SQL, *d))
                                unlinkat(s->blobsfd, digest_hex(*d), 0);
        }
        store_unlock(s);
        if (old)
                store_lock(s, old == LOCK_EX, &e);
        store_forget_created(s);
}

static int list_names(int dfd, char ***ret)
{
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        char **v = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        v = strv_push(v, xstrdup(de->d_name));
        closedir(d);
        *ret = v;
        return 0;
}

/* Flattened bottoms of long chains (snapshot.c), keyed by the chain they end at. */
static void gc_flat(struct store *s)
{
        _cleanup_close_ int flatfd = openat(s->imagefd, "flat", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_strv_ char **flats = NULL;
        if (flatfd < 0 || list_names(flatfd, &flats) < 0)
                return;
        for (char **n = flats; n && *n; n++) {
                char d[DIGEST_STR_MAX + 8];
                snprintf(d, sizeof(d), "sha256:%s", *n);
                if (!referenced(s, LAYER_USED_SQL, d))
                        rm_rf_at(flatfd, *n);
        }
}

int store_gc(struct store *s, struct gc_stats *ret, struct error *err)
{
        struct gc_stats st = {0};
        int old = s->lock_state;
        int r = store_lock(s, true, err);
        if (r < 0)
                return r;
        _cleanup_strv_ char **blobs = NULL, **layers = NULL, **tmps = NULL;
        r = list_names(s->blobsfd, &blobs);
        if (r == 0)
                r = list_names(s->layersfd, &layers);
        if (r == 0)
                r = list_names(s->tmpfd, &tmps);
        if (r < 0) {
                error_sys(err, r, "gc: list store");
                goto out;
        }
        for (char **n = layers; n && *n; n++) {
                char d[DIGEST_STR_MAX + 8];
                snprintf(d, sizeof(d), "sha256:%s", *n);
                if (referenced(s, LAYER_USED_SQL, d))
                        continue;
                struct layer_stats ls = {0};
                if (read_layer_info(s, *n, &ls) == 0)
                        st.bytes += ls.size;
                r = rm_rf_at(s->layersfd, *n);
                if (r < 0) {
                        error_sys(err, r, "gc: remove layer %s", d);
                        goto out;
                }
                st.layers++;
        }
        for (char **n = blobs; n && *n; n++) {
                char d[DIGEST_STR_MAX + 8];
                snprintf(d, sizeof(d), "sha256:%s", *n);
                if (referenced(s, BLOB_USED_SQL, d))
                        continue;
                struct stat sb;
                if (fstatat(s->blobsfd, *n, &sb, AT_SYMLINK_NOFOLLOW) == 0)
                        st.bytes += (uint64_t)sb.st_size;
                if (unlinkat(s->blobsfd, *n, 0) < 0 && errno != ENOENT) {
                        r = error_sys(err, -errno, "gc: remove blob %s", d);
                        goto out;
                }
                st.blobs++;
        }
        gc_flat(s);
        r = db_run(s->db,
                   "DELETE FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)",
                   err, 0);
        if (r < 0)
                goto out;
        /* Under the exclusive lock nobody is unpacking: leftovers are from crashes. */
        for (char **n = tmps; n && *n; n++)
                rm_rf_at(s->tmpfd, *n);
        if (ret)
                *ret = st;
        r = 0;
out:
        store_unlock(s);
        if (old)
                store_lock(s, old == LOCK_EX, err);
        return r;
}
