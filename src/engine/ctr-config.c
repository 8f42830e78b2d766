#include "engine/ctr-config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/safepath.h"
#include "core/util.h"
#include "engine/logdrv.h"
#include "engine/runflags.h" /* runflags */
#include "engine/volume.h"   /* volumes branch */
#include "runtime/spec.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void add(struct json_object *o, const char *key, struct json_object *v)
{
        json_object_object_add(o, key, v);
}

static struct json_object *str_array(char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static char **strv_from_json(struct json_object *a)
{
        char **v = NULL;
        if (!a || !json_object_is_type(a, json_type_array))
                return NULL;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                struct json_object *s = json_object_array_get_idx(a, i);
                if (json_object_is_type(s, json_type_string))
                        v = strv_push(v, xstrdup(json_object_get_string(s)));
        }
        return v;
}

static const char *jstr(struct json_object *o, const char *key)
{
        struct json_object *v;
        if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
                return json_object_get_string(v);
        return NULL;
}

static struct json_object *jfield(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;
        if (o && json_object_object_get_ex(o, key, &v) && !json_object_is_type(v, json_type_null))
                return v;
        return NULL;
}

int ctr_parse_bytes(const char *s, int64_t *ret)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || v < 0)
                return -EINVAL;
        int64_t mult = 1;
        char u = (char)tolower((unsigned char)*end);
        if (u) {
                switch (u) {
                case 'b':
                        break;
                case 'k':
                        mult = 1024;
                        break;
                case 'm':
                        mult = 1024 * 1024;
                        break;
                case 'g':
                        mult = 1024LL * 1024 * 1024;
                        break;
                case 't':
                        mult = 1024LL * 1024 * 1024 * 1024;
                        break;
                default:
                        return -EINVAL;
                }
                end++;
                if (u != 'b' && tolower((unsigned char)*end) == 'b')
                        end++;
                if (u != 'b' && tolower((unsigned char)*end) == 'i' &&
                    tolower((unsigned char)end[1]) == 'b')
                        end += 2;
        }
        if (*end)
                return -EINVAL;
        double bytes = v * (double)mult;
        if (bytes > 9.2e18)
                return -ERANGE;
        *ret = (int64_t)bytes;
        return 0;
}

int ctr_parse_cpus(const char *s, int64_t *ret)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || *end || errno || !(v > 0) || v > 1e6)
                return -EINVAL;
        *ret = (int64_t)(v * 1e9 + 0.5);
        return 0;
}

/* K=V, or K alone: the value from husk's environment (dropped when unset), as docker. */
static char **env_merge(char **env, const char *kv)
{
        const char *eq = strchr(kv, '=');
        _cleanup_free_ char *owned = NULL;
        if (!eq) {
                const char *v = getenv(kv);
                if (!v)
                        return env;
                owned = xasprintf("%s=%s", kv, v);
                kv = owned;
                eq = strchr(kv, '=');
        }
        size_t klen = (size_t)(eq - kv) + 1;
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], kv, klen) == 0) {
                        free(env[i]);
                        env[i] = xstrdup(kv);
                        return env;
                }
        return strv_push(env, xstrdup(kv));
}

static bool env_has(char *const *env, const char *key)
{
        size_t k = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, k) == 0 && env[i][k] == '=')
                        return true;
        return false;
}

