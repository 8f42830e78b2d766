/* husk run, create, start, attach: options in, one engine call, the attach stream out. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "cli/detach-keys.h"
#include "cli/husk.h"
#include "core/json.h"
#include "core/util.h"
#include "engine/attach.h"
#include "engine/ctr-config.h"
#include "engine/engine.h"
#include "engine/ext-runtime.h" /* extruntime */
#include "engine/restart.h"
#include "engine/runflags.h" /* runflags */

static const char create_help[] =
    "Options:\n"
    "  -d, --detach              run in the background and print the id (run)\n"
    "  -i, --interactive         keep stdin open and forward it\n"
    "  -t, --tty                 give the container a terminal (raw mode here)\n"
    "      --rm                  remove the container when it exits\n"
    "      --name NAME           name the container (default: a random one)\n"
    "  -e, --env K=V             set an environment variable (K alone: from here)\n"
    "  -w, --workdir DIR         working directory inside the container\n"
    "  -u, --user USER[:GROUP]   user (name or uid) and group to run as\n"
    "      --entrypoint CMD      override the image's entrypoint (\"\" clears it)\n"
    "  -h, --hostname NAME       hostname (default: the short id)\n"
    "  -v, --volume HOST:CTR[:ro] bind a host path into the container\n"
    "  -v, --volume NAME:CTR[:ro] a named volume (created on first use); -v CTR: a new\n"
    "                            anonymous one; new volumes get the image's content there\n"
    "      --mount type=bind|volume|tmpfs,source=S,target=T[,readonly][,tmpfs-size=N]\n"
    "                            [,tmpfs-mode=OCTAL][,volume-nocopy][,bind-propagation=P]\n"
    "  -m, --memory BYTES        memory limit (512m, 1g ...)\n"
    "      --pids-limit N        at most N processes\n"
    "      --cpus N              CPU quota in cpus (1.5)\n"
    "  -l, --label K=V           set a label\n"
    "      --stop-signal SIG     signal for stop (default: the image's, or SIGTERM)\n"
    "      --stop-timeout N      seconds stop waits before SIGKILL when -t is not given\n"
    "      --read-only           mount the container's root read-only\n"
    "      --init                run catatonit as pid 1 (reaps, forwards signals)\n"
    "      --tmpfs PATH[:OPTS]   mount a tmpfs (nosuid,nodev,noexec + OPTS)\n"
    "      --cap-add CAP         add a capability to docker's default set (ALL)\n"
    "      --cap-drop CAP        drop a capability from it (ALL)\n"
    "      --ulimit NAME=S[:H]   set an rlimit (nofile, nproc ...), else the host's apply\n"
    "      --env-file FILE       read K=V lines (-e comes after)\n"
    "      --network NET         bridge (default: network husk0), none (loopback only),\n"
    "                            host, container:NAME, or a network's name\n"
    "  -p, --publish [IP:][HPORT:]PORT[/udp]  publish a port (ranges; no HPORT: a free one)\n"
    "  -P, --publish-all         publish the image's exposed ports on free host ports\n"
    "      --ip IP               the container's address on its network\n"
    "      --mac-address MAC     its MAC address\n"
    "      --dns IP              a name server for /etc/resolv.conf\n"
    "      --add-host NAME:IP    a line for /etc/hosts (IP host-gateway: the gateway)\n"
    "      --network-alias NAME  another name of the container on its network\n"
    "      --restart POLICY      no, on-failure[:N], always, unless-stopped\n"
    "      --runtime PATH        an OCI runtime (runc, crun, a name in $PATH) instead of the\n"
    "                            built-in one\n"
    "      --log-driver DRIVER   k8s-file (default), json-file or none\n"
    "      --log-opt K=V         max-size=SIZE, max-file=N: rotate the log\n"
    "      --detach-keys KEYS    keys that detach from a terminal (ctrl-p,ctrl-q)\n";

#define N_OWNED 14 /* [9..11] networks, [12] --mount (volumes branch), [13] aliases */

