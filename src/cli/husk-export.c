/* husk export [-o FILE] CONTAINER, husk diff CONTAINER */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/husk.h"
#include "core/util.h"
#include "engine/commit.h"

int cmd_export(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"output", required_argument, NULL, 'o'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *output = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                if (c == 'o') {
                        output = optarg;
                } else if (c == 'h') {
                        printf("Usage: husk export [-o FILE] CONTAINER\n\nWrite a container's "
                               "whole filesystem (its image's layers and its changes, merged)\n"
                               "as a tar archive, to standard output or FILE.\n\nOptions:\n"
                               "  -o, --output FILE   write to FILE (complete or not at all)\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (argc - optind != 1)
                return husk_usage_error(ctx, "want exactly one CONTAINER");
        if (!output && isatty(STDOUT_FILENO))
                return husk_usage_error(ctx, "cowardly refusing to write a tar to a terminal "
                                             "(use -o FILE or redirect)");
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr ct = {0};
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_lookup(e, argv[optind], &ct, &err) < 0)
                return husk_fail(ctx, &err);
        if (!output) {
                int r = engine_export(e, &ct, STDOUT_FILENO, &err);
                ctr_free(&ct);
                return r < 0 ? husk_fail(ctx, &err) : 0;
        }
        /* Written to a temporary name next to FILE, renamed when complete. */
        _cleanup_free_ char *tmp = xasprintf("%s.husk-tmp-%d", output, (int)getpid());
        _cleanup_close_ int fd =
            open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        int r = 0;
        if (fd < 0)
                r = error_sys(&err, -errno, "create '%s' (written as '%s', then renamed)", output,
                              tmp);
        if (r == 0)
                r = engine_export(e, &ct, fd, &err);
        if (r == 0 && fsync(fd) < 0)
                r = error_sys(&err, -errno, "write '%s'", output);
        if (r == 0 && rename(tmp, output) < 0)
                r = error_sys(&err, -errno, "rename to '%s'", output);
        ctr_free(&ct);
        if (r < 0) {
                if (fd >= 0)
                        unlink(tmp);
                return husk_fail(ctx, &err);
        }
        return 0;
}

int cmd_diff(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: husk diff CONTAINER\n\nList the files a container "
                               "added (A), changed (C) and deleted (D)\ncompared with its "
                               "image.\n");
                        return 0;
                }
                return husk_bad_option(ctx);
        }
        if (argc - optind != 1)
                return husk_usage_error(ctx, "want exactly one CONTAINER");
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr ct = {0};
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_lookup(e, argv[optind], &ct, &err) < 0)
                return husk_fail(ctx, &err);
        struct ctr_change *v = NULL;
        size_t n = 0;
        int r = engine_diff(e, &ct, &v, &n, &err);
        ctr_free(&ct);
        if (r < 0)
                return husk_fail(ctx, &err);
        for (size_t i = 0; i < n; i++)
                printf("%c %s\n", v[i].kind, v[i].path);
        ctr_changes_free(v, n);
        return 0;
}
