/* The pause process that holds rootless husk's user and mount namespaces:
 * see rootless.h. */
#include "engine/rootless.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/sys.h"
#include "core/util.h"
#include "runtime/spec.h"
#include "runtime/userns.h"

#define PAUSE_NAME "husk-pause"

bool rootless_active(void)
{
        static int cached = -1;
        if (cached < 0)
                cached = geteuid() != 0 || userns_in_child_namespace();
        return cached;
}

uid_t rootless_host_uid(void)
{
        if (!userns_in_child_namespace())
                return geteuid();
        _cleanup_free_ char *map = NULL;
        if (read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, NULL) < 0)
                return geteuid();
        for (char *line = map; line && *line;) {
                unsigned long inside, outside, count;
                if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0 &&
                    count >= 1)
                        return (uid_t)outside;
                line = strchr(line, '\n');
                line = line ? line + 1 : NULL;
        }
        return geteuid();
}

static int mkdir_parents(const char *path)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* The pid in RUNROOT/pause.pid when it names a live pause process of ours. */
static pid_t live_pause(const char *runroot)
{
        _cleanup_free_ char *path = xasprintf("%s/pause.pid", runroot), *text = NULL;
        if (read_file_at(AT_FDCWD, path, 64, &text, NULL) < 0)
                return 0;
        int64_t pid;
        text[strcspn(text, "\n")] = '\0';
        if (parse_i64(text, &pid) < 0 || pid <= 1 || pid > INT32_MAX)
                return 0;
        _cleanup_free_ char *stat_path = xasprintf("/proc/%d/stat", (int)pid), *stat_text = NULL;
        if (read_file_at(AT_FDCWD, stat_path, 4096, &stat_text, NULL) < 0)
                return 0;
        /* "PID (COMM) STATE ...": a zombie holds no namespaces any more. */
        const char *open_paren = strchr(stat_text, '('), *close_paren = strrchr(stat_text, ')');
        if (!open_paren || !close_paren || close_paren[1] != ' ' || close_paren[2] == 'Z' ||
            close_paren[2] == 'X')
                return 0;
        _cleanup_free_ char *comm =
            xstrndup(open_paren + 1, (size_t)(close_paren - open_paren - 1));
        struct stat st;
        _cleanup_free_ char *dir = xasprintf("/proc/%d", (int)pid);
        if (strcmp(comm, PAUSE_NAME) != 0 || stat(dir, &st) < 0 || st.st_uid != getuid())
                return 0;
        return (pid_t)pid;
}

/* The first range of user (by name or id) in an /etc/subuid-like file. */
static int subid_range(const char *file, const char *user, uid_t id, uint32_t *ret_start,
                       uint32_t *ret_count, struct error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, file, 1 << 20, &text, NULL);
        if (r < 0 && r != -ENOENT)
                return error_sys(err, r, "read '%s'", file);
        char idstr[16];
        snprintf(idstr, sizeof(idstr), "%u", (unsigned)id);
        for (char *line = text; line && *line;) {
                char *nl = strchr(line, '\n');
                if (nl)
                        *nl = '\0';
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2) {
                        *c1 = '\0';
                        *c2 = '\0';
                        uint64_t start, count;
                        if ((strcmp(line, idstr) == 0 || (user && strcmp(line, user) == 0)) &&
                            parse_u64(c1 + 1, &start) == 0 && parse_u64(c2 + 1, &count) == 0 &&
                            count > 0 && start + count <= UINT32_MAX) {
                                *ret_start = (uint32_t)start;
                                *ret_count = (uint32_t)count;
                                return 0;
                        }
                }
                line = nl ? nl + 1 : NULL;
        }
        return error_msg(err, -ENOENT,
                         "rootless husk needs subordinate ids: no line for user '%s' (uid %u) in "
                         "'%s' (as root: usermod --add-subuids 100000-165535 --add-subgids "
                         "100000-165535 %s)",
                         user ? user : idstr, (unsigned)id, file, user ? user : idstr);
}

