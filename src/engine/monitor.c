/* The per-container monitor: `husk __monitor ID FD`, forked (detached, in a
 * session of its own) by engine_start(). It is the parent of the
 * container's init: it mounts the root, writes config.json, creates and
 * starts the container through the runtime library, owns its stdio (pipes),
 * writes the k8s-file log, serves the attach socket, reaps the init,
 * records the exit and releases (or with --rm removes) everything.
 * Protocol: engine/attach.h. Design: docs/engine.md. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/sys.h"
#include "core/util.h"
#include "engine/attach.h"
#include "engine/ctr-config.h"
#include "engine/ctr-net.h"
#include "core/sealed.h"     /* runflags */
#include "engine/runflags.h" /* runflags */
#include "engine/engine.h"
#include "engine/ext-runtime.h" /* extruntime */
#include "engine/logdrv.h"
#include "engine/monloop.h"
#include "engine/restart.h"
#include "engine/rootless.h" /* rootless */
#include "image/image.h"
#include "image/snapshot.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "runtime/terminal.h"

/* The loop's state (engine/monloop.h) is the first member, unnamed
 * (-fms-extensions): m->out_fd, m->clients ... as before; LOOP(m) is it. */
struct monitor {
        struct monloop;
        struct engine *e;
        struct ctr c;
        char *dir, *run, *rootfs;
        bool open_stdin, auto_remove;
        bool bridged;        /* startproto: on bridge networks (else no attachment to release) */
        int explain_rd;      /* with --explain: read end of the explanations, -1 without */
        unsigned rows, cols; /* its initial size, 0 when not known */
        int64_t prev_delay;  /* the restart policy's last backoff */
        bool stay_big;       /* husk-monitor is missing or could not be exec'd */
        struct engine *cli;  /* startproto: then the CLI's engine, else NULL */
        /* startproto: the runtime's state (locked) and spec between create and
         * start, built-in runtime only; NULL otherwise. */
        struct container_state *rt_st;
        struct spec *rt_spec;
        struct json_object *doc; /* startproto: the config, during setup */
        char *spec_text;         /* startproto: config.json as written, until created */
        int devnull;             /* startproto: /dev/null during create_container, else -1 */
        bool running;            /* startproto: this run's "running" row is written */
        int64_t prev_started, prev_finished; /* startproto: the row's before it */
        int prev_exit_code;
};

/* startproto: lets the runtime's state go (its lock with it). */
static void release_held(struct monitor *m)
{
        state_free(m->rt_st);
        spec_free(m->rt_spec);
        m->rt_st = NULL;
        m->rt_spec = NULL;
}
#define LOOP(m) ((struct monloop *)(m))
_Static_assert(offsetof(struct monitor, out_fd) == 0, "the loop's state comes first");

static void broadcast(struct monitor *m, char type, const void *buf, size_t len)
{
        monloop_broadcast(LOOP(m), type, buf, len);
}

/* Sends what was explained so far to the clients, as stderr (not to the log). */
static void flush_explain(struct monitor *m)
{
        char buf[65536];
        ssize_t n;
        while (m->explain_rd >= 0 && (n = read(m->explain_rd, buf, sizeof(buf))) > 0)
                broadcast(m, FRAME_STDERR, buf, (size_t)n);
}

/* ---------------------------------------------------------------- setup */

static int write_text(const char *dir, const char *name, const char *text, struct error *err)
{
        _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return error_sys(err, -errno, "open '%s'", dir);
        int r = write_file_atomic(dfd, name, text, strlen(text), 0644);
        if (r < 0)
                return error_sys(err, r, "write '%s/%s'", dir, name);
        return 0;
}

static int mkdirs(struct monitor *m, struct error *err)
{
        const char *subs[] = {"", "/upper", "/work", "/rootfs"};
        for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
                _cleanup_free_ char *p = xasprintf("%s%s", m->dir, subs[i]);
                if (mkdir(p, i == 0 ? 0700 : 0755) < 0 && errno != EEXIST)
                        return error_sys(err, -errno, "create '%s'", p);
        }
        if (mkdir(m->run, 0700) < 0 && errno != EEXIST)
                return error_sys(err, -errno, "create '%s'", m->run);
        return 0;
}

