/* Parsing linux.resources into struct resources, and the pure conversions
 * v1 -> v2 (see resources.h). */
#include "runtime/resources.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"

#define P(buf, path, key) (jpath((buf), sizeof(buf), (path), (key)), (buf))

static void add_warning(struct resources *r, const char *fmt, const char *path)
{
        r->warnings = strv_push(r->warnings, xasprintf(fmt, path));
}

static int parse_memory(struct json_object *o, const char *path, struct resources *r,
                        struct error *err)
{
        int q;
        if ((q = jget_i64(o, path, "limit", &r->memory.limit, err)) < 0)
                return q;
        r->memory.has_limit = q;
        if ((q = jget_i64(o, path, "reservation", &r->memory.reservation, err)) < 0)
                return q;
        r->memory.has_reservation = q;
        if ((q = jget_i64(o, path, "swap", &r->memory.swap, err)) < 0)
                return q;
        r->memory.has_swap = q;
        if ((q = jget_i64(o, path, "kernel", &r->memory.kernel, err)) < 0)
                return q;
        r->memory.has_kernel = q;
        if ((q = jget_i64(o, path, "kernelTCP", &r->memory.kernel_tcp, err)) < 0)
                return q;
        r->memory.has_kernel_tcp = q;
        if ((q = jget_u64(o, path, "swappiness", &r->memory.swappiness, err)) < 0)
                return q;
        r->memory.has_swappiness = q;
        if (q && r->memory.swappiness > 100) {
                char b[512];
                return error_msg(err, -EINVAL, "%s: %" PRIu64 " is out of range 0-100",
                                 P(b, path, "swappiness"), r->memory.swappiness);
        }
        if ((q = jget_bool(o, path, "disableOOMKiller", &r->memory.disable_oom_killer, err)) < 0)
                return q;
        r->memory.has_disable_oom_killer = q;
        if ((q = jget_bool(o, path, "useHierarchy", &r->memory.use_hierarchy, err)) < 0)
                return q;
        r->memory.has_use_hierarchy = q;
        if ((q = jget_bool(o, path, "checkBeforeUpdate", &r->memory.check_before_update, err)) < 0)
                return q;
        char b[512];
        if (r->memory.has_kernel && r->memory.kernel != 0)
                add_warning(r, "%s is ignored (deprecated in the kernel; runc ignores it too)",
                            P(b, path, "kernel"));
        if (r->memory.has_kernel_tcp && r->memory.kernel_tcp != 0)
                add_warning(r, "%s is ignored (deprecated in the kernel; runc ignores it too)",
                            P(b, path, "kernelTCP"));
        return 0;
}

static int parse_cpu(struct json_object *o, const char *path, struct resources *r,
                     struct error *err)
{
        int q;
        if ((q = jget_u64(o, path, "shares", &r->cpu.shares, err)) < 0)
                return q;
        r->cpu.has_shares = q;
        if ((q = jget_i64(o, path, "quota", &r->cpu.quota, err)) < 0)
                return q;
        r->cpu.has_quota = q;
        if ((q = jget_u64(o, path, "period", &r->cpu.period, err)) < 0)
                return q;
        r->cpu.has_period = q;
        if ((q = jget_u64(o, path, "burst", &r->cpu.burst, err)) < 0)
                return q;
        r->cpu.has_burst = q;
        if ((q = jget_i64(o, path, "realtimeRuntime", &r->cpu.rt_runtime, err)) < 0)
                return q;
        r->cpu.has_rt_runtime = q;
        if ((q = jget_u64(o, path, "realtimePeriod", &r->cpu.rt_period, err)) < 0)
                return q;
        r->cpu.has_rt_period = q;
        if ((q = jget_i64(o, path, "idle", &r->cpu.idle, err)) < 0)
                return q;
        r->cpu.has_idle = q;
        if ((q = jget_str(o, path, "cpus", &r->cpu.cpus, err)) < 0)
                return q;
        if ((q = jget_str(o, path, "mems", &r->cpu.mems, err)) < 0)
                return q;
        return 0;
}