/* HOST:CTR[:ro|rw] into a Binds entry with an absolute host path. */
static int parse_volume(const char *spec, char **ret_bind, struct error *err)
{
        _cleanup_free_ char *copy = xstrdup(spec);
        char *ctr = strchr(copy, ':');
        if (!ctr || ctr == copy)
                return error_msg(err, -EINVAL,
                                 "volume '%s': want HOST-PATH:CONTAINER-PATH[:ro] (named volumes "
                                 "are not supported yet)",
                                 spec);
        *ctr++ = '\0';
        char *mode = strchr(ctr, ':');
        if (mode)
                *mode++ = '\0';
        if (mode && strcmp(mode, "ro") && strcmp(mode, "rw"))
                return error_msg(err, -EINVAL, "volume '%s': unknown mode '%s' (want ro or rw)",
                                 spec, mode);
        if (ctr[0] != '/')
                return error_msg(err, -EINVAL,
                                 "volume '%s': the container path '%s' is not absolute", spec, ctr);
        if (copy[0] != '/' && copy[0] != '.')
                return error_msg(err, -EINVAL,
                                 "volume '%s': '%s' is not a host path (named volumes are not "
                                 "supported yet); use an absolute or ./relative path",
                                 spec, copy);
        char host[PATH_MAX];
        if (!realpath(copy, host))
                return error_sys(err, -errno, "volume '%s': bind source path '%s'", spec, copy);
        *ret_bind = xasprintf("%s:%s%s%s", host, ctr, mode ? ":" : "", mode ? mode : "");
        return 0;
}

/* "chown", "CAP_CHOWN" -> "CAP_CHOWN"; "ALL" stays; NULL when unknown. */
static char *cap_name(const char *s)
{
        if (strcasecmp(s, "ALL") == 0)
                return xstrdup("ALL");
        _cleanup_free_ char *n =
            strncasecmp(s, "CAP_", 4) == 0 ? xstrdup(s) : xasprintf("CAP_%s", s);
        for (char *p = n; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        if (spec_cap_from_name(n) < 0)
                return NULL;
        return TAKE_PTR(n);
}

static const char *const ulimit_names[] = {
    "core",  "cpu", "data",   "fsize",  "locks",      "memlock", "msgqueue", "nice", "nofile",
    "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",   "as",       NULL,
};

/* NAME=SOFT[:HARD] into {"Name", "Soft", "Hard"}. */
static int parse_ulimit(const char *spec, struct json_object **ret, struct error *err)
{
        const char *eq = strchr(spec, '=');
        _cleanup_free_ char *name = eq ? xstrndup(spec, (size_t)(eq - spec)) : NULL;
        if (!name || !strv_contains((char *const *)ulimit_names, name))
                return error_msg(err, -EINVAL,
                                 "ulimit '%s': want NAME=SOFT[:HARD] with NAME one of nofile, "
                                 "nproc, core, memlock, stack, ...",
                                 spec);
        _cleanup_free_ char *soft = xstrdup(eq + 1);
        char *hard = strchr(soft, ':');
        if (hard)
                *hard++ = '\0';
        int64_t s, h;
        if (parse_i64(soft, &s) < 0 || (hard && parse_i64(hard, &h) < 0) || s < -1)
                return error_msg(err, -EINVAL, "ulimit '%s': the limits must be numbers", spec);
        if (!hard)
                h = s;
        if (s >= 0 && h >= 0 && s > h)
                return error_msg(err, -EINVAL, "ulimit '%s': soft limit above the hard limit",
                                 spec);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "Name", json_object_new_string(name));
        json_object_object_add(o, "Soft", json_object_new_int64(s));
        json_object_object_add(o, "Hard", json_object_new_int64(h));
        *ret = o;
        return 0;
}

static int cap_list(char *const *in, const char *what, struct json_object **ret, struct error *err)
{
        struct json_object *a = json_object_new_array();
        for (char *const *c = in; c && *c; c++) {
                char *n = cap_name(*c);
                if (!n) {
                        json_object_put(a);
                        return error_msg(err, -EINVAL, "%s '%s': unknown capability", what, *c);
                }
                json_object_array_add(a, json_object_new_string(n));
                free(n);
        }
        *ret = a;
        return 0;
}

const char *ctr_init_binary(void)
{
        static const char *const candidates[] = {
            "/usr/bin/catatonit",
            "/usr/libexec/podman/catatonit",
            "/usr/bin/tini-static",
        };
        for (size_t i = 0; i < ARRAY_SIZE(candidates); i++)
                if (access(candidates[i], X_OK) == 0)
                        return candidates[i];
        return NULL;
}

