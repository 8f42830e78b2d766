#include "image/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "image/image.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/stream.h"
#include "image/lib-archive.h"

#define DOC_MAX (4u << 20)

/* ---- load ---- */

struct member {
        char *name;
        char *link; /* symlink or hardlink target (normalized), NULL for a file */
        char digest[DIGEST_STR_MAX];
        int64_t size;
};

struct loader {
        struct store *s;
        const char *what;
        struct member *m;
        size_t n;
        char *manifest_json, *index_json;
};

static void loader_free(struct loader *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->m[i].name);
                free(l->m[i].link);
        }
        free(l->m);
        free(l->manifest_json);
        free(l->index_json);
}

/* Lexically normalizes an archive path ("./a/../b" -> "b"); -EXDEV when it climbs out. */
static int norm_path(const char *base_dir, const char *p, char *out, size_t len)
{
        char buf[PATH_MAX * 2];
        if (p[0] == '/' || !base_dir || !*base_dir)
                snprintf(buf, sizeof(buf), "%s", p);
        else
                snprintf(buf, sizeof(buf), "%s/%s", base_dir, p);
        size_t o = 0;
        out[0] = '\0';
        char *save = NULL;
        for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0) {
                        if (o == 0)
                                return -EXDEV;
                        char *slash = strrchr(out, '/');
                        o = slash ? (size_t)(slash - out) : 0;
                        out[o] = '\0';
                        continue;
                }
                size_t n = strlen(c);
                if (o + n + 2 > len)
                        return -ENAMETOOLONG;
                if (o)
                        out[o++] = '/';
                memcpy(out + o, c, n + 1);
                o += n;
        }
        return 0;
}

static struct member *find_member(struct loader *l, const char *name)
{
        for (size_t i = l->n; i-- > 0;)
                if (strcmp(l->m[i].name, name) == 0)
                        return &l->m[i];
        return NULL;
}

/* Follows links to the file a name stands for. */
static int resolve_member(struct loader *l, const char *name, struct member **ret,
                          struct error *err)
{
        char cur[PATH_MAX];
        if (norm_path(NULL, name, cur, sizeof(cur)) < 0)
                return error_msg(err, -EINVAL, "%s: bad path '%s'", l->what, name);
        for (int hops = 0; hops < 16; hops++) {
                struct member *m = find_member(l, cur);
                if (!m)
                        return error_msg(err, -ENOENT, "%s: '%s' is not in the archive", l->what,
                                         name);
                if (!m->link) {
                        *ret = m;
                        return 0;
                }
                snprintf(cur, sizeof(cur), "%s", m->link);
        }
        return error_msg(err, -ELOOP, "%s: '%s': too many links", l->what, name);
}