static int mount_root(struct monitor *m, struct error *err)
{
        _cleanup_(image_free) struct image img = {0};
        const struct image *hint = m->cli ? m->cli->created_image : NULL; /* startproto */
        int r = 0;
        if (!hint || strcmp(hint->id, m->c.image_id) != 0)
                r = image_get(m->e->store, m->c.image_id, &img, err);
        if (r < 0)
                return error_wrap(err, r, "the image of container %s", m->c.name);
        char **layers = img.id ? img.layers : hint->layers;
        _cleanup_free_ char *upper = xasprintf("%s/upper", m->dir);
        _cleanup_free_ char *work = xasprintf("%s/work", m->dir);
        /* A previous monitor killed with it mounted: start from a clean mount point. */
        umount2(m->rootfs, MNT_DETACH);
        /* speed: a --rm container's upper dir is never synced to disk. */
        struct snapshot_opts so = {.volatile_upper = m->auto_remove};
        return snapshot_mount(m->e->store, layers, upper, work, m->rootfs, &so, err);
}

static int write_bundle(struct monitor *m, struct json_object *doc, struct error *err)
{
        struct json_object *cfg, *h;
        const char *hostname = "localhost";
        if (json_object_object_get_ex(doc, "Config", &cfg) &&
            json_object_object_get_ex(cfg, "Hostname", &h))
                hostname = json_object_get_string(h);
        _cleanup_free_ char *hn = xasprintf("%s\n", hostname);
        _cleanup_free_ char *hosts = xasprintf("127.0.0.1\tlocalhost\n"
                                               "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                               "127.0.0.1\t%s\n",
                                               hostname);
        int r = write_text(m->dir, "hostname", hn, err);
        if (r < 0)
                return r;
        _cleanup_close_ int rootfd = open(m->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (rootfd < 0)
                return error_sys(err, -errno, "open '%s'", m->rootfs);
        _cleanup_json_ struct json_object *spec = NULL;
        if ((r = ctr_oci_spec(doc, m->c.id, rootfd, m->rootfs, m->dir, &spec, err)) < 0 ||
            (r = ctr_net_spec(m->e, doc, m->c.id, m->dir, spec, err)) < 0)
                return r;
        /* startproto: ctr_net_spec wrote the hosts file of --network
         * none|host|pasta: this one is a bridge's until its attach rewrites it. */
        _cleanup_free_ char *hosts_path = xasprintf("%s/hosts", m->dir);
        if (access(hosts_path, F_OK) < 0 && (r = write_text(m->dir, "hosts", hosts, err)) < 0)
                return r;
        struct json_object *hc; /* runflags: security, devices, limits, namespaces */
        if (json_object_object_get_ex(doc, "HostConfig", &hc) &&
            (r = runflags_oci(m->e, hc, rootfd, spec, err)) < 0)
                return r;
        free(m->spec_text); /* startproto: handed to the runtime as it is */
        m->spec_text = xstrdup(json_pretty(spec));
        return write_text(m->dir, "config.json", m->spec_text, err);
}

static int listen_attach(struct monitor *m, struct error *err)
{
        _cleanup_close_ int dfd = open(m->run, O_DIRECTORY | O_PATH | O_CLOEXEC);
        if (dfd < 0)
                return error_sys(err, -errno, "open '%s'", m->run);
        unlinkat(dfd, "attach", 0);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return error_sys(err, -errno, "socket");
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/attach", dfd);
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
                int r = error_sys(err, -errno, "attach socket in '%s'", m->run);
                close(fd);
                return r;
        }
        m->listen_fd = fd;
        return 0;
}

/* Brings loopback up in the container's network namespace (as docker's
 * --network none leaves it), from the monitor, which then returns home. */
