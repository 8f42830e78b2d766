/* A container's runtime state on disk, under the runtime root (--root):
 *
 *   ROOT/ID/            0711, created by create (mkdir is the uniqueness check)
 *   ROOT/ID/state.json  this file: pid, process start time, bundle, cgroups ...
 *   ROOT/ID/config.json the config the container was created with (exec and
 *                       delete use it, so moving the bundle breaks nothing)
 *   ROOT/ID/exec.fifo   exists while the container is "created"; start writes
 *                       one byte into it to let the init exec the process
 *
 * Commands that change a container hold an exclusive flock on ROOT/ID, so
 * several commands on one id at once are safe. Status is derived, never
 * stored: a live init with exec.fifo is "created", without it "running"; a
 * dead or reused pid (start time differs) is "stopped".
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/cleanup.h"
#include "core/error.h"
#include "runtime/spec.h"

enum container_status {
        STATUS_CREATING,
        STATUS_CREATED,
        STATUS_RUNNING,
        STATUS_PAUSED,
        STATUS_STOPPED,
};

struct container_state {
        char *id;
        pid_t pid;
        uint64_t start_time; /* /proc/PID/stat field 22, guards against pid reuse */
        char *bundle;
        char *rootfs;
        char *created; /* RFC 3339, UTC, nanoseconds */
        char *owner;
        char **cgroup_dirs;
        bool rootless;
        struct spec_kv *annotations;
        size_t n_annotations;
        int dirfd; /* ROOT/ID, O_DIRECTORY; -1 when not open */
};

const char *status_name(enum container_status s);
/* Rejects ids runc would reject: empty, ".", "..", '/', or characters outside [A-Za-z0-9_+.-]. */
int state_check_id(const char *id, struct error *err);
/* Opens ROOT (creating it 0700) and returns its fd. */
int state_open_root(const char *root, int *ret_fd, struct error *err);
/* Creates ROOT/ID exclusively, locked; -EEXIST with a clear message if taken. */
int state_create_dir(int rootfd, const char *id, int *ret_dirfd, struct error *err);
/* Removes ROOT/ID and everything in it (the caller holds the lock). */
int state_remove_dir(int rootfd, const char *id);
/* Loads ROOT/ID/state.json; with lock, takes the exclusive lock first.
 * -ENOENT with "container 'ID' does not exist" when there is none. */
int state_load(int rootfd, const char *id, bool lock, struct container_state **ret,
               struct error *err);
int state_save(const struct container_state *st, struct error *err);
void state_free(struct container_state *st);
DEFINE_FREEP(struct container_state, state_free)
enum container_status state_status(const struct container_state *st);
/* The OCI state object ({ociVersion, id, status, pid, bundle, ...}). */
struct json_object *state_to_oci(const struct container_state *st, enum container_status s);
/* Start time of pid from /proc, 0 when it is gone or a zombie. */
uint64_t proc_start_time(pid_t pid);
/* Current time as RFC 3339 with nanoseconds, UTC. */
char *now_rfc3339(void);
/* Loads the config.json stored in the state dir. */
int state_load_config(const struct container_state *st, struct spec **ret, struct error *err);