static char **log_opts; /* monitor2: --log-opt values */

static void free_owned(char ***owned)
{
        for (int i = 0; i < N_OWNED; i++)
                strv_free(owned[i]);
        strv_free(log_opts); /* monitor2 */
        log_opts = NULL;
}

/* Docker's env file: K=V or K per line; blank lines and # comments skipped. */
static int read_env_file(const char *path, char ***env, struct error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, path, 0, &text, NULL);
        if (r < 0)
                return error_sys(err, r, "--env-file '%s'", path);
        char *save = NULL;
        int lineno = 0;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                lineno++;
                l += strspn(l, " \t");
                size_t n = strlen(l);
                if (n && l[n - 1] == '\r')
                        l[--n] = '\0';
                if (!*l || *l == '#')
                        continue;
                if (*l == '=')
                        return error_msg(err, -EINVAL, "--env-file '%s' line %d: no variable name",
                                         path, lineno);
                *env = strv_push(*env, xstrdup(l));
        }
        return 0;
}

/* monitor2: --detach-keys of run, start and attach (docker's default until set). */
static struct detach_keys dkeys = {.seq = {0x10, 0x11}, .len = 2};

/* Parses --detach-keys into dkeys. */
static int set_detach_keys(struct husk_ctx *ctx, const char *s)
{
        struct error err = {0};
        if (detach_keys_parse(s, &dkeys, &err) < 0) {
                husk_fail(ctx, &err);
                return -HUSK_EXIT_USAGE;
        }
        return 0;
}

