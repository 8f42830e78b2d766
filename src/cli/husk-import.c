/* husk import FILE|- [--change 'CMD ...'] [NAME] */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/husk.h"
#include "core/util.h"
#include "image/import.h"
#include "image/ref.h"

int cmd_import(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"change", required_argument, NULL, 'c'},
            {"message", required_argument, NULL, 'm'},
            {"platform", required_argument, NULL, 'p'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        _cleanup_strv_ char **changes = NULL;
        const char *message = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "c:m:h", opts, NULL)) != -1) {
                switch (c) {
                case 'c':
                        changes = strv_push(changes, xstrdup(optarg));
                        break;
                case 'm':
                        message = optarg;
                        break;
                case 'p':
                        if (strcmp(optarg, "linux/amd64") != 0 && strcmp(optarg, "linux") != 0)
                                return husk_usage_error(ctx, "platform '%s' is not supported",
                                                        optarg);
                        break;
                case 'h':
                        printf("Usage: husk import [OPTIONS] FILE|- [REPOSITORY[:TAG]]\n\n"
                               "Import a root filesystem tarball (plain, gzip, zstd, xz, bzip2) as "
                               "an image.\n\nOptions:\n"
                               "  -c, --change INSTR   apply a Dockerfile instruction (CMD, "
                               "ENTRYPOINT, ENV, EXPOSE,\n"
                               "                       LABEL, USER, VOLUME, WORKDIR, STOPSIGNAL)\n"
                               "  -m, --message TEXT   history comment\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        int nargs = argc - optind;
        if (nargs < 1 || nargs > 2)
                return husk_usage_error(ctx, "want FILE|- and an optional REPOSITORY[:TAG]");
        const char *file = argv[optind];
        struct error err = {0};
        _cleanup_strv_ char **names = NULL;
        if (nargs == 2) {
                struct image_ref ref = {0};
                if (image_ref_parse(argv[optind + 1], false, &ref, &err) < 0)
                        return husk_fail(ctx, &err);
                if (ref.digest) {
                        image_ref_free(&ref);
                        return husk_usage_error(ctx, "a name for import cannot have a digest");
                }
                names = strv_push(names, image_ref_string(&ref));
                image_ref_free(&ref);
        }
        _cleanup_close_ int fd = -EBADF;
        if (strcmp(file, "-") == 0) {
                fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        } else {
                if (strstr(file, "://"))
                        return husk_usage_error(ctx, "importing from a URL is not supported; "
                                                     "download the file first");
                fd = open(file, O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0) {
                error_sys(&err, -errno, "open '%s'", file);
                return husk_fail(ctx, &err);
        }
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        struct import_opts o = {
            .changes = changes,
            .message = message,
            .source = strcmp(file, "-") == 0 ? "-" : file,
            .names = names,
        };
        char id[DIGEST_STR_MAX];
        if (image_import(s, fd, &o, id, &err) < 0)
                return husk_fail(ctx, &err);
        printf("%s\n", id);
        return 0;
}