static int read_entry(struct loader *l, struct archive *a, struct archive_entry *e,
                      struct error *err)
{
        const char *raw = archive_entry_pathname(e);
        char name[PATH_MAX];
        if (!raw || norm_path(NULL, raw, name, sizeof(name)) < 0 || !*name)
                return archive_entry_filetype(e) == AE_IFDIR
                           ? 0
                           : error_msg(err, -EINVAL, "%s: bad member name '%s'", l->what,
                                       raw ? raw : "");
        mode_t type = archive_entry_filetype(e);
        const char *hard = archive_entry_hardlink(e);
        struct member mb = {0};
        if (hard || type == AE_IFLNK) {
                char target[PATH_MAX];
                char dir[PATH_MAX];
                snprintf(dir, sizeof(dir), "%s", name);
                char *slash = strrchr(dir, '/');
                if (slash)
                        *slash = '\0';
                else
                        dir[0] = '\0';
                const char *t = hard ? hard : archive_entry_symlink(e);
                if (!t || norm_path(hard ? NULL : dir, t, target, sizeof(target)) < 0)
                        return error_msg(err, -EINVAL, "%s: member '%s' links outside the archive",
                                         l->what, name);
                mb.link = xstrdup(target);
        } else if (type == AE_IFREG) {
                struct blob_writer w;
                int r = blob_writer_begin(l->s, &w, err);
                if (r < 0)
                        return r;
                bool keep = strcmp(name, "manifest.json") == 0 || strcmp(name, "index.json") == 0;
                char *doc = NULL;
                size_t doclen = 0;
                for (;;) {
                        const void *buf;
                        size_t len;
                        la_int64_t off;
                        int ar = archive_read_data_block(a, &buf, &len, &off);
                        if (ar == ARCHIVE_EOF)
                                break;
                        if (ar < ARCHIVE_WARN) {
                                r = error_msg(err, -EINVAL, "%s: member '%s': %s", l->what, name,
                                              archive_error_string(a));
                                break;
                        }
                        if ((r = blob_writer_write(&w, buf, len, err)) < 0)
                                break;
                        if (keep) {
                                if (doclen + len > DOC_MAX) {
                                        r = error_msg(err, -EFBIG, "%s: '%s' is too large", l->what,
                                                      name);
                                        break;
                                }
                                doc = xrealloc(doc, doclen + len + 1);
                                memcpy(doc + doclen, buf, len);
                                doclen += len;
                                doc[doclen] = '\0';
                        }
                }
                if (r < 0) {
                        free(doc);
                        blob_writer_abort(&w);
                        return r;
                }
                mb.size = (int64_t)w.size;
                r = blob_writer_commit(&w, NULL, -1, mb.digest, err);
                if (r < 0) {
                        free(doc);
                        return r;
                }
                if (keep && !doc)
                        doc = xstrdup("");
                if (strcmp(name, "manifest.json") == 0) {
                        free(l->manifest_json);
                        l->manifest_json = doc;
                } else if (keep) {
                        free(l->index_json);
                        l->index_json = doc;
                }
        } else {
                return 0; /* directories and anything else carry nothing we need */
        }
        mb.name = xstrdup(name);
        l->m = xrealloc(l->m, (l->n + 1) * sizeof(*l->m));
        l->m[l->n++] = mb;
        return 0;
}

