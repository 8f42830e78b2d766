#include "runtime/linux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/rootfs.h"
#include "runtime/terminal.h"
#include "runtime/userns.h"

enum sync_type {
        SYNC_GO = 1,
        SYNC_NEED_MAPS,
        SYNC_MAPS_DONE,
        SYNC_PID,
        SYNC_HOOKS,
        SYNC_HOOKS_DONE,
        SYNC_CREATED,
        SYNC_ERROR,
};

struct sync_msg {
        int type;
        int value;
        int code;
        char text[sizeof(((struct error *)0)->msg)];
};

static int sync_send(int fd, int type, int value, int code, const char *text)
{
        struct sync_msg m = {.type = type, .value = value, .code = code};
        size_t len = offsetof(struct sync_msg, text);
        if (text) {
                snprintf(m.text, sizeof(m.text), "%s", text);
                len += strlen(m.text) + 1;
        }
        while (send(fd, &m, len, MSG_NOSIGNAL) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

/* Returns the message type, 0 on EOF, or a negative errno. */
static int sync_recv(int fd, struct sync_msg *m)
{
        ssize_t n;
        memset(m, 0, sizeof(*m));
        while ((n = recv(fd, m, sizeof(*m), 0)) < 0)
                if (errno != EINTR)
                        return -errno;
        if (n == 0)
                return 0;
        if ((size_t)n < offsetof(struct sync_msg, text))
                return -EBADMSG;
        m->text[sizeof(m->text) - 1] = '\0';
        return m->type;
}

static int sync_expect(int fd, int type)
{
        struct sync_msg m;
        int r = sync_recv(fd, &m);
        if (r < 0)
                return r;
        return r == type ? m.value : -EPIPE;
}

/* Fatal error in the child: report it to the parent and exit. */
static __attribute__((noreturn)) void child_fail(int sock, const struct error *err)
{
        sync_send(sock, SYNC_ERROR, 0, err->code ? err->code : -EIO, err->msg);
        _exit(1);
}

struct ns_plan {
        int new_flags;   /* CLONE_NEW* to create */
        int join_fds[8]; /* fds of namespaces to join, user first */
        int join_types[8];
        size_t n_join;
};

static void ns_plan_done(struct ns_plan *p)
{
        for (size_t i = 0; i < p->n_join; i++)
                if (p->join_fds[i] >= 0)
                        close(p->join_fds[i]);
        p->n_join = 0;
}

static int ns_plan_make(const struct spec *s, struct ns_plan *p, struct error *err)
{
        memset(p, 0, sizeof(*p));
        /* User namespace first: the others are joined or created with its privileges. */
        static const int order[] = {CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS,    CLONE_NEWNET,
                                    CLONE_NEWPID,  CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWTIME};
        for (size_t o = 0; o < ARRAY_SIZE(order); o++) {
                for (size_t i = 0; i < s->linux.n_namespaces; i++) {
                        const struct spec_namespace *ns = &s->linux.namespaces[i];
                        if (ns->type != order[o])
                                continue;
                        if (!ns->path || !*ns->path) {
                                p->new_flags |= ns->type;
                                continue;
                        }
                        int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0) {
                                ns_plan_done(p);
                                return error_sys(err, -errno, "linux.namespaces[%zu]: open '%s'", i,
                                                 ns->path);
                        }
                        int t = ioctl(fd, NS_GET_NSTYPE);
                        if (t != ns->type) {
                                close(fd);
                                ns_plan_done(p);
                                return error_msg(
                                    err, -EINVAL,
                                    "linux.namespaces[%zu]: '%s' is not a %s namespace", i,
                                    ns->path, spec_ns_name(ns->type));
                        }
                        p->join_fds[p->n_join] = fd;
                        p->join_types[p->n_join++] = ns->type;
                }
        }
        return 0;
}

static int set_time_offsets(const struct spec *s, struct error *err)
{
        int r = sys_unshare(CLONE_NEWTIME);
        if (r < 0)
                return error_sys(err, r, "create time namespace");
        for (size_t i = 0; i < s->linux.n_time_offsets; i++) {
                const struct spec_time_offset *t = &s->linux.time_offsets[i];
                char v[96];
                snprintf(v, sizeof(v), "%s %lld %u",
                         t->clock == CLOCK_BOOTTIME ? "boottime" : "monotonic", (long long)t->secs,
                         t->nanosecs);
                r = sys_write_file_at(AT_FDCWD, "/proc/self/timens_offsets", NULL, v);
                if (r < 0)
                        return error_sys(err, r, "linux.timeOffsets: write '%s'", v);
        }
        /* unshare(CLONE_NEWTIME) only affects children: enter it ourselves. */
        _cleanup_close_ int fd = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "open time_for_children");
        r = sys_setns(fd, CLONE_NEWTIME, "/proc/self/ns/time_for_children");
        if (r < 0)
                return error_sys(err, r, "enter the new time namespace");
        return 0;
}

