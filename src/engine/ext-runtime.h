/* External OCI runtimes (`husk run --runtime PATH`): any runc-compatible
 * binary (runc, crun, husk-runtime ...) driven through the runc CLI instead
 * of the built-in runtime library, as podman does with conmon.
 *
 * Every invocation is `PATH --root RUNROOT/runtime --log /proc/self/fd/3
 * SUBCOMMAND ...`: fd 3 is a memfd, so what the runtime logs (its errors)
 * is relayed in ours, with whatever it wrote on stderr. The container's row
 * keeps the runtime's absolute path (ctr.runtime, "" = the built-in
 * library); the engine_rt_* helpers below pick the backend from it, so
 * every later command (stop, kill, rm, pause, top, stats, exec, release)
 * uses the runtime the container was created with.
 *
 * The monitor stays a child subreaper: the container's init, whose parent
 * (the runtime) exits after `create`, is reparented to it and reaped there,
 * so the exit code comes from the reaped status. Design: docs/engine.md. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"
#include "engine/ctr-store.h"

struct engine;
struct json_object;
struct spec_process;

/* Resolves --runtime NAME as podman does: a NAME with a '/' is a path (made
 * absolute), anything else is looked up in $PATH. It must be an executable
 * regular file. *ret gets the absolute path. -ENOENT / -EACCES naming it. */
int extrt_resolve(const char *name, char **ret, struct error *err);

/* Records the runtime as docker's .HostConfig.Runtime in the stored
 * document ("husk" for the built-in library). */
void extrt_config(struct json_object *doc, const char *path);

/* `create --bundle BUNDLE --pid-file ... [--console-socket S] ID`. The
 * container's stdio are the caller's fds 0-2 (pipes, passed through);
 * with console_fd >= 0 (Tty) the pty master the runtime hands over a console
 * socket is sent on console_fd (send_fd), as the built-in library does.
 * *ret_pid gets the init's pid. On failure nothing of the container is left
 * in the runtime (a `delete --force` follows a half-made one). */
int extrt_create(const char *rt, const char *root, const char *id, const char *bundle,
                 int console_fd, pid_t *ret_pid, struct error *err);
int extrt_start(const char *rt, const char *root, const char *id, struct error *err);

/* `exec` for `husk exec`: the process is the bundle's config.json process
 * with p's args, env, cwd, user, capabilities and terminal. Without tty the
 * process gets the caller's fds 0-2 and *ret_status its exit status (with
 * detach: once it runs, 0). With tty (detached or not) the runtime starts it
 * detached with a console socket, as conmon does: the caller becomes a child
 * subreaper, so the process is its child; *ret_master gets the pty master
 * and *ret_pid the process, for the caller to relay and reap. A process the
 * runtime could not execute: -ENOENT / -EACCES (docker's 127 / 126). */
int extrt_exec(const char *rt, const char *root, const char *id, const char *bundle,
               const struct spec_process *p, bool tty, bool detach, int *ret_status,
               int *ret_master, pid_t *ret_pid, struct error *err);

/* Backend dispatch on c->runtime: the external runtime, or the library. */
int engine_rt_kill(struct engine *e, const struct ctr *c, int sig, bool all, struct error *err);
int engine_rt_pause(struct engine *e, const struct ctr *c, bool pause, struct error *err);
/* Whether the runtime says the container is paused. */
bool engine_rt_paused(struct engine *e, const struct ctr *c);
/* The container's pids (sorted). */
int engine_rt_pids(struct engine *e, const struct ctr *c, pid_t **ret, size_t *ret_n,
                   struct error *err);
/* runc's `events --stats` "data" object. */
int engine_rt_stats(struct engine *e, const struct ctr *c, struct json_object **ret,
                    struct error *err);
/* The memory cgroup directory of an external runtime's container (noted at
 * create from the init's /proc/PID/cgroup, ROOT/containers/ID/runtime-cgroup),
 * as a strv; -ENOENT for a built-in one. For the OOM-kill count. */
int extrt_cgroup_dirs(struct engine *e, const char *id, char ***ret);
/* Deletes the runtime's state of container id (killing what is left). */
void engine_rt_delete(struct engine *e, const char *id);