static int parse_major_minor(struct json_object *o, const char *path, bool wildcard_ok,
                             int64_t *major, int64_t *minor, struct error *err)
{
        *major = *minor = -1;
        int q1 = jget_i64(o, path, "major", major, err);
        if (q1 < 0)
                return q1;
        int q2 = jget_i64(o, path, "minor", minor, err);
        if (q2 < 0)
                return q2;
        if (!wildcard_ok && (!q1 || !q2))
                return error_msg(err, -EINVAL, "%s: major and minor are required", path);
        if ((q1 && *major < 0) || (q2 && *minor < 0))
                return error_msg(err, -EINVAL, "%s: major and minor must not be negative", path);
        return 0;
}

static int parse_rates(struct json_object *o, const char *path, const char *key,
                       struct res_rate_list *l, struct error *err)
{
        struct json_object *a;
        int q = jget_array(o, path, key, &a, err);
        if (q <= 0)
                return q;
        char ap[512];
        jpath(ap, sizeof(ap), path, key);
        l->n = json_object_array_length(a);
        l->v = xzalloc((l->n + 1) * sizeof(*l->v));
        for (size_t i = 0; i < l->n; i++) {
                char ip[512];
                jpath_index(ip, sizeof(ip), ap, i);
                struct json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_object))
                        return error_msg(err, -EINVAL, "%s: expected an object", ip);
                if ((q = parse_major_minor(e, ip, false, &l->v[i].major, &l->v[i].minor, err)) < 0)
                        return q;
                if ((q = jget_u64(e, ip, "rate", &l->v[i].rate, err)) < 0)
                        return q;
                if (!q)
                        return error_msg(err, -EINVAL, "%s.rate: required", ip);
        }
        return 0;
}

static int parse_blkio(struct json_object *o, const char *path, struct resources *r,
                       struct error *err)
{
        int q;
        uint64_t w;
        char b[512];
        if ((q = jget_u64(o, path, "weight", &w, err)) < 0)
                return q;
        if (q) {
                if (w > 1000 || (w && w < 10))
                        return error_msg(err, -EINVAL, "%s: %" PRIu64 " is out of range 10-1000",
                                         P(b, path, "weight"), w);
                r->blkio.has_weight = w != 0;
                r->blkio.weight = (uint16_t)w;
        }
        if ((q = jget_u64(o, path, "leafWeight", &w, err)) < 0)
                return q;
        if (q) {
                if (w > 1000 || (w && w < 10))
                        return error_msg(err, -EINVAL, "%s: %" PRIu64 " is out of range 10-1000",
                                         P(b, path, "leafWeight"), w);
                r->blkio.has_leaf_weight = w != 0;
                r->blkio.leaf_weight = (uint16_t)w;
        }
        struct json_object *a;
        if ((q = jget_array(o, path, "weightDevice", &a, err)) < 0)
                return q;
        if (q) {
                char ap[512];
                jpath(ap, sizeof(ap), path, "weightDevice");
                r->blkio.n_weight_devices = json_object_array_length(a);
                r->blkio.weight_devices =
                    xzalloc((r->blkio.n_weight_devices + 1) * sizeof(*r->blkio.weight_devices));
                for (size_t i = 0; i < r->blkio.n_weight_devices; i++) {
                        struct res_weight_device *d = &r->blkio.weight_devices[i];
                        char ip[512];
                        jpath_index(ip, sizeof(ip), ap, i);
                        struct json_object *e = json_object_array_get_idx(a, i);
                        if (!json_object_is_type(e, json_type_object))
                                return error_msg(err, -EINVAL, "%s: expected an object", ip);
                        if ((q = parse_major_minor(e, ip, false, &d->major, &d->minor, err)) < 0)
                                return q;
                        if ((q = jget_u64(e, ip, "weight", &w, err)) < 0)
                                return q;
                        if (q) {
                                if (w < 10 || w > 1000)
                                        return error_msg(err, -EINVAL,
                                                         "%s.weight: %" PRIu64
                                                         " is out of range 10-1000",
                                                         ip, w);
                                d->has_weight = true;
                                d->weight = (uint16_t)w;
                        }
                        if ((q = jget_u64(e, ip, "leafWeight", &w, err)) < 0)
                                return q;
                        if (q) {
                                if (w < 10 || w > 1000)
                                        return error_msg(err, -EINVAL,
                                                         "%s.leafWeight: %" PRIu64
                                                         " is out of range 10-1000",
                                                         ip, w);
                                d->has_leaf_weight = true;
                                d->leaf_weight = (uint16_t)w;
                        }
                }
        }
        if ((q = parse_rates(o, path, "throttleReadBpsDevice", &r->blkio.read_bps, err)) < 0 ||
            (q = parse_rates(o, path, "throttleWriteBpsDevice", &r->blkio.write_bps, err)) < 0 ||
            (q = parse_rates(o, path, "throttleReadIOPSDevice", &r->blkio.read_iops, err)) < 0 ||
            (q = parse_rates(o, path, "throttleWriteIOPSDevice", &r->blkio.write_iops, err)) < 0)
                return q;
        return 0;
}

