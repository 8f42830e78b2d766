/* husk logs and husk exec. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/detach-keys.h"
#include "cli/husk.h"
#include "core/json.h"
#include "core/sealed.h"
#include "core/util.h"
#include "engine/ctr-config.h"
#include "engine/engine.h"
#include "engine/ext-runtime.h" /* extruntime */
#include "engine/logdrv.h"
#include "engine/logs.h"
#include "runtime/container.h"
#include "runtime/spec.h"
#include "runtime/terminal.h"

static int64_t since_ns = -1, until_ns = -1;

/* Drops the messages outside --since/--until (before --tail counts). */
static void filter_msgs(struct log_msg *m, size_t *n)
{
        size_t o = 0;
        for (size_t i = 0; i < *n; i++) {
                int64_t t = since_ns >= 0 || until_ns >= 0 ? log_ts_ns(m[i].ts) : 0;
                if ((since_ns >= 0 && t < since_ns) || (until_ns >= 0 && t > until_ns)) {
                        free(m[i].ts);
                        free(m[i].text);
                        continue;
                }
                m[o++] = m[i];
        }
        *n = o;
}

static void print_msgs(struct log_msg *m, size_t from, size_t n, bool timestamps)
{
        for (size_t i = from; i < n; i++) {
                FILE *f = m[i].is_err ? stderr : stdout;
                if (timestamps)
                        fprintf(f, "%s ", m[i].ts);
                fwrite(m[i].text, 1, m[i].len, f); /* byte for byte: NULs too */
                fputc('\n', f);
        }
        fflush(stdout);
        fflush(stderr);
}

/* Reads what was appended since *off; false on a read error. */
static bool read_more(int fd, struct log_reader *r, struct log_msg **m, size_t *n)
{
        char buf[65536];
        for (;;) {
                ssize_t k = read(fd, buf, sizeof(buf));
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return false;
                if (k == 0)
                        return true;
                log_reader_feed(r, buf, (size_t)k, m, n);
        }
}

