/* The OCI runtime-spec config.json (v1.2, Linux) as C structs.
 *
 * spec_load() parses and validates the whole file before anything is
 * created: unknown fields are ignored, a wrong type or value is an error that
 * names the JSON path ("process.rlimits[1].hard: expected an unsigned
 * integer"). Strings are owned; string vectors are NULL-terminated (strv);
 * arrays carry their length in n_*. Values that the spec lets the runtime
 * interpret (mount options, capability names, rlimit names, namespace types)
 * are converted to kernel values here, so later code never re-parses text.
 */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

/* gnu11 predefines `linux` as 1; struct spec has a member of that name. */
#undef linux

struct spec_kv {
        char *key, *value;
};

struct spec_id_mapping {
        uint32_t container_id, host_id, size;
};

struct spec_mount {
        char *destination; /* absolute path inside the container */
        char *type;        /* may be NULL (bind mounts) */
        char *source;      /* may be NULL */
        char **options;    /* as given */
        /* Derived from options: */
        unsigned long flags;       /* MS_* to set (MS_BIND, MS_REC, MS_RDONLY, ...) */
        unsigned long clear_flags; /* MS_* named with "rw", "suid", "dev", "exec", ... */
        unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE | MS_REC, or 0 */
        char *data;                /* remaining filesystem options, comma-joined, or NULL */
        bool idmap, ridmap;        /* "idmap"/"ridmap" options */
        bool rro;                  /* "rro": recursive read-only (mount_setattr) */
        uint64_t attr_set, attr_clr; /* MOUNT_ATTR_* for options only mount_setattr knows */
        struct spec_id_mapping *uid_mappings, *gid_mappings; /* mount-level idmap */
        size_t n_uid_mappings, n_gid_mappings;
};

struct spec_rlimit {
        int resource; /* RLIMIT_* */
        char *name;   /* "RLIMIT_NOFILE" as given */
        uint64_t soft, hard;
};

struct spec_caps {
        /* Bit N set = capability N. Unknown names are skipped with a warning (as runc). */
        uint64_t bounding, effective, inheritable, permitted, ambient;
};

struct spec_user {
        uint32_t uid, gid;
        bool has_umask;
        uint32_t umask;
        uint32_t *additional_gids;
        size_t n_additional_gids;
};

struct spec_process {
        bool terminal;
        bool has_console_size;
        uint32_t console_height, console_width;
        struct spec_user user;
        char **args;
        char **env;
        char *cwd;
        bool has_caps; /* "capabilities" present; absent means no capabilities at all */
        struct spec_caps caps;
        struct spec_rlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        char *apparmor_profile;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *selinux_label;
        /* linux.ioPriority / scheduler are parsed by later issues; raw here. */
};

struct spec_namespace {
        int type;   /* CLONE_NEWPID, CLONE_NEWNS, ... */
        char *path; /* join this one instead of creating; NULL = new */
};

struct spec_device {
        char type; /* 'c', 'b', 'u' (= 'c'), 'p' */
        char *path;
        int64_t major, minor;
        bool has_file_mode, has_uid, has_gid;
        uint32_t file_mode, uid, gid;
};

struct spec_time_offset {
        int clock; /* CLOCK_MONOTONIC or CLOCK_BOOTTIME */
        int64_t secs;
        uint32_t nanosecs;
};

struct spec_hook {
        char *path;
        char **args;
        char **env;
        int timeout; /* seconds; 0 = none */
};

struct spec_hooks {
        struct spec_hook *prestart, *create_runtime, *create_container, *start_container,
            *poststart, *poststop;
        size_t n_prestart, n_create_runtime, n_create_container, n_start_container, n_poststart,
            n_poststop;
};

struct spec_linux {
        struct spec_namespace *namespaces;
        size_t n_namespaces;
        struct spec_id_mapping *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
        struct spec_time_offset *time_offsets;
        size_t n_time_offsets;
        struct spec_device *devices;
        size_t n_devices;
        char *cgroups_path;
        unsigned long rootfs_propagation; /* MS_* | MS_REC, 0 = default (rslave as runc) */
        char **masked_paths;
        char **readonly_paths;
        struct spec_kv *sysctl;
        size_t n_sysctl;
        char *mount_label;
        /* Parsed in full by the resources/seccomp issue; kept as JSON until then. */
        struct json_object *resources; /* NULL when absent */
        struct json_object *seccomp;   /* NULL when absent */
        bool has_personality;
        unsigned long personality;
};

struct spec {
        char *oci_version;
        char *root_path; /* as given (relative to the bundle or absolute) */
        bool root_readonly;
        char *hostname;
        char *domainname;
        struct spec_mount *mounts;
        size_t n_mounts;
        bool has_process;
        struct spec_process process;
        struct spec_hooks hooks;
        struct spec_kv *annotations;
        size_t n_annotations;
        struct spec_linux linux;
        char **warnings; /* things skipped (unknown capability names, ...), for the CLI to print */
        struct json_object *json; /* the whole document, owned */
};

/* Parses config.json text. On failure *err names the JSON path. */
int spec_parse(const char *text, const char *what, struct spec **ret, struct error *err);
/* Reads and parses BUNDLE/config.json. */
int spec_load(const char *bundle, struct spec **ret, struct error *err);
void spec_free(struct spec *s);

/* Parses one "process" object (exec --process FILE uses it too). */
int spec_parse_process(struct json_object *o, const char *path, struct spec_process *ret,
                       char ***warnings, struct error *err);
void spec_process_done(struct spec_process *p);

/* Namespace helpers: "pid" -> CLONE_NEWPID, and back ("pid", "network", ...). */
int spec_ns_type_from_name(const char *name);
const char *spec_ns_name(int type);
/* Returns the namespace of that type, or NULL when the config doesn't ask for one. */
const struct spec_namespace *spec_find_namespace(const struct spec *s, int type);
/* Capability name <-> number ("CAP_SYS_ADMIN" <-> 21); -1 when unknown. */
int spec_cap_from_name(const char *name);
const char *spec_cap_name(int cap);
/* Highest capability number this kernel knows (from /proc/sys/kernel/cap_last_cap). */
int spec_cap_last(void);

/* Writes the default config.json that `spec` prints (runc's defaults; rootless variant). */
struct json_object *spec_default(bool rootless);
