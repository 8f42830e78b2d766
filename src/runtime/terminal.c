#include "runtime/terminal.h"
#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"

int console_socket_connect(const char *path, int *ret_fd, struct error *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return error_msg(err, -ENAMETOOLONG, "console socket path '%s' is too long", path);
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return error_sys(err, -errno, "console socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return error_sys(err, -errno, "connect to console socket '%s'", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int send_fd(int sock, int fd, const char *name)
{
        char cbuf[CMSG_SPACE(sizeof(int))];
        memset(cbuf, 0, sizeof(cbuf));
        struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
        struct msghdr m = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

int recv_fd(int sock, int *ret_fd)
{
        char name[256];
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
        struct msghdr m = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        ssize_t n;
        while ((n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0)
                if (errno != EINTR)
                        return -errno;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        if (n == 0 || !c || c->cmsg_type != SCM_RIGHTS)
                return -EBADMSG;
        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return 0;
}

/* Binds the pty slave onto /dev/console (rootfs_console does the mount). */
static int bind_console(int slave, struct error *err)
{
        char name[64];
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", slave);
        ssize_t n = readlink(link, name, sizeof(name) - 1);
        if (n < 0)
                return error_sys(err, -errno, "find the pty's name");
        name[n] = '\0';
        return rootfs_console(name, err);
}

int terminal_setup(int console_fd, const struct spec_process *p, bool console, struct error *err)
{
        explain_note("the process gets a new pty; its master goes to the console socket");
        _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return error_sys(err, -errno, "open /dev/ptmx in the container");
        if (unlockpt(master) < 0)
                return error_sys(err, -errno, "unlock pty");
        _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return error_sys(err, -errno, "open pty peer");
        if (p->has_console_size) {
                struct winsize ws = {.ws_row = (unsigned short)p->console_height,
                                     .ws_col = (unsigned short)p->console_width};
                if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
                        return error_sys(err, -errno, "set console size");
        }
        if (console && bind_console(slave, err) < 0)
                return err->code;
        int r = send_fd(console_fd, master, "/dev/ptmx");
        if (r < 0)
                return error_sys(err, r, "send the pty master to the console socket");
        if (setsid() < 0)
                return error_sys(err, -errno, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return error_sys(err, -errno, "make the pty the controlling terminal");
        for (int fd = 0; fd < 3; fd++)
                if (dup2(slave, fd) < 0)
                        return error_sys(err, -errno, "dup pty to fd %d", fd);
        return 0;
}

static void copy_winsize(int from, int to)
{
        struct winsize ws;
        if (ioctl(from, TIOCGWINSZ, &ws) == 0)
                ioctl(to, TIOCSWINSZ, &ws);
}

/* Copies what is readable on from to to; returns false at EOF or error. */
static bool pump(int from, int to)
{
        char buf[16384];
        ssize_t n = read(from, buf, sizeof(buf));
        if (n <= 0)
                return n < 0 && (errno == EINTR || errno == EAGAIN);
        return write_all(to, buf, (size_t)n) == 0;
}

int terminal_relay(int master, pid_t pid, int *ret_status)
{
        return terminal_relay_filter(master, pid, NULL, NULL, ret_status);
}

/* Input through the filter; -1 at EOF or error, 1 when it says detach, else 0. */
static int pump_filtered(int master, terminal_filter filter, void *arg)
{
        char in[16384], out[16384 + 64];
        ssize_t n = read(0, in, sizeof(in));
        if (n <= 0)
                return n < 0 && (errno == EINTR || errno == EAGAIN) ? 0 : -1;
        size_t o = 0;
        bool detach = filter(arg, in, (size_t)n, out, &o);
        if (o && write_all(master, out, o) < 0)
                return -1;
        return detach ? 1 : 0;
}

int terminal_relay_filter(int master, pid_t pid, terminal_filter filter, void *arg, int *ret_status)
{
        int detached = 0;
        struct termios saved;
        bool raw = isatty(0) && tcgetattr(0, &saved) == 0;
        if (raw) {
                struct termios t = saved;
                cfmakeraw(&t);
                tcsetattr(0, TCSANOW, &t);
                copy_winsize(0, master);
        }
        sigset_t all, old;
        sigfillset(&all);
        sigprocmask(SIG_BLOCK, &all, &old);
        _cleanup_close_ int sfd = signalfd(-1, &all, SFD_CLOEXEC);
        bool in_open = true, out_open = true;
        int status = 0;
        for (;;) {
                struct pollfd p[3] = {
                    {.fd = sfd, .events = POLLIN},
                    {.fd = out_open ? master : -1, .events = POLLIN},
                    {.fd = in_open ? 0 : -1, .events = POLLIN},
                };
                if (poll(p, 3, -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
                        out_open = pump(master, 1);
                if ((p[2].revents & (POLLIN | POLLHUP | POLLERR)) && filter) {
                        int k = pump_filtered(master, filter, arg);
                        in_open = k >= 0;
                        if (k == 1) {
                                detached = 1;
                                break;
                        }
                } else if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
                        in_open = pump(0, master);
                }
                if (p[0].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sfd, &si, sizeof(si)) != sizeof(si))
                                continue;
                        if (si.ssi_signo == SIGWINCH)
                                copy_winsize(0, master);
                        else if (si.ssi_signo != SIGCHLD)
                                kill(pid, (int)si.ssi_signo);
                }
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid) {
                        /* Drain what the process wrote last. */
                        while (out_open) {
                                struct pollfd q = {.fd = master, .events = POLLIN};
                                if (poll(&q, 1, 0) <= 0)
                                        break;
                                out_open = pump(master, 1);
                        }
                        break;
                }
                if (w < 0 && errno == ECHILD)
                        break;
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (raw)
                tcsetattr(0, TCSANOW, &saved);
        *ret_status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        return detached;
}