/* Parses create/run options; returns argv index of IMAGE, or a negative exit status. */
static int parse_create(struct husk_ctx *ctx, int argc, char **argv, bool run,
                        struct ctr_create_opts *o, bool *detach, char ***owned)
{
        static const struct option opts[] = {
            {"detach", no_argument, NULL, 'd'},
            {"interactive", no_argument, NULL, 'i'},
            {"tty", no_argument, NULL, 't'},
            {"rm", no_argument, NULL, 'R'},
            {"name", required_argument, NULL, 'N'},
            {"env", required_argument, NULL, 'e'},
            {"workdir", required_argument, NULL, 'w'},
            {"user", required_argument, NULL, 'u'},
            {"entrypoint", required_argument, NULL, 'E'},
            {"hostname", required_argument, NULL, 'h'},
            {"volume", required_argument, NULL, 'v'},
            {"mount", required_argument, NULL, 0x1001}, /* volumes branch */
            {"memory", required_argument, NULL, 'm'},
            {"pids-limit", required_argument, NULL, 0x101},
            {"cpus", required_argument, NULL, 'C'},
            {"label", required_argument, NULL, 'l'},
            {"stop-signal", required_argument, NULL, 'S'},
            {"stop-timeout", required_argument, NULL, 0x120},
            {"read-only", no_argument, NULL, 'O'},
            {"init", no_argument, NULL, 'I'},
            {"cap-add", required_argument, NULL, 'A'},
            {"cap-drop", required_argument, NULL, 'D'},
            {"tmpfs", required_argument, NULL, 'T'},
            {"ulimit", required_argument, NULL, 'U'},
            {"env-file", required_argument, NULL, 'F'},
            {"network", required_argument, NULL, 'n'},
            {"net", required_argument, NULL, 'n'},
            {"publish", required_argument, NULL, 'p'},
            {"publish-all", no_argument, NULL, 'P'},
            {"ip", required_argument, NULL, 0x102},
            {"mac-address", required_argument, NULL, 0x103},
            {"dns", required_argument, NULL, 0x104},
            {"add-host", required_argument, NULL, 0x105},
            {"network-alias", required_argument, NULL, 0x130}, /* gaps */
            {"net-alias", required_argument, NULL, 0x130},
            {"restart", required_argument, NULL, 0x110}, /* monitor2 */
            {"log-driver", required_argument, NULL, 0x111},
            {"log-opt", required_argument, NULL, 0x112},
            {"detach-keys", required_argument, NULL, 0x113},
            /* runflags: security, devices, limits, namespaces */
            {"privileged", no_argument, NULL, RF_OPT_PRIVILEGED},
            {"security-opt", required_argument, NULL, RF_OPT_SECURITY_OPT},
            {"device", required_argument, NULL, RF_OPT_DEVICE},
            {"sysctl", required_argument, NULL, RF_OPT_SYSCTL},
            {"shm-size", required_argument, NULL, RF_OPT_SHM_SIZE},
            {"memory-swap", required_argument, NULL, RF_OPT_MEMORY_SWAP},
            {"cpu-shares", required_argument, NULL, RF_OPT_CPU_SHARES},
            {"cpuset-cpus", required_argument, NULL, RF_OPT_CPUSET_CPUS},
            {"group-add", required_argument, NULL, RF_OPT_GROUP_ADD},
            {"cgroup-parent", required_argument, NULL, RF_OPT_CGROUP_PARENT},
            {"pid", required_argument, NULL, RF_OPT_PID},
            {"ipc", required_argument, NULL, RF_OPT_IPC},
            {"uts", required_argument, NULL, RF_OPT_UTS},
            {"runtime", required_argument, NULL, 0x131}, /* extruntime */
            {"help", no_argument, NULL, 'H'},
            {},
        };
        /* owned[0]: env, [1]: volumes, [2]: labels, [3]: entrypoint, [4]: cap-add,
         * [5]: cap-drop, [6]: tmpfs, [7]: ulimits, [8]: env from --env-file */
        int c;
        while ((c = getopt_long(argc, argv, "+ditN:e:w:u:h:v:m:l:p:P", opts, NULL)) != -1) {
                if (c >= RF_OPT_PRIVILEGED && c < RF_OPT_END) { /* runflags */
                        struct error err = {0};
                        if (runflags_option(o->runflags, c, optarg, &err) < 0) {
                                husk_fail(ctx, &err);
                                return -HUSK_EXIT_USAGE;
                        }
                        continue;
                }
                switch (c) {
                case 'd':
                        if (!run)
                                return -husk_usage_error(ctx, "unknown option '-d'");
                        *detach = true;
                        break;
                case 'i':
                        o->interactive = true;
                        break;
                case 't':
                        o->tty = true;
                        break;
                case 'R':
                        o->auto_remove = true;
                        break;
                case 'N':
                        o->name = optarg;
                        break;
                case 'e':
                        owned[0] = strv_push(owned[0], xstrdup(optarg));
                        break;
                case 'w':
                        o->workdir = optarg;
                        break;
                case 'u':
                        o->user = optarg;
                        break;
                case 'E':
                        strv_free(owned[3]);
                        owned[3] = strv_push(NULL, xstrdup(optarg));
                        o->has_entrypoint = true;
                        break;
                case 'h':
                        o->hostname = optarg;
                        break;
                case 'v':
                        owned[1] = strv_push(owned[1], xstrdup(optarg));
                        break;
                case 0x1001: /* volumes branch: --mount */
                        owned[12] = strv_push(owned[12], xstrdup(optarg));
                        break;
                case 'm':
                        if (ctr_parse_bytes(optarg, &o->memory) < 0 || o->memory < 6 * 1024 * 1024)
                                return -husk_usage_error(
                                    ctx, "--memory '%s': want a size of at least 6m (512m, 1g)",
                                    optarg);
                        break;
                case 0x101: {
                        int64_t n;
                        if (parse_i64(optarg, &n) < 0 || n == 0 || n < -1)
                                return -husk_usage_error(
                                    ctx, "--pids-limit '%s': want a positive number or -1", optarg);
                        o->pids_limit = n > 0 ? n : 0;
                        break;
                }
                case 'C':
                        if (ctr_parse_cpus(optarg, &o->nano_cpus) < 0)
                                return -husk_usage_error(ctx, "--cpus '%s': want a number > 0",
                                                         optarg);
                        break;
                case 'l':
                        owned[2] = strv_push(owned[2], xstrdup(optarg));
                        break;
                case 'O':
                        o->read_only = true;
                        break;
                case 'I':
                        o->init = true;
                        break;
                case 'A':
                        owned[4] = strv_push(owned[4], xstrdup(optarg));
                        break;
                case 'D':
                        owned[5] = strv_push(owned[5], xstrdup(optarg));
                        break;
                case 'T':
                        owned[6] = strv_push(owned[6], xstrdup(optarg));
                        break;
                case 'U':
                        owned[7] = strv_push(owned[7], xstrdup(optarg));
                        break;
                case 'F': {
                        struct error err = {0};
                        if (read_env_file(optarg, &owned[8], &err) < 0) {
                                husk_fail(ctx, &err);
                                return -HUSK_EXIT_USAGE;
                        }
                        break;
                }
                case 'S':
                        if (engine_parse_signal(optarg) < 0)
                                return -husk_usage_error(ctx, "--stop-signal '%s': unknown signal",
                                                         optarg);
                        o->stop_signal = optarg;
                        break;
                case 0x120: {
                        int64_t n;
                        if (parse_i64(optarg, &n) < 0 || n < 0 || n > 86400)
                                return -husk_usage_error(
                                    ctx, "--stop-timeout '%s': want seconds (0 to 86400)", optarg);
                        o->stop_timeout = (int)n;
                        o->has_stop_timeout = true;
                        break;
                }
                case 'n':
                        o->network = optarg;
                        break;
                case 'p':
                        owned[9] = strv_push(owned[9], xstrdup(optarg));
                        break;
                case 'P':
                        o->publish_all = true;
                        break;
                case 0x102:
                        o->ip = optarg;
                        break;
                case 0x103:
                        o->mac = optarg;
                        break;
                case 0x104:
                        owned[10] = strv_push(owned[10], xstrdup(optarg));
                        break;
                case 0x105:
                        owned[11] = strv_push(owned[11], xstrdup(optarg));
                        break;
                case 0x130: /* gaps: --network-alias */
                        owned[13] = strv_push(owned[13], xstrdup(optarg));
                        break;
                case 0x110: { /* monitor2: --restart */
                        struct error err = {0};
                        if (restart_parse(optarg, &o->restart_name, &o->restart_max, &err) < 0) {
                                husk_fail(ctx, &err);
                                return -HUSK_EXIT_USAGE;
                        }
                        break;
                }
                case 0x111: /* monitor2 */
                        o->log_driver = optarg;
                        break;
                case 0x112:
                        log_opts = strv_push(log_opts, xstrdup(optarg));
                        o->log_opts = log_opts;
                        break;
                case 0x113:
                        if (set_detach_keys(ctx, optarg) < 0)
                                return -HUSK_EXIT_USAGE;
                        break;
                case 0x131: { /* extruntime: --runtime, checked here for docker's 125 */
                        struct error err = {0};
                        _cleanup_free_ char *path = NULL;
                        if (extrt_resolve(optarg, &path, &err) < 0) {
                                husk_fail(ctx, &err);
                                return -HUSK_EXIT_USAGE;
                        }
                        o->runtime = optarg;
                        break;
                }
                case 'H':
                        printf("Usage: husk %s [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n%s\n%s",
                               run ? "run" : "create",
                               run ? "Create and start a container." : "Create a container.",
                               create_help);
                        fputs(runflags_help, stdout); /* runflags */
                        return -0x1000;
                default:
                        return -husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return -husk_usage_error(ctx, "want an IMAGE");
        if (o->auto_remove && o->restart_name && strcmp(o->restart_name, "no") != 0)
                return -husk_usage_error(ctx, "conflicting options: --restart %s and --rm",
                                         o->restart_name);
        o->image = argv[optind];
        o->cmd = argv + optind + 1;
        /* As docker: --env-file first, -e after (and over it). */
        for (char **kv = owned[0]; kv && *kv; kv++)
                owned[8] = strv_push(owned[8], xstrdup(*kv));
        o->env = owned[8];
        o->cap_add = owned[4];
        o->cap_drop = owned[5];
        o->tmpfs = owned[6];
        o->ulimits = owned[7];
        o->volumes = owned[1];
        o->mounts = owned[12]; /* volumes branch */
        o->labels = owned[2];
        o->entrypoint = owned[3];
        o->publish = owned[9];
        o->dns = owned[10];
        o->add_hosts = owned[11];
        o->network_aliases = owned[13]; /* gaps */
        return optind;
}

/* Exit status for a start that failed, as docker: 126 cannot execute, 127 not found. */
static int start_failure_status(const struct error *err)
{
        if (strstr(err->msg, "executable") || strstr(err->msg, "exec")) {
                if (err->code == -ENOENT)
                        return 127;
                if (err->code == -EACCES)
                        return 126;
        }
        return HUSK_EXIT_USAGE;
}

/* Relays the attach stream until the exit frame; returns the exit code. */
static void send_winsize(struct engine *e, const char *id)
{
        struct winsize ws;
        struct error ign = {0};
        if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
                engine_attach_resize(e, id, ws.ws_row, ws.ws_col, &ign);
}

static bool ctr_has_tty(const struct ctr *c)
{
        _cleanup_json_ struct json_object *doc = NULL;
        struct error ign = {0};
        struct json_object *cfg, *v;
        return json_parse_string("config", c->config, &doc, &ign) == 0 &&
               json_object_object_get_ex(doc, "Config", &cfg) &&
               json_object_object_get_ex(cfg, "Tty", &v) && json_object_get_boolean(v);
}

static int stream_loop(struct husk_ctx *ctx, struct engine *e, const char *id, int sock,
                       bool with_stdin, bool tty);

/* With a terminal container and a terminal here: raw mode for the whole
 * stream, restored on every way out (stream_loop only returns). */
static int stream(struct husk_ctx *ctx, struct engine *e, const char *id, int sock, bool with_stdin,
                  bool tty)
{
        struct termios saved;
        bool raw = tty && isatty(0) && tcgetattr(0, &saved) == 0;
        if (raw) {
                struct termios t = saved;
                cfmakeraw(&t);
                tcsetattr(0, TCSANOW, &t);
                send_winsize(e, id);
        }
        int status = stream_loop(ctx, e, id, sock, with_stdin, raw);
        if (raw)
                tcsetattr(0, TCSANOW, &saved);
        return status;
}

static int stream_loop(struct husk_ctx *ctx, struct engine *e, const char *id, int sock,
                       bool with_stdin, bool tty)
{
        sigset_t sigs;
        sigemptyset(&sigs);
        int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        for (size_t i = 0; i < ARRAY_SIZE(fwd); i++)
                sigaddset(&sigs, fwd[i]);
        sigprocmask(SIG_BLOCK, &sigs, NULL);
        signal(SIGPIPE, SIG_IGN);
        _cleanup_close_ int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
        bool in_open = with_stdin;
        for (;;) {
                struct pollfd p[3] = {{.fd = sock, .events = POLLIN},
                                      {.fd = sfd, .events = POLLIN},
                                      {.fd = in_open ? 0 : -1, .events = POLLIN}};
                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) != sizeof(si)) {
                                /* nothing */
                        } else if (si.ssi_signo == SIGWINCH) {
                                if (tty)
                                        send_winsize(e, id);
                        } else {
                                struct ctr c = {0};
                                struct error ign = {0};
                                if (engine_db_reopen(e, &ign) == 0 && /* startproto */
                                    ctr_get(e->store->db, id, &c, &ign) == 0)
                                        engine_kill(e, &c, (int)si.ssi_signo, &ign);
                                ctr_free(&c);
                        }
                }
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
                        char in[65536], buf[65536 + DETACH_KEYS_MAX];
                        ssize_t got = read(0, in, sizeof(in)), n = got;
                        size_t fn = got > 0 ? (size_t)got : 0;
                        bool detached = false;
                        if (got > 0 && tty)
                                detached = detach_keys_filter(&dkeys, in, (size_t)got, buf, &fn);
                        else if (got > 0)
                                memcpy(buf, in, (size_t)got);
                        n = got > 0 ? (ssize_t)fn : got;
                        if (detached) {
                                /* The detach keys: leave the container running, as docker. */
                                if (n > 0)
                                        write_all(sock, buf, (size_t)n);
                                fprintf(stderr, "\r\nread escape sequence\r\n");
                                return 0;
                        }
                        if (n > 0 && write_all(sock, buf, (size_t)n) < 0)
                                got = 0;
                        if (got <= 0 && !(got < 0 && errno == EINTR)) {
                                in_open = false;
                                shutdown(sock, SHUT_WR);
                        }
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        char type;
                        _cleanup_free_ char *buf = NULL;
                        size_t len;
                        int r = frame_read(sock, &type, &buf, &len);
                        if (r <= 0)
                                break;
                        /* Nobody reads our output any more (`husk run ... | head -1`):
                         * stop as a shell pipeline would, the container runs on. */
                        if (type == FRAME_STDOUT) {
                                if (write_all(1, buf, len) == -EPIPE)
                                        return 128 + SIGPIPE;
                        } else if (type == FRAME_STDERR) {
                                write_all(2, buf, len);
                        } else if (type == FRAME_EXIT) {
                                return atoi(buf);
                        }
                }
        }
        /* The monitor went away without the exit frame: ask the store. */
        struct error err = {0};
        struct ctr c = {0};
        if (engine_db_reopen(e, &err) < 0 || engine_lookup(e, id, &c, &err) < 0) /* startproto */
                return husk_fail(ctx, &err);
        int code = c.exit_code;
        if (c.error[0])
                fprintf(stderr, "husk: %s: %s\n", ctx->cmd, c.error);
        ctr_free(&c);
        return code;
}