static int loopback_up(pid_t init, struct error *err)
{
        if (rootless_active()) /* rootless: from a child (engine/rootless.h) */
                return rootless_loopback_up(init, err);
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)init);
        _cleanup_close_ int target = open(p, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (target < 0 || home < 0)
                return error_sys(err, -errno, "open network namespace of %d", (int)init);
        int r = sys_setns(target, CLONE_NEWNET, p);
        if (r < 0)
                return error_sys(err, r, "enter the network namespace of %d", (int)init);
        explain("ip link set lo up");
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = {0};
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
            (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0))
                r = error_sys(err, -errno, "bring up lo in the container");
        if (s >= 0)
                close(s);
        if (setns(home, CLONE_NEWNET) < 0 && r == 0)
                r = error_sys(err, -errno, "return to the host network namespace");
        return r;
}

static void resize(struct monitor *m, const char *text);

/* Records the run: "running", its pid and start time. */
static void mark_running(struct monitor *m)
{
        m->prev_started = m->c.started;
        m->prev_finished = m->c.finished;
        m->prev_exit_code = m->c.exit_code;
        m->c.pid = m->init;
        m->c.started = now_ns();
        m->c.finished = 0;
        m->c.exit_code = 0;
        free(m->c.state);
        m->c.state = xstrdup("running");
        struct error ign = {0};
        ctr_update(m->e->store->db, &m->c, &ign);
        m->running = true;
}

/* What needs only the init's pid and namespaces: loopback, networks, the
 * "running" row. startproto: called by the runtime while the init still
 * sets itself up (mounts, capabilities, seccomp), so the two overlap. */
static int listen_attach(struct monitor *m, struct error *err);

/* The attach socket and the log: nothing the init needs. */
static int open_io(struct monitor *m, struct json_object *doc, struct error *err)
{
        int r = listen_attach(m, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *log = engine_log_path(m->e, m->c.id);
        struct log_cfg lc;
        logdrv_get_config(doc, &lc);
        return log_sink_open(&m->sink, log, &lc, err);
}

static int init_spawned(void *arg, pid_t init, struct error *err)
{
        struct monitor *m = arg;
        m->init = init;
        /* The init has its stdio: ours back on /dev/null before anything can
         * write to it (a warning must not land in the container's log). */
        for (int fd = 0; fd <= 2 && m->devnull >= 0; fd++)
                dup2(m->devnull, fd);
        int r = open_io(m, m->doc, err);
        if (r == 0)
                r = loopback_up(init, err);
        if (r == 0)
                r = ctr_net_attach(m->e, &m->c, m->doc, init, err);
        if (r == 0)
                mark_running(m);
        return r;
}

/* Creates the container. Its stdio: pipes (the init inherits our fds 0-2),
 * or with Tty a pty that the runtime makes inside the container and hands
 * back over a socketpair. */
static int create_container(struct monitor *m, struct error *err)
{
        int out[2] = {-1, -1}, errp[2] = {-1, -1}, in[2] = {-1, -1}, con[2] = {-1, -1};
        int r = 0;
        if (m->tty) {
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0)
                        return error_sys(err, -errno, "socketpair");
        } else if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
                   (m->open_stdin && pipe2(in, O_CLOEXEC) < 0)) {
                r = error_sys(err, -errno, "pipe");
                int fds[] = {out[0], out[1], errp[0], errp[1]};
                for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                        if (fds[i] >= 0)
                                close(fds[i]);
                return r;
        }
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        m->devnull = null; /* startproto: init_spawned puts our stdio back */
        dup2(in[0] >= 0 ? in[0] : null, 0);
        dup2(out[1] >= 0 ? out[1] : null, 1);
        dup2(errp[1] >= 0 ? errp[1] : null, 2);
        struct create_opts o = {.root = m->e->rt_root,
                                .id = m->c.id,
                                .bundle = m->dir,
                                .console_fd = con[1],
                                .spawned = init_spawned, /* startproto */
                                .spawned_arg = m,
                                .config_text = m->spec_text};
        o.sealed = sealed_is_self(); /* runflags: spawned sealed to join a pid namespace */
        /* The init inherits ignored signals and the mask: it must start from
         * the defaults (a shell can't trap a signal ignored on entry). A
         * SIGCHLD lost meanwhile is fine: the caller reaps after this. */
        int ignored[] = {SIGPIPE, SIGHUP, SIGINT};
        for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
                signal(ignored[i], SIG_DFL);
        sigset_t none, old;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, &old);
        if (m->c.runtime && m->c.runtime[0]) /* extruntime: --runtime PATH */
                r = extrt_create(m->c.runtime, m->e->rt_root, m->c.id, m->dir, con[1], &m->init,
                                 err);
        else
                r = container_create_held(&o, &m->rt_st, &m->rt_spec, err); /* startproto */
        sigprocmask(SIG_SETMASK, &old, NULL);
        for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
                signal(ignored[i], SIG_IGN);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
        m->devnull = -1;
        int ours[] = {out[1], errp[1], in[0], con[1]};
        for (size_t i = 0; i < ARRAY_SIZE(ours); i++)
                if (ours[i] >= 0)
                        close(ours[i]);
        m->out_fd = out[0];
        m->err_fd = errp[0];
        m->in_fd = in[1];
        if (m->tty) {
                int master = -1;
                if (r == 0 && recv_fd(con[0], &master) < 0)
                        r = error_msg(err, -EIO, "receive the container's pty");
                close(con[0]);
                if (r == 0) {
                        m->pty = master;
                        char size[32];
                        snprintf(size, sizeof(size), "%u %u", m->rows, m->cols);
                        resize(m, size);
                        m->out_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
                        if (m->open_stdin)
                                m->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
                }
        }
        return r;
}

