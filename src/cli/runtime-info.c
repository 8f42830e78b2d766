/* husk-runtime spec and features. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/runtime.h"
#include "core/json.h"
#include "core/util.h"
#include "runtime/cgroup.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

static int cmd_spec(const struct rt_globals *g, int argc, char **argv)
{
        static const struct option o[] = {
            {"bundle", required_argument, NULL, 'b'}, {"rootless", no_argument, NULL, 'r'}, {0}};
        const char *bundle = ".";
        bool rootless = false;
        int c;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "+b:", o, NULL)) != -1) {
                if (c == 'b')
                        bundle = optarg;
                else if (c == 'r')
                        rootless = true;
                else
                        return rt_usage_error(&rt_cmd_spec, "unknown option '%s'",
                                              argv[optind - 1]);
        }
        if (optind != argc)
                return rt_usage_error(&rt_cmd_spec, "spec takes no arguments");
        _cleanup_close_ int dfd = open(bundle, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return rt_fail("spec: bundle '%s': %s", bundle, strerror(errno));
        if (faccessat(dfd, "config.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                return rt_fail("spec: '%s/config.json' exists; remove it first", bundle);
        struct json_object *j = spec_default(rootless);
        const char *text = json_pretty(j);
        _cleanup_close_ int fd =
            openat(dfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666);
        int r = fd < 0 ? -errno : write_all(fd, text, strlen(text));
        if (r == 0)
                r = write_all(fd, "\n", 1);
        json_object_put(j);
        if (r < 0)
                return rt_fail("spec: write '%s/config.json': %s", bundle, strerror(-r));
        return 0;
}

const struct rt_command rt_cmd_spec = {"spec", "write a default config.json into a bundle",
                                       "spec [--rootless] [--bundle DIR]", cmd_spec};

static struct json_object *strs(const char *const *v)
{
        struct json_object *a = json_object_new_array();
        for (; *v; v++)
                json_object_array_add(a, json_object_new_string(*v));
        return a;
}

static int cmd_features(const struct rt_globals *g, int argc, char **argv)
{
        if (argc != 1)
                return rt_usage_error(&rt_cmd_features, "features takes no arguments");
        static const char *const hooks[] = {"prestart",
                                            "createRuntime",
                                            "createContainer",
                                            "startContainer",
                                            "poststart",
                                            "poststop",
                                            NULL};
        static const char *const mopts[] = {
            "async",         "atime",        "bind",
            "defaults",      "dev",          "diratime",
            "dirsync",       "exec",         "idmap",
            "iversion",      "lazytime",     "loud",
            "mand",          "noatime",      "nodev",
            "nodiratime",    "noexec",       "noiversion",
            "nolazytime",    "nomand",       "norelatime",
            "nostrictatime", "nosuid",       "nosymfollow",
            "private",       "ratime",       "rbind",
            "rdev",          "rdiratime",    "relatime",
            "remount",       "rexec",        "ridmap",
            "rnoatime",      "rnodev",       "rnodiratime",
            "rnoexec",       "rnorelatime",  "rnostrictatime",
            "rnosuid",       "rnosymfollow", "ro",
            "rprivate",      "rrelatime",    "rro",
            "rrw",           "rshared",      "rslave",
            "rstrictatime",  "rsuid",        "rsymfollow",
            "runbindable",   "rw",           "shared",
            "silent",        "slave",        "strictatime",
            "suid",          "symfollow",    "sync",
            "tmpcopyup",     "unbindable",   NULL,
        };
        static const char *const ns[] = {"cgroup", "ipc",  "mount", "network", "pid",
                                         "time",   "user", "uts",   NULL};
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
        json_object_object_add(o, "ociVersionMax", json_object_new_string("1.2.0"));
        json_object_object_add(o, "hooks", strs(hooks));
        json_object_object_add(o, "mountOptions", strs(mopts));
        struct json_object *l = json_object_new_object();
        json_object_object_add(l, "namespaces", strs(ns));
        struct json_object *caps = json_object_new_array();
        for (int c = 0; c <= spec_cap_last(); c++)
                if (spec_cap_name(c))
                        json_object_array_add(caps, json_object_new_string(spec_cap_name(c)));
        json_object_object_add(l, "capabilities", caps);
        struct json_object *cg = json_object_new_object();
        json_object_object_add(cg, "v1", json_object_new_boolean(1));
        json_object_object_add(cg, "v2", json_object_new_boolean(1));
        json_object_object_add(cg, "systemd", json_object_new_boolean(0));
        json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
        json_object_object_add(cg, "rdma", json_object_new_boolean(0));
        json_object_object_add(l, "cgroup", cg);
        struct json_object *sc = json_object_new_object();
        json_object_object_add(sc, "enabled", json_object_new_boolean(1));
        json_object_object_add(sc, "actions", strs(seccomp_known_actions()));
        json_object_object_add(sc, "operators", strs(seccomp_known_operators()));
        json_object_object_add(sc, "archs", strs(seccomp_known_archs()));
        json_object_object_add(sc, "knownFlags", strs(seccomp_known_flags()));
        _cleanup_strv_ char **supported = seccomp_supported_flags();
        static const char *const none[] = {NULL};
        json_object_object_add(sc, "supportedFlags",
                               strs(supported ? (const char *const *)supported : none));
        json_object_object_add(l, "seccomp", sc);
        struct json_object *aa = json_object_new_object();
        json_object_object_add(
            aa, "enabled",
            json_object_new_boolean(access("/sys/kernel/security/apparmor", F_OK) == 0));
        json_object_object_add(l, "apparmor", aa);
        struct json_object *se = json_object_new_object();
        json_object_object_add(
            se, "enabled", json_object_new_boolean(access("/sys/fs/selinux/enforce", F_OK) == 0));
        json_object_object_add(l, "selinux", se);
        struct json_object *rdt = json_object_new_object();
        json_object_object_add(rdt, "enabled", json_object_new_boolean(0));
        json_object_object_add(l, "intelRdt", rdt);
        struct json_object *me = json_object_new_object(), *idm = json_object_new_object();
        json_object_object_add(idm, "enabled", json_object_new_boolean(1));
        json_object_object_add(me, "idmap", idm);
        json_object_object_add(l, "mountExtensions", me);
        json_object_object_add(o, "linux", l);
        struct json_object *ann = json_object_new_object();
        json_object_object_add(ann, "org.opencontainers.runtime-spec.features",
                               json_object_new_string("husk-runtime"));
        json_object_object_add(o, "annotations", ann);
        printf("%s\n", json_pretty(o));
        json_object_put(o);
        return 0;
}

const struct rt_command rt_cmd_features = {
    "features", "print the features this runtime supports (JSON)", "features", cmd_features};