/* A name that becomes part of a cgroup file name: no '/', not empty. */
static int check_name(const char *s, const char *path, struct error *err)
{
        if (!*s || strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
            strpbrk(s, " \n"))
                return error_msg(err, -EINVAL, "%s: invalid name '%s'", path, s);
        return 0;
}

static int parse_hugepages(struct json_object *a, const char *path, struct resources *r,
                           struct error *err)
{
        r->n_hugepages = json_object_array_length(a);
        r->hugepages = xzalloc((r->n_hugepages + 1) * sizeof(*r->hugepages));
        for (size_t i = 0; i < r->n_hugepages; i++) {
                char ip[512];
                jpath_index(ip, sizeof(ip), path, i);
                struct json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_object))
                        return error_msg(err, -EINVAL, "%s: expected an object", ip);
                int q = jget_str(e, ip, "pageSize", &r->hugepages[i].page_size, err);
                if (q < 0)
                        return q;
                if (!q)
                        return error_msg(err, -EINVAL, "%s.pageSize: required", ip);
                char pp[520];
                snprintf(pp, sizeof(pp), "%s.pageSize", ip);
                if ((q = check_name(r->hugepages[i].page_size, pp, err)) < 0)
                        return q;
                if ((q = jget_u64(e, ip, "limit", &r->hugepages[i].limit, err)) < 0)
                        return q;
                if (!q)
                        return error_msg(err, -EINVAL, "%s.limit: required", ip);
        }
        return 0;
}

static int parse_network(struct json_object *o, const char *path, struct resources *r,
                         struct error *err)
{
        int q = jget_u32(o, path, "classID", &r->network.class_id, err);
        if (q < 0)
                return q;
        r->network.has_class_id = q;
        struct json_object *a;
        if ((q = jget_array(o, path, "priorities", &a, err)) <= 0)
                return q;
        char ap[512];
        jpath(ap, sizeof(ap), path, "priorities");
        r->network.n_priorities = json_object_array_length(a);
        r->network.priorities = xzalloc((r->network.n_priorities + 1) * sizeof(struct res_prio));
        for (size_t i = 0; i < r->network.n_priorities; i++) {
                struct res_prio *p = &r->network.priorities[i];
                char ip[512];
                jpath_index(ip, sizeof(ip), ap, i);
                struct json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_object))
                        return error_msg(err, -EINVAL, "%s: expected an object", ip);
                if ((q = jget_str(e, ip, "name", &p->name, err)) < 0)
                        return q;
                if (!q)
                        return error_msg(err, -EINVAL, "%s.name: required", ip);
                char np[520];
                snprintf(np, sizeof(np), "%s.name", ip);
                if ((q = check_name(p->name, np, err)) < 0)
                        return q;
                if ((q = jget_u32(e, ip, "priority", &p->priority, err)) < 0)
                        return q;
        }
        return 0;
}

