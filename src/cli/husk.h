/* The husk command line: global options, the command table, helpers the
 * command files share. A command is `int NAME(struct husk_ctx *, int argc,
 * char **argv)` with argv[0] its own name; it returns the exit status and
 * prints its own output. Errors go through husk_fail() so they all look
 * alike: "husk: images: no such image: x". Add a command by writing
 * src/cli/husk-NAME.c and one line in the table in main-husk.c. */
#pragma once
#include <stdbool.h>

#include "core/error.h"
#include "image/store.h"

struct husk_ctx {
        const char *root;    /* --root, HUSK_ROOT, or the default */
        const char *runroot; /* --runroot or the default */
        bool debug, explain;
        const char *cmd; /* the command being run, for messages */
        char **argv;     /* husk's whole command line, as it was given */
};

struct husk_command {
        const char *name;
        int (*run)(struct husk_ctx *ctx, int argc, char **argv);
        const char *summary;
};

/* Exit statuses: 1 for a failed operation, 125 for bad usage (as docker). */
#define HUSK_VERSION          "0.1.0"
#define HUSK_OCI_SPEC_VERSION "1.2.0" /* the runtime-spec version husk writes */

#define HUSK_EXIT_FAIL  1
#define HUSK_EXIT_USAGE 125

/* Prints "husk: CMD: MSG" and returns HUSK_EXIT_FAIL. */
int husk_fail(struct husk_ctx *ctx, const struct error *err);
/* Prints "husk: CMD: FMT" plus "See 'husk CMD --help'." and returns HUSK_EXIT_USAGE. */
int husk_usage_error(struct husk_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* After getopt printed what was wrong with an option: the hint line, HUSK_EXIT_USAGE. */
int husk_bad_option(struct husk_ctx *ctx);
/* The inspect commands' arguments: [-f|--format FMT] then at least one
 * `what` (NAME, IMAGE ...). Returns -1 to go on with the names from optind,
 * else the exit status (help printed, or a usage error). */
int husk_inspect_args(struct husk_ctx *ctx, int argc, char **argv, const char *optstring,
                      const char *help, const char *what, const char **ret_format);
/* Prints what an inspect command gathered: ALL (a JSON array) as docker does,
 * pretty JSON, or each element through FORMAT (a Go template, "json" or
 * "table"); STATUS, the exit status so far, or the template's error. */
struct json_object;
int husk_print_inspect(struct husk_ctx *ctx, struct json_object *all, const char *format,
                       int status);
/* Runs "husk GROUP SUB ARGS": finds SUB in cmds (entries without a summary
 * are aliases, left out of the help), names it "GROUP SUB" in messages, and
 * calls it with argv[0] = "husk GROUP SUB". `what` is the help's one-line
 * description; `article` goes before GROUP in the error ("a", "an"). */
int husk_subcommand(struct husk_ctx *ctx, const char *group, const char *article, const char *what,
                    const struct husk_command *cmds, size_t n, int argc, char **argv);
int husk_open_store(struct husk_ctx *ctx, struct store **ret, struct error *err);

int cmd_images(struct husk_ctx *ctx, int argc, char **argv);
int cmd_image(struct husk_ctx *ctx, int argc, char **argv);
int cmd_image_inspect(struct husk_ctx *ctx, int argc, char **argv);
int cmd_rmi(struct husk_ctx *ctx, int argc, char **argv);
int cmd_tag(struct husk_ctx *ctx, int argc, char **argv);
int cmd_history(struct husk_ctx *ctx, int argc, char **argv);
int cmd_image_prune(struct husk_ctx *ctx, int argc, char **argv);
int cmd_import(struct husk_ctx *ctx, int argc, char **argv);
int cmd_load(struct husk_ctx *ctx, int argc, char **argv);
int cmd_save(struct husk_ctx *ctx, int argc, char **argv);
int cmd_network(struct husk_ctx *ctx, int argc, char **argv);
int cmd_volume(struct husk_ctx *ctx, int argc, char **argv); /* volumes branch */
int cmd_cp(struct husk_ctx *ctx, int argc, char **argv);     /* volumes branch */
int cmd_system(struct husk_ctx *ctx, int argc, char **argv);
int cmd_version(struct husk_ctx *ctx, int argc, char **argv);
int cmd_info(struct husk_ctx *ctx, int argc, char **argv);
int cmd_run(struct husk_ctx *ctx, int argc, char **argv);
int cmd_create(struct husk_ctx *ctx, int argc, char **argv);
int cmd_start(struct husk_ctx *ctx, int argc, char **argv);
int cmd_attach(struct husk_ctx *ctx, int argc, char **argv);
int cmd_stop(struct husk_ctx *ctx, int argc, char **argv);
int cmd_kill(struct husk_ctx *ctx, int argc, char **argv);
int cmd_rm(struct husk_ctx *ctx, int argc, char **argv);
int cmd_wait(struct husk_ctx *ctx, int argc, char **argv);
int cmd_ps(struct husk_ctx *ctx, int argc, char **argv);
int cmd_inspect(struct husk_ctx *ctx, int argc, char **argv);
int cmd_logs(struct husk_ctx *ctx, int argc, char **argv);
int cmd_exec(struct husk_ctx *ctx, int argc, char **argv);
int cmd_restart(struct husk_ctx *ctx, int argc, char **argv);
int cmd_pause(struct husk_ctx *ctx, int argc, char **argv);
int cmd_unpause(struct husk_ctx *ctx, int argc, char **argv);
int cmd_rename(struct husk_ctx *ctx, int argc, char **argv);
int cmd_top(struct husk_ctx *ctx, int argc, char **argv);
int cmd_diff(struct husk_ctx *ctx, int argc, char **argv);
int cmd_stats(struct husk_ctx *ctx, int argc, char **argv);
int cmd_container(struct husk_ctx *ctx, int argc, char **argv);
int cmd_export(struct husk_ctx *ctx, int argc, char **argv);
int cmd_commit(struct husk_ctx *ctx, int argc, char **argv);
int cmd_port(struct husk_ctx *ctx, int argc, char **argv);
int cmd_network_connect(struct husk_ctx *ctx, int argc, char **argv);
int cmd_network_disconnect(struct husk_ctx *ctx, int argc, char **argv);