int ctr_config_make(struct json_object *image_cfg, const struct ctr_create_opts *o, const char *id,
                    const char *image_name, struct json_object **ret, struct error *err)
{
        _cleanup_strv_ char **env = strv_from_json(jfield(image_cfg, "Env"));
        if (!env_has(env, "PATH"))
                env = strv_push(env, xstrdup(DEFAULT_PATH));
        for (char *const *e = o->env; e && *e; e++) {
                if (!**e || **e == '=')
                        return error_msg(err, -EINVAL, "env '%s': no variable name", *e);
                env = env_merge(env, *e);
        }
        _cleanup_strv_ char **entry = NULL, **cmd = NULL;
        if (o->has_entrypoint) {
                if (o->entrypoint && o->entrypoint[0] && o->entrypoint[0][0])
                        entry = strv_copy(o->entrypoint);
        } else {
                entry = strv_from_json(jfield(image_cfg, "Entrypoint"));
        }
        if (o->cmd && o->cmd[0])
                cmd = strv_copy(o->cmd);
        else if (!o->has_entrypoint)
                cmd = strv_from_json(jfield(image_cfg, "Cmd"));
        if (!entry && !cmd)
                return error_msg(err, -EINVAL,
                                 "no command specified: the image has no Cmd or "
                                 "Entrypoint; give one after the image name");
        _cleanup_strv_ char **binds = NULL;
        for (char *const *v = o->volumes; v && *v; v++) {
                if (volume_spec_is_volume(*v)) /* volumes branch: named/anonymous */
                        continue;
                char *b = NULL;
                int r = parse_volume(*v, &b, err);
                if (r < 0)
                        return r;
                binds = strv_push(binds, b);
        }
        struct json_object *labels = json_object_new_object();
        struct json_object *cfg = json_object_new_object();
        struct json_object *doc = json_object_new_object();
        _cleanup_json_ struct json_object *holder = doc;
        add(doc, "Config", cfg);
        for (char *const *l = o->labels; l && *l; l++) {
                const char *eq = strchr(*l, '=');
                _cleanup_free_ char *k = eq ? xstrndup(*l, (size_t)(eq - *l)) : xstrdup(*l);
                if (!*k) {
                        json_object_put(labels);
                        return error_msg(err, -EINVAL, "label '%s': no key", *l);
                }
                add(labels, k, json_object_new_string(eq ? eq + 1 : ""));
        }
        char short_id[13];
        snprintf(short_id, sizeof(short_id), "%.12s", id);
        const char *wd = o->workdir ? o->workdir : jstr(image_cfg, "WorkingDir");
        if (o->workdir && o->workdir[0] != '/')
                return error_msg(err, -EINVAL, "workdir '%s': the path must be absolute",
                                 o->workdir);
        const char *user = o->user ? o->user : jstr(image_cfg, "User");
        const char *stop = o->stop_signal ? o->stop_signal : jstr(image_cfg, "StopSignal");
        if (stop && engine_parse_signal(stop) < 0)
                return error_msg(err, -EINVAL, "stop signal '%s': unknown signal", stop);
        add(cfg, "Hostname", json_object_new_string(o->hostname ? o->hostname : short_id));
        add(cfg, "User", json_object_new_string(user ? user : ""));
        add(cfg, "AttachStdin", json_object_new_boolean(o->interactive));
        add(cfg, "Tty", json_object_new_boolean(o->tty));
        add(cfg, "OpenStdin", json_object_new_boolean(o->interactive));
        add(cfg, "StdinOnce", json_object_new_boolean(o->interactive && o->stdin_once));
        add(cfg, "Env", str_array(env));
        add(cfg, "Cmd", cmd ? str_array(cmd) : NULL);
        add(cfg, "Image", json_object_new_string(image_name));
        add(cfg, "WorkingDir", json_object_new_string(wd ? wd : ""));
        add(cfg, "Entrypoint", entry ? str_array(entry) : NULL);
        add(cfg, "Labels", labels);
        add(cfg, "StopSignal", json_object_new_string(stop ? stop : "SIGTERM"));
        if (o->has_stop_timeout) /* as docker: only when given */
                add(cfg, "StopTimeout", json_object_new_int(o->stop_timeout));
        struct json_object *hc = json_object_new_object();
        add(doc, "HostConfig", hc);
        add(hc, "Binds", str_array(binds));
        add(hc, "NetworkMode", json_object_new_string("none"));
        add(hc, "AutoRemove", json_object_new_boolean(o->auto_remove));
        /* monitor2: the restart policy the monitor applies */
        struct json_object *rp = json_object_new_object();
        add(rp, "Name", json_object_new_string(o->restart_name ? o->restart_name : "no"));
        add(rp, "MaximumRetryCount", json_object_new_int(o->restart_max));
        add(hc, "RestartPolicy", rp);
        struct json_object *lc = NULL; /* monitor2: the log driver */
        int lr = logdrv_make_config(o->log_driver, o->log_opts, &lc, err);
        if (lr < 0)
                return lr;
        add(hc, "LogConfig", lc);
        add(hc, "Memory", json_object_new_int64(o->memory));
        add(hc, "NanoCpus", json_object_new_int64(o->nano_cpus));
        add(hc, "PidsLimit", json_object_new_int64(o->pids_limit));
        add(hc, "ReadonlyRootfs", json_object_new_boolean(o->read_only));
        if (o->init && !ctr_init_binary())
                return error_msg(err, -ENOENT,
                                 "--init: no catatonit or tini-static on this host (apt-get "
                                 "install catatonit)");
        add(hc, "Init", json_object_new_boolean(o->init));
        struct json_object *a = NULL;
        int r = cap_list(o->cap_add, "--cap-add", &a, err);
        if (r < 0)
                return r;
        add(hc, "CapAdd", a);
        if ((r = cap_list(o->cap_drop, "--cap-drop", &a, err)) < 0)
                return r;
        add(hc, "CapDrop", a);
        struct json_object *tmpfs = json_object_new_object();
        add(hc, "Tmpfs", tmpfs);
        for (char *const *t = o->tmpfs; t && *t; t++) {
                const char *colon = strchr(*t, ':');
                _cleanup_free_ char *path =
                    colon ? xstrndup(*t, (size_t)(colon - *t)) : xstrdup(*t);
                if (path[0] != '/')
                        return error_msg(err, -EINVAL, "tmpfs '%s': the path must be absolute", *t);
                add(tmpfs, path, json_object_new_string(colon ? colon + 1 : ""));
        }
        struct json_object *ul = json_object_new_array();
        add(hc, "Ulimits", ul);
        for (char *const *u = o->ulimits; u && *u; u++) {
                struct json_object *one = NULL;
                if ((r = parse_ulimit(*u, &one, err)) < 0)
                        return r;
                json_object_array_add(ul, one);
        }
        /* runflags: --privileged, --security-opt, --device, --sysctl ... */
        if ((r = runflags_host_config(doc, o, err)) < 0)
                return r;
        /* volumes branch: named/anonymous -v and --mount */
        if ((r = volume_config(o->volumes, o->mounts, jfield(image_cfg, "Volumes"), doc, err)) < 0)
                return r;
        *ret = TAKE_PTR(holder);
        return 0;
}

