/* exec: a new process in a running container.
 *
 *   runtime ── fork ──> helper: placed in the container's cgroups, then
 *                       setns(pidfd, all the container's namespaces)
 *                       ── fork ──> process: pty, identity, exec
 * The second fork is what puts the process inside the container's pid
 * namespace; the helper exits at once and the runtime, a subreaper, waits for
 * the process itself. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"
#include "runtime/process.h"
#include "runtime/seccomp.h"
#include "runtime/terminal.h"

enum { EX_GO = 1, EX_PID, EX_EXEC, EX_ERROR };

struct ex_msg {
        int type;
        int value;
        int code;
        char text[2048];
};

static void ex_send(int fd, int type, int value, const struct error *err)
{
        struct ex_msg m = {.type = type, .value = value};
        size_t len = offsetof(struct ex_msg, text);
        if (err) {
                m.code = err->code;
                snprintf(m.text, sizeof(m.text), "%s", err->msg);
                len += strlen(m.text) + 1;
        }
        (void)!send(fd, &m, len, MSG_NOSIGNAL);
}

static int ex_recv(int fd, struct ex_msg *m)
{
        ssize_t n;
        memset(m, 0, sizeof(*m));
        while ((n = recv(fd, m, sizeof(*m), 0)) < 0 && errno == EINTR)
                ;
        if (n <= 0)
                return 0;
        m->text[sizeof(m->text) - 1] = '\0';
        return m->type;
}

static int ns_join_flags(const struct spec *s)
{
        int flags = 0;
        for (size_t i = 0; i < s->linux.n_namespaces; i++)
                flags |= s->linux.namespaces[i].type;
        return flags;
}

/* The seccomp listener's state JSON, sent by the runtime once it knows the
 * process's pid (a message of its own: it may be longer than ex_msg). */
static char *recv_state(int fd)
{
        ssize_t n;
        char peek;
        while ((n = recv(fd, &peek, 1, MSG_PEEK | MSG_TRUNC)) < 0 && errno == EINTR)
                ;
        if (n <= 0)
                return NULL;
        char *buf = xzalloc((size_t)n + 1);
        if (recv(fd, buf, (size_t)n, 0) != n) {
                free(buf);
                return NULL;
        }
        return buf;
}

static __attribute__((noreturn)) void exec_child(const struct exec_opts *o, int sock, int pidfd,
                                                 int console, const struct seccomp_filter *filter,
                                                 int listener)
{
        struct error err = {0};
        struct ex_msg m;
        if (ex_recv(sock, &m) != EX_GO)
                _exit(1);
        int flags = ns_join_flags(o->spec);
        if (flags) {
                char b[256];
                ns_flags_string(flags, b, sizeof(b));
                explain("nsenter --target %d %s", m.value, b);
                if (setns(pidfd, flags) < 0) {
                        error_sys(&err, -errno, "join the namespaces of container '%s'", o->id);
                        ex_send(sock, EX_ERROR, 0, &err);
                        _exit(1);
                }
        }
        close(pidfd);
        pid_t pid = fork();
        if (pid < 0) {
                error_sys(&err, -errno, "fork into container '%s'", o->id);
                ex_send(sock, EX_ERROR, 0, &err);
                _exit(1);
        }
        if (pid > 0) {
                ex_send(sock, EX_PID, pid, NULL);
                _exit(0);
        }
        const struct spec *s = o->spec;
        struct process_opts popts = {
            .proc = &s->process,
            .userns = spec_find_namespace(s, CLONE_NEWUSER) != NULL,
            .preserve_fds = o->preserve_fds,
            .no_new_keyring = true,
            .seccomp = filter,
            .seccomp_listener = listener,
        };
        _cleanup_free_ char *sc_state = NULL;
        if (filter && filter->notify) {
                sc_state = recv_state(sock);
                if (!sc_state) {
                        error_msg(&err, -EIO, "no seccomp listener state from the runtime");
                        ex_send(sock, EX_ERROR, 0, &err);
                        _exit(1);
                }
                popts.seccomp_state = sc_state;
        }
        if (s->process.terminal) {
                if (console < 0) {
                        error_msg(&err, -EINVAL, "--tty needs --console-socket");
                        ex_send(sock, EX_ERROR, 0, &err);
                        _exit(1);
                }
                if (terminal_setup(console, &s->process, false, &err) < 0) {
                        ex_send(sock, EX_ERROR, 0, &err);
                        _exit(1);
                }
                close(console);
        }
        struct exec_plan plan = {0};
        if (process_plan(&popts, &plan, &err) < 0 || process_apply(&popts, &err) < 0) {
                ex_send(sock, EX_ERROR, 0, &err);
                _exit(1);
        }
        ex_send(sock, EX_EXEC, 0, NULL);
        process_exec(&popts, &plan, &err);
        ex_send(sock, EX_ERROR, 0, &err);
        _exit(127);
}