int cmd_logs(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
                                             {"tail", required_argument, NULL, 'n'},
                                             {"timestamps", no_argument, NULL, 't'},
                                             {"since", required_argument, NULL, 'S'},
                                             {"until", required_argument, NULL, 'U'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        bool follow = false, timestamps = false;
        int64_t tail = -1;
        int c;
        while ((c = getopt_long(argc, argv, "fn:th", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        follow = true;
                        break;
                case 't':
                        timestamps = true;
                        break;
                case 'S':
                case 'U':
                        if (log_parse_time(optarg, now_ns(), c == 'S' ? &since_ns : &until_ns) < 0)
                                return husk_usage_error(
                                    ctx,
                                    "--%s '%s': want a time (2026-12-06T01:02:03Z, unix "
                                    "seconds) or a duration before now (10m, 1h30m)",
                                    c == 'S' ? "since" : "until", optarg);
                        break;
                case 'n':
                        if (strcmp(optarg, "all") == 0)
                                tail = -1;
                        else if (parse_i64(optarg, &tail) < 0 || tail < 0)
                                return husk_usage_error(ctx, "--tail '%s': want a number or all",
                                                        optarg);
                        break;
                case 'h':
                        printf("Usage: husk logs [-f] [--tail N] [-t] [--since T] [--until T] "
                               "CONTAINER\n\nShow a container's output (stdout and stderr).\n");
                        return 0;
                default:
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
        /* monitor2: the log driver decides the files (rotated ones first) or that there are none.
         */
        struct log_cfg lc;
        {
                _cleanup_json_ struct json_object *doc = NULL;
                json_parse_string("container config", ct.config, &doc, &err);
                logdrv_get_config(doc, &lc);
                error_clear(&err);
        }
        if (strcmp(lc.driver, "none") == 0) {
                error_msg(&err, -EINVAL,
                          "container %s: the configured logging driver (none) does not support "
                          "reading",
                          ct.name);
                ctr_free(&ct);
                return husk_fail(ctx, &err);
        }
        ctr_free(&ct);
        _cleanup_free_ char *path = engine_log_path(e, id);
        struct log_reader r = {0};
        struct log_msg *m = NULL;
        size_t n = 0;
        _cleanup_strv_ char **files = logdrv_files(path, &lc);
        for (char **f = files; f && *f && strcmp(*f, path) != 0; f++) {
                _cleanup_close_ int old = open(*f, O_RDONLY | O_CLOEXEC);
                if (old >= 0)
                        read_more(old, &r, &m, &n);
        }
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno != ENOENT) {
                error_sys(&err, -errno, "open '%s'", path);
                log_reader_done(&r);
                log_msg_free_array(m, n);
                return husk_fail(ctx, &err);
        }
        if (fd >= 0)
                read_more(fd, &r, &m, &n);
        if (!follow)
                log_reader_flush(&r, &m, &n); /* monitor2: a last line without newline */
        filter_msgs(m, &n);
        size_t from = tail >= 0 && (size_t)tail < n ? n - (size_t)tail : 0;
        print_msgs(m, from, n, timestamps);
        log_msg_free_array(m, n);
        m = NULL;
        n = 0;
        while (follow) {
                /* Until the container stops: its monitor is the only writer. */
                struct ctr now = {0};
                bool running =
                    engine_lookup(e, id, &now, &err) == 0 && strcmp(now.state, "running") == 0;
                ctr_free(&now);
                if (fd < 0)
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0)
                        read_more(fd, &r, &m, &n);
                /* monitor2: rotated meanwhile: finish the old file, go on with the new. */
                struct stat a, b;
                if (fd >= 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino != b.st_ino) {
                        read_more(fd, &r, &m, &n);
                        close(fd);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd >= 0)
                                read_more(fd, &r, &m, &n);
                }
                if (!running)
                        log_reader_flush(&r, &m, &n);
                filter_msgs(m, &n);
                print_msgs(m, 0, n, timestamps);
                log_msg_free_array(m, n);
                m = NULL;
                n = 0;
                if (!running)
                        break;
                usleep(100000);
        }
        log_reader_done(&r);
        return 0;
}

/* ---------------------------------------------------------------- exec */

DEFINE_FREEP(struct spec, spec_free)

/* Sets K=V in env, replacing an earlier K. */
static char **env_set(char **env, const char *kv)
{
        size_t k = strcspn(kv, "=") + 1;
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], kv, k) == 0) {
                        free(env[i]);
                        env[i] = xstrdup(kv);
                        return env;
                }
        return strv_push(env, xstrdup(kv));
}

/* monitor2: exec --detach-keys (docker's default until set). */
static struct detach_keys exec_keys = {.seq = {0x10, 0x11}, .len = 2};

static bool exec_filter(void *arg, const char *in, size_t n, char *out, size_t *out_n)
{
        return detach_keys_filter(arg, in, n, out, out_n);
}

/* After detaching from exec -t nobody else holds the pty master, and its
 * closing would hang up the process: a small child of ours (in a session of
 * its own) keeps it open, dropping the output, until the process is gone. */