/* Detects the compression of a stored blob from its first bytes. */
static const char *layer_media_type(struct store *s, const char *digest)
{
        _cleanup_close_ int fd = -EBADF;
        struct error e = {0};
        unsigned char b[4] = {0};
        if (blob_open(s, digest, &fd, &e) < 0 || read_all(fd, b, 4) < 4)
                return MT_OCI_LAYER;
        if (b[0] == 0x1f && b[1] == 0x8b)
                return MT_OCI_LAYER_GZIP;
        if (b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
                return MT_OCI_LAYER_ZSTD;
        return MT_OCI_LAYER;
}

static char **normalize_names(struct json_object *tags, const char *what, struct error *err, int *r)
{
        char **names = NULL;
        *r = 0;
        for (size_t i = 0; tags && i < json_object_array_length(tags); i++) {
                const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
                struct image_ref ref = {0};
                if (!t || image_ref_parse(t, false, &ref, err) < 0) {
                        *r = error_wrap(err, -EINVAL, "%s: RepoTags[%zu]", what, i);
                        strv_free(names);
                        return NULL;
                }
                names = strv_push(names, image_ref_string(&ref));
                image_ref_free(&ref);
        }
        return names;
}

static int load_docker(struct loader *l, char ***loaded, struct error *err)
{
        _cleanup_json_ struct json_object *o = NULL;
        int r = json_parse_string("manifest.json", l->manifest_json, &o, err);
        if (r < 0)
                return error_wrap(err, r, "%s", l->what);
        if (!json_object_is_type(o, json_type_array))
                return error_msg(err, -EINVAL, "%s: manifest.json: expected an array", l->what);
        for (size_t i = 0; i < json_object_array_length(o); i++) {
                struct json_object *e = json_object_array_get_idx(o, i);
                char path[64];
                jpath_index(path, sizeof(path), "manifest.json", i);
                _cleanup_free_ char *cfgname = NULL;
                _cleanup_strv_ char **layer_names = NULL;
                struct json_object *tags = NULL;
                if ((r = jget_str(e, path, "Config", &cfgname, err)) < 0 ||
                    (r = jget_strv(e, path, "Layers", &layer_names, err)) < 0 ||
                    (r = jget_array(e, path, "RepoTags", &tags, err)) < 0)
                        return error_wrap(err, r, "%s", l->what);
                if (!cfgname)
                        return error_msg(err, -EINVAL, "%s: %s.Config missing", l->what, path);
                struct member *cm;
                if ((r = resolve_member(l, cfgname, &cm, err)) < 0)
                        return r;
                _cleanup_free_ char *ctext = NULL;
                if ((r = blob_read(l->s, cm->digest, DOC_MAX, &ctext, NULL, err)) < 0)
                        return r;
                _cleanup_strv_ char **diff_ids = NULL;
                char cwhat[PATH_MAX + 64];
                snprintf(cwhat, sizeof(cwhat), "%s: config '%s'", l->what, cfgname);
                if ((r = config_parse(cwhat, ctext, &diff_ids, NULL, err)) < 0)
                        return r;
                if (strv_len(diff_ids) != strv_len(layer_names))
                        return error_msg(err, -EINVAL,
                                         "%s: %s lists %zu layers but its config has %zu diffIDs",
                                         l->what, path, strv_len(layer_names), strv_len(diff_ids));
                _cleanup_json_ struct json_object *man = json_object_new_object();
                json_object_object_add(man, "schemaVersion", json_object_new_int(2));
                json_object_object_add(man, "mediaType", json_object_new_string(MT_OCI_MANIFEST));
                struct json_object *cd = json_object_new_object();
                json_object_object_add(cd, "mediaType", json_object_new_string(MT_OCI_CONFIG));
                json_object_object_add(cd, "digest", json_object_new_string(cm->digest));
                json_object_object_add(cd, "size", json_object_new_int64(cm->size));
                json_object_object_add(man, "config", cd);
                struct json_object *layers = json_object_new_array();
                json_object_object_add(man, "layers", layers);
                for (size_t k = 0; layer_names && layer_names[k]; k++) {
                        struct member *lm;
                        if ((r = resolve_member(l, layer_names[k], &lm, err)) < 0)
                                return r;
                        struct json_object *ld = json_object_new_object();
                        json_object_object_add(
                            ld, "mediaType",
                            json_object_new_string(layer_media_type(l->s, lm->digest)));
                        json_object_object_add(ld, "digest", json_object_new_string(lm->digest));
                        json_object_object_add(ld, "size", json_object_new_int64(lm->size));
                        json_object_array_add(layers, ld);
                }
                const char *mtext = json_compact(man);
                char mdigest[DIGEST_STR_MAX], id[DIGEST_STR_MAX];
                if ((r = blob_put(l->s, mtext, strlen(mtext), mdigest, err)) < 0)
                        return r;
                _cleanup_strv_ char **names = normalize_names(tags, l->what, err, &r);
                if (r < 0)
                        return r;
                if ((r = image_register(l->s, mdigest, names, id, err)) < 0)
                        return error_wrap(err, r, "%s: image %zu", l->what, i + 1);
                if (!tags || json_object_array_length(tags) == 0)
                        *loaded = strv_push(*loaded, xasprintf("Loaded image ID: %s", id));
                for (size_t k = 0; tags && k < json_object_array_length(tags); k++)
                        *loaded = strv_push(
                            *loaded,
                            xasprintf("Loaded image: %s",
                                      json_object_get_string(json_object_array_get_idx(tags, k))));
        }
        return 0;
}

/* A blob named by a descriptor: "blobs/sha256/HEX" must hold exactly that content. */
static int oci_blob(struct loader *l, const struct descriptor *d, struct error *err)
{
        char name[128];
        snprintf(name, sizeof(name), "blobs/sha256/%s", digest_hex(d->digest));
        struct member *m;
        int r = resolve_member(l, name, &m, err);
        if (r < 0)
                return r;
        if (strcmp(m->digest, d->digest) != 0)
                return error_msg(err, -EBADMSG, "%s: '%s' does not match its name (content is %s)",
                                 l->what, name, m->digest);
        if (m->size != d->size)
                return error_msg(err, -EBADMSG,
                                 "%s: '%s' is %lld bytes but its descriptor says %lld", l->what,
                                 name, (long long)m->size, (long long)d->size);
        return 0;
}

static int load_oci_manifest(struct loader *l, const struct descriptor *d, const char *ref_name,
                             char ***loaded, int depth, struct error *err)
{
        int r = oci_blob(l, d, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *text = NULL;
        if ((r = blob_read(l->s, d->digest, DOC_MAX, &text, NULL, err)) < 0)
                return r;
        char what[PATH_MAX];
        snprintf(what, sizeof(what), "%s: %s", l->what, d->digest);
        int is_index = doc_is_index(what, text, err);
        if (is_index < 0)
                return is_index;
        if (is_index) {
                if (depth > 4)
                        return error_msg(err, -ELOOP, "%s: indexes nested too deeply", what);
                struct descriptor *ds = NULL;
                size_t n = 0, pick;
                if ((r = index_parse(what, text, &ds, &n, err)) < 0)
                        return r;
                r = index_pick(ds, n, what, &pick, err);
                if (r == 0)
                        r = load_oci_manifest(l, &ds[pick], ref_name, loaded, depth + 1, err);
                free_descriptors(ds, n);
                return r;
        }
        _cleanup_(manifest_free) struct manifest m = {0};
        if ((r = manifest_parse(what, text, &m, err)) < 0)
                return r;
        if ((r = oci_blob(l, &m.config, err)) < 0)
                return r;
        for (size_t i = 0; i < m.nlayers; i++)
                if ((r = oci_blob(l, &m.layers[i], err)) < 0)
                        return r;
        _cleanup_strv_ char **names = NULL;
        /* A bare tag ("latest") names no repository: such an image loads untagged. */
        struct image_ref ref = {0};
        struct error perr = {0};
        if (ref_name && (strchr(ref_name, '/') || strchr(ref_name, ':')) &&
            image_ref_parse(ref_name, false, &ref, &perr) == 0 && !ref.digest)
                names = strv_push(names, image_ref_string(&ref));
        image_ref_free(&ref);
        char id[DIGEST_STR_MAX];
        if ((r = image_register(l->s, d->digest, names, id, err)) < 0)
                return error_wrap(err, r, "%s", l->what);
        if (names)
                *loaded = strv_push(*loaded, xasprintf("Loaded image: %s", ref_name));
        else
                *loaded = strv_push(*loaded, xasprintf("Loaded image ID: %s", id));
        return 0;
}

static int load_oci(struct loader *l, char ***loaded, struct error *err)
{
        struct descriptor *ds = NULL;
        size_t n = 0;
        char what[PATH_MAX];
        snprintf(what, sizeof(what), "%s: index.json", l->what);
        int r = index_parse(what, l->index_json, &ds, &n, err);
        if (r < 0)
                return r;
        if (n == 0)
                r = error_msg(err, -EINVAL, "%s: no manifests", what);
        for (size_t i = 0; r == 0 && i < n; i++)
                r = load_oci_manifest(l, &ds[i], ds[i].ref_name, loaded, 0, err);
        free_descriptors(ds, n);
        return r;
}

static int load_locked(struct loader *l, int fd, char ***loaded, struct error *err)
{
        if (lib_archive_need(err) < 0)
                return err->code;
        struct archive *a = archive_read_new();
        archive_read_support_filter_gzip(a);
        archive_read_support_filter_zstd(a);
        archive_read_support_filter_xz(a);
        archive_read_support_filter_bzip2(a);
        archive_read_support_format_tar(a);
        int r = 0;
        if (archive_read_open_fd(a, fd, 256 * 1024) != ARCHIVE_OK) {
                r = error_msg(err, -EINVAL, "%s: not a tar archive: %s", l->what,
                              archive_error_string(a));
                goto out;
        }
        for (;;) {
                struct archive_entry *e;
                int ar = archive_read_next_header(a, &e);
                if (ar == ARCHIVE_EOF)
                        break;
                if (ar < ARCHIVE_WARN) {
                        r = error_msg(err, -EINVAL, "%s: %s", l->what, archive_error_string(a));
                        goto out;
                }
                if ((r = read_entry(l, a, e, err)) < 0)
                        goto out;
        }
        if (l->manifest_json)
                r = load_docker(l, loaded, err);
        else if (l->index_json)
                r = load_oci(l, loaded, err);
        else
                r = error_msg(err, -EINVAL,
                              "%s: neither a docker-archive (no manifest.json) nor an oci-archive "
                              "(no index.json)",
                              l->what);
out:
        archive_read_free(a);
        return r;
}

int archive_load(struct store *s, int fd, const char *what, char ***ret_loaded, struct error *err)
{
        struct loader l = {.s = s, .what = what};
        char **loaded = NULL;
        int r = store_lock(s, false, err);
        if (r == 0)
                r = load_locked(&l, fd, &loaded, err);
        /* Drops what this load stored but no image uses (legacy files, or all on failure). */
        store_discard_created(s);
        store_unlock(s);
        loader_free(&l);
        if (r < 0) {
                strv_free(loaded);
                return r;
        }
        *ret_loaded = loaded;
        return 0;
}

/* ---- save ---- */

struct saver {
        struct store *s;
        struct archive *a;
        char **written; /* member names already in the archive */
};

static int arch_fail(struct saver *sv, struct error *err, const char *name)
{
        return error_msg(err, -EIO, "write '%s': %s", name, archive_error_string(sv->a));
}

static int put_header(struct saver *sv, const char *name, int64_t size, mode_t mode,
                      struct error *err)
{
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_size(e, size);
        archive_entry_set_filetype(e, mode & S_IFMT ? mode & S_IFMT : AE_IFREG);
        archive_entry_set_perm(e, mode & 07777);
        archive_entry_set_mtime(e, 0, 0);
        int r = archive_write_header(sv->a, e);
        archive_entry_free(e);
        return r == ARCHIVE_OK ? 0 : arch_fail(sv, err, name);
}

static int put_data(struct saver *sv, const char *name, const void *buf, size_t len,
                    struct error *err)
{
        if (len && archive_write_data(sv->a, buf, len) != (la_ssize_t)len)
                return arch_fail(sv, err, name);
        return 0;
}

static int put_buffer(struct saver *sv, const char *name, const char *buf, size_t len,
                      struct error *err)
{
        if (strv_contains(sv->written, name))
                return 0;
        int r = put_header(sv, name, (int64_t)len, 0644, err);
        if (r == 0)
                r = put_data(sv, name, buf, len, err);
        if (r == 0)
                sv->written = strv_push(sv->written, xstrdup(name));
        return r;
}

static int put_dir(struct saver *sv, const char *name, struct error *err)
{
        if (strv_contains(sv->written, name))
                return 0;
        int r = put_header(sv, name, 0, S_IFDIR | 0755, err);
        if (r == 0)
                sv->written = strv_push(sv->written, xstrdup(name));
        return r;
}

/* Copies a blob as stored. */
static int put_blob(struct saver *sv, const char *name, const char *digest, struct error *err)
{
        if (strv_contains(sv->written, name))
                return 0;
        _cleanup_close_ int fd = -EBADF;
        int r = blob_open(sv->s, digest, &fd, err);
        if (r < 0)
                return r;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return error_sys(err, -errno, "blob %s", digest);
        if ((r = put_header(sv, name, st.st_size, 0644, err)) < 0)
                return r;
        _cleanup_free_ char *buf = xmalloc(1 << 17);
        struct digester d;
        digester_init(&d);
        for (;;) {
                ssize_t n = read(fd, buf, 1 << 17);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        digester_free(&d);
                        return error_sys(err, -errno, "read blob %s", digest);
                }
                if (n == 0)
                        break;
                digester_update(&d, buf, (size_t)n);
                if ((r = put_data(sv, name, buf, (size_t)n, err)) < 0) {
                        digester_free(&d);
                        return r;
                }
        }
        char got[DIGEST_STR_MAX];
        digester_final(&d, got);
        if (strcmp(got, digest) != 0 || d.bytes != (uint64_t)st.st_size)
                return error_msg(err, -EBADMSG, "blob %s is corrupt in the store", digest);
        sv->written = strv_push(sv->written, xstrdup(name));
        return 0;
}

/* Writes a layer uncompressed (docker-archive wants plain tars), checking its diffID. */
static int put_layer_tar(struct saver *sv, const char *name, const char *blob, const char *diff_id,
                         int64_t tar_size, struct error *err)
{
        if (strv_contains(sv->written, name))
                return 0;
        _cleanup_close_ int fd = -EBADF;
        int r = blob_open(sv->s, blob, &fd, err);
        if (r < 0)
                return r;
        _cleanup_(ustream_freep) struct ustream *in = NULL;
        if ((r = ustream_open(fd, blob, (uint64_t)tar_size, &in, err)) < 0)
                return r;
        if ((r = put_header(sv, name, tar_size, 0644, err)) < 0)
                return r;
        for (;;) {
                const void *buf;
                ssize_t n = ustream_read(in, &buf, err);
                if (n < 0)
                        return n;
                if (n == 0)
                        break;
                if ((r = put_data(sv, name, buf, (size_t)n, err)) < 0)
                        return r;
        }
        char got[DIGEST_STR_MAX];
        ustream_digest(in, got);
        if (strcmp(got, diff_id) != 0 || ustream_bytes(in) != (uint64_t)tar_size)
                return error_msg(err, -EBADMSG, "layer %s: stored blob does not match diffID %s",
                                 blob, diff_id);
        sv->written = strv_push(sv->written, xstrdup(name));
        return 0;
}

struct saved_layer {
        char *blob, *media_type, *diff_id;
        int64_t blob_size, tar_size;
};

static int image_layers(struct store *s, const char *id, struct saved_layer **ret, size_t *ret_n,
                        struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(s->db,
                           "SELECT il.blob, il.media_type, l.diff_id, il.blob_size, l.tar_size "
                           "FROM image_layers il JOIN layers l ON l.chain_id = il.chain_id "
                           "WHERE il.image_id = ?1 ORDER BY il.idx",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        struct saved_layer *v = NULL;
        size_t n = 0;
        while ((r = db_step(s->db, st, err)) > 0) {
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n].blob = db_col_str(st, 0);
                v[n].media_type = db_col_str(st, 1);
                v[n].diff_id = db_col_str(st, 2);
                v[n].blob_size = sqlite3_column_int64(st, 3);
                v[n].tar_size = sqlite3_column_int64(st, 4);
                n++;
        }
        *ret = v;
        *ret_n = n;
        return r;
}

static void free_layers(struct saved_layer *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].blob);
                free(v[i].media_type);
                free(v[i].diff_id);
        }
        free(v);
}

