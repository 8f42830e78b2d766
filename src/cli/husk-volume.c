/* husk volume: create, ls, inspect, rm, prune (docker's CLI). The logic is
 * in engine/volume.c; this file parses options and prints. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/format.h"
#include "cli/husk.h"
#include "core/json.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/volume.h"

static int open_engine(struct husk_ctx *ctx, struct engine **e)
{
        struct error err = {0};
        if (engine_open(ctx->root, ctx->runroot, e, &err) < 0)
                return husk_fail(ctx, &err);
        return 0;
}

static int cmd_volume_create(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"label", required_argument, NULL, 'l'},
            {"driver", required_argument, NULL, 'd'},
            {"name", required_argument, NULL, 'n'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        _cleanup_strv_ char **labels = NULL;
        const char *name = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
                switch (c) {
                case 'l':
                        if (!optarg[0] || optarg[0] == '=')
                                return husk_usage_error(ctx, "--label '%s': no key", optarg);
                        labels = strv_push(labels, xstrdup(optarg));
                        break;
                case 'd':
                        if (strcmp(optarg, "local") != 0)
                                return husk_usage_error(
                                    ctx, "--driver '%s': only the 'local' driver exists", optarg);
                        break;
                case 'n':
                        name = optarg;
                        break;
                case 'h':
                        printf("Usage: husk volume create [OPTIONS] [VOLUME]\n\n"
                               "Create a volume (no name: a random 64-hex one).\n\n"
                               "Options:\n"
                               "  -d, --driver local   the driver (only local)\n"
                               "      --label K=V      set a label\n"
                               "      --name NAME      the volume's name\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (argc - optind > 1)
                return husk_usage_error(ctx, "want at most one VOLUME name");
        if (argc - optind == 1) {
                if (name && strcmp(name, argv[optind]) != 0)
                        return husk_usage_error(ctx, "conflicting names: --name '%s' and '%s'",
                                                name, argv[optind]);
                name = argv[optind];
        }
        _cleanup_engine_ struct engine *e = NULL;
        int r = open_engine(ctx, &e);
        if (r)
                return r;
        struct error err = {0};
        struct volume v = {0};
        if (volume_create(e, name, labels, false, &v, &err) < 0)
                return husk_fail(ctx, &err);
        printf("%s\n", v.name);
        volume_free(&v);
        return 0;
}

static void created_text(int64_t t, char *buf, size_t len)
{
        time_t tt = (time_t)t;
        struct tm tm;
        localtime_r(&tt, &tm);
        strftime(buf, len, "%Y-%m-%dT%H:%M:%S%z", &tm);
        /* docker: +01:00, not +0100 */
        size_t n = strlen(buf);
        if (n > 4 && n + 2 < len) {
                memmove(buf + n - 1, buf + n - 2, 3);
                buf[n - 2] = ':';
        }
}

static struct json_object *volume_json(struct engine *e, const struct volume *v, bool for_ls)
{
        struct json_object *o = json_object_new_object();
        char at[64];
        created_text(v->created, at, sizeof(at));
        _cleanup_free_ char *mp = volume_mountpoint(e, v->name);
        struct json_object *labels = NULL;
        struct error ign = {0};
        if (json_parse_string("labels", v->labels, &labels, &ign) < 0) {
                error_clear(&ign);
                labels = json_object_new_object();
        }
        json_object_object_add(o, "CreatedAt", json_object_new_string(at));
        json_object_object_add(o, "Driver", json_object_new_string(v->driver));
        if (for_ls) {
                /* ls --format shows Labels as docker's "k=v,k2=v2" text. */
                _cleanup_strv_ char **kv = NULL;
                json_object_object_foreach(labels, k, val) kv =
                    strv_push(kv, xasprintf("%s=%s", k, json_object_get_string(val)));
                _cleanup_free_ char *text = kv ? strv_join(kv, ",") : xstrdup("");
                json_object_object_add(o, "Labels", json_object_new_string(text));
                json_object_put(labels);
        } else {
                if (json_object_object_length(labels) == 0) {
                        json_object_put(labels);
                        labels = NULL;
                }
                json_object_object_add(o, "Labels", labels);
        }
        json_object_object_add(o, "Mountpoint", json_object_new_string(mp));
        json_object_object_add(o, "Name", json_object_new_string(v->name));
        json_object_object_add(o, "Options", NULL);
        json_object_object_add(o, "Scope", json_object_new_string("local"));
        return o;
}

static const struct fmt_header vol_headers[] = {
    {"Name", "VOLUME NAME"},
    {"Driver", "DRIVER"},
    {"Scope", "SCOPE"},
    {"Labels", "LABELS"},
    {"Mountpoint", "MOUNTPOINT"},
    {"CreatedAt", "CREATED AT"},
    {},
};