/* A resize client sends 'r' and "ROWS COLS". */
static void resize(struct monitor *m, const char *text)
{
        monloop_resize(LOOP(m), text);
}

static int init_pid(struct monitor *m, pid_t *ret, struct error *err)
{
        if (m->c.runtime && m->c.runtime[0]) /* extruntime: extrt_create read its pid file */
                return *ret > 0 ? 0 : error_msg(err, -EIO, "the runtime gave no init pid");
        if (m->rt_st) { /* startproto */
                *ret = m->rt_st->pid;
                return 0;
        }
        _cleanup_close_ int rootfd = -EBADF;
        int r = state_open_root(m->e->rt_root, &rootfd, err);
        if (r < 0)
                return r;
        _cleanup_(state_freep) struct container_state *st = NULL;
        if ((r = state_load(rootfd, m->c.id, false, &st, err)) < 0)
                return r;
        *ret = st->pid;
        return 0;
}

static int setup_run(struct monitor *m, struct error *err);

/* Sets the container up and starts it. startproto: the row may say
 * "running" already when a later step fails: what finish() records is
 * then from the row as it was before. */
static int setup(struct monitor *m, struct error *err)
{
        m->running = false;
        int r = setup_run(m, err);
        if (r < 0 && m->running) {
                m->c.started = m->prev_started;
                m->c.finished = m->prev_finished;
                m->c.exit_code = m->prev_exit_code;
                m->running = false;
        }
        return r;
}