static const char *oci_layer_type(const char *mt)
{
        if (strcmp(mt, MT_DOCKER_LAYER) == 0)
                return MT_OCI_LAYER_GZIP;
        if (strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar") == 0)
                return MT_OCI_LAYER;
        return mt;
}

/* docker-archive: "<config hex>.json", "<diffID hex>.tar" (plain tars), one manifest.json entry. */
static int save_docker(struct saver *sv, const struct image *img, const char *name,
                       const struct saved_layer *layers, size_t n, struct json_object *out,
                       struct error *err)
{
        char cname[DIGEST_STR_MAX + 8];
        snprintf(cname, sizeof(cname), "%s.json", digest_hex(img->id));
        int r = put_blob(sv, cname, img->id, err);
        if (r < 0)
                return r;
        struct json_object *e = json_object_new_object();
        json_object_array_add(out, e);
        json_object_object_add(e, "Config", json_object_new_string(cname));
        struct json_object *tags = json_object_new_array();
        struct image_ref ref = {0};
        struct error pe = {0};
        if (name && image_ref_parse(name, false, &ref, &pe) == 0) {
                _cleanup_free_ char *fam = image_ref_familiar(&ref);
                json_object_array_add(tags, json_object_new_string(fam));
                image_ref_free(&ref);
        }
        json_object_object_add(e, "RepoTags", tags);
        struct json_object *ls = json_object_new_array();
        json_object_object_add(e, "Layers", ls);
        for (size_t i = 0; i < n; i++) {
                char lname[DIGEST_STR_MAX + 8];
                snprintf(lname, sizeof(lname), "%s.tar", digest_hex(layers[i].diff_id));
                if (strcmp(layers[i].blob, layers[i].diff_id) == 0)
                        r = put_blob(sv, lname, layers[i].blob, err);
                else
                        r = put_layer_tar(sv, lname, layers[i].blob, layers[i].diff_id,
                                          layers[i].tar_size, err);
                if (r < 0)
                        return r;
                json_object_array_add(ls, json_object_new_string(lname));
        }
        return 0;
}

/* The image's manifest as an OCI one: the stored bytes when it is one, else
 * rewritten with OCI media types (same config and layer blobs). */
static int oci_manifest_text(struct saver *sv, const struct image *img,
                             const struct saved_layer *layers, size_t n, char **ret,
                             size_t *ret_len, struct error *err)
{
        if (strcmp(img->manifest_type, MT_OCI_MANIFEST) == 0)
                return blob_read(sv->s, img->manifest_digest, DOC_MAX, ret, ret_len, err);
        _cleanup_free_ char *ctext = NULL;
        size_t clen = 0;
        int r = blob_read(sv->s, img->id, DOC_MAX, &ctext, &clen, err);
        if (r < 0)
                return r;
        _cleanup_json_ struct json_object *man = json_object_new_object();
        json_object_object_add(man, "schemaVersion", json_object_new_int(2));
        json_object_object_add(man, "mediaType", json_object_new_string(MT_OCI_MANIFEST));
        struct json_object *cd = json_object_new_object();
        json_object_object_add(cd, "mediaType", json_object_new_string(MT_OCI_CONFIG));
        json_object_object_add(cd, "digest", json_object_new_string(img->id));
        json_object_object_add(cd, "size", json_object_new_int64((int64_t)clen));
        json_object_object_add(man, "config", cd);
        struct json_object *ls = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                struct json_object *ld = json_object_new_object();
                json_object_object_add(
                    ld, "mediaType", json_object_new_string(oci_layer_type(layers[i].media_type)));
                json_object_object_add(ld, "digest", json_object_new_string(layers[i].blob));
                json_object_object_add(ld, "size", json_object_new_int64(layers[i].blob_size));
                json_object_array_add(ls, ld);
        }
        json_object_object_add(man, "layers", ls);
        const char *text = json_compact(man);
        *ret_len = strlen(text);
        *ret = xstrdup(text);
        return 0;
}

