#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "cli/runtime.h"
#include "core/sealed.h"
#include "core/json.h"
#include "core/log.h"
#include "core/sys.h"
#include "core/util.h"
#include "runtime/userns.h"

#define HUSK_VERSION     "0.1.0"
#define OCI_SPEC_VERSION "1.2.0"

static const struct rt_command *commands[] = {
    &rt_cmd_create,   &rt_cmd_start, &rt_cmd_run,    &rt_cmd_state,  &rt_cmd_kill,
    &rt_cmd_delete,   &rt_cmd_list,  &rt_cmd_exec,   &rt_cmd_ps,     &rt_cmd_spec,
    &rt_cmd_features, &rt_cmd_pause, &rt_cmd_resume, &rt_cmd_update, &rt_cmd_events,
};

static int log_fd = -1;
static char **saved_argv;
static bool log_json;

static void write_log_line(const char *level, const char *msg)
{
        if (log_fd < 0)
                return;
        char ts[64];
        _cleanup_free_ char *now = NULL;
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        struct tm tm;
        gmtime_r(&t.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (log_json) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "level", json_object_new_string(level));
                json_object_object_add(o, "msg", json_object_new_string(msg));
                json_object_object_add(o, "time", json_object_new_string(ts));
                dprintf(log_fd, "%s\n", json_compact(o));
                json_object_put(o);
        } else {
                /* logfmt, as runc's text log: quotes, backslashes and newlines escaped. */
                char q[4096];
                size_t n = 0;
                for (const char *p = msg; *p && n + 2 < sizeof(q); p++) {
                        if (*p == '"' || *p == '\\' || *p == '\n')
                                q[n++] = '\\';
                        q[n++] = *p == '\n' ? 'n' : *p;
                }
                q[n] = '\0';
                dprintf(log_fd, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, q);
        }
}

static bool debug_on;

/*
 * Warnings and debug messages go to the --log file when there is one, and only
 * there, as runc does: callers like conmon hand the runtime the container's own
 * stdio, so anything on our stderr would land in the container's log. Fatal
 * errors (rt_fail) still go to both.
 */
static void sink(const char *level, const char *msg)
{
        if (strcmp(level, "debug") == 0 && !debug_on)
                return;
        if (log_fd >= 0)
                write_log_line(level, msg);
        else
                fprintf(stderr, "husk-runtime: %s: %s\n", level, msg);
}

int rt_fail(const char *fmt, ...)
{
        char buf[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        fprintf(stderr, "husk-runtime: %s\n", buf);
        write_log_line("error", buf);
        return 1;
}

int rt_usage_error(const struct rt_command *cmd, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        fprintf(stderr, "husk-runtime %s: %s\nusage: husk-runtime %s\n", cmd->name, buf,
                cmd->usage);
        write_log_line("error", buf);
        return 1;
}

bool rt_wants_help(const struct rt_command *cmd, int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        return false;
                if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        printf("husk-runtime %s - %s\n\nusage: husk-runtime %s\n", cmd->name,
                               cmd->summary, cmd->usage);
                        return true;
                }
        }
        return false;
}

bool rt_is_sealed(void)
{
        _cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        int seals = fd < 0 ? -1 : fcntl(fd, F_GET_SEALS);
        return seals >= 0 && (seals & F_SEAL_WRITE);
}

int rt_reexec_sealed(void)
{
        return sealed_reexec(saved_argv);
}

void rt_preserve_fds(int n)
{
        for (int fd = 3; fd < 3 + n; fd++) {
                int fl = fcntl(fd, F_GETFD);
                if (fl >= 0)
                        fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
        }
}

