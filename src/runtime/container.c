#include "runtime/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"
#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/linux.h"
#include "runtime/resources.h"
#include "runtime/seccomp.h"
#include "runtime/terminal.h"
#include "runtime/userns.h"

DEFINE_FREEP(struct spec, spec_free)

static char *hook_state(void *opaque, pid_t pid, const char *status)
{
        struct container_state *st = opaque;
        pid_t saved = st->pid;
        st->pid = pid;
        struct json_object *o = state_to_oci(st, STATUS_CREATED);
        st->pid = saved;
        json_object_object_add(o, "status", json_object_new_string(status));
        char *s = xstrdup(json_compact(o));
        json_object_put(o);
        return s;
}

static char *state_json_now(struct container_state *st, const char *status)
{
        return hook_state(st, st->pid, status);
}

static int write_pid_file(const char *path, pid_t pid, struct error *err)
{
        char buf[32], dir[PATH_MAX];
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        snprintf(dir, sizeof(dir), "%s", path);
        char *slash = strrchr(dir, '/');
        const char *name = slash ? slash + 1 : dir;
        if (slash == dir)
                snprintf(dir, sizeof(dir), "/");
        else if (slash)
                *slash = '\0';
        _cleanup_close_ int dfd = open(slash ? dir : ".", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return error_sys(err, -errno, "pid file '%s'", path);
        int r = write_file_atomic(dfd, name, buf, strlen(buf), 0644);
        if (r < 0)
                return error_sys(err, r, "write pid file '%s'", path);
        return 0;
}

static int listen_fds_from_env(void)
{
        const char *v = getenv("LISTEN_FDS");
        uint64_t n;
        if (!v || parse_u64(v, &n) < 0 || n > 1024)
                return 0;
        return (int)n;
}

/* startproto: state.json is written as soon as the init's pid exists, while
 * the init still sets itself up, then the caller's own spawned callback. */
struct spawned_ctx {
        struct container_state *st;
        const struct create_opts *o;
        const char *config; /* the text of config.json */
        bool saved;
};

static int on_spawned(void *arg, pid_t pid, struct error *err)
{
        struct spawned_ctx *sc = arg;
        /* The state's copy of config.json (for exec), written meanwhile too. */
        int r =
            write_file_atomic(sc->st->dirfd, "config.json", sc->config, strlen(sc->config), 0600);
        if (r < 0)
                return error_sys(err, r, "save config of '%s'", sc->st->id);
        sc->st->pid = pid;
        sc->st->start_time = proc_start_time(pid);
        r = state_save(sc->st, err);
        if (r < 0)
                return r;
        sc->saved = true;
        return sc->o->spawned ? sc->o->spawned(sc->o->spawned_arg, pid, err) : 0;
}

/* Creates the container and leaves its state locked in *ret_st. */
static int create_locked(const struct create_opts *o, struct container_state **ret_st,
                         struct spec **ret_spec, struct error *err)
{
        int r = state_check_id(o->id, err);
        if (r < 0)
                return r;
        char bundle[PATH_MAX];
        if (!realpath(o->bundle ? o->bundle : ".", bundle))
                return error_sys(err, -errno, "bundle '%s'", o->bundle ? o->bundle : ".");
        _cleanup_free_ char *cfgpath = xasprintf("%s/config.json", bundle);
        _cleanup_free_ char *text = NULL;
        if (o->config_text) /* startproto */
                text = xstrdup(o->config_text);
        else if ((r = read_file_at(AT_FDCWD, cfgpath, 0, &text, NULL)) < 0)
                return error_sys(err, r, "read '%s'", cfgpath);
        _cleanup_(spec_freep) struct spec *s = NULL;
        r = spec_parse(text, cfgpath, &s, err);
        if (r < 0)
                return r;
        for (size_t i = 0; s->warnings && s->warnings[i]; i++)
                log_warn("%s", s->warnings[i]);
        if (!s->has_process)
                return error_msg(err, -EINVAL, "%s: process is required to create a container",
                                 cfgpath);
        char rootfs[PATH_MAX];
        _cleanup_free_ char *rp = s->root_path[0] == '/' ? xstrdup(s->root_path)
                                                         : xasprintf("%s/%s", bundle, s->root_path);
        if (!realpath(rp, rootfs))
                return error_sys(err, -errno, "root.path '%s'", rp);
        const struct spec_namespace *pidns = spec_find_namespace(s, CLONE_NEWPID);
        if (!o->sealed && (!pidns || pidns->path))
                return error_msg(err, -ERESTART, "the init joins an existing pid namespace");
        _cleanup_(resources_freep) struct resources *res = NULL;
        r = resources_parse(s->linux.resources, "linux.resources", &res, err);
        if (r < 0)
                return error_wrap(err, r, "%s", cfgpath);

        _cleanup_close_ int rootfd = -EBADF;
        if ((r = state_open_root(o->root, &rootfd, err)) < 0)
                return r;
        /* Parsed and compiled before the container exists, so a bad profile fails cleanly. */
        _cleanup_(seccomp_filter_freep) struct seccomp_filter *filter = NULL;
        _cleanup_free_ char *listener_path = NULL, *listener_metadata = NULL;
        if ((r = seccomp_from_spec(s->linux.seccomp, rootfd, &filter, &listener_path,
                                   &listener_metadata, err)) < 0)
                return error_wrap(err, r, "%s", cfgpath);
        _cleanup_(state_freep) struct container_state *st = xzalloc(sizeof(*st));
        st->dirfd = -1;
        if ((r = state_create_dir(rootfd, o->id, &st->dirfd, err)) < 0)
                return r;
        st->id = xstrdup(o->id);
        st->bundle = xstrdup(bundle);
        st->rootfs = xstrdup(rootfs);
        st->created = now_rfc3339();
        st->owner = xstrdup("");
        st->rootless = userns_rootless();
        st->n_annotations = s->n_annotations;
        st->annotations = xzalloc(sizeof(struct spec_kv) * (s->n_annotations + 1));
        for (size_t i = 0; i < s->n_annotations; i++) {
                st->annotations[i].key = xstrdup(s->annotations[i].key);
                st->annotations[i].value = xstrdup(s->annotations[i].value);
        }

        _cleanup_close_ int fifo = -EBADF, console = -EBADF, listener = -EBADF;
        _cleanup_strv_ char **skipped = NULL, **view = NULL;
        if (mkfifoat(st->dirfd, "exec.fifo", 0600) < 0) {
                r = error_sys(err, -errno, "create exec.fifo");
                goto fail;
        }
        /* O_RDWR never blocks on a fifo; the init keeps this end and reads from it. */
        fifo = openat(st->dirfd, "exec.fifo", O_RDWR | O_CLOEXEC);
        if (fifo < 0) {
                r = error_sys(err, -errno, "open exec.fifo");
                goto fail;
        }
        if (o->console_socket && (r = console_socket_connect(o->console_socket, &console, err)) < 0)
                goto fail;
        if (!o->console_socket && o->console_fd > 0)
                console = fcntl(o->console_fd, F_DUPFD_CLOEXEC, 3);
        /* The init sends its notify fd itself (after pivot_root it could not
         * reach the listener's path): connect here, on the host. */
        if (filter && filter->notify &&
            (r = seccomp_listener_connect(listener_path, &listener, err)) < 0)
                goto fail;
        if (st->rootless)
                r = cgroup_create_rootless(s->linux.cgroups_path, o->id, &st->cgroup_dirs, &skipped,
                                           err);
        else
                r = cgroup_create(s->linux.cgroups_path, o->id, &st->cgroup_dirs, err);
        if (r < 0)
                goto fail;
        if (skipped) {
                _cleanup_free_ char *list = strv_join(skipped, ", ");
                log_warn("running as %s, no cgroup was created for '%s' in %s (not "
                         "delegated to this user): it stays in the caller's cgroup there",
                         userns_caller(), o->id, list);
        }
        /* Limits first: the init is limited from its first instruction in the cgroup. */
        /* As runc and crun: the device cgroup is always set, deny-all plus the
         * config's rules plus the default rules (/dev/null, /dev/pts ...).
         * Rootless, device rules are ignored as runc does: only privilege can set
         * them, and a user namespace can't create device nodes anyway. */
        if (!st->rootless) {
                res->has_devices = true;
        } else if (res->has_devices) {
                log_warn("linux.resources.devices: ignored when running as %s, as runc "
                         "does (setting device rules needs privilege)",
                         userns_caller());
                res->has_devices = false;
        }
        if (!resources_empty(res)) {
                struct res_apply_opts ro = {
                    .what = RES_ALL,
                    .path = "linux.resources",
                    .unavailable = skipped ? CGROUP_ROOTLESS_UNAVAILABLE : NULL,
                };
                r = resources_apply(st->cgroup_dirs, res, &ro, err);
                for (char **w = ro.warnings; w && *w; w++)
                        log_warn("%s", *w);
                strv_free(ro.warnings);
                if (r < 0)
                        goto fail_cgroup;
        }

        struct spawned_ctx sc = {.st = st, .o = o, .config = text}; /* startproto */
        struct init_config c = {
            .spec = s,
            .id = o->id,
            .bundle = bundle,
            .rootfs = rootfs,
            .cgroup_dirs = st->cgroup_dirs,
            .cgroup_view_dirs =
                skipped ? (view = strv_concat(st->cgroup_dirs, skipped)) : st->cgroup_dirs,
            .fifo_fd = fifo,
            .console_fd = console,
            .lock_fd = st->dirfd,
            .no_pivot = o->no_pivot,
            .popts = {.proc = &s->process,
                      .userns = spec_find_namespace(s, CLONE_NEWUSER) != NULL,
                      .preserve_fds = o->preserve_fds,
                      .listen_fds = listen_fds_from_env(),
                      .no_new_keyring = o->no_new_keyring,
                      .seccomp = filter,
                      .seccomp_listener = listener},
            .seccomp_metadata = listener_metadata,
            .state_json = hook_state,
            .opaque = st,
            .spawned = on_spawned, /* startproto */
            .spawned_arg = &sc,
        };
        pid_t pid;
        if ((r = linux_spawn_init(&c, &pid, err)) < 0)
                goto fail_cgroup;
        st->pid = pid;
        st->start_time = proc_start_time(pid);
        if ((!sc.saved && (r = state_save(st, err)) < 0) ||
            (o->pid_file && (r = write_pid_file(o->pid_file, pid, err)) < 0)) {
                kill(pid, SIGKILL);
                goto fail_cgroup;
        }
        *ret_st = TAKE_PTR(st);
        if (ret_spec)
                *ret_spec = TAKE_PTR(s);
        return 0;
fail_cgroup:
        cgroup_destroy(st->cgroup_dirs, NULL);
fail:
        state_remove_dir(rootfd, o->id);
        return r;
}

int container_create(const struct create_opts *o, struct error *err)
{
        _cleanup_(state_freep) struct container_state *st = NULL;
        return create_locked(o, &st, NULL, err);
}

int container_create_held(const struct create_opts *o, struct container_state **ret_st,
                          struct spec **ret_spec, struct error *err)
{
        return create_locked(o, ret_st, ret_spec, err);
}

static void run_hooks_warn(const struct spec_hook *h, size_t n, const char *phase,
                           struct container_state *st, const char *status)
{
        if (!n)
                return;
        struct error e = {0};
        _cleanup_free_ char *json = state_json_now(st, status);
        if (hooks_run(h, n, phase, json, &e) < 0)
                log_warn("%s", e.msg);
}

static int start_locked(struct container_state *st, const struct spec *s, struct error *err)
{
        enum container_status status = state_status(st);
        if (status == STATUS_STOPPED)
                return error_msg(err, -EINVAL, "cannot start container '%s': it has stopped",
                                 st->id);
        if (status != STATUS_CREATED)
                return error_msg(err, -EINVAL, "cannot start container '%s': it is %s", st->id,
                                 status_name(status));
        _cleanup_close_ int fd = openat(st->dirfd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENXIO)
                        return error_msg(err, -ESRCH,
                                         "cannot start container '%s': its init has exited",
                                         st->id);
                return error_sys(err, -errno, "open exec.fifo of '%s'", st->id);
        }
        /* With poststart hooks, they must see the process executed: hold a read
         * end, and once the init's end closes on exec the fifo reports POLLHUP. */
        _cleanup_close_ int watch = -EBADF;
        if (s->hooks.n_poststart)
                watch = openat(st->dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        explain("echo 0 > exec.fifo  # let the init exec the process");
        if (write(fd, "0", 1) != 1)
                return error_sys(err, -errno, "start container '%s'", st->id);
        close(TAKE_FD(fd));
        unlinkat(st->dirfd, "exec.fifo", 0);
        if (watch >= 0) {
                struct pollfd p = {.fd = watch, .events = 0};
                while (poll(&p, 1, -1) < 0 && errno == EINTR)
                        ;
        }
        run_hooks_warn(s->hooks.poststart, s->hooks.n_poststart, "poststart", st, "running");
        return 0;
}

int container_start_held(struct container_state *st, const struct spec *s, struct error *err)
{
        return start_locked(st, s, err);
}

int container_start(const char *root, const char *id, struct error *err)
{
        _cleanup_close_ int rootfd = -EBADF;
        int r = state_open_root(root, &rootfd, err);
        if (r < 0)
                return r;
        _cleanup_(state_freep) struct container_state *st = NULL;
        if ((r = state_load(rootfd, id, true, &st, err)) < 0)
                return r;
        _cleanup_(spec_freep) struct spec *s = NULL;
        if ((r = state_load_config(st, &s, err)) < 0)
                return r;
        return start_locked(st, s, err);
}

static int wait_gone(pid_t pid, int timeout_ms)
{
        _cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pfd < 0)
                return errno == ESRCH ? 0 : -errno;
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int n;
        while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
                ;
        return n > 0 ? 0 : -ETIMEDOUT;
}

