/* Containers as docker users know them: create, start (through a monitor),
 * stop, kill, remove, wait, and the state refresh that notices a vanished
 * monitor. See docs/engine.md for the design.
 *
 * On disk (ROOT = --root, RUNROOT = --runroot):
 *   ROOT/containers/ID/          config.json (the OCI bundle), hostname, hosts,
 *                                ctr.log (k8s-file), upper/ work/ (the overlay's
 *                                writable layer), rootfs/ (its mount point)
 *   RUNROOT/containers/ID/attach the monitor's attach socket (while it runs)
 *   RUNROOT/runtime/             the runtime library's state root
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "engine/ctr-store.h"
#include "image/store.h"

struct net_ctx;
struct ctr_freezer; /* ps */
struct engine {
        char *root, *runroot;
        char *ctr_root; /* ROOT/containers */
        char *run_root; /* RUNROOT/containers */
        char *rt_root;  /* RUNROOT/runtime */
        struct store *store;
        struct net_ctx *net_cache; /* speed: ctr_net_ports' network store, opened once */
        /* startproto: the database closed around the monitor's spawn stays
         * closed: the caller (run) calls engine_db_reopen() if it needs it again. */
        bool db_lazy;
        char *db_path;               /* startproto: set while it is closed so */
        int wal_pin;                 /* startproto: keeps the WAL index valid meanwhile, -1 */
        struct image *created_image; /* startproto: what engine_create last used */
        char *created_id;            /* startproto: and the container it made */
        bool created_joins_pid;      /* startproto: which has --pid host|container:X */
        int rt_rootfd;               /* ps: rt_root opened once (ctr-paused.c); -1: not yet */
        struct ctr_freezer *freezer; /* ps: ctr-paused.c's guess of where freezers are */
};

int engine_open(const char *root, const char *runroot, struct engine **ret, struct error *err);
void engine_close(struct engine *e);
DEFINE_FREEP(struct engine, engine_close)
#define _cleanup_engine_ _cleanup_(engine_closep)

/* What `create`/`run` were asked for. Vectors are NULL-terminated. */
struct ctr_runflags;
struct ctr_create_opts {
        const char *image;
        const char *name; /* NULL: a random one */
        char *const *cmd; /* after the image; NULL: the image's Cmd */
        char *const *entrypoint;
        bool has_entrypoint;  /* --entrypoint given ("" clears the image's) */
        char *const *env;     /* K=V, or K alone to take it from husk's environment */
        char *const *volumes; /* HOST:CTR[:ro|:rw] */
        char *const *labels;  /* K=V */
        char *const *cap_add, *const *cap_drop; /* "NET_ADMIN", "CAP_CHOWN", "ALL" */
        char *const *tmpfs;                     /* PATH[:OPTIONS] */
        char *const *ulimits;                   /* NAME=SOFT[:HARD] */
        bool read_only;
        bool init; /* --init: catatonit (or tini-static) as pid 1 */
        const char *workdir, *user, *hostname, *stop_signal;
        int stop_timeout; /* --stop-timeout seconds, when has_stop_timeout */
        bool has_stop_timeout;
        int64_t memory;     /* bytes, 0 = none */
        int64_t pids_limit; /* 0 = none */
        int64_t nano_cpus;  /* 1e9 per cpu, 0 = none */
        bool interactive, tty, auto_remove;
        bool stdin_once; /* with interactive: docker's StdinOnce (run -i, create -i; not run -d) */
        /* Networks (engine/ctr-net.h). network: "bridge" (NULL), "none", "host",
         * "container:X" or a network's name; publish: -p specs; publish_all: -P. */
        const char *network, *ip, *mac;
        char *const *publish;
        char *const *dns, *const *add_hosts;
        bool publish_all;
        /* monitor2: --restart (engine/restart.h); NULL = "no" */
        const char *restart_name;
        int restart_max;
        /* monitor2: --log-driver (NULL: k8s-file) and --log-opt K=V (engine/logdrv.h) */
        const char *log_driver;
        char *const *log_opts;
        struct ctr_runflags *runflags; /* runflags: security, devices, limits, namespaces */
        char *const *mounts;           /* volumes branch: --mount specs (docker's syntax) */
        char *const *network_aliases;  /* gaps: --network-alias, on the first network */
        const char *runtime; /* extruntime: --runtime PATH or NAME in $PATH; NULL: built-in */
};
/* Records a new container ("created"); *ret_id gets its id. */
int engine_create(struct engine *e, const struct ctr_create_opts *o, char **ret_id,
                  struct error *err);