static int parse_devices(struct json_object *a, const char *path, struct resources *r,
                         struct error *err)
{
        r->has_devices = true;
        r->n_devices = json_object_array_length(a);
        r->devices = xzalloc((r->n_devices + 1) * sizeof(*r->devices));
        for (size_t i = 0; i < r->n_devices; i++) {
                struct res_device *d = &r->devices[i];
                char ip[512];
                jpath_index(ip, sizeof(ip), path, i);
                struct json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_object))
                        return error_msg(err, -EINVAL, "%s: expected an object", ip);
                int q = jget_bool(e, ip, "allow", &d->allow, err);
                if (q < 0)
                        return q;
                if (!q)
                        return error_msg(err, -EINVAL, "%s.allow: required", ip);
                _cleanup_free_ char *type = NULL, *access = NULL;
                if ((q = jget_str(e, ip, "type", &type, err)) < 0)
                        return q;
                d->type = type ? type[0] : 'a';
                if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
                        return error_msg(err, -EINVAL, "%s.type: '%s' is not one of a, c, b", ip,
                                         type);
                if ((q = parse_major_minor(e, ip, true, &d->major, &d->minor, err)) < 0)
                        return q;
                if ((q = jget_str(e, ip, "access", &access, err)) < 0)
                        return q;
                const char *acc = access ? access : "rwm";
                size_t k = 0;
                for (const char *c = "rwm"; *c; c++)
                        if (strchr(acc, *c))
                                d->access[k++] = *c;
                if (acc[strspn(acc, "rwm")] != '\0')
                        return error_msg(err, -EINVAL, "%s.access: '%s' is not made of r, w, m", ip,
                                         acc);
                if (!k)
                        return error_msg(err, -EINVAL, "%s.access: must not be empty", ip);
        }
        return 0;
}

static int parse_rdma(struct json_object *o, const char *path, struct resources *r,
                      struct error *err)
{
        r->rdma = xzalloc((json_object_object_length(o) + 1) * sizeof(*r->rdma));
        json_object_object_foreach(o, key, val)
        {
                struct res_rdma *d = &r->rdma[r->n_rdma++];
                d->device = xstrdup(key);
                char kp[512];
                jpath(kp, sizeof(kp), path, key);
                int q = check_name(key, kp, err);
                if (q < 0)
                        return q;
                if (!json_object_is_type(val, json_type_object))
                        return error_msg(err, -EINVAL, "%s: expected an object", kp);
                if ((q = jget_u32(val, kp, "hcaHandles", &d->handles, err)) < 0)
                        return q;
                d->has_handles = q;
                if ((q = jget_u32(val, kp, "hcaObjects", &d->objects, err)) < 0)
                        return q;
                d->has_objects = q;
        }
        return 0;
}

static int parse_unified(struct json_object *o, const char *path, struct resources *r,
                         struct error *err)
{
        r->unified = xzalloc((json_object_object_length(o) + 1) * sizeof(*r->unified));
        json_object_object_foreach(o, key, val)
        {
                char kp[512];
                jpath(kp, sizeof(kp), path, key);
                if (!json_object_is_type(val, json_type_string))
                        return error_msg(err, -EINVAL, "%s: expected a string", kp);
                if (strchr(key, '/') || !strchr(key, '.') || key[0] == '.')
                        return error_msg(err, -EINVAL,
                                         "%s: key '%s' must be a file name of the form "
                                         "CONTROLLER.PARAMETER (no '/')",
                                         path, key);
                r->unified[r->n_unified].key = xstrdup(key);
                r->unified[r->n_unified++].value = xstrdup(json_object_get_string(val));
        }
        return 0;
}

