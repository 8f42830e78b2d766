/* husk-runtime pause, resume, update, events: the runc commands that act on
 * a living container's cgroup. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/runtime.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "runtime/container-cgroup.h"

static int one_id(const struct rt_command *cmd, int argc, char **argv, const char **ret)
{
        int c;
        optind = 0;
        opterr = 0;
        static const struct option o[] = {{0}};
        while ((c = getopt_long(argc, argv, "+", o, NULL)) != -1)
                return rt_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        if (optind != argc - 1)
                return rt_usage_error(cmd, "exactly one container id is expected");
        *ret = argv[optind];
        return 0;
}

static int cmd_pause(const struct rt_globals *g, int argc, char **argv)
{
        const char *id;
        if (one_id(&rt_cmd_pause, argc, argv, &id))
                return 1;
        struct error err = {0};
        if (container_pause(g->root, id, &err) < 0)
                return rt_fail("%s", err.msg);
        return 0;
}

const struct rt_command rt_cmd_pause = {"pause", "suspend all processes of a container (freezer)",
                                        "pause ID", cmd_pause};

static int cmd_resume(const struct rt_globals *g, int argc, char **argv)
{
        const char *id;
        if (one_id(&rt_cmd_resume, argc, argv, &id))
                return 1;
        struct error err = {0};
        if (container_resume(g->root, id, &err) < 0)
                return rt_fail("%s", err.msg);
        return 0;
}

const struct rt_command rt_cmd_resume = {"resume", "resume a paused container", "resume ID",
                                         cmd_resume};

/* ---- update ---- */

/* "256m", "1G", "1048576", "-1" (unlimited), as runc's --memory flags. */
static int parse_size(const char *s, int64_t *ret)
{
        if (strcmp(s, "-1") == 0) {
                *ret = -1;
                return 0;
        }
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || v < 0)
                return -EINVAL;
        static const char units[] = "bkmgtp";
        double mul = 1;
        if (*end) {
                const char *u = strchr(units, (char)tolower((unsigned char)*end));
                if (!u)
                        return -EINVAL;
                for (const char *k = units; k < u; k++)
                        mul *= 1024;
                end++;
                if (*end && strcasecmp(end, "b") && strcasecmp(end, "ib"))
                        return -EINVAL;
        }
        v *= mul;
        if (v > (double)INT64_MAX)
                return -ERANGE;
        *ret = (int64_t)v;
        return 0;
}

static struct json_object *sub(struct json_object *o, const char *key)
{
        struct json_object *v;
        if (json_object_object_get_ex(o, key, &v))
                return v;
        v = json_object_new_object();
        json_object_object_add(o, key, v);
        return v;
}

enum {
        U_MEMORY = 256,
        U_SWAP,
        U_RESERVATION,
        U_KMEM,
        U_KMEM_TCP,
        U_QUOTA,
        U_PERIOD,
        U_SHARES,
        U_RT_PERIOD,
        U_RT_RUNTIME,
        U_CPUS,
        U_MEMS,
        U_PIDS,
        U_BLKIO,
        U_L3,
        U_MEMBW,
};

