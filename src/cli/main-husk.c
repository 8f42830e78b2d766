/* husk: the engine's command line. Global options come before the command. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/format.h"
#include "cli/husk.h"
#include "core/sys.h"
#include "core/util.h"
#include "engine/rootless.h"
#include "engine/engine.h"

static const struct husk_command commands[] = {
    {"attach", cmd_attach, "Stream a running container's output and forward stdin"},
    {"commit", cmd_commit, "Make a new image from a container's changes"},
    {"container", cmd_container, "Manage containers (prune)"},
    {"cp", cmd_cp, "Copy files between a container and the host"}, /* volumes branch */
    {"create", cmd_create, "Create a container"},
    {"diff", cmd_diff, "List the files a container added, changed or deleted"},
    {"exec", cmd_exec, "Run a command in a running container"},
    {"export", cmd_export, "Write a container's filesystem as a tar archive"},
    {"history", cmd_history, "Show the history of an image"},
    {"image", cmd_image,
     "Manage images (ls, inspect, rm, tag, history, prune, import, load, save)"},
    {"images", cmd_images, "List images"},
    {"info", cmd_info, "Show husk's store, containers, images and host"},
    {"import", cmd_import, "Import a root filesystem tarball as an image"},
    {"inspect", cmd_inspect, "Show details of containers as JSON"},
    {"kill", cmd_kill, "Send a signal to containers"},
    {"load", cmd_load, "Load images from a docker-archive or oci-archive tar"},
    {"logs", cmd_logs, "Show a container's output"},
    {"network", cmd_network,
     "Manage networks (create, ls, inspect, rm, prune, connect, disconnect)"},
    {"pause", cmd_pause, "Freeze all processes of containers"},
    {"port", cmd_port, "List a container's published ports"},
    {"ps", cmd_ps, "List containers"},
    {"rename", cmd_rename, "Rename a container"},
    {"restart", cmd_restart, "Restart containers"},
    {"rm", cmd_rm, "Remove containers"},
    {"rmi", cmd_rmi, "Remove images"},
    {"run", cmd_run, "Create and start a container"},
    {"save", cmd_save, "Save images to a docker-archive or oci-archive tar"},
    {"start", cmd_start, "Start containers"},
    {"stats", cmd_stats, "Live CPU, memory, I/O and pids of containers"},
    {"stop", cmd_stop, "Stop containers"},
    {"system", cmd_system, "Manage husk (df)"},
    {"tag", cmd_tag, "Give an image another name"},
    {"top", cmd_top, "Show the processes of a container"},
    {"unpause", cmd_unpause, "Thaw the processes of paused containers"},
    {"version", cmd_version, "Show husk's version"},
    {"volume", cmd_volume, "Manage volumes (create, ls, inspect, rm, prune)"}, /* volumes branch */
    {"wait", cmd_wait, "Wait for containers to stop, print their exit codes"},
};

static void usage(FILE *out)
{
        fprintf(out, "Usage: husk [OPTIONS] COMMAND [ARG...]\n\n"
                     "A container engine with no daemon.\n\n"
                     "Options:\n"
                     "      --root DIR      where images and containers live (default "
                     "/var/lib/husk, env HUSK_ROOT)\n"
                     "      --runroot DIR   where runtime state lives (default /run/husk)\n"
                     "      --explain       print each kernel-facing step as a shell command\n"
                     "      --debug         print debug information\n"
                     "  -v, --version       print the version\n"
                     "  -h, --help          print this help\n\n"
                     "Commands:\n");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
        fprintf(out, "\nRun 'husk COMMAND --help' for more on a command.\n");
}

int husk_fail(struct husk_ctx *ctx, const struct error *err)
{
        if (ctx->debug)
                fprintf(stderr, "husk: debug: error code %d (%s)\n", err->code,
                        err->code ? strerror(-err->code) : "none");
        fprintf(stderr, "husk: %s%s%s\n", ctx->cmd ? ctx->cmd : "", ctx->cmd ? ": " : "",
                err->msg[0] ? err->msg : "failed");
        return HUSK_EXIT_FAIL;
}

