/* husk image inspect, husk history. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/format.h"
#include "cli/husk.h"
#include "core/json.h"
#include "core/util.h"
#include "image/image.h"
#include "image/manifest.h"
#include "image/ref.h"

static void add_str(struct json_object *o, const char *k, const char *v)
{
        json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static struct json_object *copy_or(struct json_object *cfg, const char *key,
                                   struct json_object *dflt)
{
        struct json_object *v = NULL;
        if (cfg && json_object_object_get_ex(cfg, key, &v) && v) {
                json_object_put(dflt);
                return json_object_get(v);
        }
        return dflt;
}

/* The docker-shaped inspect document of one image. */
static int inspect_doc(struct store *s, const struct image *img, struct json_object **ret,
                       struct error *err)
{
        _cleanup_free_ char *ctext = NULL;
        int r = image_read_config(s, img, &ctext, err);
        if (r < 0)
                return r;
        _cleanup_json_ struct json_object *cfg = NULL;
        if ((r = json_parse_string(img->id, ctext, &cfg, err)) < 0)
                return r;
        struct json_object *o = json_object_new_object();
        add_str(o, "Id", img->id);
        struct json_object *tags = json_object_new_array(), *digests = json_object_new_array();
        _cleanup_strv_ char **repos = NULL;
        for (char **n = img->names; n && *n; n++) {
                struct image_ref ref = {0};
                struct error e = {0};
                if (image_ref_parse(*n, false, &ref, &e) < 0)
                        continue;
                _cleanup_free_ char *fam = image_ref_familiar(&ref);
                json_object_array_add(tags, json_object_new_string(fam));
                _cleanup_free_ char *repo = image_ref_repo(&ref);
                if (!strv_contains(repos, repo)) {
                        _cleanup_free_ char *d =
                            xasprintf("%s@%s", image_repo_familiar(repo), img->manifest_digest);
                        json_object_array_add(digests, json_object_new_string(d));
                        repos = strv_push(repos, xstrdup(repo));
                }
                image_ref_free(&ref);
        }
        json_object_object_add(o, "RepoTags", tags);
        json_object_object_add(o, "RepoDigests", digests);
        add_str(o, "Parent", "");
        struct json_object *hist = NULL, *comment = NULL;
        if (json_object_object_get_ex(cfg, "history", &hist) &&
            json_object_is_type(hist, json_type_array) && json_object_array_length(hist)) {
                struct json_object *last =
                    json_object_array_get_idx(hist, json_object_array_length(hist) - 1);
                json_object_object_get_ex(last, "comment", &comment);
        }
        json_object_object_add(o, "Comment",
                               comment ? json_object_get(comment) : json_object_new_string(""));
        json_object_object_add(o, "Created", copy_or(cfg, "created", json_object_new_string("")));
        json_object_object_add(o, "DockerVersion",
                               copy_or(cfg, "docker_version", json_object_new_string("")));
        json_object_object_add(o, "Author", copy_or(cfg, "author", json_object_new_string("")));
        json_object_object_add(o, "Config", copy_or(cfg, "config", json_object_new_object()));
        json_object_object_add(o, "Architecture",
                               copy_or(cfg, "architecture", json_object_new_string("")));
        struct json_object *variant = NULL;
        if (json_object_object_get_ex(cfg, "variant", &variant))
                json_object_object_add(o, "Variant", json_object_get(variant));
        json_object_object_add(o, "Os", copy_or(cfg, "os", json_object_new_string("")));
        json_object_object_add(o, "Size", json_object_new_int64(img->size));
        json_object_object_add(o, "VirtualSize", json_object_new_int64(img->size));
        struct json_object *gd = json_object_new_object(), *data = json_object_new_object();
        add_str(gd, "Name", "overlay");
        _cleanup_free_ char *lower = xstrdup("");
        size_t nl = strv_len(img->layers);
        for (size_t i = nl; i-- > 0;) {
                _cleanup_free_ char *dir = store_layer_dir(s, img->layers[i]);
                char *next = xasprintf("%s%s%s", lower, *lower ? ":" : "", dir);
                free(lower);
                lower = next;
        }
        if (nl)
                add_str(data, "LowerDir", lower);
        json_object_object_add(gd, "Data", data);
        json_object_object_add(o, "GraphDriver", gd);
        struct json_object *rootfs = json_object_new_object(), *layers = NULL, *rf = NULL;
        add_str(rootfs, "Type", "layers");
        if (json_object_object_get_ex(cfg, "rootfs", &rf))
                json_object_object_get_ex(rf, "diff_ids", &layers);
        json_object_object_add(rootfs, "Layers",
                               layers ? json_object_get(layers) : json_object_new_array());
        json_object_object_add(o, "RootFS", rootfs);
        struct json_object *meta = json_object_new_object();
        char added[64];
        format_rfc3339(img->added, added, sizeof(added));
        add_str(meta, "LastTagTime", added);
        json_object_object_add(o, "Metadata", meta);
        add_str(o, "ManifestDigest", img->manifest_digest);
        add_str(o, "ManifestMediaType", img->manifest_type);
        *ret = o;
        return 0;
}

