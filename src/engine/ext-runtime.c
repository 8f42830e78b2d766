/* External OCI runtimes driven through the runc CLI. See ext-runtime.h. */
#include "engine/ext-runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/json.h"
#include "core/sys.h"
#include "core/util.h"
#include "engine/engine.h"
#include "image/fsutil.h"
#include "runtime/container-cgroup.h"
#include "runtime/container.h"
#include "runtime/spec.h"
#include "runtime/terminal.h"

/* ---------------------------------------------------------------- resolving */

static int check_exec(const char *path, const char *name, struct error *err)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return error_sys(err, -errno, "runtime '%s': '%s'", name, path);
        if (!S_ISREG(st.st_mode))
                return error_msg(err, -EACCES, "runtime '%s': '%s' is not a regular file", name,
                                 path);
        if (access(path, X_OK) < 0)
                return error_sys(err, -errno, "runtime '%s': '%s' is not executable", name, path);
        return 0;
}

int extrt_resolve(const char *name, char **ret, struct error *err)
{
        if (!name || !name[0])
                return error_msg(err, -EINVAL, "--runtime: an empty runtime name");
        if (strchr(name, '/')) {
                char *abs = realpath(name, NULL);
                if (!abs)
                        return error_sys(err, -errno, "runtime '%s'", name);
                int r = check_exec(abs, name, err);
                if (r < 0) {
                        free(abs);
                        return r;
                }
                *ret = abs;
                return 0;
        }
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = xstrdup(path && path[0] ? path
                                                            : "/usr/local/sbin:/usr/local/"
                                                              "bin:/usr/sbin:/usr/bin:/sbin:"
                                                              "/bin");
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                if (dir[0] != '/')
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
                struct stat st;
                if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || access(p, X_OK) < 0)
                        continue;
                *ret = realpath(p, NULL);
                if (!*ret)
                        return error_sys(err, -errno, "runtime '%s': '%s'", name, p);
                return 0;
        }
        return error_msg(err, -ENOENT,
                         "runtime '%s' not found: no executable of that name in $PATH", name);
}

void extrt_config(struct json_object *doc, const char *path)
{
        struct json_object *hc;
        if (json_object_object_get_ex(doc, "HostConfig", &hc))
                json_object_object_add(hc, "Runtime",
                                       json_object_new_string(path && path[0] ? path : "husk"));
}

/* ---------------------------------------------------------------- calling it */

/* The text of a memfd the runtime wrote, NULL when empty. */
static char *memfd_text(int fd)
{
        if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (len + 4096 > cap) {
                        cap = cap ? cap * 2 : 8192;
                        buf = xrealloc(buf, cap);
                }
                ssize_t n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
                if (len > (1 << 20))
                        break;
        }
        if (!buf)
                return NULL;
        buf[len] = '\0';
        return len ? TAKE_PTR(buf) : NULL;
}

/* runc's logfmt line `time="..." level=error msg="text"`: just the text. */
static void unquote_msg(char *l)
{
        char *m = strstr(l, "msg=\"");
        if (!m)
                return;
        char *o = l;
        for (char *p = m + 5; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                        p++;
                *o++ = *p;
        }
        *o = '\0';
}

/* What the runtime said went wrong: its log's error lines (runc's
 * `level=error msg=...`; a runtime without levels: every line) and its
 * stderr, joined with "; ". NULL when it said nothing. */
static char *failure_text(int logfd, int errfd)
{
        _cleanup_free_ char *log = memfd_text(logfd), *stderr_text = memfd_text(errfd);
        char *out = NULL;
        const char *texts[] = {log, stderr_text};
        for (size_t t = 0; t < ARRAY_SIZE(texts); t++) {
                if (!texts[t])
                        continue;
                _cleanup_free_ char *copy = xstrdup(texts[t]);
                char *save = NULL;
                for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                        if (strstr(l, "level=") && !strstr(l, "level=error") &&
                            !strstr(l, "level=fatal"))
                                continue;
                        unquote_msg(l);
                        char *joined = xasprintf("%s%s%s", out ? out : "", out ? "; " : "", l);
                        free(out);
                        out = joined;
                        if (strlen(out) > 4000)
                                return out;
                }
        }
        return out;
}

