/* husk stop, kill, rm, wait, ps, inspect: options in, engine calls, docker-shaped output. */
#include <errno.h>
#include <getopt.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/format.h"
#include "cli/husk.h"
#include "core/json.h"
#include "core/util.h"
#include "engine/ctr-net.h"
#include "engine/volume.h" /* volumes branch */
#include "engine/engine.h"
#include "engine/restart.h"
#include "engine/runflags.h" /* runflags */
#include "image/image.h"

/* Runs fn on each CONTAINER argument, printing the argument on success (as docker). */
static int each(struct husk_ctx *ctx, struct engine *e, int argc, char **argv,
                int (*fn)(struct engine *, const struct ctr *, void *, struct error *), void *arg,
                bool print)
{
        int status = 0;
        struct error err = {0};
        for (int i = optind; i < argc; i++) {
                struct ctr c = {0};
                if (engine_lookup(e, argv[i], &c, &err) < 0 || fn(e, &c, arg, &err) < 0)
                        status = husk_fail(ctx, &err);
                else if (print)
                        printf("%s\n", argv[i]);
                ctr_free(&c);
                fflush(stdout);
        }
        return status;
}

static int open_engine(struct husk_ctx *ctx, struct engine **e)
{
        struct error err = {0};
        if (engine_open(ctx->root, ctx->runroot, e, &err) < 0)
                return husk_fail(ctx, &err);
        return 0;
}

/* ---------------------------------------------------------------- stop */

static int do_stop(struct engine *e, const struct ctr *c, void *arg, struct error *err)
{
        return engine_stop(e, c, *(int *)arg, err);
}