static int destroy_locked(int rootfd, struct container_state *st, const struct spec *s,
                          struct error *err)
{
        enum container_status status = state_status(st);
        if (status != STATUS_STOPPED) {
                struct error e = {0};
                if (!st->cgroup_dirs || cgroup_kill_all(st->cgroup_dirs, SIGKILL, &e) < 0)
                        kill(st->pid, SIGKILL);
                kill(st->pid, SIGKILL);
                if (wait_gone(st->pid, 10000) < 0)
                        return error_msg(err, -ETIMEDOUT,
                                         "container '%s': init %d did not exit after SIGKILL",
                                         st->id, (int)st->pid);
        }
        int r = cgroup_destroy(st->cgroup_dirs, err);
        if (r < 0)
                return error_wrap(err, r, "delete container '%s'", st->id);
        if (s)
                run_hooks_warn(s->hooks.poststop, s->hooks.n_poststop, "poststop", st, "stopped");
        r = state_remove_dir(rootfd, st->id);
        if (r < 0)
                return error_sys(err, r, "remove state of '%s'", st->id);
        return 0;
}

int container_delete(const char *root, const char *id, bool force, struct error *err)
{
        _cleanup_close_ int rootfd = -EBADF;
        int r = state_open_root(root, &rootfd, err);
        if (r < 0)
                return r;
        _cleanup_(state_freep) struct container_state *st = NULL;
        if ((r = state_load(rootfd, id, true, &st, err)) < 0) {
                /*
                 * As runc: forcing the delete of a container that is already gone
                 * succeeds. containerd's shim and conmon clean up this way after a
                 * failed or finished create and treat a failure as an error.
                 */
                if (r == -ENOENT && force) {
                        error_clear(err);
                        return 0;
                }
                return r;
        }
        enum container_status status = state_status(st);
        if (!force && (status == STATUS_RUNNING || status == STATUS_PAUSED))
                return error_msg(err, -EBUSY,
                                 "cannot delete container '%s' that is not stopped: it is %s "
                                 "(use --force)",
                                 id, status_name(status));
        _cleanup_(spec_freep) struct spec *s = NULL;
        struct error e = {0};
        if (state_load_config(st, &s, &e) < 0)
                log_warn("container '%s': %s; poststop hooks not run", id, e.msg);
        return destroy_locked(rootfd, st, s, err);
}

