/* The monitor's loop, shared by `husk __monitor` and husk-monitor. See monloop.h. */
#include "engine/monloop.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "engine/attach.h"

void monloop_add_client(struct monloop *l, int fd, bool output)
{
        if (l->n_clients >= MON_MAX_CLIENTS) {
                close(fd);
                return;
        }
        l->clients[l->n_clients++] =
            (struct mon_client){.fd = fd, .reading = true, .output = output, .starter = output};
}

void monloop_kill_client(struct mon_client *cl)
{
        if (cl->dead)
                return;
        close(cl->fd);
        cl->fd = -1;
        cl->dead = true;
        free(cl->pend);
        cl->pend = NULL;
        cl->pend_len = 0;
}

void monloop_reap_clients(struct monloop *l)
{
        size_t o = 0;
        for (size_t i = 0; i < l->n_clients; i++)
                if (!l->clients[i].dead)
                        l->clients[o++] = l->clients[i];
        l->n_clients = o;
}

/* Writes what the socket takes now, never blocking; 0, or negative errno
 * when the client is gone. */
static ssize_t send_now(int fd, const struct iovec *iov, size_t n_iov)
{
        struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n_iov};
        ssize_t n;
        while ((n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return errno == EAGAIN ? 0 : -errno;
        return n;
}

static void queue(struct mon_client *cl, const char *p, size_t len)
{
        cl->pend = xrealloc(cl->pend, cl->pend_len + len);
        memcpy(cl->pend + cl->pend_len, p, len);
        cl->pend_len += len;
}

static void client_flush(struct mon_client *cl);

/* One frame to one client: what the socket does not take now is queued;
 * a client more than MON_CLIENT_BUF_MAX behind is disconnected. */
static void client_send(struct mon_client *cl, char type, const void *buf, size_t len)
{
        unsigned char h[5] = {
            (unsigned char)type, (unsigned char)(len & 0xff), (unsigned char)((len >> 8) & 0xff),
            (unsigned char)((len >> 16) & 0xff), (unsigned char)((len >> 24) & 0xff)};
        size_t total = sizeof(h) + len, done = 0;
        client_flush(cl); /* what it took meanwhile makes room */
        if (cl->dead)
                return;
        if (cl->pend_len == 0) {
                struct iovec iov[2] = {{h, sizeof(h)}, {(void *)buf, len}};
                ssize_t n = send_now(cl->fd, iov, len ? 2 : 1);
                if (n < 0) {
                        monloop_kill_client(cl);
                        return;
                }
                done = (size_t)n;
        }
        if (done == total)
                return;
        if (cl->pend_len + total - done > MON_CLIENT_BUF_MAX) {
                /* Too slow: it must not hold the container up. */
                if (!cl->starter)
                        monloop_kill_client(cl);
                if (!cl->starter || type == FRAME_STDOUT || type == FRAME_STDERR)
                        return;
        }
        if (done < sizeof(h))
                queue(cl, (char *)h + done, sizeof(h) - done);
        size_t from = done > sizeof(h) ? done - sizeof(h) : 0;
        queue(cl, (const char *)buf + from, len - from);
}

/* Writes queued output the socket takes now. */
static void client_flush(struct mon_client *cl)
{
        if (cl->dead || cl->pend_len == 0)
                return;
        struct iovec iov = {cl->pend, cl->pend_len};
        ssize_t n = send_now(cl->fd, &iov, 1);
        if (n < 0) {
                monloop_kill_client(cl);
                return;
        }
        memmove(cl->pend, cl->pend + n, cl->pend_len - (size_t)n);
        cl->pend_len -= (size_t)n;
}

void monloop_broadcast(struct monloop *l, char type, const void *buf, size_t len)
{
        for (size_t i = 0; i < l->n_clients; i++) {
                struct mon_client *cl = &l->clients[i];
                if (cl->dead || (!cl->output && type != FRAME_EXIT))
                        continue;
                client_send(cl, type, buf, len);
        }
}

void monloop_flush(struct monloop *l, int timeout_ms)
{
        int64_t end = now_ms() + timeout_ms;
        for (;;) {
                struct pollfd p[MON_MAX_CLIENTS];
                size_t idx[MON_MAX_CLIENTS], n = 0;
                bool late = now_ms() >= end;
                for (size_t i = 0; i < l->n_clients; i++) {
                        struct mon_client *cl = &l->clients[i];
                        if (cl->dead || !cl->pend_len)
                                continue;
                        if (late && !cl->starter) {
                                monloop_kill_client(cl);
                                continue;
                        }
                        idx[n] = i;
                        p[n++] = (struct pollfd){.fd = cl->fd, .events = POLLOUT};
                }
                if (n == 0)
                        return;
                /* The CLI that started the container is waited for as long as
                 * it is there: it must get the exit frame. */
                int64_t left = end - now_ms();
                if (poll(p, n, late ? -1 : (int)(left > 0 ? left : 0)) < 0 && errno != EINTR)
                        return;
                for (size_t j = 0; j < n; j++)
                        if (p[j].revents)
                                client_flush(&l->clients[idx[j]]);
        }
}

/* Reads what the container wrote on one stream; false on EOF. */
static bool pump(struct monloop *l, int *fd, bool is_err)
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
        log_sink_write(&l->sink, is_err, buf, (size_t)n);
        monloop_broadcast(l, is_err ? FRAME_STDERR : FRAME_STDOUT, buf, (size_t)n);
        return true;
}