/* stop and restart: [-t SECONDS] CONTAINER..., then fn on each. */
static int stop_like(struct husk_ctx *ctx, int argc, char **argv, const char *help,
                     int (*fn)(struct engine *, const struct ctr *, void *, struct error *))
{
        static const struct option opts[] = {
            {"time", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'}, {}};
        int timeout = -1, c;
        while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
                int64_t n;
                if (c == 't') {
                        if (parse_i64(optarg, &n) < 0 || n < 0 || n > 86400)
                                return husk_usage_error(ctx, "--time '%s': want seconds", optarg);
                        timeout = (int)n;
                } else if (c == 'h') {
                        fputs(help, stdout);
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one CONTAINER");
        _cleanup_engine_ struct engine *e = NULL;
        int r = open_engine(ctx, &e);
        return r ? r : each(ctx, e, argc, argv, fn, &timeout, true);
}

int cmd_stop(struct husk_ctx *ctx, int argc, char **argv)
{
        return stop_like(ctx, argc, argv,
                         "Usage: husk stop [-t SECONDS] CONTAINER...\n\nSend the stop signal, wait "
                         "(default 10 s), then SIGKILL.\n",
                         do_stop);
}

/* ---------------------------------------------------------------- kill */

static int do_kill(struct engine *e, const struct ctr *c, void *arg, struct error *err)
{
        return engine_kill(e, c, *(int *)arg, err);
}

int cmd_kill(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {
            {"signal", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'}, {}};
        int sig = SIGKILL, c;
        while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
                if (c == 's') {
                        sig = engine_parse_signal(optarg);
                        if (sig < 0)
                                return husk_usage_error(ctx, "--signal '%s': unknown signal",
                                                        optarg);
                } else if (c == 'h') {
                        printf("Usage: husk kill [-s SIGNAL] CONTAINER...\n\nSend a signal "
                               "(default SIGKILL) to containers.\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one CONTAINER");
        _cleanup_engine_ struct engine *e = NULL;
        int r = open_engine(ctx, &e);
        return r ? r : each(ctx, e, argc, argv, do_kill, &sig, true);
}

/* ---------------------------------------------------------------- rm */

static int do_rm(struct engine *e, const struct ctr *c, void *arg, struct error *err)
{
        const bool *f = arg; /* [0]: -f; [1]: -v (volumes branch) */
        int r = engine_remove(e, c, f[0], err);
        if (r == 0 && f[1])
                r = volume_remove_anonymous(e, c->config, err);
        return r;
}

int cmd_rm(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                             {"volumes", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        bool force[2] = {false, false};
        int c;
        while ((c = getopt_long(argc, argv, "fvh", opts, NULL)) != -1) {
                if (c == 'f') {
                        force[0] = true;
                } else if (c == 'v') {
                        force[1] = true; /* volumes branch: remove anonymous volumes */
                } else if (c == 'h') {
                        printf("Usage: husk rm [-f] [-v] CONTAINER...\n\nRemove containers (-f: "
                               "kill running ones first; -v: and their anonymous volumes).\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one CONTAINER");
        _cleanup_engine_ struct engine *e = NULL;
        int r = open_engine(ctx, &e);
        return r ? r : each(ctx, e, argc, argv, do_rm, force, true);
}

/* ---------------------------------------------------------------- restart, pause */

static int do_restart(struct engine *e, const struct ctr *c, void *arg, struct error *err)
{
        int r = engine_stop(e, c, *(int *)arg, err);
        if (r == 0)
                r = engine_start(e, c->id, NULL, false, 0, 0, err);
        return r;
}

int cmd_restart(struct husk_ctx *ctx, int argc, char **argv)
{
        return stop_like(ctx, argc, argv,
                         "Usage: husk restart [-t SECONDS] CONTAINER...\n\nStop (if running) and "
                         "start containers again.\n",
                         do_restart);
}

static int do_pause(struct engine *e, const struct ctr *c, void *arg, struct error *err)
{
        return engine_pause(e, c, *(bool *)arg, err);
}

static int pause_cmd(struct husk_ctx *ctx, int argc, char **argv, bool pause)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: husk %s CONTAINER...\n\n%s all processes of "
                               "containers (the cgroup freezer).\n",
                               pause ? "pause" : "unpause", pause ? "Freeze" : "Thaw");
                        return 0;
                }
                return husk_bad_option(ctx);
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one CONTAINER");
        _cleanup_engine_ struct engine *e = NULL;
        int r = open_engine(ctx, &e);
        return r ? r : each(ctx, e, argc, argv, do_pause, &pause, true);
}

int cmd_pause(struct husk_ctx *ctx, int argc, char **argv)
{
        return pause_cmd(ctx, argc, argv, true);
}

int cmd_unpause(struct husk_ctx *ctx, int argc, char **argv)
{
        return pause_cmd(ctx, argc, argv, false);
}

/* ---------------------------------------------------------------- top */

/* husk top CONTAINER [PS OPTIONS]: ps(1) (default -f) on the container's processes. */
int cmd_top(struct husk_ctx *ctx, int argc, char **argv)
{
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
                printf("Usage: husk top CONTAINER [PS OPTIONS]\n\nShow the processes of a "
                       "container (ps -f unless options are given).\n");
                return 0;
        }
        if (argc < 2)
                return husk_usage_error(ctx, "want a CONTAINER");
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr ct = {0};
        _cleanup_free_ pid_t *pids = NULL;
        size_t n = 0;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_lookup(e, argv[1], &ct, &err) < 0)
                return husk_fail(ctx, &err);
        int r = engine_pids(e, &ct, &pids, &n, &err);
        ctr_free(&ct);
        if (r < 0)
                return husk_fail(ctx, &err);
        _cleanup_free_ char *list = xstrdup("");
        for (size_t i = 0; i < n; i++) {
                char *l = xasprintf("%s%s%d", list, i ? "," : "", (int)pids[i]);
                free(list);
                list = l;
        }
        _cleanup_strv_ char **args = strv_push(NULL, xstrdup("ps"));
        if (argc > 2)
                for (int i = 2; i < argc; i++)
                        args = strv_push(args, xstrdup(argv[i]));
        else
                args = strv_push(args, xstrdup("-f"));
        args = strv_push(args, xstrdup("-p"));
        args = strv_push(args, xstrdup(n ? list : "0"));
        fflush(stdout);
        pid_t child = fork();
        if (child < 0) {
                error_sys(&err, -errno, "fork ps");
                return husk_fail(ctx, &err);
        }
        if (child == 0) {
                execvp("ps", args);
                _exit(127);
        }
        int st = 0;
        while (waitpid(child, &st, 0) < 0 && errno == EINTR)
                ;
        if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && n > 0)) {
                error_msg(&err, -EIO, "ps(1) failed");
                return husk_fail(ctx, &err);
        }
        return 0;
}

/* ---------------------------------------------------------------- rename, prune */

int cmd_rename(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: husk rename CONTAINER NEW_NAME\n\nRename a "
                               "container.\n");
                        return 0;
                }
                return husk_bad_option(ctx);
        }
        if (argc - optind != 2)
                return husk_usage_error(ctx, "want CONTAINER and NEW_NAME");
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr ct = {0};
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            engine_lookup(e, argv[optind], &ct, &err) < 0)
                return husk_fail(ctx, &err);
        int r = ctr_rename(e->store->db, ct.id, argv[optind + 1], &err);
        if (r == 0) /* gaps: the hosts files name it by its new name */
                r = ctr_net_rename(e, ct.id, argv[optind + 1], &err);
        ctr_free(&ct);
        return r < 0 ? husk_fail(ctx, &err) : 0;
}

