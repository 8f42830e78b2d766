#include "runtime/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"
#include "core/sys.h"
#include "core/util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *env_get(char **env, const char *name)
{
        size_t n = strlen(name);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
                        return env[i] + n + 1;
        return NULL;
}

static char **env_set(char **env, const char *name, const char *value)
{
        size_t n = strlen(name);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], name, n) == 0 && env[i][n] == '=') {
                        free(env[i]);
                        env[i] = xasprintf("%s=%s", name, value);
                        return env;
                }
        return strv_push(env, xasprintf("%s=%s", name, value));
}

/* One /etc/passwd entry as home_for reads it: its uid field and its home. */
struct pw_line {
        int field; /* index of the field being read */
        char uid[24], home[PATH_MAX];
        size_t uid_len, home_len;
        bool too_long; /* a field did not fit: not an entry we can use */
};

static bool pw_line_is(struct pw_line *l, uid_t uid)
{
        l->uid[l->uid_len] = l->home[l->home_len] = '\0';
        return l->field >= 5 && !l->too_long && l->uid_len > 0 &&
               (uid_t)strtoul(l->uid, NULL, 10) == uid;
}

/* HOME from the container's /etc/passwd for uid, "/" when absent, as runc does
 * (and empty when the entry's home field is, as runc and crun have it).
 * Parsed as it streams through a stack buffer, lines of any length, not
 * through stdio: the init shares its heap and libc's list of open FILEs
 * copy-on-write with its parent until it execs. */
static char *home_for(uid_t uid)
{
        _cleanup_close_ int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
        char buf[1024];
        struct pw_line l;
        l.field = 0;
        l.uid_len = l.home_len = 0;
        l.too_long = false;
        ssize_t n;
        while (fd >= 0 && ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))) {
                for (ssize_t i = 0; i < n; i++) {
                        char ch = buf[i];
                        if (ch == '\n') {
                                if (pw_line_is(&l, uid))
                                        return xstrdup(l.home);
                                l.field = 0;
                                l.uid_len = l.home_len = 0;
                                l.too_long = false;
                        } else if (ch == ':') {
                                l.field++;
                        } else if (l.field == 2) {
                                if (l.uid_len < sizeof(l.uid) - 1)
                                        l.uid[l.uid_len++] = ch;
                                else
                                        l.too_long = true;
                        } else if (l.field == 5) {
                                if (l.home_len < sizeof(l.home) - 1)
                                        l.home[l.home_len++] = ch;
                                else
                                        l.too_long = true;
                        }
                }
        }
        if (pw_line_is(&l, uid)) /* a last line without its newline */
                return xstrdup(l.home);
        return xstrdup("/");
}

static int is_executable(const char *path)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!(st.st_mode & 0111))
                return -EACCES;
        return 0;
}

static int tramp_memfd(void);

int process_plan(const struct process_opts *o, struct exec_plan *ret, struct error *err)
{
        const struct spec_process *p = o->proc;
        ret->tramp_fd = -1;
        if (!p->args || !p->args[0])
                return error_msg(err, -EINVAL, "process.args must not be empty");
        char **env = strv_copy(p->env);
        if (!env_get(env, "HOME")) {
                _cleanup_free_ char *home = home_for(p->user.uid);
                env = env_set(env, "HOME", home);
        }
        if (o->listen_fds > 0) {
                char n[16];
                snprintf(n, sizeof(n), "%d", o->listen_fds);
                env = env_set(env, "LISTEN_FDS", n);
                env = env_set(env, "LISTEN_PID", "1");
        }
        const char *arg0 = p->args[0];
        char *path = NULL;
        if (strchr(arg0, '/')) {
                int r = is_executable(arg0);
                if (r < 0) {
                        strv_free(env);
                        return error_sys(err, r, "exec '%s'", arg0);
                }
                path = xstrdup(arg0);
        } else {
                const char *search = env_get(env, "PATH");
                if (!search)
                        search = DEFAULT_PATH;
                _cleanup_free_ char *copy = xstrdup(search);
                char *save = NULL;
                for (char *dir = strtok_r(copy, ":", &save); dir && !path;
                     dir = strtok_r(NULL, ":", &save)) {
                        _cleanup_free_ char *cand = xasprintf("%s/%s", *dir ? dir : ".", arg0);
                        if (is_executable(cand) == 0)
                                path = TAKE_PTR(cand);
                }
                if (!path) {
                        strv_free(env);
                        return error_msg(err, -ENOENT,
                                         "exec '%s': executable file not found in $PATH", arg0);
                }
        }
        ret->path = path;
        ret->argv = p->args;
        ret->envp = env;
        ret->tramp_fd = tramp_memfd();
        return 0;
}