/* ---------------------------------------------------------------- OCI config */

static const char *const default_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

static const char *const masked_paths[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    NULL,
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* Docker's default set, plus CapAdd, minus CapDrop ("ALL" in either). */
static char **effective_caps(struct json_object *hc)
{
        char **set = NULL;
        bool all_add = false, all_drop = false;
        struct json_object *add_l = jfield(hc, "CapAdd"), *drop_l = jfield(hc, "CapDrop");
        for (size_t i = 0; add_l && i < json_object_array_length(add_l); i++)
                all_add |=
                    !strcmp(json_object_get_string(json_object_array_get_idx(add_l, i)), "ALL");
        for (size_t i = 0; drop_l && i < json_object_array_length(drop_l); i++)
                all_drop |=
                    !strcmp(json_object_get_string(json_object_array_get_idx(drop_l, i)), "ALL");
        if (all_add) {
                for (int c = 0; c <= spec_cap_last(); c++)
                        if (spec_cap_name(c))
                                set = strv_push(set, xstrdup(spec_cap_name(c)));
        } else if (!all_drop) {
                for (size_t i = 0; default_caps[i]; i++)
                        set = strv_push(set, xstrdup(default_caps[i]));
        }
        for (size_t i = 0; !all_add && add_l && i < json_object_array_length(add_l); i++) {
                const char *c = json_object_get_string(json_object_array_get_idx(add_l, i));
                if (!strv_contains(set, c))
                        set = strv_push(set, xstrdup(c));
        }
        for (size_t i = 0; !all_drop && drop_l && i < json_object_array_length(drop_l); i++) {
                const char *c = json_object_get_string(json_object_array_get_idx(drop_l, i));
                size_t o = 0;
                for (size_t j = 0; set && set[j]; j++) {
                        if (strcmp(set[j], c) == 0)
                                free(set[j]);
                        else
                                set[o++] = set[j];
                }
                if (set)
                        set[o] = NULL;
        }
        return set;
}

static struct json_object *mount(const char *dest, const char *type, const char *source,
                                 const char *const *options)
{
        struct json_object *m = json_object_new_object();
        add(m, "destination", json_object_new_string(dest));
        add(m, "type", json_object_new_string(type));
        add(m, "source", json_object_new_string(source));
        add(m, "options", str_array((char *const *)options));
        return m;
}

static struct json_object *default_mounts(void)
{
        static const char *const proc[] = {"nosuid", "noexec", "nodev", NULL};
        static const char *const dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
        static const char *const devpts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                             "mode=0620", "gid=5",  NULL};
        static const char *const sys[] = {"nosuid", "noexec", "nodev", "ro", NULL};
        static const char *const cgroup[] = {"ro", "nosuid", "noexec", "nodev", NULL};
        static const char *const mqueue[] = {"nosuid", "noexec", "nodev", NULL};
        static const char *const shm[] = {"nosuid",    "noexec",      "nodev",
                                          "mode=1777", "size=65536k", NULL};
        struct json_object *a = json_object_new_array();
        json_object_array_add(a, mount("/proc", "proc", "proc", proc));
        json_object_array_add(a, mount("/dev", "tmpfs", "tmpfs", dev));
        json_object_array_add(a, mount("/dev/pts", "devpts", "devpts", devpts));
        json_object_array_add(a, mount("/sys", "sysfs", "sysfs", sys));
        json_object_array_add(a, mount("/sys/fs/cgroup", "cgroup", "cgroup", cgroup));
        json_object_array_add(a, mount("/dev/mqueue", "mqueue", "mqueue", mqueue));
        json_object_array_add(a, mount("/dev/shm", "tmpfs", "shm", shm));
        return a;
}