static int apply_sysctl(const struct spec *s, struct error *err)
{
        for (size_t i = 0; i < s->linux.n_sysctl; i++) {
                const char *k = s->linux.sysctl[i].key;
                if (!*k || strstr(k, "..") || k[0] == '.' || k[0] == '/')
                        return error_msg(err, -EINVAL, "linux.sysctl: invalid key '%s'", k);
                char path[512];
                int n = snprintf(path, sizeof(path), "/proc/sys/%s", k);
                for (char *p = path + 10; p < path + n; p++)
                        if (*p == '.')
                                *p = '/';
                int r = sys_write_file_at(AT_FDCWD, path, NULL, s->linux.sysctl[i].value);
                if (r < 0)
                        return error_sys(err, r, "linux.sysctl: set '%s' to '%s'", k,
                                         s->linux.sysctl[i].value);
        }
        return 0;
}

static bool has_ns(const struct spec *s, int type)
{
        return spec_find_namespace(s, type) != NULL;
}

/* The init's work after it is in all its namespaces. Never returns.
 * host_userns: the runtime itself runs in a child user namespace (found by
 * the parent before the clone: reading uid_map here would allocate in pages
 * shared copy-on-write with it). */
static __attribute__((noreturn)) void init_run(const struct init_config *c, int sock,
                                               pid_t host_pid, bool host_userns)
{
        const struct spec *s = c->spec;
        struct error err = {0};
        int r;
        bool userns = has_ns(s, CLONE_NEWUSER);
        const struct spec_namespace *cgns = spec_find_namespace(s, CLONE_NEWCGROUP);
        const struct spec_namespace *tns = spec_find_namespace(s, CLONE_NEWTIME);

        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (userns) {
                /* Become root of the new user namespace now that the maps exist. */
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
                        error_sys(&err, -errno, "become root in the user namespace (is 0 mapped?)");
                        child_fail(sock, &err);
                }
        }
        if (cgns && !cgns->path && (r = sys_unshare(CLONE_NEWCGROUP)) < 0) {
                error_sys(&err, r, "create cgroup namespace");
                child_fail(sock, &err);
        }
        if (tns && !tns->path && (set_time_offsets(s, &err)) < 0)
                child_fail(sock, &err);
        if (s->hostname && *s->hostname && (r = sys_sethostname(s->hostname)) < 0) {
                error_sys(&err, r, "set hostname '%s'", s->hostname);
                child_fail(sock, &err);
        }
        if (s->domainname && *s->domainname && (r = sys_setdomainname(s->domainname)) < 0) {
                error_sys(&err, r, "set domainname '%s'", s->domainname);
                child_fail(sock, &err);
        }
        struct rootfs_ctx rctx = {
            .spec = s,
            .rootfs = c->rootfs,
            /* rootless husk: root of a user namespace, no device nodes either */
            .userns = userns || host_userns,
            .netns = has_ns(s, CLONE_NEWNET),
            .cgroupns = cgns != NULL,
            .cgroup_dirs = c->cgroup_view_dirs ? c->cgroup_view_dirs : c->cgroup_dirs,
        };
        if (rootfs_prepare(&rctx, &err) < 0)
                child_fail(sock, &err);
        if (s->hooks.n_prestart || s->hooks.n_create_runtime) {
                sync_send(sock, SYNC_HOOKS, 0, 0, NULL);
                if (sync_expect(sock, SYNC_HOOKS_DONE) < 0)
                        _exit(1); /* the parent reports its own error */
        }
        if (s->hooks.n_create_container) {
                _cleanup_free_ char *st = c->state_json(c->opaque, host_pid, "creating");
                if (hooks_run(s->hooks.create_container, s->hooks.n_create_container,
                              "createContainer", st, &err) < 0)
                        child_fail(sock, &err);
        }
        /* Before the readonly remounts of rootfs_finish (/proc/sys among them);
         * the host's /proc/sys writes to our own namespaces' values. */
        if (apply_sysctl(s, &err) < 0)
                child_fail(sock, &err);
        if (rootfs_pivot(&rctx, c->no_pivot, &err) < 0)
                child_fail(sock, &err);
        /* The pty is made in the container's own devpts and bound onto /dev/console
         * before rootfs_protect may make /dev or the root read-only (runc's order). */
        if (s->process.terminal) {
                if (c->console_fd < 0) {
                        error_msg(&err, -EINVAL,
                                  "process.terminal is true but no --console-socket was given");
                        child_fail(sock, &err);
                }
                if (terminal_setup(c->console_fd, &s->process, true, &err) < 0)
                        child_fail(sock, &err);
                close(c->console_fd);
        }
        if (rootfs_protect(&rctx, &err) < 0)
                child_fail(sock, &err);
        struct process_opts po = c->popts;
        _cleanup_free_ char *sc_state = NULL;
        if (po.seccomp && po.seccomp->notify) {
                /* runc's state for the listener: the init's pid, status "creating". */
                _cleanup_free_ char *st = c->state_json(c->opaque, host_pid, "creating");
                sc_state = seccomp_process_state(st, host_pid, c->seccomp_metadata);
                po.seccomp_state = sc_state;
        }
        struct exec_plan plan = {0};
        if (process_plan(&po, &plan, &err) < 0)
                child_fail(sock, &err);
        bool late = s->hooks.n_start_container > 0;
        if (!late && process_apply(&po, &err) < 0)
                child_fail(sock, &err);

        /* Created: the parent may go; we wait for start without spinning. */
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        sync_send(sock, SYNC_CREATED, 0, 0, NULL);
        close(sock);
        if (c->fifo_fd >= 0) {
                char b;
                ssize_t n;
                explain_note("waiting for 'start' (blocked reading exec.fifo)");
                while ((n = read(c->fifo_fd, &b, 1)) < 0 && errno == EINTR)
                        ;
                /* Kept open (close-on-exec): start watches for it to close at the
                 * exec, after the startContainer hooks, to order poststart. */
        }
        if (late) {
                _cleanup_free_ char *st = c->state_json(c->opaque, host_pid, "created");
                if (hooks_run(s->hooks.start_container, s->hooks.n_start_container,
                              "startContainer", st, &err) < 0 ||
                    process_apply(&po, &err) < 0) {
                        dprintf(2, "husk-runtime: %s\n", err.msg);
                        _exit(127);
                }
        }
        process_exec(&po, &plan, &err);
        dprintf(2, "husk-runtime: %s\n", err.msg);
        _exit(127);
}