static bool has_cgroup(const struct container_state *st)
{
        return st->cgroup_dirs && st->cgroup_dirs[0];
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
        return (x > y) - (x < y);
}

/* The processes whose pid namespace is the init's (the init's own when it
 * has none of its own), found through /proc: for a rootless container that
 * has no cgroup to list them. */
static int pidns_pids(pid_t init, pid_t **ret_pids, size_t *ret_n, struct error *err)
{
        char path[64], want[64], self[64], got[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)init);
        ssize_t n = readlink(path, want, sizeof(want) - 1);
        if (n < 0)
                return error_sys(err, -errno, "read '%s'", path);
        want[n] = '\0';
        n = readlink("/proc/self/ns/pid", self, sizeof(self) - 1);
        self[n > 0 ? n : 0] = '\0';
        pid_t *v = NULL;
        size_t cnt = 0;
        if (strcmp(want, self) == 0) {
                v = xmalloc(sizeof(*v));
                v[cnt++] = init;
                *ret_pids = v;
                *ret_n = cnt;
                return 0;
        }
        DIR *d = opendir("/proc");
        if (!d)
                return error_sys(err, -errno, "open '/proc'");
        for (struct dirent *de; (de = readdir(d));) {
                uint64_t pid;
                if (parse_u64(de->d_name, &pid) < 0)
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/ns/pid", de->d_name);
                n = readlink(path, got, sizeof(got) - 1);
                if (n < 0)
                        continue; /* gone, or not ours to look at */
                got[n] = '\0';
                if (strcmp(got, want) != 0)
                        continue;
                v = xrealloc(v, (cnt + 1) * sizeof(*v));
                v[cnt++] = (pid_t)pid;
        }
        closedir(d);
        if (cnt)
                qsort(v, cnt, sizeof(*v), cmp_pid);
        *ret_pids = v;
        *ret_n = cnt;
        return 0;
}

