/* husk rmi / image rm, husk tag, husk image prune, husk system df. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/format.h"
#include "cli/husk.h"
#include "engine/volume.h" /* volumes branch */
#include "engine/ctr-store.h"
#include "engine/engine.h"
#include "image/fsutil.h"
#include "core/util.h"
#include "image/image.h"
#include "image/ref.h"

static void print_untagged(const char *full)
{
        struct image_ref ref = {0};
        struct error e = {0};
        if (image_ref_parse(full, false, &ref, &e) == 0) {
                _cleanup_free_ char *fam = image_ref_familiar(&ref);
                printf("Untagged: %s\n", fam);
                image_ref_free(&ref);
        } else {
                printf("Untagged: %s\n", full);
        }
}

/* Removes one image (by name: only that name unless it is the last). */
static int rmi_one(struct store *s, const char *what, bool force, struct error *err)
{
        _cleanup_(image_free) struct image img = {0};
        _cleanup_free_ char *name = NULL;
        int r = image_lookup(s, what, &img, &name, err);
        if (r < 0)
                return r;
        size_t nnames = strv_len(img.names);
        if (name && nnames > 1) {
                r = image_untag(s, name, err);
                if (r < 0)
                        return r;
                print_untagged(name);
                return 0;
        }
        int users = 0;
        r = ctr_count_by_image(s->db, img.id, &users, err);
        if (r < 0)
                return r;
        if (users > 0 && !force)
                return error_msg(err, -EBUSY,
                                 "conflict: unable to remove image %s (must force) - %d "
                                 "container%s use%s it: remove %s first",
                                 name ? name : what, users, users > 1 ? "s" : "",
                                 users > 1 ? "" : "s", users > 1 ? "them" : "it");
        if (users > 0) {
                /* As docker: forced, the names go and the image stays for its containers. */
                for (char **n = img.names; n && *n; n++) {
                        if ((r = image_untag(s, *n, err)) < 0)
                                return r;
                        print_untagged(*n);
                }
                return 0;
        }
        if (!name && nnames > 1 && !force)
                return error_msg(err, -EBUSY,
                                 "conflict: unable to delete %.12s (must be forced) - image is "
                                 "referenced in multiple repositories",
                                 digest_hex(img.id));
        r = db_begin(s->db, err);
        if (r < 0)
                return r;
        r = image_delete(s, img.id, err);
        if (r < 0) {
                db_rollback(s->db);
                return r;
        }
        r = db_commit(s->db, err);
        if (r < 0)
                return r;
        for (char **n = img.names; n && *n; n++)
                print_untagged(*n);
        printf("Deleted: %s\n", img.id);
        return 0;
}

int cmd_rmi(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'},
            {"no-prune", no_argument, NULL, 'n'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool force = false;
        int c;
        while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
                if (c == 'f') {
                        force = true;
                } else if (c == 'n') {
                        continue;
                } else if (c == 'h') {
                        printf("Usage: husk rmi [-f] IMAGE...\n\nRemove images. A name removes "
                               "only that name while the image has others;\nan id removes the "
                               "image (-f when it has several names).\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one IMAGE");
        struct error err = {0};
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        int status = 0;
        for (int i = optind; i < argc; i++)
                if (rmi_one(s, argv[i], force, &err) < 0)
                        status = husk_fail(ctx, &err);
        if (store_gc(s, NULL, &err) < 0)
                status = husk_fail(ctx, &err);
        return status;
}

int cmd_tag(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: husk tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
                               "Give an image another name.\n");
                        return 0;
                }
                return husk_bad_option(ctx);
        }
        if (argc - optind != 2)
                return husk_usage_error(ctx, "want SOURCE_IMAGE and TARGET_IMAGE");
        struct error err = {0};
        struct image_ref target = {0};
        if (image_ref_parse(argv[optind + 1], false, &target, &err) < 0)
                return husk_fail(ctx, &err);
        image_ref_free(&target);
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_(image_free) struct image img = {0};
        if (image_lookup(s, argv[optind], &img, NULL, &err) < 0 ||
            image_tag(s, img.id, argv[optind + 1], &err) < 0)
                return husk_fail(ctx, &err);
        return 0;
}

static bool confirm(const char *question)
{
        fprintf(stderr, "%s [y/N] ", question);
        char line[16];
        if (!fgets(line, sizeof(line), stdin))
                return false;
        return line[0] == 'y' || line[0] == 'Y';
}