int rt_parse_signal(const char *s)
{
        static const struct {
                const char *name;
                int sig;
        } sigs[] = {
            {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
            {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
            {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
            {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
            {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
            {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
            {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
            {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
            {"SYS", SIGSYS},
        };
        uint64_t n;
        if (parse_u64(s, &n) == 0)
                return n >= 1 && n <= (uint64_t)SIGRTMAX ? (int)n : -1;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
                if (strcasecmp(s, sigs[i].name) == 0)
                        return sigs[i].sig;
        if (strncasecmp(s, "RTMIN+", 6) == 0 && parse_u64(s + 6, &n) == 0 &&
            SIGRTMIN + (int)n <= SIGRTMAX)
                return SIGRTMIN + (int)n;
        if (strncasecmp(s, "RTMAX-", 6) == 0 && parse_u64(s + 6, &n) == 0 &&
            SIGRTMAX - (int)n >= SIGRTMIN)
                return SIGRTMAX - (int)n;
        return -1;
}

static void usage(FILE *f)
{
        fprintf(f, "husk-runtime - a runc-compatible OCI runtime\n\n"
                   "usage: husk-runtime [global options] COMMAND [options] [arguments]\n\n"
                   "commands:\n");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
        fprintf(f, "\nglobal options:\n"
                   "  --root DIR           state directory (default /run/husk-runtime; not root:\n"
                   "                       $XDG_RUNTIME_DIR/husk-runtime or\n"
                   "                       /run/user/UID/husk-runtime)\n"
                   "  --log FILE           also write errors and warnings to FILE\n"
                   "  --log-format FORMAT  text or json (default text)\n"
                   "  --debug              print debug messages\n"
                   "  --systemd-cgroup     use the systemd cgroup driver (not supported)\n"
                   "  --rootless MODE      true, false or auto (default): act as an unprivileged\n"
                   "                       runtime (cgroups only where delegated)\n"
                   "  --explain            print every kernel step as a shell command\n"
                   "  --version, -v        print the version\n"
                   "  --help, -h           print this help (COMMAND --help for a command)\n");
}

/* Commands that never touch the state root, so need none to be found. */
static bool needs_state(const char *name)
{
        return strcmp(name, "spec") != 0 && strcmp(name, "features") != 0 &&
               strcmp(name, "help") != 0;
}

/* The state root of an unprivileged caller, as runc finds it:
 * $XDG_RUNTIME_DIR/husk-runtime, else /run/user/UID/husk-runtime when that
 * directory is the caller's. NULL with *ret_why when there is none. */
static char *default_rootless_root(char **ret_why)
{
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        if (xdg && *xdg) {
                if (xdg[0] != '/') {
                        *ret_why = xasprintf("XDG_RUNTIME_DIR '%s' is not an absolute path; "
                                             "set it to your runtime directory or pass --root",
                                             xdg);
                        return NULL;
                }
                return xasprintf("%s/husk-runtime", xdg);
        }
        _cleanup_free_ char *user_dir = xasprintf("/run/user/%u", (unsigned)geteuid());
        struct stat st;
        if (stat(user_dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
                return xasprintf("%s/husk-runtime", user_dir);
        *ret_why = xasprintf("running as uid %u without XDG_RUNTIME_DIR, and '%s' is not a "
                             "directory of yours: set XDG_RUNTIME_DIR or pass --root DIR",
                             (unsigned)geteuid(), user_dir);
        return NULL;
}

static void version(void)
{
        const struct scmp_version *v = seccomp_version();
        printf("husk-runtime version %s\nspec: %s\nlibseccomp: %u.%u.%u\n", HUSK_VERSION,
               OCI_SPEC_VERSION, v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
}

int runtime_main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"root", required_argument, NULL, 'r'},
            {"log", required_argument, NULL, 'l'},
            {"log-format", required_argument, NULL, 'f'},
            {"debug", no_argument, NULL, 'd'},
            {"systemd-cgroup", no_argument, NULL, 's'},
            {"explain", no_argument, NULL, 'e'},
            {"version", no_argument, NULL, 'v'},
            {"help", no_argument, NULL, 'h'},
            {"criu", required_argument, NULL, 'C'},
            {"rootless", required_argument, NULL, 'R'},
            {0},
        };
        struct rt_globals g = {0};
        saved_argv = argv;
        bool explain_flag = false;
        /* A hook or a console reader that goes away must not kill us mid-operation. */
        signal(SIGPIPE, SIG_IGN);
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
                switch (c) {
                case 'r':
                        g.root = optarg;
                        break;
                case 'l':
                        g.log = optarg;
                        break;
                case 'f':
                        if (strcmp(optarg, "text") && strcmp(optarg, "json"))
                                return rt_fail("--log-format must be 'text' or 'json', not '%s'",
                                               optarg);
                        g.log_format = optarg;
                        break;
                case 'd':
                        g.debug = true;
                        break;
                case 's':
                        g.systemd_cgroup = true;
                        break;
                case 'e':
                        explain_flag = true;
                        break;
                case 'v':
                        version();
                        return 0;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'C':
                        break;
                case 'R':
                        /* runc's --rootless: act rootless (cgroups, state) or not, or decide. */
                        if (strcmp(optarg, "true") == 0)
                                userns_set_rootless(ROOTLESS_TRUE);
                        else if (strcmp(optarg, "false") == 0)
                                userns_set_rootless(ROOTLESS_FALSE);
                        else if (strcmp(optarg, "auto") == 0)
                                userns_set_rootless(ROOTLESS_AUTO);
                        else
                                return rt_fail("--rootless must be 'true', 'false' or 'auto', "
                                               "not '%s'",
                                               optarg);
                        break;
                default:
                        fprintf(stderr, "husk-runtime: unknown global option '%s'\n",
                                argv[optind - 1]);
                        usage(stderr);
                        return 1;
                }
        }
        if (g.log) {
                log_fd = open(g.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
                if (log_fd < 0)
                        return rt_fail("open log file '%s': %s", g.log, strerror(errno));
        }
        log_json = g.log_format && strcmp(g.log_format, "json") == 0;
        debug_on = g.debug;
        log_set_sink(sink);
        if (explain_flag) {
                /* Explanations go to our stderr even after the container's stdio is set up. */
                int fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
                if (fd >= 0)
                        explain_enable(fd);
        }
        if (g.systemd_cgroup)
                return rt_fail("--systemd-cgroup: the systemd cgroup driver is not supported; "
                               "use cgroupfs paths (omit --systemd-cgroup)");
        if (optind >= argc) {
                usage(stderr);
                return 1;
        }
        const char *name = argv[optind];
        _cleanup_free_ char *rootless_root = NULL;
        const char *xdg = getenv("XDG_RUNTIME_DIR"), *user = getenv("USER");
        if (!g.root && geteuid() != 0 && needs_state(name)) {
                _cleanup_free_ char *why = NULL;
                g.root = rootless_root = default_rootless_root(&why);
                if (!g.root)
                        return rt_fail("%s", why);
        } else if (!g.root && xdg && xdg[0] == '/' && (!user || strcmp(user, "root") != 0) &&
                   userns_in_child_namespace()) {
                /* Root of a user namespace (rootless Podman): the user's runtime
                 * dir, as runc's shouldHonorXDGRuntimeDir decides. */
                g.root = rootless_root = xasprintf("%s/husk-runtime", xdg);
        } else if (!g.root) {
                g.root = "/run/husk-runtime";
        }
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                if (strcmp(name, commands[i]->name) == 0) {
                        if (rt_wants_help(commands[i], argc - optind, argv + optind))
                                return 0;
                        optind++;
                        /* Commands parse their own options from argv[0] = command name. */
                        int r = commands[i]->run(&g, argc - optind + 1, argv + optind - 1);
                        fflush(stdout);
                        return r;
                }
        if (strcmp(name, "help") == 0) {
                usage(stdout);
                return 0;
        }
        /* One line, also in the --log file: engines show the runtime's error to the
         * user (containerd: "OCI runtime pause failed: ..."), a whole usage text is noise. */
        return rt_fail("unknown command '%s' (see 'husk-runtime --help')", name);
}