/* docker's volume ls filters: dangling=true|false, name=SUBSTRING,
 * label=KEY or label=KEY=VALUE, driver=NAME. Filters of one key are ORed,
 * different keys ANDed. */
static int check_filters(struct husk_ctx *ctx, char *const *filters)
{
        for (char *const *f = filters; f && *f; f++) {
                const char *eq = strchr(*f, '=');
                size_t k = eq ? (size_t)(eq - *f) : 0;
                bool known = eq && ((k == 8 && !strncmp(*f, "dangling", k)) ||
                                    (k == 4 && !strncmp(*f, "name", k)) ||
                                    (k == 5 && !strncmp(*f, "label", k)) ||
                                    (k == 6 && !strncmp(*f, "driver", k)));
                if (!known)
                        return husk_usage_error(ctx,
                                                "--filter '%s': want dangling=BOOL, name=N, "
                                                "label=K[=V] or driver=D",
                                                *f);
                if (k == 8 && strcmp(eq + 1, "true") && strcmp(eq + 1, "false") &&
                    strcmp(eq + 1, "1") && strcmp(eq + 1, "0"))
                        return husk_usage_error(ctx, "--filter '%s': dangling takes true or false",
                                                *f);
        }
        return 0;
}

static bool filter_one(struct engine *e, const struct volume *v, const char *key, const char *val)
{
        if (!strcmp(key, "name"))
                return strstr(v->name, val) != NULL;
        if (!strcmp(key, "driver"))
                return !strcmp(v->driver, val);
        if (!strcmp(key, "dangling")) {
                _cleanup_strv_ char **users = NULL;
                struct error ign = {0};
                if (volume_users(e, v->name, &users, &ign) < 0)
                        return false;
                bool want = !strcmp(val, "true") || !strcmp(val, "1");
                return (users == NULL) == want;
        }
        /* label */
        _cleanup_json_ struct json_object *l = NULL;
        struct error ign = {0};
        if (json_parse_string("labels", v->labels, &l, &ign) < 0)
                return false;
        const char *eq = strchr(val, '=');
        _cleanup_free_ char *k = eq ? xstrndup(val, (size_t)(eq - val)) : xstrdup(val);
        struct json_object *have = NULL;
        if (!json_object_object_get_ex(l, k, &have))
                return false;
        return !eq || !strcmp(json_object_get_string(have), eq + 1);
}

static bool filter_match(struct engine *e, const struct volume *v, char *const *filters)
{
        static const char *const keys[] = {"dangling", "name", "label", "driver"};
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
                size_t k = strlen(keys[i]);
                bool any = false, hit = false;
                for (char *const *f = filters; f && *f; f++) {
                        if (strncmp(*f, keys[i], k) || (*f)[k] != '=')
                                continue;
                        any = true;
                        hit = hit || filter_one(e, v, keys[i], *f + k + 1);
                }
                if (any && !hit)
                        return false;
        }
        return true;
}