static int setup_run(struct monitor *m, struct error *err)
{
        _cleanup_json_ struct json_object *doc = NULL;
        int r = json_parse_string("container config", m->c.config, &doc, err);
        if (r < 0)
                return r;
        struct json_object *cfg, *v;
        if (json_object_object_get_ex(doc, "Config", &cfg) &&
            json_object_object_get_ex(cfg, "OpenStdin", &v))
                m->open_stdin = json_object_get_boolean(v);
        if (json_object_object_get_ex(doc, "Config", &cfg) &&
            json_object_object_get_ex(cfg, "Tty", &v))
                m->tty = json_object_get_boolean(v);
        /* Containers made before StdinOnce was recorded had it always. */
        m->stdin_once = true;
        if (json_object_object_get_ex(doc, "Config", &cfg) &&
            json_object_object_get_ex(cfg, "StdinOnce", &v))
                m->stdin_once = json_object_get_boolean(v);
        if ((r = mkdirs(m, err)) < 0 || (r = mount_root(m, err)) < 0 ||
            (r = write_bundle(m, doc, err)) < 0)
                return r;
        /* startproto: with the built-in runtime, while the init sets up (init_spawned) */
        bool ext = m->c.runtime && m->c.runtime[0];
        if (ext && (r = open_io(m, doc, err)) < 0)
                return r;
        m->doc = doc; /* startproto: for init_spawned, during create_container */
        r = create_container(m, err);
        m->doc = NULL;
        free(m->spec_text);
        m->spec_text = NULL;
        if (r < 0)
                return r;
        if ((r = init_pid(m, &m->init, err)) < 0)
                return r;
        if (!m->running) { /* an external runtime: no callback */
                if ((r = loopback_up(m->init, err)) < 0 ||
                    (r = ctr_net_attach(m->e, &m->c, doc, m->init, err)) < 0)
                        return r;
                mark_running(m);
        }
        if (m->c.runtime && m->c.runtime[0]) /* extruntime */
                return extrt_start(m->c.runtime, m->e->rt_root, m->c.id, err);
        return container_start_held(m->rt_st, m->rt_spec, err); /* startproto */
}

/* ---------------------------------------------------------------- the loop */

static void reap(struct monitor *m)
{
        monloop_reap(LOOP(m));
}

/* ---------------------------------------------------------------- bookkeeping */

static int claim(struct monitor *m, struct error *err)
{
        struct db *db = m->e->store->db;
        int r = db_begin(db, err);
        if (r < 0)
                return r;
        struct ctr row = {0};
        if ((r = ctr_get(db, m->c.id, &row, err)) < 0)
                goto fail;
        ctr_free(&m->c);
        m->c = row;
        if (m->c.owner_pid > 0 && m->c.owner_pid != getpid() &&
            proc_start_time(m->c.owner_pid) == m->c.owner_start) {
                r = error_msg(err, -EALREADY, "container %s is already %s", m->c.name,
                              strcmp(m->c.state, "running") == 0 ? "running" : "being started");
                goto fail;
        }
        m->c.owner_pid = getpid();
        m->c.owner_start = proc_start_time(getpid());
        free(m->c.error);
        m->c.error = xstrdup("");
        if ((r = ctr_update(db, &m->c, err)) < 0)
                goto fail;
        return db_commit(db, err);
fail:
        db_rollback(db);
        return r;
}

/* Writes the final state, releases, removes with --rm. */
static void finish(struct monitor *m, bool started, const char *error)
{
        struct error err = {0};
        release_held(m);                    /* startproto: the runtime's delete takes its lock */
        runflags_record_oom(m->e, m->c.id); /* runflags: before the cgroup goes */
        engine_release_ex(m->e, m->c.id, m->bridged); /* startproto */
        free(m->c.state);
        m->c.state = xstrdup(started ? "exited" : m->c.started ? "exited" : "created");
        if (started) {
                m->c.exit_code = m->status;
                m->c.finished = now_ns();
        } else {
                m->c.exit_code = 127;
        }
        free(m->c.error);
        m->c.error = xstrdup(error ? error : "");
        m->c.pid = 0;
        m->c.owner_pid = 0;
        m->c.owner_start = 0;
        /* startproto: with --rm the row goes: written only if removing fails. */
        if (m->auto_remove && engine_purge(m->e, m->c.id, &err) == 0)
                return;
        ctr_update(m->e->store->db, &m->c, &err);
}

/* --rm, and (startproto) whether it may hold network attachments. */
static bool wants_auto_remove(const struct ctr *c, bool *ret_bridged)
{
        _cleanup_json_ struct json_object *doc = NULL;
        struct error ign = {0};
        struct json_object *hc, *v;
        *ret_bridged = true;
        if (json_parse_string("config", c->config, &doc, &ign) < 0)
                return false;
        *ret_bridged = ctr_net_bridged(doc);
        return json_object_object_get_ex(doc, "HostConfig", &hc) &&
               json_object_object_get_ex(hc, "AutoRemove", &v) && json_object_get_boolean(v);
}

