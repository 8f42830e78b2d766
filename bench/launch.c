/*
 * launch - time one command and report its peak RSS, for bench/runtime-start.
 *
 *   launch RESULT_FD TIMEOUT_S COMMAND [ARG...]
 *
 * Runs COMMAND, waits for it and writes "NANOSECONDS MAXRSS_KIB WAIT_STATUS\n"
 * to RESULT_FD. A COMMAND still running after TIMEOUT_S seconds is killed
 * (SIGKILL), so a hanging runtime does not hang the bench. The bench cannot spawn runtimes from
 * Python directly: a child starts as a copy of (or, after vfork, a sharer of) its parent's address
 * space, and the kernel folds that mm's RSS high-water mark into the child's
 * ru_maxrss at exec, so every runtime would report Python's ~14 MiB. This
 * program is static and small, so the floor it adds to ru_maxrss is well
 * below any runtime's own peak.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static volatile pid_t child_pid;

static void on_alarm(int sig)
{
        (void)sig;
        kill(child_pid, SIGKILL);
}

static long long now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
        struct rusage ru;
        long long t0, t1;
        int fd, r, status;
        pid_t pid;

        if (argc < 4) {
                fprintf(stderr, "usage: launch RESULT_FD TIMEOUT_S COMMAND [ARG...]\n");
                return 2;
        }
        fd = atoi(argv[1]);
        /* The command must not inherit the result pipe. */
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
                fprintf(stderr, "launch: result fd '%s': %s\n", argv[1], strerror(errno));
                return 2;
        }
        t0 = now_ns();
        r = posix_spawn(&pid, argv[3], NULL, NULL, argv + 3, environ);
        if (r != 0) {
                fprintf(stderr, "launch: spawn '%s': %s\n", argv[3], strerror(r));
                return 2;
        }
        child_pid = pid;
        signal(SIGALRM, on_alarm);
        alarm((unsigned)atoi(argv[2]));
        while ((r = wait4(pid, &status, 0, &ru)) < 0 && errno == EINTR)
                ;
        if (r < 0) {
                fprintf(stderr, "launch: wait for '%s': %s\n", argv[3], strerror(errno));
                return 2;
        }
        t1 = now_ns();
        dprintf(fd, "%lld %ld %d\n", t1 - t0, ru.ru_maxrss, status);
        return 0;
}