int husk_usage_error(struct husk_ctx *ctx, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        fprintf(stderr, "husk: %s: %s\nSee 'husk %s --help'.\n", ctx->cmd, msg, ctx->cmd);
        return HUSK_EXIT_USAGE;
}

int husk_inspect_args(struct husk_ctx *ctx, int argc, char **argv, const char *optstring,
                      const char *help, const char *what, const char **ret_format)
{
        static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {}};
        int c;
        while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
                if (c == 'f') {
                        *ret_format = optarg;
                } else if (c == 'h') {
                        fputs(help, stdout);
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one %s", what);
        return -1;
}

int husk_print_inspect(struct husk_ctx *ctx, struct json_object *all, const char *format,
                       int status)
{
        size_t n = json_object_array_length(all);
        if (!format || strcmp(format, "json") == 0) {
                if (n || !status)
                        printf("%s\n", json_object_to_json_string_ext(
                                           all, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                    JSON_C_TO_STRING_NOSLASHESCAPE));
                return status;
        }
        struct json_object **rows = xzalloc((n + 1) * sizeof(*rows));
        for (size_t i = 0; i < n; i++)
                rows[i] = json_object_array_get_idx(all, i);
        struct error err = {0};
        int r = format_print(stdout, format, "{{json .}}", NULL, rows, n, &err);
        free(rows);
        if (r < 0)
                return husk_fail(ctx, &err);
        return status;
}

int husk_subcommand(struct husk_ctx *ctx, const char *group, const char *article, const char *what,
                    const struct husk_command *cmds, size_t n, int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                FILE *out = argc < 2 ? stderr : stdout;
                fprintf(out, "Usage: husk %s COMMAND\n\n%s\n\nCommands:\n", group, what);
                for (size_t i = 0; i < n; i++)
                        if (cmds[i].summary)
                                fprintf(out, "  %-8s %s\n", cmds[i].name, cmds[i].summary);
                return argc < 2 ? HUSK_EXIT_USAGE : 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (strcmp(argv[1], cmds[i].name) == 0) {
                        static char name[64], prog[80];
                        snprintf(name, sizeof(name), "%s %s", group, cmds[i].name);
                        snprintf(prog, sizeof(prog), "husk %s", name);
                        ctx->cmd = name;
                        optind = 0;
                        argv[1] = prog;
                        return cmds[i].run(ctx, argc - 1, argv + 1);
                }
        }
        return husk_usage_error(ctx, "'%s' is not %s %s command", argv[1], article, group);
}

int husk_bad_option(struct husk_ctx *ctx)
{
        fprintf(stderr, "See 'husk %s --help'.\n", ctx->cmd);
        return HUSK_EXIT_USAGE;
}

int husk_open_store(struct husk_ctx *ctx, struct store **ret, struct error *err)
{
        return store_open(ctx->root, ret, err);
}

static char *default_root(bool run)
{
        /* rootless: also inside the pause process's user namespace, where
         * commands re-executed by husk run as its root (engine/rootless.h). */
        if (!rootless_active())
                return xstrdup(run ? "/run/husk" : "/var/lib/husk");
        const char *x = getenv(run ? "XDG_RUNTIME_DIR" : "XDG_DATA_HOME");
        if (x && *x)
                return xasprintf("%s/husk", x);
        if (run)
                return xasprintf("/tmp/husk-run-%u", (unsigned)rootless_host_uid());
        const char *home = getenv("HOME");
        return xasprintf("%s/.local/share/husk", home && *home ? home : "/tmp");
}