static int create_or_run(struct husk_ctx *ctx, int argc, char **argv, bool run)
{
        struct ctr_create_opts o = {0};
        bool detach = false;
        char **owned[N_OWNED] = {0};
        struct ctr_runflags rf = {0}; /* runflags */
        o.runflags = &rf;
        int r = parse_create(ctx, argc, argv, run, &o, &detach, owned);
        if (r < 0) {
                runflags_free(&rf);
                free_owned(owned);
                return r == -0x1000 ? 0 : -r;
        }
        /* As docker: -i keeps stdin open; only an attached run -i (or create -i)
         * closes it when its client leaves. */
        o.stdin_once = !(run && detach);
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        _cleanup_free_ char *id = NULL;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_create(e, &o, &id, &err) < 0) {
                runflags_free(&rf);
                free_owned(owned);
                return husk_fail(ctx, &err);
        }
        runflags_free(&rf);
        free_owned(owned);
        if (!run) {
                printf("%s\n", id);
                return 0;
        }
        _cleanup_close_ int sock = -EBADF;
        struct winsize ws = {0};
        if (o.tty && isatty(0))
                ioctl(0, TIOCGWINSZ, &ws);
        e->db_lazy = true; /* startproto: stream_loop reopens it if it must */
        if (engine_start(e, id, detach ? NULL : &sock, o.interactive && !detach, ws.ws_row,
                         ws.ws_col, &err) < 0) {
                int status = start_failure_status(&err);
                husk_fail(ctx, &err);
                return status;
        }
        if (detach) {
                printf("%s\n", id);
                return 0;
        }
        return stream(ctx, e, id, sock, o.interactive, o.tty);
}

