/* config.json -> struct spec: parse and validate everything up front.
 *
 * Arrays are allocated zeroed at their final length and their n_* set before
 * any element is filled, so spec_free() can free a half-built spec on every
 * error path. */
#include "runtime/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <time.h>

#include "core/json.h"
#include "core/util.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

#define PATH_LEN 512

static int required(struct error *err, const char *path, const char *key)
{
        char p[PATH_LEN];
        jpath(p, sizeof(p), path, key);
        return error_msg(err, -EINVAL, "%s: required", p);
}

static void add_warning(char ***warnings, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_warning(char ***warnings, const char *fmt, ...)
{
        if (!warnings)
                return;
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        *warnings = strv_push(*warnings, s ? s : xstrdup(fmt));
}

static bool is_abs(const char *p)
{
        return p && p[0] == '/';
}

/* Element I of array A must be an object; fills its path into P. */
static int array_obj(struct json_object *a, const char *apath, size_t i, char *p, size_t plen,
                     struct json_object **ret, struct error *err)
{
        jpath_index(p, plen, apath, i);
        struct json_object *e = json_object_array_get_idx(a, i);
        if (!json_object_is_type(e, json_type_object))
                return error_msg(err, -EINVAL, "%s: expected an object", p);
        *ret = e;
        return 0;
}

/* An optional array of objects: returns its length (0 when absent) and its path. */
static int get_obj_array(struct json_object *o, const char *path, const char *key,
                         struct json_object **ret, char *apath, size_t alen, struct error *err)
{
        jpath(apath, alen, path, key);
        int r = jget_array(o, path, key, ret, err);
        if (r <= 0)
                return r;
        return (int)json_object_array_length(*ret) > 0 ? 1 : 0;
}

/* ---- id mappings ---- */

static int parse_id_mappings(struct json_object *o, const char *path, const char *key,
                             struct spec_id_mapping **ret, size_t *ret_n, struct error *err)
{
        struct json_object *a;
        char apath[PATH_LEN], p[PATH_LEN];
        int r = get_obj_array(o, path, key, &a, apath, sizeof(apath), err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(a);
        *ret = xzalloc(n * sizeof(**ret));
        *ret_n = n;
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = NULL;
                struct spec_id_mapping *m = &(*ret)[i];
                r = array_obj(a, apath, i, p, sizeof(p), &e, err);
                if (r < 0)
                        return r;
                r = jget_u32(e, p, "containerID", &m->container_id, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "containerID");
                r = jget_u32(e, p, "hostID", &m->host_id, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "hostID");
                r = jget_u32(e, p, "size", &m->size, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "size");
                if (m->size == 0)
                        return error_msg(err, -EINVAL, "%s.size: must be greater than zero", p);
                if ((uint64_t)m->container_id + m->size - 1 > UINT32_MAX ||
                    (uint64_t)m->host_id + m->size - 1 > UINT32_MAX)
                        return error_msg(err, -EINVAL, "%s: range exceeds 32-bit ids", p);
                /* The kernel refuses overlapping ranges; say which ones. */
                for (size_t j = 0; j < i; j++) {
                        const struct spec_id_mapping *q = &(*ret)[j];
                        if (m->container_id < (uint64_t)q->container_id + q->size &&
                            q->container_id < (uint64_t)m->container_id + m->size)
                                return error_msg(err, -EINVAL,
                                                 "%s: container ids overlap with %s[%zu]", p, apath,
                                                 j);
                        if (m->host_id < (uint64_t)q->host_id + q->size &&
                            q->host_id < (uint64_t)m->host_id + m->size)
                                return error_msg(err, -EINVAL, "%s: host ids overlap with %s[%zu]",
                                                 p, apath, j);
                }
        }
        return 1;
}

/* ---- mounts ---- */

enum mopt_kind { MOPT_FLAG, MOPT_PROP, MOPT_ATTR, MOPT_IGNORE, MOPT_IDMAP, MOPT_RIDMAP };

/* runc's table (libcontainer/specconv): "clear" options name the flag they clear. */
static const struct mount_opt {
        const char *name;
        enum mopt_kind kind;
        bool clear;
        unsigned long flag;
} mount_opts[] = {
    {"acl", MOPT_FLAG, false, MS_POSIXACL},
    {"async", MOPT_FLAG, true, MS_SYNCHRONOUS},
    {"atime", MOPT_FLAG, true, MS_NOATIME},
    {"bind", MOPT_FLAG, false, MS_BIND},
    {"defaults", MOPT_FLAG, false, 0},
    {"dev", MOPT_FLAG, true, MS_NODEV},
    {"diratime", MOPT_FLAG, true, MS_NODIRATIME},
    {"dirsync", MOPT_FLAG, false, MS_DIRSYNC},
    {"exec", MOPT_FLAG, true, MS_NOEXEC},
    {"iversion", MOPT_FLAG, false, MS_I_VERSION},
    {"lazytime", MOPT_FLAG, false, MS_LAZYTIME},
    {"loud", MOPT_FLAG, true, MS_SILENT},
    {"mand", MOPT_FLAG, false, MS_MANDLOCK},
    {"noacl", MOPT_FLAG, true, MS_POSIXACL},
    {"noatime", MOPT_FLAG, false, MS_NOATIME},
    {"nodev", MOPT_FLAG, false, MS_NODEV},
    {"nodiratime", MOPT_FLAG, false, MS_NODIRATIME},
    {"noexec", MOPT_FLAG, false, MS_NOEXEC},
    {"noiversion", MOPT_FLAG, true, MS_I_VERSION},
    {"nolazytime", MOPT_FLAG, true, MS_LAZYTIME},
    {"nomand", MOPT_FLAG, true, MS_MANDLOCK},
    {"norelatime", MOPT_FLAG, true, MS_RELATIME},
    {"nostrictatime", MOPT_FLAG, true, MS_STRICTATIME},
    {"nosuid", MOPT_FLAG, false, MS_NOSUID},
    {"nosymfollow", MOPT_FLAG, false, MS_NOSYMFOLLOW},
    {"rbind", MOPT_FLAG, false, MS_BIND | MS_REC},
    {"relatime", MOPT_FLAG, false, MS_RELATIME},
    {"remount", MOPT_FLAG, false, MS_REMOUNT},
    {"ro", MOPT_FLAG, false, MS_RDONLY},
    {"rw", MOPT_FLAG, true, MS_RDONLY},
    {"silent", MOPT_FLAG, false, MS_SILENT},
    {"strictatime", MOPT_FLAG, false, MS_STRICTATIME},
    {"suid", MOPT_FLAG, true, MS_NOSUID},
    {"symfollow", MOPT_FLAG, true, MS_NOSYMFOLLOW},
    {"sync", MOPT_FLAG, false, MS_SYNCHRONOUS},

    {"private", MOPT_PROP, false, MS_PRIVATE},
    {"rprivate", MOPT_PROP, false, MS_PRIVATE | MS_REC},
    {"shared", MOPT_PROP, false, MS_SHARED},
    {"rshared", MOPT_PROP, false, MS_SHARED | MS_REC},
    {"slave", MOPT_PROP, false, MS_SLAVE},
    {"rslave", MOPT_PROP, false, MS_SLAVE | MS_REC},
    {"unbindable", MOPT_PROP, false, MS_UNBINDABLE},
    {"runbindable", MOPT_PROP, false, MS_UNBINDABLE | MS_REC},

    /* Recursive attributes, applied with mount_setattr(AT_RECURSIVE). */
    {"rro", MOPT_ATTR, false, MOUNT_ATTR_RDONLY},
    {"rrw", MOPT_ATTR, true, MOUNT_ATTR_RDONLY},
    {"rnosuid", MOPT_ATTR, false, MOUNT_ATTR_NOSUID},
    {"rsuid", MOPT_ATTR, true, MOUNT_ATTR_NOSUID},
    {"rnodev", MOPT_ATTR, false, MOUNT_ATTR_NODEV},
    {"rdev", MOPT_ATTR, true, MOUNT_ATTR_NODEV},
    {"rnoexec", MOPT_ATTR, false, MOUNT_ATTR_NOEXEC},
    {"rexec", MOPT_ATTR, true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", MOPT_ATTR, false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", MOPT_ATTR, true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", MOPT_ATTR, false, MOUNT_ATTR_RELATIME},
    {"rnorelatime", MOPT_ATTR, true, MOUNT_ATTR_RELATIME},
    {"rnoatime", MOPT_ATTR, false, MOUNT_ATTR_NOATIME},
    {"ratime", MOPT_ATTR, true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", MOPT_ATTR, false, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", MOPT_ATTR, true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", MOPT_ATTR, false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", MOPT_ATTR, true, MOUNT_ATTR_NOSYMFOLLOW},

    /* Runtime extensions, kept in options for whoever implements them. */
    {"tmpcopyup", MOPT_IGNORE, false, 0},
    {"idmap", MOPT_IDMAP, false, 0},
    {"ridmap", MOPT_RIDMAP, false, 0},
};

static const struct mount_opt *mount_opt_find(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(mount_opts); i++)
                if (strcmp(mount_opts[i].name, name) == 0)
                        return &mount_opts[i];
        return NULL;
}

static void apply_attr(struct spec_mount *m, const struct mount_opt *o)
{
        bool atime = o->flag == MOUNT_ATTR_RELATIME || (o->flag & MOUNT_ATTR__ATIME);
        if (atime) {
                /* The access-time mode is one field: mount_setattr wants the whole
                 * MOUNT_ATTR__ATIME in attr_clr with the new mode in attr_set.
                 * Clearing a mode ("ratime") goes back to the default, relatime. */
                m->attr_clr |= MOUNT_ATTR__ATIME;
                m->attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
                if (!o->clear)
                        m->attr_set |= o->flag;
                return;
        }
        if (o->clear) {
                m->attr_clr |= o->flag;
                m->attr_set &= ~(uint64_t)o->flag;
        } else {
                m->attr_set |= o->flag;
                m->attr_clr &= ~(uint64_t)o->flag;
        }
}

static void derive_mount_flags(struct spec_mount *m)
{
        _cleanup_free_ char *data = NULL;
        size_t dlen = 0;
        for (size_t i = 0; m->options && m->options[i]; i++) {
                const char *name = m->options[i];
                const struct mount_opt *o = mount_opt_find(name);
                if (!o) {
                        size_t l = strlen(name);
                        if (l == 0)
                                continue;
                        data = xrealloc(data, dlen + l + 2);
                        if (dlen)
                                data[dlen++] = ',';
                        memcpy(data + dlen, name, l + 1);
                        dlen += l;
                        continue;
                }
                switch (o->kind) {
                case MOPT_FLAG:
                        if (o->clear) {
                                m->flags &= ~o->flag;
                                m->clear_flags |= o->flag;
                        } else {
                                m->flags |= o->flag;
                                m->clear_flags &= ~o->flag;
                        }
                        break;
                case MOPT_PROP:
                        m->propagation = o->flag;
                        break;
                case MOPT_ATTR:
                        apply_attr(m, o);
                        if (o->flag == MOUNT_ATTR_RDONLY)
                                m->rro = !o->clear;
                        break;
                case MOPT_IDMAP:
                        m->idmap = true;
                        break;
                case MOPT_RIDMAP:
                        m->ridmap = true;
                        break;
                case MOPT_IGNORE:
                        break;
                }
        }
        m->data = TAKE_PTR(data);
}

static int parse_mount(struct json_object *e, const char *p, struct spec_mount *m,
                       struct error *err)
{
        int r = jget_str(e, p, "destination", &m->destination, err);
        if (r <= 0)
                return r < 0 ? r : required(err, p, "destination");
        if (!is_abs(m->destination))
                return error_msg(err, -EINVAL, "%s.destination: must be an absolute path", p);
        r = jget_str(e, p, "type", &m->type, err);
        if (r < 0)
                return r;
        r = jget_str(e, p, "source", &m->source, err);
        if (r < 0)
                return r;
        r = jget_strv(e, p, "options", &m->options, err);
        if (r < 0)
                return r;
        r = parse_id_mappings(e, p, "uidMappings", &m->uid_mappings, &m->n_uid_mappings, err);
        if (r < 0)
                return r;
        r = parse_id_mappings(e, p, "gidMappings", &m->gid_mappings, &m->n_gid_mappings, err);
        if (r < 0)
                return r;
        if ((m->n_uid_mappings > 0) != (m->n_gid_mappings > 0))
                return error_msg(err, -EINVAL,
                                 "%s: uidMappings and gidMappings must be given together", p);
        derive_mount_flags(m);
        return 0;
}

static int parse_mounts(struct json_object *root, struct spec *s, struct error *err)
{
        struct json_object *a, *e = NULL;
        char apath[PATH_LEN], p[PATH_LEN];
        int r = get_obj_array(root, "", "mounts", &a, apath, sizeof(apath), err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(a);
        s->mounts = xzalloc(n * sizeof(*s->mounts));
        s->n_mounts = n;
        for (size_t i = 0; i < n; i++) {
                r = array_obj(a, apath, i, p, sizeof(p), &e, err);
                if (r < 0)
                        return r;
                r = parse_mount(e, p, &s->mounts[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- process ---- */

static const struct {
        const char *name;
        int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static int rlimit_from_name(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(rlimit_names); i++)
                if (strcmp(rlimit_names[i].name, name) == 0)
                        return rlimit_names[i].resource;
        return -1;
}

static int parse_rlimits(struct json_object *o, const char *path, struct spec_process *proc,
                         struct error *err)
{
        struct json_object *a, *e = NULL;
        char apath[PATH_LEN], p[PATH_LEN];
        int r = get_obj_array(o, path, "rlimits", &a, apath, sizeof(apath), err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(a);
        proc->rlimits = xzalloc(n * sizeof(*proc->rlimits));
        proc->n_rlimits = n;
        for (size_t i = 0; i < n; i++) {
                struct spec_rlimit *l = &proc->rlimits[i];
                r = array_obj(a, apath, i, p, sizeof(p), &e, err);
                if (r < 0)
                        return r;
                r = jget_str(e, p, "type", &l->name, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "type");
                l->resource = rlimit_from_name(l->name);
                if (l->resource < 0)
                        return error_msg(err, -EINVAL, "%s.type: unknown rlimit type '%s'", p,
                                         l->name);
                for (size_t j = 0; j < i; j++)
                        if (proc->rlimits[j].resource == l->resource)
                                return error_msg(err, -EINVAL,
                                                 "%s.type: duplicate rlimit type '%s'", p, l->name);
                r = jget_u64(e, p, "soft", &l->soft, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "soft");
                r = jget_u64(e, p, "hard", &l->hard, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "hard");
                if (l->soft > l->hard)
                        return error_msg(err, -EINVAL,
                                         "%s: soft limit %" PRIu64 " exceeds hard limit %" PRIu64,
                                         p, l->soft, l->hard);
        }
        return 0;
}

static int parse_cap_set(struct json_object *o, const char *path, const char *key, uint64_t *ret,
                         char ***warnings, struct error *err)
{
        _cleanup_strv_ char **names = NULL;
        char p[PATH_LEN];
        int r = jget_strv(o, path, key, &names, err);
        if (r <= 0)
                return r;
        jpath(p, sizeof(p), path, key);
        int last = spec_cap_last();
        for (size_t i = 0; names[i]; i++) {
                int cap = spec_cap_from_name(names[i]);
                if (cap < 0) {
                        add_warning(warnings, "%s[%zu]: unknown capability '%s' ignored", p, i,
                                    names[i]);
                        continue;
                }
                if (cap > last) {
                        add_warning(warnings,
                                    "%s[%zu]: capability '%s' not supported by this kernel, "
                                    "ignored",
                                    p, i, names[i]);
                        continue;
                }
                *ret |= UINT64_C(1) << cap;
        }
        return 1;
}

static int parse_caps(struct json_object *o, const char *path, struct spec_process *proc,
                      char ***warnings, struct error *err)
{
        struct json_object *c;
        char p[PATH_LEN];
        int r = jget_obj(o, path, "capabilities", &c, err);
        if (r <= 0)
                return r;
        jpath(p, sizeof(p), path, "capabilities");
        proc->has_caps = true;
        struct {
                const char *key;
                uint64_t *set;
        } sets[] = {
            {"bounding", &proc->caps.bounding},       {"effective", &proc->caps.effective},
            {"inheritable", &proc->caps.inheritable}, {"permitted", &proc->caps.permitted},
            {"ambient", &proc->caps.ambient},
        };
        for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
                r = parse_cap_set(c, p, sets[i].key, sets[i].set, warnings, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_user(struct json_object *o, const char *path, struct spec_user *u,
                      struct error *err)
{
        struct json_object *uo, *a;
        char p[PATH_LEN], ap[PATH_LEN], ep[PATH_LEN];
        int r = jget_obj(o, path, "user", &uo, err);
        if (r <= 0)
                return r;
        jpath(p, sizeof(p), path, "user");
        r = jget_u32(uo, p, "uid", &u->uid, err);
        if (r < 0)
                return r;
        r = jget_u32(uo, p, "gid", &u->gid, err);
        if (r < 0)
                return r;
        r = jget_u32(uo, p, "umask", &u->umask, err);
        if (r < 0)
                return r;
        u->has_umask = r > 0;
        if (u->has_umask && u->umask > 0777)
                return error_msg(err, -EINVAL, "%s.umask: must be at most 0777 (511)", p);
        r = jget_array(uo, p, "additionalGids", &a, err);
        if (r <= 0)
                return r;
        jpath(ap, sizeof(ap), p, "additionalGids");
        size_t n = json_object_array_length(a);
        if (n == 0)
                return 0;
        u->additional_gids = xzalloc(n * sizeof(*u->additional_gids));
        u->n_additional_gids = n;
        for (size_t i = 0; i < n; i++) {
                uint64_t g;
                jpath_index(ep, sizeof(ep), ap, i);
                r = jval_u64(json_object_array_get_idx(a, i), ep, &g, err);
                if (r < 0)
                        return r;
                if (g > UINT32_MAX)
                        return error_msg(err, -EINVAL, "%s: expected an unsigned 32-bit integer",
                                         ep);
                u->additional_gids[i] = (uint32_t)g;
        }
        return 0;
}

int spec_parse_process(struct json_object *o, const char *path, struct spec_process *ret,
                       char ***warnings, struct error *err)
{
        struct spec_process proc = {0};
        struct json_object *cs;
        char p[PATH_LEN];
        int r;

        if (!json_object_is_type(o, json_type_object)) {
                r = error_msg(err, -EINVAL, "%s: expected an object", path);
                goto fail;
        }
        r = jget_bool(o, path, "terminal", &proc.terminal, err);
        if (r < 0)
                goto fail;
        r = jget_obj(o, path, "consoleSize", &cs, err);
        if (r < 0)
                goto fail;
        if (r > 0) {
                proc.has_console_size = true;
                jpath(p, sizeof(p), path, "consoleSize");
                r = jget_u32(cs, p, "height", &proc.console_height, err);
                if (r <= 0) {
                        r = r < 0 ? r : required(err, p, "height");
                        goto fail;
                }
                r = jget_u32(cs, p, "width", &proc.console_width, err);
                if (r <= 0) {
                        r = r < 0 ? r : required(err, p, "width");
                        goto fail;
                }
        }
        r = parse_user(o, path, &proc.user, err);
        if (r < 0)
                goto fail;
        r = jget_strv(o, path, "args", &proc.args, err);
        if (r < 0)
                goto fail;
        if (!proc.args || !proc.args[0]) {
                jpath(p, sizeof(p), path, "args");
                r = error_msg(err, -EINVAL, "%s: must not be empty", p);
                goto fail;
        }
        r = jget_strv(o, path, "env", &proc.env, err);
        if (r < 0)
                goto fail;
        r = jget_str(o, path, "cwd", &proc.cwd, err);
        if (r < 0)
                goto fail;
        jpath(p, sizeof(p), path, "cwd");
        if (!proc.cwd || !proc.cwd[0]) {
                r = error_msg(err, -EINVAL, "%s: must not be empty", p);
                goto fail;
        }
        if (!is_abs(proc.cwd)) {
                r = error_msg(err, -EINVAL, "%s: must be an absolute path", p);
                goto fail;
        }
        r = parse_caps(o, path, &proc, warnings, err);
        if (r < 0)
                goto fail;
        r = parse_rlimits(o, path, &proc, err);
        if (r < 0)
                goto fail;
        r = jget_bool(o, path, "noNewPrivileges", &proc.no_new_privileges, err);
        if (r < 0)
                goto fail;
        r = jget_str(o, path, "apparmorProfile", &proc.apparmor_profile, err);
        if (r < 0)
                goto fail;
        int32_t adj;
        r = jget_i32(o, path, "oomScoreAdj", &adj, err);
        if (r < 0)
                goto fail;
        if (r > 0) {
                if (adj < -1000 || adj > 1000) {
                        jpath(p, sizeof(p), path, "oomScoreAdj");
                        r = error_msg(err, -EINVAL, "%s: must be between -1000 and 1000", p);
                        goto fail;
                }
                proc.has_oom_score_adj = true;
                proc.oom_score_adj = adj;
        }
        r = jget_str(o, path, "selinuxLabel", &proc.selinux_label, err);
        if (r < 0)
                goto fail;
        *ret = proc;
        return 0;
fail:
        spec_process_done(&proc);
        return r;
}

void spec_process_done(struct spec_process *p)
{
        if (!p)
                return;
        free(p->user.additional_gids);
        strv_free(p->args);
        strv_free(p->env);
        free(p->cwd);
        for (size_t i = 0; i < p->n_rlimits; i++)
                free(p->rlimits[i].name);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        *p = (struct spec_process){0};
}

/* ---- hooks ---- */

static int parse_hook_list(struct json_object *o, const char *path, const char *key,
                           struct spec_hook **ret, size_t *ret_n, struct error *err)
{
        struct json_object *a, *e = NULL;
        char apath[PATH_LEN], p[PATH_LEN];
        int r = get_obj_array(o, path, key, &a, apath, sizeof(apath), err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(a);
        *ret = xzalloc(n * sizeof(**ret));
        *ret_n = n;
        for (size_t i = 0; i < n; i++) {
                struct spec_hook *h = &(*ret)[i];
                r = array_obj(a, apath, i, p, sizeof(p), &e, err);
                if (r < 0)
                        return r;
                r = jget_str(e, p, "path", &h->path, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "path");
                if (!is_abs(h->path))
                        return error_msg(err, -EINVAL, "%s.path: must be an absolute path", p);
                r = jget_strv(e, p, "args", &h->args, err);
                if (r < 0)
                        return r;
                r = jget_strv(e, p, "env", &h->env, err);
                if (r < 0)
                        return r;
                int32_t t;
                r = jget_i32(e, p, "timeout", &t, err);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if (t <= 0)
                                return error_msg(err, -EINVAL,
                                                 "%s.timeout: must be greater than zero", p);
                        h->timeout = t;
                }
        }
        return 0;
}

static int parse_hooks(struct json_object *root, struct spec_hooks *h, struct error *err)
{
        struct json_object *o;
        int r = jget_obj(root, "", "hooks", &o, err);
        if (r <= 0)
                return r;
        struct {
                const char *key;
                struct spec_hook **list;
                size_t *n;
        } lists[] = {
            {"prestart", &h->prestart, &h->n_prestart},
            {"createRuntime", &h->create_runtime, &h->n_create_runtime},
            {"createContainer", &h->create_container, &h->n_create_container},
            {"startContainer", &h->start_container, &h->n_start_container},
            {"poststart", &h->poststart, &h->n_poststart},
            {"poststop", &h->poststop, &h->n_poststop},
        };
        for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
                r = parse_hook_list(o, "hooks", lists[i].key, lists[i].list, lists[i].n, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void free_hook_list(struct spec_hook *l, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(l[i].path);
                strv_free(l[i].args);
                strv_free(l[i].env);
        }
        free(l);
}

/* ---- string maps (annotations, sysctl) ---- */

static int parse_kv(struct json_object *o, const char *path, const char *key, struct spec_kv **ret,
                    size_t *ret_n, struct error *err)
{
        struct json_object *m;
        char p[PATH_LEN], ep[PATH_LEN];
        int r = jget_obj(o, path, key, &m, err);
        if (r <= 0)
                return r;
        jpath(p, sizeof(p), path, key);
        size_t n = (size_t)json_object_object_length(m);
        if (n == 0)
                return 0;
        *ret = xzalloc(n * sizeof(**ret));
        *ret_n = 0;
        json_object_object_foreach(m, k, v)
        {
                jpath(ep, sizeof(ep), p, k);
                /* null is absent, as everywhere else. */
                if (!v)
                        continue;
                if (!json_object_is_type(v, json_type_string))
                        return error_msg(err, -EINVAL, "%s: expected a string", ep);
                (*ret)[*ret_n].key = xstrdup(k);
                (*ret)[*ret_n].value = xstrdup(json_object_get_string(v));
                (*ret_n)++;
        }
        return 1;
}

static void free_kv(struct spec_kv *kv, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
        }
        free(kv);
}

/* ---- linux ---- */

static int parse_namespaces(struct json_object *lo, struct spec_linux *l, struct error *err)
{
        struct json_object *a, *e = NULL;
        char apath[PATH_LEN], p[PATH_LEN];
        int r = get_obj_array(lo, "linux", "namespaces", &a, apath, sizeof(apath), err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(a);
        l->namespaces = xzalloc(n * sizeof(*l->namespaces));
        l->n_namespaces = n;
        for (size_t i = 0; i < n; i++) {
                struct spec_namespace *ns = &l->namespaces[i];
                _cleanup_free_ char *type = NULL;
                r = array_obj(a, apath, i, p, sizeof(p), &e, err);
                if (r < 0)
                        return r;
                r = jget_str(e, p, "type", &type, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "type");
                ns->type = spec_ns_type_from_name(type);
                if (ns->type < 0)
                        return error_msg(err, -EINVAL, "%s.type: unknown namespace type '%s'", p,
                                         type);
                for (size_t j = 0; j < i; j++)
                        if (l->namespaces[j].type == ns->type)
                                return error_msg(err, -EINVAL,
                                                 "%s.type: duplicate namespace type '%s'", p, type);
                r = jget_str(e, p, "path", &ns->path, err);
                if (r < 0)
                        return r;
                if (r > 0 && !ns->path[0]) {
                        /* runc treats "" as no path */
                        free(ns->path);
                        ns->path = NULL;
                } else if (r > 0 && !is_abs(ns->path)) {
                        return error_msg(err, -EINVAL, "%s.path: must be an absolute path", p);
                }
        }
        return 0;
}

static int parse_devices(struct json_object *lo, struct spec_linux *l, struct error *err)
{
        struct json_object *a, *e = NULL;
        char apath[PATH_LEN], p[PATH_LEN];
        int r = get_obj_array(lo, "linux", "devices", &a, apath, sizeof(apath), err);
        if (r <= 0)
                return r;
        size_t n = json_object_array_length(a);
        l->devices = xzalloc(n * sizeof(*l->devices));
        l->n_devices = n;
        for (size_t i = 0; i < n; i++) {
                struct spec_device *d = &l->devices[i];
                _cleanup_free_ char *type = NULL;
                r = array_obj(a, apath, i, p, sizeof(p), &e, err);
                if (r < 0)
                        return r;
                r = jget_str(e, p, "path", &d->path, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "path");
                if (!is_abs(d->path))
                        return error_msg(err, -EINVAL, "%s.path: must be an absolute path", p);
                r = jget_str(e, p, "type", &type, err);
                if (r <= 0)
                        return r < 0 ? r : required(err, p, "type");
                if (strlen(type) != 1 || !strchr("cbup", type[0]))
                        return error_msg(err, -EINVAL,
                                         "%s.type: unknown device type '%s' (expected c, b, u "
                                         "or p)",
                                         p, type);
                d->type = type[0] == 'u' ? 'c' : type[0];
                bool has_major, has_minor;
                r = jget_i64(e, p, "major", &d->major, err);
                if (r < 0)
                        return r;
                has_major = r > 0;
                r = jget_i64(e, p, "minor", &d->minor, err);
                if (r < 0)
                        return r;
                has_minor = r > 0;
                if (d->type != 'p' && !has_major)
                        return required(err, p, "major");
                if (d->type != 'p' && !has_minor)
                        return required(err, p, "minor");
                if (d->major < 0 || d->major > 0xfff)
                        return error_msg(err, -EINVAL, "%s.major: out of range", p);
                if (d->minor < 0 || d->minor > 0xfffff)
                        return error_msg(err, -EINVAL, "%s.minor: out of range", p);
                r = jget_u32(e, p, "fileMode", &d->file_mode, err);
                if (r < 0)
                        return r;
                d->has_file_mode = r > 0;
                /* Podman writes the file type too (020666 for a character
                 * device); runc drops it, and so do we: the type is "type". */
                if (d->has_file_mode && (d->file_mode & ~(uint32_t)(S_IFMT | 07777)))
                        return error_msg(err, -EINVAL,
                                         "%s.fileMode: only permission and file type bits", p);
                d->file_mode &= 07777;
                r = jget_u32(e, p, "uid", &d->uid, err);
                if (r < 0)
                        return r;
                d->has_uid = r > 0;
                r = jget_u32(e, p, "gid", &d->gid, err);
                if (r < 0)
                        return r;
                d->has_gid = r > 0;
        }
        return 0;
}

static int parse_time_offsets(struct json_object *lo, struct spec_linux *l, struct error *err)
{
        struct json_object *m;
        const char *path = "linux.timeOffsets";
        char p[PATH_LEN];
        int r = jget_obj(lo, "linux", "timeOffsets", &m, err);
        if (r <= 0)
                return r;
        size_t n = (size_t)json_object_object_length(m);
        if (n == 0)
                return 0;
        l->time_offsets = xzalloc(n * sizeof(*l->time_offsets));
        l->n_time_offsets = 0;
        json_object_object_foreach(m, k, v)
        {
                jpath(p, sizeof(p), path, k);
                if (!v)
                        continue;
                struct spec_time_offset *t = &l->time_offsets[l->n_time_offsets];
                if (strcmp(k, "monotonic") == 0)
                        t->clock = CLOCK_MONOTONIC;
                else if (strcmp(k, "boottime") == 0)
                        t->clock = CLOCK_BOOTTIME;
                else
                        return error_msg(err, -EINVAL,
                                         "%s: unknown clock '%s' (expected 'monotonic' or "
                                         "'boottime')",
                                         p, k);
                if (!json_object_is_type(v, json_type_object))
                        return error_msg(err, -EINVAL, "%s: expected an object", p);
                r = jget_i64(v, p, "secs", &t->secs, err);
                if (r < 0)
                        return r;
                r = jget_u32(v, p, "nanosecs", &t->nanosecs, err);
                if (r < 0)
                        return r;
                if (t->nanosecs >= 1000000000)
                        return error_msg(err, -EINVAL, "%s.nanosecs: must be below 1000000000", p);
                l->n_time_offsets++;
        }
        return 0;
}

static int parse_propagation(struct json_object *lo, struct spec_linux *l, struct error *err)
{
        static const struct {
                const char *name;
                unsigned long flags;
        } props[] = {
            {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
            {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
            {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
            {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
        };
        _cleanup_free_ char *v = NULL;
        int r = jget_str(lo, "linux", "rootfsPropagation", &v, err);
        if (r <= 0 || !v[0])
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(props); i++)
                if (strcmp(props[i].name, v) == 0) {
                        l->rootfs_propagation = props[i].flags;
                        return 0;
                }
        return error_msg(err, -EINVAL, "linux.rootfsPropagation: unknown propagation '%s'", v);
}

static int parse_personality(struct json_object *lo, struct spec_linux *l, struct error *err)
{
        struct json_object *o;
        _cleanup_free_ char *domain = NULL;
        int r = jget_obj(lo, "linux", "personality", &o, err);
        if (r <= 0)
                return r;
        r = jget_str(o, "linux.personality", "domain", &domain, err);
        if (r <= 0)
                return r < 0 ? r : required(err, "linux.personality", "domain");
        if (strcmp(domain, "LINUX") == 0)
                l->personality = PER_LINUX;
        else if (strcmp(domain, "LINUX32") == 0)
                l->personality = PER_LINUX32;
        else
                return error_msg(err, -EINVAL,
                                 "linux.personality.domain: unknown domain '%s' (expected "
                                 "'LINUX' or 'LINUX32')",
                                 domain);
        l->has_personality = true;
        return 0;
}

static int keep_object(struct json_object *lo, const char *key, struct json_object **ret,
                       struct error *err)
{
        struct json_object *o;
        int r = jget_obj(lo, "linux", key, &o, err);
        if (r <= 0)
                return r;
        *ret = json_object_get(o);
        return 0;
}

static int check_user_ns(struct spec_linux *l, struct error *err)
{
        const struct spec_namespace *user = NULL;
        for (size_t i = 0; i < l->n_namespaces; i++)
                if (l->namespaces[i].type == CLONE_NEWUSER)
                        user = &l->namespaces[i];
        bool mapped = l->n_uid_mappings > 0 || l->n_gid_mappings > 0;
        if (!user && mapped)
                return error_msg(err, -EINVAL, "linux.%s: requires a user namespace",
                                 l->n_uid_mappings ? "uidMappings" : "gidMappings");
        if (user && !user->path && (l->n_uid_mappings == 0 || l->n_gid_mappings == 0))
                return error_msg(err, -EINVAL, "linux.%s: required with a new user namespace",
                                 l->n_uid_mappings ? "gidMappings" : "uidMappings");
        return 0;
}

static int parse_linux(struct json_object *root, struct spec_linux *l, struct error *err)
{
        struct json_object *lo;
        int r = jget_obj(root, "", "linux", &lo, err);
        if (r <= 0)
                return r;
        r = parse_namespaces(lo, l, err);
        if (r < 0)
                return r;
        r = parse_id_mappings(lo, "linux", "uidMappings", &l->uid_mappings, &l->n_uid_mappings,
                              err);
        if (r < 0)
                return r;
        r = parse_id_mappings(lo, "linux", "gidMappings", &l->gid_mappings, &l->n_gid_mappings,
                              err);
        if (r < 0)
                return r;
        r = check_user_ns(l, err);
        if (r < 0)
                return r;
        r = parse_time_offsets(lo, l, err);
        if (r < 0)
                return r;
        r = parse_devices(lo, l, err);
        if (r < 0)
                return r;
        r = jget_str(lo, "linux", "cgroupsPath", &l->cgroups_path, err);
        if (r < 0)
                return r;
        r = parse_propagation(lo, l, err);
        if (r < 0)
                return r;
        r = jget_strv(lo, "linux", "maskedPaths", &l->masked_paths, err);
        if (r < 0)
                return r;
        r = jget_strv(lo, "linux", "readonlyPaths", &l->readonly_paths, err);
        if (r < 0)
                return r;
        r = parse_kv(lo, "linux", "sysctl", &l->sysctl, &l->n_sysctl, err);
        if (r < 0)
                return r;
        r = jget_str(lo, "linux", "mountLabel", &l->mount_label, err);
        if (r < 0)
                return r;
        r = keep_object(lo, "resources", &l->resources, err);
        if (r < 0)
                return r;
        r = keep_object(lo, "seccomp", &l->seccomp, err);
        if (r < 0)
                return r;
        return parse_personality(lo, l, err);
}

static void linux_done(struct spec_linux *l)
{
        for (size_t i = 0; i < l->n_namespaces; i++)
                free(l->namespaces[i].path);
        free(l->namespaces);
        free(l->uid_mappings);
        free(l->gid_mappings);
        free(l->time_offsets);
        for (size_t i = 0; i < l->n_devices; i++)
                free(l->devices[i].path);
        free(l->devices);
        free(l->cgroups_path);
        strv_free(l->masked_paths);
        strv_free(l->readonly_paths);
        free_kv(l->sysctl, l->n_sysctl);
        free(l->mount_label);
        if (l->resources)
                json_object_put(l->resources);
        if (l->seccomp)
                json_object_put(l->seccomp);
}

/* ---- the whole document ---- */

static int parse_root(struct json_object *root, struct spec *s, struct error *err)
{
        struct json_object *ro;
        int r = jget_obj(root, "", "root", &ro, err);
        if (r <= 0)
                return r < 0 ? r : required(err, "", "root");
        r = jget_str(ro, "root", "path", &s->root_path, err);
        if (r < 0)
                return r;
        if (r == 0 || !s->root_path[0])
                return required(err, "root", "path");
        return jget_bool(ro, "root", "readonly", &s->root_readonly, err);
}

/* A sysctl must belong to a namespace the container has (runc's rules):
 * IPC ones need an ipc namespace, net.* a network namespace, and
 * kernel.domainname a uts namespace; anything else would change the host. */
static int check_sysctl(const struct spec *s, const char *key, struct error *err)
{
        static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                          "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                          "kernel.shmmni", "kernel.shm_rmid_forced"};
        bool is_ipc = str_startswith(key, "fs.mqueue.");
        for (size_t i = 0; !is_ipc && i < ARRAY_SIZE(ipc); i++)
                is_ipc = strcmp(key, ipc[i]) == 0;
        if (is_ipc) {
                if (spec_find_namespace(s, CLONE_NEWIPC))
                        return 0;
                return error_msg(err, -EINVAL,
                                 "linux.sysctl: '%s' requires an ipc namespace of the container's "
                                 "own",
                                 key);
        }
        if (str_startswith(key, "net.")) {
                if (spec_find_namespace(s, CLONE_NEWNET))
                        return 0;
                return error_msg(err, -EINVAL,
                                 "linux.sysctl: '%s' requires a network namespace of the "
                                 "container's own",
                                 key);
        }
        if (spec_find_namespace(s, CLONE_NEWUTS)) {
                if (strcmp(key, "kernel.domainname") == 0)
                        return 0;
                if (strcmp(key, "kernel.hostname") == 0)
                        return error_msg(err, -EINVAL,
                                         "linux.sysctl: 'kernel.hostname' conflicts with the "
                                         "'hostname' field");
        }
        return error_msg(err, -EINVAL, "linux.sysctl: '%s' is not in a namespace of its own", key);
}

/* Settings that only make sense in a namespace of the container's own (as runc's validator). */
static int check_namespaces(const struct spec *s, struct error *err)
{
        for (size_t i = 0; i < s->linux.n_sysctl; i++) {
                int r = check_sysctl(s, s->linux.sysctl[i].key, err);
                if (r < 0)
                        return r;
        }
        if (s->hostname && s->hostname[0] && !spec_find_namespace(s, CLONE_NEWUTS))
                return error_msg(err, -EINVAL, "hostname: requires a uts namespace");
        if (s->domainname && s->domainname[0] && !spec_find_namespace(s, CLONE_NEWUTS))
                return error_msg(err, -EINVAL, "domainname: requires a uts namespace");
        if (s->linux.n_time_offsets > 0) {
                const struct spec_namespace *t = spec_find_namespace(s, CLONE_NEWTIME);
                if (!t || t->path)
                        return error_msg(err, -EINVAL,
                                         "linux.timeOffsets: requires a new time namespace");
        }
        return 0;
}

static int parse_doc(struct json_object *root, struct spec *s, struct error *err)
{
        struct json_object *po;
        if (!json_object_is_type(root, json_type_object))
                return error_msg(err, -EINVAL, "expected a JSON object at the top level");
        int r = jget_str(root, "", "ociVersion", &s->oci_version, err);
        if (r <= 0)
                return r < 0 ? r : required(err, "", "ociVersion");
        r = parse_root(root, s, err);
        if (r < 0)
                return r;
        r = jget_str(root, "", "hostname", &s->hostname, err);
        if (r < 0)
                return r;
        r = jget_str(root, "", "domainname", &s->domainname, err);
        if (r < 0)
                return r;
        r = parse_mounts(root, s, err);
        if (r < 0)
                return r;
        r = jget_obj(root, "", "process", &po, err);
        if (r < 0)
                return r;
        if (r > 0) {
                r = spec_parse_process(po, "process", &s->process, &s->warnings, err);
                if (r < 0)
                        return r;
                s->has_process = true;
        }
        r = parse_hooks(root, &s->hooks, err);
        if (r < 0)
                return r;
        r = parse_kv(root, "", "annotations", &s->annotations, &s->n_annotations, err);
        if (r < 0)
                return r;
        r = parse_linux(root, &s->linux, err);
        if (r < 0)
                return r;
        return check_namespaces(s, err);
}

int spec_parse(const char *text, const char *what, struct spec **ret, struct error *err)
{
        struct spec *s = xzalloc(sizeof(*s));
        int r = json_parse_string(what ? what : "config.json", text, &s->json, err);
        if (r < 0)
                goto fail;
        r = parse_doc(s->json, s, err);
        if (r < 0) {
                if (what)
                        error_wrap(err, r, "%s", what);
                goto fail;
        }
        *ret = s;
        return 0;
fail:
        spec_free(s);
        return r;
}

int spec_load(const char *bundle, struct spec **ret, struct error *err)
{
        _cleanup_free_ char *path = xasprintf("%s/config.json", bundle);
        _cleanup_free_ char *text = NULL;
        int r = read_file_at(AT_FDCWD, path, 0, &text, NULL);
        if (r < 0)
                return error_sys(err, r, "read '%s'", path);
        return spec_parse(text, path, ret, err);
}

void spec_free(struct spec *s)
{
        if (!s)
                return;
        free(s->oci_version);
        free(s->root_path);
        free(s->hostname);
        free(s->domainname);
        for (size_t i = 0; i < s->n_mounts; i++) {
                struct spec_mount *m = &s->mounts[i];
                free(m->destination);
                free(m->type);
                free(m->source);
                strv_free(m->options);
                free(m->data);
                free(m->uid_mappings);
                free(m->gid_mappings);
        }
        free(s->mounts);
        spec_process_done(&s->process);
        struct spec_hooks *h = &s->hooks;
        free_hook_list(h->prestart, h->n_prestart);
        free_hook_list(h->create_runtime, h->n_create_runtime);
        free_hook_list(h->create_container, h->n_create_container);
        free_hook_list(h->start_container, h->n_start_container);
        free_hook_list(h->poststart, h->n_poststart);
        free_hook_list(h->poststop, h->n_poststop);
        free_kv(s->annotations, s->n_annotations);
        linux_done(&s->linux);
        strv_free(s->warnings);
        if (s->json)
                json_object_put(s->json);
        free(s);
}

const struct spec_namespace *spec_find_namespace(const struct spec *s, int type)
{
        for (size_t i = 0; s && i < s->linux.n_namespaces; i++)
                if (s->linux.namespaces[i].type == type)
                        return &s->linux.namespaces[i];
        return NULL;
}
