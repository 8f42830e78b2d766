/* husk-monitor: the small static monitor a container's `husk __monitor`
 * execve's into once nobody is attached (engine/monitor.c go_small). Same
 * pid, the init still its child (and it still a subreaper), the fds kept
 * by number. It runs only the loop (engine/monloop.c: stdio to the log and
 * attach clients), without SQLite or the image store, so it costs a
 * fraction of the memory. When the init has exited and its output is
 * drained it execve's `husk __monitor-resume` (husk next to it), which
 * records the exit, applies the restart policy and releases.
 *
 *   husk-monitor --root ROOT --runroot RUNROOT --id ID delay=MS WORD...
 *
 * (WORDs: monloop_save's.) Not meant to be run by hand. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/util.h"
#include "engine/monloop.h"

static const char *word_value(const char *word, const char *key)
{
        size_t n = strlen(key);
        return strncmp(word, key, n) == 0 && word[n] == '=' ? word + n + 1 : NULL;
}

/* The full husk: next to this executable. */
static int husk_path(char *buf, size_t len)
{
        char exe[PATH_MAX - 8];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return -errno;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (!slash)
                return -ENOENT;
        *slash = '\0';
        snprintf(buf, len, "%s/husk", exe);
        return 0;
}

int main(int argc, char **argv)
{
        struct monloop l = MONLOOP_INIT;
        struct error err = {0};
        const char *root = NULL, *runroot = NULL, *id = NULL, *delay = "delay=0";
        int r = 0;
        for (int i = 1; i < argc && r >= 0; i++) {
                const char **opt = strcmp(argv[i], "--root") == 0      ? &root
                                   : strcmp(argv[i], "--runroot") == 0 ? &runroot
                                   : strcmp(argv[i], "--id") == 0      ? &id
                                                                       : NULL;
                if (opt && i + 1 < argc) {
                        *opt = argv[++i];
                        continue;
                }
                if ((r = monloop_load_word(&l, argv[i], &err)) != 0)
                        continue;
                if (word_value(argv[i], "delay"))
                        delay = argv[i];
                else
                        r = error_msg(&err, -EINVAL, "unknown argument '%s'", argv[i]);
        }
        if (r >= 0 && (!root || !runroot || !id))
                r = error_msg(&err, -EINVAL, "--root, --runroot and --id are needed");
        if (r >= 0)
                r = monloop_load_check(&l, &err);
        if (r < 0) {
                fprintf(stderr,
                        "husk-monitor: %s\nhusk-monitor is started by husk's monitor, not by "
                        "hand.\n",
                        err.msg);
                return 2;
        }
        /* All kept across execve, set again in case: */
        signal(SIGPIPE, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        monloop_run(&l, false);
        monloop_wait_init(&l);
        monloop_flush(&l, 2000);
        /* The stdio is drained (or 2 s went by): nobody needs it any more. */
        int *stdio[] = {&l.out_fd, &l.err_fd};
        for (size_t i = 0; i < ARRAY_SIZE(stdio); i++)
                if (*stdio[i] >= 0) {
                        close(*stdio[i]);
                        *stdio[i] = -1;
                }
        char husk[PATH_MAX];
        if ((r = husk_path(husk, sizeof(husk))) < 0) {
                fprintf(stderr, "husk-monitor: find husk: %s\n", strerror(-r));
                return 1;
        }
        char **a = strv_push(NULL, xstrdup("husk"));
        const char *fixed[] = {"--root", root, "--runroot", runroot, "__monitor-resume", id, delay};
        for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
                a = strv_push(a, xstrdup(fixed[i]));
        monloop_save(&l, &a);
        execv(husk, a);
        /* The next husk command finds this monitor gone and cleans up. */
        fprintf(stderr, "husk-monitor: execute '%s': %s\n", husk, strerror(errno));
        strv_free(a);
        return 1;
}
