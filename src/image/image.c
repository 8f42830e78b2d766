#include "image/image.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/util.h"
#include "image/manifest.h"
#include "image/ref.h"

#define DOC_MAX (4u << 20)

void image_free(struct image *img)
{
        free(img->id);
        free(img->manifest_digest);
        free(img->manifest_type);
        free(img->top_layer);
        strv_free(img->names);
        strv_free(img->layers);
        *img = (struct image){0};
}

void image_free_array(struct image *imgs, size_t n)
{
        for (size_t i = 0; i < n; i++)
                image_free(&imgs[i]);
        free(imgs);
}

struct layer_row {
        char chain[DIGEST_STR_MAX];
        struct layer_stats st;
};

static int insert_image(struct store *s, const char *id, const struct manifest *m,
                        const char *manifest_digest, int64_t created, int64_t size,
                        const struct layer_row *rows, char *const *names, struct error *err)
{
        struct db *db = s->db;
        int r = db_begin(db, err);
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        r = db_prepare(db,
                       "INSERT INTO images (id, manifest_digest, manifest_type, created, size, "
                       "top_layer, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                       "ON CONFLICT(id) DO UPDATE SET manifest_digest = excluded.manifest_digest, "
                       "manifest_type = excluded.manifest_type, created = excluded.created, "
                       "size = excluded.size, top_layer = excluded.top_layer",
                       &st, err);
        if (r < 0)
                goto fail;
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, manifest_digest, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, m->media_type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, created);
        sqlite3_bind_int64(st, 5, size);
        if (m->nlayers)
                sqlite3_bind_text(st, 6, rows[m->nlayers - 1].chain, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, 6);
        sqlite3_bind_int64(st, 7, (int64_t)time(NULL));
        if ((r = db_step(db, st, err)) < 0)
                goto fail;
        if ((r = db_run(db, "DELETE FROM image_layers WHERE image_id = ?1", err, 1, id)) < 0 ||
            (r = db_run(db, "DELETE FROM image_blobs WHERE image_id = ?1", err, 1, id)) < 0)
                goto fail;
        const char *blob_sql =
            "INSERT OR IGNORE INTO image_blobs (image_id, digest) VALUES (?1, ?2)";
        if ((r = db_run(db, blob_sql, err, 2, id, manifest_digest)) < 0 ||
            (r = db_run(db, blob_sql, err, 2, id, m->config.digest)) < 0)
                goto fail;
        for (size_t i = 0; i < m->nlayers; i++) {
                const struct layer_row *l = &rows[i];
                _cleanup_stmt_ sqlite3_stmt *ls = NULL;
                if ((r = db_run(db, blob_sql, err, 2, id, m->layers[i].digest)) < 0 ||
                    (r = db_prepare(db,
                                    "INSERT INTO image_layers (image_id, idx, chain_id, blob, "
                                    "media_type, blob_size) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                    &ls, err)) < 0)
                        goto fail;
                sqlite3_bind_text(ls, 1, id, -1, SQLITE_STATIC);
                sqlite3_bind_int64(ls, 2, (int64_t)i);
                sqlite3_bind_text(ls, 3, l->chain, -1, SQLITE_STATIC);
                sqlite3_bind_text(ls, 4, m->layers[i].digest, -1, SQLITE_STATIC);
                sqlite3_bind_text(ls, 5,
                                  m->layers[i].media_type ? m->layers[i].media_type : MT_OCI_LAYER,
                                  -1, SQLITE_STATIC);
                sqlite3_bind_int64(ls, 6, m->layers[i].size);
                if ((r = db_step(db, ls, err)) < 0)
                        goto fail;
                _cleanup_stmt_ sqlite3_stmt *lr = NULL;
                if ((r = db_prepare(db,
                                    "INSERT OR REPLACE INTO layers (chain_id, diff_id, parent, "
                                    "size, tar_size) VALUES (?1, ?2, ?3, ?4, ?5)",
                                    &lr, err)) < 0)
                        goto fail;
                sqlite3_bind_text(lr, 1, l->chain, -1, SQLITE_STATIC);
                sqlite3_bind_text(lr, 2, l->st.diff_id, -1, SQLITE_STATIC);
                if (i)
                        sqlite3_bind_text(lr, 3, rows[i - 1].chain, -1, SQLITE_STATIC);
                else
                        sqlite3_bind_null(lr, 3);
                sqlite3_bind_int64(lr, 4, (int64_t)l->st.size);
                sqlite3_bind_int64(lr, 5, (int64_t)l->st.tar_size);
                if ((r = db_step(db, lr, err)) < 0)
                        goto fail;
        }
        for (char *const *n = names; n && *n; n++) {
                r = db_run(db,
                           "INSERT INTO image_names (name, image_id, tagged) VALUES (?1, ?2, "
                           "strftime('%s','now')) ON CONFLICT(name) DO UPDATE SET image_id = "
                           "excluded.image_id, tagged = excluded.tagged",
                           err, 2, *n, id);
                if (r < 0)
                        goto fail;
        }
        return db_commit(db, err);
fail:
        db_rollback(db);
        return error_wrap(err, r, "record image %s", id);
}

int image_register(struct store *s, const char *manifest_digest, char *const *names,
                   char ret_id[DIGEST_STR_MAX], struct error *err)
{
        _cleanup_free_ char *mtext = NULL, *ctext = NULL;
        int r = blob_read(s, manifest_digest, DOC_MAX, &mtext, NULL, err);
        if (r < 0)
                return r;
        char what[128];
        snprintf(what, sizeof(what), "manifest %s", manifest_digest);
        _cleanup_(manifest_free) struct manifest m = {0};
        r = manifest_parse(what, mtext, &m, err);
        if (r < 0)
                return r;
        r = blob_read(s, m.config.digest, DOC_MAX, &ctext, NULL, err);
        if (r < 0)
                return error_wrap(err, r, "%s: config", what);
        _cleanup_strv_ char **diff_ids = NULL;
        int64_t created = 0;
        snprintf(what, sizeof(what), "config %s", m.config.digest);
        r = config_parse(what, ctext, &diff_ids, &created, err);
        if (r < 0)
                return r;
        if (strv_len(diff_ids) != m.nlayers)
                return error_msg(err, -EINVAL,
                                 "manifest %s has %zu layers but its config lists %zu diffIDs",
                                 manifest_digest, m.nlayers, strv_len(diff_ids));
        _cleanup_free_ struct layer_row *rows = xzalloc((m.nlayers + 1) * sizeof(*rows));
        int64_t size = 0;
        for (size_t i = 0; i < m.nlayers; i++) {
                r = store_layer_ensure(s, i ? rows[i - 1].chain : NULL, m.layers[i].digest,
                                       diff_ids[i], rows[i].chain, &rows[i].st, err);
                if (r < 0)
                        return error_wrap(err, r, "layer %zu of %zu", i + 1, m.nlayers);
                size += (int64_t)rows[i].st.size;
        }
        r = insert_image(s, m.config.digest, &m, manifest_digest, created, size, rows, names, err);
        if (r < 0)
                return r;
        memcpy(ret_id, m.config.digest, DIGEST_STR_MAX);
        return 0;
}

static int fill_rest(struct store *s, struct image *img, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(s->db, "SELECT name FROM image_names WHERE image_id = ?1 ORDER BY name",
                           &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, img->id, -1, SQLITE_STATIC);
        while ((r = db_step(s->db, st, err)) > 0)
                img->names = strv_push(img->names, db_col_str(st, 0));
        if (r < 0)
                return r;
        _cleanup_stmt_ sqlite3_stmt *ls = NULL;
        r = db_prepare(s->db, "SELECT chain_id FROM image_layers WHERE image_id = ?1 ORDER BY idx",
                       &ls, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(ls, 1, img->id, -1, SQLITE_STATIC);
        while ((r = db_step(s->db, ls, err)) > 0)
                img->layers = strv_push(img->layers, db_col_str(ls, 0));
        return r;
}

#define IMAGE_COLS "id, manifest_digest, manifest_type, top_layer, created, size, added"

static void row_to_image(sqlite3_stmt *st, struct image *img)
{
        img->id = db_col_str(st, 0);
        img->manifest_digest = db_col_str(st, 1);
        img->manifest_type = db_col_str(st, 2);
        img->top_layer = db_col_str(st, 3);
        img->created = sqlite3_column_int64(st, 4);
        img->size = sqlite3_column_int64(st, 5);
        img->added = sqlite3_column_int64(st, 6);
}

/* Runs a query that binds ?1 to arg and returns image rows; -ENOENT for none,
 * -EEXIST for more than one when unique is set. */
static int query_one(struct store *s, const char *sql, const char *arg, struct image *ret,
                     struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(s->db, sql, &st, err);
        if (r < 0)
                return r;
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        r = db_step(s->db, st, err);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        struct image img = {0};
        row_to_image(st, &img);
        r = db_step(s->db, st, err);
        if (r != 0) {
                image_free(&img);
                return r < 0 ? r : -EEXIST;
        }
        r = fill_rest(s, &img, err);
        if (r < 0) {
                image_free(&img);
                return r;
        }
        *ret = img;
        return 0;
}

int image_get(struct store *s, const char *id, struct image *ret, struct error *err)
{
        int r = query_one(s, "SELECT " IMAGE_COLS " FROM images WHERE id = ?1", id, ret, err);
        if (r == -ENOENT)
                return error_msg(err, r, "no such image: %s", id);
        return r;
}

static bool all_hex(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
                        return false;
        return true;
}

int image_lookup(struct store *s, const char *what, struct image *ret, char **ret_name,
                 struct error *err)
{
        int r;
        const char *hex = str_startswith(what, "sha256:") ? what + 7 : what;
        bool hexish = all_hex(hex) && strlen(hex) <= 64;
        if (hexish && strlen(hex) == 64) {
                _cleanup_free_ char *id = xasprintf("sha256:%s", hex);
                r = query_one(s, "SELECT " IMAGE_COLS " FROM images WHERE id = ?1", id, ret, err);
                if (r != -ENOENT)
                        return r;
        }
        struct error perr = {0};
        _cleanup_ref_ struct image_ref ref = {0};
        if (!str_startswith(what, "sha256:") && image_ref_parse(what, false, &ref, &perr) == 0) {
                if (ref.digest && !ref.tag) {
                        r = query_one(s,
                                      "SELECT " IMAGE_COLS
                                      " FROM images WHERE manifest_digest = ?1 "
                                      "LIMIT 1",
                                      ref.digest, ret, err);
                } else {
                        _cleanup_free_ char *name = image_ref_string(&ref);
                        if (ref.digest) {
                                free(name);
                                struct image_ref tagged = ref;
                                tagged.digest = NULL;
                                name = image_ref_string(&tagged);
                        }
                        r = query_one(s,
                                      "SELECT " IMAGE_COLS " FROM images WHERE id = (SELECT "
                                      "image_id FROM image_names WHERE name = ?1)",
                                      name, ret, err);
                        if (r == 0 && ret_name)
                                *ret_name = TAKE_PTR(name);
                }
                if (r != -ENOENT)
                        return r;
        }
        if (hexish) {
                _cleanup_free_ char *like = xasprintf("sha256:%s%%", hex);
                r = query_one(s, "SELECT " IMAGE_COLS " FROM images WHERE id LIKE ?1", like, ret,
                              err);
                if (r == -EEXIST)
                        return error_msg(err, -EINVAL,
                                         "image id prefix '%s' is ambiguous: give more digits",
                                         what);
                if (r != -ENOENT)
                        return r;
        } else if (perr.code) {
                return error_msg(err, -ENOENT, "no such image: %s (%s)", what, perr.msg);
        }
        return error_msg(err, -ENOENT, "no such image: %s", what);
}

int image_list(struct store *s, struct image **ret, size_t *ret_n, struct error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = db_prepare(s->db, "SELECT " IMAGE_COLS " FROM images ORDER BY created DESC, id",
                           &st, err);
        if (r < 0)
                return r;
        struct image *v = NULL;
        size_t n = 0;
        while ((r = db_step(s->db, st, err)) > 0) {
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n] = (struct image){0};
                row_to_image(st, &v[n]);
                n++;
                if ((r = fill_rest(s, &v[n - 1], err)) < 0)
                        break;
        }
        if (r < 0) {
                image_free_array(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int image_tag(struct store *s, const char *id, const char *name, struct error *err)
{
        _cleanup_ref_ struct image_ref ref = {0};
        int r = image_ref_parse(name, false, &ref, err);
        if (r < 0)
                return r;
        if (ref.digest)
                return error_msg(err, -EINVAL, "tag '%s': a tag name cannot contain a digest",
                                 name);
        _cleanup_free_ char *full = image_ref_string(&ref);
        r = db_begin(s->db, err);
        if (r < 0)
                return r;
        r = db_run(s->db,
                   "INSERT INTO image_names (name, image_id, tagged) SELECT ?1, id, "
                   "strftime('%s','now') FROM images WHERE id = ?2 ON CONFLICT(name) DO UPDATE "
                   "SET image_id = excluded.image_id, tagged = excluded.tagged",
                   err, 2, full, id);
        if (r == 0 && db_changes(s->db) == 0)
                r = error_msg(err, -ENOENT, "no such image: %s", id);
        if (r < 0) {
                db_rollback(s->db);
                return r;
        }
        return db_commit(s->db, err);
}

int image_untag(struct store *s, const char *full_name, struct error *err)
{
        int r = db_run(s->db, "DELETE FROM image_names WHERE name = ?1", err, 1, full_name);
        if (r < 0)
                return r;
        return db_changes(s->db) ? 0 : -ENOENT;
}

int image_delete(struct store *s, const char *id, struct error *err)
{
        int r = db_run(s->db, "DELETE FROM images WHERE id = ?1", err, 1, id);
        if (r < 0)
                return r;
        return db_changes(s->db) ? 0 : error_msg(err, -ENOENT, "no such image: %s", id);
}

int image_read_manifest(struct store *s, const struct image *img, char **ret, struct error *err)
{
        return blob_read(s, img->manifest_digest, DOC_MAX, ret, NULL, err);
}

int image_read_config(struct store *s, const struct image *img, char **ret, struct error *err)
{
        return blob_read(s, img->id, DOC_MAX, ret, NULL, err);
}
