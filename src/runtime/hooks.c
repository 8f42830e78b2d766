#include "runtime/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sys.h"
#include "core/util.h"

static int run_one(const struct spec_hook *h, const char *phase, const char *state_json,
                   struct error *err)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return error_sys(err, -errno, "%s hook '%s': pipe", phase, h->path);
        if (explain_on())
                explain("echo '<state JSON>' | %s%s", shq(h->path),
                        h->args && h->args[0] && h->args[1] ? " ..." : "");
        char *fallback[] = {h->path, NULL};
        char *noenv[] = {NULL};
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return error_sys(err, r, "%s hook '%s': fork", phase, h->path);
        }
        if (pid == 0) {
                if (dup2(p[0], 0) < 0)
                        _exit(127);
                signal(SIGPIPE, SIG_DFL);
                syscall(SYS_close_range, 3, ~0U, 0);
                execve(h->path, h->args && h->args[0] ? h->args : fallback,
                       h->env ? h->env : noenv);
                _exit(127);
        }
        close(p[0]);
        /* A hook may exit without reading stdin: EPIPE is not an error (SIGPIPE is ignored). */
        (void)write_all(p[1], state_json, strlen(state_json));
        close(p[1]);

        int status = 0, r = 0;
        if (h->timeout > 0) {
                _cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
                struct pollfd pl = {.fd = pfd, .events = POLLIN};
                int64_t deadline = now_ms() + (int64_t)h->timeout * 1000;
                for (;;) {
                        int64_t left = deadline - now_ms();
                        if (left <= 0) {
                                r = -ETIMEDOUT;
                                break;
                        }
                        int n = poll(&pl, 1, (int)left);
                        if (n > 0 || (n < 0 && errno != EINTR))
                                break;
                }
                if (r == -ETIMEDOUT)
                        kill(pid, SIGKILL);
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r == -ETIMEDOUT)
                return error_msg(err, r, "%s hook '%s' timed out after %d s", phase, h->path,
                                 h->timeout);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFSIGNALED(status))
                return error_msg(err, -ECANCELED, "%s hook '%s' was killed by signal %d", phase,
                                 h->path, WTERMSIG(status));
        return error_msg(err, -ECANCELED, "%s hook '%s' failed with exit status %d", phase, h->path,
                         WEXITSTATUS(status));
}

int hooks_run(const struct spec_hook *hooks, size_t n, const char *phase, const char *state_json,
              struct error *err)
{
        if (n)
                explain_note("%s hooks", phase);
        for (size_t i = 0; i < n; i++) {
                int r = run_one(&hooks[i], phase, state_json, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
