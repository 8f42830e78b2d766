/*
 * floor - the least work a container start can do, for bench/runtime-start.
 *
 *   floor [--cgroup DIR]... ROOTFS [COMMAND [ARG...]]   (COMMAND: /bin/true)
 *
 * Clones a child into new mount, pid, uts, ipc and network namespaces, makes
 * ROOTFS its root with pivot_root and execs COMMAND there; the parent waits
 * and exits with the child's status. No config parsing, no /proc, /dev or
 * /sys mounts, no capabilities, seccomp or state files: whatever an OCI
 * runtime takes beyond this is its own overhead. Built static by the bench
 * so the dynamic loader does not count either.
 *
 * With --cgroup it also does the cgroup work no runtime can skip: make each
 * DIR (a cgroup directory, one per hierarchy), move the child into it before
 * it execs, and remove DIR after the child exits. On cgroup v1 the first
 * move of a process costs the kernel a synchronize_rcu() (the write side of
 * cgroup_threadgroup_rwsem), often several ms: this shows that cost apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CGROUPS 32

static void die(const char *what, const char *arg)
{
        fprintf(stderr, "floor: %s '%s': %s\n", what, arg, strerror(errno));
        _exit(127);
}

static void child(const char *rootfs, char **cmd, int wait_fd)
{
        char c;

        /* Wait until the parent has put this process into its cgroups. */
        if (wait_fd >= 0 && read(wait_fd, &c, 1) < 0)
                die("wait for", "parent");
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

static void write_file(const char *dir, const char *name, const char *buf, size_t len)
{
        char path[4096];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
                die("write", path);
        close(fd);
}

/* A new v1 cpuset has no cpus or mems; give it its parent's, as runtimes do. */
static void cpuset_inherit(const char *dir, const char *knob)
{
        char path[4096], buf[256];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "%s/../%s", dir, knob);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return; /* not a cpuset hierarchy */
        n = read(fd, buf, sizeof(buf));
        close(fd);
        if (n <= 0)
                die("read", path);
        write_file(dir, knob, buf, (size_t)n);
}

int main(int argc, char **argv)
{
        static char *default_cmd[] = {"/bin/true", NULL};
        const int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
        const char *cgroups[MAX_CGROUPS];
        int ncg = 0, go[2] = {-1, -1}, status, i = 1;
        char pid_str[32];
        char **cmd;
        pid_t pid;

        for (; i + 1 < argc && strcmp(argv[i], "--cgroup") == 0 && ncg < MAX_CGROUPS; i += 2)
                cgroups[ncg++] = argv[i + 1];
        if (i >= argc) {
                fprintf(stderr, "usage: floor [--cgroup DIR]... ROOTFS [COMMAND [ARG...]]\n");
                return 2;
        }
        cmd = i + 1 < argc ? argv + i + 1 : default_cmd;
        for (int c = 0; c < ncg; c++) {
                if (mkdir(cgroups[c], 0755) < 0)
                        die("mkdir", cgroups[c]);
                cpuset_inherit(cgroups[c], "cpuset.cpus");
                cpuset_inherit(cgroups[c], "cpuset.mems");
        }
        if (ncg > 0 && pipe2(go, O_CLOEXEC) < 0)
                die("pipe", "");
        /* A raw clone without a new stack behaves like fork(). */
        pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
        if (pid < 0)
                die("clone", argv[i]);
        if (pid == 0) {
                if (go[1] >= 0)
                        close(go[1]);
                child(argv[i], cmd, go[0]);
        }
        if (ncg > 0) {
                close(go[0]);
                snprintf(pid_str, sizeof(pid_str), "%d", (int)pid);
                for (int c = 0; c < ncg; c++)
                        write_file(cgroups[c], "cgroup.procs", pid_str, strlen(pid_str));
                close(go[1]);
        }
        if (waitpid(pid, &status, 0) < 0)
                die("wait for", argv[i]);
        for (int c = 0; c < ncg; c++)
                if (rmdir(cgroups[c]) < 0)
                        die("rmdir", cgroups[c]);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WEXITSTATUS(status);
}