int resources_parse(struct json_object *o, const char *path, struct resources **ret,
                    struct error *err)
{
        _cleanup_(resources_freep) struct resources *r = xzalloc(sizeof(*r));
        if (o && !json_object_is_type(o, json_type_object))
                return error_msg(err, -EINVAL, "%s: expected an object", path);
        struct json_object *v;
        char p[512];
        int q;
        if ((q = jget_obj(o, path, "memory", &v, err)) < 0 ||
            (q > 0 && (q = parse_memory(v, P(p, path, "memory"), r, err)) < 0))
                return q;
        if ((q = jget_obj(o, path, "cpu", &v, err)) < 0 ||
            (q > 0 && (q = parse_cpu(v, P(p, path, "cpu"), r, err)) < 0))
                return q;
        if ((q = jget_obj(o, path, "pids", &v, err)) < 0)
                return q;
        if (q > 0) {
                P(p, path, "pids");
                if ((q = jget_i64(v, p, "limit", &r->pids.limit, err)) < 0)
                        return q;
                r->pids.has_limit = q;
        }
        if ((q = jget_obj(o, path, "blockIO", &v, err)) < 0 ||
            (q > 0 && (q = parse_blkio(v, P(p, path, "blockIO"), r, err)) < 0))
                return q;
        if ((q = jget_array(o, path, "hugepageLimits", &v, err)) < 0 ||
            (q > 0 && (q = parse_hugepages(v, P(p, path, "hugepageLimits"), r, err)) < 0))
                return q;
        if ((q = jget_obj(o, path, "network", &v, err)) < 0 ||
            (q > 0 && (q = parse_network(v, P(p, path, "network"), r, err)) < 0))
                return q;
        if ((q = jget_array(o, path, "devices", &v, err)) < 0 ||
            (q > 0 && (q = parse_devices(v, P(p, path, "devices"), r, err)) < 0))
                return q;
        if ((q = jget_obj(o, path, "rdma", &v, err)) < 0 ||
            (q > 0 && (q = parse_rdma(v, P(p, path, "rdma"), r, err)) < 0))
                return q;
        if ((q = jget_obj(o, path, "unified", &v, err)) < 0 ||
            (q > 0 && (q = parse_unified(v, P(p, path, "unified"), r, err)) < 0))
                return q;
        *ret = TAKE_PTR(r);
        return 0;
}

bool resources_empty(const struct resources *r)
{
        static const struct resources zero;
        return memcmp(&r->memory, &zero.memory, sizeof(r->memory)) == 0 && !r->cpu.has_shares &&
               !r->cpu.has_quota && !r->cpu.has_period && !r->cpu.has_burst &&
               !r->cpu.has_rt_runtime && !r->cpu.has_rt_period && !r->cpu.has_idle &&
               !r->cpu.cpus && !r->cpu.mems && !r->pids.has_limit && !r->blkio.has_weight &&
               !r->blkio.has_leaf_weight && !r->blkio.n_weight_devices && !r->blkio.read_bps.n &&
               !r->blkio.write_bps.n && !r->blkio.read_iops.n && !r->blkio.write_iops.n &&
               !r->n_hugepages && !r->network.has_class_id && !r->network.n_priorities &&
               !r->has_devices && !r->n_rdma && !r->n_unified;
}

void resources_free(struct resources *r)
{
        if (!r)
                return;
        free(r->cpu.cpus);
        free(r->cpu.mems);
        free(r->blkio.weight_devices);
        free(r->blkio.read_bps.v);
        free(r->blkio.write_bps.v);
        free(r->blkio.read_iops.v);
        free(r->blkio.write_iops.v);
        for (size_t i = 0; i < r->n_hugepages; i++)
                free(r->hugepages[i].page_size);
        free(r->hugepages);
        for (size_t i = 0; i < r->network.n_priorities; i++)
                free(r->network.priorities[i].name);
        free(r->network.priorities);
        free(r->devices);
        for (size_t i = 0; i < r->n_rdma; i++)
                free(r->rdma[i].device);
        free(r->rdma);
        for (size_t i = 0; i < r->n_unified; i++) {
                free(r->unified[i].key);
                free(r->unified[i].value);
        }
        free(r->unified);
        strv_free(r->warnings);
        free(r);
}

/* ---- conversions ---- */