/* ---------------------------------------------------------------- runs and restarts (monitor2) */

/* Where the small monitor is: next to this executable (build/ or the
 * install's bin/). False when it is not there, or when this process runs
 * from a sealed copy (--pid joins: it stays as it is). */
static bool small_monitor_path(char *buf, size_t len)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0 || sealed_is_self())
                return false;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (!slash)
                return false;
        *slash = '\0';
        snprintf(buf, len, "%s/husk-monitor", exe);
        return access(buf, X_OK) == 0;
}

bool monitor_small_available(void)
{
        char exe[PATH_MAX];
        return small_monitor_path(exe, sizeof(exe));
}

/* execve's husk-monitor with the loop's state (docs/engine.md "Monitor
 * memory"): same pid, children, subreaper flag and fds. Returns only when
 * it could not; the monitor then stays as it is. */
static void go_small(struct monitor *m)
{
        char exe[PATH_MAX];
        if (!small_monitor_path(exe, sizeof(exe))) {
                m->stay_big = true;
                return;
        }
        flush_explain(m);
        /* startproto: while the container runs, other husk commands open the
         * database without rebuilding its WAL index (engine_wal_pin). */
        if (m->wal_pin < 0 && m->e->store->db)
                m->wal_pin = engine_wal_pin(m->e->store->db->path);
        char **argv = strv_push(NULL, xstrdup("husk-monitor"));
        /* --root R --runroot RR as husk's own: what finds a container's processes by root. */
        const char *words[] = {"--root", m->e->root, "--runroot", m->e->runroot, "--id", m->c.id};
        for (size_t i = 0; i < ARRAY_SIZE(words); i++)
                argv = strv_push(argv, xstrdup(words[i]));
        argv = strv_push(argv, xasprintf("delay=%lld", (long long)m->prev_delay));
        monloop_save(LOOP(m), &argv);
        /* startproto: in the CLI's memory, the CLI's database connection is
         * idle here (every statement done): the CLI goes on with it, its
         * locks its own; ours go with the exec. */
        execv(exe, argv);
        strv_free(argv);
        m->stay_big = true;
}

/* Marks the container running, serves it until its init exited and its
 * output is drained. */
static void run_once(struct monitor *m)
{
        if (!m->running) /* startproto: setup wrote it, while the init set up */
                mark_running(m);
        m->running = false;
        flush_explain(m);
        char pid[16];
        snprintf(pid, sizeof(pid), "%d", (int)m->init);
        broadcast(m, FRAME_STARTED, pid, strlen(pid));
        /* startproto: the CLI waits until we leave its memory: at once (the
         * exec lets the held state go); otherwise the init has exec'd by now. */
        if (!m->cli) {
                release_held(m);
        } else {
                go_small(m);
                release_held(m);
                /* Still here: husk-monitor could not be exec'd. The CLI
                 * can't go on while we serve from its memory: the container
                 * stops, and we record why. */
                if (m->init > 0 && !m->exited)
                        kill(m->init, SIGKILL);
        }
        reap(m);
        /* Stopped while a restart was starting it: stop it now. */
        if (m->init > 0 && !m->exited && restart_stop_requested(m->e, m->c.id))
                kill(m->init, SIGKILL);
        /* Nobody attached (run -d, or the client detached): the rest of the
         * run needs none of the big libraries, go on in husk-monitor. */
        while (monloop_run(LOOP(m), !m->stay_big) == MONLOOP_IDLE)
                go_small(m);
        monloop_wait_init(LOOP(m));
}