void exec_plan_done(struct exec_plan *p)
{
        free(p->path);
        strv_free(p->envp);
        if (p->tramp_fd >= 0)
                close(p->tramp_fd);
        p->path = NULL;
        p->envp = NULL;
        p->tramp_fd = -1;
}

static int load_seccomp(const struct process_opts *o, struct error *err)
{
        const struct seccomp_filter *f = o->seccomp;
        int r = seccomp_filter_load(f, f->notify ? o->seccomp_listener : -1,
                                    f->notify ? o->seccomp_state : NULL, err);
        if (r < 0)
                return r;
        if (f->notify)
                close(o->seccomp_listener);
        return 0;
}

static int apply_rlimits(const struct spec_process *p, struct error *err)
{
        for (size_t i = 0; i < p->n_rlimits; i++) {
                const struct spec_rlimit *l = &p->rlimits[i];
                struct rlimit rl = {.rlim_cur = l->soft, .rlim_max = l->hard};
                explain("prlimit --pid $$ --%s=%llu:%llu", l->name ? l->name + 7 : "?",
                        (unsigned long long)l->soft, (unsigned long long)l->hard);
                if (setrlimit(l->resource, &rl) == 0)
                        continue;
                int e = errno;
                struct rlimit now;
                if (e == EPERM && getrlimit(l->resource, &now) == 0 && rl.rlim_max > now.rlim_max)
                        return error_msg(err, -e,
                                         "process.rlimits[%zu]: set %s to %llu:%llu: the hard "
                                         "limit is %llu, and raising it needs CAP_SYS_RESOURCE "
                                         "in the host's user namespace (an unprivileged runtime "
                                         "has none)",
                                         i, l->name, (unsigned long long)l->soft,
                                         (unsigned long long)l->hard,
                                         (unsigned long long)now.rlim_max);
                return error_sys(err, -e, "process.rlimits[%zu]: set %s to %llu:%llu", i, l->name,
                                 (unsigned long long)l->soft, (unsigned long long)l->hard);
        }
        return 0;
}

static int write_proc_self(const char *file, const char *value, struct error *err)
{
        char path[128];
        snprintf(path, sizeof(path), "/proc/self/%s", file);
        int r = sys_write_file_at(AT_FDCWD, path, NULL, value);
        if (r < 0)
                return error_sys(err, r, "write '%s' to %s", value, path);
        return 0;
}

static int apply_lsm(const struct spec_process *p, struct error *err)
{
        if (p->apparmor_profile && *p->apparmor_profile) {
                if (access("/sys/kernel/security/apparmor", F_OK) == 0) {
                        _cleanup_free_ char *v = xasprintf("exec %s", p->apparmor_profile);
                        int r = write_proc_self("attr/apparmor/exec", v, NULL);
                        if (r < 0)
                                r = write_proc_self("attr/exec", v, err);
                        if (r < 0)
                                return error_wrap(err, r, "apparmor profile '%s'",
                                                  p->apparmor_profile);
                } else {
                        log_warn("apparmor is not enabled on this host; profile '%s' not applied",
                                 p->apparmor_profile);
                }
        }
        if (p->selinux_label && *p->selinux_label) {
                if (access("/sys/fs/selinux/enforce", F_OK) == 0) {
                        int r = write_proc_self("attr/exec", p->selinux_label, err);
                        if (r < 0)
                                return error_wrap(err, r, "selinux label '%s'", p->selinux_label);
                } else {
                        log_warn("selinux is not enabled on this host; label '%s' not applied",
                                 p->selinux_label);
                }
        }
        return 0;
}

static void caps_string(uint64_t set, char *buf, size_t len)
{
        size_t o = 0;
        buf[0] = '\0';
        int last = spec_cap_last();
        for (int c = 0; c <= last; c++)
                if (set & (1ULL << c)) {
                        const char *n = spec_cap_name(c);
                        o += snprintf(buf + o, o < len ? len - o : 0, "%s+%s", o ? "," : "",
                                      n ? n + 4 : "?");
                }
        if (!o)
                snprintf(buf, len, "-all");
}

