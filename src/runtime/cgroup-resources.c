/* Writing struct resources into a container's cgroup directories.
 *
 * Each group of fields goes to the hierarchy that holds its controller:
 * a v1 hierarchy that has it, or else the v2 directory when the controller
 * is available there (cgroup.controllers). So a hybrid host gets memory in
 * v1 and hugetlb in v2, as it mounts them. Device rules are devices.allow /
 * devices.deny on v1 and an eBPF program on v2 (BPF_PROG_TYPE_CGROUP_DEVICE,
 * written by hand in resources.c, attached with BPF_F_ALLOW_MULTI as runc
 * does, replacing the programs attached before).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"
#include "runtime/cgroup-internal.h"
#include "runtime/resources.h"

struct ctx {
        const struct cg_layout *l;
        char *const *dirs;
        const char *path; /* "linux.resources" */
        struct res_apply_opts *o;
        struct error *err;
        const char *v2dir;
        char *v2ctrls; /* cgroup.controllers of v2dir, read once */
};

static bool has_word(const char *list, const char *word)
{
        size_t n = strlen(word);
        for (const char *p = list; p && (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ' || p[-1] == '\n') &&
                    (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
                        return true;
        return false;
}

static bool v2_has(struct ctx *c, const char *ctrl)
{
        if (!c->v2dir)
                return false;
        if (!c->v2ctrls) {
                _cleanup_free_ char *f = xasprintf("%s/cgroup.controllers", c->v2dir);
                if (read_file_at(AT_FDCWD, f, 0, &c->v2ctrls, NULL) < 0)
                        c->v2ctrls = xstrdup("");
        }
        return has_word(c->v2ctrls, ctrl);
}

/* The directory holding a controller: v1 first (by its v1 name), then v2. */
static const char *ctrl_dir(struct ctx *c, const char *v1name, const char *v2name, bool *ret_v2)
{
        for (char *const *d = c->dirs; d && *d; d++) {
                const struct cg_hier *h = cg_hier_of(c->l, *d);
                if (h && !h->v2 && v1name && cg_hier_has(h, v1name)) {
                        *ret_v2 = false;
                        return *d;
                }
        }
        if (v2name && v2_has(c, v2name)) {
                *ret_v2 = true;
                return c->v2dir;
        }
        return NULL;
}

static int missing(struct ctx *c, const char *field, const char *ctrl)
{
        if (c->o->unavailable)
                return error_msg(c->err, -EPERM, "%s.%s: the %s controller is out of reach: %s",
                                 c->path, field, ctrl, c->o->unavailable);
        if (c->v2dir && c->l->mode != CGROUP_MODE_V1)
                return error_msg(c->err, -EOPNOTSUPP,
                                 "%s.%s: the %s controller is not available (no cgroup v1 "
                                 "hierarchy has it, and cgroup v2 does not offer it to '%s')",
                                 c->path, field, ctrl, c->v2dir);
        return error_msg(c->err, -EOPNOTSUPP,
                         "%s.%s: the %s controller is not available (it is not mounted)", c->path,
                         field, ctrl);
}

static void warn(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct ctx *c, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        char buf[1024];
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        c->o->warnings = strv_push(c->o->warnings, xstrdup(buf));
}

static bool file_exists(const char *dir, const char *file)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        return access(p, F_OK) == 0;
}

/* Writes value to dir/file; errors name field. */
static int wr(struct ctx *c, const char *dir, const char *file, const char *field,
              const char *value)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        int r = sys_write_file_at(AT_FDCWD, p, NULL, value);
        if (r < 0)
                return error_sys(c->err, r, "%s.%s: write '%s' to '%s'", c->path, field, value, p);
        return 0;
}

static int wrf(struct ctx *c, const char *dir, const char *file, const char *field, const char *fmt,
               ...) __attribute__((format(printf, 5, 6)));
static int wrf(struct ctx *c, const char *dir, const char *file, const char *field, const char *fmt,
               ...)
{
        va_list ap;
        va_start(ap, fmt);
        char buf[512];
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        return wr(c, dir, file, field, buf);
}

static int read_u64(const char *dir, const char *file, uint64_t *ret)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file), *t = NULL;
        int r = read_file_at(AT_FDCWD, p, 4096, &t, NULL);
        if (r < 0)
                return r;
        t[strcspn(t, "\n")] = '\0';
        if (strcmp(t, "max") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        return parse_u64(t, ret);
}

/* ---- memory ---- */

