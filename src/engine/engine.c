#include "engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/db.h" /* monitor-small */
#include "core/json.h"
#include "core/sys.h"
#include "core/util.h"
#include "engine/attach.h"
#include "engine/ctr-config.h"
#include "engine/ctr-net.h"
#include "engine/ctr-paused.h" /* ps */
#include "engine/ipc-shm.h"
#include "engine/ext-runtime.h" /* extruntime */
#include "engine/restart.h"
#include "engine/rootless.h"
#include "engine/volume.h" /* volumes branch */
#include "image/fsutil.h"
#include "image/image.h"
#include "core/sealed.h"     /* runflags */
#include "engine/runflags.h" /* runflags */
#include "runtime/cgroup.h"
#include "runtime/container-cgroup.h"
#include "runtime/container.h"
#include "runtime/state.h"

int64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int mkdir_p(const char *path, mode_t mode)
{
        /* ps: it exists on every command but the first: one syscall then. */
        if (mkdir(path, mode) == 0 || errno == EEXIST)
                return 0;
        char buf[PATH_MAX];
        snprintf(buf, sizeof(buf), "%s", path);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int engine_open(const char *root, const char *runroot, struct engine **ret, struct error *err)
{
        _cleanup_engine_ struct engine *e = xzalloc(sizeof(*e));
        e->wal_pin = -1; /* startproto */
        e->root = xstrdup(root);
        e->runroot = xstrdup(runroot);
        e->ctr_root = xasprintf("%s/containers", root);
        e->run_root = xasprintf("%s/containers", runroot);
        e->rt_root = xasprintf("%s/runtime", runroot);
        e->rt_rootfd = -1; /* ps */
        int r = store_open(root, &e->store, err);
        if (r < 0)
                return r;
        if ((r = mkdir_p(e->ctr_root, 0700)) < 0)
                return error_sys(err, r, "create '%s'", e->ctr_root);
        if ((r = mkdir_p(e->run_root, 0700)) < 0)
                return error_sys(err, r, "create '%s'", e->run_root);
        *ret = TAKE_PTR(e);
        return 0;
}

/* startproto: what engine_create left for the start that follows. */
static void forget_created(struct engine *e)
{
        if (e->created_image) {
                image_free(e->created_image);
                free(e->created_image);
                e->created_image = NULL;
        }
        free(e->created_id);
        e->created_id = NULL;
}

void engine_close(struct engine *e)
{
        if (!e)
                return;
        store_close(e->store);
        net_close(e->net_cache); /* speed */
        forget_created(e);       /* startproto */
        free(e->db_path);
        if (e->wal_pin >= 0)
                close(e->wal_pin);
        if (e->rt_rootfd >= 0) /* ps */
                close(e->rt_rootfd);
        ctr_freezer_free(e->freezer); /* ps */
        free(e->root);
        free(e->runroot);
        free(e->ctr_root);
        free(e->run_root);
        free(e->rt_root);
        free(e);
}

char *engine_ctr_dir(struct engine *e, const char *id)
{
        return xasprintf("%s/%s", e->ctr_root, id);
}

char *engine_run_dir(struct engine *e, const char *id)
{
        return xasprintf("%s/%s", e->run_root, id);
}

char *engine_log_path(struct engine *e, const char *id)
{
        return xasprintf("%s/%s/ctr.log", e->ctr_root, id);
}

int engine_parse_signal(const char *s)
{
        uint64_t n;
        if (parse_u64(s, &n) == 0)
                return n >= 1 && n <= (uint64_t)SIGRTMAX ? (int)n : -1;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && strcasecmp(s, abbrev) == 0)
                        return sig;
        }
        if (strncasecmp(s, "RTMIN+", 6) == 0 && parse_u64(s + 6, &n) == 0 &&
            SIGRTMIN + (int)n <= SIGRTMAX)
                return SIGRTMIN + (int)n;
        return -1;
}

/* ---------------------------------------------------------------- create */

static int image_config_obj(struct store *s, const struct image *img, struct json_object **ret,
                            struct error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = image_read_config(s, img, &text, err);
        if (r < 0)
                return r;
        return json_parse_string("image config", text, ret, err);
}

