/* The OCI seccomp profile (config-linux.md "Seccomp"), compiled with
 * libseccomp into a BPF program and loaded into the container's process.
 *
 *   create/exec (runtime)              container process
 *   seccomp_from_spec: parse (errors name the JSON path) and compile (or
 *     take the BPF from ROOT/.seccomp-cache), before the container exists
 *   [connect to listenerPath when SCMP_ACT_NOTIFY is used]
 *                                      seccomp_filter_load: seccomp(2) with
 *                                      the flags; a helper sends the notify
 *                                      fd to the listener with the container
 *                                      process state JSON
 *
 * When the process loads it is process.c's business (runc's order: before
 * the user switch without no_new_privs, else just before the exec).
 * Unknown syscall names are skipped (as runc does); unknown actions,
 * operators, architectures and flags are errors. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/cleanup.h"
#include "core/error.h"

struct seccomp_cond {
        unsigned index; /* 0..5 */
        int op;         /* enum scmp_compare */
        uint64_t value, value_two;
};

struct seccomp_rule {
        char *name;
        int nr;          /* libseccomp's number for the name (may be a pseudo number) */
        uint32_t action; /* libseccomp action, errno included */
        size_t entry;    /* index in linux.seccomp.syscalls, for messages */
        struct seccomp_cond *conds;
        size_t n_conds;
};

struct seccomp_profile {
        uint32_t default_action;
        uint32_t *archs; /* SCMP_ARCH_* tokens */
        size_t n_archs;
        unsigned flags;             /* SECCOMP_FILTER_FLAG_* */
        struct seccomp_rule *rules; /* one per syscall name that resolved */
        size_t n_rules;
        size_t n_skipped;        /* names this libseccomp does not know */
        char *listener_path;     /* NULL when not set */
        char *listener_metadata; /* NULL when not set */
        bool notify;             /* some rule uses SCMP_ACT_NOTIFY */
};

/* Parses the linux.seccomp object at PATH. *ret is NULL (and 0 returned) when
 * the object turns seccomp off (no defaultAction and no syscalls, as runc). */
int seccomp_profile_parse(struct json_object *o, const char *path, struct seccomp_profile **ret,
                          struct error *err);
void seccomp_profile_free(struct seccomp_profile *p);
DEFINE_FREEP(struct seccomp_profile, seccomp_profile_free)

/* A compiled filter: what the process loads. */
struct seccomp_filter {
        void *insns; /* struct sock_filter[] */
        size_t n_insns;
        unsigned flags;       /* for seccomp(SECCOMP_SET_MODE_FILTER) */
        bool notify;          /* load with a listener and send its fd */
        bool execveat_direct; /* execveat(2) is plainly allowed: the exec may use it */
        char *summary;        /* one line for --explain */
};

int seccomp_filter_compile(const struct seccomp_profile *p, struct seccomp_filter **ret,
                           struct error *err);
void seccomp_filter_free(struct seccomp_filter *f);
DEFINE_FREEP(struct seccomp_filter, seccomp_filter_free)

/* Parses and compiles linux.seccomp of a spec; *ret NULL when there is none.
 * With cache_root >= 0 (the runtime's state root), compiled programs are
 * kept in its .seccomp-cache/ (list skips dot names) and reused for the same profile. */
int seccomp_from_spec(struct json_object *seccomp, int cache_root, struct seccomp_filter **ret,
                      char **ret_listener_path, char **ret_metadata, struct error *err);

/* Loads the filter into the calling process. With f->notify, the listener fd
 * is sent over listener_sock (a connected unix stream socket) with payload
 * (the container process state JSON) by a helper that shares our fd table
 * and is not under the filter, so a profile that blocks sendmsg still works. */
int seccomp_filter_load(const struct seccomp_filter *f, int listener_sock, const char *payload,
                        struct error *err);

/* Connects to the profile's listenerPath (a unix stream socket). */
int seccomp_listener_connect(const char *path, int *ret_fd, struct error *err);

/* The runtime-spec "container process state" for the listener: ociVersion,
 * fds ["seccompFd"], pid, metadata and state (STATE_JSON, an OCI state). */
char *seccomp_process_state(const char *state_json, pid_t pid, const char *metadata);

/* Names for `features`: every known action/operator/arch/flag, and the flags
 * this kernel accepts. Static NULL-terminated lists (supported: owned strv). */
const char *const *seccomp_known_actions(void);
const char *const *seccomp_known_operators(void);
const char *const *seccomp_known_archs(void); /* those this libseccomp supports */
const char *const *seccomp_known_flags(void);
char **seccomp_supported_flags(void);