static int memory_v1(struct ctx *c, const char *d, const struct resources *r)
{
        int q;
        int64_t limit = r->memory.has_limit ? r->memory.limit : 0;
        int64_t swap = r->memory.has_swap ? r->memory.swap : 0;
        bool memsw = file_exists(d, "memory.memsw.limit_in_bytes");
        /* runc: an unlimited memory makes an unset swap unlimited too. */
        if (limit == -1 && swap == 0 && memsw)
                swap = -1;
        if (swap && !memsw && swap != -1)
                return error_msg(c->err, -EOPNOTSUPP,
                                 "%s.memory.swap: the kernel does not account swap "
                                 "(no memory.memsw.limit_in_bytes; boot with swapaccount=1)",
                                 c->path);
        if (!memsw)
                swap = 0;
        if (limit > 0 && swap > 0 && swap < limit)
                return error_msg(c->err, -EINVAL,
                                 "%s.memory.swap: %" PRId64 " (memory+swap) is less than "
                                 "memory.limit %" PRId64 "; raise the swap limit too",
                                 c->path, swap, limit);
        if (limit && swap) {
                /* The kernel keeps limit <= memsw: raise in the order that keeps it. */
                uint64_t cur = 0;
                bool swap_first = read_u64(d, "memory.limit_in_bytes", &cur) == 0 &&
                                  (limit == -1 || (uint64_t)limit > cur);
                if (swap_first && (q = wrf(c, d, "memory.memsw.limit_in_bytes", "memory.swap",
                                           "%" PRId64, swap)) < 0)
                        return q;
                if ((q = wrf(c, d, "memory.limit_in_bytes", "memory.limit", "%" PRId64, limit)) < 0)
                        return q;
                if (!swap_first && (q = wrf(c, d, "memory.memsw.limit_in_bytes", "memory.swap",
                                            "%" PRId64, swap)) < 0)
                        return q;
        } else if (limit) {
                if ((q = wrf(c, d, "memory.limit_in_bytes", "memory.limit", "%" PRId64, limit)) < 0)
                        return q;
        } else if (swap) {
                if ((q = wrf(c, d, "memory.memsw.limit_in_bytes", "memory.swap", "%" PRId64,
                             swap)) < 0)
                        return q;
        }
        if (r->memory.has_reservation && r->memory.reservation &&
            (q = wrf(c, d, "memory.soft_limit_in_bytes", "memory.reservation", "%" PRId64,
                     r->memory.reservation)) < 0)
                return q;
        if (r->memory.has_swappiness && (q = wrf(c, d, "memory.swappiness", "memory.swappiness",
                                                 "%" PRIu64, r->memory.swappiness)) < 0)
                return q;
        if (r->memory.has_disable_oom_killer &&
            (q = wr(c, d, "memory.oom_control", "memory.disableOOMKiller",
                    r->memory.disable_oom_killer ? "1" : "0")) < 0)
                return q;
        if (r->memory.has_use_hierarchy && file_exists(d, "memory.use_hierarchy") &&
            (q = wr(c, d, "memory.use_hierarchy", "memory.useHierarchy",
                    r->memory.use_hierarchy ? "1" : "0")) < 0)
                return q;
        return 0;
}

static void mem_value(int64_t v, char *buf, size_t len)
{
        if (v < 0)
                snprintf(buf, len, "max");
        else
                snprintf(buf, len, "%" PRId64, v);
}

static int memory_v2(struct ctx *c, const char *d, const struct resources *r)
{
        int q;
        char v[32];
        if (r->memory.has_swap && r->memory.swap) {
                const char *why = NULL;
                if (res_swap_v2(r->memory.swap, r->memory.has_limit ? r->memory.limit : 0, v,
                                sizeof(v), &why) < 0)
                        return error_msg(c->err, -EINVAL, "%s.memory.swap: %s", c->path, why);
                if (!file_exists(d, "memory.swap.max")) {
                        if (strcmp(v, "max") != 0 && strcmp(v, "0") != 0)
                                return error_msg(c->err, -EOPNOTSUPP,
                                                 "%s.memory.swap: the kernel has no swap "
                                                 "accounting (no memory.swap.max)",
                                                 c->path);
                } else {
                        /* Lower swap first when the limit goes up later: either order works in v2.
                         */
                        if ((q = wr(c, d, "memory.swap.max", "memory.swap", v)) < 0)
                                return q;
                }
        }
        if (r->memory.has_limit && r->memory.limit) {
                mem_value(r->memory.limit, v, sizeof(v));
                if ((q = wr(c, d, "memory.max", "memory.limit", v)) < 0)
                        return q;
        }
        if (r->memory.has_reservation && r->memory.reservation) {
                mem_value(r->memory.reservation, v, sizeof(v));
                if ((q = wr(c, d, "memory.low", "memory.reservation", v)) < 0)
                        return q;
        }
        if (r->memory.has_swappiness)
                warn(c, "%s.memory.swappiness is ignored: cgroup v2 has no per-cgroup swappiness",
                     c->path);
        if (r->memory.has_disable_oom_killer && r->memory.disable_oom_killer)
                warn(c,
                     "%s.memory.disableOOMKiller is ignored: cgroup v2 can't disable the OOM "
                     "killer",
                     c->path);
        return 0;
}

