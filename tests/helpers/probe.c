/* probe: a tiny static program copied into the rootfs of integration-test
 * containers (tests/integration). It reports what a process sees from inside
 * a container as "key=value" lines on stdout, one fact per line, so the tests
 * can parse it without an image or a shell.
 *
 * Usage: probe CMD [ARGS] [CMD [ARGS]] ...   (commands run in order)
 *
 *   pid ppid ids hostname domainname cwd env umask caps rlimits oom fds
 *   mountinfo tty timens ns                        (no arguments)
 *   stat PATH  try-write PATH  read PATH  exists PATH  readlink PATH
 *   sleep SECS  exit CODE  kill-self SIG  fork N  getppid-loop SECS
 *   wait-signal  ready  watch-exe SECS
 *   alloc MB  try-fork N  tick SECS  spin SECS  open PATH   (resource limits)
 *
 * Keys with a path look like "stat:/dev/null:type=chr". Errors are printed as
 * errno names ("write:/x=EROFS"). stdout is flushed after every command so a
 * test sees output printed before a sleep.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *errname(int e)
{
        switch (e) {
        case 0:
                return "OK";
        case EPERM:
                return "EPERM";
        case ENOENT:
                return "ENOENT";
        case EIO:
                return "EIO";
        case EBADF:
                return "EBADF";
        case EACCES:
                return "EACCES";
        case EBUSY:
                return "EBUSY";
        case EEXIST:
                return "EEXIST";
        case ENOTDIR:
                return "ENOTDIR";
        case EISDIR:
                return "EISDIR";
        case EINVAL:
                return "EINVAL";
        case ETXTBSY:
                return "ETXTBSY";
        case ENOSPC:
                return "ENOSPC";
        case EROFS:
                return "EROFS";
        case ENXIO:
                return "ENXIO";
        case ENODEV:
                return "ENODEV";
        case ELOOP:
                return "ELOOP";
        case ENOTTY:
                return "ENOTTY";
        case EAGAIN:
                return "EAGAIN";
        case ENOMEM:
                return "ENOMEM";
        default: {
                static char buf[32];
                snprintf(buf, sizeof(buf), "E%d", e);
                return buf;
        }
        }
}

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
}

/* Prints each line of a file prefixed with "prefix=". */
static void print_file_lines(const char *path, const char *prefix)
{
        FILE *f = fopen(path, "re");
        char line[4096];
        if (!f) {
                out("%s.errno=%s", prefix, errname(errno));
                return;
        }
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = 0;
                out("%s=%s", prefix, line);
        }
        fclose(f);
}

static void cmd_ids(void)
{
        gid_t groups[256];
        int n = getgroups(256, groups);
        char buf[4096] = "";
        size_t len = 0;
        out("uid=%u", (unsigned)getuid());
        out("gid=%u", (unsigned)getgid());
        out("euid=%u", (unsigned)geteuid());
        out("egid=%u", (unsigned)getegid());
        for (int i = 0; i < n && len < sizeof(buf) - 16; i++)
                len += snprintf(buf + len, sizeof(buf) - len, "%s%u", i ? "," : "",
                                (unsigned)groups[i]);
        out("groups=%s", buf);
}

static void cmd_caps(void)
{
        FILE *f = fopen("/proc/self/status", "re");
        char line[512];
        if (!f)
                return;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = 0;
                if (strncmp(line, "Cap", 3) != 0 && strncmp(line, "NoNewPrivs:", 11) != 0 &&
                    strncmp(line, "Seccomp:", 8) != 0)
                        continue;
                char *colon = strchr(line, ':');
                *colon = 0;
                char *v = colon + 1;
                while (*v == ' ' || *v == '\t')
                        v++;
                out("%s=%s", line, v);
        }
        fclose(f);
}

static const struct {
        const char *name;
        int res;
} rlimits[] = {
    {"CPU", RLIMIT_CPU},           {"FSIZE", RLIMIT_FSIZE},
    {"DATA", RLIMIT_DATA},         {"STACK", RLIMIT_STACK},
    {"CORE", RLIMIT_CORE},         {"RSS", RLIMIT_RSS},
    {"NPROC", RLIMIT_NPROC},       {"NOFILE", RLIMIT_NOFILE},
    {"MEMLOCK", RLIMIT_MEMLOCK},   {"AS", RLIMIT_AS},
    {"LOCKS", RLIMIT_LOCKS},       {"SIGPENDING", RLIMIT_SIGPENDING},
    {"MSGQUEUE", RLIMIT_MSGQUEUE}, {"NICE", RLIMIT_NICE},
    {"RTPRIO", RLIMIT_RTPRIO},     {"RTTIME", RLIMIT_RTTIME},
};

