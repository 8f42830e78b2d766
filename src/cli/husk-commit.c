/* husk commit [-a AUTHOR] [-m MSG] [-c INSTR]... [-p] CONTAINER [REPOSITORY[:TAG]] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/husk.h"
#include "core/util.h"
#include "engine/commit.h"
#include "image/ref.h"

static int parse_bool(const char *s, bool *ret)
{
        if (*s == '=')
                s++;
        if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
                *ret = true;
        else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

int cmd_commit(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"author", required_argument, NULL, 'a'}, {"message", required_argument, NULL, 'm'},
            {"change", required_argument, NULL, 'c'}, {"pause", optional_argument, NULL, 'p'},
            {"help", no_argument, NULL, 'h'},         {},
        };
        struct commit_opts o = {.pause = true};
        _cleanup_strv_ char **changes = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "a:m:c:p::h", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        o.author = optarg;
                        break;
                case 'm':
                        o.message = optarg;
                        break;
                case 'c':
                        changes = strv_push(changes, xstrdup(optarg));
                        break;
                case 'p':
                        if (optarg && parse_bool(optarg, &o.pause) < 0)
                                return husk_usage_error(ctx, "--pause '%s': want true or false",
                                                        optarg);
                        if (!optarg)
                                o.pause = true;
                        break;
                case 'h':
                        printf("Usage: husk commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
                               "Make a new image from a container's changes: its image's layers "
                               "plus one\nlayer of what the container changed, with the "
                               "container's config.\n\nOptions:\n"
                               "  -a, --author TEXT    author (\"Jane <jane@example.com>\")\n"
                               "  -c, --change INSTR   apply a Dockerfile instruction (CMD, "
                               "ENTRYPOINT, ENV, EXPOSE,\n"
                               "                       LABEL, USER, VOLUME, WORKDIR, "
                               "STOPSIGNAL)\n"
                               "  -m, --message TEXT   commit message (history comment)\n"
                               "  -p, --pause[=BOOL]   pause a running container while its "
                               "changes are read\n"
                               "                       (default true)\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        int nargs = argc - optind;
        if (nargs < 1 || nargs > 2)
                return husk_usage_error(ctx, "want CONTAINER and an optional "
                                             "REPOSITORY[:TAG]");
        struct error err = {0};
        _cleanup_strv_ char **names = NULL;
        if (nargs == 2) {
                struct image_ref ref = {0};
                if (image_ref_parse(argv[optind + 1], false, &ref, &err) < 0)
                        return husk_fail(ctx, &err);
                if (ref.digest) {
                        image_ref_free(&ref);
                        return husk_usage_error(ctx, "a name for commit cannot have a digest");
                }
                names = strv_push(names, image_ref_string(&ref));
                image_ref_free(&ref);
        }
        o.changes = changes;
        o.names = names;
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr ct = {0};
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_lookup(e, argv[optind], &ct, &err) < 0)
                return husk_fail(ctx, &err);
        char id[DIGEST_STR_MAX];
        int r = engine_commit(e, &ct, &o, id, &err);
        ctr_free(&ct);
        if (r < 0)
                return husk_fail(ctx, &err);
        printf("%s\n", id);
        return 0;
}