static int memory(struct ctx *c, const struct resources *r)
{
        bool any = (r->memory.has_limit && r->memory.limit) ||
                   (r->memory.has_reservation && r->memory.reservation) ||
                   (r->memory.has_swap && r->memory.swap) || r->memory.has_swappiness ||
                   r->memory.has_disable_oom_killer || r->memory.has_use_hierarchy;
        if (!any)
                return 0;
        bool v2;
        const char *d = ctrl_dir(c, "memory", "memory", &v2);
        if (!d)
                return missing(c, "memory", "memory");
        if (c->o->update && r->memory.check_before_update && r->memory.has_limit &&
            r->memory.limit > 0) {
                uint64_t usage;
                if (read_u64(d, v2 ? "memory.current" : "memory.usage_in_bytes", &usage) == 0 &&
                    (uint64_t)r->memory.limit < usage)
                        return error_msg(c->err, -EBUSY,
                                         "%s.memory.limit: %" PRId64
                                         " is below the current usage of %" PRIu64
                                         " bytes (memory.checkBeforeUpdate)",
                                         c->path, r->memory.limit, usage);
        }
        return v2 ? memory_v2(c, d, r) : memory_v1(c, d, r);
}

/* ---- cpu, cpuset ---- */

static int cpu_v1(struct ctx *c, const char *d, const struct resources *r)
{
        int q;
        if (r->cpu.has_shares && r->cpu.shares &&
            (q = wrf(c, d, "cpu.shares", "cpu.shares", "%" PRIu64, r->cpu.shares)) < 0)
                return q;
        bool period = r->cpu.has_period && r->cpu.period;
        bool quota = r->cpu.has_quota && r->cpu.quota;
        if (period) {
                _cleanup_free_ char *p = xasprintf("%s/cpu.cfs_period_us", d);
                char v[32];
                snprintf(v, sizeof(v), "%" PRIu64, r->cpu.period);
                q = sys_write_file_at(AT_FDCWD, p, NULL, v);
                /* A shorter period can clash with the old quota: quota first, then again. */
                if (q == -EINVAL && quota) {
                        if ((q = wrf(c, d, "cpu.cfs_quota_us", "cpu.quota", "%" PRId64,
                                     r->cpu.quota)) < 0)
                                return q;
                        q = wr(c, d, "cpu.cfs_period_us", "cpu.period", v);
                } else if (q < 0) {
                        return error_sys(c->err, q, "%s.cpu.period: write '%s' to '%s'", c->path, v,
                                         p);
                }
                if (q < 0)
                        return q;
        }
        if (quota && (q = wrf(c, d, "cpu.cfs_quota_us", "cpu.quota", "%" PRId64, r->cpu.quota)) < 0)
                return q;
        if (r->cpu.has_burst) {
                if (!file_exists(d, "cpu.cfs_burst_us"))
                        return error_msg(c->err, -EOPNOTSUPP,
                                         "%s.cpu.burst: the kernel has no cpu.cfs_burst_us",
                                         c->path);
                if ((q = wrf(c, d, "cpu.cfs_burst_us", "cpu.burst", "%" PRIu64, r->cpu.burst)) < 0)
                        return q;
        }
        if (r->cpu.has_rt_period && r->cpu.rt_period &&
            (q = wrf(c, d, "cpu.rt_period_us", "cpu.realtimePeriod", "%" PRIu64,
                     r->cpu.rt_period)) < 0)
                return q;
        if (r->cpu.has_rt_runtime && r->cpu.rt_runtime &&
            (q = wrf(c, d, "cpu.rt_runtime_us", "cpu.realtimeRuntime", "%" PRId64,
                     r->cpu.rt_runtime)) < 0)
                return q;
        if (r->cpu.has_idle) {
                if (!file_exists(d, "cpu.idle"))
                        return error_msg(c->err, -EOPNOTSUPP,
                                         "%s.cpu.idle: the kernel has no cpu.idle", c->path);
                if ((q = wrf(c, d, "cpu.idle", "cpu.idle", "%" PRId64, r->cpu.idle)) < 0)
                        return q;
        }
        return 0;
}

