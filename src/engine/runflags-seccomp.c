/* Docker's seccomp profile format (archMap, includes/excludes) into the OCI
 * linux.seccomp object; see runflags.h. */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "core/json.h"
#include "core/util.h"
#include "engine/runflags.h"

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

static struct json_object *str_array(char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; v && v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static bool in_strs(struct json_object *a, const char *s)
{
        for (size_t i = 0;
             a && json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++)
                if (!strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s))
                        return true;
        return false;
}

/* Docker's architecture names for this machine, and libseccomp's. */
static const char *go_arch(void)
{
#if defined(__x86_64__)
        return "amd64";
#elif defined(__aarch64__)
        return "arm64";
#elif defined(__i386__)
        return "386";
#else
        return "unknown";
#endif
}

static const char *scmp_arch(void)
{
#if defined(__x86_64__)
        return "SCMP_ARCH_X86_64";
#elif defined(__aarch64__)
        return "SCMP_ARCH_AARCH64";
#elif defined(__i386__)
        return "SCMP_ARCH_X86";
#else
        return "";
#endif
}

static bool kernel_at_least(const char *v)
{
        struct utsname u;
        unsigned a = 0, b = 0, x = 0, y = 0;
        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &a, &b) < 1 ||
            sscanf(v, "%u.%u", &x, &y) < 1)
                return true;
        return a > x || (a == x && b >= y);
}

/* Does a rule's includes/excludes select it for this arch and cap set? */
static bool rule_applies(struct json_object *rule, char *const *caps)
{
        struct json_object *inc = jfield(rule, "includes"), *exc = jfield(rule, "excludes");
        struct json_object *v;
        if ((v = jfield(inc, "arches")) && json_object_array_length(v) && !in_strs(v, go_arch()))
                return false;
        if ((v = jfield(inc, "caps")))
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        if (!strv_contains(caps,
                                           json_object_get_string(json_object_array_get_idx(v, i))))
                                return false;
        if ((v = jfield(inc, "minKernel")) && !kernel_at_least(json_object_get_string(v)))
                return false;
        if ((v = jfield(exc, "arches")) && in_strs(v, go_arch()))
                return false;
        if ((v = jfield(exc, "caps")))
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        if (strv_contains(caps,
                                          json_object_get_string(json_object_array_get_idx(v, i))))
                                return false;
        if ((v = jfield(exc, "minKernel")) && kernel_at_least(json_object_get_string(v)))
                return false;
        return true;
}

int runflags_seccomp(struct json_object *profile, const char *what, char *const *caps,
                     struct json_object **ret, struct error *err)
{
        if (!json_object_is_type(profile, json_type_object) || !jstr(profile, "defaultAction"))
                return error_msg(err, -EINVAL,
                                 "seccomp profile %s: not a seccomp profile (no defaultAction)",
                                 what);
        _cleanup_json_ struct json_object *s = json_object_new_object();
        static const char *const keep[] = {"defaultAction", "defaultErrnoRet", "flags",
                                           "listenerPath", "listenerMetadata"};
        for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
                struct json_object *v = jfield(profile, keep[i]);
                if (v)
                        add(s, keep[i], json_object_get(v));
        }
        struct json_object *archs = json_object_new_array();
        add(s, "architectures", archs);
        struct json_object *v = jfield(profile, "architectures");
        for (size_t i = 0; v && i < json_object_array_length(v); i++)
                json_object_array_add(archs, json_object_get(json_object_array_get_idx(v, i)));
        struct json_object *map = jfield(profile, "archMap");
        for (size_t i = 0; map && i < json_object_array_length(map); i++) {
                struct json_object *m = json_object_array_get_idx(map, i);
                const char *a = jstr(m, "architecture");
                if (!a || strcmp(a, scmp_arch()) != 0)
                        continue;
                json_object_array_add(archs, json_object_new_string(a));
                struct json_object *sub = jfield(m, "subArchitectures");
                for (size_t j = 0; sub && j < json_object_array_length(sub); j++)
                        json_object_array_add(archs,
                                              json_object_get(json_object_array_get_idx(sub, j)));
        }
        struct json_object *out = json_object_new_array();
        add(s, "syscalls", out);
        struct json_object *calls = jfield(profile, "syscalls");
        if (calls && !json_object_is_type(calls, json_type_array))
                return error_msg(err, -EINVAL, "seccomp profile %s: syscalls is not an array",
                                 what);
        for (size_t i = 0; calls && i < json_object_array_length(calls); i++) {
                struct json_object *c = json_object_array_get_idx(calls, i);
                if (!rule_applies(c, caps))
                        continue;
                struct json_object *o = json_object_new_object();
                struct json_object *names = jfield(c, "names");
                const char *name = jstr(c, "name");
                if (names)
                        add(o, "names", json_object_get(names));
                else if (name)
                        add(o, "names", str_array((char *[]){(char *)name, NULL}));
                else {
                        json_object_put(o);
                        return error_msg(err, -EINVAL,
                                         "seccomp profile %s: syscalls[%zu] has no names", what, i);
                }
                static const char *const fields[] = {"action", "errnoRet", "args"};
                for (size_t j = 0; j < ARRAY_SIZE(fields); j++)
                        if ((v = jfield(c, fields[j])))
                                add(o, fields[j], json_object_get(v));
                json_object_array_add(out, o);
        }
        *ret = TAKE_PTR(s);
        return 0;
}