static void hold_terminal(int master)
{
        pid_t pid = fork();
        if (pid != 0)
                return;
        setsid();
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int fd = 0; fd < 3 && null >= 0; fd++)
                dup2(null, fd);
        char buf[4096];
        ssize_t n;
        while ((n = read(master, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
                ;
        _exit(0);
}

/* exec -t: the runtime hands the pty master over a console socket (in the
 * container's run dir, reached through /proc/self/fd so its path stays short);
 * then relay it (raw mode, window size, signals) until the process exits. */
static int exec_tty(struct husk_ctx *ctx, struct engine *e, const char *id, struct spec *s,
                    bool interactive)
{
        struct error err = {0};
        _cleanup_free_ char *run = engine_run_dir(e, id);
        _cleanup_close_ int dfd = open(run, O_DIRECTORY | O_PATH | O_CLOEXEC);
        _cleanup_close_ int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (dfd < 0 || lfd < 0) {
                error_sys(&err, -errno, "console socket in '%s'", run);
                return husk_fail(ctx, &err);
        }
        char name[64], path[128];
        snprintf(name, sizeof(name), "console-%d", (int)getpid());
        snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, name);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
        unlinkat(dfd, name, 0);
        if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 1) < 0) {
                error_sys(&err, -errno, "console socket '%s/%s'", run, name);
                return husk_fail(ctx, &err);
        }
        s->process.terminal = true;
        if (!interactive) {
                int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, 0);
                        close(null);
                }
        }
        char pidfile[128];
        snprintf(pidfile, sizeof(pidfile), "/proc/self/fd/%d/exec-%d.pid", dfd, (int)getpid());
        struct exec_opts eo = {.root = e->rt_root,
                               .id = id,
                               .spec = s,
                               .console_socket = path,
                               .pid_file = pidfile,
                               .detach = true};
        int status = 0;
        int r = container_exec(&eo, &status, &err);
        snprintf(pidfile, sizeof(pidfile), "exec-%d.pid", (int)getpid());
        _cleanup_free_ char *pidtext = NULL;
        read_file_at(dfd, pidfile, 64, &pidtext, NULL);
        unlinkat(dfd, pidfile, 0);
        _cleanup_close_ int conn = r < 0 ? -EBADF : accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        unlinkat(dfd, name, 0);
        if (r < 0) {
                husk_fail(ctx, &err);
                return err.code == -ENOENT ? 127 : err.code == -EACCES ? 126 : HUSK_EXIT_USAGE;
        }
        _cleanup_close_ int master = -EBADF;
        uint64_t pid = 0;
        if (conn < 0 || recv_fd(conn, &master) < 0 || !pidtext || parse_u64(pidtext, &pid) < 0) {
                error_msg(&err, -EIO, "exec: no terminal from the container");
                return husk_fail(ctx, &err);
        }
        if (terminal_relay_filter(master, (pid_t)pid, exec_filter, &exec_keys, &status) == 1) {
                /* monitor2: the detach keys; the process runs on, as docker's. */
                fprintf(stderr, "\r\nread escape sequence\r\n");
                hold_terminal(master);
                return 0;
        }
        return status;
}

/* exec --privileged, as docker: every capability husk itself can hand on
 * (its bounding set may lack some) and no seccomp filter for this process. */