int engine_create(struct engine *e, const struct ctr_create_opts *o, char **ret_id,
                  struct error *err)
{
        if (o->name) {
                int r = ctr_check_name(o->name, err);
                if (r < 0)
                        return r;
        }
        _cleanup_(image_free) struct image img = {0};
        _cleanup_free_ char *matched = NULL;
        int r = image_lookup(e->store, o->image, &img, &matched, err);
        if (r < 0)
                return r;
        _cleanup_json_ struct json_object *imgcfg = NULL;
        if ((r = image_config_obj(e->store, &img, &imgcfg, err)) < 0)
                return r;
        struct json_object *inner = NULL;
        json_object_object_get_ex(imgcfg, "config", &inner);
        char id[CTR_ID_LEN + 1];
        if ((r = ctr_new_id(id, err)) < 0)
                return r;
        _cleanup_json_ struct json_object *doc = NULL;
        if ((r = ctr_config_make(inner, o, id, o->image, &doc, err)) < 0 ||
            (r = ctr_net_make(e, inner, o, doc, err)) < 0)
                return r;
        if ((r = volume_prepare(e, doc, err)) < 0) /* volumes branch */
                return r;
        _cleanup_free_ char *runtime = NULL; /* extruntime: --runtime PATH */
        if (o->runtime && (r = extrt_resolve(o->runtime, &runtime, err)) < 0)
                return r;
        extrt_config(doc, runtime);
        struct ctr c = {
            .id = id,
            .name = o->name ? xstrdup(o->name[0] == '/' ? o->name + 1 : o->name) : NULL,
            .image_id = img.id,
            .image_name = (char *)o->image,
            .config = (char *)json_compact(doc),
            .created = now_ns(),
            .state = "created",
            .error = "",
            .runtime = runtime, /* extruntime */
        };
        r = ctr_insert(e->store->db, &c, err);
        free(c.name);
        if (r < 0) { /* volumes branch: no container keeps its anonymous volumes */
                struct error ign = {0};
                volume_remove_anonymous(e, c.config, &ign);
                error_clear(&ign);
                return r;
        }
        *ret_id = xstrdup(id);
        /* startproto: a monitor in our memory mounts it without a lookup. */
        forget_created(e);
        e->created_image = xmalloc(sizeof(img));
        *e->created_image = img;
        memset(&img, 0, sizeof(img));
        e->created_id = xstrdup(id);
        e->created_joins_pid = runflags_doc_joins_pid_ns(doc);
        return 0;
}

/* ---------------------------------------------------------------- liveness */

static bool owner_alive(const struct ctr *c)
{
        return c->owner_pid > 0 && proc_start_time(c->owner_pid) == c->owner_start;
}

/* Waits until the owner (monitor) of c is gone; -ETIMEDOUT after timeout_ms (< 0: forever). */
static int wait_owner(const struct ctr *c, int timeout_ms)
{
        if (c->owner_pid <= 0)
                return 0;
        _cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, c->owner_pid, 0);
        if (pfd < 0)
                return 0;
        if (proc_start_time(c->owner_pid) != c->owner_start)
                return 0; /* the pid is someone else's now */
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int n;
        while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
                ;
        return n > 0 ? 0 : -ETIMEDOUT;
}

static int lock_containers(struct engine *e, struct error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/.lock", e->ctr_root);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return error_sys(err, -errno, "open '%s'", path);
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        int r = error_sys(err, -errno, "lock '%s'", path);
                        close(fd);
                        return r;
                }
        return fd;
}

int engine_db_reopen(struct engine *e, struct error *err)
{
        if (e->store->db || !e->db_path)
                return 0;
        return db_open(e->db_path, &e->store->db, err);
}

void engine_release(struct engine *e, const char *id)
{
        engine_release_ex(e, id, true);
}