static bool restart_after(struct monitor *m, int64_t *prev_delay, int64_t *ret_delay)
{
        if (m->cli) /* startproto: husk-monitor failed; the CLI waits for us */
                return false;
        if (restart_stop_requested(m->e, m->c.id))
                return false;
        _cleanup_json_ struct json_object *doc = NULL;
        struct error ign = {0};
        if (json_parse_string("config", m->c.config, &doc, &ign) < 0)
                return false;
        int64_t ran_ms = (now_ns() - m->c.started) / 1000000;
        return restart_decide(doc, m->status, restart_count(m->e, m->c.id), ran_ms, prev_delay,
                              ret_delay);
}

/* Between two runs: records the exit (the row stays "running" with no pid,
 * inspect's "restarting", as docker's Running+Restarting), lets the clients
 * go, releases, waits the backoff and sets the container up again.
 * 1: it runs again; 0: stop/kill/rm asked meanwhile; < 0: setup failed. */
static int restart_round(struct monitor *m, int64_t delay_ms, struct error *err)
{
        m->c.exit_code = m->status;
        m->c.finished = now_ns();
        m->c.pid = 0;
        struct error ign = {0};
        restart_set_count(m->e, m->c.id, restart_count(m->e, m->c.id) + 1);
        ctr_update(m->e->store->db, &m->c, &ign);
        char code[16];
        snprintf(code, sizeof(code), "%d", m->status);
        broadcast(m, FRAME_EXIT, code, strlen(code));
        monloop_flush(LOOP(m), 2000);
        for (size_t i = 0; i < m->n_clients; i++)
                monloop_kill_client(&m->clients[i]);
        monloop_reap_clients(LOOP(m));
        int *fds[] = {&m->out_fd, &m->err_fd, &m->in_fd, &m->listen_fd, &m->pty};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
        log_sink_close(&m->sink);
        engine_release_ex(m->e, m->c.id, m->bridged); /* startproto */
        m->exited = false;
        m->init = 0;
        for (int64_t end = now_ms() + delay_ms; now_ms() < end;) {
                if (restart_stop_requested(m->e, m->c.id))
                        return 0;
                int64_t left = end - now_ms();
                usleep((useconds_t)(left < 50 ? (left > 0 ? left : 0) : 50) * 1000);
        }
        if (restart_stop_requested(m->e, m->c.id))
                return 0;
        int r = setup(m, err);
        return r < 0 ? r : 1;
}

/* After the first run: restarts by the policy, then the final record, the
 * release (removal with --rm) and the exit frame. The exit status is in m. */
static int serve(struct monitor *m, bool run_first, struct error *err)
{
        for (;;) {
                if (run_first)
                        run_once(m);
                run_first = true;
                int64_t delay = 0;
                if (!restart_after(m, &m->prev_delay, &delay))
                        break;
                int r = restart_round(m, delay, err);
                if (r < 0) {
                        if (m->init > 0)
                                kill(m->init, SIGKILL);
                        reap(m);
                        finish(m, false, err->msg);
                        return r;
                }
                if (r == 0)
                        break; /* stopped meanwhile */
        }
        finish(m, true, NULL);
        flush_explain(m);
        char code[16];
        snprintf(code, sizeof(code), "%d", m->status);
        broadcast(m, FRAME_EXIT, code, strlen(code));
        return 0;
}

static void monitor_free(struct monitor *m)
{
        release_held(m); /* startproto */
        free(m->spec_text);
        monloop_flush(LOOP(m), 2000);
        monloop_close(LOOP(m));
        if (m->explain_rd >= 0)
                close(m->explain_rd);
        free(m->dir);
        free(m->run);
        free(m->rootfs);
        ctr_free(&m->c);
}