/* The errno for what the runtime said: the engine turns -ENOENT / -EACCES
 * of a process that could not be executed into docker's 127 / 126. */
static int why_code(const char *why)
{
        if (!why)
                return -EIO;
        return strcasestr(why, "permission denied")                              ? -EACCES
               : strcasestr(why, "not found") || strcasestr(why, "no such file") ? -ENOENT
                                                                                 : -EIO;
}

/* Forks `rt --root root --log /proc/self/fd/3 ARGS...` with stdio[0..2] as
 * its fds 0-2 and logfd as its fd 3, signals at their defaults and an empty
 * mask (the container's init inherits both from it). */
static int rt_spawn(const char *rt, const char *root, char *const *args, const int stdio[3],
                    int logfd, pid_t *ret, struct error *err)
{
        char *argv[32];
        size_t n = 0;
        argv[n++] = (char *)rt;
        argv[n++] = "--root";
        argv[n++] = (char *)root;
        argv[n++] = "--log";
        argv[n++] = "/proc/self/fd/3";
        for (size_t i = 0; args[i] && n < ARRAY_SIZE(argv) - 1; i++)
                argv[n++] = args[i];
        argv[n] = NULL;
        if (explain_on()) {
                _cleanup_free_ char *line = xstrdup(shq(rt));
                for (size_t i = 1; i < n; i++) {
                        char *l = xasprintf("%s %s", line, shq(argv[i]));
                        free(line);
                        line = l;
                }
                explain("%s", line);
        }
        pid_t pid = fork();
        if (pid < 0)
                return error_sys(err, -errno, "fork runtime '%s'", rt);
        if (pid == 0) {
                int high[4];
                int src[4] = {stdio[0], stdio[1], stdio[2], logfd};
                for (int i = 0; i < 4; i++)
                        high[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 10);
                for (int i = 0; i < 4; i++)
                        if (high[i] < 0 || dup2(high[i], i) < 0)
                                _exit(127);
                for (int s = 1; s < NSIG; s++)
                        if (s != SIGKILL && s != SIGSTOP)
                                signal(s, SIG_DFL);
                sigset_t none;
                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                execv(rt, argv);
                dprintf(3, "exec '%s': %s\n", rt, strerror(errno));
                _exit(127);
        }
        *ret = pid;
        return 0;
}

static int wait_child(pid_t pid)
{
        int st = 0;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return -1;
        return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static int new_memfd(const char *name, struct error *err)
{
        int fd = memfd_create(name, MFD_CLOEXEC);
        if (fd < 0)
                return error_sys(err, -errno, "memfd_create");
        return fd;
}

/* Runs the runtime and waits. stdio NULL: /dev/null in, *ret_out (when
 * given) out, a memfd as stderr. A non-zero exit is an error with what the
 * runtime said. */
static int rt_call(const char *rt, const char *root, char *const *args, const int *stdio,
                   char **ret_out, struct error *err)
{
        _cleanup_close_ int logfd = new_memfd("husk-runtime-log", err);
        if (logfd < 0)
                return logfd;
        _cleanup_close_ int errfd = stdio ? -EBADF : new_memfd("husk-runtime-stderr", err);
        _cleanup_close_ int outfd = stdio || !ret_out ? -EBADF : new_memfd("husk-runtime-out", err);
        _cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
                return error_sys(err, -errno, "open /dev/null");
        int fds[3] = {null, outfd >= 0 ? outfd : null, errfd >= 0 ? errfd : null};
        if (stdio)
                memcpy(fds, stdio, sizeof(fds));
        pid_t pid;
        int r = rt_spawn(rt, root, args, fds, logfd, &pid, err);
        if (r < 0)
                return r;
        int status = wait_child(pid);
        if (status != 0) {
                _cleanup_free_ char *why = failure_text(logfd, errfd);
                return error_msg(err, why_code(why), "runtime '%s' %s: %s", rt, args[0],
                                 why          ? why
                                 : status < 0 ? "could not wait for it"
                                              : "failed without saying why");
        }
        if (ret_out)
                *ret_out = memfd_text(outfd);
        return 0;
}

/* ---------------------------------------------------------------- a private temporary dir */

/* A 0700 directory in /tmp for the console socket, pid and process files:
 * sun_path is short, and the container's run dir may be long. */
static int tmp_dir(char **ret, struct error *err)
{
        char tmpl[] = "/tmp/husk-rt-XXXXXX";
        if (!mkdtemp(tmpl))
                return error_sys(err, -errno, "create a directory in /tmp");
        *ret = xstrdup(tmpl);
        return 0;
}

static void tmp_dir_remove(char *dir)
{
        if (!dir)
                return;
        const char *names[] = {"console", "pid", "process.json"};
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, names[i]);
                unlink(p);
        }
        rmdir(dir);
        free(dir);
}

