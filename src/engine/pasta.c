/* Rootless networking through pasta: see pasta.h. */
#include "engine/pasta.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/sys.h"
#include "core/util.h"

#define TUN "/dev/net/tun"

static char *find_pasta(void)
{
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                char *p = xasprintf("%s/pasta", d);
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

/* Checks that the host port is free (binding it for a moment, as pasta will)
 * or, for port 0, picks a free one. */
static int host_port_claim(struct net_port *p, struct error *err)
{
        bool udp = strcmp(p->proto, "udp") == 0;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(p->host_port)};
        if (inet_pton(AF_INET, p->host_ip, &a.sin_addr) != 1)
                return error_msg(err, -EINVAL, "-p: host address '%s' is not an IPv4 address",
                                 p->host_ip);
        _cleanup_close_ int s = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (s < 0)
                return error_sys(err, -errno, "socket");
        if (!udp)
                setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
        if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
                int r = -errno;
                if (r == -EACCES) {
                        _cleanup_free_ char *start = NULL;
                        if (read_file_at(AT_FDCWD, "/proc/sys/net/ipv4/ip_unprivileged_port_start",
                                         32, &start, NULL) < 0)
                                start = xstrdup("1024");
                        start[strcspn(start, "\n")] = '\0';
                        return error_msg(err, r,
                                         "-p: host port %u/%s is privileged: rootless husk may "
                                         "publish ports from %s up (sysctl "
                                         "net.ipv4.ip_unprivileged_port_start)",
                                         p->host_port, p->proto, start);
                }
                return error_sys(err, r, "-p: host port %s:%u/%s", p->host_ip, p->host_port,
                                 p->proto);
        }
        socklen_t len = sizeof(a);
        if (!p->host_port && getsockname(s, (struct sockaddr *)&a, &len) == 0)
                p->host_port = ntohs(a.sin_port);
        return 0;
}

/* "-t 127.0.0.1/8080:80" or "-t 8080:80" (every address). */
static char *port_spec(const struct net_port *p)
{
        if (strcmp(p->host_ip, "0.0.0.0") == 0)
                return xasprintf("%u:%u", p->host_port, p->container_port);
        return xasprintf("%s/%u:%u", p->host_ip, p->host_port, p->container_port);
}

static char **pasta_argv(const char *exe, const char *pidfile, const struct net_port *ports,
                         size_t n)
{
        char **v = NULL;
        const char *fixed[] = {/* Stay root of our user namespace (pasta drops to nobody as "root"),
                                * configure eth0 like the host's interface, and forward nothing from
                                * the container to the host's own listening ports. */
                               "--quiet", "--runas", "0", "--config-net", "-T", "none", "-U",
                               "none",
                               /* IPv4 only, as husk's bridge networks: IPv6 setup costs pasta
                                * about 50 ms more at start here. */
                               "-4",
                               /* The namespace is fd 3: pasta, without CAP_SYS_PTRACE, could not
                                * open /proc/PID/ns/net of a container with more capabilities. */
                               "--netns", "/proc/self/fd/3", "--no-netns-quit", "--pid", pidfile};
        v = strv_push(v, xstrdup(exe));
        for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
                v = strv_push(v, xstrdup(fixed[i]));
        bool tcp = false, udp = false;
        for (size_t i = 0; i < n; i++) {
                bool u = strcmp(ports[i].proto, "udp") == 0;
                v = strv_push(v, xstrdup(u ? "-u" : "-t"));
                v = strv_push(v, port_spec(&ports[i]));
                tcp |= !u;
                udp |= u;
        }
        if (!tcp) {
                v = strv_push(v, xstrdup("-t"));
                v = strv_push(v, xstrdup("none"));
        }
        if (!udp) {
                v = strv_push(v, xstrdup("-u"));
                v = strv_push(v, xstrdup("none"));
        }
        return v;
}

static int write_ports(const char *run_dir, const struct net_port *ports, size_t n,
                       struct error *err)
{
        _cleanup_free_ char *text = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *t = xasprintf("%s%s %u %u %s\n", text, ports[i].host_ip, ports[i].host_port,
                                    ports[i].container_port, ports[i].proto);
                free(text);
                text = t;
        }
        _cleanup_close_ int dfd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = dfd < 0 ? -errno : write_file_atomic(dfd, "pasta.ports", text, strlen(text), 0600);
        if (r < 0)
                return error_sys(err, r, "write '%s/pasta.ports'", run_dir);
        return 0;
}

/* Runs pasta (which forks into the background once the namespace is set up)
 * and returns what it said on failure. */
static int run_pasta(char **argv, int nsfd, struct error *err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return error_sys(err, -errno, "pipe");
        pid_t c = fork();
        if (c < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return error_sys(err, r, "fork");
        }
        if (c == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0 ||
                    dup2(nsfd, 3) < 0)
                        _exit(127);
                syscall(SYS_close_range, 4, ~0U, 0);
                /* pasta 2023-03 refuses to start when SIGPIPE is ignored on entry
                 * (as in the monitor): it takes signal()'s old SIG_IGN for an error. */
                for (int sig = 1; sig < NSIG; sig++)
                        if (sig != SIGKILL && sig != SIGSTOP)
                                signal(sig, SIG_DFL);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                execv(argv[0], argv);
                dprintf(2, "exec '%s': %s", argv[0], strerror(errno));
                _exit(127);
        }
        close(p[1]);
        char out[1024];
        size_t got = read_to_eof(p[0], out, sizeof(out));
        close(p[0]);
        int st = 0;
        while (waitpid(c, &st, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return 0;
        while (got && strchr("\n ", out[got - 1]))
                out[--got] = '\0';
        for (char *s = out; *s; s++)
                if (*s == '\n')
                        *s = ' ';
        return error_msg(err, -EIO, "pasta failed (%s %d)%s%s",
                         WIFEXITED(st) ? "exit status" : "signal",
                         WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), got ? ": " : "", out);
}