static void monitor_signals(void)
{
        signal(SIGPIPE, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        /* Orphans of the container come back to us to be reaped. */
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* What a monitor knows of its container once it holds it: --rm, its dirs. */
static void monitor_paths(struct monitor *m, struct engine *e, const char *id)
{
        m->auto_remove = wants_auto_remove(&m->c, &m->bridged);
        m->dir = engine_ctr_dir(e, id);
        m->run = engine_run_dir(e, id);
        m->rootfs = xasprintf("%s/rootfs", m->dir);
}

int monitor_main(const char *root, const char *runroot, const char *id, int sock, unsigned rows,
                 unsigned cols, struct engine *cli)
{
        struct monitor m = {MONLOOP_INIT, .explain_rd = -1, .cli = cli, .devnull = -1};
        fcntl(sock, F_SETFD, FD_CLOEXEC);
        monitor_signals();
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        m.sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
        monloop_add_client(LOOP(&m), sock, true);
        int ex[2];
        if (explain_on() && pipe2(ex, O_CLOEXEC | O_NONBLOCK) == 0) {
                /* Not fd 2, which the init inherits as its stderr. Non-blocking both
                 * ways: a full pipe drops lines, never stalls the monitor. */
                m.explain_rd = ex[0];
                explain_enable(ex[1]);
        }
        struct error err = {0};
        /* startproto: in the CLI's memory, the CLI's engine (store, database
         * connection: the CLI waits meanwhile, as if we were a call of its). */
        _cleanup_engine_ struct engine *own = NULL;
        struct engine *e = cli;
        int r = cli ? 0 : engine_open(root, runroot, &own, &err);
        if (!cli)
                e = own;
        if (r == 0) {
                m.e = e;
                m.c.id = xstrdup(id);
                r = claim(&m, &err);
        }
        if (r == 0)
                restart_reset(e, id); /* monitor2: a fresh start */
        if (r < 0) {
                _cleanup_free_ char *msg = xasprintf("%d %s", r, err.msg);
                broadcast(&m, FRAME_ERROR, msg, strlen(msg));
                monitor_free(&m);
                return 1;
        }
        monitor_paths(&m, e, id);
        m.rows = rows;
        m.cols = cols;
        r = setup(&m, &err);
        if (r < 0) {
                if (m.init > 0)
                        kill(m.init, SIGKILL);
                reap(&m);
                finish(&m, false, err.msg);
                flush_explain(&m);
                _cleanup_free_ char *msg = xasprintf("%d %s", r, err.msg);
                broadcast(&m, FRAME_ERROR, msg, strlen(msg));
        } else {
                r = serve(&m, true, &err);
        }
        monitor_free(&m);
        return r < 0 ? 1 : 0;
}

int monitor_resume(const char *root, const char *runroot, const char *id, int argc, char **argv)
{
        struct monitor m = {MONLOOP_INIT, .explain_rd = -1, .devnull = -1};
        struct error err = {0};
        monitor_signals();
        int r = 0;
        for (int i = 0; i < argc && r >= 0; i++) {
                long long delay;
                int end = 0;
                if ((r = monloop_load_word(LOOP(&m), argv[i], &err)) != 0)
                        continue;
                if (sscanf(argv[i], "delay=%lld%n", &delay, &end) == 1 &&
                    (size_t)end == strlen(argv[i]) && delay >= 0)
                        m.prev_delay = delay;
                else
                        r = error_msg(&err, -EINVAL, "__monitor-resume: unknown argument '%s'",
                                      argv[i]);
        }
        if (r >= 0 && (r = monloop_load_check(LOOP(&m), &err)) == 0 && !m.exited)
                r = error_msg(&err, -EINVAL, "__monitor-resume: no exit status given");
        _cleanup_engine_ struct engine *e = NULL;
        if (r >= 0 && (r = engine_open(root, runroot, &e, &err)) == 0) {
                m.e = e;
                r = ctr_get(e->store->db, id, &m.c, &err);
        }
        /* Only the monitor that holds the container goes on with it. */
        if (r >= 0 && (m.c.owner_pid != getpid() || m.c.owner_start != proc_start_time(getpid())))
                r = error_msg(&err, -EPERM, "__monitor-resume: container %s is not held by %d", id,
                              (int)getpid());
        if (r < 0) {
                fprintf(stderr, "husk __monitor-resume: %s\n", err.msg);
                monitor_free(&m);
                return 1;
        }
        monitor_paths(&m, e, id);
        r = serve(&m, false, &err);
        monitor_free(&m);
        return r < 0 ? 1 : 0;
}
