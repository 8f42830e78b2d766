#include "engine/runflags.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h> /* startproto */
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "engine/ctr-config.h"
#include "engine/ctr-store.h"
#include "engine/engine.h"
#include "engine/ipc-shm.h"
#include "engine/ext-runtime.h" /* extruntime */
#include "runtime/spec.h"
#include "runtime/state.h"

const char runflags_help[] =
    "      --privileged          all capabilities and host devices, no seccomp, no masked paths\n"
    "      --security-opt OPT    seccomp=PROFILE.json|unconfined, no-new-privileges[=true],\n"
    "                            label=disable (no SELinux here: accepted)\n"
    "      --device HOST[:CTR][:rwm] give the container a host device\n"
    "      --sysctl K=V          set a namespaced sysctl (kernel.shm*, kernel.msg*, kernel.sem,\n"
    "                            fs.mqueue.*, net.*)\n"
    "      --shm-size BYTES      size of /dev/shm (default 64m)\n"
    "      --memory-swap BYTES   memory plus swap limit (-1: unlimited swap); needs --memory\n"
    "      --cpu-shares N        relative CPU weight (default 1024)\n"
    "      --cpuset-cpus LIST    CPUs the container may use (0-3, 0,1)\n"
    "      --group-add GROUP     an additional group (name in the image, or gid)\n"
    "      --cgroup-parent PATH  cgroup to create the container's below (relative: below "
    "husk's)\n"
    "      --pid MODE            host or container:NAME (default: its own)\n"
    "      --ipc MODE            host, container:NAME, private, shareable or none\n"
    "      --uts MODE            host (default: its own)\n";

static void add(struct json_object *o, const char *key, struct json_object *v)
{
        json_object_object_add(o, key, v);
}

static struct json_object *jfield(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;
        if (o && json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null))
                return v;
        return NULL;
}

static const char *jstr(struct json_object *o, const char *key)
{
        struct json_object *v = jfield(o, key);
        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* ---------------------------------------------------------------- flag values */

static int check_ns_mode(const char *flag, const char *v, bool ipc, struct error *err)
{
        if (!strcmp(v, "host") || (str_startswith(v, "container:") && v[10]))
                return 0;
        if (ipc && (!strcmp(v, "private") || !strcmp(v, "shareable") || !strcmp(v, "none") || !*v))
                return 0;
        if (!*v)
                return 0;
        return error_msg(err, -EINVAL, "%s '%s': want host or container:NAME%s", flag, v,
                         ipc ? ", private, shareable or none" : "");
}

/* "0-3,5": every cpu present in /sys/devices/system/cpu/online's range list. */
static int check_cpuset(const char *v, struct error *err)
{
        _cleanup_free_ char *online = NULL;
        uint64_t max = 1023;
        if (read_file_at(AT_FDCWD, "/sys/devices/system/cpu/online", 0, &online, NULL) == 0) {
                const char *last = strrchr(online, '-');
                const char *comma = strrchr(online, ',');
                const char *p = last && (!comma || last > comma) ? last + 1
                                : comma                          ? comma + 1
                                                                 : online;
                max = strtoull(p, NULL, 10);
        }
        _cleanup_free_ char *copy = xstrdup(v);
        char *save = NULL;
        bool any = false;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *dash = strchr(t, '-');
                if (dash)
                        *dash++ = '\0';
                uint64_t a, b;
                if (parse_u64(t, &a) < 0 || (dash && parse_u64(dash, &b) < 0) || (dash && b < a))
                        return error_msg(err, -EINVAL,
                                         "--cpuset-cpus '%s': want a list of CPUs or ranges "
                                         "(0-3,5)",
                                         v);
                if ((dash ? b : a) > max)
                        return error_msg(err, -EINVAL,
                                         "--cpuset-cpus '%s': requested CPUs are not available "
                                         "(this host has 0-%llu)",
                                         v, (unsigned long long)max);
                any = true;
        }
        if (!any)
                return error_msg(err, -EINVAL, "--cpuset-cpus '%s': no CPU given", v);
        return 0;
}

static int check_security_opt(const char *v, struct error *err)
{
        const char *eq = strchr(v, '=');
        if (!eq)
                eq = strchr(v, ':'); /* docker's old "seccomp:unconfined" */
        _cleanup_free_ char *key = eq ? xstrndup(v, (size_t)(eq - v)) : xstrdup(v);
        const char *val = eq ? eq + 1 : NULL;
        if (!strcmp(key, "no-new-privileges")) {
                if (val && strcmp(val, "true") && strcmp(val, "false"))
                        return error_msg(err, -EINVAL,
                                         "--security-opt '%s': no-new-privileges wants true or "
                                         "false",
                                         v);
                return 0;
        }
        if (!strcmp(key, "seccomp")) {
                if (!val || !*val)
                        return error_msg(err, -EINVAL,
                                         "--security-opt '%s': want seccomp=PROFILE.json or "
                                         "seccomp=unconfined",
                                         v);
                return 0;
        }
        if (!strcmp(key, "label")) {
                if (val && (!strcmp(val, "disable") || str_startswith(val, "user:") ||
                            str_startswith(val, "role:") || str_startswith(val, "type:") ||
                            str_startswith(val, "level:")))
                        return 0;
                return error_msg(err, -EINVAL,
                                 "--security-opt '%s': want label=disable (or "
                                 "label=user|role|type|level:VALUE)",
                                 v);
        }
        return error_msg(err, -EINVAL,
                         "--security-opt '%s': unknown option (want seccomp=..., "
                         "no-new-privileges or label=...)",
                         v);
}