int cmd_image_inspect(struct husk_ctx *ctx, int argc, char **argv)
{
        const char *format = NULL;
        int st = husk_inspect_args(ctx, argc, argv, "f:h",
                                   "Usage: husk image inspect [--format FMT] IMAGE...\n\n"
                                   "Show details of images as JSON.\n",
                                   "IMAGE", &format);
        if (st >= 0)
                return st;
        struct error err = {0};
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_json_ struct json_object *all = json_object_new_array();
        int status = 0;
        for (int i = optind; i < argc; i++) {
                struct image img = {0};
                struct json_object *doc = NULL;
                if (image_lookup(s, argv[i], &img, NULL, &err) < 0 ||
                    inspect_doc(s, &img, &doc, &err) < 0) {
                        status = husk_fail(ctx, &err);
                        image_free(&img);
                        continue;
                }
                image_free(&img);
                json_object_array_add(all, doc);
        }
        return husk_print_inspect(ctx, all, format, status);
}

static const struct fmt_header history_headers[] = {
    {"ID", "IMAGE"},
    {"CreatedSince", "CREATED"},
    {"CreatedAt", "CREATED AT"},
    {"CreatedBy", "CREATED BY"},
    {"Size", "SIZE"},
    {"Comment", "COMMENT"},
    {},
};

static int64_t layer_size(struct store *s, const char *chain)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct error e = {0};
        if (db_prepare(s->db, "SELECT size FROM layers WHERE chain_id = ?1", &st, &e) < 0)
                return 0;
        sqlite3_bind_text(st, 1, chain, -1, SQLITE_STATIC);
        return db_step(s->db, st, &e) > 0 ? sqlite3_column_int64(st, 0) : 0;
}

int cmd_history(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'}, {"no-trunc", no_argument, NULL, 'n'},
            {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
            {"human", required_argument, NULL, 'H'},  {},
        };
        const char *format = NULL;
        bool no_trunc = false, quiet = false;
        int c;
        while ((c = getopt_long(argc, argv, "qhH:", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        format = optarg;
                        break;
                case 'n':
                        no_trunc = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'H':
                        break;
                case 'h':
                        printf("Usage: husk history [OPTIONS] IMAGE\n\nShow the history of an "
                               "image.\n\nOptions:\n      --format FMT\n      --no-trunc\n  -q, "
                               "--quiet\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (argc - optind != 1)
                return husk_usage_error(ctx, "want exactly one IMAGE");
        struct error err = {0};
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_(image_free) struct image img = {0};
        if (image_lookup(s, argv[optind], &img, NULL, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_free_ char *ctext = NULL;
        _cleanup_json_ struct json_object *cfg = NULL;
        if (image_read_config(s, &img, &ctext, &err) < 0 ||
            json_parse_string(img.id, ctext, &cfg, &err) < 0)
                return husk_fail(ctx, &err);
        struct json_object *hist = NULL;
        if (!json_object_object_get_ex(cfg, "history", &hist) ||
            !json_object_is_type(hist, json_type_array))
                hist = NULL;
        size_t nh = hist ? json_object_array_length(hist) : 0;
        /* Pair entries that made a layer with the layers, bottom up. */
        size_t nl = strv_len(img.layers), li = 0;
        int64_t now = (int64_t)time(NULL);
        struct json_object **rows = xzalloc((nh + 1) * sizeof(*rows));
        for (size_t i = 0; i < nh; i++) {
                struct json_object *h = json_object_array_get_idx(hist, i), *v = NULL;
                bool empty =
                    json_object_object_get_ex(h, "empty_layer", &v) && json_object_get_boolean(v);
                int64_t size = 0;
                if (!empty && li < nl)
                        size = layer_size(s, img.layers[li++]);
                const char *created =
                    json_object_object_get_ex(h, "created", &v) ? json_object_get_string(v) : "";
                int64_t t = 0;
                parse_rfc3339(created, &t);
                const char *by =
                    json_object_object_get_ex(h, "created_by", &v) ? json_object_get_string(v) : "";
                const char *comment =
                    json_object_object_get_ex(h, "comment", &v) ? json_object_get_string(v) : "";
                char since[64], sz[32], idbuf[80];
                format_since(t, now, since, sizeof(since));
                format_size(size, sz, sizeof(sz));
                _cleanup_free_ char *shown_by = NULL;
                if (!no_trunc && strlen(by) > 45)
                        shown_by = xasprintf("%.44s…", by);
                if (i == nh - 1)
                        snprintf(idbuf, sizeof(idbuf), "%.*s", no_trunc ? 71 : 12,
                                 no_trunc ? img.id : digest_hex(img.id));
                else
                        snprintf(idbuf, sizeof(idbuf), "<missing>");
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "ID", json_object_new_string(idbuf));
                json_object_object_add(o, "CreatedAt", json_object_new_string(created));
                json_object_object_add(o, "CreatedSince", json_object_new_string(since));
                json_object_object_add(o, "CreatedBy",
                                       json_object_new_string(shown_by ? shown_by : by));
                json_object_object_add(o, "Size", json_object_new_string(sz));
                json_object_object_add(o, "Comment", json_object_new_string(comment));
                rows[nh - 1 - i] = o; /* newest first */
        }
        int r = 0;
        if (quiet) {
                for (size_t i = 0; i < nh; i++)
                        printf("%s\n",
                               json_object_get_string(json_object_object_get(rows[i], "ID")));
        } else {
                r = format_print(stdout, format,
                                 "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{."
                                 "Comment}}",
                                 history_headers, rows, nh, &err);
        }
        for (size_t i = 0; i < nh; i++)
                json_object_put(rows[i]);
        free(rows);
        return r < 0 ? husk_fail(ctx, &err) : 0;
}
