/* husk-runtime's command-line front end: shared by the command files. */
#pragma once
#include <stdbool.h>

struct rt_globals {
        const char *root;
        const char *log;
        const char *log_format;
        bool debug;
        bool systemd_cgroup;
};

struct rt_command {
        const char *name;
        const char *summary;
        const char *usage; /* printed by --help and on a usage error */
        int (*run)(const struct rt_globals *g, int argc, char **argv);
};

extern const struct rt_command rt_cmd_spec, rt_cmd_create, rt_cmd_start, rt_cmd_run, rt_cmd_state,
    rt_cmd_kill, rt_cmd_delete, rt_cmd_list, rt_cmd_exec, rt_cmd_ps, rt_cmd_features;
/* runtime-cgroup.c */
extern const struct rt_command rt_cmd_pause, rt_cmd_resume, rt_cmd_update, rt_cmd_events;

/* Prints "husk-runtime: MSG" to stderr (and the --log file); returns 1. */
int rt_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error for cmd and returns 1 (runc exits 1 on usage errors too). */
int rt_usage_error(const struct rt_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* True when argv holds -h/--help before any positional argument; prints the usage. */
bool rt_wants_help(const struct rt_command *cmd, int argc, char **argv);
/* Makes fds 3..3+n-1 inheritable (--preserve-fds, LISTEN_FDS), before anything else is opened. */
void rt_preserve_fds(int n);
/* True when this process runs from a sealed in-memory copy of the runtime. */
bool rt_is_sealed(void);
/* Re-executes the runtime, same arguments, from a sealed memfd copy of its
 * own binary. Needed before a runtime process joins a pid namespace that
 * already has processes (exec; an init joining a namespace by path): one
 * with CAP_SYS_PTRACE could open our /proc/PID/exe and, once we exec, write
 * to the host's binary (CVE-2019-5736). Returns only on failure. */
int rt_reexec_sealed(void);
/* Parses "9", "KILL", "SIGKILL" (and RTMIN+N); -1 when unknown. */
int rt_parse_signal(const char *s);