int runflags_option(struct ctr_runflags *rf, int opt, const char *arg, struct error *err)
{
        int64_t n;
        switch (opt) {
        case RF_OPT_PRIVILEGED:
                rf->privileged = true;
                return 0;
        case RF_OPT_SECURITY_OPT:
                if (check_security_opt(arg, err) < 0)
                        return -EINVAL;
                rf->security_opt = strv_push(rf->security_opt, xstrdup(arg));
                return 0;
        case RF_OPT_DEVICE:
                rf->devices = strv_push(rf->devices, xstrdup(arg));
                return 0;
        case RF_OPT_SYSCTL:
                rf->sysctls = strv_push(rf->sysctls, xstrdup(arg));
                return 0;
        case RF_OPT_GROUP_ADD:
                if (!*arg)
                        return error_msg(err, -EINVAL, "--group-add '': want a group name or id");
                rf->group_add = strv_push(rf->group_add, xstrdup(arg));
                return 0;
        case RF_OPT_SHM_SIZE:
                if (ctr_parse_bytes(arg, &n) < 0 || n <= 0)
                        return error_msg(err, -EINVAL,
                                         "--shm-size '%s': want a size above 0 (64m, 1g)", arg);
                rf->shm_size = n;
                return 0;
        case RF_OPT_MEMORY_SWAP:
                if (!strcmp(arg, "-1"))
                        n = -1;
                else if (ctr_parse_bytes(arg, &n) < 0 || n <= 0)
                        return error_msg(err, -EINVAL,
                                         "--memory-swap '%s': want a size (1g) or -1 (unlimited)",
                                         arg);
                rf->memory_swap = n;
                return 0;
        case RF_OPT_CPU_SHARES:
                if (parse_i64(arg, &n) < 0 || n < 0 || n > 262144)
                        return error_msg(err, -EINVAL,
                                         "--cpu-shares '%s': want a number from 0 to 262144", arg);
                rf->cpu_shares = n;
                return 0;
        case RF_OPT_CPUSET_CPUS:
                if (check_cpuset(arg, err) < 0)
                        return -EINVAL;
                rf->cpuset_cpus = arg;
                return 0;
        case RF_OPT_CGROUP_PARENT:
                if (!*arg || strstr(arg, "..") || strchr(arg, '\n'))
                        return error_msg(err, -EINVAL,
                                         "--cgroup-parent '%s': want a cgroup path without '..'",
                                         arg);
                rf->cgroup_parent = arg;
                return 0;
        case RF_OPT_PID:
                if (check_ns_mode("--pid", arg, false, err) < 0)
                        return -EINVAL;
                rf->pid_mode = arg;
                return 0;
        case RF_OPT_IPC:
                if (check_ns_mode("--ipc", arg, true, err) < 0)
                        return -EINVAL;
                rf->ipc_mode = arg;
                return 0;
        case RF_OPT_UTS:
                if (*arg && strcmp(arg, "host"))
                        return error_msg(err, -EINVAL, "--uts '%s': want host", arg);
                rf->uts_mode = arg;
                return 0;
        }
        return error_msg(err, -EINVAL, "unknown run flag %d", opt);
}

void runflags_free(struct ctr_runflags *rf)
{
        strv_free(rf->security_opt);
        strv_free(rf->devices);
        strv_free(rf->sysctls);
        strv_free(rf->group_add);
        *rf = (struct ctr_runflags){0};
}

/* ---------------------------------------------------------------- HostConfig */

/* HOST[:CTR][:rwm] into {PathOnHost, PathInContainer, CgroupPermissions}. */
static int parse_device(const char *spec, struct json_object **ret, struct error *err)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        char *f[3] = {copy, NULL, NULL};
        int n = 1;
        for (char *p = copy; n < 3 && (p = strchr(p, ':')); n++) {
                *p++ = '\0';
                f[n] = p;
        }
        if (n == 3 && strchr(f[2], ':'))
                return error_msg(err, -EINVAL, "--device '%s': want HOST[:CONTAINER][:rwm]", spec);
        const char *host = f[0], *ctr = f[0], *perm = "rwm";
        if (n == 2) {
                if (f[1][0] == '/')
                        ctr = f[1];
                else
                        perm = f[1];
        } else if (n == 3) {
                ctr = f[1];
                perm = f[2];
        }
        if (!*perm || strspn(perm, "rwm") != strlen(perm))
                return error_msg(err, -EINVAL,
                                 "--device '%s': bad permissions '%s' (want a mix of r, w, m)",
                                 spec, perm);
        if (host[0] != '/' || ctr[0] != '/')
                return error_msg(err, -EINVAL, "--device '%s': the paths must be absolute", spec);
        struct stat st;
        if (stat(host, &st) < 0)
                return error_sys(err, -errno, "--device '%s': '%s'", spec, host);
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
                return error_msg(err, -EINVAL,
                                 "--device '%s': '%s' is not a character or block device", spec,
                                 host);
        struct json_object *o = json_object_new_object();
        add(o, "PathOnHost", json_object_new_string(host));
        add(o, "PathInContainer", json_object_new_string(ctr));
        add(o, "CgroupPermissions", json_object_new_string(perm));
        *ret = o;
        return 0;
}

