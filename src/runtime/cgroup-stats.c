/* What a running container's cgroup says and does beyond limits: freezing
 * (pause/resume), statistics in runc's `events` shape, and OOM events. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup-internal.h"
#include "runtime/resources.h"

#define FREEZE_TIMEOUT_MS 10000

/* The directory of a controller among dirs: a v1 hierarchy that has it,
 * else (v2name given) the v2 directory if its cgroup.controllers lists it
 * (v2name "" means any v2 directory: core files). */
static const char *find_dir(char *const *dirs, const char *v1name, const char *v2name, bool *ret_v2)
{
        const struct cg_layout *l;
        if (cg_layout_get(&l, NULL) < 0)
                return NULL;
        const char *v2dir = NULL;
        for (char *const *d = dirs; d && *d; d++) {
                const struct cg_hier *h = cg_hier_of(l, *d);
                if (!h)
                        continue;
                if (h->v2)
                        v2dir = *d;
                else if (v1name && cg_hier_has(h, v1name)) {
                        *ret_v2 = false;
                        return *d;
                }
        }
        if (!v2dir || !v2name)
                return NULL;
        *ret_v2 = true;
        if (!*v2name)
                return v2dir;
        _cleanup_free_ char *f = xasprintf("%s/cgroup.controllers", v2dir), *t = NULL;
        if (read_file_at(AT_FDCWD, f, 0, &t, NULL) < 0)
                return NULL;
        for (char *save = NULL, *w = strtok_r(t, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
                if (strcmp(w, v2name) == 0)
                        return v2dir;
        return NULL;
}

static char *read_text(const char *dir, const char *file)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        char *t = NULL;
        if (read_file_at(AT_FDCWD, p, 0, &t, NULL) < 0)
                return NULL;
        return t;
}

static void sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* Value of "key N" in a flat keyed file; false when absent. */
static bool keyed(const char *text, const char *key, uint64_t *ret)
{
        size_t n = strlen(key);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                if (strncmp(p, key, n) == 0 && p[n] == ' ') {
                        *ret = strtoull(p + n + 1, NULL, 10);
                        return true;
                }
        }
        return false;
}

/* ---- freezer ---- */

static int freeze_v1(const char *d, bool frozen, struct error *err)
{
        const char *want = frozen ? "FROZEN" : "THAWED";
        _cleanup_free_ char *p = xasprintf("%s/freezer.state", d);
        int64_t deadline = now_ms() + FREEZE_TIMEOUT_MS;
        for (int i = 0;; i++) {
                /* Writing again nudges a freeze that got stuck in FREEZING, as runc does. */
                if (i % 10 == 0) {
                        int r = sys_write_file_at(AT_FDCWD, p, NULL, want);
                        if (r < 0)
                                return error_sys(err, r, "write '%s' to '%s'", want, p);
                }
                _cleanup_free_ char *s = read_text(d, "freezer.state");
                if (s && str_startswith(s, want))
                        return 0;
                if (now_ms() > deadline)
                        return error_msg(err, -ETIMEDOUT, "'%s' stays '%s', not '%s'", p,
                                         s ? strtok(s, "\n") : "?", want);
                sleep_ms(i < 10 ? 1 : 10);
        }
}

static int freeze_v2(const char *d, bool frozen, struct error *err)
{
        _cleanup_free_ char *p = xasprintf("%s/cgroup.freeze", d);
        int r = sys_write_file_at(AT_FDCWD, p, NULL, frozen ? "1" : "0");
        if (r < 0)
                return error_sys(err, r, "write '%s' to '%s'", frozen ? "1" : "0", p);
        int64_t deadline = now_ms() + FREEZE_TIMEOUT_MS;
        for (int i = 0;; i++) {
                _cleanup_free_ char *ev = read_text(d, "cgroup.events");
                uint64_t v;
                if (!ev)
                        return error_sys(err, -ENOENT, "read '%s/cgroup.events'", d);
                if (keyed(ev, "frozen", &v) && (v == 1) == frozen)
                        return 0;
                if (now_ms() > deadline)
                        return error_msg(err, -ETIMEDOUT,
                                         "'%s/cgroup.events' does not say frozen %d", d, frozen);
                sleep_ms(i < 10 ? 1 : 10);
        }
}

int cgroup_frozen(char *const *dirs)
{
        bool v2 = false;
        const char *d = find_dir(dirs, "freezer", "", &v2);
        if (!d)
                return 0;
        _cleanup_free_ char *p = xasprintf("%s/%s", d, v2 ? "cgroup.freeze" : "freezer.state");
        _cleanup_free_ char *v = NULL;
        if (read_file_at(AT_FDCWD, p, 64, &v, NULL) < 0)
                return 0;
        return v2 ? v[0] == '1' : str_startswith(v, "FROZEN");
}