static void fmt_rlim(char *buf, size_t len, rlim_t v)
{
        if (v == RLIM_INFINITY)
                snprintf(buf, len, "unlimited");
        else
                snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void cmd_rlimits(void)
{
        for (size_t i = 0; i < sizeof(rlimits) / sizeof(rlimits[0]); i++) {
                struct rlimit rl;
                char s[32], h[32];
                if (getrlimit(rlimits[i].res, &rl) < 0)
                        continue;
                fmt_rlim(s, sizeof(s), rl.rlim_cur);
                fmt_rlim(h, sizeof(h), rl.rlim_max);
                out("rlimit.%s=%s:%s", rlimits[i].name, s, h);
        }
}

static void cmd_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int self;
        char list[4096] = "";
        size_t len = 0;
        if (!d) {
                out("fds.errno=%s", errname(errno));
                return;
        }
        self = dirfd(d);
        while ((de = readdir(d))) {
                char path[64], target[PATH_MAX];
                ssize_t n;
                int fd;
                if (de->d_name[0] == '.')
                        continue;
                fd = atoi(de->d_name);
                if (fd == self)
                        continue;
                snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
                n = readlink(path, target, sizeof(target) - 1);
                target[n < 0 ? 0 : n] = 0;
                out("fd.%d=%s", fd, target);
                if (len < sizeof(list) - 16)
                        len += snprintf(list + len, sizeof(list) - len, "%s%d", len ? "," : "", fd);
        }
        closedir(d);
        out("fds=%s", list);
}

static const char *ftype(mode_t m)
{
        if (S_ISREG(m))
                return "reg";
        if (S_ISDIR(m))
                return "dir";
        if (S_ISCHR(m))
                return "chr";
        if (S_ISBLK(m))
                return "blk";
        if (S_ISLNK(m))
                return "lnk";
        if (S_ISFIFO(m))
                return "fifo";
        if (S_ISSOCK(m))
                return "sock";
        return "unknown";
}

static void cmd_stat(const char *path)
{
        struct stat st;
        if (lstat(path, &st) < 0) {
                out("stat:%s:errno=%s", path, errname(errno));
                return;
        }
        out("stat:%s:type=%s", path, ftype(st.st_mode));
        out("stat:%s:rdev=%u:%u", path, major(st.st_rdev), minor(st.st_rdev));
        out("stat:%s:mode=%04o", path, (unsigned)(st.st_mode & 07777));
        out("stat:%s:uid=%u", path, (unsigned)st.st_uid);
        out("stat:%s:gid=%u", path, (unsigned)st.st_gid);
        out("stat:%s:size=%lld", path, (long long)st.st_size);
        out("stat:%s:dev=%u:%u", path, major(st.st_dev), minor(st.st_dev));
        out("stat:%s:ino=%llu", path, (unsigned long long)st.st_ino);
}

/* Opens for writing (creating a regular file if missing) without writing
 * anything: tests point this at /proc/sys and /proc/sysrq-trigger. */
static void cmd_try_write(const char *path)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0) {
                out("write:%s=%s", path, errname(errno));
                return;
        }
        close(fd);
        out("write:%s=OK", path);
}

/* Prints the content (up to 64 KiB) as one line with \n escaped as "\n". */
static void cmd_read(const char *path)
{
        static char buf[65536];
        char esc[2 * sizeof(buf) / 2 + 1];
        size_t total = 0, j = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        ssize_t n;
        if (fd < 0) {
                out("read:%s.errno=%s", path, errname(errno));
                return;
        }
        while (total < sizeof(buf) - 1 && (n = read(fd, buf + total, sizeof(buf) - 1 - total)) > 0)
                total += n;
        close(fd);
        for (size_t i = 0; i < total && j < sizeof(esc) - 3; i++) {
                if (buf[i] == '\n') {
                        esc[j++] = '\\';
                        esc[j++] = 'n';
                } else if (buf[i] == '\\') {
                        esc[j++] = '\\';
                        esc[j++] = '\\';
                } else
                        esc[j++] = buf[i];
        }
        esc[j] = 0;
        out("read:%s.size=%zu", path, total);
        out("read:%s=%s", path, esc);
}