static const char *const ipc_sysctls[] = {
    "kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni", "kernel.sem", "kernel.shmall",
    "kernel.shmmax", "kernel.shm_rmid_forced", "kernel.shmmni", NULL,
};

static bool is_ipc_sysctl(const char *k)
{
        return strv_contains((char *const *)ipc_sysctls, k) || str_startswith(k, "fs.mqueue.");
}

/* As docker: only sysctls of the namespaces the container has of its own. */
static int check_sysctl(const char *kv, const struct ctr_runflags *rf, struct error *err)
{
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv)
                return error_msg(err, -EINVAL, "--sysctl '%s': want KEY=VALUE", kv);
        _cleanup_free_ char *k = xstrndup(kv, (size_t)(eq - kv));
        for (char *p = k; *p; p++)
                if (*p == '/')
                        *p = '.';
        bool ipc_shared = rf->ipc_mode && (!strcmp(rf->ipc_mode, "host") ||
                                           str_startswith(rf->ipc_mode, "container:"));
        if (is_ipc_sysctl(k)) {
                if (ipc_shared)
                        return error_msg(err, -EINVAL,
                                         "--sysctl '%s': not allowed with --ipc %s (it would "
                                         "change a namespace that is not the container's own)",
                                         kv, rf->ipc_mode);
                return 0;
        }
        if (str_startswith(k, "net."))
                return 0;
        if (!strcmp(k, "kernel.domainname")) {
                if (rf->uts_mode && !strcmp(rf->uts_mode, "host"))
                        return error_msg(err, -EINVAL, "--sysctl '%s': not allowed with --uts host",
                                         kv);
                return 0;
        }
        return error_msg(err, -EINVAL,
                         "--sysctl '%s': '%s' is not a namespaced sysctl (want kernel.shm*, "
                         "kernel.msg*, kernel.sem, fs.mqueue.*, net.* or kernel.domainname)",
                         kv, k);
}