static bool confirm_prune(void)
{
        fprintf(stderr, "WARNING! This will remove all stopped containers.\nAre you sure you "
                        "want to continue? [y/N] ");
        char line[16];
        return fgets(line, sizeof(line), stdin) && (line[0] == 'y' || line[0] == 'Y');
}

int cmd_container(struct husk_ctx *ctx, int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "prune") != 0) {
                if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
                        printf("Usage: husk container prune [-f]\n");
                        return 0;
                }
                return husk_usage_error(ctx, "want a subcommand: prune");
        }
        static const struct option opts[] = {
            {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {}};
        bool force = false;
        int c;
        optind = 0;
        while ((c = getopt_long(argc - 1, argv + 1, "fh", opts, NULL)) != -1) {
                if (c == 'f') {
                        force = true;
                } else if (c == 'h') {
                        printf("Usage: husk container prune [-f]\n\nRemove all stopped "
                               "containers.\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        if (!force && !confirm_prune())
                return 0;
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr *l = NULL;
        size_t n = 0;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            ctr_list(e->store->db, &l, &n, &err) < 0)
                return husk_fail(ctx, &err);
        int status = 0;
        bool header = false;
        for (size_t i = 0; i < n; i++) {
                bool gone = false;
                if (engine_refresh(e, &l[i], &gone, &err) < 0) {
                        status = husk_fail(ctx, &err);
                        continue;
                }
                if (gone || strcmp(l[i].state, "running") == 0 || l[i].owner_pid > 0)
                        continue;
                if (engine_remove(e, &l[i], false, &err) < 0) {
                        status = husk_fail(ctx, &err);
                        continue;
                }
                if (!header)
                        printf("Deleted Containers:\n");
                header = true;
                printf("%s\n", l[i].id);
        }
        ctr_free_array(l, n);
        return status;
}

/* ---------------------------------------------------------------- wait */

static int do_wait(struct engine *e, const struct ctr *c, void *arg, struct error *err)
{
        int code = 0;
        int r = engine_wait(e, c->id, &code, err);
        if (r == 0)
                printf("%d\n", code);
        return r;
}

int cmd_wait(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {}};
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                if (c == 'h') {
                        printf("Usage: husk wait CONTAINER...\n\nWait until containers stop, "
                               "print their exit codes.\n");
                        return 0;
                }
                return husk_bad_option(ctx);
        }
        if (optind >= argc)
                return husk_usage_error(ctx, "want at least one CONTAINER");
        _cleanup_engine_ struct engine *e = NULL;
        int r = open_engine(ctx, &e);
        return r ? r : each(ctx, e, argc, argv, do_wait, NULL, false);
}

/* ---------------------------------------------------------------- ps */

static void format_time(int64_t ns, char *buf, size_t len)
{
        if (ns <= 0) {
                snprintf(buf, len, "0001-01-01T00:00:00Z");
                return;
        }
        time_t s = (time_t)(ns / 1000000000LL);
        struct tm tm;
        gmtime_r(&s, &tm);
        char base[32];
        strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, len, "%s.%09lldZ", base, (long long)(ns % 1000000000LL));
}

static void status_text(const struct ctr *c, bool paused, int64_t now, char *buf, size_t len)
{
        char since[64];
        if (strcmp(c->state, "running") == 0 && c->pid <= 0) { /* monitor2: between restarts */
                format_since(c->finished / 1000000000LL, now / 1000000000LL, since, sizeof(since));
                snprintf(buf, len, "Restarting (%d) %s", c->exit_code, since);
        } else if (strcmp(c->state, "running") == 0) {
                format_since(c->started / 1000000000LL, now / 1000000000LL, since, sizeof(since));
                size_t l = strlen(since);
                if (l > 4 && strcmp(since + l - 4, " ago") == 0)
                        since[l - 4] = '\0';
                snprintf(buf, len, "Up %s%s", since, paused ? " (Paused)" : "");
        } else if (strcmp(c->state, "exited") == 0) {
                format_since(c->finished / 1000000000LL, now / 1000000000LL, since, sizeof(since));
                snprintf(buf, len, "Exited (%d) %s", c->exit_code, since);
        } else {
                snprintf(buf, len, "Created");
        }
}

