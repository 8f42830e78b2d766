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
#include "engine/logdrv.h"
#include "engine/restart.h"
#include "engine/rootless.h" /* rootless */
#include "image/image.h"
#include "image/snapshot.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "runtime/terminal.h"

#define MAX_CLIENTS 64

struct client {
        int fd;
        bool hello_done, stdin_client, reading;
        bool output; /* gets frames: said hello as 'i' or 'n' (or is the first client) */
        bool dead;   /* closed; removed from the table at the top of the loop */
};

struct monitor {
        struct engine *e;
        struct ctr c;
        char *dir, *run, *rootfs;
        int out_fd, err_fd, in_fd; /* our ends of the container's stdio, -1 when closed */
        int listen_fd, sig_fd;
        bool open_stdin, tty, auto_remove;
        int pty;             /* the pty master with Tty, -1 without */
        int explain_rd;      /* with --explain: read end of the explanations, -1 without */
        unsigned rows, cols; /* its initial size, 0 when not known */
        pid_t init;
        int status;
        bool exited;
        struct client clients[MAX_CLIENTS];
        size_t n_clients;
        struct log_sink sink; /* monitor2: the log driver's output */
};

static void broadcast(struct monitor *m, char type, const void *buf, size_t len);

/* Sends what was explained so far to the clients, as stderr (not to the log). */
static void flush_explain(struct monitor *m)
{
        char buf[65536];
        ssize_t n;
        while (m->explain_rd >= 0 && (n = read(m->explain_rd, buf, sizeof(buf))) > 0)
                broadcast(m, FRAME_STDERR, buf, (size_t)n);
}

static void add_client(struct monitor *m, int fd, bool output)
{
        if (m->n_clients >= MAX_CLIENTS) {
                close(fd);
                return;
        }
        m->clients[m->n_clients++] = (struct client){.fd = fd, .reading = true, .output = output};
}

/* Closes a client. It stays in the table (indexes in the loop stay valid)
 * until reap_clients() at the top of the next round. */
static void kill_client(struct client *cl)
{
        if (cl->dead)
                return;
        close(cl->fd);
        cl->fd = -1;
        cl->dead = true;
}

static void reap_clients(struct monitor *m)
{
        size_t o = 0;
        for (size_t i = 0; i < m->n_clients; i++)
                if (!m->clients[i].dead)
                        m->clients[o++] = m->clients[i];
        m->n_clients = o;
}

/* Frames go to clients that said hello (a resize client never gets any, and
 * one that connected and left at once is not written to before its message
 * is read); the exit frame to everyone still there. */
static void broadcast(struct monitor *m, char type, const void *buf, size_t len)
{
        for (size_t i = 0; i < m->n_clients; i++) {
                struct client *cl = &m->clients[i];
                if (cl->dead || (!cl->output && type != FRAME_EXIT))
                        continue;
                if (frame_write(cl->fd, type, buf, len) < 0)
                        kill_client(cl);
        }
}