static int capset_all(const struct spec_caps *c)
{
        struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct d[2] = {0};
        d[0].effective = (uint32_t)c->effective;
        d[1].effective = (uint32_t)(c->effective >> 32);
        d[0].permitted = (uint32_t)c->permitted;
        d[1].permitted = (uint32_t)(c->permitted >> 32);
        d[0].inheritable = (uint32_t)c->inheritable;
        d[1].inheritable = (uint32_t)(c->inheritable >> 32);
        return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static int apply_user_and_caps(const struct process_opts *o, struct error *err)
{
        const struct spec_process *p = o->proc;
        const struct spec_caps *c = &p->caps;
        int last = spec_cap_last();
        char b[2048];
        if (p->has_caps) {
                if (explain_on()) {
                        caps_string(c->bounding, b, sizeof(b));
                        explain(
                            "setpriv --bounding-set -all%s%s  # drop the rest of the bounding set",
                            c->bounding ? "," : "", c->bounding ? b : "");
                }
                for (int cap = 0; cap <= last; cap++)
                        if (!(c->bounding & (1ULL << cap)) &&
                            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                                return error_sys(err, -errno,
                                                 "drop capability %s from the bounding set",
                                                 spec_cap_name(cap));
                if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                        return error_sys(err, -errno, "prctl PR_SET_KEEPCAPS");
        }
        /* Supplementary groups first, while we may still set them. */
        gid_t groups[256];
        size_t ng = p->user.n_additional_gids < 256 ? p->user.n_additional_gids : 256;
        for (size_t i = 0; i < ng; i++)
                groups[i] = p->user.additional_gids[i];
        if (explain_on()) {
                size_t off = 0;
                b[0] = '\0';
                for (size_t i = 0; i < ng; i++)
                        off += snprintf(b + off, sizeof(b) - off, "%s%u", i ? "," : "", groups[i]);
                explain("setpriv --reuid %u --regid %u %s%s", p->user.uid, p->user.gid,
                        ng ? "--groups " : "--clear-groups", ng ? b : "");
        }
        if (setgroups(ng, groups) < 0) {
                /* In a user namespace with setgroups denied only an empty list is fine. */
                if (errno == EPERM && o->userns && ng > 0)
                        return error_msg(err, -EPERM,
                                         "process.user.additionalGids: setgroups is denied in "
                                         "this user namespace (a single gid mapping written "
                                         "unprivileged; map subordinate gids through "
                                         "newgidmap to allow it)");
                if (!(errno == EPERM && o->userns && ng == 0))
                        return error_sys(err, -errno, "setgroups");
        }
        /* EINVAL: the id has no mapping in the container's user namespace. */
        if (setresgid(p->user.gid, p->user.gid, p->user.gid) < 0)
                return error_sys(err, -errno, "process.user.gid: set gid %u%s", p->user.gid,
                                 errno == EINVAL && o->userns ? " (not in linux.gidMappings)" : "");
        if (setresuid(p->user.uid, p->user.uid, p->user.uid) < 0)
                return error_sys(err, -errno, "process.user.uid: set uid %u%s", p->user.uid,
                                 errno == EINVAL && o->userns ? " (not in linux.uidMappings)" : "");
        if (!p->has_caps)
                return 0;
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return error_sys(err, -errno, "prctl PR_SET_KEEPCAPS");
        if (explain_on()) {
                caps_string(c->inheritable, b, sizeof(b));
                explain("setpriv --inh-caps %s", b);
        }
        int r = capset_all(c);
        if (r < 0)
                return error_sys(err, r, "set capabilities");
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return error_sys(err, -errno, "clear ambient capabilities");
        /* An ambient capability needs to be permitted and inheritable; runc's own
         * default spec lists ambient ones without inheritable, and runc skips
         * those that can't be raised. So do we. */
        uint64_t raised = 0;
        for (int cap = 0; cap <= last; cap++)
                if (c->ambient & (1ULL << cap)) {
                        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) == 0) {
                                raised |= 1ULL << cap;
                                continue;
                        }
                        if (errno != EPERM)
                                return error_sys(err, -errno, "raise ambient capability %s",
                                                 spec_cap_name(cap));
                        log_debug("ambient capability %s not raised: not inheritable",
                                  spec_cap_name(cap));
                }
        if (explain_on()) {
                char skipped[2048];
                caps_string(raised, b, sizeof(b));
                caps_string(c->ambient & ~raised, skipped, sizeof(skipped));
                if (raised != c->ambient)
                        explain("setpriv --ambient-caps %s  # not raised (not inheritable): %s", b,
                                skipped);
                else
                        explain("setpriv --ambient-caps %s", b);
        }
        return 0;
}

/* The process starts as runc's and crun's do: every signal at its default
 * disposition and none blocked, whatever its runtime's caller ignored or
 * blocked (ignored signals and the mask survive exec; a shell can't even trap
 * a signal ignored on entry). Before any seccomp filter, which need not allow
 * rt_sigaction. */