static void exec_privileged(struct spec *s)
{
        uint64_t all = 0;
        for (int c = 0; c <= spec_cap_last() && c < 64; c++)
                if (spec_cap_name(c) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
                        all |= UINT64_C(1) << c;
        struct spec_process *p = &s->process;
        p->has_caps = true;
        p->caps.bounding = p->caps.effective = p->caps.permitted = all;
        if (s->linux.seccomp) {
                json_object_put(s->linux.seccomp);
                s->linux.seccomp = NULL;
        }
}

int cmd_exec(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"detach", no_argument, NULL, 'd'},     {"interactive", no_argument, NULL, 'i'},
            {"tty", no_argument, NULL, 't'},        {"env", required_argument, NULL, 'e'},
            {"user", required_argument, NULL, 'u'}, {"workdir", required_argument, NULL, 'w'},
            {"help", no_argument, NULL, 'h'},       {"detach-keys", required_argument, NULL, 'K'},
            {"privileged", no_argument, NULL, 'P'}, {}};
        bool detach = false, interactive = false, tty = false, privileged = false;
        const char *user = NULL, *workdir = NULL;
        _cleanup_strv_ char **env = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "+dite:u:w:h", opts, NULL)) != -1) {
                switch (c) {
                case 'd':
                        detach = true;
                        break;
                case 'i':
                        interactive = true;
                        break;
                case 't':
                        tty = true;
                        break;
                case 'e':
                        if (!strchr(optarg, '=')) {
                                const char *v = getenv(optarg);
                                if (v)
                                        env = strv_push(env, xasprintf("%s=%s", optarg, v));
                        } else {
                                env = strv_push(env, xstrdup(optarg));
                        }
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'P':
                        privileged = true;
                        break;
                case 'K': { /* monitor2 */
                        struct error kerr = {0};
                        if (detach_keys_parse(optarg, &exec_keys, &kerr) < 0)
                                return husk_fail(ctx, &kerr);
                        break;
                }
                case 'w':
                        workdir = optarg;
                        if (workdir[0] != '/')
                                return husk_usage_error(ctx, "--workdir '%s': not absolute",
                                                        workdir);
                        break;
                case 'h':
                        printf("Usage: husk exec [-d] [-i] [-e K=V] [-u USER] [-w DIR] "
                               "[--privileged] CONTAINER COMMAND [ARG...]\n\nRun a command in a "
                               "running container (--privileged: with every capability and no "
                               "seccomp).\n");
                        return 0;
                default:
                        return husk_bad_option(ctx);
                }
        }
        if (argc - optind < 2)
                return husk_usage_error(ctx, "want a CONTAINER and a COMMAND");
        /* The process we start is visible to the container's others: run sealed. */
        if (!sealed_is_self()) {
                int r = sealed_reexec(ctx->argv);
                struct error err = {0};
                error_sys(&err, r, "re-execute from a sealed copy of husk");
                return husk_fail(ctx, &err);
        }
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr ct = {0};
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_lookup(e, argv[optind], &ct, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_free_ char *id = xstrdup(ct.id);
        /* extruntime: the container's own runtime execs into it */
        _cleanup_free_ char *rt = ct.runtime && ct.runtime[0] ? xstrdup(ct.runtime) : NULL;
        _cleanup_free_ char *bundle = engine_ctr_dir(e, ct.id);
        bool running = strcmp(ct.state, "running") == 0;
        if (!running) {
                error_msg(&err, -EINVAL, "container %s is not running", ct.name);
                ctr_free(&ct);
                return husk_fail(ctx, &err);
        }
        ctr_free(&ct);
        _cleanup_(spec_freep) struct spec *s = NULL;
        if ((rt ? spec_load(bundle, &s, &err) : container_load_config(e->rt_root, id, &s, &err)) <
            0)
                return husk_fail(ctx, &err);
        struct spec_process *p = &s->process;
        strv_free(p->args);
        p->args = strv_copy(argv + optind + 1);
        p->terminal = false;
        for (char **kv = env; kv && *kv; kv++)
                p->env = env_set(p->env, *kv);
        if (privileged)
                exec_privileged(s);
        if (workdir) {
                free(p->cwd);
                p->cwd = xstrdup(workdir);
        }
        if (user) {
                _cleanup_free_ char *dir = engine_ctr_dir(e, id);
                _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
                _cleanup_close_ int rootfd = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (rootfd < 0) {
                        error_sys(&err, -errno, "open '%s'", rootfs);
                        return husk_fail(ctx, &err);
                }
                uint32_t uid, gid;
                if (ctr_resolve_user(rootfd, user, &uid, &gid, NULL, &err) < 0)
                        return husk_fail(ctx, &err);
                p->user.uid = uid;
                p->user.gid = gid;
                if (uid != 0) {
                        /* As docker: a non-root user has no effective capabilities. */
                        p->caps.effective = p->caps.permitted = p->caps.ambient = 0;
                        p->caps.inheritable = 0;
                }
        }
        if (rt) { /* extruntime */
                int null = detach || interactive ? -1 : open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, 0);
                        close(null);
                }
                int status = 0, master = -1;
                pid_t pid = 0;
                if (extrt_exec(rt, e->rt_root, id, bundle, p, tty, detach, &status, &master, &pid,
                               &err) < 0) {
                        husk_fail(ctx, &err);
                        return err.code == -ENOENT   ? 127
                               : err.code == -EACCES ? 126
                                                     : HUSK_EXIT_USAGE;
                }
                if (master >= 0 && detach) { /* -d -t: the pty is held, as docker's */
                        hold_terminal(master);
                        close(master);
                        return 0;
                }
                if (master >= 0 &&
                    terminal_relay_filter(master, pid, exec_filter, &exec_keys, &status) == 1) {
                        fprintf(stderr, "\r\nread escape sequence\r\n");
                        hold_terminal(master);
                        status = 0;
                }
                if (master >= 0)
                        close(master);
                return status;
        }
        if (tty && !detach)
                return exec_tty(ctx, e, id, s, interactive);
        if (detach || !interactive) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        dup2(null, 0);
                        if (detach) {
                                dup2(null, 1);
                                dup2(null, 2);
                        }
                        close(null);
                }
        }
        struct exec_opts eo = {.root = e->rt_root, .id = id, .spec = s, .detach = detach};
        int status = 0;
        if (container_exec(&eo, &status, &err) < 0) {
                husk_fail(ctx, &err);
                return err.code == -ENOENT ? 127 : err.code == -EACCES ? 126 : HUSK_EXIT_USAGE;
        }
        return status;
}