static char *command_text(struct json_object *cfg, bool trunc)
{
        _cleanup_free_ char *s = xstrdup("");
        const char *keys[] = {"Entrypoint", "Cmd"};
        for (size_t k = 0; k < 2; k++) {
                struct json_object *a;
                if (!json_object_object_get_ex(cfg, keys[k], &a) ||
                    !json_object_is_type(a, json_type_array))
                        continue;
                for (size_t i = 0; i < json_object_array_length(a); i++) {
                        char *n =
                            xasprintf("%s%s%s", s, *s ? " " : "",
                                      json_object_get_string(json_object_array_get_idx(a, i)));
                        free(s);
                        s = n;
                }
        }
        if (trunc && strlen(s) > 20) {
                /* As docker: 19 characters and an ellipsis. */
                s[19] = '\0';
                char *n = xasprintf("%s\u2026", s);
                free(s);
                s = n;
        }
        return trunc ? xasprintf("\"%s\"", s) : TAKE_PTR(s);
}

/* ps: c's stored document, parsed once for every use (NULL when it is not JSON). */
static struct json_object *ps_doc(const struct ctr *c, struct json_object **doc)
{
        if (!*doc) {
                struct error ign = {0};
                json_parse_string("config", c->config, doc, &ign);
                error_clear(&ign);
        }
        return *doc;
}

static struct json_object *ps_row(const struct ctr *c, struct json_object *doc, bool paused,
                                  bool trunc, int64_t now, const char *ports)
{
        struct json_object *cfg = NULL, *labels = NULL;
        if (doc)
                json_object_object_get_ex(doc, "Config", &cfg);
        if (cfg)
                json_object_object_get_ex(cfg, "Labels", &labels);
        struct json_object *o = json_object_new_object();
        char id[CTR_ID_LEN + 1], buf[128], created[64];
        snprintf(id, sizeof(id), trunc ? "%.12s" : "%s", c->id);
        json_object_object_add(o, "ID", json_object_new_string(id));
        json_object_object_add(o, "Image", json_object_new_string(c->image_name));
        _cleanup_free_ char *cmd = command_text(cfg, trunc);
        json_object_object_add(o, "Command", json_object_new_string(cmd));
        format_since(c->created / 1000000000LL, now / 1000000000LL, buf, sizeof(buf));
        json_object_object_add(o, "RunningFor", json_object_new_string(buf));
        format_time(c->created, created, sizeof(created));
        json_object_object_add(o, "CreatedAt", json_object_new_string(created));
        status_text(c, paused, now, buf, sizeof(buf));
        json_object_object_add(o, "Status", json_object_new_string(buf));
        bool restarting = strcmp(c->state, "running") == 0 && c->pid <= 0; /* monitor2 */
        json_object_object_add(o, "State",
                               json_object_new_string(paused       ? "paused"
                                                      : restarting ? "restarting"
                                                                   : c->state));
        json_object_object_add(o, "Ports", json_object_new_string(ports));
        json_object_object_add(o, "Names", json_object_new_string(c->name));
        json_object_object_add(o, "Labels",
                               labels ? json_object_get(labels) : json_object_new_object());
        return o;
}

static const struct fmt_header ps_headers[] = {
    {"ID", "CONTAINER ID"},
    {"Image", "IMAGE"},
    {"Command", "COMMAND"},
    {"RunningFor", "CREATED"},
    {"CreatedAt", "CREATED AT"},
    {"Status", "STATUS"},
    {"State", "STATE"},
    {"Ports", "PORTS"},
    {"Names", "NAMES"},
    {"Labels", "LABELS"},
    {},
};

/* ps --filter: docker's keys. Several values of one key OR, different keys AND. */
struct ps_filter {
        char *key, *val;
        regex_t re; /* name= and id=: docker matches them as regular expressions */
        bool has_re;
        int code;         /* exited= */
        struct image anc; /* ancestor=: the image it names (id NULL when none) */
        bool has_anc;
};

