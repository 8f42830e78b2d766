/*
 * floor - the least work a container start can do, for bench/runtime-start.
 *
 *   floor ROOTFS [COMMAND [ARG...]]     (COMMAND defaults to /bin/true)
 *
 * Clones a child into new mount, pid, uts, ipc and network namespaces, makes
 * ROOTFS its root with pivot_root and execs COMMAND there; the parent waits
 * and exits with the child's status. No config parsing, no cgroups, no /proc,
 * /dev or /sys mounts, no capabilities, seccomp or state files: whatever an
 * OCI runtime takes beyond this is its own overhead. Built static by the
 * bench so the dynamic loader does not count either.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what, const char *arg)
{
        fprintf(stderr, "floor: %s '%s': %s\n", what, arg, strerror(errno));
        _exit(127);
}

static void child(const char *rootfs, char **cmd)
{
        /* pivot_root needs a private propagation and a mount point as new root. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                die("make private", "/");
        if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                die("bind mount", rootfs);
        if (chdir(rootfs) < 0)
                die("chdir", rootfs);
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                die("pivot_root", rootfs);
        if (umount2(".", MNT_DETACH) < 0)
                die("detach old root", rootfs);
        if (chdir("/") < 0)
                die("chdir", "/");
        execv(cmd[0], cmd);
        die("exec", cmd[0]);
}

int main(int argc, char **argv)
{
        static char *default_cmd[] = {"/bin/true", NULL};
        const int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
        char **cmd = argc > 2 ? argv + 2 : default_cmd;
        int status;
        pid_t pid;

        if (argc < 2) {
                fprintf(stderr, "usage: floor ROOTFS [COMMAND [ARG...]]\n");
                return 2;
        }
        /* A raw clone without a new stack behaves like fork(). */
        pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
        if (pid < 0)
                die("clone", argv[1]);
        if (pid == 0)
                child(argv[1], cmd);
        if (waitpid(pid, &status, 0) < 0)
                die("wait for", argv[1]);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}