/* General path: join by path, unshare the rest, fork for a pid namespace. */
static __attribute__((noreturn)) void child_general(const struct init_config *c, int sock,
                                                    struct ns_plan *p, bool host_userns)
{
        struct error err = {0};
        int r;
        for (size_t i = 0; i < p->n_join; i++) {
                char shown[64];
                snprintf(shown, sizeof(shown), "<%s namespace path>",
                         spec_ns_name(p->join_types[i]));
                if ((r = sys_setns(p->join_fds[i], p->join_types[i], shown)) < 0) {
                        error_sys(&err, r, "join the %s namespace", spec_ns_name(p->join_types[i]));
                        child_fail(sock, &err);
                }
        }
        int flags = p->new_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
        if (flags && (r = sys_unshare(flags)) < 0) {
                error_sys(&err, r, "create namespaces");
                child_fail(sock, &err);
        }
        if (flags & CLONE_NEWUSER) {
                sync_send(sock, SYNC_NEED_MAPS, 0, 0, NULL);
                if (sync_expect(sock, SYNC_MAPS_DONE) < 0)
                        _exit(1);
        }
        bool joined_pid = false;
        for (size_t i = 0; i < p->n_join; i++)
                joined_pid |= p->join_types[i] == CLONE_NEWPID;
        if (!(flags & CLONE_NEWPID) && !joined_pid) {
                int host_pid = sync_expect(sock, SYNC_GO);
                if (host_pid < 0)
                        _exit(1);
                init_run(c, sock, host_pid, host_userns);
        }
        pid_t pid = fork();
        if (pid < 0) {
                error_sys(&err, -errno, "fork into the pid namespace");
                child_fail(sock, &err);
        }
        if (pid > 0) {
                sync_send(sock, SYNC_PID, pid, 0, NULL);
                _exit(0);
        }
        int host_pid = sync_expect(sock, SYNC_GO);
        if (host_pid < 0)
                _exit(1);
        init_run(c, sock, host_pid, host_userns);
}