/* oci-archive: blobs as stored under blobs/sha256/, one index.json entry. */
static int save_oci(struct saver *sv, const struct image *img, const char *name,
                    const struct saved_layer *layers, size_t n, struct json_object *out,
                    struct error *err)
{
        int r;
        if ((r = put_dir(sv, "blobs", err)) < 0 || (r = put_dir(sv, "blobs/sha256", err)) < 0)
                return r;
        char bname[DIGEST_STR_MAX + 16];
        snprintf(bname, sizeof(bname), "blobs/sha256/%s", digest_hex(img->id));
        if ((r = put_blob(sv, bname, img->id, err)) < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                snprintf(bname, sizeof(bname), "blobs/sha256/%s", digest_hex(layers[i].blob));
                if ((r = put_blob(sv, bname, layers[i].blob, err)) < 0)
                        return r;
        }
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if ((r = oci_manifest_text(sv, img, layers, n, &text, &len, err)) < 0)
                return r;
        char mdigest[DIGEST_STR_MAX];
        digest_buffer(text, len, mdigest);
        snprintf(bname, sizeof(bname), "blobs/sha256/%s", digest_hex(mdigest));
        if ((r = put_buffer(sv, bname, text, len, err)) < 0)
                return r;
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "mediaType", json_object_new_string(MT_OCI_MANIFEST));
        json_object_object_add(d, "digest", json_object_new_string(mdigest));
        json_object_object_add(d, "size", json_object_new_int64((int64_t)len));
        if (name) {
                struct json_object *ann = json_object_new_object();
                json_object_object_add(ann, "org.opencontainers.image.ref.name",
                                       json_object_new_string(name));
                json_object_object_add(d, "annotations", ann);
        }
        json_object_array_add(out, d);
        return 0;
}

