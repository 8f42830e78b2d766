/* Terminals: the container's pty is created inside the container (from its
 * own /dev/ptmx), and the master is handed to the caller over the
 * --console-socket unix socket with SCM_RIGHTS, as runc does. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "core/error.h"
#include "runtime/spec.h"

/* Connects to the unix socket at path; returns the fd. */
int console_socket_connect(const char *path, int *ret_fd, struct error *err);
/* Sends fd over sock with SCM_RIGHTS, the message payload being name. */
int send_fd(int sock, int fd, const char *name);
/* Receives one fd sent with send_fd. */
int recv_fd(int sock, int *ret_fd);
/* In the container: makes a pty, sends the master over console_fd, makes the
 * slave the controlling terminal and stdin/stdout/stderr; with console, also
 * binds it onto /dev/console as runc does for the container's init. */
int terminal_setup(int console_fd, const struct spec_process *p, bool console, struct error *err);

/* Relays between the caller's stdin/stdout and the pty master until pid
 * exits: raw mode on a terminal stdin (restored on every exit path), window
 * size changes and other signals forwarded. Sets *ret_status as a shell
 * would (128+N when killed by signal N). */
int terminal_relay(int master, pid_t pid, int *ret_status);
/* The same with the input going through filter (detach keys): when it
 * returns true (what it put in out is forwarded first), the relay stops
 * leaving the process running, and returns 1. */
typedef bool (*terminal_filter)(void *arg, const char *in, size_t n, char *out, size_t *out_n);
int terminal_relay_filter(int master, pid_t pid, terminal_filter filter, void *arg,
                          int *ret_status);
