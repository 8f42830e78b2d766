/* husk stats [--no-stream] [--format] [CONTAINER...]: docker's live table of CPU,
 * memory, block I/O and pids, from the runtime library's cgroup stats. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cli/format.h"
#include "cli/husk.h"
#include "core/json.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/ext-runtime.h" /* extruntime */
#include "runtime/container-cgroup.h"

static int64_t jnum(struct json_object *o, const char *a, const char *b, const char *c)
{
        struct json_object *v = o;
        const char *path[] = {a, b, c};
        for (size_t i = 0; i < 3 && path[i] && v; i++)
                if (!json_object_object_get_ex(v, path[i], &v))
                        return 0;
        return v ? json_object_get_int64(v) : 0;
}

/* "1.5MiB" as docker's units.BytesSize. */
static void binary_size(double b, char *buf, size_t len)
{
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        size_t u = 0;
        while (b >= 1024 && u + 1 < ARRAY_SIZE(units)) {
                b /= 1024;
                u++;
        }
        snprintf(buf, len, "%.4g%s", b, units[u]);
}

static void blkio(struct json_object *data, int64_t *rd, int64_t *wr)
{
        struct json_object *b, *a;
        *rd = *wr = 0;
        if (!json_object_object_get_ex(data, "blkio", &b) ||
            !json_object_object_get_ex(b, "ioServiceBytesRecursive", &a))
                return;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                struct json_object *e = json_object_array_get_idx(a, i), *op, *v;
                if (!json_object_object_get_ex(e, "op", &op) ||
                    !json_object_object_get_ex(e, "value", &v))
                        continue;
                if (strcasecmp(json_object_get_string(op), "read") == 0)
                        *rd += json_object_get_int64(v);
                else if (strcasecmp(json_object_get_string(op), "write") == 0)
                        *wr += json_object_get_int64(v);
        }
}

struct sample {
        struct ctr c;
        struct json_object *before, *after;
        int64_t t0, t1;
};

static struct json_object *row(const struct sample *s)
{
        struct json_object *d = s->after;
        int64_t cpu = jnum(d, "cpu", "usage", "total") - jnum(s->before, "cpu", "usage", "total");
        double wall = (double)(s->t1 - s->t0);
        double cpu_pct = wall > 0 && cpu > 0 ? (double)cpu / wall * 100.0 : 0;
        int64_t usage = jnum(d, "memory", "usage", "usage");
        /* As docker on v1: the page cache that can be dropped is not "used". */
        struct json_object *mem, *raw;
        if (json_object_object_get_ex(d, "memory", &mem) &&
            json_object_object_get_ex(mem, "raw", &raw)) {
                int64_t inactive = jnum(raw, "total_inactive_file", NULL, NULL);
                if (inactive < usage)
                        usage -= inactive;
        }
        int64_t limit = jnum(d, "memory", "usage", "limit");
        struct sysinfo si;
        if (sysinfo(&si) == 0) {
                int64_t host = (int64_t)si.totalram * si.mem_unit;
                if (limit <= 0 || limit > host)
                        limit = host;
        }
        char u[32], l[32], buf[128], rd[32], wr[32];
        struct json_object *o = json_object_new_object();
        char id[13];
        snprintf(id, sizeof(id), "%.12s", s->c.id);
        json_object_object_add(o, "ID", json_object_new_string(id));
        json_object_object_add(o, "Container", json_object_new_string(id));
        json_object_object_add(o, "Name", json_object_new_string(s->c.name));
        snprintf(buf, sizeof(buf), "%.2f%%", cpu_pct);
        json_object_object_add(o, "CPUPerc", json_object_new_string(buf));
        binary_size((double)usage, u, sizeof(u));
        binary_size((double)limit, l, sizeof(l));
        snprintf(buf, sizeof(buf), "%s / %s", u, l);
        json_object_object_add(o, "MemUsage", json_object_new_string(buf));
        snprintf(buf, sizeof(buf), "%.2f%%", limit > 0 ? (double)usage * 100.0 / (double)limit : 0);
        json_object_object_add(o, "MemPerc", json_object_new_string(buf));
        json_object_object_add(o, "NetIO", json_object_new_string("0B / 0B"));
        int64_t r = 0, w = 0;
        blkio(d, &r, &w);
        format_size(r, rd, sizeof(rd));
        format_size(w, wr, sizeof(wr));
        snprintf(buf, sizeof(buf), "%s / %s", rd, wr);
        json_object_object_add(o, "BlockIO", json_object_new_string(buf));
        snprintf(buf, sizeof(buf), "%lld", (long long)jnum(d, "pids", "current", NULL));
        json_object_object_add(o, "PIDs", json_object_new_string(buf));
        return o;
}