/* Finds NAME or ID in field 0 / 2 of a passwd or group file; returns 1 when found. */
static int lookup_db(int rootfd, const char *file, const char *what, uint32_t *ret_id,
                     uint32_t *ret_gid, char **ret_home)
{
        _cleanup_close_ int fd = -EBADF;
        if (safe_open(rootfd, file, O_RDONLY, 0, &fd) < 0)
                return 0;
        _cleanup_free_ char *text = NULL;
        char procpath[32];
        if (read_file_at(AT_FDCWD, fd_proc_path(fd, procpath), 0, &text, NULL) < 0)
                return 0;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[7] = {0};
                int n = 0;
                for (char *p = line; n < 7; n++) {
                        f[n] = p;
                        char *c = strchr(p, ':');
                        if (!c)
                                break;
                        *c = '\0';
                        p = c + 1;
                }
                if (!f[2] || strcmp(f[0], what) != 0)
                        continue;
                uint64_t id;
                if (parse_u64(f[2], &id) < 0 || id > UINT32_MAX)
                        continue;
                *ret_id = (uint32_t)id;
                uint64_t gid;
                if (ret_gid && f[3] && parse_u64(f[3], &gid) == 0 && gid <= UINT32_MAX)
                        *ret_gid = (uint32_t)gid;
                if (ret_home && f[5])
                        *ret_home = xstrdup(f[5]);
                return 1;
        }
        return 0;
}