static int cpu_v2(struct ctx *c, const char *d, const struct resources *r)
{
        int q;
        if ((r->cpu.has_rt_period && r->cpu.rt_period) ||
            (r->cpu.has_rt_runtime && r->cpu.rt_runtime))
                return error_msg(c->err, -EOPNOTSUPP,
                                 "%s.cpu.realtimeRuntime: cgroup v2 has no realtime cpu limits",
                                 c->path);
        if (r->cpu.has_shares && r->cpu.shares &&
            (q = wrf(c, d, "cpu.weight", "cpu.shares", "%" PRIu64,
                     res_shares_to_weight(r->cpu.shares))) < 0)
                return q;
        bool period = r->cpu.has_period && r->cpu.period;
        bool quota = r->cpu.has_quota && r->cpu.quota;
        if (period || quota) {
                char v[64];
                int n = quota && r->cpu.quota > 0 ? snprintf(v, sizeof(v), "%" PRId64, r->cpu.quota)
                                                  : snprintf(v, sizeof(v), "max");
                if (period)
                        snprintf(v + n, sizeof(v) - (size_t)n, " %" PRIu64, r->cpu.period);
                if ((q = wr(c, d, "cpu.max", quota ? "cpu.quota" : "cpu.period", v)) < 0)
                        return q;
        }
        if (r->cpu.has_burst &&
            (q = wrf(c, d, "cpu.max.burst", "cpu.burst", "%" PRIu64, r->cpu.burst)) < 0)
                return q;
        if (r->cpu.has_idle && (q = wrf(c, d, "cpu.idle", "cpu.idle", "%" PRId64, r->cpu.idle)) < 0)
                return q;
        return 0;
}

static int cpu(struct ctx *c, const struct resources *r)
{
        int q;
        bool any = (r->cpu.has_shares && r->cpu.shares) || (r->cpu.has_quota && r->cpu.quota) ||
                   (r->cpu.has_period && r->cpu.period) || r->cpu.has_burst ||
                   (r->cpu.has_rt_period && r->cpu.rt_period) ||
                   (r->cpu.has_rt_runtime && r->cpu.rt_runtime) || r->cpu.has_idle;
        bool v2;
        if (any) {
                const char *d = ctrl_dir(c, "cpu", "cpu", &v2);
                if (!d)
                        return missing(c, "cpu", "cpu");
                if ((q = v2 ? cpu_v2(c, d, r) : cpu_v1(c, d, r)) < 0)
                        return q;
        }
        bool cpus = r->cpu.cpus && *r->cpu.cpus, mems = r->cpu.mems && *r->cpu.mems;
        if (cpus || mems) {
                const char *d = ctrl_dir(c, "cpuset", "cpuset", &v2);
                if (!d)
                        return missing(c, cpus ? "cpu.cpus" : "cpu.mems", "cpuset");
                if (cpus && (q = wr(c, d, "cpuset.cpus", "cpu.cpus", r->cpu.cpus)) < 0)
                        return q;
                if (mems && (q = wr(c, d, "cpuset.mems", "cpu.mems", r->cpu.mems)) < 0)
                        return q;
        }
        return 0;
}

static int pids(struct ctx *c, const struct resources *r)
{
        if (!r->pids.has_limit)
                return 0;
        bool v2;
        const char *d = ctrl_dir(c, "pids", "pids", &v2);
        if (!d)
                return missing(c, "pids.limit", "pids");
        if (r->pids.limit > 0)
                return wrf(c, d, "pids.max", "pids.limit", "%" PRId64, r->pids.limit);
        return wr(c, d, "pids.max", "pids.limit", "max");
}

/* ---- blkio / io ---- */

