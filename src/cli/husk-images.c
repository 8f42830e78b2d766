/* husk images / husk image ls, and the `husk image` command group. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/format.h"
#include "cli/husk.h"
#include "core/json.h"
#include "core/util.h"
#include "image/image.h"
#include "image/ref.h"

static const struct fmt_header image_headers[] = {
    {"Repository", "REPOSITORY"},
    {"Tag", "TAG"},
    {"ID", "IMAGE ID"},
    {"CreatedSince", "CREATED"},
    {"CreatedAt", "CREATED AT"},
    {"Size", "SIZE"},
    {"Digest", "DIGEST"},
    {"VirtualSize", "VIRTUAL SIZE"},
    {},
};

static void images_usage(FILE *out)
{
        fprintf(out, "Usage: husk images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
                     "List images.\n\n"
                     "Options:\n"
                     "  -a, --all          show all images (husk keeps no intermediate images)\n"
                     "      --digests      show digests\n"
                     "      --format FMT   'table', 'json', 'table TEMPLATE' or a Go template\n"
                     "      --no-trunc     do not truncate output\n"
                     "  -q, --quiet        only show image IDs\n");
}

static struct json_object *image_row(const struct image *img, const char *name, bool no_trunc,
                                     int64_t now)
{
        struct json_object *o = json_object_new_object();
        char repo[512] = "<none>", tag[256] = "<none>";
        if (name) {
                /* name is repo:tag in full form */
                const char *colon = strrchr(name, ':');
                const char *slash = strrchr(name, '/');
                if (colon && (!slash || colon > slash)) {
                        snprintf(repo, sizeof(repo), "%.*s", (int)(colon - name), name);
                        snprintf(tag, sizeof(tag), "%s", colon + 1);
                } else {
                        snprintf(repo, sizeof(repo), "%s", name);
                }
                memmove(repo, image_repo_familiar(repo), strlen(image_repo_familiar(repo)) + 1);
        }
        char id[80], since[64], size[32], at[64];
        snprintf(id, sizeof(id), "%s", no_trunc ? img->id : digest_hex(img->id));
        if (!no_trunc)
                id[12] = '\0';
        format_since(img->created, now, since, sizeof(since));
        format_size(img->size, size, sizeof(size));
        time_t t = (time_t)img->created;
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
        json_object_object_add(o, "Containers", json_object_new_string("N/A"));
        json_object_object_add(o, "CreatedAt", json_object_new_string(at));
        json_object_object_add(o, "CreatedSince", json_object_new_string(since));
        json_object_object_add(o, "Digest", json_object_new_string(img->manifest_digest));
        json_object_object_add(o, "ID", json_object_new_string(id));
        json_object_object_add(o, "Repository", json_object_new_string(repo));
        json_object_object_add(o, "SharedSize", json_object_new_string("N/A"));
        json_object_object_add(o, "Size", json_object_new_string(size));
        json_object_object_add(o, "Tag", json_object_new_string(tag));
        json_object_object_add(o, "UniqueSize", json_object_new_string("N/A"));
        json_object_object_add(o, "VirtualSize", json_object_new_string(size));
        return o;
}

/* Does full name "repo:tag" match the user's filter ("busybox", "busybox:1")? */
static bool name_matches(const char *full, const struct image_ref *f, bool tag_given)
{
        _cleanup_free_ char *repo = image_ref_repo(f);
        size_t n = strlen(repo);
        if (strncmp(full, repo, n) != 0 || full[n] != ':')
                return false;
        return !tag_given || strcmp(full + n + 1, f->tag) == 0;
}

int cmd_images(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"all", no_argument, NULL, 'a'},
            {"digests", no_argument, NULL, 'd'},
            {"format", required_argument, NULL, 'f'},
            {"no-trunc", no_argument, NULL, 'n'},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool quiet = false, digests = false, no_trunc = false;
        const char *format = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "aqh", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        break;
                case 'd':
                        digests = true;
                        break;
                case 'f':
                        format = optarg;
                        break;
                case 'n':
                        no_trunc = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'h':
                        images_usage(stdout);
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (argc - optind > 1)
                return husk_usage_error(ctx, "want at most one REPOSITORY[:TAG]");
        struct error err = {0};
        _cleanup_ref_ struct image_ref filter = {0};
        bool filtered = optind < argc, tag_given = false;
        if (filtered) {
                if (image_ref_parse(argv[optind], true, &filter, &err) < 0)
                        return husk_fail(ctx, &err);
                tag_given = filter.tag != NULL;
        }
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        struct image *imgs = NULL;
        size_t n = 0;
        if (image_list(s, &imgs, &n, &err) < 0)
                return husk_fail(ctx, &err);
        int64_t now = (int64_t)time(NULL);
        struct json_object **rows = NULL;
        size_t nrows = 0;
        _cleanup_strv_ char **seen = NULL;
        for (size_t i = 0; i < n; i++) {
                struct image *img = &imgs[i];
                if (quiet) {
                        bool match = !filtered;
                        for (char **nm = img->names; filtered && nm && *nm; nm++)
                                match |= name_matches(*nm, &filter, tag_given);
                        if (match && !strv_contains(seen, img->id)) {
                                seen = strv_push(seen, xstrdup(img->id));
                                printf("%.*s\n", no_trunc ? 71 : 12,
                                       no_trunc ? img->id : digest_hex(img->id));
                        }
                        continue;
                }
                if (!img->names && !filtered) {
                        rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
                        rows[nrows++] = image_row(img, NULL, no_trunc, now);
                }
                for (char **nm = img->names; nm && *nm; nm++) {
                        if (filtered && !name_matches(*nm, &filter, tag_given))
                                continue;
                        rows = xrealloc(rows, (nrows + 1) * sizeof(*rows));
                        rows[nrows++] = image_row(img, *nm, no_trunc, now);
                }
        }
        int r = 0;
        if (!quiet)
                r = format_print(stdout, format,
                                 digests
                                     ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{."
                                       "CreatedSince}}\t{{.Size}}"
                                     : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{."
                                       "CreatedSince}}\t{{.Size}}",
                                 image_headers, rows, nrows, &err);
        for (size_t i = 0; i < nrows; i++)
                json_object_put(rows[i]);
        free(rows);
        image_free_array(imgs, n);
        return r < 0 ? husk_fail(ctx, &err) : 0;
}

static const struct husk_command image_commands[] = {
    {"history", cmd_history, "Show the history of an image"},
    {"import", cmd_import, "Import a root filesystem tarball as an image"},
    {"inspect", cmd_image_inspect, "Show details of images"},
    {"list", cmd_images, "List images"},
    {"load", cmd_load, "Load images from an archive"},
    {"ls", cmd_images, "List images"},
    {"prune", cmd_image_prune, "Remove unused images"},
    {"rm", cmd_rmi, "Remove images"},
    {"save", cmd_save, "Save images to an archive"},
    {"tag", cmd_tag, "Give an image another name"},
};

int cmd_image(struct husk_ctx *ctx, int argc, char **argv)
{
        return husk_subcommand(ctx, "image", "an", "Manage images.", image_commands,
                               ARRAY_SIZE(image_commands), argc, argv);
}