static void kill_and_reap(pid_t pid)
{
        if (pid <= 0)
                return;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

int linux_spawn_init(const struct init_config *c, pid_t *ret_pid, struct error *err)
{
        const struct spec *s = c->spec;
        struct ns_plan plan;
        int r = ns_plan_make(s, &plan, err);
        if (r < 0)
                return r;
        if (!has_ns(s, CLONE_NEWNS)) {
                ns_plan_done(&plan);
                return error_msg(err, -EINVAL, "linux.namespaces: a mount namespace is required");
        }
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
                ns_plan_done(&plan);
                return error_sys(err, -errno, "socketpair");
        }
        bool fast = plan.n_join == 0;
        bool new_user = plan.new_flags & CLONE_NEWUSER;
        /* Decided here: in the child, geteuid() changes once the parent maps it. */
        bool dumpable_until_mapped = new_user && geteuid() != 0;
        int clone_flags = fast ? (plan.new_flags & ~(CLONE_NEWCGROUP | CLONE_NEWTIME)) : 0;
        /* Only asked when the spec has no user namespace (then the init's is ours). */
        bool host_userns = !has_ns(s, CLONE_NEWUSER) && userns_in_child_namespace();
        explain_clone(plan.new_flags, "the container's init");
        bool in_unified = false;
        pid_t child = cgroup_clone(c->cgroup_dirs, (unsigned long)clone_flags, &in_unified);
        if (child < 0) {
                if (errno == EPERM && geteuid() != 0 && !new_user)
                        r = error_msg(err, -EPERM,
                                      "clone the container's init: %s (running as uid %u, new "
                                      "namespaces need a user namespace of their own: add "
                                      "{\"type\": \"user\"} to linux.namespaces with "
                                      "uidMappings and gidMappings, as 'spec --rootless' does)",
                                      strerror(EPERM), (unsigned)geteuid());
                else
                        r = error_sys(err, -errno, "clone the container's init");
                close(sv[0]);
                close(sv[1]);
                ns_plan_done(&plan);
                return r;
        }
        if (child == 0) {
                close(sv[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                /* Until it execs, nothing in the container may open our /proc/PID/exe.
                 * An unprivileged parent must still open our uid_map and gid_map,
                 * which a non-dumpable process's owner (global root, until root of
                 * the new namespace is mapped) would keep from it: then the init
                 * turns non-dumpable once the maps exist, before anything else can
                 * be in its namespaces (init_run). */
                if (!dumpable_until_mapped)
                        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
                if (c->lock_fd >= 0)
                        close(c->lock_fd);
                /* Into the container's cgroups before anything else, by itself (cheap). */
                struct error e = {0};
                if (cgroup_enter_self(c->cgroup_dirs, in_unified, &e) < 0)
                        child_fail(sv[1], &e);
                if (fast) {
                        int host_pid = sync_expect(sv[1], SYNC_GO);
                        if (host_pid < 0)
                                _exit(1);
                        init_run(c, sv[1], host_pid, host_userns);
                }
                child_general(c, sv[1], &plan, host_userns);
        }
        close(sv[1]);
        bool joined_pid = false;
        for (size_t i = 0; i < plan.n_join; i++)
                joined_pid |= plan.join_types[i] == CLONE_NEWPID;
        bool need_fork = !fast && ((plan.new_flags & CLONE_NEWPID) || joined_pid);
        ns_plan_done(&plan);
        _cleanup_close_ int sock = sv[0];
        pid_t init = fast ? child : 0;

        if (fast && new_user && (r = userns_write_maps(s, child, err)) < 0)
                goto fail;
        /* The init waits for GO; without a fork it is the child itself. */
        if ((fast || (!need_fork && !new_user)) &&
            (r = sync_send(sock, SYNC_GO, child, 0, NULL)) < 0) {
                error_sys(err, r, "start the container's init");
                goto fail;
        }
        /* startproto: the caller's work overlaps the init's own setup. */
        bool told = false;
        if (fast && !new_user && c->spawned) {
                told = true;
                if ((r = c->spawned(c->spawned_arg, init, err)) < 0)
                        goto fail;
        }
        for (;;) {
                struct sync_msg m;
                int t = sync_recv(sock, &m);
                if (t == SYNC_CREATED)
                        break;
                switch (t) {
                case SYNC_NEED_MAPS:
                        if ((r = userns_write_maps(s, child, err)) < 0)
                                goto fail;
                        sync_send(sock, SYNC_MAPS_DONE, 0, 0, NULL);
                        if (!need_fork)
                                sync_send(sock, SYNC_GO, child, 0, NULL);
                        continue;
                case SYNC_PID:
                        init = m.value;
                        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
                                ;
                        child = 0;
                        sync_send(sock, SYNC_GO, init, 0, NULL);
                        continue;
                case SYNC_HOOKS: {
                        _cleanup_free_ char *st = c->state_json(c->opaque, init, "creating");
                        if ((r = hooks_run(s->hooks.prestart, s->hooks.n_prestart, "prestart", st,
                                           err)) < 0 ||
                            (r = hooks_run(s->hooks.create_runtime, s->hooks.n_create_runtime,
                                           "createRuntime", st, err)) < 0)
                                goto fail;
                        sync_send(sock, SYNC_HOOKS_DONE, 0, 0, NULL);
                        continue;
                }
                case SYNC_ERROR:
                        r = error_msg(err, m.code < 0 ? m.code : -EIO, "%s", m.text);
                        goto fail;
                default:
                        r = error_msg(err, -EIO, "the container's init exited during setup");
                        goto fail;
                }
        }
        if (!told && c->spawned && (r = c->spawned(c->spawned_arg, init, err)) < 0)
                goto fail;
        *ret_pid = init;
        return 0;
fail:
        kill_and_reap(init);
        if (child != init)
                kill_and_reap(child);
        return r;
}