void monloop_resize(struct monloop *l, const char *text)
{
        unsigned rows = 0, cols = 0;
        if (l->pty < 0 || sscanf(text, "%u %u", &rows, &cols) != 2 || !rows || !cols ||
            rows > 10000 || cols > 10000)
                return;
        struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
        ioctl(l->pty, TIOCSWINSZ, &ws);
}

static void client_input(struct monloop *l, size_t i)
{
        struct mon_client *cl = &l->clients[i];
        char buf[65536];
        ssize_t n = read(cl->fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n <= 0) {
                cl->reading = false;
                /* A terminal has no EOF (^D is a byte): a client leaving it
                 * (detach keys, attach ended) keeps it open for the next. */
                if (cl->stdin_client && l->stdin_once && l->in_fd >= 0 && !l->tty) {
                        close(l->in_fd);
                        l->in_fd = -1;
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
                        monloop_resize(l, p + 1);
                        monloop_kill_client(cl);
                        return;
                }
                cl->output = true;
                p++;
                len--;
        }
        if (len && cl->stdin_client && l->in_fd >= 0 && write_all(l->in_fd, p, len) < 0) {
                close(l->in_fd);
                l->in_fd = -1;
        }
}

void monloop_reap(struct monloop *l)
{
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p == l->init) {
                        l->status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
                        l->exited = true;
                }
        }
}

static bool idle(const struct monloop *l)
{
        for (size_t i = 0; i < l->n_clients; i++)
                if (!l->clients[i].dead && (l->clients[i].reading || l->clients[i].pend_len))
                        return false;
        return true;
}

static void drain_signals(struct monloop *l)
{
        struct signalfd_siginfo si;
        while (read(l->sig_fd, &si, sizeof(si)) == sizeof(si))
                ;
}