int cmd_run(struct husk_ctx *ctx, int argc, char **argv)
{
        return create_or_run(ctx, argc, argv, true);
}

int cmd_create(struct husk_ctx *ctx, int argc, char **argv)
{
        return create_or_run(ctx, argc, argv, false);
}

int cmd_start(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"attach", no_argument, NULL, 'a'},
            {"interactive", no_argument, NULL, 'i'},
            {"detach-keys", required_argument, NULL, 'K'}, /* monitor2 */
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool attach = false, interactive = false;
        int c;
        while ((c = getopt_long(argc, argv, "aih", opts, NULL)) != -1) {
                if (c == 'K') {
                        if (set_detach_keys(ctx, optarg) < 0)
                                return HUSK_EXIT_USAGE;
                } else if (c == 'a') {
                        attach = true;
                } else if (c == 'i') {
                        interactive = true;
                } else if (c == 'h') {
                        printf("Usage: husk start [-a] [-i] CONTAINER...\n\nStart containers.\n"
                               "  -a, --attach        stream its output and return its exit "
                               "code\n"
                               "  -i, --interactive   forward stdin\n"
                               "      --detach-keys K keys that detach (ctrl-p,ctrl-q)\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one CONTAINER");
        if ((attach || interactive) && argc - optind > 1)
                return husk_usage_error(ctx, "you cannot attach to several containers at once");
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0)
                return husk_fail(ctx, &err);
        int status = 0;
        for (int i = optind; i < argc; i++) {
                struct ctr ct = {0};
                if (engine_lookup(e, argv[i], &ct, &err) < 0) {
                        status = husk_fail(ctx, &err);
                        continue;
                }
                _cleanup_free_ char *id = xstrdup(ct.id);
                bool running = strcmp(ct.state, "running") == 0;
                bool tty = ctr_has_tty(&ct);
                ctr_free(&ct);
                struct winsize ws = {0};
                if (tty && isatty(0))
                        ioctl(0, TIOCGWINSZ, &ws);
                if (running && !attach) {
                        printf("%s\n", argv[i]);
                        continue; /* as docker: starting a running container is fine */
                }
                _cleanup_close_ int sock = -EBADF;
                int r = running ? engine_attach_connect(e, id, interactive, &sock, &err)
                                : engine_start(e, id, attach || interactive ? &sock : NULL,
                                               interactive, ws.ws_row, ws.ws_col, &err);
                if (r < 0) {
                        status = husk_fail(ctx, &err);
                        continue;
                }
                if (attach || interactive)
                        return stream(ctx, e, id, sock, interactive, tty);
                printf("%s\n", argv[i]);
        }
        return status;
}