static int rates(struct ctx *c, const char *d, bool v2, const struct res_rate_list *l,
                 const char *v1file, const char *v2key, const char *field)
{
        for (size_t i = 0; i < l->n; i++) {
                const struct res_rate_device *x = &l->v[i];
                int q;
                char f[128];
                snprintf(f, sizeof(f), "blockIO.%s[%zu]", field, i);
                if (v2)
                        q = wrf(c, d, "io.max", f, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, x->major,
                                x->minor, v2key, x->rate);
                else
                        q = wrf(c, d, v1file, f, "%" PRId64 ":%" PRId64 " %" PRIu64, x->major,
                                x->minor, x->rate);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int blkio(struct ctx *c, const struct resources *r)
{
        bool any = r->blkio.has_weight || r->blkio.has_leaf_weight || r->blkio.n_weight_devices ||
                   r->blkio.read_bps.n || r->blkio.write_bps.n || r->blkio.read_iops.n ||
                   r->blkio.write_iops.n;
        if (!any)
                return 0;
        bool v2;
        const char *d = ctrl_dir(c, "blkio", "io", &v2);
        if (!d)
                return missing(c, "blockIO", v2_has(c, "io") ? "io" : "blkio");
        int q;
        if (!v2) {
                bool bfq = !file_exists(d, "blkio.weight") && file_exists(d, "blkio.bfq.weight");
                const char *wfile = bfq ? "blkio.bfq.weight" : "blkio.weight";
                if (r->blkio.has_weight) {
                        if (!file_exists(d, wfile))
                                return error_msg(c->err, -EOPNOTSUPP,
                                                 "%s.blockIO.weight: no I/O scheduler with "
                                                 "weights (blkio.weight or blkio.bfq.weight)",
                                                 c->path);
                        if ((q = wrf(c, d, wfile, "blockIO.weight", "%u", r->blkio.weight)) < 0)
                                return q;
                }
                if (r->blkio.has_leaf_weight &&
                    (q = wrf(c, d, "blkio.leaf_weight", "blockIO.leafWeight", "%u",
                             r->blkio.leaf_weight)) < 0)
                        return q;
                for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
                        const struct res_weight_device *w = &r->blkio.weight_devices[i];
                        char f[64];
                        snprintf(f, sizeof(f), "blockIO.weightDevice[%zu]", i);
                        if (w->has_weight &&
                            (q = wrf(c, d, bfq ? "blkio.bfq.weight_device" : "blkio.weight_device",
                                     f, "%" PRId64 ":%" PRId64 " %u", w->major, w->minor,
                                     w->weight)) < 0)
                                return q;
                        if (w->has_leaf_weight && (q = wrf(c, d, "blkio.leaf_weight_device", f,
                                                           "%" PRId64 ":%" PRId64 " %u", w->major,
                                                           w->minor, w->leaf_weight)) < 0)
                                return q;
                }
        } else {
                bool bfq = file_exists(d, "io.bfq.weight");
                if (r->blkio.has_weight) {
                        if (bfq)
                                q = wrf(c, d, "io.bfq.weight", "blockIO.weight", "%u",
                                        r->blkio.weight);
                        else
                                q = wrf(c, d, "io.weight", "blockIO.weight", "default %" PRIu64,
                                        res_blkio_to_io_weight(r->blkio.weight));
                        if (q < 0)
                                return q;
                }
                if (r->blkio.has_leaf_weight)
                        warn(c, "%s.blockIO.leafWeight is ignored: cgroup v2 has no leaf weights",
                             c->path);
                for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
                        const struct res_weight_device *w = &r->blkio.weight_devices[i];
                        char f[64];
                        snprintf(f, sizeof(f), "blockIO.weightDevice[%zu]", i);
                        if (!w->has_weight)
                                continue;
                        if (bfq)
                                q = wrf(c, d, "io.bfq.weight", f, "%" PRId64 ":%" PRId64 " %u",
                                        w->major, w->minor, w->weight);
                        else
                                q = wrf(c, d, "io.weight", f, "%" PRId64 ":%" PRId64 " %" PRIu64,
                                        w->major, w->minor, res_blkio_to_io_weight(w->weight));
                        if (q < 0)
                                return q;
                }
        }
        if ((q = rates(c, d, v2, &r->blkio.read_bps, "blkio.throttle.read_bps_device", "rbps",
                       "throttleReadBpsDevice")) < 0 ||
            (q = rates(c, d, v2, &r->blkio.write_bps, "blkio.throttle.write_bps_device", "wbps",
                       "throttleWriteBpsDevice")) < 0 ||
            (q = rates(c, d, v2, &r->blkio.read_iops, "blkio.throttle.read_iops_device", "riops",
                       "throttleReadIOPSDevice")) < 0 ||
            (q = rates(c, d, v2, &r->blkio.write_iops, "blkio.throttle.write_iops_device", "wiops",
                       "throttleWriteIOPSDevice")) < 0)
                return q;
        return 0;
}

