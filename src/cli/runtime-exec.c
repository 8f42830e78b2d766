/* husk-runtime exec and ps. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/runtime.h"
#include "core/json.h"
#include "core/util.h"
#include "runtime/cgroup.h"
#include "runtime/container.h"

DEFINE_FREEP(struct spec, spec_free)

static char **env_put(char **env, const char *kv)
{
        const char *eq = strchr(kv, '=');
        size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], kv, klen) == 0 && env[i][klen] == '=') {
                        free(env[i]);
                        env[i] = xstrdup(kv);
                        return env;
                }
        return strv_push(env, xstrdup(kv));
}

static int parse_user(const char *s, struct spec_user *u)
{
        _cleanup_free_ char *copy = xstrdup(s);
        char *colon = strchr(copy, ':');
        if (colon)
                *colon = '\0';
        uint64_t uid, gid;
        if (parse_u64(copy, &uid) < 0 || uid > UINT32_MAX)
                return -EINVAL;
        u->uid = (uint32_t)uid;
        if (colon) {
                if (parse_u64(colon + 1, &gid) < 0 || gid > UINT32_MAX)
                        return -EINVAL;
                u->gid = (uint32_t)gid;
        }
        return 0;
}

static int cmd_exec(const struct rt_globals *g, int argc, char **argv)
{
        static const struct option o[] = {
            {"console-socket", required_argument, NULL, 'S'},
            {"cwd", required_argument, NULL, 'w'},
            {"env", required_argument, NULL, 'e'},
            {"tty", no_argument, NULL, 't'},
            {"user", required_argument, NULL, 'u'},
            {"additional-gids", required_argument, NULL, 'g'},
            {"process", required_argument, NULL, 'p'},
            {"detach", no_argument, NULL, 'd'},
            {"pid-file", required_argument, NULL, 'P'},
            {"process-label", required_argument, NULL, 'L'},
            {"apparmor", required_argument, NULL, 'A'},
            {"no-new-privs", no_argument, NULL, 'n'},
            {"cap", required_argument, NULL, 'c'},
            {"preserve-fds", required_argument, NULL, 'F'},
            {"cgroup", required_argument, NULL, 'G'},
            {"ignore-paused", no_argument, NULL, 'I'},
            {0},
        };
        struct exec_opts eo = {.root = g->root};
        const char *cwd = NULL, *user = NULL, *process = NULL, *label = NULL, *apparmor = NULL;
        _cleanup_strv_ char **envs = NULL, **gids = NULL, **caps = NULL;
        bool tty = false, nnp = false;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+w:e:tu:g:p:dc:", o, NULL)) != -1) {
                uint64_t n;
                switch (c) {
                case 'S':
                        eo.console_socket = optarg;
                        break;
                case 'w':
                        cwd = optarg;
                        break;
                case 'e':
                        envs = strv_push(envs, xstrdup(optarg));
                        break;
                case 't':
                        tty = true;
                        break;
                case 'u':
                        user = optarg;
                        break;
                case 'g':
                        gids = strv_push(gids, xstrdup(optarg));
                        break;
                case 'p':
                        process = optarg;
                        break;
                case 'd':
                        eo.detach = true;
                        break;
                case 'P':
                        eo.pid_file = optarg;
                        break;
                case 'L':
                        label = optarg;
                        break;
                case 'A':
                        apparmor = optarg;
                        break;
                case 'n':
                        nnp = true;
                        break;
                case 'c':
                        caps = strv_push(caps, xstrdup(optarg));
                        break;
                case 'F':
                        if (parse_u64(optarg, &n) < 0 || n > 1024)
                                return rt_usage_error(&rt_cmd_exec,
                                                      "--preserve-fds: bad number '%s'", optarg);
                        eo.preserve_fds = (int)n;
                        break;
                case 'G':
                case 'I':
                        break;
                default:
                        return rt_usage_error(&rt_cmd_exec, "unknown option '%s'",
                                              argv[optind - 1]);
                }
        }
        if (optind >= argc)
                return rt_usage_error(&rt_cmd_exec, "a container id is required");
        eo.id = argv[optind++];
        if (!process && optind >= argc)
                return rt_usage_error(&rt_cmd_exec, "a command is required (or --process FILE)");
        /* The process we start is visible to the container's others: run sealed. */
        if (!rt_is_sealed()) {
                int r = rt_reexec_sealed();
                return rt_fail("exec: re-execute from a sealed copy: %s", strerror(-r));
        }
        rt_preserve_fds(eo.preserve_fds);

        struct error err = {0};
        _cleanup_(spec_freep) struct spec *s = NULL;
        if (container_load_config(g->root, eo.id, &s, &err) < 0)
                return rt_fail("exec: %s", err.msg);
        struct spec_process *p = &s->process;
        if (process) {
                _cleanup_json_ struct json_object *j = NULL;
                if (json_parse_file(process, &j, &err) < 0)
                        return rt_fail("exec: --process: %s", err.msg);
                struct spec_process np = {0};
                _cleanup_strv_ char **warn = NULL;
                if (spec_parse_process(j, process, &np, &warn, &err) < 0)
                        return rt_fail("exec: %s", err.msg);
                spec_process_done(p);
                *p = np;
        } else {
                strv_free(p->args);
                p->args = strv_copy(argv + optind);
        }
        if (tty)
                p->terminal = true;
        for (size_t i = 0; envs && envs[i]; i++)
                p->env = env_put(p->env, envs[i]);
        if (cwd) {
                free(p->cwd);
                p->cwd = xstrdup(cwd);
        }
        if (user && parse_user(user, &p->user) < 0)
                return rt_fail("exec: --user '%s': expected UID[:GID]", user);
        for (size_t i = 0; gids && gids[i]; i++) {
                uint64_t gid;
                if (parse_u64(gids[i], &gid) < 0 || gid > UINT32_MAX)
                        return rt_fail("exec: --additional-gids '%s': not a gid", gids[i]);
                p->user.additional_gids = xrealloc(
                    p->user.additional_gids, (p->user.n_additional_gids + 1) * sizeof(uint32_t));
                p->user.additional_gids[p->user.n_additional_gids++] = (uint32_t)gid;
        }
        for (size_t i = 0; caps && caps[i]; i++) {
                int cap = spec_cap_from_name(caps[i]);
                if (cap < 0)
                        return rt_fail("exec: --cap '%s': unknown capability", caps[i]);
                uint64_t bit = 1ULL << cap;
                p->has_caps = true;
                p->caps.bounding |= bit;
                p->caps.effective |= bit;
                p->caps.permitted |= bit;
                p->caps.inheritable |= bit;
                p->caps.ambient |= bit;
        }
        if (nnp)
                p->no_new_privileges = true;
        if (apparmor) {
                free(p->apparmor_profile);
                p->apparmor_profile = xstrdup(apparmor);
        }
        if (label) {
                free(p->selinux_label);
                p->selinux_label = xstrdup(label);
        }
        eo.spec = s;
        int status = 0;
        if (container_exec(&eo, &status, &err) < 0)
                return rt_fail("exec: %s", err.msg);
        return status;
}