static int update_flag(struct json_object *res, int c, const char *arg, const char **what)
{
        int64_t i;
        uint64_t u;
        switch (c) {
        case U_MEMORY:
        case U_SWAP:
        case U_RESERVATION:
        case U_KMEM:
        case U_KMEM_TCP: {
                static const char *keys[] = {"limit", "swap", "reservation", "kernel", "kernelTCP"};
                if (parse_size(arg, &i) < 0) {
                        *what = "a size such as 268435456, 256m or -1";
                        return -EINVAL;
                }
                json_object_object_add(sub(res, "memory"), keys[c - U_MEMORY],
                                       json_object_new_int64(i));
                return 0;
        }
        case U_QUOTA:
        case U_RT_RUNTIME:
                if (parse_i64(arg, &i) < 0) {
                        *what = "an integer";
                        return -EINVAL;
                }
                json_object_object_add(sub(res, "cpu"), c == U_QUOTA ? "quota" : "realtimeRuntime",
                                       json_object_new_int64(i));
                return 0;
        case U_PERIOD:
        case U_SHARES:
        case U_RT_PERIOD:
                if (parse_u64(arg, &u) < 0) {
                        *what = "an unsigned integer";
                        return -EINVAL;
                }
                json_object_object_add(sub(res, "cpu"),
                                       c == U_PERIOD   ? "period"
                                       : c == U_SHARES ? "shares"
                                                       : "realtimePeriod",
                                       json_object_new_uint64(u));
                return 0;
        case U_CPUS:
        case U_MEMS:
                json_object_object_add(sub(res, "cpu"), c == U_CPUS ? "cpus" : "mems",
                                       json_object_new_string(arg));
                return 0;
        case U_PIDS:
                if (parse_i64(arg, &i) < 0) {
                        *what = "an integer";
                        return -EINVAL;
                }
                json_object_object_add(sub(res, "pids"), "limit", json_object_new_int64(i));
                return 0;
        case U_BLKIO:
                if (parse_u64(arg, &u) < 0 || u > 1000) {
                        *what = "a weight 10-1000";
                        return -EINVAL;
                }
                json_object_object_add(sub(res, "blockIO"), "weight", json_object_new_uint64(u));
                return 0;
        }
        *what = "supported (Intel RDT is not)";
        return -EOPNOTSUPP;
}

static int read_resources_file(const char *path, struct json_object **ret, struct error *err)
{
        _cleanup_free_ char *text = NULL;
        int r =
            read_file_at(AT_FDCWD, strcmp(path, "-") == 0 ? "/dev/stdin" : path, 0, &text, NULL);
        if (r < 0)
                return error_sys(err, r, "read '%s'", path);
        return json_parse_string(strcmp(path, "-") == 0 ? "stdin" : path, text, ret, err);
}

static int cmd_update(const struct rt_globals *g, int argc, char **argv)
{
        static const struct option o[] = {
            {"memory", required_argument, NULL, U_MEMORY},
            {"memory-swap", required_argument, NULL, U_SWAP},
            {"memory-reservation", required_argument, NULL, U_RESERVATION},
            {"kernel-memory", required_argument, NULL, U_KMEM},
            {"kernel-memory-tcp", required_argument, NULL, U_KMEM_TCP},
            {"cpu-quota", required_argument, NULL, U_QUOTA},
            {"cpu-period", required_argument, NULL, U_PERIOD},
            {"cpu-share", required_argument, NULL, U_SHARES},
            {"cpu-shares", required_argument, NULL, U_SHARES},
            {"cpu-rt-period", required_argument, NULL, U_RT_PERIOD},
            {"cpu-rt-runtime", required_argument, NULL, U_RT_RUNTIME},
            {"cpuset-cpus", required_argument, NULL, U_CPUS},
            {"cpuset-mems", required_argument, NULL, U_MEMS},
            {"pids-limit", required_argument, NULL, U_PIDS},
            {"blkio-weight", required_argument, NULL, U_BLKIO},
            {"l3-cache-schema", required_argument, NULL, U_L3},
            {"mem-bw-schema", required_argument, NULL, U_MEMBW},
            {"resources", required_argument, NULL, 'r'},
            {0},
        };
        _cleanup_json_ struct json_object *flags = json_object_new_object();
        const char *file = NULL;
        int c, li = -1;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+r:", o, &li)) != -1) {
                if (c == 'r') {
                        file = optarg;
                        continue;
                }
                if (c == '?' || c == ':')
                        return rt_usage_error(&rt_cmd_update,
                                              "unknown option or missing value '%s'",
                                              argv[optind - 1]);
                const char *what = NULL;
                if (update_flag(flags, c, optarg, &what) < 0)
                        return rt_fail("update: --%s: '%s' is not %s", li >= 0 ? o[li].name : "?",
                                       optarg, what);
        }
        if (optind != argc - 1)
                return rt_usage_error(&rt_cmd_update, "exactly one container id is expected");
        const char *id = argv[optind];
        struct error err = {0};
        _cleanup_json_ struct json_object *res = NULL;
        if (file) {
                if (read_resources_file(file, &res, &err) < 0)
                        return rt_fail("update '%s': %s", id, err.msg);
                if (!json_object_is_type(res, json_type_object))
                        return rt_fail("update '%s': %s: expected a linux.resources object", id,
                                       file);
        } else {
                res = json_object_get(flags);
        }
        _cleanup_strv_ char **warnings = NULL;
        int r = container_update(g->root, id, res, &warnings, &err);
        for (char **w = warnings; w && *w; w++)
                log_warn("%s", *w);
        if (r < 0)
                return rt_fail("%s", err.msg);
        return 0;
}