/* Reads what the container wrote on one stream; false on EOF. */
static bool pump(struct monitor *m, int *fd, bool is_err)
{
        char buf[65536];
        ssize_t n = read(*fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return true;
        if (n <= 0) {
                close(*fd);
                *fd = -1;
                return false;
        }
        log_sink_write(&m->sink, is_err, buf, (size_t)n);
        broadcast(m, is_err ? FRAME_STDERR : FRAME_STDOUT, buf, (size_t)n);
        return true;
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
        int r = image_get(m->e->store, m->c.image_id, &img, err);
        if (r < 0)
                return error_wrap(err, r, "the image of container %s", m->c.name);
        _cleanup_free_ char *upper = xasprintf("%s/upper", m->dir);
        _cleanup_free_ char *work = xasprintf("%s/work", m->dir);
        /* A previous monitor killed with it mounted: start from a clean mount point. */
        umount2(m->rootfs, MNT_DETACH);
        return snapshot_mount(m->e->store, img.layers, upper, work, m->rootfs, NULL, err);
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
        if (r == 0)
                r = write_text(m->dir, "hosts", hosts, err);
        if (r < 0)
                return r;
        _cleanup_close_ int rootfd = open(m->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (rootfd < 0)
                return error_sys(err, -errno, "open '%s'", m->rootfs);
        _cleanup_json_ struct json_object *spec = NULL;
        if ((r = ctr_oci_spec(doc, m->c.id, rootfd, m->rootfs, m->dir, &spec, err)) < 0 ||
            (r = ctr_net_spec(m->e, doc, m->c.id, m->dir, spec, err)) < 0)
                return r;
        struct json_object *hc; /* runflags: security, devices, limits, namespaces */
        if (json_object_object_get_ex(doc, "HostConfig", &hc) &&
            (r = runflags_oci(m->e, hc, rootfd, spec, err)) < 0)
                return r;
        return write_text(m->dir, "config.json", json_pretty(spec), err);
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
        dup2(in[0] >= 0 ? in[0] : null, 0);
        dup2(out[1] >= 0 ? out[1] : null, 1);
        dup2(errp[1] >= 0 ? errp[1] : null, 2);
        struct create_opts o = {
            .root = m->e->rt_root, .id = m->c.id, .bundle = m->dir, .console_fd = con[1]};
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
        r = container_create(&o, err);
        sigprocmask(SIG_SETMASK, &old, NULL);
        for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
                signal(ignored[i], SIG_IGN);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
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
        unsigned rows = 0, cols = 0;
        if (m->pty < 0 || sscanf(text, "%u %u", &rows, &cols) != 2 || !rows || !cols ||
            rows > 10000 || cols > 10000)
                return;
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        ioctl(m->pty, TIOCSWINSZ, &ws);
}

static int init_pid(struct monitor *m, pid_t *ret, struct error *err)
{
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

static int setup(struct monitor *m, struct error *err)
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
        if ((r = mkdirs(m, err)) < 0 || (r = mount_root(m, err)) < 0 ||
            (r = write_bundle(m, doc, err)) < 0 || (r = listen_attach(m, err)) < 0)
                return r;
        _cleanup_free_ char *log = engine_log_path(m->e, m->c.id);
        struct log_cfg lc;
        logdrv_get_config(doc, &lc);
        if ((r = log_sink_open(&m->sink, log, &lc, err)) < 0)
                return r;
        if ((r = create_container(m, err)) < 0)
                return r;
        if ((r = init_pid(m, &m->init, err)) < 0 || (r = loopback_up(m->init, err)) < 0 ||
            (r = ctr_net_attach(m->e, &m->c, doc, m->init, err)) < 0)
                return r;
        return container_start(m->e->rt_root, m->c.id, err);
}

/* ---------------------------------------------------------------- the loop */

static void client_input(struct monitor *m, size_t i)
{
        struct client *cl = &m->clients[i];
        char buf[65536];
        ssize_t n = read(cl->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) {
                cl->reading = false;
                /* A terminal has no EOF (^D is a byte): a client leaving it
                 * (detach keys, attach ended) keeps it open for the next. */
                if (cl->stdin_client && m->in_fd >= 0 && !m->tty) {
                        close(m->in_fd);
                        m->in_fd = -1;
                }
                return;
        }
        const char *p = buf;
        size_t len = (size_t)n;
        if (!cl->hello_done) {
                cl->hello_done = true;
                cl->stdin_client = p[0] == 'i';
                if (p[0] == 'r') {
                        buf[(size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1] = '\0';
                        resize(m, p + 1);
                        kill_client(cl);
                        return;
                }
                cl->output = true;
                p++;
                len--;
        }
        if (len && cl->stdin_client && m->in_fd >= 0 && write_all(m->in_fd, p, len) < 0) {
                close(m->in_fd);
                m->in_fd = -1;
        }
}

static void reap(struct monitor *m)
{
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p == m->init) {
                        m->status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
                        m->exited = true;
                }
        }
}

static void loop(struct monitor *m)
{
        /* Until the init exits; then only the stdio pipes, until EOF (everything
         * else in its pid namespace is killed with it) or 2 s of silence. */
        int64_t drain_until = m->exited ? now_ms() + 2000 : 0;
        for (;;) {
                reap_clients(m);
                struct pollfd p[4 + MAX_CLIENTS];
                size_t n = 0, ci[MAX_CLIENTS];
                int fixed[4] = {m->sig_fd, m->out_fd, m->err_fd, m->listen_fd};
                for (int i = 0; i < 4; i++)
                        p[n++] =
                            (struct pollfd){.fd = m->exited && (i == 0 || i == 3) ? -1 : fixed[i],
                                            .events = POLLIN};
                size_t nc = 0;
                for (size_t i = 0; i < m->n_clients; i++)
                        if (m->clients[i].reading && !m->clients[i].dead && !m->exited) {
                                ci[nc++] = i;
                                p[n++] = (struct pollfd){.fd = m->clients[i].fd, .events = POLLIN};
                        }
                if (m->exited && m->out_fd < 0 && m->err_fd < 0)
                        return;
                int timeout = -1;
                if (m->exited) {
                        int64_t left = drain_until - now_ms();
                        if (left <= 0)
                                return;
                        timeout = (int)left;
                }
                int k = poll(p, n, timeout);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 && m->exited)
                        return;
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si))
                                ;
                        reap(m);
                        if (m->exited)
                                drain_until = now_ms() + 2000;
                }
                /* Clients first: a message (stdin, resize) is read before output
                 * could find its sender gone. Killed clients keep their index. */
                for (size_t j = 0; j < nc; j++)
                        if (!m->clients[ci[j]].dead &&
                            (p[4 + j].revents & (POLLIN | POLLHUP | POLLERR)))
                                client_input(m, ci[j]);
                if (p[3].revents & POLLIN) {
                        int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                        if (fd >= 0)
                                add_client(m, fd, false);
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
                        pump(m, &m->out_fd, false);
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                        pump(m, &m->err_fd, true);
        }
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
        runflags_record_oom(m->e, m->c.id); /* runflags: before the cgroup goes */
        engine_release(m->e, m->c.id);
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
        ctr_update(m->e->store->db, &m->c, &err);
        if (m->auto_remove)
                engine_purge(m->e, m->c.id, &err);
}