int cmd_attach(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"no-stdin", no_argument, NULL, 'n'},
            {"detach-keys", required_argument, NULL, 'K'}, /* monitor2 */
            {"help", no_argument, NULL, 'h'},
            {},
        };
        bool with_stdin = true;
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'K') {
                        if (set_detach_keys(ctx, optarg) < 0)
                                return HUSK_EXIT_USAGE;
                } else if (c == 'n') {
                        with_stdin = false;
                } else if (c == 'h') {
                        printf("Usage: husk attach [--no-stdin] [--detach-keys KEYS] CONTAINER\n\n"
                               "Stream a running container's output (and forward stdin to it).\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (argc - optind != 1)
                return husk_usage_error(ctx, "want one CONTAINER");
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr ct = {0};
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_lookup(e, argv[optind], &ct, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_free_ char *id = xstrdup(ct.id);
        bool running = strcmp(ct.state, "running") == 0;
        bool tty = ctr_has_tty(&ct);
        ctr_free(&ct);
        if (!running) {
                error_msg(&err, -EINVAL,
                          "you cannot attach to a stopped container, start it first");
                return husk_fail(ctx, &err);
        }
        _cleanup_close_ int sock = -EBADF;
        if (engine_attach_connect(e, id, with_stdin, &sock, &err) < 0)
                return husk_fail(ctx, &err);
        return stream(ctx, e, id, sock, with_stdin, tty);
}