int container_pids(const struct container_state *st, pid_t **ret_pids, size_t *ret_n,
                   struct error *err)
{
        if (has_cgroup(st))
                return cgroup_pids(st->cgroup_dirs, ret_pids, ret_n, err);
        if (state_status(st) == STATUS_STOPPED) {
                *ret_pids = NULL;
                *ret_n = 0;
                return 0;
        }
        return pidns_pids(st->pid, ret_pids, ret_n, err);
}

/* kill --all without a cgroup: every process of the pid namespace, until
 * a look finds nobody new (as cgroup_kill_all does with a cgroup). */
static int kill_all_pidns(const struct container_state *st, int sig, struct error *err)
{
        _cleanup_free_ pid_t *done = NULL;
        size_t n_done = 0;
        for (int round = 0; round < 100; round++) {
                _cleanup_free_ pid_t *now = NULL;
                size_t n = 0;
                int r = container_pids(st, &now, &n, err);
                if (r < 0)
                        return r;
                bool fresh = false;
                for (size_t i = 0; i < n; i++) {
                        bool seen = false;
                        for (size_t k = 0; k < n_done && !seen; k++)
                                seen = done[k] == now[i];
                        if (seen)
                                continue;
                        fresh = true;
                        explain("kill -%d %d", sig, (int)now[i]);
                        if (kill(now[i], sig) < 0 && errno != ESRCH)
                                return error_sys(err, -errno, "send signal %d to pid %d", sig,
                                                 (int)now[i]);
                        done = xrealloc(done, (n_done + 1) * sizeof(*done));
                        done[n_done++] = now[i];
                }
                if (!fresh)
                        break;
        }
        return 0;
}

