/* Turning the runtime's child into the container's process: identity,
 * limits, capabilities, working directory, environment, and the final exec.
 * Shared by the container's init (create) and by exec. */
#pragma once
#include <stdbool.h>

#include "core/error.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

struct process_opts {
        const struct spec_process *proc;
        bool userns;         /* inside a user namespace: setgroups may be denied */
        int preserve_fds;    /* fds 3 .. 3+preserve_fds-1 reach the process */
        int listen_fds;      /* the first listen_fds of those are socket-activation fds */
        bool no_new_keyring; /* keep the caller's session keyring */
        /* The compiled linux.seccomp filter, NULL for none. Without
         * no_new_privs it is loaded by process_apply before the user switch
         * (the load needs CAP_SYS_ADMIN then), as runc does; with it, by
         * process_exec as the last step before the exec. */
        const struct seccomp_filter *seccomp;
        int seccomp_listener;      /* with seccomp->notify: connected listener socket */
        const char *seccomp_state; /* with seccomp->notify: the process state JSON */
};

struct exec_plan {
        char *path;   /* resolved executable, inside the container's root */
        char **argv;  /* borrowed from the spec */
        char **envp;  /* owned */
        int tramp_fd; /* the exec trampoline (sealed memfd), -1 when unavailable */
};

/* Resolves args[0] through PATH inside the current root and builds the
 * environment (HOME and LISTEN_FDS/LISTEN_PID added as runc does). Also
 * prepares the exec trampoline now, so that nothing but the exec itself runs
 * after a seccomp filter loaded by process_exec. */
int process_plan(const struct process_opts *o, struct exec_plan *ret, struct error *err);
void exec_plan_done(struct exec_plan *p);

/* Applies keyring, rlimits, oom_score_adj, LSM labels, umask, (seccomp
 * without no_new_privs), user, groups, capabilities, cwd and no_new_privs,
 * in runc's order. */
int process_apply(const struct process_opts *o, struct error *err);

/* Marks every fd past the preserved ones close-on-exec, loads the seccomp
 * filter when no_new_privs is set, and executes the plan. Returns only on
 * failure (negative errno, *err set). */
int process_exec(const struct process_opts *o, const struct exec_plan *plan, struct error *err);