int cgroup_freeze(char *const *dirs, bool frozen, struct error *err)
{
        bool v2 = false;
        const char *d = find_dir(dirs, "freezer", "", &v2);
        if (!d)
                return error_msg(err, -EOPNOTSUPP, "the freezer controller is not available");
        int r = v2 ? freeze_v2(d, frozen, err) : freeze_v1(d, frozen, err);
        if (r < 0 && frozen) {
                /* Leave nothing half-frozen behind. */
                if (v2)
                        (void)freeze_v2(d, false, NULL);
                else
                        (void)freeze_v1(d, false, NULL);
        }
        return r;
}

/* ---- stats ---- */

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
        json_object_object_add(o, k, json_object_new_uint64(v));
}

static uint64_t file_u64(const char *dir, const char *file)
{
        _cleanup_free_ char *t = read_text(dir, file);
        if (!t)
                return 0;
        if (str_startswith(t, "max"))
                return UINT64_MAX;
        return strtoull(t, NULL, 10);
}

static struct json_object *stats_cpu(char *const *dirs)
{
        struct json_object *cpu = json_object_new_object();
        struct json_object *usage = json_object_new_object();
        struct json_object *thr = json_object_new_object();
        bool v2;
        const char *d = find_dir(dirs, "cpuacct", "", &v2);
        if (d && !v2) {
                add_u64(usage, "total", file_u64(d, "cpuacct.usage"));
                struct json_object *pc = json_object_new_array();
                _cleanup_free_ char *t = read_text(d, "cpuacct.usage_percpu");
                for (char *p = t, *end; p && *p; p = end) {
                        uint64_t v = strtoull(p, &end, 10);
                        if (end == p)
                                break;
                        json_object_array_add(pc, json_object_new_uint64(v));
                }
                json_object_object_add(usage, "percpu", pc);
                _cleanup_free_ char *st = read_text(d, "cpuacct.stat");
                uint64_t user = 0, sys = 0, ns = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);
                if (st) {
                        keyed(st, "user", &user);
                        keyed(st, "system", &sys);
                }
                add_u64(usage, "kernel", sys * ns);
                add_u64(usage, "user", user * ns);
        }
        const char *c = find_dir(dirs, "cpu", "", &v2);
        _cleanup_free_ char *st = c ? read_text(c, "cpu.stat") : NULL;
        uint64_t v = 0;
        if (st && v2) {
                add_u64(usage, "total", keyed(st, "usage_usec", &v) ? v * 1000 : 0);
                add_u64(usage, "kernel", keyed(st, "system_usec", &v) ? v * 1000 : 0);
                add_u64(usage, "user", keyed(st, "user_usec", &v) ? v * 1000 : 0);
                add_u64(thr, "throttled_time", keyed(st, "throttled_usec", &v) ? v * 1000 : 0);
        } else if (st) {
                add_u64(thr, "throttled_time", keyed(st, "throttled_time", &v) ? v : 0);
        }
        if (st) {
                add_u64(thr, "periods", keyed(st, "nr_periods", &v) ? v : 0);
                add_u64(thr, "throttled_periods", keyed(st, "nr_throttled", &v) ? v : 0);
        }
        json_object_object_add(cpu, "usage", usage);
        json_object_object_add(cpu, "throttling", thr);
        return cpu;
}

static struct json_object *mem_entry(const char *d, const char *usage, const char *max,
                                     const char *failcnt, const char *limit)
{
        struct json_object *o = json_object_new_object();
        add_u64(o, "usage", usage ? file_u64(d, usage) : 0);
        add_u64(o, "max", max ? file_u64(d, max) : 0);
        add_u64(o, "failcnt", failcnt ? file_u64(d, failcnt) : 0);
        add_u64(o, "limit", limit ? file_u64(d, limit) : 0);
        return o;
}