static int save_one(struct saver *sv, const struct image *img, const char *name,
                    enum archive_format format, struct json_object *out, struct error *err)
{
        struct saved_layer *layers = NULL;
        size_t n = 0;
        int r = image_layers(sv->s, img->id, &layers, &n, err);
        if (r == 0 && n != strv_len(img->layers))
                r = error_msg(err, -EBADMSG, "image %s: %zu of its %zu layers are recorded",
                              img->id, n, strv_len(img->layers));
        if (r == 0)
                r = format == ARCHIVE_DOCKER ? save_docker(sv, img, name, layers, n, out, err)
                                             : save_oci(sv, img, name, layers, n, out, err);
        free_layers(layers, n);
        return r;
}

int archive_save(struct store *s, char *const *images, enum archive_format format, int outfd,
                 struct error *err)
{
        if (lib_archive_need(err) < 0)
                return err->code;
        struct saver sv = {.s = s};
        _cleanup_json_ struct json_object *list = json_object_new_array();
        sv.a = archive_write_new();
        archive_write_set_format_pax_restricted(sv.a);
        archive_write_set_bytes_in_last_block(sv.a, 1);
        int r = 0;
        if (archive_write_open_fd(sv.a, outfd) != ARCHIVE_OK) {
                r = error_msg(err, -EIO, "open output: %s", archive_error_string(sv.a));
                goto out;
        }
        if (format == ARCHIVE_OCI &&
            (r = put_buffer(&sv, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, err)) < 0)
                goto out;
        for (char *const *w = images; w && *w; w++) {
                struct image img = {0};
                char *name = NULL;
                r = image_lookup(s, *w, &img, &name, err);
                if (r == 0)
                        r = save_one(&sv, &img, name, format, list, err);
                image_free(&img);
                free(name);
                if (r < 0)
                        goto out;
        }
        const char *doc;
        if (format == ARCHIVE_DOCKER) {
                doc = json_compact(list);
                r = put_buffer(&sv, "manifest.json", doc, strlen(doc), err);
        } else {
                _cleanup_json_ struct json_object *idx = json_object_new_object();
                json_object_object_add(idx, "schemaVersion", json_object_new_int(2));
                json_object_object_add(idx, "mediaType", json_object_new_string(MT_OCI_INDEX));
                json_object_object_add(idx, "manifests", json_object_get(list));
                doc = json_compact(idx);
                r = put_buffer(&sv, "index.json", doc, strlen(doc), err);
        }
        if (r == 0 && archive_write_close(sv.a) != ARCHIVE_OK)
                r = error_msg(err, -EIO, "finish archive: %s", archive_error_string(sv.a));
out:
        archive_write_free(sv.a);
        strv_free(sv.written);
        return r;
}