static struct json_object *str_array(char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static int read_profile(const char *path, struct json_object **ret, struct error *err)
{
        int r = json_parse_file(path, ret, err);
        if (r == -ENOENT && !strcmp(path, RUNFLAGS_DEFAULT_SECCOMP))
                return error_msg(err, r,
                                 "docker's default seccomp profile %s is missing (apt-get install "
                                 "golang-github-containers-common), or run with --security-opt "
                                 "seccomp=unconfined",
                                 path);
        return r;
}

/* SecurityOpt as docker stores it: seccomp=FILE becomes seccomp=<the profile's JSON>. */
static int security_opts(const struct ctr_runflags *rf, struct json_object **ret, struct error *err)
{
        struct json_object *a = json_object_new_array();
        _cleanup_json_ struct json_object *holder = a;
        for (char **s = rf->security_opt; s && *s; s++) {
                const char *v = *s;
                if (str_startswith(v, "seccomp=") || str_startswith(v, "seccomp:")) {
                        const char *file = v + 8;
                        if (strcmp(file, "unconfined") != 0) {
                                _cleanup_json_ struct json_object *p = NULL, *oci = NULL;
                                int r = json_parse_file(file, &p, err);
                                if (r < 0)
                                        return error_wrap(err, r, "--security-opt '%s'", v);
                                char *none[] = {NULL};
                                if ((r = runflags_seccomp(p, file, none, &oci, err)) < 0)
                                        return error_wrap(err, r, "--security-opt '%s'", v);
                                _cleanup_free_ char *o = xasprintf("seccomp=%s", json_compact(p));
                                json_object_array_add(a, json_object_new_string(o));
                                continue;
                        }
                }
                json_object_array_add(a, json_object_new_string(v));
        }
        *ret = TAKE_PTR(holder);
        return 0;
}

int runflags_host_config(struct json_object *doc, const struct ctr_create_opts *o,
                         struct error *err)
{
        struct ctr_runflags none = {0};
        const struct ctr_runflags *rf = o->runflags ? o->runflags : &none;
        int64_t memory = o->memory;
        struct json_object *hc = jfield(doc, "HostConfig"), *cfg = jfield(doc, "Config");
        int r;
        if (rf->uts_mode && !strcmp(rf->uts_mode, "host")) {
                if (o->hostname)
                        return error_msg(err, -EINVAL,
                                         "conflicting options: --hostname and --uts host");
                char host[256] = "";
                gethostname(host, sizeof(host) - 1);
                add(cfg, "Hostname", json_object_new_string(host));
        }
        if (rf->memory_swap) {
                if (!memory)
                        return error_msg(err, -EINVAL,
                                         "--memory-swap: set --memory too (the swap limit counts "
                                         "memory plus swap)");
                if (rf->memory_swap > 0 && rf->memory_swap < memory)
                        return error_msg(err, -EINVAL,
                                         "--memory-swap %lld: must be at least --memory (%lld): "
                                         "it counts memory plus swap",
                                         (long long)rf->memory_swap, (long long)memory);
        }
        struct json_object *sec = NULL;
        if ((r = security_opts(rf, &sec, err)) < 0)
                return r;
        add(hc, "SecurityOpt", sec);
        if (!rf->privileged && !(rf->security_opt && strv_len(rf->security_opt)) &&
            access(RUNFLAGS_DEFAULT_SECCOMP, R_OK) < 0) {
                _cleanup_json_ struct json_object *p = NULL;
                if ((r = read_profile(RUNFLAGS_DEFAULT_SECCOMP, &p, err)) < 0)
                        return r;
        }
        add(hc, "Privileged", json_object_new_boolean(rf->privileged));
        struct json_object *devs = json_object_new_array();
        add(hc, "Devices", devs);
        for (char **d = rf->devices; d && *d; d++) {
                struct json_object *dev = NULL;
                if ((r = parse_device(*d, &dev, err)) < 0)
                        return r;
                json_object_array_add(devs, dev);
        }
        struct json_object *sys = json_object_new_object();
        add(hc, "Sysctls", sys);
        for (char **s = rf->sysctls; s && *s; s++) {
                if ((r = check_sysctl(*s, rf, err)) < 0)
                        return r;
                const char *eq = strchr(*s, '=');
                _cleanup_free_ char *k = xstrndup(*s, (size_t)(eq - *s));
                add(sys, k, json_object_new_string(eq + 1));
        }
        add(hc, "GroupAdd", str_array(rf->group_add));
        add(hc, "ShmSize", json_object_new_int64(rf->shm_size ? rf->shm_size : 64 << 20));
        add(hc, "MemorySwap", json_object_new_int64(rf->memory_swap));
        add(hc, "CpuShares", json_object_new_int64(rf->cpu_shares));
        add(hc, "CpusetCpus", json_object_new_string(rf->cpuset_cpus ? rf->cpuset_cpus : ""));
        add(hc, "CgroupParent", json_object_new_string(rf->cgroup_parent ? rf->cgroup_parent : ""));
        add(hc, "PidMode", json_object_new_string(rf->pid_mode ? rf->pid_mode : ""));
        add(hc, "IpcMode",
            json_object_new_string(rf->ipc_mode && *rf->ipc_mode ? rf->ipc_mode : "private"));
        add(hc, "UTSMode", json_object_new_string(rf->uts_mode ? rf->uts_mode : ""));
        return 0;
}

static char *oom_marker(struct engine *e, const char *id);

/* ---------------------------------------------------------------- OCI */

static struct json_object *obj_get(struct json_object *o, const char *key)
{
        struct json_object *v = jfield(o, key);
        if (!v) {
                v = json_object_new_object();
                add(o, key, v);
        }
        return v;
}

static char **json_strv(struct json_object *a)
{
        char **v = NULL;
        for (size_t i = 0; a && i < json_object_array_length(a); i++)
                v = strv_push(v, xstrdup(json_object_get_string(json_object_array_get_idx(a, i))));
        return v;
}

/* The other container's init, for container:NAME modes. */
static int target_pid(struct engine *e, const char *flag, const char *mode, pid_t *ret,
                      struct error *err)
{
        struct ctr c = {0};
        int r = engine_lookup(e, mode + 10, &c, err);
        if (r < 0)
                return error_wrap(err, r, "%s '%s'", flag, mode);
        bool running = !strcmp(c.state, "running") && c.pid > 0;
        *ret = c.pid;
        ctr_free(&c);
        if (!running)
                return error_msg(err, -EINVAL, "%s '%s': container %s is not running", flag, mode,
                                 mode + 10);
        return 0;
}

/* Namespace TYPE per MODE: host drops it, container:X joins X's. */
static int apply_ns(struct engine *e, struct json_object *lx, const char *type, const char *flag,
                    const char *mode, struct error *err)
{
        if (!mode || !*mode || !strcmp(mode, "private") || !strcmp(mode, "shareable") ||
            !strcmp(mode, "none"))
                return 0;
        struct json_object *nss = jfield(lx, "namespaces");
        static const char *const procname[][2] = {{"pid", "pid"}, {"ipc", "ipc"}, {"uts", "uts"}};
        const char *pn = type;
        for (size_t i = 0; i < ARRAY_SIZE(procname); i++)
                if (!strcmp(procname[i][0], type))
                        pn = procname[i][1];
        pid_t pid = 0;
        if (str_startswith(mode, "container:")) {
                int r = target_pid(e, flag, mode, &pid, err);
                if (r < 0)
                        return r;
        }
        struct json_object *keep = json_object_new_array();
        for (size_t i = 0; nss && i < json_object_array_length(nss); i++) {
                struct json_object *n = json_object_array_get_idx(nss, i);
                const char *t = jstr(n, "type");
                if (t && !strcmp(t, type)) {
                        if (!pid)
                                continue;
                        _cleanup_free_ char *p = xasprintf("/proc/%d/ns/%s", (int)pid, pn);
                        add(n, "path", json_object_new_string(p));
                }
                json_object_array_add(keep, json_object_get(n));
        }
        add(lx, "namespaces", keep);
        return 0;
}

static struct json_object *find_mount(struct json_object *spec, const char *dest)
{
        struct json_object *mounts = jfield(spec, "mounts");
        for (size_t i = 0; mounts && i < json_object_array_length(mounts); i++) {
                struct json_object *m = json_object_array_get_idx(mounts, i);
                const char *d = jstr(m, "destination");
                if (d && !strcmp(d, dest))
                        return m;
        }
        return NULL;
}

static void drop_option(struct json_object *m, const char *opt)
{
        struct json_object *opts = jfield(m, "options");
        struct json_object *keep = json_object_new_array();
        for (size_t i = 0; opts && i < json_object_array_length(opts); i++) {
                struct json_object *o = json_object_array_get_idx(opts, i);
                if (strcmp(json_object_get_string(o), opt) != 0)
                        json_object_array_add(keep, json_object_get(o));
        }
        add(m, "options", keep);
}

static void set_size_option(struct json_object *m, int64_t size)
{
        struct json_object *opts = jfield(m, "options");
        struct json_object *keep = json_object_new_array();
        for (size_t i = 0; opts && i < json_object_array_length(opts); i++) {
                struct json_object *o = json_object_array_get_idx(opts, i);
                if (!str_startswith(json_object_get_string(o), "size="))
                        json_object_array_add(keep, json_object_get(o));
        }
        _cleanup_free_ char *s = xasprintf("size=%lldk", (long long)((size + 1023) / 1024));
        json_object_array_add(keep, json_object_new_string(s));
        add(m, "options", keep);
}

/* /dev/shm per --ipc: the host's bound for host, else a tmpfs of ShmSize. With
 * container:X the IPC namespace (SysV IPC, mqueue) is X's but /dev/shm is the
 * container's own: a mount of X's mount namespace cannot be bound here. */
static int apply_shm(struct json_object *spec, struct json_object *hc)
{
        struct json_object *m = find_mount(spec, "/dev/shm");
        const char *ipc = jstr(hc, "IpcMode");
        if (!m)
                return 0;
        if (ipc && !strcmp(ipc, "host")) {
                add(m, "type", json_object_new_string("bind"));
                add(m, "source", json_object_new_string("/dev/shm"));
                add(m, "options", str_array((char *[]){"rbind", "rprivate", NULL}));
                return 0;
        }
        struct json_object *v = jfield(hc, "ShmSize");
        if (v && json_object_get_int64(v) > 0)
                set_size_option(m, json_object_get_int64(v));
        return 0;
}

static struct json_object *dev_rule(const char *type, int64_t major, int64_t minor,
                                    const char *access)
{
        struct json_object *d = json_object_new_object();
        add(d, "allow", json_object_new_boolean(true));
        if (type)
                add(d, "type", json_object_new_string(type));
        if (major >= 0)
                add(d, "major", json_object_new_int64(major));
        if (minor >= 0)
                add(d, "minor", json_object_new_int64(minor));
        add(d, "access", json_object_new_string(access));
        return d;
}

static int add_device(struct json_object *lx, const char *host, const char *ctr, const char *perm,
                      bool quiet, struct error *err)
{
        struct stat st;
        if (stat(host, &st) < 0) {
                if (quiet)
                        return 0;
                return error_sys(err, -errno, "--device '%s'", host);
        }
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
                if (quiet)
                        return 0;
                return error_msg(err, -EINVAL, "--device '%s': not a device", host);
        }
        const char *type = S_ISCHR(st.st_mode) ? "c" : "b";
        struct json_object *d = json_object_new_object();
        add(d, "path", json_object_new_string(ctr));
        add(d, "type", json_object_new_string(type));
        add(d, "major", json_object_new_int64(major(st.st_rdev)));
        add(d, "minor", json_object_new_int64(minor(st.st_rdev)));
        add(d, "fileMode", json_object_new_int64(st.st_mode & 07777));
        add(d, "uid", json_object_new_int64(st.st_uid));
        add(d, "gid", json_object_new_int64(st.st_gid));
        struct json_object *devs = jfield(lx, "devices");
        if (!devs) {
                devs = json_object_new_array();
                add(lx, "devices", devs);
        }
        json_object_array_add(devs, d);
        if (perm) {
                struct json_object *res = obj_get(lx, "resources");
                struct json_object *rules = jfield(res, "devices");
                if (!rules) {
                        rules = json_object_new_array();
                        add(res, "devices", rules);
                }
                json_object_array_add(rules,
                                      dev_rule(type, major(st.st_rdev), minor(st.st_rdev), perm));
        }
        return 0;
}

