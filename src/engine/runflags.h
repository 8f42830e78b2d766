/* The security, device, limit and namespace flags of `husk run`/`create`
 * (--privileged, --security-opt, --device, --sysctl, --shm-size,
 * --memory-swap, --cpu-shares, --cpuset-cpus, --group-add, --cgroup-parent,
 * --pid, --ipc, --uts), and Docker's default seccomp profile.
 *
 * runflags_option() checks one flag's value as the CLI reads it;
 * runflags_host_config() records them in the container's HostConfig (as
 * docker names them); runflags_oci() applies a HostConfig to the OCI
 * config.json that ctr_oci_spec() made, when the container starts.
 */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

struct engine;
struct ctr_create_opts;

/* Docker's default seccomp profile, read at run time (golang-github-containers-common). */
#define RUNFLAGS_DEFAULT_SECCOMP "/usr/share/containers/seccomp.json"

struct ctr_runflags {
        bool privileged;
        char **security_opt; /* seccomp=FILE|unconfined, no-new-privileges[=B], label=... */
        char **devices;      /* HOST[:CTR][:rwm] */
        char **sysctls;      /* K=V */
        char **group_add;    /* names or gids */
        int64_t shm_size;    /* bytes, 0 = docker's 64m */
        int64_t memory_swap; /* memory+swap bytes, -1 = unlimited, 0 = unset */
        int64_t cpu_shares;  /* 0 = unset */
        const char *cpuset_cpus, *cgroup_parent;
        const char *pid_mode, *ipc_mode, *uts_mode;
};

/* getopt values of the flags (above any character option). */
enum {
        RF_OPT_PRIVILEGED = 0x300,
        RF_OPT_SECURITY_OPT,
        RF_OPT_DEVICE,
        RF_OPT_SYSCTL,
        RF_OPT_SHM_SIZE,
        RF_OPT_MEMORY_SWAP,
        RF_OPT_CPU_SHARES,
        RF_OPT_CPUSET_CPUS,
        RF_OPT_GROUP_ADD,
        RF_OPT_CGROUP_PARENT,
        RF_OPT_PID,
        RF_OPT_IPC,
        RF_OPT_UTS,
        RF_OPT_END,
};

/* Help lines for the flags, in create_help's layout. */
extern const char runflags_help[];

/* One flag (opt: RF_OPT_*); a bad value is an error naming the flag and value. */
int runflags_option(struct ctr_runflags *rf, int opt, const char *arg, struct error *err);
void runflags_free(struct ctr_runflags *rf);

/* Checks o->runflags together (and with --memory, --hostname) and adds them
 * to doc's HostConfig (with --uts host, Config.Hostname becomes the host's). */
int runflags_host_config(struct json_object *doc, const struct ctr_create_opts *o,
                         struct error *err);

/* Applies hc's flags to spec. rootfd: the container's root (for --group-add
 * names); e: to find the container of container:NAME modes. */
int runflags_oci(struct engine *e, struct json_object *hc, int rootfd, struct json_object *spec,
                 struct error *err);

/* Turns a Docker seccomp profile (archMap, includes/excludes) into the OCI
 * linux.seccomp object for this architecture and capability set. */
int runflags_seccomp(struct json_object *profile, const char *what, char *const *caps,
                     struct json_object **ret, struct error *err);

/* True when container id joins an existing pid namespace (--pid host or
 * container:X): its monitor must then run from a sealed copy of husk. */
bool runflags_joins_pid_ns(struct engine *e, const char *id);
/* The same from the container's stored document. */
bool runflags_doc_joins_pid_ns(struct json_object *doc);

/* OOM kills (.State.OOMKilled): before its cgroup goes, the monitor records
 * whether the kernel's OOM killer struck in the container (the memory
 * cgroup's oom_kill counter, v1 memory.oom_control or v2 memory.events) in
 * ROOT/containers/ID/oom-killed; the next start clears it. */
void runflags_record_oom(struct engine *e, const char *id);
bool runflags_oom_killed(struct engine *e, const char *id);