const struct rt_command rt_cmd_exec = {
    "exec",
    "run a new process in a running container",
    "exec [--tty] [--console-socket SOCKET] [--cwd DIR] [--env K=V]... [--user UID[:GID]] "
    "[--additional-gids GID]... [--cap CAP]... [--no-new-privs] [--detach] [--pid-file FILE] "
    "[--preserve-fds N] [--process FILE] ID [COMMAND [ARG...]]",
    cmd_exec,
};

static int cmd_ps(const struct rt_globals *g, int argc, char **argv)
{
        static const struct option o[] = {{"format", required_argument, NULL, 'f'}, {0}};
        const char *format = "table";
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+f:", o, NULL)) != -1) {
                if (c == 'f')
                        format = optarg;
                else
                        return rt_usage_error(&rt_cmd_ps, "unknown option '%s'", argv[optind - 1]);
        }
        if (strcmp(format, "table") && strcmp(format, "json"))
                return rt_fail("ps: --format must be 'table' or 'json', not '%s'", format);
        if (optind >= argc)
                return rt_usage_error(&rt_cmd_ps, "a container id is required");
        const char *id = argv[optind++];
        struct error err = {0};
        _cleanup_close_ int rootfd = -EBADF;
        if (state_open_root(g->root, &rootfd, &err) < 0)
                return rt_fail("%s", err.msg);
        _cleanup_(state_freep) struct container_state *st = NULL;
        if (state_load(rootfd, id, false, &st, &err) < 0)
                return rt_fail("%s", err.msg);
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        if (container_pids(st, &pids, &n, &err) < 0)
                return rt_fail("ps '%s': %s", id, err.msg);
        if (strcmp(format, "json") == 0) {
                printf("[");
                for (size_t i = 0; i < n; i++)
                        printf("%s%d", i ? "," : "", (int)pids[i]);
                printf("]\n");
                return 0;
        }
        /* Table: run ps(1) with the given options (default -ef) and keep our pids' lines. */
        char *args[64] = {"ps"};
        int na = 1;
        if (optind >= argc)
                args[na++] = "-ef";
        while (optind < argc && na < 63)
                args[na++] = argv[optind++];
        args[na] = NULL;
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return rt_fail("ps: pipe: %s", strerror(errno));
        pid_t child = fork();
        if (child == 0) {
                dup2(pfd[1], 1);
                execvp("ps", args);
                _exit(127);
        }
        close(pfd[1]);
        FILE *f = fdopen(pfd[0], "r");
        if (!f)
                return rt_fail("ps: %s", strerror(errno));
        char line[4096];
        int pidcol = -1;
        while (fgets(line, sizeof(line), f)) {
                if (pidcol < 0) {
                        /* Header: find which column is PID. */
                        _cleanup_free_ char *h = xstrdup(line);
                        char *save = NULL;
                        int col = 0;
                        for (char *t = strtok_r(h, " \t\n", &save); t;
                             t = strtok_r(NULL, " \t\n", &save), col++)
                                if (strcmp(t, "PID") == 0)
                                        pidcol = col;
                        fputs(line, stdout);
                        if (pidcol < 0) {
                                fclose(f);
                                waitpid(child, NULL, 0);
                                return rt_fail("ps: the ps output has no PID column");
                        }
                        continue;
                }
                _cleanup_free_ char *copy = xstrdup(line);
                char *save = NULL, *t = strtok_r(copy, " \t\n", &save);
                for (int col = 0; t && col < pidcol; col++)
                        t = strtok_r(NULL, " \t\n", &save);
                long pid = t ? strtol(t, NULL, 10) : -1;
                for (size_t i = 0; i < n; i++)
                        if (pids[i] == pid) {
                                fputs(line, stdout);
                                break;
                        }
        }
        fclose(f);
        int status;
        waitpid(child, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return rt_fail("ps: ps(1) failed");
        return 0;
}

const struct rt_command rt_cmd_ps = {"ps", "list the processes running in a container",
                                     "ps [--format table|json] ID [PS OPTIONS...]", cmd_ps};
