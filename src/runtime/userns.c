#include "runtime/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"

static enum userns_rootless_mode rootless_mode = ROOTLESS_AUTO;

void userns_set_rootless(enum userns_rootless_mode mode)
{
        rootless_mode = mode;
}

bool userns_in_child_namespace(void)
{
        _cleanup_free_ char *map = NULL;
        if (read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, NULL) < 0)
                return false;
        unsigned long inside, outside, count;
        if (sscanf(map, "%lu %lu %lu", &inside, &outside, &count) != 3)
                return true;
        const char *nl = strchr(map, '\n');
        bool one_line = !nl || !nl[1];
        return !(inside == 0 && outside == 0 && count == 4294967295UL && one_line);
}

bool userns_rootless(void)
{
        if (rootless_mode != ROOTLESS_AUTO)
                return rootless_mode == ROOTLESS_TRUE;
        return geteuid() != 0 || userns_in_child_namespace();
}

const char *userns_caller(void)
{
        static char buf[64];
        if (geteuid() == 0 && userns_in_child_namespace())
                return "root of a user namespace";
        snprintf(buf, sizeof(buf), "uid %u", (unsigned)geteuid());
        return buf;
}

/* The range of subid_text's line for user (by name or id) that holds host, if any. */
static bool subid_range_at(const char *text, const char *user, uint32_t id, uint64_t host,
                           uint64_t *ret_end)
{
        char idstr[16];
        snprintf(idstr, sizeof(idstr), "%u", id);
        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                _cleanup_free_ char *l = xstrndup(line, len);
                line = nl ? nl + 1 : NULL;
                char *c1 = strchr(l, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2 || l[0] == '#')
                        continue;
                *c1 = *c2 = '\0';
                if (strcmp(l, idstr) != 0 && (!user || strcmp(l, user) != 0))
                        continue;
                uint64_t start, count;
                if (parse_u64(c1 + 1, &start) < 0 || parse_u64(c2 + 1, &count) < 0 || !count)
                        continue;
                if (host >= start && host < start + count) {
                        *ret_end = start + count;
                        return true;
                }
        }
        return false;
}

bool userns_subid_allows(const char *subid_text, const char *user, uint32_t id, uint32_t host,
                         uint32_t size)
{
        if (size == 1 && host == id)
                return true;
        uint64_t at = host, end = (uint64_t)host + size;
        while (at < end) {
                uint64_t range_end;
                if (!subid_range_at(subid_text ? subid_text : "", user, id, at, &range_end))
                        return false;
                at = range_end;
        }
        return true;
}

static bool is_self_map(const struct spec_id_mapping *m, size_t n, uint32_t id)
{
        return n == 1 && m[0].host_id == id && m[0].size == 1;
}

static int write_map_file(pid_t pid, const char *file, const struct spec_id_mapping *m, size_t n,
                          struct error *err)
{
        char buf[4096], path[64];
        size_t off = 0;
        for (size_t i = 0; i < n && off < sizeof(buf); i++)
                off += snprintf(buf + off, sizeof(buf) - off, "%u %u %u\n", m[i].container_id,
                                m[i].host_id, m[i].size);
        if (off >= sizeof(buf))
                return error_msg(err, -E2BIG, "%zu mappings do not fit in %s", n, file);
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        /* echo's own newline ends the last line, so show it without ours. */
        if (off)
                buf[off - 1] = '\0';
        int r = sys_write_file_at(AT_FDCWD, path, path, buf);
        if (r < 0)
                return error_sys(err, r, "write %s", path);
        return 0;
}

/* Runs "tool PID C H S ..." and returns its exit status (127: not runnable),
 * with what it printed in out. */