int container_kill(const char *root, const char *id, int sig, bool all, struct error *err)
{
        _cleanup_close_ int rootfd = -EBADF;
        int r = state_open_root(root, &rootfd, err);
        if (r < 0)
                return r;
        _cleanup_(state_freep) struct container_state *st = NULL;
        if ((r = state_load(rootfd, id, false, &st, err)) < 0)
                return r;
        enum container_status status = state_status(st);
        if (status == STATUS_STOPPED && !all)
                return error_msg(err, -ESRCH, "container '%s' is not running", id);
        if (all) {
                if (!has_cgroup(st))
                        r = status == STATUS_STOPPED ? 0 : kill_all_pidns(st, sig, err);
                else
                        r = cgroup_kill_all(st->cgroup_dirs, sig, err);
                if (r < 0)
                        return error_wrap(err, r, "kill container '%s'", id);
                return 0;
        }
        explain("kill -%d %d", sig, (int)st->pid);
        if (kill(st->pid, sig) < 0)
                return error_sys(err, -errno, "kill container '%s'", id);
        return 0;
}

/* Waits for the init, forwarding the signals the runtime receives. */
static int wait_forwarding(pid_t pid, int *ret_status)
{
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, &old);
        int status = 0;
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR && errno != ECHILD)
                        break;
                if (w < 0 && errno == ECHILD) {
                        /* Not our child (reparented elsewhere): wait on a pidfd. */
                        wait_gone(pid, -1);
                        status = 0;
                        break;
                }
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig < 0 || sig == SIGCHLD)
                        continue;
                kill(pid, sig);
        }
        /* Reap orphans that the subreaper collected. */
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
        sigprocmask(SIG_SETMASK, &old, NULL);
        *ret_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        return 0;
}

