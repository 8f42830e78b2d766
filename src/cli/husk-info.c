/* husk version and husk info: docker's layout, and --format templates. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli/format.h"
#include "cli/husk.h"
#include "core/json.h"
#include "core/util.h"
#include "engine/ctr-store.h"
#include "engine/engine.h"
#include "engine/runflags.h"
#include "image/image.h"
#include "runtime/cgroup.h"

/* Go's GOARCH names, as docker prints OS/Arch. */
static const char *go_arch(const char *machine)
{
        static const char *const map[][2] = {{"x86_64", "amd64"}, {"aarch64", "arm64"},
                                             {"i686", "386"},     {"i386", "386"},
                                             {"armv7l", "arm"},   {"ppc64le", "ppc64le"},
                                             {"s390x", "s390x"},  {"riscv64", "riscv64"}};
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (strcmp(machine, map[i][0]) == 0)
                        return map[i][1];
        return machine;
}

/* Prints one object with a template ("json" alone: the object as JSON). */
static int print_format(struct husk_ctx *ctx, const char *format, struct json_object *o)
{
        struct error err = {0};
        if (strcmp(format, "json") == 0)
                format = "{{json .}}";
        struct tmpl *t = NULL;
        _cleanup_free_ char *out = NULL;
        int r = tmpl_parse(format, &t, &err);
        if (r == 0)
                r = tmpl_render(t, o, &out, &err);
        tmpl_free(t);
        if (r < 0)
                return husk_fail(ctx, &err);
        printf("%s\n", out);
        return 0;
}

/* Parses [--format F] [--help]; returns 1 after help, <0 on a usage error. */
static int parse_format(struct husk_ctx *ctx, int argc, char **argv, const char *help,
                        const char **format)
{
        static const struct option opts[] = {
            {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {}};
        int c;
        while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
                switch (c) {
                case 'f':
                        *format = optarg;
                        break;
                case 'h':
                        fputs(help, stdout);
                        return 1;
                default:
                        husk_bad_option(ctx);
                        return -1;
                }
        }
        if (optind < argc) {
                husk_usage_error(ctx, "unexpected argument '%s'", argv[optind]);
                return -1;
        }
        return 0;
}

int cmd_version(struct husk_ctx *ctx, int argc, char **argv)
{
        const char *format = NULL;
        int r = parse_format(ctx, argc, argv,
                             "Usage: husk version [--format TEMPLATE]\n\nShow husk's version "
                             "(fields: .Client.Version, .Client.OciSpecVersion, .Client.Os, "
                             ".Client.Arch).\n",
                             &format);
        if (r != 0)
                return r < 0 ? HUSK_EXIT_USAGE : 0;
        struct utsname u;
        uname(&u);
        _cleanup_json_ struct json_object *o = json_object_new_object();
        struct json_object *cl = json_object_new_object();
        json_object_object_add(o, "Client", cl);
        json_object_object_add(cl, "Version", json_object_new_string(HUSK_VERSION));
        json_object_object_add(cl, "OciSpecVersion", json_object_new_string(HUSK_OCI_SPEC_VERSION));
        json_object_object_add(cl, "Os", json_object_new_string("linux"));
        json_object_object_add(cl, "Arch", json_object_new_string(go_arch(u.machine)));
        if (format)
                return print_format(ctx, format, o);
        printf("Client:\n"
               " Version:           %s\n"
               " OCI spec version:  %s\n"
               " OS/Arch:           linux/%s\n",
               HUSK_VERSION, HUSK_OCI_SPEC_VERSION, go_arch(u.machine));
        return 0;
}

/* PRETTY_NAME of /etc/os-release, as docker's "Operating System". */
static char *os_name(void)
{
        FILE *f = fopen("/etc/os-release", "re");
        if (!f)
                return xstrdup("unknown");
        char line[512];
        char *res = NULL;
        while (!res && fgets(line, sizeof(line), f)) {
                if (strncmp(line, "PRETTY_NAME=", 12) != 0)
                        continue;
                char *v = line + 12;
                v[strcspn(v, "\n")] = '\0';
                size_t l = strlen(v);
                if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0]) {
                        v[l - 1] = '\0';
                        v++;
                }
                res = xstrdup(v);
        }
        fclose(f);
        return res ? res : xstrdup("unknown");
}

/* docker's units.BytesSize: binary units, 4 significant digits. */
static void bytes_size(double n, char *buf, size_t len)
{
        static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        size_t i = 0;
        while (n >= 1024 && i + 1 < ARRAY_SIZE(u)) {
                n /= 1024;
                i++;
        }
        snprintf(buf, len, "%.4g%s", n, u[i]);
}