void engine_release_ex(struct engine *e, const char *id, bool networks)
{
        struct error ign = {0};
        engine_rt_delete(e, id); /* extruntime: the container's runtime */
        /* The namespace is gone with the init: the veths, addresses, ports, rules. */
        if (networks)
                ctr_net_release(e, id, &ign);
        else
                ctr_net_release_pasta(e, id); /* startproto: no attachment to look for */
        error_clear(&ign);
        _cleanup_free_ char *dir = engine_ctr_dir(e, id);
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
        /* Lazily: a process that still has its cwd there must not keep it mounted. */
        if (umount2(rootfs, MNT_DETACH) == 0)
                explain("umount -l %s", shq(rootfs));
        ipc_shm_release(e, id); /* gaps: --ipc shareable's host-side /dev/shm */
        _cleanup_free_ char *run = engine_run_dir(e, id);
        _cleanup_free_ char *sock = xasprintf("%s/attach", run);
        unlink(sock);
        rmdir(run);
}

static bool is_mounted(const char *path)
{
        struct stat a, b;
        _cleanup_free_ char *parent = xasprintf("%s/..", path);
        if (stat(path, &a) < 0 || stat(parent, &b) < 0)
                return false;
        return a.st_dev != b.st_dev;
}

static bool auto_remove(const struct ctr *c); /* volumes branch */

int engine_purge(struct engine *e, const char *id, struct error *err)
{
        _cleanup_free_ char *dir = engine_ctr_dir(e, id);
        _cleanup_free_ char *rootfs = xasprintf("%s/rootfs", dir);
        if (is_mounted(rootfs))
                return error_msg(err, -EBUSY, "remove container '%.12s': '%s' is still mounted", id,
                                 rootfs);
        _cleanup_close_ int rfd = open(e->ctr_root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (rfd < 0)
                return error_sys(err, -errno, "open '%s'", e->ctr_root);
        int r = rm_rf_at(rfd, id);
        if (r < 0)
                return error_sys(err, r, "remove '%s'", dir);
        /* volumes branch: --rm containers take their anonymous volumes along, as docker's */
        struct ctr row = {0};
        struct error ign = {0};
        bool drop_anon = ctr_get(e->store->db, id, &row, &ign) == 0 && auto_remove(&row);
        error_clear(&ign);
        if ((r = ctr_delete(e->store->db, id, err)) == 0 && drop_anon)
                volume_remove_anonymous(e, row.config, &ign);
        error_clear(&ign);
        ctr_free(&row);
        return r;
}

static bool auto_remove(const struct ctr *c)
{
        _cleanup_json_ struct json_object *doc = NULL;
        struct error ign = {0};
        struct json_object *hc, *v;
        return json_parse_string("config", c->config, &doc, &ign) == 0 &&
               json_object_object_get_ex(doc, "HostConfig", &hc) &&
               json_object_object_get_ex(hc, "AutoRemove", &v) && json_object_get_boolean(v);
}

int engine_refresh(struct engine *e, struct ctr *c, bool *ret_gone, struct error *err)
{
        if (ret_gone)
                *ret_gone = false;
        if (c->owner_pid <= 0 || owner_alive(c))
                return 0;
        _cleanup_close_ int lock = lock_containers(e, err);
        if (lock < 0)
                return lock;
        /* Someone may have done it while we waited for the lock. */
        struct ctr now = {0};
        int r = ctr_get(e->store->db, c->id, &now, err);
        if (r == -ENOENT) {
                error_clear(err);
                if (ret_gone)
                        *ret_gone = true;
                return 0;
        }
        if (r < 0)
                return r;
        ctr_free(c);
        *c = now;
        if (c->owner_pid <= 0 || owner_alive(c))
                return 0;
        bool was_running = strcmp(c->state, "running") == 0;
        engine_release(e, c->id);
        if (was_running) {
                free(c->state);
                c->state = xstrdup("exited");
                c->exit_code = 137;
                c->finished = now_ns();
                free(c->error);
                c->error = xstrdup("the container's monitor vanished; the container was killed");
        }
        c->pid = 0;
        c->owner_pid = 0;
        c->owner_start = 0;
        if ((r = ctr_update(e->store->db, c, err)) < 0)
                return r;
        if (was_running && auto_remove(c)) {
                if ((r = engine_purge(e, c->id, err)) < 0)
                        return r;
                if (ret_gone)
                        *ret_gone = true;
        }
        return 0;
}

int engine_lookup(struct engine *e, const char *what, struct ctr *ret, struct error *err)
{
        int r = ctr_lookup(e->store->db, what, ret, err);
        if (r < 0)
                return r;
        bool gone = false;
        if ((r = engine_refresh(e, ret, &gone, err)) < 0) {
                ctr_free(ret);
                return r;
        }
        if (gone) {
                ctr_free(ret);
                return error_msg(err, -ENOENT, "no such container: %s", what);
        }
        return 0;
}

/* ---------------------------------------------------------------- start */

static const char *self_exe(char *buf, size_t len)
{
        ssize_t n = readlink("/proc/self/exe", buf, len - 1);
        if (n <= 0)
                return "/proc/self/exe";
        buf[n] = '\0';
        return buf;
}

/* What the monitor's child side needs, shared with the vfork'd middle
 * process (speed2). */
struct spawn {
        struct engine *e;
        const char *id, *exe;
        int sock;
        unsigned rows, cols;
        bool sealed;
        bool reexec;    /* sealed or rootless: the monitor is exec'd */
        bool shared;    /* startproto: runs in the CLI's memory until it execs husk-monitor */
        int fork_errno; /* set by the middle process: fork() failed */
};

/* The monitor itself, in the grandchild: never returns. */
static void monitor_child(struct spawn *s)
{
        char r_arg[16], c_arg[16];
        snprintf(r_arg, sizeof(r_arg), "%u", s->rows);
        snprintf(c_arg, sizeof(c_arg), "%u", s->cols);
        setsid();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
                if (null > 2)
                        close(null);
        }
        if (dup2(s->sock, 3) < 0)
                _exit(127);
        /* Nothing else of the CLI's reaches the monitor. startproto: one in
         * the CLI's memory uses the CLI's store and database connection: their
         * fds (as all) go at its exec, and none reaches the container's program. */
        close_range(4, ~0U, s->shared ? CLOSE_RANGE_CLOEXEC : 0);
        sigset_t none;
        sigemptyset(&none);
        if (!s->reexec) { /* monitor-small: as an exec would have left them */
                for (int sig = 1; sig < NSIG; sig++)
                        if (sig != SIGKILL && sig != SIGSTOP)
                                signal(sig, SIG_DFL);
                sigprocmask(SIG_SETMASK, &none, NULL);
                _exit(monitor_main(s->e->root, s->e->runroot, s->id, 3, s->rows, s->cols,
                                   s->shared ? s->e : NULL));
        }
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* With --explain the monitor sends its explanations to the CLI (stderr frames). */
        char *argv[] = {"husk",        "--root",    s->e->root,    "--runroot",
                        s->e->runroot, "__monitor", (char *)s->id, "3",
                        r_arg,         c_arg,       NULL,          NULL};
        if (explain_on()) {
                memmove(argv + 2, argv + 1, 10 * sizeof(char *));
                argv[1] = "--explain";
        }
        if (s->sealed) /* runflags: joining a pid namespace needs a sealed copy */
                sealed_reexec(argv);
        execv(s->exe, argv);
        _exit(127);
}

