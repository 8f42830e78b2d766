/* husk-runtime create, start, run, state, kill, delete, list. */
#include <errno.h>
#include <pwd.h>
#include <sys/stat.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/runtime.h"
#include "core/json.h"
#include "core/util.h"
#include "runtime/container.h"

static const struct option create_opts[] = {
    {"bundle", required_argument, NULL, 'b'},
    {"console-socket", required_argument, NULL, 'c'},
    {"pid-file", required_argument, NULL, 'p'},
    {"preserve-fds", required_argument, NULL, 'P'},
    {"no-pivot", no_argument, NULL, 'n'},
    {"no-new-keyring", no_argument, NULL, 'k'},
    {"detach", no_argument, NULL, 'd'},
    {"keep", no_argument, NULL, 'K'},
    {"no-subreaper", no_argument, NULL, 'S'},
    {"help", no_argument, NULL, 'h'},
    {0},
};

/* Parses the flags create and run share; returns the index of the id or -1. */
static int parse_create(const struct rt_command *cmd, int argc, char **argv, struct create_opts *o,
                        bool *detach)
{
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+b:dh", create_opts, NULL)) != -1) {
                uint64_t n;
                switch (c) {
                case 'b':
                        o->bundle = optarg;
                        break;
                case 'c':
                        o->console_socket = optarg;
                        break;
                case 'p':
                        o->pid_file = optarg;
                        break;
                case 'P':
                        if (parse_u64(optarg, &n) < 0 || n > 1024) {
                                rt_usage_error(cmd, "--preserve-fds: '%s' is not a number of fds",
                                               optarg);
                                return -1;
                        }
                        o->preserve_fds = (int)n;
                        break;
                case 'n':
                        o->no_pivot = true;
                        break;
                case 'k':
                        o->no_new_keyring = true;
                        break;
                case 'd':
                        if (!detach) {
                                rt_usage_error(cmd, "unknown option '--detach'");
                                return -1;
                        }
                        *detach = true;
                        break;
                case 'K':
                case 'S':
                        break;
                default:
                        rt_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
                        return -1;
                }
        }
        if (optind != argc - 1) {
                rt_usage_error(cmd, optind >= argc ? "a container id is required"
                                                   : "exactly one container id is expected");
                return -1;
        }
        o->id = argv[optind];
        return optind;
}

static int listen_fds(void)
{
        const char *v = getenv("LISTEN_FDS");
        uint64_t n;
        return v && parse_u64(v, &n) == 0 && n <= 1024 ? (int)n : 0;
}

static int cmd_create(const struct rt_globals *g, int argc, char **argv)
{
        struct create_opts o = {.root = g->root};
        if (parse_create(&rt_cmd_create, argc, argv, &o, NULL) < 0)
                return 1;
        rt_preserve_fds(o.preserve_fds + listen_fds());
        struct error err = {0};
        o.sealed = rt_is_sealed();
        int r = container_create(&o, &err);
        if (r == -ERESTART)
                r = rt_reexec_sealed();
        if (r < 0)
                return rt_fail("create '%s': %s", o.id, err.msg);
        return 0;
}

const struct rt_command rt_cmd_create = {
    "create",
    "create a container from a bundle, ready to start",
    "create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] [--preserve-fds N] "
    "[--no-pivot] [--no-new-keyring] ID",
    cmd_create,
};

static int cmd_run(const struct rt_globals *g, int argc, char **argv)
{
        struct create_opts o = {.root = g->root};
        bool detach = false;
        if (parse_create(&rt_cmd_run, argc, argv, &o, &detach) < 0)
                return 1;
        rt_preserve_fds(o.preserve_fds + listen_fds());
        struct error err = {0};
        int status = 0;
        o.sealed = rt_is_sealed();
        int r = container_run(&o, detach, &status, &err);
        if (r == -ERESTART)
                r = rt_reexec_sealed();
        if (r < 0)
                return rt_fail("run '%s': %s", o.id, err.msg);
        return status;
}

const struct rt_command rt_cmd_run = {
    "run",
    "create and start a container; wait for it unless --detach",
    "run [--detach] [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] "
    "[--preserve-fds N] [--no-pivot] [--no-new-keyring] ID",
    cmd_run,
};

/* For commands taking just "ID": returns the id or NULL after printing usage. */
static const char *only_id(const struct rt_command *cmd, int argc, char **argv)
{
        if (argc != 2 || argv[1][0] == '-') {
                rt_usage_error(cmd,
                               argc < 2   ? "a container id is required"
                               : argc > 2 ? "exactly one container id is expected"
                                          : "unknown option '%s'",
                               argv[1]);
                return NULL;
        }
        return argv[1];
}

static int cmd_start(const struct rt_globals *g, int argc, char **argv)
{
        const char *id = only_id(&rt_cmd_start, argc, argv);
        if (!id)
                return 1;
        struct error err = {0};
        if (container_start(g->root, id, &err) < 0)
                return rt_fail("%s", err.msg);
        return 0;
}

const struct rt_command rt_cmd_start = {"start", "start a created container", "start ID",
                                        cmd_start};