/* Every device node below /dev, as docker's --privileged (not pts, shm, mqueue...). */
static void host_devices(struct json_object *lx, const char *dir)
{
        static const char *const skip[] = {"/dev/pts",  "/dev/shm",     "/dev/mqueue",
                                           "/dev/fd",   "/dev/console", "/dev/ptmx",
                                           "/dev/.lxc", "/dev/.udev",   NULL};
        DIR *d = opendir(dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
                if (strv_contains((char *const *)skip, p))
                        continue;
                struct stat st;
                if (lstat(p, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode))
                        host_devices(lx, p);
                else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
                        add_device(lx, p, p, NULL, true, NULL);
        }
        closedir(d);
}

static int apply_privileged(struct json_object *spec, struct json_object *lx)
{
        struct json_object *caps = jfield(jfield(spec, "process"), "capabilities");
        char **all = NULL;
        /* All that husk itself may hand on (its bounding set can lack some). */
        for (int c = 0; c <= spec_cap_last(); c++)
                if (spec_cap_name(c) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
                        all = strv_push(all, xstrdup(spec_cap_name(c)));
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        for (size_t i = 0; caps && i < ARRAY_SIZE(sets); i++) {
                struct json_object *cur = jfield(caps, sets[i]);
                /* A non-root user keeps empty effective and permitted sets, as docker. */
                if (i > 0 && (!cur || json_object_array_length(cur) == 0))
                        continue;
                add(caps, sets[i], str_array(all));
        }
        strv_free(all);
        json_object_object_del(lx, "maskedPaths");
        json_object_object_del(lx, "readonlyPaths");
        struct json_object *m;
        if ((m = find_mount(spec, "/sys")))
                drop_option(m, "ro");
        if ((m = find_mount(spec, "/sys/fs/cgroup")))
                drop_option(m, "ro");
        host_devices(lx, "/dev");
        struct json_object *res = obj_get(lx, "resources");
        struct json_object *rules = json_object_new_array();
        json_object_array_add(rules, dev_rule(NULL, -1, -1, "rwm"));
        add(res, "devices", rules);
        return 0;
}

/* startproto: the OCI seccomp section made from docker's default profile
 * depends only on the profile file, the bounding capabilities, the kernel
 * and the architecture. Building it (parse ~20 KiB of JSON, filter ~350
 * rules, serialize them again into config.json) cost ~0.7 ms of every
 * start: it is kept as compact JSON in RUNROOT/seccomp-oci/, under a key
 * naming all of these, and goes into the spec as that text. */
static char *default_seccomp_key(char *const *caps)
{
        struct stat st;
        struct utsname u;
        if (stat(RUNFLAGS_DEFAULT_SECCOMP, &st) < 0 || uname(&u) < 0)
                return NULL;
        _cleanup_free_ char *c = caps ? strv_join(caps, ",") : xstrdup("");
        return xasprintf("husk-seccomp-oci 1 %s %llu:%llu:%lld:%lld.%09ld %s %s %s",
                         RUNFLAGS_DEFAULT_SECCOMP, (unsigned long long)st.st_dev,
                         (unsigned long long)st.st_ino, (long long)st.st_size,
                         (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, u.release, u.machine, c);
}

static char *default_seccomp_path(struct engine *e, const char *key)
{
        return xasprintf("%s/seccomp-oci/%016llx.json", e->runroot,
                         (unsigned long long)hash_fnv1a(key, strlen(key)));
}

/* The cached section as a JSON value that prints as the cached text; NULL
 * when there is none for key. */
static struct json_object *default_seccomp_cached(struct engine *e, const char *key)
{
        _cleanup_free_ char *path = default_seccomp_path(e, key), *text = NULL;
        size_t len = 0, klen = strlen(key);
        if (read_file_at(AT_FDCWD, path, 1 << 20, &text, &len) < 0 || len < klen + 3 ||
            memcmp(text, key, klen) != 0 || text[klen] != '\n' || text[klen + 1] != '{' ||
            text[len - 1] != '}')
                return NULL;
        struct json_object *raw = json_object_new_object();
        json_object_set_serializer(raw, json_object_userdata_to_json_string,
                                   xstrdup(text + klen + 1), json_object_free_userdata);
        return raw;
}

static void default_seccomp_store(struct engine *e, const char *key, struct json_object *oci)
{
        _cleanup_free_ char *path = default_seccomp_path(e, key);
        _cleanup_free_ char *text = xasprintf("%s\n%s", key, json_compact(oci));
        char *slash = strrchr(path, '/');
        *slash = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return;
        _cleanup_close_ int dfd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd >= 0)
                write_file_atomic(dfd, slash + 1, text, strlen(text), 0600);
}

static int apply_seccomp(struct engine *e, struct json_object *spec, struct json_object *lx,
                         struct json_object *hc, struct error *err)
{
        struct json_object *sec = jfield(hc, "SecurityOpt");
        const char *custom = NULL;
        bool nnp = false;
        for (size_t i = 0; sec && i < json_object_array_length(sec); i++) {
                const char *o = json_object_get_string(json_object_array_get_idx(sec, i));
                if (str_startswith(o, "seccomp=") || str_startswith(o, "seccomp:"))
                        custom = o + 8;
                else if (!strcmp(o, "no-new-privileges") || !strcmp(o, "no-new-privileges=true") ||
                         !strcmp(o, "no-new-privileges:true"))
                        nnp = true;
                else if (str_startswith(o, "no-new-privileges"))
                        nnp = false;
        }
        add(obj_get(spec, "process"), "noNewPrivileges", json_object_new_boolean(nnp));
        struct json_object *priv = jfield(hc, "Privileged");
        if ((priv && json_object_get_boolean(priv)) || (custom && !strcmp(custom, "unconfined")))
                return 0;
        _cleanup_strv_ char **caps =
            json_strv(jfield(jfield(jfield(spec, "process"), "capabilities"), "bounding"));
        _cleanup_free_ char *key = custom ? NULL : default_seccomp_key(caps); /* startproto */
        struct json_object *cached = key ? default_seccomp_cached(e, key) : NULL;
        if (cached) {
                add(lx, "seccomp", cached);
                return 0;
        }
        _cleanup_json_ struct json_object *profile = NULL;
        int r = custom ? json_parse_string("seccomp profile", custom, &profile, err)
                       : read_profile(RUNFLAGS_DEFAULT_SECCOMP, &profile, err);
        if (r < 0)
                return r;
        struct json_object *oci = NULL;
        if ((r = runflags_seccomp(profile, custom ? "(--security-opt)" : RUNFLAGS_DEFAULT_SECCOMP,
                                  caps, &oci, err)) < 0)
                return r;
        if (key)
                default_seccomp_store(e, key, oci);
        add(lx, "seccomp", oci);
        return 0;
}

static int apply_resources(struct json_object *lx, struct json_object *hc, const char *id)
{
        struct json_object *res = obj_get(lx, "resources");
        struct json_object *v;
        int64_t mem = (v = jfield(hc, "Memory")) ? json_object_get_int64(v) : 0;
        int64_t swap = (v = jfield(hc, "MemorySwap")) ? json_object_get_int64(v) : 0;
        if (mem > 0 && swap)
                add(obj_get(res, "memory"), "swap", json_object_new_int64(swap));
        int64_t shares = (v = jfield(hc, "CpuShares")) ? json_object_get_int64(v) : 0;
        if (shares > 0)
                add(obj_get(res, "cpu"), "shares", json_object_new_uint64((uint64_t)shares));
        const char *cpus = jstr(hc, "CpusetCpus");
        if (cpus && *cpus)
                add(obj_get(res, "cpu"), "cpus", json_object_new_string(cpus));
        const char *parent = jstr(hc, "CgroupParent");
        if (parent && *parent) {
                size_t n = strlen(parent);
                _cleanup_free_ char *p =
                    xasprintf("%.*s/husk-%s", (int)(parent[n - 1] == '/' ? n - 1 : n), parent, id);
                add(lx, "cgroupsPath", json_object_new_string(p));
        }
        return 0;
}

static int apply_groups(struct json_object *spec, struct json_object *hc, int rootfd,
                        struct error *err)
{
        struct json_object *groups = jfield(hc, "GroupAdd");
        if (!groups || !json_object_array_length(groups))
                return 0;
        struct json_object *user = obj_get(obj_get(spec, "process"), "user");
        struct json_object *gids = json_object_new_array();
        add(user, "additionalGids", gids);
        for (size_t i = 0; i < json_object_array_length(groups); i++) {
                const char *g = json_object_get_string(json_object_array_get_idx(groups, i));
                _cleanup_free_ char *spec_ug = xasprintf("0:%s", g);
                uint32_t uid, gid;
                int r = ctr_resolve_user(rootfd, spec_ug, &uid, &gid, NULL, err);
                if (r < 0)
                        return error_wrap(err, r, "--group-add '%s'", g);
                json_object_array_add(gids, json_object_new_int64(gid));
        }
        return 0;
}

/* --sysctl: after the namespaces are settled (net.* needs a network namespace of its own). */
static int apply_sysctls(struct json_object *lx, struct json_object *hc, struct error *err)
{
        struct json_object *sys = jfield(hc, "Sysctls");
        if (!sys || !json_object_object_length(sys))
                return 0;
        bool own_net = false;
        struct json_object *nss = jfield(lx, "namespaces");
        for (size_t i = 0; nss && i < json_object_array_length(nss); i++) {
                struct json_object *n = json_object_array_get_idx(nss, i);
                const char *t = jstr(n, "type");
                if (t && !strcmp(t, "network") && !jfield(n, "path"))
                        own_net = true;
        }
        struct json_object *out = obj_get(lx, "sysctl");
        json_object_object_foreach(sys, k, v)
        {
                if (str_startswith(k, "net.") && !own_net)
                        return error_msg(err, -EINVAL,
                                         "--sysctl '%s': net.* sysctls need a network namespace "
                                         "of the container's own",
                                         k);
                add(out, k, json_object_get(v));
        }
        return 0;
}

int runflags_oci(struct engine *e, struct json_object *hc, int rootfd, struct json_object *spec,
                 struct error *err)
{
        struct json_object *lx = obj_get(spec, "linux");
        struct json_object *priv = jfield(hc, "Privileged");
        int r;
        if (priv && json_object_get_boolean(priv) && (r = apply_privileged(spec, lx)) < 0)
                return r;
        struct json_object *devs = jfield(hc, "Devices");
        for (size_t i = 0; devs && i < json_object_array_length(devs); i++) {
                struct json_object *d = json_object_array_get_idx(devs, i);
                if ((r = add_device(lx, jstr(d, "PathOnHost"), jstr(d, "PathInContainer"),
                                    jstr(d, "CgroupPermissions"), false, err)) < 0)
                        return r;
        }
        if ((r = apply_seccomp(e, spec, lx, hc, err)) < 0 ||
            (r = apply_ns(e, lx, "pid", "--pid", jstr(hc, "PidMode"), err)) < 0 ||
            (r = apply_ns(e, lx, "ipc", "--ipc", jstr(hc, "IpcMode"), err)) < 0 ||
            (r = apply_ns(e, lx, "uts", "--uts", jstr(hc, "UTSMode"), err)) < 0 ||
            (r = apply_shm(spec, hc)) < 0 || (r = apply_groups(spec, hc, rootfd, err)) < 0 ||
            (r = apply_sysctls(lx, hc, err)) < 0)
                return r;
        const char *uts = jstr(hc, "UTSMode");
        if (uts && !strcmp(uts, "host"))
                json_object_object_del(spec, "hostname");
        const char *cg = jstr(lx, "cgroupsPath");
        const char *id = cg && str_startswith(cg, "husk-") ? cg + 5 : "";
        _cleanup_free_ char *idc = xstrdup(id);
        /* A new run: the last one's OOM kill is history. */
        _cleanup_free_ char *marker = oom_marker(e, idc);
        unlink(marker);
        /* gaps: /dev/shm of --ipc shareable|container:X|none (ipc-shm.c) */
        if ((r = ipc_shm_apply(e, idc, hc, spec, err)) < 0)
                return r;
        return apply_resources(lx, hc, idc);
}

bool runflags_doc_joins_pid_ns(struct json_object *doc)
{
        const char *pid = jstr(jfield(doc, "HostConfig"), "PidMode");
        return pid && *pid;
}

bool runflags_joins_pid_ns(struct engine *e, const char *id)
{
        struct ctr c = {0};
        struct error ign = {0};
        _cleanup_json_ struct json_object *doc = NULL;
        bool joins = ctr_get(e->store->db, id, &c, &ign) == 0 &&
                     json_parse_string("config", c.config, &doc, &ign) == 0 &&
                     runflags_doc_joins_pid_ns(doc);
        ctr_free(&c);
        return joins;
}

/* ---------------------------------------------------------------- OOM kills */

static char *oom_marker(struct engine *e, const char *id)
{
        _cleanup_free_ char *dir = engine_ctr_dir(e, id);
        return xasprintf("%s/oom-killed", dir);
}

/* The oom_kill counter of the memory cgroup among dirs (v1 memory.oom_control,
 * v2 memory.events); 0 when none is found. */
static uint64_t oom_kills(char *const *dirs)
{
        static const char *const files[] = {"memory.oom_control", "memory.events"};
        for (size_t i = 0; dirs && dirs[i]; i++)
                for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
                        _cleanup_free_ char *p = xasprintf("%s/%s", dirs[i], files[f]);
                        _cleanup_free_ char *text = NULL;
                        if (read_file_at(AT_FDCWD, p, 0, &text, NULL) < 0)
                                continue;
                        const char *k = strstr(text, "oom_kill ");
                        while (k && k != text && k[-1] != '\n')
                                k = strstr(k + 1, "oom_kill ");
                        return k ? strtoull(k + 9, NULL, 10) : 0;
                }
        return 0;
}

void runflags_record_oom(struct engine *e, const char *id)
{
        _cleanup_free_ char *marker = oom_marker(e, id);
        struct error ign = {0};
        _cleanup_close_ int rootfd = -EBADF;
        _cleanup_(state_freep) struct container_state *st = NULL;
        _cleanup_strv_ char **ext = NULL; /* extruntime: an external runtime's cgroup */
        if (extrt_cgroup_dirs(e, id, &ext) < 0 && (state_open_root(e->rt_root, &rootfd, &ign) < 0 ||
                                                   state_load(rootfd, id, false, &st, &ign) < 0))
                return;
        uint64_t kills = oom_kills(ext ? ext : st->cgroup_dirs);
        if (kills > 0) {
                int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        dprintf(fd, "%llu\n", (unsigned long long)kills);
                        close(fd);
                }
        }
}

bool runflags_oom_killed(struct engine *e, const char *id)
{
        _cleanup_free_ char *marker = oom_marker(e, id);
        return access(marker, F_OK) == 0;
}