/* speed2: the middle process of the double fork shares the CLI's memory
 * (CLONE_VM | CLONE_VFORK, the CLI waits): it forks the monitor and exits.
 * A plain fork copied the CLI's page tables twice and tore one copy down
 * again on the middle's exit (3-7 ms of CPU per start here, docs/engine.md
 * "The monitor's middle process"). The monitor runs on the
 * stack this process was given (a copy of it, in its own memory). */
static int spawn_middle(void *arg)
{
        struct spawn *s = arg;
        pid_t p = fork();
        if (p == 0)
                monitor_child(s);
        if (p < 0)
                s->fork_errno = errno;
        _exit(0);
}

/* startproto: the monitor itself as a CLONE_VM | CLONE_VFORK child: it
 * sets the container up in the CLI's memory while the CLI waits (no copy
 * of the CLI's page tables, no copy-on-write fault for what either writes)
 * and execve's husk-monitor once the container runs, which lets the CLI go
 * on (docs/engine.md "The monitor in the CLI's memory"). */
#if !defined(__SANITIZE_ADDRESS__)
static int spawn_shared(void *arg)
{
        monitor_child(arg);
        _exit(127);
}
#endif

/* The monitor's stack: as big as a main thread's default, faulted in as
 * used, a guard page below. */
#define MONITOR_STACK (8u << 20)

