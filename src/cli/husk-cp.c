/* husk cp: copy files between a container and the host (engine/cp.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/husk.h"
#include "core/util.h"
#include "engine/cp.h"
#include "engine/engine.h"

/* "CTR:PATH" as docker reads it: a colon before any slash, and not a
 * path that starts with '/' or '.'. Returns the path part, or NULL. */
static char *container_part(char *arg)
{
        if (arg[0] == '/' || arg[0] == '.')
                return NULL;
        char *colon = strchr(arg, ':');
        char *slash = strchr(arg, '/');
        if (!colon || (slash && slash < colon))
                return NULL;
        *colon = '\0';
        return colon + 1;
}

int cmd_cp(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"archive", no_argument, NULL, 'a'},
            {"follow-link", no_argument, NULL, 'L'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool archive = false, follow = false;
        int c;
        while ((c = getopt_long(argc, argv, "aLh", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        archive = true;
                        break;
                case 'L':
                        follow = true;
                        break;
                case 'h':
                        printf("Usage: husk cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
                               "       husk cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
                               "Copy files between a container (running or not) and the host.\n"
                               "'-' is a tar stream on stdout / stdin. A SRC_PATH ending in "
                               "'/.' copies\nthe directory's contents.\n\n"
                               "Options:\n"
                               "  -a, --archive   keep the source's owners (else: the copies "
                               "belong to\n"
                               "                  root in the container, to you on the host)\n"
                               "  -L, --follow-link  a SRC_PATH that is a symlink: copy its "
                               "target\n"
                               "                  (a symlink DEST_PATH in the container is always "
                               "followed,\n"
                               "                  inside the container's root)\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (argc - optind != 2)
                return husk_usage_error(ctx, "want exactly a SRC and a DEST");
        _cleanup_free_ char *src = xstrdup(argv[optind]);
        _cleanup_free_ char *dst = xstrdup(argv[optind + 1]);
        char *spath = strcmp(src, "-") ? container_part(src) : NULL;
        char *dpath = strcmp(dst, "-") ? container_part(dst) : NULL;
        if (spath && dpath)
                return husk_usage_error(ctx, "copying between containers is not supported");
        if (!spath && !dpath)
                return husk_usage_error(ctx,
                                        "must specify at least one container source (CTR:PATH)");
        if ((spath && !*spath) || (dpath && !*dpath))
                return husk_usage_error(ctx, "the container path is empty");
        if (!strcmp(src, "-") && !strcmp(dst, "-"))
                return husk_usage_error(ctx, "'-' on both sides");
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0)
                return husk_fail(ctx, &err);
        struct ctr ct = {0};
        if (engine_lookup(e, spath ? src : dst, &ct, &err) < 0)
                return husk_fail(ctx, &err);
        int r = spath ? engine_cp_from(e, &ct, spath, dst, STDOUT_FILENO, archive, follow, &err)
                      : engine_cp_to(e, &ct, src, STDIN_FILENO, dpath, archive, &err);
        ctr_free(&ct);
        return r < 0 ? husk_fail(ctx, &err) : 0;
}