/* ---- hugetlb, network, rdma ---- */

static int hugetlb(struct ctx *c, const struct resources *r)
{
        if (!r->n_hugepages)
                return 0;
        bool v2;
        const char *d = ctrl_dir(c, "hugetlb", "hugetlb", &v2);
        if (!d)
                return missing(c, "hugepageLimits", "hugetlb");
        for (size_t i = 0; i < r->n_hugepages; i++) {
                const struct res_hugepage *h = &r->hugepages[i];
                _cleanup_free_ char *file =
                    xasprintf(v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", h->page_size);
                char f[64];
                snprintf(f, sizeof(f), "hugepageLimits[%zu]", i);
                if (!file_exists(d, file))
                        return error_msg(c->err, -EOPNOTSUPP,
                                         "%s.%s: page size '%s' is not supported here (no %s)",
                                         c->path, f, h->page_size, file);
                int q = wrf(c, d, file, f, "%" PRIu64, h->limit);
                if (q < 0)
                        return q;
        }
        return 0;
}

static int network(struct ctx *c, const struct resources *r)
{
        bool v2;
        int q;
        if (r->network.has_class_id) {
                const char *d = ctrl_dir(c, "net_cls", NULL, &v2);
                if (!d)
                        return missing(c, "network.classID", "net_cls");
                if ((q = wrf(c, d, "net_cls.classid", "network.classID", "%u",
                             r->network.class_id)) < 0)
                        return q;
        }
        if (r->network.n_priorities) {
                const char *d = ctrl_dir(c, "net_prio", NULL, &v2);
                if (!d)
                        return missing(c, "network.priorities", "net_prio");
                for (size_t i = 0; i < r->network.n_priorities; i++) {
                        char f[64];
                        snprintf(f, sizeof(f), "network.priorities[%zu]", i);
                        if ((q = wrf(c, d, "net_prio.ifpriomap", f, "%s %u",
                                     r->network.priorities[i].name,
                                     r->network.priorities[i].priority)) < 0)
                                return q;
                }
        }
        return 0;
}

static int rdma(struct ctx *c, const struct resources *r)
{
        if (!r->n_rdma)
                return 0;
        bool v2;
        const char *d = ctrl_dir(c, "rdma", "rdma", &v2);
        if (!d)
                return missing(c, "rdma", "rdma");
        for (size_t i = 0; i < r->n_rdma; i++) {
                const struct res_rdma *x = &r->rdma[i];
                char h[24] = "max", o[24] = "max", f[300];
                if (x->has_handles)
                        snprintf(h, sizeof(h), "%u", x->handles);
                if (x->has_objects)
                        snprintf(o, sizeof(o), "%u", x->objects);
                snprintf(f, sizeof(f), "rdma.%s", x->device);
                int q = wrf(c, d, "rdma.max", f, "%s hca_handle=%s hca_object=%s", x->device, h, o);
                if (q < 0)
                        return q;
        }
        return 0;
}

/* ---- devices ---- */

static void rule_text(const struct res_device *d, char *buf, size_t len)
{
        if (d->type == 'a') {
                snprintf(buf, len, "a");
                return;
        }
        char ma[24] = "*", mi[24] = "*";
        if (d->major >= 0)
                snprintf(ma, sizeof(ma), "%" PRId64, d->major);
        if (d->minor >= 0)
                snprintf(mi, sizeof(mi), "%" PRId64, d->minor);
        snprintf(buf, len, "%c %s:%s %s", d->type, ma, mi, d->access);
}

/* startproto: one rule per write(2), as v1 wants, but each file opened once
 * (an open, a write and a close per rule before: ~36 syscalls a start). */
static int wr_fd(struct ctx *c, int *fd, const char *dir, const char *file, const char *field,
                 const char *value)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
        explain("echo %s > %s", shq(value), shq(p));
        if (*fd < 0 && (*fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
                return error_sys(c->err, -errno, "%s.%s: write '%s' to '%s'", c->path, field, value,
                                 p);
        size_t len = strlen(value);
        ssize_t n = write(*fd, value, len);
        if (n < 0 || (size_t)n != len)
                return error_sys(c->err, n < 0 ? -errno : -EIO, "%s.%s: write '%s' to '%s'",
                                 c->path, field, value, p);
        return 0;
}

static int devices_v1(struct ctx *c, const char *d, const struct resources *r)
{
        _cleanup_close_ int allow = -EBADF, deny = -EBADF;
        int q = wr_fd(c, &deny, d, "devices.deny", "devices", "a");
        if (q < 0)
                return q;
        size_t n = r->n_devices + res_n_default_devices;
        for (size_t i = 0; i < n; i++) {
                bool dflt = i >= r->n_devices;
                const struct res_device *x =
                    dflt ? &res_default_devices[i - r->n_devices] : &r->devices[i];
                char rule[96], f[64];
                rule_text(x, rule, sizeof(rule));
                if (dflt)
                        snprintf(f, sizeof(f), "devices (default rule '%s')", rule);
                else
                        snprintf(f, sizeof(f), "devices[%zu]", i);
                if ((q = wr_fd(c, x->allow ? &allow : &deny, d,
                               x->allow ? "devices.allow" : "devices.deny", f, rule)) < 0)
                        return q;
        }
        return 0;
}

static int bpf(int cmd, union bpf_attr *a)
{
        long r = syscall(SYS_bpf, cmd, a, sizeof(*a));
        return r < 0 ? -errno : (int)r;
}

/* The ids of the device programs attached to the cgroup at fd. */
static int query_progs(int fd, uint32_t *ids, uint32_t *n)
{
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.query.target_fd = (uint32_t)fd;
        a.query.attach_type = BPF_CGROUP_DEVICE;
        a.query.prog_ids = (uint64_t)(uintptr_t)ids;
        a.query.prog_cnt = *n;
        int r = bpf(BPF_PROG_QUERY, &a);
        *n = r < 0 ? 0 : a.query.prog_cnt;
        return r;
}

static int devices_v2(struct ctx *c, const char *d, const struct resources *r)
{
        size_t n = r->n_devices + res_n_default_devices;
        _cleanup_free_ struct res_device *all = xmalloc(n * sizeof(*all));
        memcpy(all, r->devices, r->n_devices * sizeof(*all));
        memcpy(all + r->n_devices, res_default_devices, res_n_default_devices * sizeof(*all));
        size_t n_insns;
        _cleanup_free_ struct bpf_insn *prog = res_device_prog(all, n, &n_insns);
        _cleanup_close_ int cg = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cg < 0)
                return error_sys(c->err, -errno, "%s.devices: open '%s'", c->path, d);
        uint32_t old[64], n_old = ARRAY_SIZE(old);
        (void)query_progs(cg, old, &n_old);

        if (explain_on()) {
                explain_note("device rules for %s (last match wins, default deny):", d);
                for (size_t i = 0; i < n; i++) {
                        char rule[96];
                        rule_text(&all[i], rule, sizeof(rule));
                        explain_note("  %s %s", all[i].allow ? "allow" : "deny", rule);
                }
        }
        char log[4096] = "";
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.insns = (uint64_t)(uintptr_t)prog;
        a.insn_cnt = (uint32_t)n_insns;
        a.license = (uint64_t)(uintptr_t) "Apache";
        a.log_buf = (uint64_t)(uintptr_t)log;
        a.log_size = sizeof(log);
        a.log_level = 1;
        /* No shell command loads a hand-written program: say what bpf(2) does. */
        explain_note("bpf(BPF_PROG_LOAD): a cgroup/dev program of %zu instructions", n_insns);
        int pfd = bpf(BPF_PROG_LOAD, &a);
        if (pfd < 0) {
                log[strcspn(log, "\n")] = '\0';
                return error_msg(c->err, pfd,
                                 "%s.devices: load the cgroup v2 device program: %s%s%s", c->path,
                                 strerror(-pfd), *log ? ": " : "", log);
        }
        _cleanup_close_ int prog_fd = pfd;
        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t)cg;
        a.attach_bpf_fd = (uint32_t)prog_fd;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        explain_note("bpf(BPF_PROG_ATTACH): attach it to %s as cgroup_device, multi "
                     "(bpftool cgroup attach %s device id ID multi)",
                     d, shq(d));
        int q = bpf(BPF_PROG_ATTACH, &a);
        if (q < 0)
                return error_sys(c->err, q, "%s.devices: attach the device program to '%s'",
                                 c->path, d);
        /* The new program is in force (programs are ANDed): drop the old ones. */
        for (uint32_t i = 0; i < n_old; i++) {
                union bpf_attr g;
                memset(&g, 0, sizeof(g));
                g.prog_id = old[i];
                _cleanup_close_ int ofd = bpf(BPF_PROG_GET_FD_BY_ID, &g);
                if (ofd < 0)
                        continue;
                memset(&g, 0, sizeof(g));
                g.target_fd = (uint32_t)cg;
                g.attach_bpf_fd = (uint32_t)ofd;
                g.attach_type = BPF_CGROUP_DEVICE;
                explain("bpftool cgroup detach %s device id %u  # the previous rules", shq(d),
                        old[i]);
                (void)bpf(BPF_PROG_DETACH, &g);
        }
        return 0;
}