static void reset_signals(void)
{
        for (int sig = 1; sig < NSIG; sig++) {
                struct sigaction sa;
                if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
                        continue; /* also glibc's own (SIGCANCEL, SIGSETXID): EINVAL */
                if (!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL)
                        continue;
                signal(sig, SIG_DFL);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        explain_note("signals: default dispositions, none blocked");
}

int process_apply(const struct process_opts *o, struct error *err)
{
        const struct spec_process *p = o->proc;
        int r;
        reset_signals();
        if (!o->no_new_keyring) {
                /* A fresh session keyring, so the container can't see the host's keys. */
                explain("keyctl session -  # new session keyring");
                if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, NULL) < 0 &&
                    errno != ENOSYS && errno != EPERM && errno != EACCES)
                        return error_sys(err, -errno, "join a new session keyring");
        }
        if ((r = apply_rlimits(p, err)) < 0)
                return r;
        if (p->has_oom_score_adj) {
                char v[16];
                snprintf(v, sizeof(v), "%d", p->oom_score_adj);
                if ((r = write_proc_self("oom_score_adj", v, err)) < 0)
                        return r;
        }
        if ((r = apply_lsm(p, err)) < 0)
                return r;
        mode_t um = p->user.has_umask ? (mode_t)p->user.umask : 022;
        explain("umask %04o", (unsigned)um);
        umask(um);
        /* Without no_new_privs, loading a filter takes CAP_SYS_ADMIN, which the
         * user switch may drop: load it now (runc's order; the filter then
         * also sees the switch, which a profile must allow). */
        if (o->seccomp && !p->no_new_privileges && (r = load_seccomp(o, err)) < 0)
                return r;
        if ((r = apply_user_and_caps(o, err)) < 0)
                return r;
        const char *cwd = p->cwd && *p->cwd ? p->cwd : "/";
        if ((r = sys_chdir(cwd)) < 0)
                return error_sys(err, r, "chdir to cwd '%s'", cwd);
        /* The cwd must be reachable from the container's root (CVE-2024-21626). */
        char here[8];
        if (!getcwd(here, sizeof(here)) && errno != ERANGE)
                return error_sys(err, -errno, "cwd '%s' is outside the container's root", cwd);
        if (p->no_new_privileges) {
                explain("setpriv --no-new-privs");
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        return error_sys(err, -errno, "set no_new_privs");
        }
        return 0;
}

extern const char husk_tramp_start[], husk_tramp_end[];

/* A sealed memfd holding the exec trampoline (src/runtime/trampoline/tramp.c). */
static int tramp_memfd(void)
{
        int fd = memfd_create("husk-exec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, husk_tramp_start, (size_t)(husk_tramp_end - husk_tramp_start));
        if (r == 0 &&
            fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int process_exec(const struct process_opts *o, const struct exec_plan *plan, struct error *err)
{
        /* The preserved fds were made inheritable when the runtime started (before it
         * opened anything of its own); everything past them closes at exec. */
        unsigned first = 3 + (unsigned)(o->preserve_fds + o->listen_fds);
        syscall(SYS_close_range, first, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
        /* As late as possible, so that a profile need allow no more than the exec. */
        if (o->seccomp && o->proc->no_new_privileges) {
                int r = load_seccomp(o, err);
                if (r < 0)
                        return r;
        }
        if (explain_on()) {
                char b[2048];
                size_t off = 0;
                for (size_t i = 0; plan->argv[i] && off < sizeof(b); i++)
                        off += snprintf(b + off, sizeof(b) - off, " %s", shq(plan->argv[i]));
                explain("exec%s", b);
        }
        /* Through the trampoline, so that /proc/self/exe never names the runtime's
         * binary while the kernel resolves the program (CVE-2019-5736). */
        int tfd = plan->tramp_fd;
        if (tfd >= 0) {
                size_t n = strv_len(plan->argv);
                char **targv = xzalloc((n + 2) * sizeof(char *));
                targv[0] = plan->path;
                memcpy(targv + 1, plan->argv, n * sizeof(char *));
                /* A filter that does not plainly allow execveat (it may kill for it)
                 * gets the same trampoline through execve and /proc. */
                if (!o->seccomp || o->seccomp->execveat_direct)
                        syscall(SYS_execveat, tfd, "", targv, plan->envp, AT_EMPTY_PATH);
                char self[64];
                snprintf(self, sizeof(self), "/proc/self/fd/%d", tfd);
                execve(self, targv, plan->envp);
                /* Only a host that forbids executing memfds (vm.memfd_noexec=2), a
                 * container without /proc or a filter that refuses both execs of the
                 * trampoline gets here: exec directly. */
                free(targv);
        }
        execve(plan->path, plan->argv, plan->envp);
        return error_sys(err, -errno, "exec '%s'", plan->path);
}
