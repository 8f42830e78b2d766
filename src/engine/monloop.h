/* The monitor's steady state: poll the container's stdio (to the log and the
 * attach clients), accept attach clients, pass their stdin on, reap.
 * Shared by `husk __monitor` (engine/monitor.c, which sets the container up
 * and tears it down) and the small static `husk-monitor` (cli/main-monitor.c)
 * it execve's into once nobody is attached: that one links only this, the
 * log sink, the attach frames and libc (docs/engine.md "Monitor memory").
 * The state crosses execve as fds (kept by number) plus "key=value" argv
 * words (monloop_save / monloop_load). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "engine/logdrv.h"

#define MON_MAX_CLIENTS 64
/* Output queued for one attach client that reads slower than the container
 * writes; past this the client is disconnected (as conmon drops it), so a
 * stalled client never stalls the container's output or its log. The
 * client that started the container (`run` in the foreground) is not
 * disconnected: output past this is dropped for it, the exit frame is not. */
#define MON_CLIENT_BUF_MAX (1u << 20)

struct mon_client {
        int fd;
        bool hello_done, stdin_client, reading;
        bool output;  /* gets frames: said hello as 'i' or 'n' (or is the first client) */
        bool dead;    /* closed; removed from the table at the top of the loop */
        bool starter; /* started the container: output dropped rather than disconnected */
        char *pend;   /* frames not yet written (the socket was full) */
        size_t pend_len;
};

struct monloop {
        int out_fd, err_fd, in_fd; /* our ends of the container's stdio, -1 when closed */
        int listen_fd, sig_fd;
        int pty; /* the pty master with Tty, -1 without */
        bool tty;
        /* docker's StdinOnce: a stdin client leaving closes the container's
         * stdin (run -i, create -i); false after run -d -i, where it stays
         * open for the next attach. */
        bool stdin_once;
        pid_t init;
        int status; /* exit code (128+N for signal N) once exited */
        bool exited;
        /* startproto: holds the database's WAL index valid for other husk
         * commands while the container runs (engine.c engine_wal_pin), -1 */
        int wal_pin;
        struct mon_client clients[MON_MAX_CLIENTS];
        size_t n_clients;
        struct log_sink sink;
};

#define MONLOOP_INIT                                                                               \
        {                                                                                          \
                .out_fd = -1, .err_fd = -1, .in_fd = -1, .listen_fd = -1, .sig_fd = -1, .pty = -1, \
                .wal_pin = -1, .sink = {                                                           \
                        .fd = -1                                                                   \
                }                                                                                  \
        }

/* A new client. `output`: it gets frames before saying hello (the CLI that
 * started the container, which is also the starter). */
void monloop_add_client(struct monloop *l, int fd, bool output);
/* Closes a client; it keeps its index until monloop_reap_clients(). */
void monloop_kill_client(struct mon_client *cl);
void monloop_reap_clients(struct monloop *l);
/* Queues one frame to every client that gets output (FRAME_EXIT: to all). */
void monloop_broadcast(struct monloop *l, char type, const void *buf, size_t len);
/* Writes queued output, waiting at most timeout_ms; clients still behind
 * after that are disconnected, but for the starter, waited for until it
 * takes it all or hangs up (it must get the exit frame). */
void monloop_flush(struct monloop *l, int timeout_ms);
/* Reaps children (a subreaper gets the container's orphans); notes the init's exit. */
void monloop_reap(struct monloop *l);
/* Applies a resize message "ROWS COLS" to the pty. */
void monloop_resize(struct monloop *l, const char *text);

enum monloop_end {
        MONLOOP_DRAINED, /* the init exited and its output is drained (or 2 s passed) */
        MONLOOP_IDLE,    /* with stop_when_idle: no client reads any more */
};
/* Serves until the init exited and the output is drained, or with
 * stop_when_idle until every client has closed (or half-closed) its end. */
enum monloop_end monloop_run(struct monloop *l, bool stop_when_idle);
/* After MONLOOP_DRAINED: waits for the init if it lives on without its stdio. */
void monloop_wait_init(struct monloop *l);

/* Appends the state as "key=value" words to the NULL-terminated list *argv
 * and clears FD_CLOEXEC on the fds it names (every other fd >= 3 gets it),
 * for an execve that keeps them. Queued output must be flushed first. */
void monloop_save(struct monloop *l, char ***argv);
/* Reads one "key=value" word saved by monloop_save: 1 when it was one of
 * ours, 0 when not (the caller's), negative errno on a bad value. */
int monloop_load_word(struct monloop *l, const char *word, struct error *err);
/* Checks the loaded state is whole (an init, a signalfd). */
int monloop_load_check(const struct monloop *l, struct error *err);
/* Closes everything the loop holds. */
void monloop_close(struct monloop *l);
