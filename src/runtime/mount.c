#include "runtime/mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"

/* Undoes mountinfo's octal escapes ("\040" for a space) in place. */
static void unescape(char *s)
{
        char *o = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else {
                        *o++ = *p;
                }
        }
        *o = '\0';
}

static int parse_line(char *line, struct mountinfo *e)
{
        char *f[32];
        size_t n = 0;
        char *save = NULL;
        for (char *t = strtok_r(line, " \n", &save); t && n < ARRAY_SIZE(f);
             t = strtok_r(NULL, " \n", &save))
                f[n++] = t;
        /* id parent maj:min root mount-point options [optional...] - fstype source super */
        size_t dash = 6;
        while (dash < n && strcmp(f[dash], "-") != 0)
                dash++;
        if (n < 7 || dash + 2 >= n)
                return -EINVAL;
        *e = (struct mountinfo){0};
        for (size_t i = 6; i < dash; i++)
                if (str_startswith(f[i], "shared:"))
                        e->shared = true;
        unescape(f[3]);
        unescape(f[4]);
        unescape(f[dash + 2]);
        e->root = xstrdup(f[3]);
        e->mount_point = xstrdup(f[4]);
        e->options = xstrdup(f[5]);
        e->fstype = xstrdup(f[dash + 1]);
        e->source = xstrdup(f[dash + 2]);
        e->super_opts = xstrdup(dash + 3 < n ? f[dash + 3] : "");
        return 0;
}

int mountinfo_read(struct mountinfo **ret, size_t *ret_n)
{
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, "/proc/self/mountinfo", 0, &text, NULL);
        if (r < 0)
                return r;
        struct mountinfo *v = NULL;
        size_t n = 0;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct mountinfo e;
                if (parse_line(line, &e) < 0)
                        continue;
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = e;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

void mountinfo_free(struct mountinfo *m, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(m[i].mount_point);
                free(m[i].root);
                free(m[i].fstype);
                free(m[i].source);
                free(m[i].options);
                free(m[i].super_opts);
        }
        free(m);
}