/* uid 0 is the caller, 1..N its subordinate ids: written with newuidmap/newgidmap. */
static int write_maps(pid_t pid, struct error *err)
{
        struct passwd *pw = getpwuid(getuid());
        const char *user = pw ? pw->pw_name : NULL;
        struct spec_id_mapping u[2] = {{0, getuid(), 1}}, g[2] = {{0, getgid(), 1}};
        u[1].container_id = g[1].container_id = 1;
        size_t n = 2;
        int r = subid_range("/etc/subuid", user, getuid(), &u[1].host_id, &u[1].size, err);
        if (r == 0)
                r = subid_range("/etc/subgid", user, getuid(), &g[1].host_id, &g[1].size, err);
        if (r == -ENOENT) {
                /* As rootless Podman: without subordinate ids only the user
                 * itself is mapped (as 0); images whose files have other
                 * owners then fail to unpack, naming the file. Said once, when
                 * the namespace is made. */
                fprintf(stderr, "husk: warning: %s; only uid/gid 0 is mapped\n", err->msg);
                n = 1;
        } else if (r < 0) {
                return r;
        }
        struct spec s = {0};
        s.linux.uid_mappings = u;
        s.linux.n_uid_mappings = n;
        s.linux.gid_mappings = g;
        s.linux.n_gid_mappings = n;
        return userns_write_maps(&s, pid, err);
}

/* The pause process: it holds the namespaces and does nothing else. */
static __attribute__((noreturn)) void pause_main(int ready, int go)
{
        int r = sys_unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? errno : 0;
        /* The one message on the pipe: our pid and how unshare went. */
        int v[2] = {(int)getpid(), r};
        (void)!write(ready, v, sizeof(v));
        char c;
        if (r || read(go, &c, 1) != 1)
                _exit(1);
        setsid();
        if (chdir("/") < 0)
                _exit(1);
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                _exit(1);
        syscall(SYS_close_range, 3, ~0U, 0);
        prctl(PR_SET_NAME, PAUSE_NAME, 0, 0, 0);
        signal(SIGINT, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (;;)
                pause();
}

/* Creates the pause process (a grandchild, so no husk command ever waits for
 * it) and records its pid. */
static int pause_create(const char *runroot, pid_t *ret, struct error *err)
{
        int ready[2], go[2];
        if (pipe2(ready, O_CLOEXEC) < 0)
                return error_sys(err, -errno, "pipe");
        if (pipe2(go, O_CLOEXEC) < 0) {
                int r = -errno;
                close(ready[0]);
                close(ready[1]);
                return error_sys(err, r, "pipe");
        }
        pid_t mid = fork();
        if (mid == 0) {
                close(ready[0]);
                close(go[1]);
                pid_t p = fork();
                if (p == 0)
                        pause_main(ready[1], go[0]);
                if (p < 0) {
                        int v[2] = {-1, errno};
                        (void)!write(ready[1], v, sizeof(v));
                }
                _exit(0);
        }
        int r = mid < 0 ? -errno : 0;
        close(ready[1]);
        close(go[0]);
        int v[2] = {0, 0}, uerr = 0;
        if (mid > 0) {
                while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
                        ;
                if (read_all(ready[0], v, sizeof(v)) != sizeof(v) || v[0] == 0)
                        r = -EIO;
                else if (v[0] < 0)
                        r = -v[1];
                else if (v[1])
                        r = -(uerr = v[1]);
        }
        close(ready[0]);
        pid_t pid = v[0] > 0 ? v[0] : 0;
        if (r < 0) {
                close(go[1]);
                if (pid > 0)
                        kill(pid, SIGKILL);
                if (uerr)
                        return error_sys(err, r,
                                         "create the user namespace of rootless husk "
                                         "(unprivileged user namespaces disabled? see "
                                         "sysctl kernel.unprivileged_userns_clone)");
                return error_sys(err, r, "start the pause process of rootless husk");
        }
        if ((r = write_maps(pid, err)) < 0) {
                close(go[1]);
                kill(pid, SIGKILL);
                return error_wrap(err, r, "map ids of rootless husk's user namespace");
        }
        char c = 1;
        if (write(go[1], &c, 1) != 1) {
                r = -errno;
                close(go[1]);
                kill(pid, SIGKILL);
                return error_sys(err, r, "start the pause process of rootless husk");
        }
        close(go[1]);
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
        _cleanup_close_ int dfd = open(runroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || (r = write_file_atomic(dfd, "pause.pid", buf, (size_t)n, 0600)) < 0) {
                r = dfd < 0 ? -errno : r;
                kill(pid, SIGKILL);
                return error_sys(err, r, "write '%s/pause.pid'", runroot);
        }
        *ret = pid;
        return 0;
}

static int join(pid_t pid, struct error *err)
{
        char cwd[4096];
        bool have_cwd = getcwd(cwd, sizeof(cwd)) != NULL;
        static const struct {
                const char *name;
                int type;
        } ns[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}};
        int fds[2] = {-1, -1};
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *path = xasprintf("/proc/%d/ns/%s", (int)pid, ns[i].name);
                fds[i] = open(path, O_RDONLY | O_CLOEXEC);
                if (fds[i] < 0) {
                        int r = -errno;
                        if (i)
                                close(fds[0]);
                        return error_sys(err, r, "open '%s'", path);
                }
        }
        int r = 0;
        for (int i = 0; i < 2 && r == 0; i++) {
                _cleanup_free_ char *path = xasprintf("/proc/%d/ns/%s", (int)pid, ns[i].name);
                if ((r = sys_setns(fds[i], ns[i].type, path)) < 0)
                        error_sys(err, r, "join '%s' of rootless husk's pause process", path);
        }
        close(fds[0]);
        close(fds[1]);
        if (r < 0)
                return r;
        /* setns into a mount namespace moves to its root: come back. */
        if (!have_cwd || chdir(cwd) < 0)
                (void)!chdir("/");
        return 0;
}