/* Starts a created or exited container: spawns its monitor and waits until
 * the container runs (or failed to start, with the monitor's error). With
 * ret_sock, *ret_sock is an attach connection made before the container
 * started (so no output is missed); with_stdin says whether it forwards
 * stdin. rows/cols (0: none): the terminal size a Tty container starts
 * with. Already running: -EALREADY. */
int engine_start(struct engine *e, const char *id, int *ret_sock, bool with_stdin, unsigned rows,
                 unsigned cols, struct error *err);

/* Brings a row up to date: a "running" row whose monitor is gone becomes
 * "exited" and what the container held is released (removed entirely for
 * --rm). Sets *ret_gone when the row was removed. */
int engine_refresh(struct engine *e, struct ctr *c, bool *ret_gone, struct error *err);
/* Looks up and refreshes. */
int engine_lookup(struct engine *e, const char *what, struct ctr *ret, struct error *err);

/* Sends sig to the container's init. */
int engine_kill(struct engine *e, const struct ctr *c, int sig, struct error *err);
/* Stop signal, wait timeout seconds (< 0: the container's stop timeout,
 * 10), then SIGKILL; returns when the monitor is done. */
int engine_stop(struct engine *e, const struct ctr *c, int timeout, struct error *err);
/* Waits until the container is not running; *ret_code gets its exit code. */
int engine_wait(struct engine *e, const char *id, int *ret_code, struct error *err);
/* Removes a container; running ones only with force (then killed first). */
int engine_remove(struct engine *e, const struct ctr *c, bool force, struct error *err);

/* Freezes / thaws a running container's processes (the cgroup freezer). */
int engine_pause(struct engine *e, const struct ctr *c, bool pause, struct error *err);
/* The host pids of a running container's processes (its cgroup), sorted. */
int engine_pids(struct engine *e, const struct ctr *c, pid_t **ret, size_t *ret_n,
                struct error *err);
/* Whether a running container is frozen right now: its freezer cgroup (from
 * the runtime's state) says so. The caller knows its monitor is alive. */
bool engine_is_paused(struct engine *e, const struct ctr *c);

/* Parses a signal name or number ("TERM", "SIGKILL", "9"); -1 when unknown. */
int engine_parse_signal(const char *s);
/* The k8s-file log of a container. */
char *engine_log_path(struct engine *e, const char *id);
/* Connects to a running container's attach socket. */
int engine_attach_connect(struct engine *e, const char *id, bool with_stdin, int *ret_fd,
                          struct error *err);

/* Sets the window size of a running container's terminal (with -t). */
int engine_attach_resize(struct engine *e, const char *id, unsigned rows, unsigned cols,
                         struct error *err);

int64_t now_ns(void);

/* Internal, shared with the monitor (engine-internal.h would be overkill). */
char *engine_ctr_dir(struct engine *e, const char *id);
char *engine_run_dir(struct engine *e, const char *id);
/* Releases what a stopped container holds: runtime state (killing what is
 * left), cgroup, overlay mount, attach socket. Idempotent. */
void engine_release(struct engine *e, const char *id);
/* startproto: the same, without looking for network attachments when the
 * caller knows there can be none (a --network none|host|container:X|pasta
 * container never joins a network). */
void engine_release_ex(struct engine *e, const char *id, bool networks);
/* startproto: an fd of the database's WAL index (DBPATH-shm) holding the
 * read lock every open SQLite connection holds on it: while it is open,
 * the next process to open the database finds the index valid instead of
 * rebuilding it from the whole WAL. Never written through. -1 on failure. */
int engine_wal_pin(const char *dbpath);
/* startproto: opens the database again after engine_start() left it closed
 * (db_lazy); nothing when it is open. */
int engine_db_reopen(struct engine *e, struct error *err);
/* Removes the container's directories and row. */
int engine_purge(struct engine *e, const char *id, struct error *err);
/* The monitor's entry point: `husk __monitor ID FD [ROWS COLS]` (FD: the
 * first attach client; ROWS COLS: the initial terminal size with Tty). */
int monitor_main(const char *root, const char *runroot, const char *id, int sock, unsigned rows,
                 unsigned cols, struct engine *cli);
/* (startproto: cli, the CLI's engine, when the monitor runs in its memory:
 * see engine.c spawn_shared; NULL otherwise.) */
/* startproto: whether husk-monitor is there to go small into (next to this
 * executable, and this process not a sealed copy). */
bool monitor_small_available(void);
/* monitor-small: `husk __monitor-resume ID WORD...`, exec'd by husk-monitor
 * (same pid) once the init exited: WORDs are its state (engine/monloop.h). */
int monitor_resume(const char *root, const char *runroot, const char *id, int argc, char **argv);