static int cmd_volume_ls(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"quiet", no_argument, NULL, 'q'},
            {"format", required_argument, NULL, 'F'},
            {"filter", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool quiet = false;
        const char *format = NULL;
        _cleanup_strv_ char **filters = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "qf:h", opts, NULL)) != -1) {
                switch (c) {
                case 'q':
                        quiet = true;
                        break;
                case 'F':
                        format = optarg;
                        break;
                case 'f':
                        filters = strv_push(filters, xstrdup(optarg));
                        break;
                case 'h':
                        printf("Usage: husk volume ls [OPTIONS]\n\nList volumes.\n\n"
                               "Options:\n"
                               "  -f, --filter K=V   dangling=true|false, name=N, label=K[=V], "
                               "driver=D\n"
                               "      --format FMT   'table', 'json', 'table TEMPLATE' or a Go "
                               "template\n"
                               "  -q, --quiet        only show volume names\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (optind != argc)
                return husk_usage_error(ctx, "takes no arguments");
        int r = check_filters(ctx, filters);
        if (r)
                return r;
        _cleanup_engine_ struct engine *e = NULL;
        if ((r = open_engine(ctx, &e)))
                return r;
        struct error err = {0};
        struct volume *l = NULL;
        size_t n = 0;
        if (volume_list(e, &l, &n, &err) < 0)
                return husk_fail(ctx, &err);
        struct json_object **rows = xzalloc((n + 1) * sizeof(*rows));
        size_t shown = 0;
        for (size_t i = 0; i < n; i++) {
                if (!filter_match(e, &l[i], filters))
                        continue;
                if (quiet)
                        printf("%s\n", l[i].name);
                else
                        rows[shown++] = volume_json(e, &l[i], true);
        }
        if (!quiet)
                r = format_print(stdout, format, "table {{.Driver}}\t{{.Name}}", vol_headers, rows,
                                 shown, &err);
        for (size_t i = 0; i < n; i++)
                if (rows[i])
                        json_object_put(rows[i]);
        free(rows);
        volume_free_array(l, n);
        return r < 0 ? husk_fail(ctx, &err) : 0;
}

static int cmd_volume_inspect(struct husk_ctx *ctx, int argc, char **argv)
{
        const char *format = NULL;
        int st = husk_inspect_args(ctx, argc, argv, "f:h",
                                   "Usage: husk volume inspect [OPTIONS] VOLUME...\n\n"
                                   "Show details of volumes as JSON.\n\n"
                                   "Options:\n"
                                   "  -f, --format FMT   a Go template for each volume\n",
                                   "VOLUME", &format);
        if (st >= 0)
                return st;
        _cleanup_engine_ struct engine *e = NULL;
        int r = open_engine(ctx, &e);
        if (r)
                return r;
        _cleanup_json_ struct json_object *all = json_object_new_array();
        int status = 0;
        struct error err = {0};
        for (int i = optind; i < argc; i++) {
                struct volume v = {0};
                if (volume_get(e, argv[i], &v, &err) < 0) {
                        status = husk_fail(ctx, &err);
                        error_clear(&err);
                        continue;
                }
                json_object_array_add(all, volume_json(e, &v, false));
                volume_free(&v);
        }
        return husk_print_inspect(ctx, all, format, status);
}
static int cmd_volume_rm(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool force = false;
        int c;
        while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'h':
                        printf("Usage: husk volume rm [-f] VOLUME...\n\n"
                               "Remove volumes (not one a container uses).\n\n"
                               "Options:\n"
                               "  -f, --force   no error for volumes that do not exist\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one VOLUME");
        _cleanup_engine_ struct engine *e = NULL;
        int r = open_engine(ctx, &e);
        if (r)
                return r;
        int status = 0;
        for (int i = optind; i < argc; i++) {
                struct error err = {0};
                if (volume_remove(e, argv[i], force, &err) < 0) {
                        status = husk_fail(ctx, &err);
                        error_clear(&err);
                        continue;
                }
                printf("%s\n", argv[i]);
        }
        return status;
}

static int cmd_volume_prune(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'},
            {"all", no_argument, NULL, 'a'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool force = false, all = false;
        int c;
        while ((c = getopt_long(argc, argv, "afh", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'a':
                        all = true;
                        break;
                case 'h':
                        printf("Usage: husk volume prune [-a] [-f]\n\n"
                               "Remove unused anonymous volumes (-a: all unused volumes).\n\n"
                               "Options:\n"
                               "  -a, --all     also named volumes no container uses\n"
                               "  -f, --force   do not ask for confirmation\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (optind != argc)
                return husk_usage_error(ctx, "takes no arguments");
        if (!force) {
                fprintf(stderr,
                        "WARNING! This will remove %s.\nAre you sure you want to "
                        "continue? [y/N] ",
                        all ? "all local volumes not used by at least one container"
                            : "anonymous local volumes not used by at least one container");
                char line[16] = "";
                if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
                        return 0;
        }
        _cleanup_engine_ struct engine *e = NULL;
        int r = open_engine(ctx, &e);
        if (r)
                return r;
        struct error err = {0};
        _cleanup_strv_ char **names = NULL;
        uint64_t bytes = 0;
        if (volume_prune(e, all, &names, &bytes, &err) < 0)
                return husk_fail(ctx, &err);
        if (names) {
                printf("Deleted Volumes:\n");
                for (char **n = names; *n; n++)
                        printf("%s\n", *n);
                printf("\n");
        }
        char sz[32];
        format_size((int64_t)bytes, sz, sizeof(sz));
        printf("Total reclaimed space: %s\n", sz);
        return 0;
}

static const struct husk_command volume_commands[] = {
    {"create", cmd_volume_create, "Create a volume"},
    {"ls", cmd_volume_ls, "List volumes"},
    {"list", cmd_volume_ls, NULL},
    {"inspect", cmd_volume_inspect, "Show details of volumes"},
    {"rm", cmd_volume_rm, "Remove volumes"},
    {"remove", cmd_volume_rm, NULL},
    {"prune", cmd_volume_prune, "Remove unused volumes"},
};

int cmd_volume(struct husk_ctx *ctx, int argc, char **argv)
{
        return husk_subcommand(ctx, "volume", "a", "Manage volumes.", volume_commands,
                               ARRAY_SIZE(volume_commands), argc, argv);
}