static int devices(struct ctx *c, const struct resources *r)
{
        if (!r->has_devices)
                return 0;
        bool v2;
        const char *d = ctrl_dir(c, "devices", NULL, &v2);
        if (d)
                return devices_v1(c, d, r);
        if (c->v2dir)
                return devices_v2(c, c->v2dir, r);
        return missing(c, "devices", "devices");
}

/* ---- unified ---- */

static int unified(struct ctx *c, const struct resources *r)
{
        for (size_t i = 0; i < r->n_unified; i++) {
                const char *k = r->unified[i].key;
                char ctrl[64];
                snprintf(ctrl, sizeof(ctrl), "%.*s", (int)strcspn(k, "."), k);
                if (!c->v2dir)
                        return error_msg(c->err, -EOPNOTSUPP,
                                         "%s.unified: cgroup v2 is not available for key '%s'",
                                         c->path, k);
                if (strcmp(ctrl, "cgroup") != 0 && !v2_has(c, ctrl)) {
                        bool v1 = false;
                        for (char *const *d = c->dirs; d && *d; d++) {
                                const struct cg_hier *h = cg_hier_of(c->l, *d);
                                v1 |= h && !h->v2 && cg_hier_has(h, ctrl);
                        }
                        if (v1)
                                return error_msg(c->err, -EOPNOTSUPP,
                                                 "%s.unified: cgroup v2 is not available for key "
                                                 "'%s' (the %s controller is on cgroup v1 here)",
                                                 c->path, k, ctrl);
                        return error_msg(c->err, -EOPNOTSUPP,
                                         "%s.unified: key '%s': controller '%s' is not available "
                                         "in cgroup v2 for '%s'",
                                         c->path, k, ctrl, c->v2dir);
                }
                char f[300];
                snprintf(f, sizeof(f), "unified.%s", k);
                if (!file_exists(c->v2dir, k))
                        return error_msg(c->err, -ENOENT, "%s.%s: '%s/%s' does not exist", c->path,
                                         f, c->v2dir, k);
                int q = wr(c, c->v2dir, k, f, r->unified[i].value);
                if (q < 0)
                        return q;
        }
        return 0;
}