static int run_map_tool(const char *tool, pid_t pid, const struct spec_id_mapping *m, size_t n,
                        char *out, size_t out_len, struct error *err)
{
        _cleanup_strv_ char **argv = NULL;
        argv = strv_push(argv, xstrdup(tool));
        argv = strv_push(argv, xasprintf("%d", (int)pid));
        for (size_t i = 0; i < n; i++) {
                argv = strv_push(argv, xasprintf("%u", m[i].container_id));
                argv = strv_push(argv, xasprintf("%u", m[i].host_id));
                argv = strv_push(argv, xasprintf("%u", m[i].size));
        }
        if (explain_on()) {
                char line[4096];
                size_t o = 0;
                for (char **a = argv; *a && o < sizeof(line); a++)
                        o += snprintf(line + o, sizeof(line) - o, "%s%s", o ? " " : "", *a);
                explain("%s", line);
        }
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return error_sys(err, -errno, "%s: pipe", tool);
        pid_t child = fork();
        if (child < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return error_sys(err, r, "%s: fork", tool);
        }
        if (child == 0) {
                signal(SIGPIPE, SIG_DFL);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
                        _exit(127);
                syscall(SYS_close_range, 3, ~0U, 0);
                execvp(tool, argv);
                dprintf(2, "%s: %s", tool, strerror(errno));
                _exit(127);
        }
        close(p[1]);
        size_t got = read_to_eof(p[0], out, out_len);
        close(p[0]);
        while (got && (out[got - 1] == '\n' || out[got - 1] == ' '))
                out[--got] = '\0';
        for (char *c = out; *c; c++)
                if (*c == '\n')
                        *c = ' ';
        int status = 0;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* One kind of id: "uid" or "gid". */
struct id_kind {
        const char *field;   /* linux.uidMappings */
        const char *file;    /* uid_map */
        const char *tool;    /* newuidmap */
        const char *subfile; /* /etc/subuid */
        const char *what;    /* uid */
        uint32_t self;       /* geteuid() */
};

/* Maps through newuidmap/newgidmap; on failure, says which entry is not ours. */
static int map_with_tool(const struct id_kind *k, pid_t pid, const struct spec_id_mapping *m,
                         size_t n, struct error *err)
{
        char out[1024];
        int st = run_map_tool(k->tool, pid, m, n, out, sizeof(out), err);
        if (st < 0)
                return error_wrap(err, st, "%s", k->field);
        if (st == 0)
                return 0;
        struct passwd *pw = getpwuid(geteuid());
        const char *user = pw ? pw->pw_name : NULL;
        if (st == 127)
                return error_msg(err, -ENOENT,
                                 "%s: only a single mapping of your own %s %u can be written "
                                 "without %s, which could not be run (install the uidmap "
                                 "package): %s",
                                 k->field, k->what, k->self, k->tool, out);
        _cleanup_free_ char *subids = NULL;
        (void)read_file_at(AT_FDCWD, k->subfile, 0, &subids, NULL);
        /* The helper's message starts with its own name. */
        const char *said = str_startswith(out, k->tool) ? out : NULL;
        for (size_t i = 0; i < n; i++) {
                if (userns_subid_allows(subids, user, k->self, m[i].host_id, m[i].size))
                        continue;
                char ids[64];
                if (m[i].size == 1)
                        snprintf(ids, sizeof(ids), "host %s %u", k->what, m[i].host_id);
                else
                        snprintf(ids, sizeof(ids), "host %ss %u-%llu", k->what, m[i].host_id,
                                 (unsigned long long)m[i].host_id + m[i].size - 1);
                return error_msg(err, -EPERM,
                                 "%s[%zu]: %s %s not yours to map: %s %u (%s) may map only its own "
                                 "%s and the subordinate %ss that %s gives it (%s%s%s)",
                                 k->field, i, ids, m[i].size == 1 ? "is" : "are", k->what, k->self,
                                 user ? user : "no name", k->what, k->what, k->subfile,
                                 said ? "" : k->tool, said ? "" : ": ", out);
        }
        return error_msg(err, -EPERM, "%s: %s failed with exit status %d: %s", k->field, k->tool,
                         st, out);
}

int userns_write_maps(const struct spec *s, pid_t pid, struct error *err)
{
        const struct spec_linux *l = &s->linux;
        int r;
        if (geteuid() == 0) {
                if ((r = write_map_file(pid, "uid_map", l->uid_mappings, l->n_uid_mappings, err)) <
                    0)
                        return error_wrap(err, r, "linux.uidMappings");
                if ((r = write_map_file(pid, "gid_map", l->gid_mappings, l->n_gid_mappings, err)) <
                    0)
                        return error_wrap(err, r, "linux.gidMappings");
                return 0;
        }
        const struct id_kind uid = {"linux.uidMappings", "uid_map", "newuidmap",
                                    "/etc/subuid",       "uid",     geteuid()};
        const struct id_kind gid = {"linux.gidMappings", "gid_map", "newgidmap",
                                    "/etc/subgid",       "gid",     getegid()};
        if (is_self_map(l->uid_mappings, l->n_uid_mappings, uid.self)) {
                if ((r = write_map_file(pid, uid.file, l->uid_mappings, l->n_uid_mappings, err)) <
                    0)
                        return error_wrap(err, r, "%s", uid.field);
        } else if ((r = map_with_tool(&uid, pid, l->uid_mappings, l->n_uid_mappings, err)) < 0) {
                return r;
        }
        if (is_self_map(l->gid_mappings, l->n_gid_mappings, gid.self)) {
                /* The kernel takes an unprivileged gid map only once setgroups is denied. */
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
                r = sys_write_file_at(AT_FDCWD, path, path, "deny");
                if (r < 0 && r != -ENOENT)
                        return error_sys(err, r, "%s: write %s", gid.field, path);
                if ((r = write_map_file(pid, gid.file, l->gid_mappings, l->n_gid_mappings, err)) <
                    0)
                        return error_wrap(err, r, "%s", gid.field);
                return 0;
        }
        /* newgidmap denies setgroups itself unless subordinate gids are mapped. */
        return map_with_tool(&gid, pid, l->gid_mappings, l->n_gid_mappings, err);
}