int cmd_info(struct husk_ctx *ctx, int argc, char **argv)
{
        const char *format = NULL;
        int r = parse_format(ctx, argc, argv,
                             "Usage: husk info [--format TEMPLATE]\n\nShow husk's containers, "
                             "images, storage and host (fields as docker's: .Containers, "
                             ".ContainersRunning, .Images, .CgroupVersion ...; {{json .}} shows "
                             "them all).\n",
                             &format);
        if (r != 0)
                return r < 0 ? HUSK_EXIT_USAGE : 0;
        struct error err = {0};
        _cleanup_engine_ struct engine *e = NULL;
        struct ctr *l = NULL;
        size_t n = 0, nimg = 0;
        struct image *imgs = NULL;
        if (engine_open(ctx->root, ctx->runroot, &e, &err) < 0 ||
            ctr_list(e->store->db, &l, &n, &err) < 0)
                return husk_fail(ctx, &err);
        if (image_list(e->store, &imgs, &nimg, &err) < 0) {
                ctr_free_array(l, n);
                return husk_fail(ctx, &err);
        }
        image_free_array(imgs, nimg);
        int64_t total = 0, running = 0, paused = 0, stopped = 0;
        for (size_t i = 0; i < n; i++) {
                bool gone = false;
                if (engine_refresh(e, &l[i], &gone, &err) < 0) {
                        husk_fail(ctx, &err);
                        error_clear(&err);
                        continue;
                }
                if (gone)
                        continue;
                total++;
                if (strcmp(l[i].state, "running") != 0)
                        stopped++;
                else if (engine_is_paused(e, &l[i]))
                        paused++;
                else
                        running++;
        }
        ctr_free_array(l, n);
        struct utsname u;
        uname(&u);
        struct sysinfo si = {0};
        sysinfo(&si);
        int64_t mem = (int64_t)si.totalram * si.mem_unit;
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        enum cgroup_mode cm = cgroup_mode();
        const char *mode = cm == CGROUP_MODE_V2 ? "v2" : cm == CGROUP_MODE_HYBRID ? "hybrid" : "v1";
        _cleanup_free_ char *os = os_name();
        _cleanup_json_ struct json_object *o = json_object_new_object();
#define ADD(k, v) json_object_object_add(o, k, v)
        ADD("Containers", json_object_new_int64(total));
        ADD("ContainersRunning", json_object_new_int64(running));
        ADD("ContainersPaused", json_object_new_int64(paused));
        ADD("ContainersStopped", json_object_new_int64(stopped));
        ADD("Images", json_object_new_int64((int64_t)nimg));
        ADD("ServerVersion", json_object_new_string(HUSK_VERSION));
        ADD("DockerRootDir", json_object_new_string(ctx->root));
        ADD("RunRoot", json_object_new_string(ctx->runroot));
        /* docker's CgroupVersion is "1" or "2"; a hybrid host runs v1 controllers */
        ADD("CgroupVersion", json_object_new_string(cm == CGROUP_MODE_V2 ? "2" : "1"));
        ADD("CgroupMode", json_object_new_string(mode));
        ADD("DefaultRuntime", json_object_new_string("husk (built in)"));
        ADD("SeccompProfile", json_object_new_string(RUNFLAGS_DEFAULT_SECCOMP));
        ADD("KernelVersion", json_object_new_string(u.release));
        ADD("OperatingSystem", json_object_new_string(os));
        ADD("OSType", json_object_new_string("linux"));
        ADD("Architecture", json_object_new_string(u.machine));
        ADD("NCPU", json_object_new_int64(ncpu));
        ADD("MemTotal", json_object_new_int64(mem));
#undef ADD
        if (format)
                return print_format(ctx, format, o);
        char memtext[32];
        bytes_size((double)mem, memtext, sizeof(memtext));
        printf("Client:\n"
               " Version:    %s\n"
               "\n"
               "Server:\n"
               " Containers: %lld\n"
               "  Running: %lld\n"
               "  Paused: %lld\n"
               "  Stopped: %lld\n"
               " Images: %zu\n"
               " Server Version: %s\n"
               " Storage Root: %s\n"
               " Run Root: %s\n"
               " Cgroup Version: %s (%s)\n"
               " Default Runtime: husk (built in)\n"
               " Seccomp Profile: %s\n"
               " Kernel Version: %s\n"
               " Operating System: %s\n"
               " OSType: linux\n"
               " Architecture: %s\n"
               " CPUs: %ld\n"
               " Total Memory: %s\n",
               HUSK_VERSION, (long long)total, (long long)running, (long long)paused,
               (long long)stopped, nimg, HUSK_VERSION, ctx->root, ctx->runroot,
               cm == CGROUP_MODE_V2 ? "2" : "1", mode, RUNFLAGS_DEFAULT_SECCOMP, u.release, os,
               u.machine, ncpu, memtext);
        return 0;
}