int rootless_enter(const char *runroot, struct error *err)
{
        if (geteuid() == 0)
                return 0;
        int r = mkdir_parents(runroot);
        if (r < 0)
                return error_sys(err, r, "create '%s'", runroot);
        /* /tmp/husk-run-UID could have been made by someone else first. */
        struct stat st;
        if (lstat(runroot, &st) < 0)
                return error_sys(err, -errno, "stat '%s'", runroot);
        if (!S_ISDIR(st.st_mode) || st.st_uid != getuid())
                return error_msg(err, -EPERM,
                                 "runroot '%s' is not a directory of uid %u: set "
                                 "XDG_RUNTIME_DIR or --runroot",
                                 runroot, (unsigned)getuid());
        _cleanup_free_ char *lock = xasprintf("%s/pause.lock", runroot);
        _cleanup_close_ int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (lfd < 0)
                return error_sys(err, -errno, "open '%s'", lock);
        while (flock(lfd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return error_sys(err, -errno, "lock '%s'", lock);
        pid_t pid = live_pause(runroot);
        if (!pid && (r = pause_create(runroot, &pid, err)) < 0)
                return r;
        return join(pid, err);
}

int rootless_loopback_up(pid_t init, struct error *err)
{
        char p[64];
        snprintf(p, sizeof(p), "/proc/%d/ns/net", (int)init);
        struct stat a, b;
        if (stat(p, &a) < 0 || stat("/proc/self/ns/net", &b) < 0)
                return error_sys(err, -errno, "network namespace of %d", (int)init);
        /* --network host: the host's loopback is up, and not ours to change. */
        if (a.st_ino == b.st_ino && a.st_dev == b.st_dev)
                return 0;
        _cleanup_close_ int target = open(p, O_RDONLY | O_CLOEXEC);
        if (target < 0)
                return error_sys(err, -errno, "open '%s'", p);
        /* A child enters the namespace: the host's is owned by the initial user
         * namespace, where we may not setns back. */
        explain("nsenter --net=%s ip link set lo up", p);
        pid_t c = fork();
        if (c < 0)
                return error_sys(err, -errno, "fork");
        if (c == 0) {
                if (setns(target, CLONE_NEWNET) < 0)
                        _exit(1);
                int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                struct ifreq ifr = {0};
                snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
                if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
                        _exit(2);
                ifr.ifr_flags |= IFF_UP;
                _exit(ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? 2 : 0);
        }
        int st = 0;
        while (waitpid(c, &st, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
                return error_msg(err, -EIO, "bring up lo in the container (%s %s)", p,
                                 WIFEXITED(st) && WEXITSTATUS(st) == 1 ? "could not be entered"
                                                                       : "refused");
        return 0;
}