static int wait_child(pid_t pid, int *ret_status)
{
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, &old);
        int status = 0;
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid || (w < 0 && errno != EINTR))
                        break;
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig > 0 && sig != SIGCHLD)
                        kill(pid, sig);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        *ret_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        return 0;
}

int container_exec(const struct exec_opts *o, int *ret_status, struct error *err)
{
        _cleanup_close_ int rootfd = -EBADF;
        int r = state_open_root(o->root, &rootfd, err);
        if (r < 0)
                return r;
        _cleanup_(state_freep) struct container_state *st = NULL;
        if ((r = state_load(rootfd, o->id, false, &st, err)) < 0)
                return r;
        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
        enum container_status status = state_status(st);
        if (pidfd < 0 || (status != STATUS_RUNNING && status != STATUS_CREATED))
                return error_msg(err, -ESRCH, "cannot exec in container '%s': it is %s", o->id,
                                 pidfd < 0 ? "stopped" : status_name(status));
        _cleanup_(seccomp_filter_freep) struct seccomp_filter *filter = NULL;
        _cleanup_free_ char *listener_path = NULL, *metadata = NULL;
        if ((r = seccomp_from_spec(o->spec->linux.seccomp, rootfd, &filter, &listener_path,
                                   &metadata, err)) < 0)
                return r;
        _cleanup_close_ int listener = -EBADF;
        if (filter && filter->notify &&
            (r = seccomp_listener_connect(listener_path, &listener, err)) < 0)
                return r;
        _cleanup_close_ int console = -EBADF;
        if (o->console_socket && (r = console_socket_connect(o->console_socket, &console, err)) < 0)
                return r;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return error_sys(err, -errno, "socketpair");
        _cleanup_close_ int sock = sv[0];
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        bool in_unified = false;
        pid_t helper = cgroup_clone(st->cgroup_dirs, 0, &in_unified);
        if (helper < 0) {
                close(sv[1]);
                return error_sys(err, -errno, "fork");
        }
        if (helper == 0) {
                close(sv[0]);
                /* Until it execs, nothing in the container may open our /proc/PID/exe. */
                prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                struct error e = {0};
                if (cgroup_enter_self(st->cgroup_dirs, in_unified, &e) < 0) {
                        ex_send(sv[1], EX_ERROR, 0, &e);
                        _exit(1);
                }
                exec_child(o, sv[1], pidfd, console, filter, listener);
        }
        close(sv[1]);
        /* Only the process sends on it; the agent may read until EOF. */
        if (listener >= 0)
                close(TAKE_FD(listener));
        pid_t pid = 0;
        ex_send(sock, EX_GO, st->pid, NULL);
        /*
         * The helper sends EX_PID after its fork while the process sends EX_EXEC
         * just before its exec, so the two can arrive in either order. Read until
         * EOF: both ends are gone once the helper has exited and the process has
         * exec'd (the socket is close-on-exec) or died.
         */
        struct ex_msg m;
        int t;
        while ((t = ex_recv(sock, &m)) != 0) {
                if (t == EX_PID) {
                        pid = m.value;
                        if (filter && filter->notify) {
                                /* The process waits for the listener's state (runc's: the new
                                 * process's pid, the container's state) before it execs. */
                                struct json_object *so = state_to_oci(st, status);
                                _cleanup_free_ char *payload =
                                    seccomp_process_state(json_compact(so), pid, metadata);
                                json_object_put(so);
                                if (send(sock, payload, strlen(payload), MSG_NOSIGNAL) < 0) {
                                        r = error_sys(err, -errno,
                                                      "send the seccomp listener state");
                                        goto fail;
                                }
                        }
                } else if (t == EX_ERROR) {
                        break;
                }
        }
        while (waitpid(helper, NULL, 0) < 0 && errno == EINTR)
                ;
        helper = 0;
        if (t == EX_ERROR) {
                r = error_msg(err, m.code < 0 ? m.code : -EIO, "%s", m.text);
                goto fail;
        }
        if (pid <= 0) {
                r = error_msg(err, -EIO, "exec helper exited");
                goto fail;
        }
        if (o->pid_file) {
                char buf[32];
                snprintf(buf, sizeof(buf), "%d", (int)pid);
                _cleanup_close_ int fd =
                    open(o->pid_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || write_all(fd, buf, strlen(buf)) < 0) {
                        r = error_sys(err, -errno, "write pid file '%s'", o->pid_file);
                        goto fail;
                }
        }
        if (o->detach) {
                *ret_status = 0;
                return 0;
        }
        return wait_child(pid, ret_status);
fail:
        if (helper > 0) {
                kill(helper, SIGKILL);
                waitpid(helper, NULL, 0);
        }
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        return r;
}