uint64_t res_shares_to_weight(uint64_t shares)
{
        /* crun's and runc's linear map of [2, 262144] onto [1, 10000]. */
        if (shares == 0)
                return 0;
        if (shares < 2)
                shares = 2;
        if (shares > 262144)
                shares = 262144;
        return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t res_blkio_to_io_weight(uint64_t weight)
{
        /* runc's map of [10, 1000] onto [1, 10000]. */
        if (weight == 0)
                return 0;
        return 1 + (weight - 10) * 9999 / 990;
}

int res_swap_v2(int64_t swap, int64_t limit, char *buf, size_t len, const char **why)
{
        if (swap < 0) {
                snprintf(buf, len, "max");
                return 0;
        }
        if (limit <= 0) {
                *why = "a swap limit needs a memory limit on cgroup v2";
                return -EINVAL;
        }
        if (swap < limit) {
                *why = "swap (memory+swap) must not be less than the memory limit";
                return -EINVAL;
        }
        snprintf(buf, len, "%" PRId64, swap - limit);
        return 0;
}

/* ---- the v2 device filter ---- */

const struct res_device res_default_devices[] = {
    {true, 'c', -1, -1, "m"}, {true, 'b', -1, -1, "m"},    {true, 'c', 1, 3, "rwm"},
    {true, 'c', 1, 8, "rwm"}, {true, 'c', 1, 7, "rwm"},    {true, 'c', 5, 0, "rwm"},
    {true, 'c', 1, 5, "rwm"}, {true, 'c', 1, 9, "rwm"},    {true, 'c', 136, -1, "rwm"},
    {true, 'c', 5, 2, "rwm"}, {true, 'c', 10, 200, "rwm"},
};
const size_t res_n_default_devices = ARRAY_SIZE(res_default_devices);

struct insns {
        struct bpf_insn *v;
        size_t n, cap;
};

static void emit(struct insns *p, struct bpf_insn i)
{
        if (p->n == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 64;
                p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
        }
        p->v[p->n++] = i;
}

#define INSN(c, d, s, o, i)                                                                        \
        ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

static unsigned access_bits(const char *a)
{
        unsigned b = 0;
        if (strchr(a, 'm'))
                b |= BPF_DEVCG_ACC_MKNOD;
        if (strchr(a, 'r'))
                b |= BPF_DEVCG_ACC_READ;
        if (strchr(a, 'w'))
                b |= BPF_DEVCG_ACC_WRITE;
        return b;
}

/* Registers after the prologue: r2 type, r3 access, r4 major, r5 minor; r6 scratch. */
void *res_device_prog(const struct res_device *rules, size_t n, size_t *ret_n_insns)
{
        struct insns p = {0};
        emit(&p, INSN(BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0));
        emit(&p, INSN(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff));
        emit(&p, INSN(BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0));
        emit(&p, INSN(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16));
        emit(&p, INSN(BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0));
        emit(&p, INSN(BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0));
        /* The last matching rule decides: test them from the last one up. */
        for (size_t k = n; k > 0; k--) {
                const struct res_device *d = &rules[k - 1];
                struct bpf_insn blk[12];
                size_t m = 0;
                if (d->type != 'a')
                        blk[m++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0,
                                        d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
                unsigned acc = access_bits(d->access);
                if (acc != 7) {
                        blk[m++] = INSN(BPF_ALU | BPF_MOV | BPF_X, 6, 3, 0, 0);
                        if (d->allow) {
                                /* Allow only if every requested bit is allowed. */
                                blk[m++] =
                                    INSN(BPF_ALU | BPF_AND | BPF_K, 6, 0, 0, (int)(~acc & 7));
                                blk[m++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 6, 0, 0, 0);
                        } else {
                                /* Deny if any requested bit is denied. */
                                blk[m++] = INSN(BPF_ALU | BPF_AND | BPF_K, 6, 0, 0, (int)acc);
                                blk[m++] = INSN(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 0, 0);
                        }
                }
                if (d->major >= 0)
                        blk[m++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, (int)d->major);
                if (d->minor >= 0)
                        blk[m++] = INSN(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, (int)d->minor);
                blk[m++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, d->allow ? 1 : 0);
                blk[m++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
                /* Every jump skips to the end of this rule's block. */
                for (size_t j = 0; j < m; j++)
                        if (BPF_CLASS(blk[j].code) == BPF_JMP && BPF_OP(blk[j].code) != BPF_EXIT)
                                blk[j].off = (int16_t)(m - j - 1);
                for (size_t j = 0; j < m; j++)
                        emit(&p, blk[j]);
                /* A rule that matches everything decides alone: the verifier
                 * refuses the unreachable code that would follow it. */
                if (m == 2) {
                        *ret_n_insns = p.n;
                        return p.v;
                }
        }
        emit(&p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
        emit(&p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
        *ret_n_insns = p.n;
        return p.v;
}