int resources_apply(char *const *dirs, const struct resources *r, struct res_apply_opts *o,
                    struct error *err)
{
        struct ctx c = {
            .dirs = dirs, .path = o->path ? o->path : "linux.resources", .o = o, .err = err};
        int q = cg_layout_get(&c.l, err);
        if (q < 0)
                return q;
        for (char *const *d = dirs; d && *d; d++) {
                const struct cg_hier *h = cg_hier_of(c.l, *d);
                if (h && h->v2)
                        c.v2dir = *d;
        }
        for (char **w = r->warnings; w && *w; w++)
                o->warnings = strv_push(o->warnings, xstrdup(*w));
        unsigned w = o->what;
        if (((w & RES_MEMORY) && (q = memory(&c, r)) < 0) ||
            ((w & RES_CPU) && (q = cpu(&c, r)) < 0) || ((w & RES_PIDS) && (q = pids(&c, r)) < 0) ||
            ((w & RES_BLKIO) && (q = blkio(&c, r)) < 0) ||
            ((w & RES_HUGETLB) && (q = hugetlb(&c, r)) < 0) ||
            ((w & RES_NETWORK) && (q = network(&c, r)) < 0) ||
            ((w & RES_RDMA) && (q = rdma(&c, r)) < 0) ||
            ((w & RES_DEVICES) && (q = devices(&c, r)) < 0) ||
            ((w & RES_UNIFIED) && (q = unified(&c, r)) < 0)) {
                free(c.v2ctrls);
                return q;
        }
        free(c.v2ctrls);
        return 0;
}