int pasta_start(const char *run_dir, pid_t init, const struct net_port *ports, size_t n,
                struct error *err)
{
        if (access(TUN, R_OK | W_OK) < 0) {
                int r = -errno;
                struct stat st;
                unsigned mode = stat(TUN, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
                return error_sys(err, r,
                                 "--network pasta: pasta needs '%s' (mode %04o here), which "
                                 "this user may not open (as root: chmod 0666 %s, as udev's "
                                 "default rule sets it; or use --network none|host)",
                                 TUN, mode, TUN);
        }
        _cleanup_free_ char *exe = find_pasta();
        if (!exe)
                return error_msg(err, -ENOENT,
                                 "--network pasta: no 'pasta' in PATH (install the passt "
                                 "package, or use --network none|host)");
        _cleanup_free_ struct net_port *v = xmalloc((n ? n : 1) * sizeof(*v));
        if (n)
                memcpy(v, ports, n * sizeof(*v));
        int r;
        for (size_t i = 0; i < n; i++)
                if ((r = host_port_claim(&v[i], err)) < 0)
                        return r;
        _cleanup_free_ char *ns = xasprintf("/proc/%d/ns/net", (int)init);
        _cleanup_close_ int nsfd = open(ns, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                return error_sys(err, -errno, "open '%s'", ns);
        _cleanup_free_ char *pidfile = xasprintf("%s/pasta.pid", run_dir);
        _cleanup_strv_ char **argv = pasta_argv(exe, pidfile, v, n);
        if (explain_on()) {
                _cleanup_free_ char *line = strv_join(argv, " ");
                explain("%s 3<%s", line, ns);
        }
        if ((r = run_pasta(argv, nsfd, err)) < 0) {
                pasta_stop(run_dir);
                return r;
        }
        if ((r = write_ports(run_dir, v, n, err)) < 0) {
                pasta_stop(run_dir);
                return r;
        }
        return 0;
}

/* The pid in the pid file when that process is still the pasta started with it. */
static pid_t pasta_pid(const char *pidfile)
{
        _cleanup_free_ char *text = NULL;
        if (read_file_at(AT_FDCWD, pidfile, 64, &text, NULL) < 0)
                return 0;
        int64_t pid;
        text[strcspn(text, "\n")] = '\0';
        if (parse_i64(text, &pid) < 0 || pid <= 1 || pid > INT32_MAX)
                return 0;
        _cleanup_free_ char *path = xasprintf("/proc/%d/cmdline", (int)pid), *cmd = NULL;
        size_t len = 0;
        if (read_file_at(AT_FDCWD, path, 1 << 16, &cmd, &len) < 0)
                return 0;
        /* Its arguments name this pid file: no other process has them. */
        bool ours = false;
        for (size_t off = 0; off < len; off += strlen(cmd + off) + 1)
                if (strcmp(cmd + off, pidfile) == 0)
                        ours = true;
        return ours ? (pid_t)pid : 0;
}

void pasta_stop(const char *run_dir)
{
        _cleanup_free_ char *pidfile = xasprintf("%s/pasta.pid", run_dir);
        _cleanup_free_ char *portfile = xasprintf("%s/pasta.ports", run_dir);
        pid_t pid = pasta_pid(pidfile);
        struct stat ports_st;
        bool has_ports = stat(portfile, &ports_st) == 0 && ports_st.st_size > 0;
        if (pid > 0) {
                explain("kill -KILL %d", (int)pid);
                kill(pid, SIGKILL);
                /* Not our child (it forked into the background): with published
                 * ports, wait until it is gone so they are free when this
                 * returns (it takes pasta some 40 ms to exit). */
                /* Its state, not its command line: that is gone (with its memory)
                 * before its sockets are closed. */
                for (int i = 0; has_ports && i < 200; i++) {
                        _cleanup_free_ char *stat = NULL;
                        _cleanup_free_ char *sp = xasprintf("/proc/%d/stat", (int)pid);
                        if (read_file_at(AT_FDCWD, sp, 4096, &stat, NULL) < 0)
                                break;
                        const char *rp = strrchr(stat, ')');
                        if (!rp || !rp[1] || rp[2] == 'Z' || rp[2] == 'X')
                                break;
                        usleep(5000);
                }
        }
        unlink(pidfile);
        unlink(portfile);
}

int pasta_ports(const char *run_dir, struct net_port **ret, size_t *ret_n)
{
        _cleanup_free_ char *path = xasprintf("%s/pasta.ports", run_dir), *text = NULL;
        *ret = NULL;
        *ret_n = 0;
        if (read_file_at(AT_FDCWD, path, 1 << 20, &text, NULL) < 0)
                return 0;
        struct net_port *v = NULL;
        size_t n = 0;
        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                char ip[16], proto[4];
                unsigned hp, cp;
                if (sscanf(line, "%15s %u %u %3s", ip, &hp, &cp, proto) == 4) {
                        v = xrealloc(v, (n + 1) * sizeof(*v));
                        memset(&v[n], 0, sizeof(v[n]));
                        snprintf(v[n].host_ip, sizeof(v[n].host_ip), "%s", ip);
                        v[n].host_port = (uint16_t)hp;
                        v[n].container_port = (uint16_t)cp;
                        snprintf(v[n].proto, sizeof(v[n].proto), "%s", proto);
                        n++;
                }
                line = nl ? nl + 1 : NULL;
        }
        *ret = v;
        *ret_n = n;
        return 1;
}