static const struct fmt_header stats_headers[] = {
    {"ID", "CONTAINER ID"},
    {"Container", "CONTAINER"},
    {"Name", "NAME"},
    {"CPUPerc", "CPU %"},
    {"MemUsage", "MEM USAGE / LIMIT"},
    {"MemPerc", "MEM %"},
    {"NetIO", "NET I/O"},
    {"BlockIO", "BLOCK I/O"},
    {"PIDs", "PIDS"},
    {},
};

/* One round: stats of every chosen running container, 500 ms apart for CPU %. */
static int one_round(struct husk_ctx *ctx, struct engine *e, char **names, int n_names,
                     const char *format, bool clear)
{
        struct error err = {0};
        struct ctr *l = NULL;
        size_t n = 0;
        if (ctr_list(e->store->db, &l, &n, &err) < 0)
                return husk_fail(ctx, &err);
        struct sample *s = xzalloc((n + 1) * sizeof(*s));
        size_t ns = 0;
        int status = 0;
        for (size_t i = 0; i < n; i++) {
                bool gone = false, wanted = n_names == 0;
                for (int k = 0; k < n_names && !wanted; k++)
                        wanted = !strcmp(names[k], l[i].name) ||
                                 !strncmp(names[k], l[i].id, strlen(names[k]));
                if (!wanted || engine_refresh(e, &l[i], &gone, &err) < 0 || gone)
                        continue;
                if (strcmp(l[i].state, "running") != 0)
                        continue;
                s[ns].c = l[i];
                memset(&l[i], 0, sizeof(l[i]));
                s[ns].t0 = now_ns();
                if (engine_rt_stats(e, &s[ns].c, &s[ns].before, &err) /* extruntime */ < 0) {
                        ctr_free(&s[ns].c);
                        continue;
                }
                ns++;
        }
        usleep(500000);
        struct json_object **rows = xzalloc((ns + 1) * sizeof(*rows));
        size_t nr = 0;
        for (size_t i = 0; i < ns; i++) {
                s[i].t1 = now_ns();
                if (engine_rt_stats(e, &s[i].c, &s[i].after, &err) == 0)
                        rows[nr++] = row(&s[i]);
                json_object_put(s[i].before);
                json_object_put(s[i].after);
                ctr_free(&s[i].c);
        }
        if (clear)
                printf("\033[2J\033[H");
        int r = format_print(stdout, format,
                             "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t"
                             "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}",
                             stats_headers, rows, nr, &err);
        fflush(stdout);
        for (size_t i = 0; i < nr; i++)
                json_object_put(rows[i]);
        free(rows);
        free(s);
        ctr_free_array(l, n);
        if (r < 0)
                status = husk_fail(ctx, &err);
        return status;
}

int cmd_stats(struct husk_ctx *ctx, int argc, char **argv)
{
        static const struct option opts[] = {{"no-stream", no_argument, NULL, 'n'},
                                             {"format", required_argument, NULL, 'f'},
                                             {"help", no_argument, NULL, 'h'},
                                             {}};
        bool stream = true;
        const char *format = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
                if (c == 'n') {
                        stream = false;
                } else if (c == 'f') {
                        format = optarg;
                } else if (c == 'h') {
                        printf("Usage: husk stats [--no-stream] [--format FMT] [CONTAINER...]\n\n"
                               "Live CPU, memory, block I/O and pids of running containers.\n");
                        return 0;
                } else {
                        return husk_bad_option(ctx);
                }
        }
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0)
                return husk_fail(ctx, &err);
        for (int i = optind; i < argc; i++) {
                struct ctr ct = {0};
                if (engine_lookup(e, argv[i], &ct, &err) < 0)
                        return husk_fail(ctx, &err);
                ctr_free(&ct);
        }
        do {
                int r =
                    one_round(ctx, e, argv + optind, argc - optind, format, stream && isatty(1));
                if (r)
                        return r;
        } while (stream);
        return 0;
}