bool path_below(const char *path, const char *dir)
{
        if (strcmp(dir, "/") == 0)
                return path[0] == '/';
        size_t l = strlen(dir);
        return strncmp(path, dir, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

const struct mountinfo *mountinfo_find(const struct mountinfo *m, size_t n, const char *path,
                                       const char *fstype_prefix)
{
        const struct mountinfo *best = NULL;
        size_t best_len = 0;
        for (size_t i = 0; i < n; i++) {
                if (fstype_prefix && !str_startswith(m[i].fstype, fstype_prefix))
                        continue;
                size_t l = strlen(m[i].mount_point);
                if (path_below(path, m[i].mount_point) && (!best || l >= best_len)) {
                        best = &m[i];
                        best_len = l;
                }
        }
        return best;
}

int path_clean(const char *path, char *buf, size_t len)
{
        if (len < 2)
                return -ENAMETOOLONG;
        size_t o = 0;
        buf[o++] = '/';
        const char *p = path;
        while (*p) {
                while (*p == '/')
                        p++;
                const char *end = strchrnul(p, '/');
                size_t cl = (size_t)(end - p);
                if (cl == 0 || (cl == 1 && p[0] == '.')) {
                        /* nothing */
                } else if (cl == 2 && p[0] == '.' && p[1] == '.') {
                        while (o > 1 && buf[o - 1] != '/')
                                o--;
                        if (o > 1)
                                o--;
                } else {
                        if (o + cl + 2 > len)
                                return -ENAMETOOLONG;
                        if (o > 1)
                                buf[o++] = '/';
                        memcpy(buf + o, p, cl);
                        o += cl;
                }
                p = end;
        }
        buf[o] = '\0';
        return 0;
}

int mount_remount_bind(const char *target, const char *shown, unsigned long flags)
{
        unsigned long f = flags | MS_REMOUNT | MS_BIND;
        int r = sys_mount(NULL, target, shown, NULL, f, NULL);
        if (r != -EPERM)
                return r;
        /* A mount that came from a more privileged namespace has its nosuid,
         * nodev, noexec, ro and atime flags locked: keep them, as runc does. */
        struct statvfs sv;
        if (statvfs(target, &sv) < 0)
                return r;
        unsigned long locked = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_RDONLY |
                                            ST_NOATIME | ST_NODIRATIME | ST_RELATIME);
        if ((f | locked) == f)
                return r;
        explain_note("the kernel keeps flags locked by the source mount; retrying with them");
        return sys_mount(NULL, target, shown, NULL, f | locked, NULL);
}

int mount_propagate(const char *target, const char *shown, unsigned long propagation)
{
        static const unsigned long types[] = {MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE};
        for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
                if (!(propagation & types[i]))
                        continue;
                int r =
                    sys_mount(NULL, target, shown, NULL, types[i] | (propagation & MS_REC), NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

void mount_idmap_string(const struct spec_id_mapping *uids, size_t n_uids,
                        const struct spec_id_mapping *gids, size_t n_gids, char *buf, size_t len)
{
        size_t o = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < n_uids + n_gids; i++) {
                const struct spec_id_mapping *m = i < n_uids ? &uids[i] : &gids[i - n_uids];
                o += snprintf(buf + o, o < len ? len - o : 0, "%s%c:%u:%u:%u", o ? " " : "",
                              i < n_uids ? 'u' : 'g', m->container_id, m->host_id, m->size);
        }
}

static char *map_text(const struct spec_id_mapping *m, size_t n)
{
        char *s = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *t = xasprintf("%s%u %u %u\n", s, m[i].container_id, m[i].host_id, m[i].size);
                free(s);
                s = t;
        }
        return s;
}

int mount_make_userns(const struct spec_id_mapping *uids, size_t n_uids,
                      const struct spec_id_mapping *gids, size_t n_gids, int *ret_fd,
                      struct error *err)
{
        int ready[2], hold[2];
        if (pipe2(ready, O_CLOEXEC) < 0)
                return error_sys(err, -errno, "pipe");
        if (pipe2(hold, O_CLOEXEC) < 0) {
                int r = -errno;
                close(ready[0]);
                close(ready[1]);
                return error_sys(err, r, "pipe");
        }
        explain_note("a helper process holds a new user namespace for the idmapped mount");
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(ready[0]);
                close(ready[1]);
                close(hold[0]);
                close(hold[1]);
                return error_sys(err, r, "fork");
        }
        if (pid == 0) {
                /* Its pid as the mounted /proc names it: in a new pid namespace
                 * fork()'s answer is not the one /proc knows. */
                char msg[32] = "n";
                if (unshare(CLONE_NEWUSER) == 0) {
                        ssize_t n = readlink("/proc/self", msg + 1, sizeof(msg) - 2);
                        if (n > 0) {
                                msg[0] = 'y';
                                msg[n + 1] = '\0';
                        }
                }
                char c;
                close(ready[0]);
                close(hold[1]);
                if (write(ready[1], msg, sizeof(msg)) != (ssize_t)sizeof(msg))
                        _exit(1);
                /* Stay until the parent has opened the namespace (EOF on hold). */
                while (read(hold[0], &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        close(ready[1]);
        close(hold[0]);
        char msg[32] = "n";
        int r = 0;
        if (read_all(ready[0], msg, sizeof(msg)) != (ssize_t)sizeof(msg) || msg[0] != 'y')
                r = error_msg(err, -EPERM, "create a user namespace for the idmapped mount");
        msg[sizeof(msg) - 1] = '\0';
        close(ready[0]);
        int fd = -EBADF;
        if (r == 0) {
                char path[64], shown[64];
                const char *proc_pid = msg + 1;
                _cleanup_free_ char *u = map_text(uids, n_uids);
                _cleanup_free_ char *g = map_text(gids, n_gids);
                snprintf(path, sizeof(path), "/proc/%s/uid_map", proc_pid);
                r = sys_write_file_at(AT_FDCWD, path, path, u);
                if (r < 0) {
                        error_sys(err, r, "write '%s'", path);
                } else {
                        snprintf(path, sizeof(path), "/proc/%s/gid_map", proc_pid);
                        r = sys_write_file_at(AT_FDCWD, path, path, g);
                        if (r < 0)
                                error_sys(err, r, "write '%s'", path);
                }
                if (r == 0) {
                        snprintf(shown, sizeof(shown), "/proc/%s/ns/user", proc_pid);
                        fd = open(shown, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                r = error_sys(err, -errno, "open '%s'", shown);
                }
        }
        close(hold[1]);
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        *ret_fd = fd;
        return 0;
}
