/* linux.resources of the OCI runtime-spec as a struct, and the cgroup writes
 * that apply it.
 *
 * resources_parse() takes the JSON object (config.json's linux.resources or
 * the file of `update -r`) and checks every field's type; errors name the
 * JSON path ("linux.resources.memory.limit: expected an integer"). Each
 * field has a has_ flag: absent fields are never written.
 *
 * resources_apply() writes the values into a container's cgroup
 * directories (the list cgroup_create returned), each controller in the
 * hierarchy that holds it: v1 files on v1, v2 files on v2, and on a hybrid
 * host each where it lives. v1 values are converted for v2 the way runc and
 * crun do (shares -> cpu.weight, blkio weight -> io.weight, swap ->
 * memory.swap.max = swap - limit). A value the host can't honour (no
 * controller, a v2-only key on v1) is an error naming the field. Every
 * write goes through core/sys.h, so --explain shows it.
 */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cleanup.h"
#include "core/error.h"

/* A device rule; major/minor -1 is the wildcard '*'. */
struct res_device {
        bool allow;
        char type; /* 'a', 'c', 'b' */
        int64_t major, minor;
        char access[4]; /* subset of "rwm", in that order */
};

struct res_weight_device {
        int64_t major, minor;
        bool has_weight, has_leaf_weight;
        uint16_t weight, leaf_weight;
};

struct res_rate_device {
        int64_t major, minor;
        uint64_t rate;
};

struct res_rate_list {
        struct res_rate_device *v;
        size_t n;
};

struct res_hugepage {
        char *page_size; /* "2MB", "1GB" */
        uint64_t limit;
};

struct res_prio {
        char *name;
        uint32_t priority;
};

struct res_rdma {
        char *device;
        bool has_handles, has_objects;
        uint32_t handles, objects;
};

struct res_kv {
        char *key, *value;
};

struct resources {
        struct {
                bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp,
                    has_swappiness, has_disable_oom_killer, has_use_hierarchy;
                int64_t limit, reservation, swap, kernel, kernel_tcp;
                uint64_t swappiness;
                bool disable_oom_killer, use_hierarchy, check_before_update;
        } memory;
        struct {
                bool has_shares, has_quota, has_period, has_burst, has_rt_runtime, has_rt_period,
                    has_idle;
                uint64_t shares, period, burst, rt_period;
                int64_t quota, rt_runtime, idle;
                char *cpus, *mems; /* NULL when absent */
        } cpu;
        struct {
                bool has_limit;
                int64_t limit;
        } pids;
        struct {
                bool has_weight, has_leaf_weight;
                uint16_t weight, leaf_weight;
                struct res_weight_device *weight_devices;
                size_t n_weight_devices;
                struct res_rate_list read_bps, write_bps, read_iops, write_iops;
        } blkio;
        struct res_hugepage *hugepages;
        size_t n_hugepages;
        struct {
                bool has_class_id;
                uint32_t class_id;
                struct res_prio *priorities;
                size_t n_priorities;
        } network;
        bool has_devices; /* the key was given (even as []): the device cgroup is set */
        struct res_device *devices;
        size_t n_devices;
        struct res_rdma *rdma;
        size_t n_rdma;
        struct res_kv *unified;
        size_t n_unified;
        char **warnings; /* fields ignored on purpose (memory.kernel ...) */
};

/* Parses o (NULL: nothing set) into *ret; path names o in errors
 * ("linux.resources"). */
int resources_parse(struct json_object *o, const char *path, struct resources **ret,
                    struct error *err);
void resources_free(struct resources *r);
DEFINE_FREEP(struct resources, resources_free)
/* Whether anything at all is set. */
bool resources_empty(const struct resources *r);

/* Which groups of fields resources_apply writes. */
enum {
        RES_MEMORY = 1 << 0,
        RES_CPU = 1 << 1,
        RES_PIDS = 1 << 2,
        RES_BLKIO = 1 << 3,
        RES_HUGETLB = 1 << 4,
        RES_NETWORK = 1 << 5,
        RES_DEVICES = 1 << 6,
        RES_RDMA = 1 << 7,
        RES_UNIFIED = 1 << 8,
        RES_ALL = 0x1ff,
};

struct res_apply_opts {
        unsigned what;    /* RES_* groups to write */
        bool update;      /* a running container: memory.checkBeforeUpdate applies */
        const char *path; /* JSON path for errors, "linux.resources" */
        /* Why a controller has no directory among dirs, when the caller knows
         * (rootless: hierarchies it may not create cgroups in); NULL: not mounted. */
        const char *unavailable;
        char **warnings; /* out: owned strv of things ignored, may stay NULL */
};

int resources_apply(char *const *dirs, const struct resources *r, struct res_apply_opts *o,
                    struct error *err);

/* Conversions shared with v2 (exposed for the unit tests). */
uint64_t res_shares_to_weight(uint64_t shares);
uint64_t res_blkio_to_io_weight(uint64_t weight);
/* memory.swap.max from the spec's swap (memory+swap) and limit; returns
 * 0 and "max" or a number in buf, or -EINVAL with *why set. */
int res_swap_v2(int64_t swap, int64_t limit, char *buf, size_t len, const char **why);

/* The cgroup v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program for
 * the rules (last matching rule wins, default deny), as struct bpf_insn
 * (8 bytes each). Exposed for the unit tests. */
void *res_device_prog(const struct res_device *rules, size_t n, size_t *ret_n_insns);
/* runc's default allowed devices, appended after the config's rules. */
extern const struct res_device res_default_devices[];
extern const size_t res_n_default_devices;

/* Freezer: freeze or thaw the container's cgroup and wait until the
 * kernel says it is done (v1 freezer.state, v2 cgroup.events). */
int cgroup_freeze(char *const *dirs, bool frozen, struct error *err);
/* speed: 1 when the freezer cgroup_freeze() uses is frozen, else 0 (one read,
 * not a probe of every hierarchy: `ps` asks for every container). */
int cgroup_frozen(char *const *dirs);

/* Statistics as runc's `events --stats` "data" object. */
struct json_object *cgroup_stats(char *const *dirs);
/* Watching the container's memory cgroup for OOM kills: fd becomes
 * readable on a memory event (v1: an eventfd registered on
 * memory.oom_control, v2: inotify on memory.events). */
struct oom_watch {
        int fd, aux; /* -1 when closed */
        char *dir;   /* the memory cgroup directory */
        bool v2;
        uint64_t kills; /* the oom_kill counter last seen */
};
int cgroup_oom_watch(char *const *dirs, struct oom_watch *w, struct error *err);
/* After fd was readable (or any time): drains it and returns how many OOM
 * kills happened since the last call, or -ENOENT when the cgroup is gone. */
int cgroup_oom_check(struct oom_watch *w);
void cgroup_oom_unwatch(struct oom_watch *w);