int main(int argc, char **argv)
{
        /* husk is short-lived: blocks of up to 8 MiB come from the heap, not from
         * mmap. libnftables allocates a 128 KiB buffer per netlink batch; each
         * munmap of one costs a TLB shootdown on every CPU, 0.5 ms on a busy
         * 2-core VM, 20 ms per rule update. */
        mallopt(M_MMAP_THRESHOLD, 8 << 20);
        /* Deep trees in layers need one fd per level while removing them. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }
        static const struct option opts[] = {
            {"root", required_argument, NULL, 'r'},
            {"runroot", required_argument, NULL, 'R'},
            {"explain", no_argument, NULL, 'e'},
            {"debug", no_argument, NULL, 'D'},
            {"version", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {},
        };
        _cleanup_free_ char *root = NULL, *runroot = NULL;
        struct husk_ctx ctx = {0};
        /* The commands rewrite argv[0] of their own; exec re-executes the original. */
        _cleanup_strv_ char **saved_argv = strv_copy(argv);
        ctx.argv = saved_argv;
        int c;
        while ((c = getopt_long(argc, argv, "+vhD", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        free(root);
                        root = xstrdup(optarg);
                        break;
                case 'R':
                        free(runroot);
                        runroot = xstrdup(optarg);
                        break;
                case 'e':
                        ctx.explain = true;
                        break;
                case 'D':
                        ctx.debug = true;
                        break;
                case 'v':
                        printf("husk version %s\n", HUSK_VERSION);
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        fprintf(stderr, "See 'husk --help'.\n");
                        return HUSK_EXIT_USAGE;
                }
        }
        if (!root) {
                const char *env = getenv("HUSK_ROOT");
                root = env && *env ? xstrdup(env) : default_root(false);
        }
        if (!runroot)
                runroot = default_root(true);
        /* Relative paths are taken from the current directory, once. */
        if (root[0] != '/') {
                char cwd[4096];
                if (!getcwd(cwd, sizeof(cwd))) {
                        perror("husk: getcwd");
                        return HUSK_EXIT_FAIL;
                }
                char *abs = xasprintf("%s/%s", cwd, root);
                free(root);
                root = abs;
        }
        if (runroot[0] != '/') {
                char cwd[4096];
                if (!getcwd(cwd, sizeof(cwd))) {
                        perror("husk: getcwd");
                        return HUSK_EXIT_FAIL;
                }
                char *abs = xasprintf("%s/%s", cwd, runroot);
                free(runroot);
                runroot = abs;
        }
        ctx.root = root;
        ctx.runroot = runroot;
        if (ctx.explain)
                explain_enable(STDERR_FILENO);
        if (ctx.debug)
                fprintf(stderr, "husk: debug: version %s, root '%s', runroot '%s'\n", HUSK_VERSION,
                        ctx.root, ctx.runroot);
        if (optind >= argc) {
                usage(stderr);
                return HUSK_EXIT_USAGE;
        }
        const char *name = argv[optind];
        /* The per-container monitor (engine/monitor.c), started by husk itself. */
        if (strcmp(name, "__monitor") == 0 && argc - optind == 5)
                return monitor_main(root, runroot, argv[optind + 1], atoi(argv[optind + 2]),
                                    (unsigned)atoi(argv[optind + 3]),
                                    (unsigned)atoi(argv[optind + 4]), NULL);
        if (strcmp(name, "__monitor-resume") == 0 && argc - optind >= 2) /* monitor-small */
                return monitor_resume(root, runroot, argv[optind + 1], argc - optind - 2,
                                      argv + optind + 2);
        if (strcmp(name, "help") == 0) {
                usage(stdout);
                return 0;
        }
        /* rootless: an unprivileged user's commands run inside the user and
         * mount namespaces of its pause process (engine/rootless.h). */
        struct error rerr = {0};
        if (rootless_enter(runroot, &rerr) < 0) {
                fprintf(stderr, "husk: %s\n", rerr.msg);
                error_clear(&rerr);
                return HUSK_EXIT_FAIL;
        }
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
                if (strcmp(commands[i].name, name) == 0) {
                        ctx.cmd = commands[i].name;
                        int sub_argc = argc - optind;
                        char **sub_argv = argv + optind;
                        /* getopt names the program by argv[0] in its messages. */
                        char prog[64];
                        snprintf(prog, sizeof(prog), "husk %s", name);
                        sub_argv[0] = prog;
                        optind = 0; /* commands parse their own options from scratch */
                        return commands[i].run(&ctx, sub_argc, sub_argv);
                }
        }
        fprintf(stderr, "husk: '%s' is not a husk command.\nSee 'husk --help'.\n", name);
        return HUSK_EXIT_USAGE;
}