static void cmd_readlink(const char *path)
{
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n < 0) {
                out("readlink:%s.errno=%s", path, errname(errno));
                return;
        }
        target[n] = 0;
        out("readlink:%s=%s", path, target);
}

static void cmd_tty(void)
{
        for (int fd = 0; fd < 3; fd++) {
                struct winsize ws;
                out("isatty.%d=%d", fd, isatty(fd));
                if (ioctl(fd, TIOCGWINSZ, &ws) == 0)
                        out("winsize.%d=%ux%u", fd, ws.ws_row, ws.ws_col);
        }
        {
                char *name = ttyname(0);
                out("ttyname.0=%s", name ? name : "");
        }
}

static void cmd_ns(void)
{
        static const char *names[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char path[64];
                struct stat st;
                snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
                if (stat(path, &st) < 0)
                        out("ns.%s=%s", names[i], errname(errno));
                else
                        out("ns.%s=%llu", names[i], (unsigned long long)st.st_ino);
        }
}

static volatile sig_atomic_t got_signal;
static void on_signal(int sig)
{
        got_signal = sig;
}

static void cmd_wait_signal(void)
{
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        for (int s = 1; s < 32; s++)
                if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD)
                        sigaction(s, &sa, NULL);
        out("waiting=1");
        fflush(stdout);
        while (!got_signal)
                pause();
        out("signal=%d", (int)got_signal);
}

static void cmd_fork(int n)
{
        pid_t pids[64];
        if (n > 64)
                n = 64;
        for (int i = 0; i < n; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        for (;;)
                                pause();
                }
                out("child=%d", (int)pids[i]);
        }
}

/* Reports whether the parent changes (re-parenting to a subreaper/init). */
static void cmd_getppid_loop(int secs)
{
        pid_t first = getppid();
        time_t end = time(NULL) + secs;
        out("ppid=%d", (int)first);
        fflush(stdout);
        while (time(NULL) < end) {
                pid_t p = getppid();
                if (p != first) {
                        out("ppid=%d", (int)p);
                        fflush(stdout);
                        first = p;
                }
                usleep(10000);
        }
}

/* watch-exe SECS: the CVE-2019-5736 attacker. Keeps an O_PATH handle on the
 * executable of every other process that appears in our pid namespace, and
 * keeps trying to reopen each one for writing (which fails with ETXTBSY while
 * it runs, but must also fail, or not be the host's runtime binary, after it
 * exits). Never writes. Prints "exe=PID:TARGET:DEV:INO" for each handle and
 * "exe-writable=DEV:INO" for each handle that could be opened for writing. */
static void cmd_watch_exe(int secs)
{
        struct {
                pid_t pid;
                int fd;
                dev_t dev;
                ino_t ino;
                int reported;
        } seen[256];
        int nseen = 0;
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        out("watching=1");
        fflush(stdout);
        for (;;) {
                DIR *d = opendir("/proc");
                struct dirent *de;
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - start.tv_sec >= secs)
                        break;
                while (d && (de = readdir(d))) {
                        pid_t pid = atoi(de->d_name);
                        char path[64], target[PATH_MAX];
                        int fd, known = 0;
                        struct stat st;
                        ssize_t n;
                        if (pid <= 0 || pid == getpid())
                                continue;
                        snprintf(path, sizeof(path), "/proc/%d/exe", pid);
                        /* A pid is watched again when it execs something else. */
                        if (stat(path, &st) < 0)
                                continue;
                        for (int i = 0; i < nseen; i++)
                                if (seen[i].pid == pid && seen[i].dev == st.st_dev &&
                                    seen[i].ino == st.st_ino)
                                        known = 1;
                        if (known || nseen >= 256)
                                continue;
                        fd = open(path, O_PATH | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        n = readlink(path, target, sizeof(target) - 1);
                        target[n < 0 ? 0 : n] = 0;
                        fstat(fd, &st);
                        out("exe=%d:%s:%u:%u:%llu", (int)pid, target, major(st.st_dev),
                            minor(st.st_dev), (unsigned long long)st.st_ino);
                        fflush(stdout);
                        seen[nseen].pid = pid;
                        seen[nseen].fd = fd;
                        seen[nseen].dev = st.st_dev;
                        seen[nseen].ino = st.st_ino;
                        seen[nseen].reported = 0;
                        nseen++;
                }
                if (d)
                        closedir(d);
                usleep(200); /* a scan takes about as long: short-lived processes are still seen */
                for (int i = 0; i < nseen; i++) {
                        char path[64];
                        int wfd;
                        if (seen[i].reported)
                                continue;
                        snprintf(path, sizeof(path), "/proc/self/fd/%d", seen[i].fd);
                        wfd = open(path, O_WRONLY | O_CLOEXEC);
                        if (wfd >= 0) {
                                struct stat st;
                                fstat(wfd, &st);
                                out("exe-writable=%u:%u:%llu", major(st.st_dev), minor(st.st_dev),
                                    (unsigned long long)st.st_ino);
                                fflush(stdout);
                                seen[i].reported = 1;
                                close(wfd);
                        }
                }
        }
        out("watched=%d", nseen);
}