static const char *const ps_filter_keys[] = {"status",   "name",   "id", "label",
                                             "ancestor", "exited", NULL};
static const char *const ps_states[] = {"created", "restarting", "running", "removing",
                                        "paused",  "exited",     "dead",    NULL};

static bool in_list(const char *const *l, const char *s)
{
        for (; *l; l++)
                if (strcmp(*l, s) == 0)
                        return true;
        return false;
}

static int ps_filter_parse(const char *arg, struct ps_filter *f, struct error *err)
{
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg)
                return error_msg(err, -EINVAL, "bad format of filter '%s' (expected name=value)",
                                 arg);
        f->key = xstrndup(arg, eq - arg);
        f->val = xstrdup(eq + 1);
        if (!in_list(ps_filter_keys, f->key))
                return error_msg(err, -EINVAL, "invalid filter '%s'", f->key);
        if (strcmp(f->key, "status") == 0 && !in_list(ps_states, f->val))
                return error_msg(err, -EINVAL,
                                 "invalid filter 'status=%s': not one of created, restarting, "
                                 "running, removing, paused, exited, dead",
                                 f->val);
        if (strcmp(f->key, "exited") == 0) {
                char *end;
                errno = 0;
                long v = strtol(f->val, &end, 10);
                if (!*f->val || *end || errno || v < INT32_MIN || v > INT32_MAX)
                        return error_msg(err, -EINVAL,
                                         "invalid filter 'exited=%s': not an exit code", f->val);
                f->code = (int)v;
        }
        if (strcmp(f->key, "name") == 0 || strcmp(f->key, "id") == 0) {
                int r = regcomp(&f->re, f->val, REG_EXTENDED | REG_NOSUB);
                if (r != 0) {
                        char msg[128];
                        regerror(r, &f->re, msg, sizeof(msg));
                        return error_msg(err, -EINVAL, "invalid filter '%s=%s': %s", f->key, f->val,
                                         msg);
                }
                f->has_re = true;
        }
        return 0;
}

static void ps_filters_free(struct ps_filter *fs, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (fs[i].has_re)
                        regfree(&fs[i].re);
                if (fs[i].has_anc)
                        image_free(&fs[i].anc);
                free(fs[i].key);
                free(fs[i].val);
        }
        free(fs);
}

static bool strv_starts_with(char *const *l, char *const *prefix)
{
        for (; *prefix; prefix++, l++)
                if (!*l || strcmp(*l, *prefix) != 0)
                        return false;
        return true;
}

static bool ps_filter_match(const struct ps_filter *f, const struct ctr *c, const char *state,
                            const struct image *img, struct json_object **doc)
{
        if (strcmp(f->key, "status") == 0)
                return strcmp(f->val, state) == 0;
        if (strcmp(f->key, "name") == 0) {
                _cleanup_free_ char *slashed = xasprintf("/%s", c->name);
                return regexec(&f->re, c->name, 0, NULL, 0) == 0 ||
                       regexec(&f->re, slashed, 0, NULL, 0) == 0;
        }
        if (strcmp(f->key, "id") == 0)
                return regexec(&f->re, c->id, 0, NULL, 0) == 0;
        if (strcmp(f->key, "exited") == 0)
                return strcmp(c->state, "exited") == 0 && c->exit_code == f->code;
        if (strcmp(f->key, "ancestor") == 0) {
                /* As docker: the image itself or one built on it (all its layers
                 * at the bottom of the container's image). */
                if (!f->has_anc || !c->image_id)
                        return false;
                if (strcmp(f->anc.id, c->image_id) == 0)
                        return true;
                size_t na = 0;
                while (f->anc.layers && f->anc.layers[na])
                        na++;
                return na > 0 && img && img->layers && strv_starts_with(img->layers, f->anc.layers);
        }
        /* label=K or label=K=V */
        struct json_object *cfg = NULL, *labels = NULL, *v = NULL;
        if (!ps_doc(c, doc) || !json_object_object_get_ex(*doc, "Config", &cfg) ||
            !json_object_object_get_ex(cfg, "Labels", &labels))
                return false;
        const char *eq = strchr(f->val, '=');
        _cleanup_free_ char *k = eq ? xstrndup(f->val, eq - f->val) : xstrdup(f->val);
        if (!json_object_object_get_ex(labels, k, &v))
                return false;
        return !eq || strcmp(json_object_get_string(v), eq + 1) == 0;
}