static int cmd_state(const struct rt_globals *g, int argc, char **argv)
{
        const char *id = only_id(&rt_cmd_state, argc, argv);
        if (!id)
                return 1;
        struct container_info *l = NULL;
        size_t n = 0;
        struct error err = {0};
        _cleanup_close_ int rootfd = -EBADF;
        if (state_open_root(g->root, &rootfd, &err) < 0)
                return rt_fail("%s", err.msg);
        _cleanup_(state_freep) struct container_state *st = NULL;
        if (state_load(rootfd, id, false, &st, &err) < 0)
                return rt_fail("%s", err.msg);
        (void)l;
        (void)n;
        struct json_object *o = state_to_oci(st, state_status(st));
        printf("%s\n", json_pretty(o));
        json_object_put(o);
        return 0;
}

const struct rt_command rt_cmd_state = {"state", "print the state of a container as JSON",
                                        "state ID", cmd_state};

static int cmd_kill(const struct rt_globals *g, int argc, char **argv)
{
        static const struct option o[] = {
            {"all", no_argument, NULL, 'a'}, {"pid", required_argument, NULL, 'p'}, {0}};
        bool all = false;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+a", o, NULL)) != -1) {
                if (c == 'a')
                        all = true;
                else if (c != 'p')
                        return rt_usage_error(&rt_cmd_kill, "unknown option '%s'",
                                              argv[optind - 1]);
        }
        if (optind >= argc || argc - optind > 2)
                return rt_usage_error(&rt_cmd_kill, "expected ID [SIGNAL]");
        const char *id = argv[optind];
        int sig = SIGTERM;
        if (argc - optind == 2 && (sig = rt_parse_signal(argv[optind + 1])) < 0)
                return rt_fail("kill '%s': unknown signal '%s'", id, argv[optind + 1]);
        struct error err = {0};
        if (container_kill(g->root, id, sig, all, &err) < 0)
                return rt_fail("%s", err.msg);
        return 0;
}

const struct rt_command rt_cmd_kill = {
    "kill",
    "send a signal (default SIGTERM) to the container's init, or --all its processes",
    "kill [--all] ID [SIGNAL]",
    cmd_kill,
};

static int cmd_delete(const struct rt_globals *g, int argc, char **argv)
{
        static const struct option o[] = {{"force", no_argument, NULL, 'f'}, {0}};
        bool force = false;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+f", o, NULL)) != -1) {
                if (c == 'f')
                        force = true;
                else
                        return rt_usage_error(&rt_cmd_delete, "unknown option '%s'",
                                              argv[optind - 1]);
        }
        if (optind != argc - 1)
                return rt_usage_error(&rt_cmd_delete, "exactly one container id is expected");
        struct error err = {0};
        if (container_delete(g->root, argv[optind], force, &err) < 0)
                return rt_fail("%s", err.msg);
        return 0;
}

const struct rt_command rt_cmd_delete = {
    "delete",
    "delete a container and everything it holds (--force kills a running one)",
    "delete [--force] ID",
    cmd_delete,
};

/* The OWNER column, as runc shows it: the user owning the state directory. */
static const char *owner_name(const struct container_state *st)
{
        static char buf[32];
        if (st->owner && *st->owner)
                return st->owner;
        struct stat sb;
        if (st->dirfd < 0 || fstat(st->dirfd, &sb) < 0)
                return "root";
        struct passwd *pw = getpwuid(sb.st_uid);
        if (pw)
                return pw->pw_name;
        snprintf(buf, sizeof(buf), "#%u", (unsigned)sb.st_uid);
        return buf;
}

static int cmd_list(const struct rt_globals *g, int argc, char **argv)
{
        static const struct option o[] = {
            {"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'}, {0}};
        const char *format = "table";
        bool quiet = false;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+f:q", o, NULL)) != -1) {
                if (c == 'f')
                        format = optarg;
                else if (c == 'q')
                        quiet = true;
                else
                        return rt_usage_error(&rt_cmd_list, "unknown option '%s'",
                                              argv[optind - 1]);
        }
        if (strcmp(format, "table") && strcmp(format, "json"))
                return rt_fail("list: --format must be 'table' or 'json', not '%s'", format);
        if (optind != argc)
                return rt_usage_error(&rt_cmd_list, "list takes no arguments");
        struct container_info *l = NULL;
        size_t n = 0;
        struct error err = {0};
        if (container_list(g->root, &l, &n, &err) < 0)
                return rt_fail("%s", err.msg);
        if (quiet) {
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", l[i].st->id);
        } else if (strcmp(format, "json") == 0) {
                struct json_object *a = json_object_new_array();
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(a, state_to_oci(l[i].st, l[i].status));
                printf("%s\n", json_compact(a));
                json_object_put(a);
        } else {
                int w = 2;
                for (size_t i = 0; i < n; i++)
                        if ((int)strlen(l[i].st->id) > w)
                                w = (int)strlen(l[i].st->id);
                printf("%-*s   %-10s %-10s %-40s %-30s %s\n", w, "ID", "PID", "STATUS", "BUNDLE",
                       "CREATED", "OWNER");
                for (size_t i = 0; i < n; i++)
                        printf("%-*s   %-10d %-10s %-40s %-30s %s\n", w, l[i].st->id,
                               l[i].status == STATUS_STOPPED ? 0 : (int)l[i].st->pid,
                               status_name(l[i].status), l[i].st->bundle, l[i].st->created,
                               owner_name(l[i].st));
        }
        container_list_free(l, n);
        return 0;
}

const struct rt_command rt_cmd_list = {"list", "list containers",
                                       "list [--format table|json] [--quiet]", cmd_list};