/* Allocates mb MiB and touches every page, reporting progress per MiB. */
static void cmd_alloc(int mb)
{
        out("alloc-start=%d", mb);
        fflush(stdout);
        for (int i = 0; i < mb; i++) {
                char *p = malloc(1 << 20);
                if (!p) {
                        out("alloc.errno=%s", errname(errno));
                        return;
                }
                for (int k = 0; k < (1 << 20); k += 4096)
                        p[k] = 1;
        }
        out("allocated=%d", mb);
}

/* Forks n children that sleep; prints how many forks worked and the first error. */
static void cmd_try_fork(int n)
{
        int ok = 0;
        for (int i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        out("fork.errno=%s", errname(errno));
                        break;
                }
                if (pid == 0) {
                        for (;;)
                                pause();
                }
                ok++;
        }
        out("forked=%d", ok);
}

/* Prints tick=N every 20 ms for secs seconds. */
static void cmd_tick(int secs)
{
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (long n = 1;; n++) {
                out("tick=%ld", n);
                fflush(stdout);
                usleep(20000);
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - start.tv_sec >= secs)
                        break;
        }
}

/* Burns CPU for secs seconds. */
static void cmd_spin(int secs)
{
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        volatile unsigned long x = 0;
        do {
                for (int i = 0; i < 1000000; i++)
                        x += (unsigned long)i;
                clock_gettime(CLOCK_MONOTONIC, &now);
        } while (now.tv_sec - start.tv_sec < secs);
        out("spun=%d", secs);
}

static void cmd_open(const char *path)
{
        int fd = open(path, O_RDWR | O_CLOEXEC);
        out("open:%s=%s", path, errname(fd < 0 ? errno : 0));
        if (fd >= 0)
                close(fd);
}

/* "syscall NAME": makes one harmless call and prints syscall.NAME=ERRNO (0 on
 * success), so tests can see what a seccomp filter did to it. */