/* Every key given has at least one of its values matching. */
static bool ps_filters_match(const struct ps_filter *fs, size_t n, const struct ctr *c,
                             const char *state, const struct image *img, struct json_object **doc)
{
        for (size_t i = 0; i < n; i++) {
                bool first = true, any = false;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(fs[j].key, fs[i].key) == 0)
                                first = false;
                if (!first)
                        continue;
                for (size_t j = i; j < n; j++)
                        if (strcmp(fs[j].key, fs[i].key) == 0 &&
                            ps_filter_match(&fs[j], c, state, img, doc))
                                any = true;
                if (!any)
                        return false;
        }
        return true;
}

int cmd_ps(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"no-trunc", no_argument, NULL, 'T'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"last", required_argument, NULL, 'n'},
                                             {"latest", no_argument, NULL, 'l'},
                                             {"filter", required_argument, NULL, 'F'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        bool all = false, quiet = false, trunc = true;
        const char *format = NULL;
        long last = -1;
        struct ps_filter *fs = NULL;
        size_t nf = 0;
        struct error err = {0};
        int c;
        while ((c = getopt_long(argc, argv, "aqf:n:lF:h", opts, NULL)) != -1) {
                switch (c) {
                case 'n': {
                        char *end;
                        errno = 0;
                        last = strtol(optarg, &end, 10);
                        if (!*optarg || *end || errno || last > INT32_MAX || last < INT32_MIN) {
                                ps_filters_free(fs, nf);
                                return husk_usage_error(ctx,
                                                        "invalid value '%s' for -n/--last: "
                                                        "not an integer",
                                                        optarg);
                        }
                        break;
                }
                case 'l':
                        last = 1;
                        break;
                case 'F':
                        fs = xrealloc(fs, (nf + 1) * sizeof(*fs));
                        memset(&fs[nf], 0, sizeof(*fs));
                        if (ps_filter_parse(optarg, &fs[nf++], &err) < 0) {
                                ps_filters_free(fs, nf);
                                return husk_fail(ctx, &err);
                        }
                        break;
                case 'a':
                        all = true;
                        break;
                case 'q':
                        quiet = true;
                        break;
                case 'T':
                        trunc = false;
                        break;
                case 'f':
                        format = optarg;
                        break;
                case 'h':
                        ps_filters_free(fs, nf);
                        printf("Usage: husk ps [-a] [-q] [--no-trunc] [--format FMT] [-n N] [-l] "
                               "[--filter KEY=VALUE]...\n\nList containers (running ones; -a: "
                               "all; -n N: the N last created, -l: the last one, in any state).\n"
                               "Filters: status=, name=, id=, label=K[=V], ancestor=IMAGE, "
                               "exited=CODE\n(values of one key OR, different keys AND).\n");
                        return 0;
                default:
                        ps_filters_free(fs, nf);
                        return husk_bad_option(ctx);
                }
        }
        if (optind < argc) {
                ps_filters_free(fs, nf);
                return husk_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
        }
        /* As docker: -n/-l and status= list containers in every state. */
        if (last > 0)
                all = true;
        for (size_t i = 0; i < nf; i++)
                if (strcmp(fs[i].key, "status") == 0)
                        all = true;
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr *l = NULL;
        size_t n = 0;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            ctr_list_ps(e->store->db, &l, &n, &err) < 0) {
                ps_filters_free(fs, nf);
                return husk_fail(ctx, &err);
        }
        /* ancestor=: an image that does not exist matches nothing, as docker. */
        bool want_img = false;
        for (size_t i = 0; i < nf; i++) {
                if (strcmp(fs[i].key, "ancestor") != 0)
                        continue;
                struct error ign = {0};
                want_img = true;
                fs[i].has_anc = image_lookup(e->store, fs[i].val, &fs[i].anc, NULL, &ign) >= 0;
        }
        int64_t now = now_ns();
        struct json_object **rows = xzalloc((n + 1) * sizeof(*rows));
        size_t nr = 0, shown = 0;
        struct ctr_port_table ptab = {0};
        for (size_t i = 0; i < n; i++) {
                bool gone = false;
                if (last > 0 && shown >= (size_t)last)
                        break;
                if (engine_refresh(e, &l[i], &gone, &err) < 0) {
                        husk_fail(ctx, &err);
                        continue;
                }
                if (gone || (!all && strcmp(l[i].state, "running") != 0))
                        continue;
                bool paused = engine_is_paused(e, &l[i]);
                bool restarting = strcmp(l[i].state, "running") == 0 && l[i].pid <= 0;
                const char *state = paused ? "paused" : restarting ? "restarting" : l[i].state;
                struct image img = {0};
                struct error img_err = {0};
                bool have_img = want_img && l[i].image_id &&
                                image_get(e->store, l[i].image_id, &img, &img_err) >= 0;
                _cleanup_json_ struct json_object *doc = NULL;
                bool match = ps_filters_match(fs, nf, &l[i], state, have_img ? &img : NULL, &doc);
                if (have_img)
                        image_free(&img);
                if (!match)
                        continue;
                shown++;
                if (quiet) {
                        printf(trunc ? "%.12s\n" : "%s\n", l[i].id);
                        continue;
                }
                struct net_port *ports = NULL;
                size_t np = 0;
                struct error ign = {0};
                if (strcmp(l[i].state, "running") == 0)
                        ctr_net_ports_ps(e, &ptab, l[i].id, ps_doc(&l[i], &doc), &ports, &np, &ign);
                error_clear(&ign);
                _cleanup_free_ char *ptext = ctr_net_ports_text(ports, np);
                free(ports);
                rows[nr++] = ps_row(&l[i], ps_doc(&l[i], &doc), paused, trunc, now, ptext);
        }
        ctr_port_table_free(&ptab);
        ctr_free_array(l, n);
        ps_filters_free(fs, nf);
        int r = 0;
        if (!quiet)
                r = format_print(stdout, format,
                                 "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{."
                                 "Status}}\t{{.Ports}}\t{{.Names}}",
                                 ps_headers, rows, nr, &err);
        for (size_t i = 0; i < nr; i++)
                json_object_put(rows[i]);
        free(rows);
        if (r < 0)
                return husk_fail(ctx, &err);
        return 0;
}