static int console_listen(const char *dir, char **ret_path, struct error *err)
{
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return error_sys(err, -errno, "socket");
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s/console", dir);
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
                int r = error_sys(err, -errno, "console socket '%s'", a.sun_path);
                close(fd);
                return r;
        }
        *ret_path = xstrdup(a.sun_path);
        return fd;
}

/* Accepts the runtime's connection on the console socket and receives the
 * pty master; waits at most timeout_ms, or until pid (when > 0) exits. */
static int console_receive(int lfd, pid_t pid, int timeout_ms, int *ret_master, struct error *err)
{
        _cleanup_close_ int pfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -EBADF;
        int64_t end = now_ms() + timeout_ms;
        for (;;) {
                struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
                int64_t left = end - now_ms();
                if (left <= 0)
                        break;
                int n = poll(p, 2, (int)left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                if (p[0].revents & POLLIN) {
                        _cleanup_close_ int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                        if (conn < 0)
                                continue;
                        int flags = fcntl(conn, F_GETFL);
                        fcntl(conn, F_SETFL, flags & ~O_NONBLOCK);
                        if (recv_fd(conn, ret_master) < 0)
                                return error_msg(err, -EIO, "receive the pty from the runtime");
                        return 0;
                }
                if (p[1].revents & POLLIN)
                        break;
        }
        return error_msg(err, -EIO, "the runtime handed over no terminal");
}

static int read_pid(const char *dir, pid_t *ret, struct error *err)
{
        _cleanup_free_ char *p = xasprintf("%s/pid", dir);
        _cleanup_free_ char *text = NULL;
        uint64_t v = 0;
        const char *num =
            read_file_at(AT_FDCWD, p, 64, &text, NULL) < 0 ? NULL : strtok(text, " \n");
        if (!num || parse_u64(num, &v) < 0 || v == 0 || v > INT_MAX)
                return error_msg(err, -EIO, "the runtime wrote no valid pid file '%s'", p);
        *ret = (pid_t)v;
        return 0;
}

/* ---------------------------------------------------------------- the init's memory cgroup */

/* The directory of pid's memory cgroup: the v1 hierarchy holding "memory",
 * else the v2 one; NULL when not found. */
static char *memory_cgroup_of(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
        _cleanup_free_ char *cg = NULL, *mi = NULL;
        if (read_file_at(AT_FDCWD, path, 0, &cg, NULL) < 0 ||
            read_file_at(AT_FDCWD, "/proc/self/mountinfo", 0, &mi, NULL) < 0)
                return NULL;
        const char *rel = NULL;
        bool v2 = false;
        char *save = NULL;
        for (char *l = strtok_r(cg, "\n", &save); l && !rel; l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c2 = '\0';
                _cleanup_free_ char *ctrls = xasprintf(",%s,", c1 + 1);
                if (strstr(ctrls, ",memory,"))
                        rel = c2 + 1;
        }
        if (!rel) { /* pure v2: the "0::" line */
                free(cg);
                cg = NULL;
                if (read_file_at(AT_FDCWD, path, 0, &cg, NULL) < 0)
                        return NULL;
                const char *z = strstr(cg, "0::");
                if (!z || (z != cg && z[-1] != '\n'))
                        return NULL;
                char *end = strchr(z, '\n');
                if (end)
                        *end = '\0';
                rel = z + 3;
                v2 = true;
        }
        /* mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPEROPTS */
        for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char root[PATH_MAX], mp[PATH_MAX], fstype[64], superopts[512] = "";
                const char *dash = strstr(l, " - ");
                if (!dash || sscanf(l, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
                    sscanf(dash + 3, "%63s %*s %511s", fstype, superopts) < 1)
                        continue;
                _cleanup_free_ char *opts = xasprintf(",%s,", superopts);
                bool match = v2 ? strcmp(fstype, "cgroup2") == 0
                                : strcmp(fstype, "cgroup") == 0 && strstr(opts, ",memory,");
                if (!match)
                        continue;
                size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
                if (rl && strncmp(rel, root, rl) != 0)
                        continue;
                return xasprintf("%s%s", mp, rel + rl);
        }
        return NULL;
}

int extrt_cgroup_dirs(struct engine *e, const char *id, char ***ret)
{
        _cleanup_free_ char *dir = engine_ctr_dir(e, id);
        _cleanup_free_ char *p = xasprintf("%s/runtime-cgroup", dir);
        _cleanup_free_ char *text = NULL;
        if (read_file_at(AT_FDCWD, p, PATH_MAX, &text, NULL) < 0)
                return -ENOENT;
        text[strcspn(text, "\n")] = '\0';
        char **v = xzalloc(2 * sizeof(*v));
        v[0] = xstrdup(text);
        *ret = v;
        return 0;
}

/* Notes where the runtime put the init's memory cgroup, for OOM kills. */
static void note_cgroup(const char *bundle, pid_t pid)
{
        _cleanup_free_ char *p = xasprintf("%s/runtime-cgroup", bundle);
        _cleanup_free_ char *cg = memory_cgroup_of(pid);
        if (!cg) {
                unlink(p);
                return;
        }
        _cleanup_close_ int dfd = open(bundle, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *line = xasprintf("%s\n", cg);
        if (dfd >= 0)
                write_file_atomic(dfd, "runtime-cgroup", line, strlen(line), 0600);
}

/* ---------------------------------------------------------------- create, start */

/* The engine writes ociVersion 1.2.0; runtimes released before it (crun 1.8
 * refuses "unknown version specified") take the config as the runtime-spec
 * version podman writes, 1.0.2-dev: nothing husk puts in config.json needs
 * a later one, and fields a runtime does not know it ignores. */
static int set_oci_version(const char *bundle, struct error *err)
{
        _cleanup_close_ int dfd = open(bundle, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return error_sys(err, -errno, "open '%s'", bundle);
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(dfd, "config.json", 0, &text, NULL);
        if (r < 0)
                return error_sys(err, r, "read '%s/config.json'", bundle);
        _cleanup_json_ struct json_object *cfg = NULL;
        if ((r = json_parse_string("config.json", text, &cfg, err)) < 0)
                return r;
        json_object_object_add(cfg, "ociVersion", json_object_new_string("1.0.2-dev"));
        const char *out = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PRETTY);
        if ((r = write_file_atomic(dfd, "config.json", out, strlen(out), 0644)) < 0)
                return error_sys(err, r, "write '%s/config.json'", bundle);
        return 0;
}

int extrt_create(const char *rt, const char *root, const char *id, const char *bundle,
                 int console_fd, pid_t *ret_pid, struct error *err)
{
        if (mkdir(root, 0700) < 0 && errno != EEXIST)
                return error_sys(err, -errno, "create '%s'", root);
        int r = set_oci_version(bundle, err);
        if (r < 0)
                return r;
        char *dir = NULL;
        if ((r = tmp_dir(&dir, err)) < 0)
                return r;
        _cleanup_free_ char *pidfile = xasprintf("%s/pid", dir);
        _cleanup_free_ char *console = NULL;
        _cleanup_close_ int lfd = -EBADF;
        if (console_fd >= 0 && (lfd = console_listen(dir, &console, err)) < 0) {
                tmp_dir_remove(dir);
                return lfd;
        }
        char *args[] = {"create",     "--bundle", (char *)bundle,
                        "--pid-file", pidfile,    console ? "--console-socket" : (char *)id,
                        console,      (char *)id, NULL};
        if (!console)
                args[6] = NULL;
        const int stdio[3] = {0, 1, 2};
        r = rt_call(rt, root, args, stdio, NULL, err);
        bool made = r == 0;
        if (r == 0 && (r = read_pid(dir, ret_pid, err)) == 0)
                note_cgroup(bundle, *ret_pid);
        if (r == 0 && lfd >= 0) {
                int master = -1;
                r = console_receive(lfd, 0, 5000, &master, err);
                if (r == 0) {
                        if (send_fd(console_fd, master, "console") < 0)
                                r = error_sys(err, -errno, "pass the container's pty on");
                        close(master);
                }
        }
        tmp_dir_remove(dir);
        if (r < 0 && made) {
                struct error ign = {0};
                char *del[] = {"delete", "--force", (char *)id, NULL};
                rt_call(rt, root, del, NULL, NULL, &ign);
                error_clear(&ign);
        }
        return r;
}

int extrt_start(const char *rt, const char *root, const char *id, struct error *err)
{
        char *args[] = {"start", (char *)id, NULL};
        return rt_call(rt, root, args, NULL, NULL, err);
}

/* ---------------------------------------------------------------- exec */

static pid_t proc_ppid(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        _cleanup_free_ char *text = NULL;
        if (read_file_at(AT_FDCWD, path, 4096, &text, NULL) < 0)
                return -1;
        const char *p = strrchr(text, ')');
        int ppid = -1;
        return p && sscanf(p + 1, " %*c %d", &ppid) == 1 ? ppid : -1;
}

static struct json_object *str_array(char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static struct json_object *cap_array(uint64_t set)
{
        struct json_object *a = json_object_new_array();
        for (int c = 0; c < 64; c++)
                if ((set >> c) & 1 && spec_cap_name(c))
                        json_object_array_add(a, json_object_new_string(spec_cap_name(c)));
        return a;
}

/* The bundle's process with p's changes, as process.json. */
static int write_process(const char *bundle, const struct spec_process *p, bool tty,
                         const char *path, struct error *err)
{
        _cleanup_free_ char *cfgpath = xasprintf("%s/config.json", bundle);
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, cfgpath, 0, &text, NULL);
        if (r < 0)
                return error_sys(err, r, "read '%s'", cfgpath);
        _cleanup_json_ struct json_object *cfg = NULL;
        if ((r = json_parse_string(cfgpath, text, &cfg, err)) < 0)
                return r;
        struct json_object *proc, *user;
        if (!json_object_object_get_ex(cfg, "process", &proc))
                return error_msg(err, -EINVAL, "'%s' has no process", cfgpath);
        json_object_object_add(proc, "terminal", json_object_new_boolean(tty));
        json_object_object_del(proc, "consoleSize");
        json_object_object_add(proc, "args", str_array(p->args));
        json_object_object_add(proc, "env", str_array(p->env));
        if (p->cwd)
                json_object_object_add(proc, "cwd", json_object_new_string(p->cwd));
        if (!json_object_object_get_ex(proc, "user", &user)) {
                user = json_object_new_object();
                json_object_object_add(proc, "user", user);
        }
        json_object_object_add(user, "uid", json_object_new_int64(p->user.uid));
        json_object_object_add(user, "gid", json_object_new_int64(p->user.gid));
        if (p->has_caps) {
                struct json_object *caps = json_object_new_object();
                json_object_object_add(caps, "bounding", cap_array(p->caps.bounding));
                json_object_object_add(caps, "effective", cap_array(p->caps.effective));
                json_object_object_add(caps, "permitted", cap_array(p->caps.permitted));
                json_object_object_add(caps, "inheritable", cap_array(p->caps.inheritable));
                json_object_object_add(caps, "ambient", cap_array(p->caps.ambient));
                json_object_object_add(proc, "capabilities", caps);
        }
        const char *out = json_object_to_json_string_ext(proc, JSON_C_TO_STRING_PLAIN);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return error_sys(err, -errno, "create '%s'", path);
        r = write_all(fd, out, strlen(out));
        close(fd);
        return r < 0 ? error_sys(err, r, "write '%s'", path) : 0;
}

static int exec_failure(const char *rt, const char *why, struct error *err)
{
        return error_msg(err, why_code(why), "runtime '%s' exec: %s", rt, why);
}

int extrt_exec(const char *rt, const char *root, const char *id, const char *bundle,
               const struct spec_process *p, bool tty, bool detach, int *ret_status,
               int *ret_master, pid_t *ret_pid, struct error *err)
{
        char *dir = NULL;
        int r = tmp_dir(&dir, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *procfile = xasprintf("%s/process.json", dir);
        _cleanup_free_ char *pidfile = xasprintf("%s/pid", dir);
        _cleanup_free_ char *console = NULL;
        _cleanup_close_ int logfd = -EBADF, errfd = -EBADF, null = -EBADF, lfd = -EBADF;
        if ((r = write_process(bundle, p, tty, procfile, err)) < 0)
                goto out;
        if (tty && (lfd = console_listen(dir, &console, err)) < 0) {
                r = lfd;
                goto out;
        }
        if ((logfd = new_memfd("husk-runtime-log", err)) < 0 ||
            (errfd = new_memfd("husk-runtime-stderr", err)) < 0) {
                r = -EIO;
                goto out;
        }
        if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
                r = error_sys(err, -errno, "open /dev/null");
                goto out;
        }
        char *args[12];
        size_t n = 0;
        args[n++] = "exec";
        args[n++] = "--process";
        args[n++] = procfile;
        /* With a terminal, as conmon: the runtime starts the process
         * detached and hands the pty over; we are a subreaper, so the process
         * becomes our child when the runtime exits, and we relay and reap it. */
        if (tty) {
                args[n++] = "--tty";
                args[n++] = "--console-socket";
                args[n++] = console;
        }
        if (detach || tty) {
                args[n++] = "--detach";
                args[n++] = "--pid-file";
                args[n++] = pidfile;
        }
        args[n++] = (char *)id;
        args[n] = NULL;
        /* The process has our stdio (detached: none, and the runtime's
         * stderr is only for its own complaints). */
        int stdio[3] = {0, 1, 2};
        if (detach || tty)
                stdio[0] = stdio[1] = null, stdio[2] = errfd;
        if (tty && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
                r = error_sys(err, -errno, "become a subreaper");
                goto out;
        }
        pid_t pid;
        if ((r = rt_spawn(rt, root, args, stdio, logfd, &pid, err)) < 0)
                goto out;
        int status = wait_child(pid);
        if (tty && status == 0) {
                pid_t proc = 0;
                int master = -1;
                if ((r = read_pid(dir, &proc, err)) < 0 ||
                    (r = console_receive(lfd, 0, 5000, &master, err)) < 0)
                        goto out;
                if (proc_ppid(proc) != getpid()) {
                        kill(proc, SIGKILL);
                        close(master);
                        r = error_msg(err, -EIO,
                                      "runtime '%s' exec: process %d did not become ours to wait "
                                      "for",
                                      rt, (int)proc);
                        goto out;
                }
                *ret_master = master;
                *ret_pid = proc;
        }
        /* The process's own status, unless the runtime complained. */
        if (status != 0) {
                _cleanup_free_ char *why = failure_text(logfd, errfd);
                if (why || detach) {
                        r = exec_failure(rt, why ? why : "failed without saying why", err);
                        goto out;
                }
        }
        *ret_status = status;
        r = 0;
out:
        tmp_dir_remove(dir);
        return r;
}

/* ---------------------------------------------------------------- dispatch */

static bool ext(const struct ctr *c)
{
        return c->runtime && c->runtime[0];
}

int engine_rt_kill(struct engine *e, const struct ctr *c, int sig, bool all, struct error *err)
{
        if (!ext(c))
                return container_kill(e->rt_root, c->id, sig, all, err);
        char num[16];
        snprintf(num, sizeof(num), "%d", sig);
        char *args[] = {"kill", all ? "--all" : (char *)c->id, all ? (char *)c->id : num,
                        all ? num : NULL, NULL};
        return rt_call(c->runtime, e->rt_root, args, NULL, NULL, err);
}

int engine_rt_pause(struct engine *e, const struct ctr *c, bool pause, struct error *err)
{
        if (!ext(c))
                return pause ? container_pause(e->rt_root, c->id, err)
                             : container_resume(e->rt_root, c->id, err);
        char *args[] = {pause ? "pause" : "resume", (char *)c->id, NULL};
        return rt_call(c->runtime, e->rt_root, args, NULL, NULL, err);
}

/* Parses the JSON the runtime printed. */
static int rt_json(const struct ctr *c, struct engine *e, char **args, struct json_object **ret,
                   struct error *err)
{
        _cleanup_free_ char *out = NULL;
        int r = rt_call(c->runtime, e->rt_root, args, NULL, &out, err);
        if (r < 0)
                return r;
        if (!out)
                return error_msg(err, -EIO, "runtime '%s' %s: printed nothing", c->runtime,
                                 args[0]);
        return json_parse_string(args[0], out, ret, err);
}

bool engine_rt_paused(struct engine *e, const struct ctr *c)
{
        if (!ext(c))
                return false;
        char *args[] = {"state", (char *)c->id, NULL};
        _cleanup_json_ struct json_object *st = NULL;
        struct error ign = {0};
        struct json_object *v;
        bool paused = rt_json(c, e, args, &st, &ign) == 0 &&
                      json_object_object_get_ex(st, "status", &v) &&
                      strcmp(json_object_get_string(v), "paused") == 0;
        error_clear(&ign);
        return paused;
}

static int cmp_pid(const void *a, const void *b)
{
        pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
        return x < y ? -1 : x > y;
}

int engine_rt_pids(struct engine *e, const struct ctr *c, pid_t **ret, size_t *ret_n,
                   struct error *err)
{
        char *args[] = {"ps", "--format", "json", (char *)c->id, NULL};
        _cleanup_json_ struct json_object *a = NULL;
        int r = rt_json(c, e, args, &a, err);
        if (r < 0)
                return r;
        if (!json_object_is_type(a, json_type_array))
                return error_msg(err, -EIO, "runtime '%s' ps: not a JSON array", c->runtime);
        size_t n = json_object_array_length(a);
        pid_t *pids = xzalloc((n + 1) * sizeof(*pids));
        for (size_t i = 0; i < n; i++)
                pids[i] = (pid_t)json_object_get_int(json_object_array_get_idx(a, i));
        qsort(pids, n, sizeof(*pids), cmp_pid);
        *ret = pids;
        *ret_n = n;
        return 0;
}

int engine_rt_stats(struct engine *e, const struct ctr *c, struct json_object **ret,
                    struct error *err)
{
        if (!ext(c))
                return container_stats(e->rt_root, c->id, ret, err);
        char *args[] = {"events", "--stats", (char *)c->id, NULL};
        _cleanup_json_ struct json_object *ev = NULL;
        int r = rt_json(c, e, args, &ev, err);
        if (r < 0)
                return r;
        struct json_object *data;
        if (!json_object_object_get_ex(ev, "data", &data))
                return error_msg(err, -EIO, "runtime '%s' events --stats: no data", c->runtime);
        *ret = json_object_get(data);
        return 0;
}

void engine_rt_delete(struct engine *e, const char *id)
{
        struct ctr c = {0};
        struct error ign = {0};
        if (ctr_get(e->store->db, id, &c, &ign) == 0 && ext(&c)) {
                char *args[] = {"delete", "--force", (char *)id, NULL};
                rt_call(c.runtime, e->rt_root, args, NULL, NULL, &ign);
        } else {
                error_clear(&ign);
                container_delete(e->rt_root, id, true, &ign);
        }
        error_clear(&ign);
        ctr_free(&c);
}