static pid_t clone_middle(struct spawn *s)
{
#if defined(__SANITIZE_ADDRESS__)
        /* ASan does not follow a process onto a stack it did not see made. */
        pid_t child = fork();
        if (child == 0)
                spawn_middle(s);
        return child;
#else
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        char *stk = mmap(NULL, MONITOR_STACK + page, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (stk == MAP_FAILED)
                return -1;
        mprotect(stk, page, PROT_NONE);
        /* No handler of the CLI's may run in the middle process, on shared memory. */
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &old);
        pid_t child = clone(s->shared ? spawn_shared : spawn_middle, stk + page + MONITOR_STACK,
                            CLONE_VM | CLONE_VFORK | SIGCHLD, s);
        int saved = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        munmap(stk, MONITOR_STACK + page);
        errno = saved;
        return child;
#endif
}

/* startproto: closing our SQLite connection before the fork left nobody with
 * the database open, so the monitor's open (and ours after) rebuilt the WAL
 * index from the whole WAL. SQLite keeps the index (the -shm file) valid as
 * long as anyone holds a read lock on its "DMS" byte (128; WAL format docs),
 * as each open connection does: we hold one as an open file description
 * lock (not a process one, which SQLite's own close of the file would drop)
 * until this process exits. The index is never written through it. */
int engine_wal_pin(const char *dbpath)
{
        _cleanup_free_ char *shm = xasprintf("%s-shm", dbpath);
        int fd = open(shm, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        struct flock lk = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 128, .l_len = 1};
        if (fd >= 0 && fcntl(fd, F_OFD_SETLK, &lk) < 0) {
                close(fd);
                fd = -1;
        }
        return fd;
}

/* Forks the monitor, detached (double fork, setsid, its own session). The
 * child runs monitor_main() as it is, without an exec (monitor-small: the
 * dynamic loader costs more than the rest of a start); only a monitor that
 * joins a pid namespace re-executes, from a sealed copy. Nothing of the
 * CLI's crosses: its database connection is closed around the fork (the
 * child opens its own), its fds above 3 are closed, signals reset. */
static int spawn_monitor(struct engine *e, const char *id, int sock, unsigned rows, unsigned cols,
                         bool detached, struct error *err)
{
        char exe[PATH_MAX];
        self_exe(exe, sizeof(exe));
        struct spawn s = {.e = e, .id = id, .exe = exe, .sock = sock, .rows = rows, .cols = cols};
        /* runflags: --pid host|container:X (startproto: known for the container
         * this process just created, without reading its row again) */
        s.sealed = e->created_id && !strcmp(e->created_id, id) ? e->created_joins_pid
                                                               : runflags_joins_pid_ns(e, id);
        /* rootless: a forked monitor keeps the CLI's mm, made non-dumpable by
         * its setns into the pause process's user namespace, with the host's
         * namespace as its owner: the container's /proc/PID/ns files would be
         * out of its reach. An exec inside the namespace fixes both. */
        s.reexec = s.sealed || rootless_active();
        /* startproto: only for a detached start (an attached one keeps the
         * whole monitor, which records the exit without an exec); --explain's
         * frames could fill the socket while the CLI can't read them: that,
         * like the exec'd kinds, takes the fork. */
        s.shared = detached && !s.reexec && !explain_on() && monitor_small_available();
#if defined(__SANITIZE_ADDRESS__)
        s.shared = false; /* clone_middle forks under ASan */
#endif
        _cleanup_free_ char *dbpath = NULL; /* monitor-small */
        if (!s.reexec && !s.shared) {
                dbpath = xstrdup(e->store->db->path);
                if (e->wal_pin < 0) /* startproto */
                        e->wal_pin = engine_wal_pin(dbpath);
                db_close(e->store->db);
                e->store->db = NULL;
        }
        int r = 0;
        fflush(stdout); /* startproto: nothing of ours in a buffer the monitor shares */
        pid_t child = clone_middle(&s);
        if (child < 0) {
                r = error_sys(err, -errno, "fork the monitor");
        } else if (s.shared) {
                /* The monitor itself, now in its own memory (husk-monitor), or
                 * gone after reporting why on the socket: reparented to init
                 * (or a subreaper) when we exit; never waited for here. */
        } else {
                int st;
                while (waitpid(child, &st, 0) < 0 && errno == EINTR)
                        ;
                if (s.fork_errno)
                        r = error_sys(err, -s.fork_errno, "fork the monitor");
        }
        if (dbpath && r == 0 && e->db_lazy) {
                e->db_path = TAKE_PTR(dbpath); /* startproto: reopened when needed */
                return 0;
        }
        if (dbpath) { /* monitor-small */
                struct error dberr = {0};
                int q = db_open(dbpath, &e->store->db, r < 0 ? &dberr : err);
                if (q < 0 && r < 0)
                        abort(); /* the store can't go on without it */
                if (q < 0)
                        return q;
        }
        return r;
}