int ctr_resolve_user(int rootfd, const char *spec, uint32_t *ret_uid, uint32_t *ret_gid,
                     char **ret_home, struct error *err)
{
        _cleanup_free_ char *copy = xstrdup(spec && *spec ? spec : "0");
        char *group = strchr(copy, ':');
        if (group)
                *group++ = '\0';
        uint64_t n;
        uint32_t uid = 0, gid = 0;
        if (parse_u64(copy, &n) == 0 && n <= UINT32_MAX) {
                uid = (uint32_t)n;
        } else if (!lookup_db(rootfd, "/etc/passwd", copy, &uid, &gid, ret_home)) {
                return error_msg(err, -ENOENT,
                                 "unable to find user %s: no matching entries in passwd file",
                                 copy);
        }
        if (group) {
                if (parse_u64(group, &n) == 0 && n <= UINT32_MAX)
                        gid = (uint32_t)n;
                else if (!lookup_db(rootfd, "/etc/group", group, &gid, NULL, NULL))
                        return error_msg(err, -ENOENT,
                                         "unable to find group %s: no matching entries in group "
                                         "file",
                                         group);
        }
        *ret_uid = uid;
        *ret_gid = gid;
        return 0;
}

static struct json_object *bind_mount(const char *dest, const char *src, bool ro)
{
        struct json_object *m = json_object_new_object();
        add(m, "destination", json_object_new_string(dest));
        add(m, "type", json_object_new_string("bind"));
        add(m, "source", json_object_new_string(src));
        struct json_object *opts = json_object_new_array();
        json_object_array_add(opts, json_object_new_string("rbind"));
        json_object_array_add(opts, json_object_new_string("rprivate"));
        if (ro)
                json_object_array_add(opts, json_object_new_string("ro"));
        add(m, "options", opts);
        return m;
}

static struct json_object *resources(struct json_object *hc)
{
        struct json_object *res = json_object_new_object();
        struct json_object *v;
        int64_t mem = (v = jfield(hc, "Memory")) ? json_object_get_int64(v) : 0;
        int64_t pids = (v = jfield(hc, "PidsLimit")) ? json_object_get_int64(v) : 0;
        int64_t ncpu = (v = jfield(hc, "NanoCpus")) ? json_object_get_int64(v) : 0;
        if (mem > 0) {
                struct json_object *m = json_object_new_object();
                add(m, "limit", json_object_new_int64(mem));
                add(res, "memory", m);
        }
        if (pids > 0) {
                struct json_object *p = json_object_new_object();
                add(p, "limit", json_object_new_int64(pids));
                add(res, "pids", p);
        }
        if (ncpu > 0) {
                struct json_object *c = json_object_new_object();
                add(c, "period", json_object_new_int64(100000));
                add(c, "quota", json_object_new_int64(ncpu / 10000));
                add(res, "cpu", c);
        }
        return res;
}

