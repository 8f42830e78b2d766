/* The OCI lifecycle: create, start, run, kill, delete, state, list, exec.
 * Each takes the runtime root (the --root directory) and a container id. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"
#include "runtime/spec.h"
#include "runtime/state.h"

struct create_opts {
        const char *root;
        const char *id;
        const char *bundle; /* NULL: the current directory */
        const char *pid_file;
        const char *console_socket;
        int preserve_fds;
        bool no_pivot;
        bool no_new_keyring;
        int console_fd; /* internal: one end of a socketpair for the pty master, or -1 */
        bool sealed;    /* the runtime runs from a sealed copy of itself (see -ERESTART) */
        /* startproto: optional, called with the init's pid while the init
         * sets itself up (its namespaces exist); a failure fails the create. */
        int (*spawned)(void *arg, pid_t init, struct error *err);
        void *spawned_arg;
        /* startproto: optional, the text of BUNDLE/config.json the caller has
         * just written, so it is not read back */
        const char *config_text;
};

/* -ERESTART (nothing created) when the init would be visible in a pid
 * namespace that already has processes and the runtime is not sealed: the
 * caller re-executes from a sealed copy and tries again. */
int container_create(const struct create_opts *o, struct error *err);
int container_start(const char *root, const char *id, struct error *err);
/* startproto: create, for a caller that starts the container itself soon
 * after (the engine's monitor, in-process): the state stays locked and in
 * memory with the parsed spec for container_start_held(), so nothing is
 * read and parsed again; the caller frees both (state_free, spec_free)
 * once the init has exec'd (until then, freeing writes into memory the
 * init still shares copy-on-write). */
int container_create_held(const struct create_opts *o, struct container_state **ret_st,
                          struct spec **ret_spec, struct error *err);
int container_start_held(struct container_state *st, const struct spec *s, struct error *err);
/* create + start; without detach, waits and sets *ret_status to the exit code
 * (128+N when killed by signal N), then deletes the container. */
int container_run(const struct create_opts *o, bool detach, int *ret_status, struct error *err);
int container_kill(const char *root, const char *id, int sig, bool all, struct error *err);
int container_delete(const char *root, const char *id, bool force, struct error *err);
/* The container's processes, sorted: those in its cgroup, or for a rootless
 * container without a cgroup of its own, those in its init's pid namespace. */
int container_pids(const struct container_state *st, pid_t **ret_pids, size_t *ret_n,
                   struct error *err);

struct container_info {
        struct container_state *st;
        enum container_status status;
};
/* All containers under root, sorted by id. */
int container_list(const char *root, struct container_info **ret, size_t *ret_n, struct error *err);
void container_list_free(struct container_info *l, size_t n);

struct exec_opts {
        const char *root;
        const char *id;
        struct spec *spec; /* the container's config, its process replaced by the one to run */
        const char *console_socket;
        const char *pid_file;
        bool detach;
        int preserve_fds;
};
int container_exec(const struct exec_opts *o, int *ret_status, struct error *err);
/* Loads a container's stored config (for exec to derive its process from). */
int container_load_config(const char *root, const char *id, struct spec **ret, struct error *err);