/* ---------------------------------------------------------------- inspect */

static struct json_object *field(struct json_object *o, const char *k)
{
        struct json_object *v = NULL;
        json_object_object_get_ex(o, k, &v);
        return v;
}

static struct json_object *inspect_doc(struct engine *e, const struct ctr *c)
{
        _cleanup_json_ struct json_object *doc = NULL;
        struct error ign = {0};
        if (json_parse_string("config", c->config, &doc, &ign) < 0)
                doc = json_object_new_object();
        struct json_object *cfg = field(doc, "Config"), *hc = field(doc, "HostConfig");
        struct json_object *o = json_object_new_object();
        char t[64];
        json_object_object_add(o, "Id", json_object_new_string(c->id));
        format_time(c->created, t, sizeof(t));
        json_object_object_add(o, "Created", json_object_new_string(t));
        /* Path and Args: the process as docker shows it. */
        struct json_object *args = json_object_new_array();
        const char *path = NULL;
        const char *keys[] = {"Entrypoint", "Cmd"};
        for (size_t k = 0; k < 2; k++) {
                struct json_object *a = field(cfg, keys[k]);
                for (size_t i = 0; a && json_object_is_type(a, json_type_array) &&
                                   i < json_object_array_length(a);
                     i++) {
                        const char *s = json_object_get_string(json_object_array_get_idx(a, i));
                        if (!path)
                                path = s;
                        else
                                json_object_array_add(args, json_object_new_string(s));
                }
        }
        json_object_object_add(o, "Path", json_object_new_string(path ? path : ""));
        json_object_object_add(o, "Args", args);
        struct json_object *st = json_object_new_object();
        bool running = strcmp(c->state, "running") == 0;
        bool paused = engine_is_paused(e, c);
        bool restarting = running && c->pid <= 0; /* monitor2: between restarts */
        json_object_object_add(st, "Status",
                               json_object_new_string(paused       ? "paused"
                                                      : restarting ? "restarting"
                                                                   : c->state));
        json_object_object_add(st, "Running", json_object_new_boolean(running));
        json_object_object_add(st, "Paused", json_object_new_boolean(paused));
        json_object_object_add(st, "Restarting", json_object_new_boolean(restarting));
        json_object_object_add(st, "OOMKilled", /* runflags */
                               json_object_new_boolean(runflags_oom_killed(e, c->id)));
        json_object_object_add(st, "Dead", json_object_new_boolean(false));
        json_object_object_add(st, "Pid", json_object_new_int(running ? c->pid : 0));
        json_object_object_add(st, "ExitCode", json_object_new_int(c->exit_code));
        json_object_object_add(st, "Error", json_object_new_string(c->error));
        format_time(c->started, t, sizeof(t));
        json_object_object_add(st, "StartedAt", json_object_new_string(t));
        format_time(c->finished, t, sizeof(t));
        json_object_object_add(st, "FinishedAt", json_object_new_string(t));
        json_object_object_add(o, "State", st);
        json_object_object_add(o, "Image", json_object_new_string(c->image_id));
        _cleanup_free_ char *log = engine_log_path(e, c->id);
        json_object_object_add(o, "LogPath", json_object_new_string(log));
        _cleanup_free_ char *name = xasprintf("/%s", c->name);
        json_object_object_add(o, "Name", json_object_new_string(name));
        json_object_object_add(o, "RestartCount",
                               json_object_new_int(restart_count(e, c->id))); /* monitor2 */
        json_object_object_add(o, "Driver", json_object_new_string("overlay"));
        struct json_object *mounts = json_object_new_array();
        struct json_object *binds = field(hc, "Binds");
        for (size_t i = 0; binds && i < json_object_array_length(binds); i++) {
                _cleanup_free_ char *b =
                    xstrdup(json_object_get_string(json_object_array_get_idx(binds, i)));
                char *dest = strchr(b, ':');
                if (!dest)
                        continue;
                *dest++ = '\0';
                char *mode = strchr(dest, ':');
                if (mode)
                        *mode++ = '\0';
                struct json_object *m = json_object_new_object();
                json_object_object_add(m, "Type", json_object_new_string("bind"));
                json_object_object_add(m, "Source", json_object_new_string(b));
                json_object_object_add(m, "Destination", json_object_new_string(dest));
                json_object_object_add(m, "Mode", json_object_new_string(mode ? mode : ""));
                json_object_object_add(m, "RW",
                                       json_object_new_boolean(!mode || strcmp(mode, "ro") != 0));
                json_object_object_add(m, "Propagation", json_object_new_string("rprivate"));
                json_object_array_add(mounts, m);
        }
        if (field(doc, "Mounts")) { /* volumes branch: resolved at create */
                json_object_put(mounts);
                mounts = json_object_get(field(doc, "Mounts"));
        }
        json_object_object_add(o, "Mounts", mounts);
        json_object_object_add(o, "Config", cfg ? json_object_get(cfg) : json_object_new_object());
        json_object_object_add(o, "HostConfig",
                               hc ? json_object_get(hc) : json_object_new_object());
        json_object_object_add(o, "NetworkSettings", ctr_net_settings(e, c, doc));
        return o;
}