static bool wants_auto_remove(const struct ctr *c)
{
        _cleanup_json_ struct json_object *doc = NULL;
        struct error ign = {0};
        struct json_object *hc, *v;
        return json_parse_string("config", c->config, &doc, &ign) == 0 &&
               json_object_object_get_ex(doc, "HostConfig", &hc) &&
               json_object_object_get_ex(hc, "AutoRemove", &v) && json_object_get_boolean(v);
}

/* ---------------------------------------------------------------- runs and restarts (monitor2) */

/* Marks the container running, serves it until its init exited and its
 * output is drained. */
static void run_once(struct monitor *m)
{
        m->c.pid = m->init;
        m->c.started = now_ns();
        m->c.finished = 0;
        m->c.exit_code = 0;
        free(m->c.state);
        m->c.state = xstrdup("running");
        struct error ign = {0};
        ctr_update(m->e->store->db, &m->c, &ign);
        flush_explain(m);
        char pid[16];
        snprintf(pid, sizeof(pid), "%d", (int)m->init);
        broadcast(m, FRAME_STARTED, pid, strlen(pid));
        reap(m);
        /* Stopped while a restart was starting it: stop it now. */
        if (m->init > 0 && !m->exited && restart_stop_requested(m->e, m->c.id))
                kill(m->init, SIGKILL);
        loop(m);
        while (!m->exited) {
                /* Drained while the init lives on (closed its stdio): wait for it. */
                struct pollfd p = {.fd = m->sig_fd, .events = POLLIN};
                poll(&p, 1, -1);
                struct signalfd_siginfo si;
                while (read(m->sig_fd, &si, sizeof(si)) == sizeof(si))
                        ;
                reap(m);
        }
}

static bool restart_after(struct monitor *m, int64_t *prev_delay, int64_t *ret_delay)
{
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
        for (size_t i = 0; i < m->n_clients; i++)
                kill_client(&m->clients[i]);
        reap_clients(m);
        int *fds[] = {&m->out_fd, &m->err_fd, &m->in_fd, &m->listen_fd, &m->pty};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
        log_sink_close(&m->sink);
        engine_release(m->e, m->c.id);
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

int monitor_main(const char *root, const char *runroot, const char *id, int sock, unsigned rows,
                 unsigned cols)
{
        struct monitor m = {.out_fd = -1,
                            .err_fd = -1,
                            .in_fd = -1,
                            .listen_fd = -1,
                            .sig_fd = -1,
                            .pty = -1,
                            .explain_rd = -1,
                            .sink = {.fd = -1}};
        fcntl(sock, F_SETFD, FD_CLOEXEC);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        /* Orphans of the container come back to us to be reaped. */
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        m.sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
        add_client(&m, sock, true);
        int ex[2];
        if (explain_on() && pipe2(ex, O_CLOEXEC | O_NONBLOCK) == 0) {
                /* Not fd 2, which the init inherits as its stderr. Non-blocking both
                 * ways: a full pipe drops lines, never stalls the monitor. */
                m.explain_rd = ex[0];
                explain_enable(ex[1]);
        }
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        int r = engine_open(root, runroot, &e, &err);
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
                ctr_free(&m.c);
                return 1;
        }
        m.auto_remove = wants_auto_remove(&m.c);
        m.dir = engine_ctr_dir(e, id);
        m.run = engine_run_dir(e, id);
        m.rootfs = xasprintf("%s/rootfs", m.dir);
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
                /* monitor2: one round per run; the restart policy decides whether another follows.
                 */
                int64_t prev_delay = 0;
                for (;;) {
                        run_once(&m);
                        int64_t delay = 0;
                        if (!restart_after(&m, &prev_delay, &delay))
                                break;
                        r = restart_round(&m, delay, &err);
                        if (r < 0) {
                                if (m.init > 0)
                                        kill(m.init, SIGKILL);
                                reap(&m);
                                finish(&m, false, err.msg);
                                break;
                        }
                        if (r == 0)
                                break; /* stopped meanwhile */
                }
                if (r >= 0) {
                        finish(&m, true, NULL);
                        flush_explain(&m);
                        char code[16];
                        snprintf(code, sizeof(code), "%d", m.status);
                        broadcast(&m, FRAME_EXIT, code, strlen(code));
                }
        }
        for (size_t i = 0; i < m.n_clients; i++)
                kill_client(&m.clients[i]);
        int fds[] = {m.out_fd, m.err_fd, m.in_fd, m.listen_fd, m.sig_fd, m.pty, m.explain_rd};
        log_sink_close(&m.sink);
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(m.dir);
        free(m.run);
        free(m.rootfs);
        ctr_free(&m.c);
        return r < 0 ? 1 : 0;
}