enum monloop_end monloop_run(struct monloop *l, bool stop_when_idle)
{
        /* Until the init exits; then only the stdio pipes, until EOF (everything
         * else in its pid namespace is killed with it) or 2 s of silence. */
        int64_t drain_until = l->exited ? now_ms() + 2000 : 0;
        for (;;) {
                monloop_reap_clients(l);
                if (stop_when_idle && !l->exited && idle(l))
                        return MONLOOP_IDLE;
                struct pollfd p[4 + MON_MAX_CLIENTS];
                size_t n = 0, ci[MON_MAX_CLIENTS];
                int fixed[4] = {l->sig_fd, l->out_fd, l->err_fd, l->listen_fd};
                for (int i = 0; i < 4; i++)
                        p[n++] =
                            (struct pollfd){.fd = l->exited && (i == 0 || i == 3) ? -1 : fixed[i],
                                            .events = POLLIN};
                size_t nc = 0;
                for (size_t i = 0; i < l->n_clients; i++) {
                        struct mon_client *cl = &l->clients[i];
                        short ev = (short)((cl->reading && !l->exited ? POLLIN : 0) |
                                           (cl->pend_len ? POLLOUT : 0));
                        if (ev) {
                                ci[nc++] = i;
                                p[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
                        }
                }
                if (l->exited && l->out_fd < 0 && l->err_fd < 0)
                        return MONLOOP_DRAINED;
                int timeout = -1;
                if (l->exited) {
                        int64_t left = drain_until - now_ms();
                        if (left <= 0)
                                return MONLOOP_DRAINED;
                        timeout = (int)left;
                }
                int k = poll(p, n, timeout);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0 && l->exited)
                        return MONLOOP_DRAINED;
                if (p[0].revents & POLLIN) {
                        drain_signals(l);
                        monloop_reap(l);
                        if (l->exited)
                                drain_until = now_ms() + 2000;
                }
                /* Clients first: a message (stdin, resize) is read before output
                 * could find its sender gone. Killed clients keep their index. */
                for (size_t j = 0; j < nc; j++) {
                        struct mon_client *cl = &l->clients[ci[j]];
                        short re = p[4 + j].revents;
                        if (!cl->dead && cl->reading && (re & (POLLIN | POLLHUP | POLLERR)))
                                client_input(l, ci[j]);
                        if (!cl->dead && cl->pend_len && (re & (POLLOUT | POLLHUP | POLLERR)))
                                client_flush(cl);
                }
                if (p[3].revents & POLLIN) {
                        int fd = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                        if (fd >= 0)
                                monloop_add_client(l, fd, false);
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
                        pump(l, &l->out_fd, false);
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                        pump(l, &l->err_fd, true);
        }
}

void monloop_wait_init(struct monloop *l)
{
        while (!l->exited) {
                /* Drained while the init lives on (closed its stdio): wait for it. */
                struct pollfd p = {.fd = l->sig_fd, .events = POLLIN};
                poll(&p, 1, -1);
                drain_signals(l);
                monloop_reap(l);
        }
}

/* ---------------------------------------------------------------- across execve */

static char **push(char **argv, char *word)
{
        return strv_push(argv, word);
}

/* close_range(2) by number: musl (husk-monitor's libc) has no wrapper. */
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#define MON_CLOSE_RANGE_CLOEXEC (1U << 2)

static void keep(int fd)
{
        if (fd >= 0)
                fcntl(fd, F_SETFD, 0);
}

void monloop_save(struct monloop *l, char ***argv)
{
        char **a = *argv;
        /* Every fd this process holds goes at execve but the ones named here. */
        syscall(SYS_close_range, 3U, ~0U, MON_CLOSE_RANGE_CLOEXEC);
        struct {
                const char *key;
                int fd;
        } fds[] = {{"out", l->out_fd},       {"err", l->err_fd},    {"in", l->in_fd},
                   {"listen", l->listen_fd}, {"sig", l->sig_fd},    {"pty", l->pty},
                   {"log", l->sink.fd},      {"walpin", l->wal_pin}};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
                a = push(a, xasprintf("%s=%d", fds[i].key, fds[i].fd));
                keep(fds[i].fd);
        }
        a = push(a, xasprintf("tty=%d", l->tty));
        a = push(a, xasprintf("stdinonce=%d", l->stdin_once));
        a = push(a, xasprintf("init=%d", (int)l->init));
        if (l->exited)
                a = push(a, xasprintf("status=%d", l->status));
        a = push(a, xasprintf("logpath=%s", l->sink.path ? l->sink.path : ""));
        a = push(a, xasprintf("logdriver=%s", l->sink.cfg.driver));
        a = push(a, xasprintf("logmax=%lld/%d/%lld", (long long)l->sink.cfg.max_size,
                              l->sink.cfg.max_file, (long long)l->sink.size));
        for (size_t i = 0; i < l->n_clients; i++) {
                struct mon_client *cl = &l->clients[i];
                if (cl->dead)
                        continue;
                /* Flags: h said hello, i forwards stdin, r still sends, o gets
                 * output, s started the container. */
                a = push(a, xasprintf("client=%d:%s%s%s%s%s", cl->fd, cl->hello_done ? "h" : "",
                                      cl->stdin_client ? "i" : "", cl->reading ? "r" : "",
                                      cl->output ? "o" : "", cl->starter ? "s" : ""));
                keep(cl->fd);
        }
        *argv = a;
}

static int load_int(const char *key, const char *v, int min, int *ret, struct error *err)
{
        int64_t n;
        if (parse_i64(v, &n) < 0 || n < min || n > INT32_MAX)
                return error_msg(err, -EINVAL, "monitor state: bad %s '%s'", key, v);
        *ret = (int)n;
        return 1;
}