int cmd_inspect(struct husk_ctx *ctx, int argc, char **argv)
{
        const char *format = NULL;
        int st =
            husk_inspect_args(ctx, argc, argv, "+f:h",
                              "Usage: husk inspect [--format FMT] NAME...\n\nShow details of "
                              "containers as JSON (one name that is no container: the image).\n",
                              "NAME", &format);
        if (st >= 0)
                return st;
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0)
                return husk_fail(ctx, &err);
        _cleanup_json_ struct json_object *all = json_object_new_array();
        int status = 0;
        for (int i = optind; i < argc; i++) {
                struct ctr ct = {0};
                if (engine_lookup(e, argv[i], &ct, &err) < 0) {
                        /* As docker: a name that is no container may be an image. */
                        if (err.code == -ENOENT && argc - optind == 1) {
                                struct image img = {0};
                                int found = image_lookup(e->store, argv[i], &img, NULL, &err);
                                image_free(&img);
                                if (found < 0) {
                                        error_msg(&err, -ENOENT, "no such container or image: %s",
                                                  argv[i]);
                                        return husk_fail(ctx, &err);
                                }
                                engine_close(TAKE_PTR(e));
                                optind = 0;
                                return cmd_image_inspect(ctx, argc, argv);
                        }
                        status = husk_fail(ctx, &err);
                        continue;
                }
                json_object_array_add(all, inspect_doc(e, &ct));
                ctr_free(&ct);
        }
        return husk_print_inspect(ctx, all, format, status);
}