int container_run(const struct create_opts *o, bool detach, int *ret_status, struct error *err)
{
        /* Orphans of the container (and a grandchild init) come back to us to be reaped. */
        if (!detach)
                prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        /* A terminal and nobody to hand it to: we keep the pty and relay it, as runc does. */
        struct create_opts co = *o;
        _cleanup_close_ int mine = -EBADF, theirs = -EBADF;
        if (!detach && !o->console_socket) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                        return error_sys(err, -errno, "socketpair");
                mine = sv[0];
                theirs = sv[1];
                co.console_fd = theirs;
        }
        _cleanup_close_ int rootfd = -EBADF;
        int r = state_open_root(o->root, &rootfd, err);
        if (r < 0)
                return r;
        _cleanup_(state_freep) struct container_state *st = NULL;
        _cleanup_(spec_freep) struct spec *s = NULL;
        if ((r = create_locked(&co, &st, &s, err)) < 0)
                return r;
        _cleanup_close_ int master = -EBADF;
        if (s->process.terminal && mine >= 0 && (r = recv_fd(mine, &master)) < 0) {
                destroy_locked(rootfd, st, s, NULL);
                return error_sys(err, r, "receive the container's pty");
        }
        if ((r = start_locked(st, s, err)) < 0) {
                destroy_locked(rootfd, st, s, NULL);
                return r;
        }
        if (detach) {
                *ret_status = 0;
                return 0;
        }
        /* Others may act on the container while it runs (kill, state, exec). */
        flock(st->dirfd, LOCK_UN);
        if (master >= 0)
                terminal_relay(master, st->pid, ret_status);
        else
                wait_forwarding(st->pid, ret_status);
        flock(st->dirfd, LOCK_EX);
        if (faccessat(st->dirfd, "state.json", F_OK, 0) < 0)
                return 0; /* deleted meanwhile by someone else */
        return destroy_locked(rootfd, st, s, err);
}

static int cmp_info(const void *a, const void *b)
{
        return strcmp(((const struct container_info *)a)->st->id,
                      ((const struct container_info *)b)->st->id);
}

int container_list(const char *root, struct container_info **ret, size_t *ret_n, struct error *err)
{
        *ret = NULL;
        *ret_n = 0;
        DIR *d = opendir(root);
        if (!d) {
                if (errno == ENOENT)
                        return 0;
                return error_sys(err, -errno, "open state root '%s'", root);
        }
        struct container_info *l = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.')
                        continue;
                struct container_state *st = NULL;
                struct error ign = {0};
                if (state_load(dirfd(d), e->d_name, false, &st, &ign) < 0)
                        continue; /* being created or deleted right now */
                l = xrealloc(l, (n + 1) * sizeof(*l));
                l[n].st = st;
                l[n].status = state_status(st);
                n++;
        }
        closedir(d);
        if (n)
                qsort(l, n, sizeof(*l), cmp_info);
        *ret = l;
        *ret_n = n;
        return 0;
}

void container_list_free(struct container_info *l, size_t n)
{
        for (size_t i = 0; i < n; i++)
                state_free(l[i].st);
        free(l);
}

int container_load_config(const char *root, const char *id, struct spec **ret, struct error *err)
{
        _cleanup_close_ int rootfd = -EBADF;
        int r = state_open_root(root, &rootfd, err);
        if (r < 0)
                return r;
        _cleanup_(state_freep) struct container_state *st = NULL;
        if ((r = state_load(rootfd, id, false, &st, err)) < 0)
                return r;
        return state_load_config(st, ret, err);
}