int cmd_image_prune(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"all", no_argument, NULL, 'a'},
            {"force", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool all = false, force = false;
        int c;
        while ((c = getopt_long(argc, argv, "afh", opts, NULL)) != -1) {
                if (c == 'a') {
                        all = true;
                } else if (c == 'f') {
                        force = true;
                } else if (c == 'h') {
                        printf("Usage: husk image prune [-a] [-f]\n\nRemove images without a "
                               "name (-a: every image no container uses).\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (optind < argc)
                return husk_usage_error(ctx, "takes no arguments");
        if (!force && !confirm(all ? "WARNING! This will remove all images without at least one "
                                     "container associated to them.\nAre you sure you want to "
                                     "continue?"
                                   : "WARNING! This will remove all dangling images.\nAre you "
                                     "sure you want to continue?"))
                return 0;
        struct error err = {0};
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        struct image *imgs = NULL;
        size_t n = 0;
        if (image_list(s, &imgs, &n, &err) < 0)
                return husk_fail(ctx, &err);
        int status = 0;
        bool header = false;
        for (size_t i = 0; i < n; i++) {
                int users = 0;
                if (ctr_count_by_image(s->db, imgs[i].id, &users, &err) < 0) {
                        status = husk_fail(ctx, &err);
                        continue;
                }
                if (users > 0 || (!all && imgs[i].names))
                        continue;
                if (image_delete(s, imgs[i].id, &err) < 0) {
                        status = husk_fail(ctx, &err);
                        continue;
                }
                if (!header)
                        printf("Deleted Images:\n");
                header = true;
                for (char **nm = imgs[i].names; nm && *nm; nm++)
                        printf("untagged: %s\n", *nm);
                printf("deleted: %s\n", imgs[i].id);
        }
        image_free_array(imgs, n);
        struct gc_stats st = {0};
        if (store_gc(s, &st, &err) < 0)
                return husk_fail(ctx, &err);
        char size[32];
        format_size((int64_t)st.bytes, size, sizeof(size));
        printf("%sTotal reclaimed space: %s\n", header ? "\n" : "", size);
        return status;
}

static int system_df(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *format = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'f') {
                        format = optarg;
                } else if (c == 'h') {
                        printf("Usage: husk system df [--format FMT]\n\nShow disk usage.\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        struct error err = {0};
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int64_t count = 0, size = 0;
        if (db_prepare(s->db,
                       "SELECT (SELECT count(*) FROM images), (SELECT coalesce(sum(size), 0) FROM "
                       "layers WHERE chain_id IN (SELECT chain_id FROM image_layers)), "
                       /* Reclaimable: layers no image that a container uses needs. */
                       "(SELECT coalesce(sum(size), 0) FROM layers WHERE chain_id IN (SELECT "
                       "chain_id FROM image_layers) AND chain_id NOT IN (SELECT chain_id FROM "
                       "image_layers WHERE image_id IN (SELECT image_id FROM containers)))",
                       &st, &err) < 0 ||
            db_step(s->db, st, &err) < 0)
                return husk_fail(ctx, &err);
        count = sqlite3_column_int64(st, 0);
        size = sqlite3_column_int64(st, 1);
        int64_t ireclaim = sqlite3_column_int64(st, 2);
        /* Containers: their writable layers; running ones (a live monitor) are active. */
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr *l = NULL;
        size_t nctr = 0;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            ctr_list(e->store->db, &l, &nctr, &err) < 0)
                return husk_fail(ctx, &err);
        int64_t csize = 0, creclaim = 0, crunning = 0, images_used = 0;
        for (size_t i = 0; i < nctr; i++) {
                bool gone = false;
                if (engine_refresh(e, &l[i], &gone, &err) < 0 || gone)
                        continue;
                _cleanup_free_ char *upper = xasprintf("%s/%s/upper", e->ctr_root, l[i].id);
                _cleanup_close_ int fd = open(upper, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                uint64_t bytes = 0;
                if (fd >= 0)
                        tree_size_at(fd, &bytes);
                csize += (int64_t)bytes;
                if (strcmp(l[i].state, "running") == 0)
                        crunning++;
                else
                        creclaim += (int64_t)bytes;
        }
        ctr_free_array(l, nctr);
        _cleanup_stmt_ sqlite3_stmt *used = NULL;
        if (db_prepare(s->db, "SELECT count(DISTINCT image_id) FROM containers", &used, &err) < 0 ||
            db_step(s->db, used, &err) < 0)
                return husk_fail(ctx, &err);
        images_used = sqlite3_column_int64(used, 0);
        char csz[32], crec[32];
        format_size(csize, csz, sizeof(csz));
        format_size(creclaim, crec, sizeof(crec));
        _cleanup_free_ char *ctotal = xasprintf("%zu", nctr);
        _cleanup_free_ char *cactive = xasprintf("%lld", (long long)crunning);
        _cleanup_free_ char *iactive = xasprintf("%lld", (long long)images_used);
        _cleanup_free_ char *creclaim_s =
            xasprintf("%s (%d%%)", crec, csize ? (int)(creclaim * 100 / csize) : 0);
        /* volumes branch: volumes, those a container uses are active */
        struct volume *vl = NULL;
        size_t nvol = 0;
        if (volume_list(e, &vl, &nvol, &err) < 0)
                return husk_fail(ctx, &err);
        int64_t vsize = 0, vreclaim = 0, vused = 0;
        for (size_t i = 0; i < nvol; i++) {
                int64_t b = (int64_t)volume_size(e, vl[i].name);
                _cleanup_strv_ char **users = NULL;
                if (volume_users(e, vl[i].name, &users, &err) < 0) {
                        volume_free_array(vl, nvol);
                        return husk_fail(ctx, &err);
                }
                vsize += b;
                if (users)
                        vused++;
                else
                        vreclaim += b;
        }
        volume_free_array(vl, nvol);
        char vsz[32], vrec[32];
        format_size(vsize, vsz, sizeof(vsz));
        format_size(vreclaim, vrec, sizeof(vrec));
        _cleanup_free_ char *vtotal = xasprintf("%zu", nvol);
        _cleanup_free_ char *vactive = xasprintf("%lld", (long long)vused);
        _cleanup_free_ char *vreclaim_s =
            xasprintf("%s (%d%%)", vrec, vsize ? (int)(vreclaim * 100 / vsize) : 0);
        char sz[32];
        format_size(size, sz, sizeof(sz));
        _cleanup_free_ char *total = xasprintf("%lld", (long long)count);
        char isz[32];
        format_size(ireclaim, isz, sizeof(isz));
        _cleanup_free_ char *reclaim =
            xasprintf("%s (%d%%)", isz, size ? (int)(ireclaim * 100 / size) : 0);
        struct {
                const char *type, *total, *active, *size, *reclaim;
        } rows[] = {
            {"Images", total, iactive, sz, size ? reclaim : "0B"},
            {"Containers", ctotal, cactive, csz, csize ? creclaim_s : "0B"},
            {"Local Volumes", vtotal, vactive, vsz, vsize ? vreclaim_s : "0B"},
            {"Build Cache", "0", "0", "0B", "0B"},
        };
        struct json_object *objs[ARRAY_SIZE(rows)];
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "Type", json_object_new_string(rows[i].type));
                json_object_object_add(o, "TotalCount", json_object_new_string(rows[i].total));
                json_object_object_add(o, "Active", json_object_new_string(rows[i].active));
                json_object_object_add(o, "Size", json_object_new_string(rows[i].size));
                json_object_object_add(o, "Reclaimable", json_object_new_string(rows[i].reclaim));
                objs[i] = o;
        }
        static const struct fmt_header headers[] = {
            {"Type", "TYPE"}, {"TotalCount", "TOTAL"},        {"Active", "ACTIVE"},
            {"Size", "SIZE"}, {"Reclaimable", "RECLAIMABLE"}, {},
        };
        int r = format_print(stdout, format,
                             "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{."
                             "Reclaimable}}",
                             headers, objs, ARRAY_SIZE(rows), &err);
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
                json_object_put(objs[i]);
        return r < 0 ? husk_fail(ctx, &err) : 0;
}

int cmd_system(struct husk_ctx *ctx, int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                fprintf(argc < 2 ? stderr : stdout,
                        "Usage: husk system COMMAND\n\nCommands:\n  df   Show disk usage\n");
                return argc < 2 ? HUSK_EXIT_USAGE : 0;
        }
        if (strcmp(argv[1], "df") == 0) {
                ctx->cmd = "system df";
                optind = 0;
                argv[1] = "husk system df";
                return system_df(ctx, argc - 1, argv + 1);
        }
        return husk_usage_error(ctx, "'%s' is not a system command", argv[1]);
}