int ctr_oci_spec(struct json_object *doc, const char *id, int rootfd, const char *rootfs,
                 const char *ctr_dir, struct json_object **ret, struct error *err)
{
        struct json_object *cfg = jfield(doc, "Config"), *hc = jfield(doc, "HostConfig");
        _cleanup_strv_ char **args = strv_from_json(jfield(cfg, "Entrypoint"));
        _cleanup_strv_ char **cmd = strv_from_json(jfield(cfg, "Cmd"));
        for (char **c = cmd; c && *c; c++)
                args = strv_push(args, xstrdup(*c));
        if (!args)
                return error_msg(err, -EINVAL, "container '%.12s' has no command", id);
        struct json_object *init = jfield(hc, "Init");
        const char *init_bin = NULL;
        if (init && json_object_get_boolean(init)) {
                init_bin = ctr_init_binary();
                if (!init_bin)
                        return error_msg(err, -ENOENT,
                                         "--init: no catatonit or tini-static on this host");
                /* The init reaps and forwards signals to the command, as docker-init. */
                char **with = strv_push(NULL, xstrdup("/dev/init"));
                with = strv_push(with, xstrdup("--"));
                for (char **a = args; *a; a++)
                        with = strv_push(with, xstrdup(*a));
                strv_free(args);
                args = with;
        }
        uint32_t uid = 0, gid = 0;
        _cleanup_free_ char *home = NULL;
        int r = ctr_resolve_user(rootfd, jstr(cfg, "User"), &uid, &gid, &home, err);
        if (r < 0)
                return r;
        _cleanup_strv_ char **env = strv_from_json(jfield(cfg, "Env"));
        const char *hostname = jstr(cfg, "Hostname");
        if (!env_has(env, "HOSTNAME") && hostname) {
                _cleanup_free_ char *h = xasprintf("HOSTNAME=%s", hostname);
                env = env_merge(env, h);
        }
        if (!env_has(env, "HOME")) {
                _cleanup_free_ char *h = xasprintf("HOME=%s", home && *home ? home
                                                              : uid == 0    ? "/root"
                                                                            : "/");
                env = env_merge(env, h);
        }
        const char *wd = jstr(cfg, "WorkingDir");

        _cleanup_json_ struct json_object *s = json_object_new_object();
        add(s, "ociVersion", json_object_new_string("1.2.0"));
        struct json_object *p = json_object_new_object();
        add(s, "process", p);
        struct json_object *tty = jfield(cfg, "Tty");
        add(p, "terminal", json_object_new_boolean(tty && json_object_get_boolean(tty)));
        struct json_object *user = json_object_new_object();
        add(user, "uid", json_object_new_int64(uid));
        add(user, "gid", json_object_new_int64(gid));
        add(p, "user", user);
        add(p, "args", str_array(args));
        add(p, "env", str_array(env));
        add(p, "cwd", json_object_new_string(wd && *wd ? wd : "/"));
        _cleanup_strv_ char **capset = effective_caps(hc);
        struct json_object *caps = json_object_new_object();
        add(caps, "bounding", str_array(capset));
        /* As docker: a non-root user starts with no effective capabilities. */
        add(caps, "effective", str_array(uid == 0 ? capset : NULL));
        add(caps, "permitted", str_array(uid == 0 ? capset : NULL));
        add(p, "capabilities", caps);
        struct json_object *ulimits = jfield(hc, "Ulimits");
        if (ulimits && json_object_array_length(ulimits) > 0) {
                /* Only what the user asked for: the rest is inherited, never above the host's. */
                struct json_object *rl = json_object_new_array();
                for (size_t i = 0; i < json_object_array_length(ulimits); i++) {
                        struct json_object *u = json_object_array_get_idx(ulimits, i);
                        _cleanup_free_ char *type = xasprintf("RLIMIT_%s", jstr(u, "Name"));
                        for (char *c = type; *c; c++)
                                *c = (char)toupper((unsigned char)*c);
                        struct json_object *o = json_object_new_object();
                        add(o, "type", json_object_new_string(type));
                        int64_t sv = json_object_get_int64(jfield(u, "Soft"));
                        int64_t hv = json_object_get_int64(jfield(u, "Hard"));
                        add(o, "soft", json_object_new_uint64(sv < 0 ? UINT64_MAX : (uint64_t)sv));
                        add(o, "hard", json_object_new_uint64(hv < 0 ? UINT64_MAX : (uint64_t)hv));
                        json_object_array_add(rl, o);
                }
                add(p, "rlimits", rl);
        }
        add(p, "noNewPrivileges", json_object_new_boolean(false));

        struct json_object *root = json_object_new_object();
        add(root, "path", json_object_new_string(rootfs));
        struct json_object *ro = jfield(hc, "ReadonlyRootfs");
        add(root, "readonly", json_object_new_boolean(ro && json_object_get_boolean(ro)));
        add(s, "root", root);
        add(s, "hostname", json_object_new_string(hostname ? hostname : ""));

        struct json_object *mounts = default_mounts();
        _cleanup_free_ char *hostname_file = xasprintf("%s/hostname", ctr_dir);
        _cleanup_free_ char *hosts_file = xasprintf("%s/hosts", ctr_dir);
        json_object_array_add(mounts, bind_mount("/etc/hostname", hostname_file, false));
        json_object_array_add(mounts, bind_mount("/etc/hosts", hosts_file, false));
        if (init_bin)
                json_object_array_add(mounts, bind_mount("/dev/init", init_bin, true));
        struct json_object *binds = jfield(hc, "Binds");
        for (size_t i = 0; binds && i < json_object_array_length(binds); i++) {
                _cleanup_free_ char *b =
                    xstrdup(json_object_get_string(json_object_array_get_idx(binds, i)));
                char *dest = strchr(b, ':');
                if (!dest)
                        continue;
                *dest++ = '\0';
                if (b[0] != '/') /* volumes branch: a named volume, added below */
                        continue;
                char *mode = strchr(dest, ':');
                if (mode)
                        *mode++ = '\0';
                json_object_array_add(mounts, bind_mount(dest, b, mode && !strcmp(mode, "ro")));
        }
        struct json_object *tmpfs = jfield(hc, "Tmpfs");
        if (tmpfs) {
                json_object_object_foreach(tmpfs, dest, optv)
                {
                        /* Docker's tmpfs defaults, then the user's options. */
                        struct json_object *m = json_object_new_object();
                        add(m, "destination", json_object_new_string(dest));
                        add(m, "type", json_object_new_string("tmpfs"));
                        add(m, "source", json_object_new_string("tmpfs"));
                        struct json_object *opts = json_object_new_array();
                        static const char *const defaults[] = {"nosuid", "nodev", "noexec"};
                        for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
                                json_object_array_add(opts, json_object_new_string(defaults[i]));
                        _cleanup_free_ char *extra = xstrdup(json_object_get_string(optv));
                        char *save = NULL;
                        for (char *t = strtok_r(extra, ",", &save); t;
                             t = strtok_r(NULL, ",", &save))
                                json_object_array_add(opts, json_object_new_string(t));
                        add(m, "options", opts);
                        json_object_array_add(mounts, m);
                }
        }
        /* volumes branch: named and anonymous volumes, --mount */
        r = volume_oci_mounts(doc, rootfd, mounts, err);
        if (r < 0) {
                json_object_put(mounts);
                return r;
        }
        add(s, "mounts", mounts);

        struct json_object *lx = json_object_new_object();
        add(s, "linux", lx);
        struct json_object *nss = json_object_new_array();
        static const char *const ns[] = {"pid", "network", "ipc", "uts", "mount"};
        for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
                struct json_object *o = json_object_new_object();
                add(o, "type", json_object_new_string(ns[i]));
                json_object_array_add(nss, o);
        }
        add(lx, "namespaces", nss);
        _cleanup_free_ char *cg = xasprintf("husk-%s", id);
        add(lx, "cgroupsPath", json_object_new_string(cg));
        add(lx, "resources", resources(hc));
        add(lx, "maskedPaths", str_array((char *const *)masked_paths));
        add(lx, "readonlyPaths", str_array((char *const *)readonly_paths));
        *ret = TAKE_PTR(s);
        return 0;
}