static int cmd_syscall(const char *name)
{
        char buf[PATH_MAX];
        struct utsname u;
        long r;
        int fd;
        if (!strcmp(name, "getcwd"))
                r = getcwd(buf, sizeof(buf)) ? 0 : -1;
        else if (!strcmp(name, "uname"))
                r = uname(&u);
        else if (!strcmp(name, "mkdir")) {
                r = mkdir("/tmp/.probe-mkdir", 0700);
                if (r == 0)
                        rmdir("/tmp/.probe-mkdir");
        } else if (!strcmp(name, "chmod"))
                r = chmod("/probe", 0755);
        else if (!strcmp(name, "personality"))
                r = personality(0xffffffff) == -1 ? -1 : 0; /* query only */
        else if (!strcmp(name, "personality-linux"))
                r = personality(PER_LINUX) == -1 ? -1 : 0;
        else if (!strcmp(name, "socket-inet") || !strcmp(name, "socket-unix")) {
                fd = socket(name[7] == 'i' ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
                r = fd < 0 ? -1 : 0;
                if (fd >= 0)
                        close(fd);
        } else if (!strcmp(name, "getpid"))
                r = syscall(SYS_getpid) < 0 ? -1 : 0;
        else if (!strcmp(name, "sysfs")) /* denied by docker's default seccomp profile */
                r = syscall(SYS_sysfs, 3) < 0 ? -1 : 0;
        else
                return -1;
        out("syscall.%s=%d", name, r < 0 ? errno : 0);
        return 0;
}

static void usage(const char *cmd)
{
        fprintf(stderr, "probe: unknown command or missing argument '%s'\n", cmd);
        exit(125);
}

int main(int argc, char **argv)
{
        for (int i = 1; i < argc; i++) {
                const char *c = argv[i];
                const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG()                                                                                 \
        do {                                                                                       \
                if (!arg)                                                                          \
                        usage(c);                                                                  \
                i++;                                                                               \
        } while (0)
                if (!strcmp(c, "pid"))
                        out("pid=%d", (int)getpid());
                else if (!strcmp(c, "ppid"))
                        out("ppid=%d", (int)getppid());
                else if (!strcmp(c, "ids"))
                        cmd_ids();
                else if (!strcmp(c, "hostname")) {
                        char buf[256] = "";
                        gethostname(buf, sizeof(buf) - 1);
                        out("hostname=%s", buf);
                } else if (!strcmp(c, "domainname")) {
                        char buf[256] = "";
                        getdomainname(buf, sizeof(buf) - 1);
                        out("domainname=%s", buf);
                } else if (!strcmp(c, "cwd")) {
                        char buf[PATH_MAX];
                        out("cwd=%s", getcwd(buf, sizeof(buf)) ? buf : errname(errno));
                        cmd_readlink("/proc/self/cwd");
                } else if (!strcmp(c, "env")) {
                        for (char **e = environ; *e; e++)
                                out("env.%s", *e);
                } else if (!strcmp(c, "umask")) {
                        mode_t m = umask(0);
                        umask(m);
                        out("umask=%04o", (unsigned)m);
                } else if (!strcmp(c, "caps"))
                        cmd_caps();
                else if (!strcmp(c, "rlimits"))
                        cmd_rlimits();
                else if (!strcmp(c, "oom"))
                        print_file_lines("/proc/self/oom_score_adj", "oom_score_adj");
                else if (!strcmp(c, "fds"))
                        cmd_fds();
                else if (!strcmp(c, "mountinfo"))
                        print_file_lines("/proc/self/mountinfo", "mount");
                else if (!strcmp(c, "tty"))
                        cmd_tty();
                else if (!strcmp(c, "timens"))
                        print_file_lines("/proc/self/timens_offsets", "timens");
                else if (!strcmp(c, "ns"))
                        cmd_ns();
                else if (!strcmp(c, "stat")) {
                        NEED_ARG();
                        cmd_stat(arg);
                } else if (!strcmp(c, "try-write")) {
                        NEED_ARG();
                        cmd_try_write(arg);
                } else if (!strcmp(c, "read")) {
                        NEED_ARG();
                        cmd_read(arg);
                } else if (!strcmp(c, "readlink")) {
                        NEED_ARG();
                        cmd_readlink(arg);
                } else if (!strcmp(c, "exists")) {
                        NEED_ARG();
                        out("exists:%s=%d", arg, access(arg, F_OK) == 0);
                } else if (!strcmp(c, "sleep")) {
                        NEED_ARG();
                        fflush(stdout);
                        sleep(atoi(arg));
                } else if (!strcmp(c, "exit")) {
                        NEED_ARG();
                        fflush(stdout);
                        exit(atoi(arg));
                } else if (!strcmp(c, "kill-self")) {
                        NEED_ARG();
                        fflush(stdout);
                        signal(atoi(arg), SIG_DFL);
                        kill(getpid(), atoi(arg));
                        pause();
                } else if (!strcmp(c, "fork")) {
                        NEED_ARG();
                        cmd_fork(atoi(arg));
                } else if (!strcmp(c, "getppid-loop")) {
                        NEED_ARG();
                        cmd_getppid_loop(atoi(arg));
                } else if (!strcmp(c, "wait-signal"))
                        cmd_wait_signal();
                else if (!strcmp(c, "syscall")) {
                        NEED_ARG();
                        if (cmd_syscall(arg) < 0)
                                usage(arg);
                } else if (!strcmp(c, "ready"))
                        out("ready=1");
                else if (!strcmp(c, "alloc")) {
                        NEED_ARG();
                        cmd_alloc(atoi(arg));
                } else if (!strcmp(c, "try-fork")) {
                        NEED_ARG();
                        cmd_try_fork(atoi(arg));
                } else if (!strcmp(c, "tick")) {
                        NEED_ARG();
                        cmd_tick(atoi(arg));
                } else if (!strcmp(c, "spin")) {
                        NEED_ARG();
                        cmd_spin(atoi(arg));
                } else if (!strcmp(c, "open")) {
                        NEED_ARG();
                        cmd_open(arg);
                } else if (!strcmp(c, "watch-exe")) {
                        NEED_ARG();
                        cmd_watch_exe(atoi(arg));
                } else
                        usage(c);
                fflush(stdout);
        }
        return 0;
}