const struct rt_command rt_cmd_update = {
    "update",
    "change the resource limits of a running container",
    "update [--memory N] [--memory-swap N] [--memory-reservation N] [--cpu-quota N] "
    "[--cpu-period N] [--cpu-shares N] [--cpu-rt-period N] [--cpu-rt-runtime N] "
    "[--cpuset-cpus LIST] [--cpuset-mems LIST] [--pids-limit N] [--blkio-weight N] "
    "[-r FILE|-] ID",
    cmd_update,
};

/* ---- events ---- */

/* "5s", "100ms", "1m", "1.5s", "2" (seconds) into milliseconds. */
static int parse_interval(const char *s, int *ret)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || v <= 0)
                return -EINVAL;
        double ms;
        if (!*end || strcmp(end, "s") == 0)
                ms = v * 1000;
        else if (strcmp(end, "ms") == 0)
                ms = v;
        else if (strcmp(end, "m") == 0)
                ms = v * 60000;
        else if (strcmp(end, "h") == 0)
                ms = v * 3600000;
        else
                return -EINVAL;
        if (ms < 1 || ms > 86400000)
                return -ERANGE;
        *ret = (int)ms;
        return 0;
}

static int print_event(struct json_object *ev, void *opaque)
{
        if (printf("%s\n", json_compact(ev)) < 0 || fflush(stdout) != 0)
                return -EPIPE;
        return 0;
}

static int cmd_events(const struct rt_globals *g, int argc, char **argv)
{
        static const struct option o[] = {
            {"stats", no_argument, NULL, 's'}, {"interval", required_argument, NULL, 'i'}, {0}};
        bool stats = false;
        int interval = 5000;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+", o, NULL)) != -1) {
                if (c == 's')
                        stats = true;
                else if (c == 'i') {
                        if (parse_interval(optarg, &interval) < 0)
                                return rt_fail("events: --interval: '%s' is not a duration such "
                                               "as 5s or 500ms",
                                               optarg);
                } else
                        return rt_usage_error(&rt_cmd_events, "unknown option '%s'",
                                              argv[optind - 1]);
        }
        if (optind != argc - 1)
                return rt_usage_error(&rt_cmd_events, "exactly one container id is expected");
        const char *id = argv[optind];
        struct error err = {0};
        if (stats) {
                struct json_object *data = NULL;
                if (container_stats(g->root, id, &data, &err) < 0)
                        return rt_fail("%s", err.msg);
                struct json_object *ev = json_object_new_object();
                json_object_object_add(ev, "type", json_object_new_string("stats"));
                json_object_object_add(ev, "id", json_object_new_string(id));
                json_object_object_add(ev, "data", data);
                print_event(ev, NULL);
                json_object_put(ev);
                return 0;
        }
        if (container_events(g->root, id, interval, print_event, NULL, &err) < 0)
                return rt_fail("%s", err.msg);
        return 0;
}

const struct rt_command rt_cmd_events = {
    "events",
    "print the container's stats every interval and its OOM events, as JSON",
    "events [--stats] [--interval 5s] ID",
    cmd_events,
};