static struct json_object *stats_memory(char *const *dirs)
{
        bool v2;
        const char *d = find_dir(dirs, "memory", "memory", &v2);
        if (!d)
                return NULL;
        struct json_object *m = json_object_new_object();
        _cleanup_free_ char *stat = read_text(d, "memory.stat");
        struct json_object *raw = json_object_new_object();
        uint64_t cache = 0;
        for (char *save = NULL, *line = stat ? strtok_r(stat, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
                char *sp = strchr(line, ' ');
                if (!sp)
                        continue;
                *sp = '\0';
                uint64_t v = strtoull(sp + 1, NULL, 10);
                add_u64(raw, line, v);
                if (strcmp(line, v2 ? "file" : "cache") == 0)
                        cache = v;
        }
        add_u64(m, "cache", cache);
        if (v2) {
                json_object_object_add(
                    m, "usage", mem_entry(d, "memory.current", "memory.peak", NULL, "memory.max"));
                json_object_object_add(m, "swap",
                                       mem_entry(d, "memory.swap.current", "memory.swap.peak", NULL,
                                                 "memory.swap.max"));
        } else {
                json_object_object_add(m, "usage",
                                       mem_entry(d, "memory.usage_in_bytes",
                                                 "memory.max_usage_in_bytes", "memory.failcnt",
                                                 "memory.limit_in_bytes"));
                json_object_object_add(
                    m, "swap",
                    mem_entry(d, "memory.memsw.usage_in_bytes", "memory.memsw.max_usage_in_bytes",
                              "memory.memsw.failcnt", "memory.memsw.limit_in_bytes"));
                json_object_object_add(
                    m, "kernel",
                    mem_entry(d, "memory.kmem.usage_in_bytes", "memory.kmem.max_usage_in_bytes",
                              "memory.kmem.failcnt", "memory.kmem.limit_in_bytes"));
        }
        json_object_object_add(m, "raw", raw);
        return m;
}

static struct json_object *stats_pids(char *const *dirs)
{
        bool v2;
        const char *d = find_dir(dirs, "pids", "pids", &v2);
        if (!d)
                return NULL;
        struct json_object *p = json_object_new_object();
        add_u64(p, "current", file_u64(d, "pids.current"));
        uint64_t max = file_u64(d, "pids.max");
        add_u64(p, "limit", max == UINT64_MAX ? 0 : max); /* runc: 0 is unlimited */
        return p;
}

static void blkio_entry(struct json_object *a, unsigned maj, unsigned min, const char *op,
                        uint64_t v)
{
        struct json_object *e = json_object_new_object();
        add_u64(e, "major", maj);
        add_u64(e, "minor", min);
        json_object_object_add(e, "op", json_object_new_string(op));
        add_u64(e, "value", v);
        json_object_array_add(a, e);
}

static struct json_object *blkio_v1_list(const char *d, const char *file)
{
        struct json_object *a = json_object_new_array();
        _cleanup_free_ char *t = read_text(d, file);
        for (char *save = NULL, *line = t ? strtok_r(t, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
                unsigned maj, min;
                char op[32];
                uint64_t v;
                if (sscanf(line, "%u:%u %31s %" SCNu64, &maj, &min, op, &v) == 4)
                        blkio_entry(a, maj, min, op, v);
        }
        return a;
}

static struct json_object *stats_blkio(char *const *dirs)
{
        bool v2;
        const char *d = find_dir(dirs, "blkio", "io", &v2);
        if (!d)
                return NULL;
        struct json_object *b = json_object_new_object();
        if (!v2) {
                json_object_object_add(
                    b, "ioServiceBytesRecursive",
                    blkio_v1_list(d, "blkio.throttle.io_service_bytes_recursive"));
                json_object_object_add(b, "ioServicedRecursive",
                                       blkio_v1_list(d, "blkio.throttle.io_serviced_recursive"));
                return b;
        }
        struct json_object *bytes = json_object_new_array(), *ios = json_object_new_array();
        _cleanup_free_ char *t = read_text(d, "io.stat");
        for (char *save = NULL, *line = t ? strtok_r(t, "\n", &save) : NULL; line;
             line = strtok_r(NULL, "\n", &save)) {
                unsigned maj, min;
                if (sscanf(line, "%u:%u", &maj, &min) != 2)
                        continue;
                uint64_t v;
                char *s = strchr(line, ' ');
                if (!s)
                        continue;
                /* "rbytes=1 wbytes=2 ..." -> keyed lookups on a space-separated copy. */
                for (char *p = s; *p; p++)
                        if (*p == '=')
                                *p = ' ';
                for (char *p = s; *p; p++)
                        if (*p == ' ' && p[1] && strchr("rwd", p[1]))
                                *p = '\n';
                if (keyed(s + 1, "rbytes", &v))
                        blkio_entry(bytes, maj, min, "Read", v);
                if (keyed(s + 1, "wbytes", &v))
                        blkio_entry(bytes, maj, min, "Write", v);
                if (keyed(s + 1, "rios", &v))
                        blkio_entry(ios, maj, min, "Read", v);
                if (keyed(s + 1, "wios", &v))
                        blkio_entry(ios, maj, min, "Write", v);
        }
        json_object_object_add(b, "ioServiceBytesRecursive", bytes);
        json_object_object_add(b, "ioServicedRecursive", ios);
        return b;
}

static struct json_object *stats_hugetlb(char *const *dirs)
{
        bool v2;
        const char *d = find_dir(dirs, "hugetlb", "hugetlb", &v2);
        if (!d)
                return NULL;
        struct json_object *h = json_object_new_object();
        DIR *dir = opendir(d);
        const char *suffix = v2 ? ".current" : ".usage_in_bytes";
        for (struct dirent *e; dir && (e = readdir(dir));) {
                if (!str_startswith(e->d_name, "hugetlb.") || !str_endswith(e->d_name, suffix) ||
                    strstr(e->d_name, ".rsvd."))
                        continue;
                char size[32];
                snprintf(size, sizeof(size), "%.*s",
                         (int)(strlen(e->d_name) - strlen("hugetlb.") - strlen(suffix)),
                         e->d_name + strlen("hugetlb."));
                struct json_object *s = json_object_new_object();
                _cleanup_free_ char *u = xasprintf("hugetlb.%s%s", size, suffix);
                add_u64(s, "usage", file_u64(d, u));
                _cleanup_free_ char *m =
                    xasprintf(v2 ? "hugetlb.%s.max" : "hugetlb.%s.max_usage_in_bytes", size);
                add_u64(s, "max", v2 ? 0 : file_u64(d, m));
                uint64_t fail = 0;
                if (v2) {
                        _cleanup_free_ char *ev = xasprintf("hugetlb.%s.events", size);
                        _cleanup_free_ char *t = read_text(d, ev);
                        if (t)
                                keyed(t, "max", &fail);
                } else {
                        _cleanup_free_ char *f = xasprintf("hugetlb.%s.failcnt", size);
                        fail = file_u64(d, f);
                }
                add_u64(s, "failcnt", fail);
                json_object_object_add(h, size, s);
        }
        if (dir)
                closedir(dir);
        return h;
}

struct json_object *cgroup_stats(char *const *dirs)
{
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "cpu", stats_cpu(dirs));
        struct json_object *v;
        if ((v = stats_memory(dirs)))
                json_object_object_add(o, "memory", v);
        if ((v = stats_pids(dirs)))
                json_object_object_add(o, "pids", v);
        if ((v = stats_blkio(dirs)))
                json_object_object_add(o, "blkio", v);
        if ((v = stats_hugetlb(dirs)))
                json_object_object_add(o, "hugetlb", v);
        return o;
}

/* ---- OOM ---- */

static int read_kills(struct oom_watch *w, uint64_t *ret)
{
        _cleanup_free_ char *t = read_text(w->dir, w->v2 ? "memory.events" : "memory.oom_control");
        if (!t)
                return -ENOENT;
        *ret = 0;
        keyed(t, "oom_kill", ret);
        return 0;
}

int cgroup_oom_watch(char *const *dirs, struct oom_watch *w, struct error *err)
{
        memset(w, 0, sizeof(*w));
        w->fd = w->aux = -1;
        bool v2;
        const char *d = find_dir(dirs, "memory", "memory", &v2);
        if (!d)
                return error_msg(err, -EOPNOTSUPP, "the memory controller is not available");
        w->dir = xstrdup(d);
        w->v2 = v2;
        if (v2) {
                w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
                if (w->fd < 0)
                        return error_sys(err, -errno, "inotify_init1");
                _cleanup_free_ char *p = xasprintf("%s/memory.events", d);
                if (inotify_add_watch(w->fd, p, IN_MODIFY) < 0) {
                        int r = -errno;
                        cgroup_oom_unwatch(w);
                        return error_sys(err, r, "watch '%s'", p);
                }
        } else {
                _cleanup_free_ char *p = xasprintf("%s/memory.oom_control", d);
                w->aux = open(p, O_RDONLY | O_CLOEXEC);
                w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
                if (w->aux < 0 || w->fd < 0) {
                        int r = -errno;
                        cgroup_oom_unwatch(w);
                        return error_sys(err, r, "open '%s'", p);
                }
                char v[64];
                snprintf(v, sizeof(v), "%d %d", w->fd, w->aux);
                _cleanup_free_ char *ec = xasprintf("%s/cgroup.event_control", d);
                int r = sys_write_file_at(AT_FDCWD, ec, NULL, v);
                if (r < 0) {
                        cgroup_oom_unwatch(w);
                        return error_sys(err, r, "register an OOM eventfd in '%s'", ec);
                }
        }
        if (read_kills(w, &w->kills) < 0) {
                cgroup_oom_unwatch(w);
                return error_sys(err, -ENOENT, "read the OOM counter in '%s'", d);
        }
        return 0;
}

int cgroup_oom_check(struct oom_watch *w)
{
        char buf[4096];
        while (read(w->fd, buf, sizeof(buf)) > 0)
                ;
        uint64_t now;
        if (read_kills(w, &now) < 0)
                return -ENOENT;
        uint64_t n = now > w->kills ? now - w->kills : 0;
        w->kills = now;
        return n > 1000 ? 1000 : (int)n;
}

void cgroup_oom_unwatch(struct oom_watch *w)
{
        if (w->fd >= 0)
                close(w->fd);
        if (w->aux >= 0)
                close(w->aux);
        w->fd = w->aux = -1;
        free(w->dir);
        w->dir = NULL;
}
