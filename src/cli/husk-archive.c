/* husk load [-i FILE], husk save [-o FILE] [--format docker-archive|oci-archive] IMAGE... */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/husk.h"
#include "core/util.h"
#include "image/archive.h"
#include "image/fsutil.h"

int cmd_load(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"input", required_argument, NULL, 'i'},
            {"quiet", no_argument, NULL, 'q'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *input = NULL;
        bool quiet = false;
        int c;
        while ((c = getopt_long(argc, argv, "i:qh", opts, NULL)) != -1) {
                if (c == 'i') {
                        input = optarg;
                } else if (c == 'q') {
                        quiet = true;
                } else if (c == 'h') {
                        printf("Usage: husk load [-i FILE] [-q]\n\nLoad images from a "
                               "docker-archive or oci-archive tar (plain or compressed),\nread "
                               "from FILE or standard input.\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (optind < argc)
                return husk_usage_error(ctx, "unexpected argument '%s' (use -i FILE)",
                                        argv[optind]);
        struct error err = {0};
        _cleanup_close_ int fd = -EBADF;
        if (input && strcmp(input, "-") != 0) {
                fd = open(input, O_RDONLY | O_CLOEXEC);
        } else {
                if (isatty(STDIN_FILENO))
                        return husk_usage_error(ctx, "requested load from stdin, but stdin is "
                                                     "a terminal (use -i FILE)");
                fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        }
        if (fd < 0) {
                error_sys(&err, -errno, "open '%s'", input ? input : "-");
                return husk_fail(ctx, &err);
        }
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_strv_ char **loaded = NULL;
        if (archive_load(s, fd, input ? input : "stdin", &loaded, &err) < 0)
                return husk_fail(ctx, &err);
        for (char **l = loaded; !quiet && l && *l; l++)
                printf("%s\n", *l);
        return 0;
}

int cmd_save(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"output", required_argument, NULL, 'o'},
            {"format", required_argument, NULL, 'f'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        const char *output = NULL;
        enum archive_format format = ARCHIVE_DOCKER;
        int c;
        while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
                if (c == 'o') {
                        output = optarg;
                } else if (c == 'f') {
                        if (strcmp(optarg, "docker-archive") == 0)
                                format = ARCHIVE_DOCKER;
                        else if (strcmp(optarg, "oci-archive") == 0)
                                format = ARCHIVE_OCI;
                        else
                                return husk_usage_error(ctx,
                                                        "unknown format '%s' (want "
                                                        "docker-archive or oci-archive)",
                                                        optarg);
                } else if (c == 'h') {
                        printf("Usage: husk save [-o FILE] [--format docker-archive|oci-archive] "
                               "IMAGE...\n\nSave images to a tar archive (default: "
                               "docker-archive, to standard output).\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one IMAGE");
        struct error err = {0};
        if (!output && isatty(STDOUT_FILENO))
                return husk_usage_error(ctx, "cowardly refusing to write an archive to a "
                                             "terminal (use -o FILE or redirect)");
        _cleanup_store_ struct store *s = NULL;
        if (husk_open_store(ctx, &s, &err) < 0)
                return husk_fail(ctx, &err);
        if (!output) {
                if (archive_save(s, argv + optind, format, STDOUT_FILENO, &err) < 0)
                        return husk_fail(ctx, &err);
                return 0;
        }
        /* Written to a temporary name next to FILE, renamed when complete. */
        _cleanup_free_ char *tmp = xasprintf("%s.husk-tmp-%d", output, (int)getpid());
        _cleanup_close_ int fd =
            open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
                error_sys(&err, -errno, "create '%s' (written as '%s', then renamed)", output, tmp);
                return husk_fail(ctx, &err);
        }
        int r = archive_save(s, argv + optind, format, fd, &err);
        if (r == 0 && fsync(fd) < 0)
                r = error_sys(&err, -errno, "write '%s'", output);
        if (r == 0 && rename(tmp, output) < 0)
                r = error_sys(&err, -errno, "rename to '%s'", output);
        if (r < 0) {
                unlink(tmp);
                return husk_fail(ctx, &err);
        }
        return 0;
}