static int load_client(struct monloop *l, const char *v, struct error *err)
{
        char *colon = strchr(v, ':');
        int fd = -1;
        _cleanup_free_ char *num = colon ? xstrndup(v, (size_t)(colon - v)) : NULL;
        if (!num || load_int("client", num, 0, &fd, err) < 0)
                return error_msg(err, -EINVAL, "monitor state: bad client '%s'", v);
        if (fcntl(fd, F_GETFD) < 0)
                return error_msg(err, -EBADF, "monitor state: client fd %d is not open", fd);
        if (l->n_clients >= MON_MAX_CLIENTS)
                return error_msg(err, -E2BIG, "monitor state: more than %d clients",
                                 MON_MAX_CLIENTS);
        const char *f = colon + 1;
        if (strspn(f, "hiros") != strlen(f))
                return error_msg(err, -EINVAL, "monitor state: bad client flags '%s'", f);
        l->clients[l->n_clients++] = (struct mon_client){.fd = fd,
                                                         .hello_done = strchr(f, 'h'),
                                                         .stdin_client = strchr(f, 'i'),
                                                         .reading = strchr(f, 'r'),
                                                         .output = strchr(f, 'o'),
                                                         .starter = strchr(f, 's')};
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        return 1;
}

int monloop_load_word(struct monloop *l, const char *word, struct error *err)
{
        const char *eq = strchr(word, '=');
        if (!eq)
                return 0;
        size_t kl = (size_t)(eq - word);
        const char *v = eq + 1;
#define KEY(k) (kl == strlen(k) && strncmp(word, k, kl) == 0)
        struct {
                const char *key;
                int *fd;
        } fds[] = {{"out", &l->out_fd},       {"err", &l->err_fd},    {"in", &l->in_fd},
                   {"listen", &l->listen_fd}, {"sig", &l->sig_fd},    {"pty", &l->pty},
                   {"log", &l->sink.fd},      {"walpin", &l->wal_pin}};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (KEY(fds[i].key)) {
                        int r = load_int(fds[i].key, v, -1, fds[i].fd, err);
                        if (r < 0)
                                return r;
                        if (*fds[i].fd >= 0 && fcntl(*fds[i].fd, F_SETFD, FD_CLOEXEC) < 0)
                                return error_msg(err, -EBADF, "monitor state: %s fd %d is not open",
                                                 fds[i].key, *fds[i].fd);
                        return 1;
                }
        int n = 0, r;
        if (KEY("tty")) {
                r = load_int("tty", v, 0, &n, err);
                l->tty = n;
                return r;
        }
        if (KEY("stdinonce")) {
                r = load_int("stdinonce", v, 0, &n, err);
                l->stdin_once = n;
                return r;
        }
        if (KEY("init")) {
                r = load_int("init", v, 1, &n, err);
                l->init = n;
                return r;
        }
        if (KEY("status")) {
                r = load_int("status", v, 0, &l->status, err);
                l->exited = r > 0;
                return r;
        }
        if (KEY("logpath")) {
                free(l->sink.path);
                l->sink.path = xstrdup(v);
                return 1;
        }
        if (KEY("logdriver")) {
                if (strlen(v) >= sizeof(l->sink.cfg.driver))
                        return error_msg(err, -EINVAL, "monitor state: bad log driver '%s'", v);
                snprintf(l->sink.cfg.driver, sizeof(l->sink.cfg.driver), "%s", v);
                return 1;
        }
        if (KEY("logmax")) {
                long long size, cur;
                int files, end = 0;
                if (sscanf(v, "%lld/%d/%lld%n", &size, &files, &cur, &end) != 3 ||
                    (size_t)end != strlen(v) || size < 0 || files < 1 || cur < 0)
                        return error_msg(err, -EINVAL, "monitor state: bad logmax '%s'", v);
                l->sink.cfg.max_size = size;
                l->sink.cfg.max_file = files;
                l->sink.size = cur;
                return 1;
        }
        if (KEY("client"))
                return load_client(l, v, err);
#undef KEY
        return 0;
}

int monloop_load_check(const struct monloop *l, struct error *err)
{
        if (l->init <= 0 || l->sig_fd < 0)
                return error_msg(err, -EINVAL, "monitor state: no init pid or signal fd given");
        if (!l->sink.cfg.driver[0] || l->sink.cfg.max_file < 1)
                return error_msg(err, -EINVAL, "monitor state: no log driver given");
        return 0;
}

void monloop_close(struct monloop *l)
{
        for (size_t i = 0; i < l->n_clients; i++)
                monloop_kill_client(&l->clients[i]);
        monloop_reap_clients(l);
        int *fds[] = {&l->out_fd, &l->err_fd, &l->in_fd,  &l->listen_fd,
                      &l->sig_fd, &l->pty,    &l->wal_pin};
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (*fds[i] >= 0) {
                        close(*fds[i]);
                        *fds[i] = -1;
                }
        log_sink_close(&l->sink);
}
