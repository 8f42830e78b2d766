/* The config.json that `husk-runtime spec` writes: runc's example spec
 * (libcontainer/specconv/example.go), key for key and in runc's order, with
 * the rootless variant made the way runc's ToRootless() makes it. */
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "runtime/spec.h"

static struct json_object *str_array(const char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (size_t i = 0; v[i]; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static void add(struct json_object *o, const char *key, struct json_object *v)
{
        json_object_object_add(o, key, v);
}

static struct json_object *process(void)
{
        static const char *const args[] = {"sh", NULL};
        static const char *const env[] = {
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TERM=xterm",
            NULL,
        };
        static const char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                                           NULL};
        static const char *const sets[] = {"bounding", "effective", "permitted", "ambient"};

        struct json_object *p = json_object_new_object();
        add(p, "terminal", json_object_new_boolean(true));
        struct json_object *user = json_object_new_object();
        add(user, "uid", json_object_new_int(0));
        add(user, "gid", json_object_new_int(0));
        add(p, "user", user);
        add(p, "args", str_array(args));
        add(p, "env", str_array(env));
        add(p, "cwd", json_object_new_string("/"));
        struct json_object *c = json_object_new_object();
        for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
                add(c, sets[i], str_array(caps));
        add(p, "capabilities", c);
        struct json_object *rl = json_object_new_object();
        add(rl, "type", json_object_new_string("RLIMIT_NOFILE"));
        add(rl, "hard", json_object_new_int(1024));
        add(rl, "soft", json_object_new_int(1024));
        struct json_object *rls = json_object_new_array();
        json_object_array_add(rls, rl);
        add(p, "rlimits", rls);
        add(p, "noNewPrivileges", json_object_new_boolean(true));
        return p;
}

static struct json_object *mount(const char *dest, const char *type, const char *source,
                                 const char *const *options)
{
        struct json_object *m = json_object_new_object();
        add(m, "destination", json_object_new_string(dest));
        add(m, "type", json_object_new_string(type));
        add(m, "source", json_object_new_string(source));
        if (options)
                add(m, "options", str_array(options));
        return m;
}

static struct json_object *mounts(bool rootless)
{
        static const char *const dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
        /* ToRootless drops uid=/gid= options: the group 5 need not exist in the userns. */
        static const char *const devpts[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                             "mode=0620", "gid=5",  NULL};
        static const char *const devpts_rootless[] = {"nosuid",        "noexec",    "newinstance",
                                                      "ptmxmode=0666", "mode=0620", NULL};
        static const char *const shm[] = {"nosuid",    "noexec",      "nodev",
                                          "mode=1777", "size=65536k", NULL};
        static const char *const mqueue[] = {"nosuid", "noexec", "nodev", NULL};
        static const char *const sys[] = {"nosuid", "noexec", "nodev", "ro", NULL};
        /* sysfs can't be mounted without a network namespace of our own. */
        static const char *const sys_rootless[] = {"rbind", "nosuid", "noexec",
                                                   "nodev", "ro",     NULL};
        static const char *const cgroup[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};

        struct json_object *a = json_object_new_array();
        json_object_array_add(a, mount("/proc", "proc", "proc", NULL));
        json_object_array_add(a, mount("/dev", "tmpfs", "tmpfs", dev));
        json_object_array_add(
            a, mount("/dev/pts", "devpts", "devpts", rootless ? devpts_rootless : devpts));
        json_object_array_add(a, mount("/dev/shm", "tmpfs", "shm", shm));
        json_object_array_add(a, mount("/dev/mqueue", "mqueue", "mqueue", mqueue));
        if (rootless)
                json_object_array_add(a, mount("/sys", "none", "/sys", sys_rootless));
        else
                json_object_array_add(a, mount("/sys", "sysfs", "sysfs", sys));
        /* runc's rootless spec keeps the cgroup mount too. */
        json_object_array_add(a, mount("/sys/fs/cgroup", "cgroup", "cgroup", cgroup));
        return a;
}

static struct json_object *id_mapping(uint32_t host_id)
{
        struct json_object *a = json_object_new_array();
        struct json_object *m = json_object_new_object();
        add(m, "containerID", json_object_new_int(0));
        add(m, "hostID", json_object_new_int64(host_id));
        add(m, "size", json_object_new_int(1));
        json_object_array_add(a, m);
        return a;
}

static struct json_object *linux_section(bool rootless)
{
        static const char *const masked[] = {
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi",
            NULL,
        };
        static const char *const readonly[] = {
            "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
        };
        static const char *const ns[] = {"pid", "network", "ipc", "uts", "mount"};

        struct json_object *l = json_object_new_object();
        if (rootless) {
                add(l, "uidMappings", id_mapping(getuid()));
                add(l, "gidMappings", id_mapping(getgid()));
        } else {
                struct json_object *res = json_object_new_object();
                struct json_object *devs = json_object_new_array();
                struct json_object *deny = json_object_new_object();
                add(deny, "allow", json_object_new_boolean(false));
                add(deny, "access", json_object_new_string("rwm"));
                json_object_array_add(devs, deny);
                add(res, "devices", devs);
                add(l, "resources", res);
        }
        struct json_object *nss = json_object_new_array();
        for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
                if (rootless && strcmp(ns[i], "network") == 0)
                        continue;
                struct json_object *o = json_object_new_object();
                add(o, "type", json_object_new_string(ns[i]));
                json_object_array_add(nss, o);
        }
        if (rootless) {
                struct json_object *o = json_object_new_object();
                add(o, "type", json_object_new_string("user"));
                json_object_array_add(nss, o);
        }
        add(l, "namespaces", nss);
        add(l, "maskedPaths", str_array(masked));
        add(l, "readonlyPaths", str_array(readonly));
        return l;
}

struct json_object *spec_default(bool rootless)
{
        struct json_object *s = json_object_new_object();
        add(s, "ociVersion", json_object_new_string("1.2.0"));
        add(s, "process", process());
        struct json_object *root = json_object_new_object();
        add(root, "path", json_object_new_string("rootfs"));
        add(root, "readonly", json_object_new_boolean(true));
        add(s, "root", root);
        add(s, "hostname", json_object_new_string("runc"));
        add(s, "mounts", mounts(rootless));
        add(s, "linux", linux_section(rootless));
        return s;
}