int engine_start(struct engine *e, const char *id, int *ret_sock, bool with_stdin, unsigned rows,
                 unsigned cols, struct error *err)
{
        struct ctr c = {0};
        int r = ctr_get(e->store->db, id, &c, err);
        if (r < 0)
                return r;
        bool gone = false;
        r = engine_refresh(e, &c, &gone, err);
        bool busy = r == 0 && !gone && owner_alive(&c);
        bool running = busy && strcmp(c.state, "running") == 0;
        ctr_free(&c);
        if (r < 0)
                return r;
        if (gone)
                return error_msg(err, -ENOENT, "no such container: %s", id);
        if (running)
                return error_msg(err, -EALREADY, "container %.12s is already running", id);
        if (busy)
                return error_msg(err, -EALREADY, "container %.12s is being started", id);
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return error_sys(err, -errno, "socketpair");
        _cleanup_close_ int mine = sv[0], theirs = sv[1];
        if ((r = spawn_monitor(e, id, theirs, rows, cols, !ret_sock, err)) < 0)
                return r;
        close(TAKE_FD(theirs));
        char hello = with_stdin ? 'i' : 'n';
        /* startproto: a monitor that ran in our memory may have failed and
         * gone already, its error frame waiting in the socket: no SIGPIPE. */
        if (send(mine, &hello, 1, MSG_NOSIGNAL) != 1 && errno != EPIPE)
                return error_sys(err, -errno, "start container %.12s: talk to its monitor", id);
        for (;;) {
                char type;
                _cleanup_free_ char *buf = NULL;
                size_t len;
                r = frame_read(mine, &type, &buf, &len);
                if (r <= 0)
                        return error_msg(err, r < 0 ? r : -EPIPE,
                                         "start container %.12s: its monitor exited before the "
                                         "container started",
                                         id);
                if (type == FRAME_STARTED)
                        break;
                if (type == FRAME_ERROR) {
                        char *end;
                        long code = strtol(buf, &end, 10);
                        if (code >= 0 || code < -4095)
                                code = -EIO;
                        return error_msg(err, (int)code, "%s", *end ? end + 1 : buf);
                }
                /* Before 'started' only the monitor's explanations (--explain) come. */
                if (type == FRAME_STDERR)
                        explain_forward(buf, len);
        }
        if (ret_sock)
                *ret_sock = TAKE_FD(mine);
        return 0;
}

/* Connects to the container's monitor on its attach socket; `what` names the
 * operation in errors. */
static int monitor_connect(struct engine *e, const char *id, const char *what, int *ret_fd,
                           struct error *err)
{
        _cleanup_free_ char *run = engine_run_dir(e, id);
        _cleanup_close_ int dfd = open(run, O_DIRECTORY | O_PATH | O_CLOEXEC);
        if (dfd < 0)
                return error_sys(err, -errno, "%s %.12s", what, id);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return error_sys(err, -errno, "socket");
        /* Through /proc/self/fd: the run dir may be longer than sun_path allows. */
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/attach", dfd);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
                return error_sys(err, -errno, "%s %.12s: connect to its monitor", what, id);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int engine_attach_connect(struct engine *e, const char *id, bool with_stdin, int *ret_fd,
                          struct error *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r = monitor_connect(e, id, "attach to", &fd, err);
        if (r < 0)
                return r;
        char hello = with_stdin ? 'i' : 'n';
        if (write_all(fd, &hello, 1) < 0)
                return error_sys(err, -errno, "attach to %.12s", id);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* ---------------------------------------------------------------- stop, kill, wait, rm */

int engine_pids(struct engine *e, const struct ctr *c, pid_t **ret, size_t *ret_n,
                struct error *err)
{
        if (strcmp(c->state, "running") != 0 || !owner_alive(c))
                return error_msg(err, -ESRCH, "container %s is not running", c->name);
        if (c->runtime && c->runtime[0]) /* extruntime */
                return engine_rt_pids(e, c, ret, ret_n, err);
        _cleanup_close_ int rootfd = -EBADF;
        _cleanup_(state_freep) struct container_state *st = NULL;
        int r = state_open_root(e->rt_root, &rootfd, err);
        if (r == 0)
                r = state_load(rootfd, c->id, false, &st, err);
        if (r == 0)
                r = cgroup_pids(st->cgroup_dirs, ret, ret_n, err);
        return r < 0 ? error_wrap(err, r, "processes of container %s", c->name) : 0;
}

bool engine_is_paused(struct engine *e, const struct ctr *c)
{
        if (strcmp(c->state, "running") != 0)
                return false;
        if (c->runtime && c->runtime[0]) /* extruntime */
                return engine_rt_paused(e, c);
        return ctr_paused(e, c); /* ps: cheap for every row of ps (ctr-paused.c) */
}

int engine_pause(struct engine *e, const struct ctr *c, bool pause, struct error *err)
{
        if (strcmp(c->state, "running") != 0 || !owner_alive(c))
                return error_msg(err, -ESRCH, "container %s is not running", c->name);
        bool paused = engine_is_paused(e, c);
        if (pause && paused)
                return error_msg(err, -EALREADY, "container %s is already paused", c->name);
        if (!pause && !paused)
                return error_msg(err, -EINVAL, "container %s is not paused", c->name);
        int r = engine_rt_pause(e, c, pause, err); /* extruntime */
        if (r < 0)
                return error_wrap(err, r, "%s container %s", pause ? "pause" : "unpause", c->name);
        return 0;
}

int engine_kill(struct engine *e, const struct ctr *c, int sig, struct error *err)
{
        if (strcmp(c->state, "running") != 0 || !owner_alive(c))
                return error_msg(err, -ESRCH, "container %s is not running", c->name);
        /* monitor2: between two runs of its restart policy there is nothing to
         * signal; and a container a user signalled is not restarted (docker's
         * "manually stopped"). */
        if (c->pid <= 0)
                return error_msg(err, -EBUSY,
                                 "container %s is restarting, wait until the container is "
                                 "running",
                                 c->name);
        restart_request_stop(e, c->id);
        int r = engine_rt_kill(e, c, sig, false, err); /* extruntime */
        if (r < 0)
                return error_wrap(err, r, "kill container %s", c->name);
        return 0;
}

static int stop_signal(const struct ctr *c)
{
        _cleanup_json_ struct json_object *doc = NULL;
        struct error ign = {0};
        struct json_object *cfg, *v;
        if (json_parse_string("config", c->config, &doc, &ign) == 0 &&
            json_object_object_get_ex(doc, "Config", &cfg) &&
            json_object_object_get_ex(cfg, "StopSignal", &v) &&
            json_object_is_type(v, json_type_string)) {
                int sig = engine_parse_signal(json_object_get_string(v));
                if (sig > 0)
                        return sig;
        }
        return SIGTERM;
}

/* --stop-timeout, as .Config.StopTimeout; -1 when not given. */
static int stop_timeout(const struct ctr *c)
{
        _cleanup_json_ struct json_object *doc = NULL;
        struct error ign = {0};
        struct json_object *cfg, *v;
        if (json_parse_string("config", c->config, &doc, &ign) == 0 &&
            json_object_object_get_ex(doc, "Config", &cfg) &&
            json_object_object_get_ex(cfg, "StopTimeout", &v) &&
            json_object_is_type(v, json_type_int))
                return json_object_get_int(v);
        return -1;
}

int engine_stop(struct engine *e, const struct ctr *c, int timeout, struct error *err)
{
        if (strcmp(c->state, "running") != 0 || !owner_alive(c))
                return 0;
        if (timeout < 0)
                timeout = stop_timeout(c);
        if (timeout < 0)
                timeout = 10;
        restart_request_stop(e, c->id); /* monitor2: no restart after stop */
        struct error ign = {0};
        int sig = stop_signal(c);
        if (engine_rt_kill(e, c, sig, false, &ign) == 0 && /* extruntime */
            wait_owner(c, timeout * 1000) == 0)
                return 0;
        engine_rt_kill(e, c, SIGKILL, true, &ign);
        if (wait_owner(c, 30000) < 0)
                return error_msg(err, -ETIMEDOUT,
                                 "stop container %s: its monitor (pid %d) did not finish 30 s "
                                 "after SIGKILL",
                                 c->name, (int)c->owner_pid);
        return 0;
}

int engine_wait(struct engine *e, const char *id, int *ret_code, struct error *err)
{
        struct ctr c = {0};
        int r = ctr_get(e->store->db, id, &c, err);
        if (r < 0)
                return r;
        if (strcmp(c.state, "running") == 0 && owner_alive(&c)) {
                /* The monitor's last frame carries the exit code even for --rm. */
                _cleanup_close_ int fd = -EBADF;
                if (engine_attach_connect(e, id, false, &fd, err) == 0) {
                        for (;;) {
                                char type;
                                _cleanup_free_ char *buf = NULL;
                                size_t len;
                                if (frame_read(fd, &type, &buf, &len) <= 0)
                                        break;
                                if (type == FRAME_EXIT) {
                                        ctr_free(&c);
                                        *ret_code = atoi(buf);
                                        return 0;
                                }
                        }
                }
                error_clear(err);
                wait_owner(&c, -1);
        }
        bool gone = false;
        r = engine_refresh(e, &c, &gone, err);
        if (r == 0 && !gone) {
                ctr_free(&c);
                r = ctr_get(e->store->db, id, &c, err);
        }
        if (r < 0 || gone) {
                ctr_free(&c);
                return r < 0 ? r : error_msg(err, -ENOENT, "no such container: %s", id);
        }
        *ret_code = c.exit_code;
        ctr_free(&c);
        return 0;
}

int engine_remove(struct engine *e, const struct ctr *c, bool force, struct error *err)
{
        if (owner_alive(c)) {
                if (!force)
                        return error_msg(err, -EBUSY,
                                         "cannot remove container %s: container is %s: stop the "
                                         "container before removing or force remove",
                                         c->name,
                                         strcmp(c->state, "running") == 0 ? "running"
                                                                          : "being started");
                /* A monitor still starting it gets there first, then is killed. */
                restart_request_stop(e, c->id); /* monitor2: and not restarted */
                struct error ign = {0};
                for (int i = 0; i < 100 && owner_alive(c); i++) {
                        if (engine_rt_kill(e, c, SIGKILL, true, &ign) == 0 && /* extruntime */
                            wait_owner(c, 100) == 0)
                                break;
                        error_clear(&ign);
                        usleep(50000);
                }
                if (wait_owner(c, 30000) < 0)
                        return error_msg(err, -ETIMEDOUT,
                                         "remove container %s: its monitor (pid %d) did not "
                                         "finish",
                                         c->name, (int)c->owner_pid);
        }
        _cleanup_close_ int lock = lock_containers(e, err);
        if (lock < 0)
                return lock;
        struct ctr now = {0};
        int r = ctr_get(e->store->db, c->id, &now, err);
        if (r == -ENOENT) {
                error_clear(err);
                return 0; /* --rm: the monitor removed it */
        }
        if (r < 0)
                return r;
        bool held = owner_alive(&now);
        ctr_free(&now);
        if (held)
                return error_msg(err, -EBUSY, "container %s was started again meanwhile", c->name);
        engine_release(e, c->id);
        return engine_purge(e, c->id, err);
}

int engine_attach_resize(struct engine *e, const char *id, unsigned rows, unsigned cols,
                         struct error *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r = monitor_connect(e, id, "resize", &fd, err);
        if (r < 0)
                return r;
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "r%u %u", rows, cols);
        if (write_all(fd, msg, (size_t)n) < 0)
                return error_sys(err, -errno, "resize %.12s", id);
        return 0;
}
