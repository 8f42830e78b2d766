#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/util.h"
#include "runtime/spec.h"
#include "unit.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

/* Sets (or with value NULL removes) the member at PATH ("a.b[2].c") of DOC,
 * creating nothing: every parent must exist. VALUE is JSON text. */
static void set_path(struct json_object *doc, const char *path, const char *value)
{
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", path);
        struct json_object *cur = doc;
        char *p = buf;
        for (;;) {
                size_t n = strcspn(p, ".[");
                char key[128] = "";
                bool index = false;
                size_t idx = 0;
                if (n > 0) {
                        memcpy(key, p, n);
                        key[n] = '\0';
                        p += n;
                } else if (*p == '[') {
                        index = true;
                        idx = strtoul(p + 1, &p, 10);
                        p++; /* ']' */
                }
                bool last = *p == '\0';
                if (*p == '.')
                        p++;
                if (last) {
                        struct json_object *v = NULL;
                        if (value) {
                                v = json_tokener_parse(value);
                                if (!v && strcmp(value, "null") != 0)
                                        abort();
                        }
                        if (index) {
                                if (v)
                                        json_object_array_put_idx(cur, idx, v);
                                else
                                        json_object_array_del_idx(cur, idx, 1);
                        } else if (value) {
                                json_object_object_add(cur, key, v);
                        } else {
                                json_object_object_del(cur, key);
                        }
                        return;
                }
                struct json_object *next =
                    index ? json_object_array_get_idx(cur, idx) : json_object_object_get(cur, key);
                if (!next)
                        abort();
                cur = next;
        }
}

/* Parses the default spec with one change; returns 0 or the error code. */
static int parse_with(bool rootless, const char *path, const char *value, struct spec **ret,
                      struct error *err)
{
        _cleanup_json_ struct json_object *doc = spec_default(rootless);
        if (path)
                set_path(doc, path, value);
        return spec_parse(json_compact(doc), NULL, ret, err);
}

/* The error message of parsing the default spec with one change. */
static const char *error_with(const char *path, const char *value)
{
        static struct error err;
        struct spec *s = NULL;
        error_clear(&err);
        int r = parse_with(false, path, value, &s, &err);
        if (r >= 0) {
                spec_free(s);
                return "(parsed)";
        }
        return err.msg;
}

#define CAP(n) (UINT64_C(1) << (n))

TEST(spec_default_round_trip)
{
        struct error err = {0};
        struct spec *s = NULL;
        CHECK(parse_with(false, NULL, NULL, &s, &err) == 0);
        if (!s)
                return;
        CHECK_STR(s->oci_version, "1.2.0");
        CHECK_STR(s->root_path, "rootfs");
        CHECK(s->root_readonly);
        CHECK_STR(s->hostname, "runc");
        CHECK(s->has_process);
        CHECK(s->process.terminal);
        CHECK_STR(s->process.args[0], "sh");
        CHECK(s->process.args[1] == NULL);
        CHECK_STR(s->process.cwd, "/");
        CHECK(s->process.no_new_privileges);
        CHECK(s->process.has_caps);
        uint64_t caps = CAP(29) | CAP(5) | CAP(10);
        CHECK(s->process.caps.bounding == caps);
        CHECK(s->process.caps.effective == caps);
        CHECK(s->process.caps.permitted == caps);
        CHECK(s->process.caps.ambient == caps);
        CHECK(s->process.caps.inheritable == 0);
        CHECK(s->process.n_rlimits == 1);
        CHECK(s->process.rlimits[0].resource == RLIMIT_NOFILE);
        CHECK(s->process.rlimits[0].soft == 1024 && s->process.rlimits[0].hard == 1024);
        CHECK(s->n_mounts == 7);
        CHECK_STR(s->mounts[0].destination, "/proc");
        CHECK(s->mounts[0].options == NULL && s->mounts[0].flags == 0 && !s->mounts[0].data);
        CHECK_STR(s->mounts[1].data, "mode=755,size=65536k");
        CHECK(s->mounts[1].flags == (MS_NOSUID | MS_STRICTATIME));
        CHECK_STR(s->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
        CHECK(s->mounts[5].flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
        CHECK_STR(s->mounts[6].type, "cgroup");
        CHECK(s->mounts[6].flags == (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
        CHECK(s->linux.n_namespaces == 5);
        CHECK(spec_find_namespace(s, CLONE_NEWNET) != NULL);
        CHECK(spec_find_namespace(s, CLONE_NEWUSER) == NULL);
        CHECK(spec_find_namespace(s, CLONE_NEWNS)->path == NULL);
        CHECK(strv_len(s->linux.masked_paths) == 10);
        CHECK(strv_len(s->linux.readonly_paths) == 5);
        CHECK(s->linux.resources && json_object_is_type(s->linux.resources, json_type_object));
        CHECK(s->linux.seccomp == NULL);
        CHECK(s->linux.n_uid_mappings == 0);
        CHECK(s->warnings == NULL);
        spec_free(s);
}

TEST(spec_default_rootless_round_trip)
{
        struct error err = {0};
        struct spec *s = NULL;
        CHECK(parse_with(true, NULL, NULL, &s, &err) == 0);
        if (!s)
                return;
        CHECK(spec_find_namespace(s, CLONE_NEWNET) == NULL);
        CHECK(spec_find_namespace(s, CLONE_NEWUSER) != NULL);
        CHECK(s->linux.n_uid_mappings == 1 && s->linux.n_gid_mappings == 1);
        CHECK(s->linux.uid_mappings[0].container_id == 0);
        CHECK(s->linux.uid_mappings[0].host_id == getuid());
        CHECK(s->linux.gid_mappings[0].host_id == getgid());
        CHECK(s->linux.uid_mappings[0].size == 1);
        CHECK_STR(s->mounts[5].source, "/sys");
        CHECK(s->mounts[5].flags ==
              (MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
        CHECK_STR(s->mounts[2].data, "newinstance,ptmxmode=0666,mode=0620");
        CHECK(s->linux.resources == NULL);
        spec_free(s);
}

TEST(spec_errors_name_the_path)
{
        CHECK_STR(error_with("process.rlimits[0].hard", "\"x\""),
                  "process.rlimits[0].hard: expected an unsigned integer");
        CHECK_STR(error_with("process.rlimits[0].hard", "-1"),
                  "process.rlimits[0].hard: expected an unsigned integer, got -1");
        CHECK_STR(error_with("linux.namespaces[2].type", "\"foo\""),
                  "linux.namespaces[2].type: unknown namespace type 'foo'");
        CHECK_STR(error_with("linux.namespaces[2].type", "\"pid\""),
                  "linux.namespaces[2].type: duplicate namespace type 'pid'");
        CHECK_STR(error_with("linux.namespaces[1].path", "\"ns/net\""),
                  "linux.namespaces[1].path: must be an absolute path");
        CHECK_STR(error_with("mounts[0].destination", "\"proc\""),
                  "mounts[0].destination: must be an absolute path");
        CHECK_STR(error_with("mounts[0].destination", NULL), "mounts[0].destination: required");
        CHECK_STR(error_with("process.args", "[]"), "process.args: must not be empty");
        CHECK_STR(error_with("process.args", NULL), "process.args: must not be empty");
        CHECK_STR(error_with("process.cwd", "\"tmp\""), "process.cwd: must be an absolute path");
        CHECK_STR(error_with("process.cwd", NULL), "process.cwd: must not be empty");
        CHECK_STR(error_with("root", NULL), "root: required");
        CHECK_STR(error_with("root.path", NULL), "root.path: required");
        CHECK_STR(error_with("root.path", "\"\""), "root.path: required");
        CHECK_STR(error_with("ociVersion", NULL), "ociVersion: required");
        CHECK_STR(error_with("ociVersion", "1"), "ociVersion: expected a string");
        CHECK_STR(error_with("process.rlimits[0].type", "\"RLIMIT_FOO\""),
                  "process.rlimits[0].type: unknown rlimit type 'RLIMIT_FOO'");
        CHECK_STR(
            error_with("process.rlimits[1]", "{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2}"),
            "process.rlimits[1].type: duplicate rlimit type 'RLIMIT_NOFILE'");
        CHECK_STR(error_with("process.rlimits[0].soft", NULL), "process.rlimits[0].soft: required");
}

TEST(spec_null_is_absent)
{
        struct error err = {0};
        struct spec *s = NULL;
        CHECK(parse_with(false, "hostname", "null", &s, &err) == 0);
        if (s)
                CHECK(s->hostname == NULL);
        spec_free(s);
        s = NULL;
        CHECK(parse_with(false, "linux.resources", "null", &s, &err) == 0);
        if (s)
                CHECK(s->linux.resources == NULL);
        spec_free(s);
        CHECK_STR(error_with("root", "null"), "root: required");
}

static const char full_config[] =
    "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"/"
    "r\",\"readonly\":false},\"hostname\":\"h\",\"domainname\":\"d\","
    "\"process\":{\"terminal\":false,\"consoleSize\":{\"height\":24,\"width\":80},\"user\":{"
    "\"uid\":1,\"gid\":2,\"umask\":18,\"additionalGids\":[3,4]},"
    "\"args\":[\"a\",\"b\"],\"env\":[\"A=1\"],\"cwd\":\"/"
    "w\",\"capabilities\":{\"bounding\":[\"CAP_SYS_ADMIN\",\"CAP_FOO\"],\"inheritable\":[\"CAP_"
    "CHOWN\"]},"
    "\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,\"hard\":"
    "18446744073709551615}],\"noNewPrivileges\":false,"
    "\"apparmorProfile\":\"p\",\"oomScoreAdj\":-500,\"selinuxLabel\":\"l\"},"
    "\"mounts\":[{\"destination\":\"/m\",\"type\":\"bind\",\"source\":\"/"
    "s\",\"options\":[\"rbind\",\"rro\",\"rnoatime\",\"nosymfollow\",\"rslave\",\"idmap\","
    "\"tmpcopyup\",\"size=1\",\"x=y\"],"
    "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],\"gidMappings\":[{"
    "\"containerID\":0,\"hostID\":1000,\"size\":10}]}],"
    "\"hooks\":{\"prestart\":[{\"path\":\"/bin/"
    "true\",\"args\":[\"true\"],\"env\":[\"X=1\"],\"timeout\":5}],\"createRuntime\":[{\"path\":\"/"
    "a\"}],\"createContainer\":[{\"path\":\"/b\"}],"
    "\"startContainer\":[{\"path\":\"/c\"}],\"poststart\":[{\"path\":\"/"
    "d\"}],\"poststop\":[{\"path\":\"/e\"}]},"
    "\"annotations\":{\"a\":\"b\",\"c\":\"d\"},"
    "\"linux\":{\"namespaces\":[{\"type\":\"user\"},{\"type\":\"time\"},{\"type\":\"cgroup\"},{"
    "\"type\":\"network\",\"path\":\"/proc/1/ns/"
    "net\"},{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"ipc\"}],"
    "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],\"gidMappings\":[{"
    "\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
    "\"timeOffsets\":{\"monotonic\":{\"secs\":-10,\"nanosecs\":5},\"boottime\":{\"secs\":20}},"
    "\"devices\":[{\"type\":\"c\",\"path\":\"/dev/"
    "null\",\"major\":1,\"minor\":3,\"fileMode\":438,\"uid\":0,\"gid\":0},{\"type\":\"p\",\"path\":"
    "\"/dev/fifo\"},{\"type\":\"u\",\"path\":\"/dev/u\",\"major\":1,\"minor\":5}],"
    "\"cgroupsPath\":\"a/b\",\"rootfsPropagation\":\"rshared\",\"maskedPaths\":[\"/"
    "x\"],\"readonlyPaths\":[\"/"
    "y\"],\"sysctl\":{\"net.ipv4.ip_forward\":\"1\",\"kernel.shmmax\":\"1\"},"
    "\"mountLabel\":\"ml\",\"resources\":{\"memory\":{\"limit\":1}},\"seccomp\":{\"defaultAction\":"
    "\"SCMP_ACT_ALLOW\"},\"personality\":{\"domain\":\"LINUX32\"}}}";

TEST(spec_full_config)
{
        struct error err = {0};
        struct spec *s = NULL;
        CHECK(spec_parse(full_config, NULL, &s, &err) == 0);
        if (!s) {
                printf("  %s\n", err.msg);
                *unit_failed = 1;
                return;
        }
        CHECK_STR(s->root_path, "/r");
        CHECK(!s->root_readonly);
        CHECK_STR(s->hostname, "h");
        CHECK_STR(s->domainname, "d");
        struct spec_process *p = &s->process;
        CHECK(!p->terminal);
        CHECK(p->has_console_size && p->console_height == 24 && p->console_width == 80);
        CHECK(p->user.uid == 1 && p->user.gid == 2);
        CHECK(p->user.has_umask && p->user.umask == 022);
        CHECK(p->user.n_additional_gids == 2 && p->user.additional_gids[0] == 3 &&
              p->user.additional_gids[1] == 4);
        CHECK(strv_len(p->args) == 2 && strv_len(p->env) == 1);
        CHECK_STR(p->cwd, "/w");
        CHECK(p->caps.bounding == CAP(21));
        CHECK(p->caps.inheritable == CAP(0));
        CHECK(p->caps.effective == 0 && p->caps.permitted == 0 && p->caps.ambient == 0);
        CHECK(strv_len(s->warnings) == 1);
        if (s->warnings)
                CHECK_STR(s->warnings[0],
                          "process.capabilities.bounding[1]: unknown capability 'CAP_FOO' ignored");
        CHECK(p->n_rlimits == 1 && p->rlimits[0].resource == RLIMIT_CORE);
        CHECK_STR(p->rlimits[0].name, "RLIMIT_CORE");
        CHECK(p->rlimits[0].soft == UINT64_MAX && p->rlimits[0].hard == UINT64_MAX);
        CHECK(!p->no_new_privileges);
        CHECK_STR(p->apparmor_profile, "p");
        CHECK(p->has_oom_score_adj && p->oom_score_adj == -500);
        CHECK_STR(p->selinux_label, "l");

        CHECK(s->n_mounts == 1);
        struct spec_mount *m = &s->mounts[0];
        CHECK_STR(m->type, "bind");
        CHECK_STR(m->source, "/s");
        CHECK(strv_len(m->options) == 9);
        CHECK(m->flags == (MS_BIND | MS_REC | MS_NOSYMFOLLOW));
        CHECK(m->propagation == (MS_SLAVE | MS_REC));
        CHECK(m->rro && m->idmap && !m->ridmap);
        CHECK(m->attr_set == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME));
        CHECK(m->attr_clr == MOUNT_ATTR__ATIME);
        CHECK_STR(m->data, "size=1,x=y");
        CHECK(m->n_uid_mappings == 1 && m->uid_mappings[0].host_id == 1000 &&
              m->uid_mappings[0].size == 10);
        CHECK(m->n_gid_mappings == 1);

        struct spec_hooks *h = &s->hooks;
        CHECK(h->n_prestart == 1 && h->n_create_runtime == 1 && h->n_create_container == 1 &&
              h->n_start_container == 1 && h->n_poststart == 1 && h->n_poststop == 1);
        CHECK_STR(h->prestart[0].path, "/bin/true");
        CHECK(h->prestart[0].timeout == 5);
        CHECK(strv_len(h->prestart[0].args) == 1 && strv_len(h->prestart[0].env) == 1);
        CHECK_STR(h->create_runtime[0].path, "/a");
        CHECK(h->create_runtime[0].timeout == 0 && !h->create_runtime[0].args);
        CHECK_STR(h->create_container[0].path, "/b");
        CHECK_STR(h->start_container[0].path, "/c");
        CHECK_STR(h->poststart[0].path, "/d");
        CHECK_STR(h->poststop[0].path, "/e");

        CHECK(s->n_annotations == 2);
        CHECK_STR(s->annotations[0].key, "a");
        CHECK_STR(s->annotations[0].value, "b");

        struct spec_linux *l = &s->linux;
        CHECK(l->n_namespaces == 7);
        CHECK(spec_find_namespace(s, CLONE_NEWUSER) && spec_find_namespace(s, CLONE_NEWTIME) &&
              spec_find_namespace(s, CLONE_NEWCGROUP));
        CHECK(spec_find_namespace(s, CLONE_NEWPID) == NULL);
        CHECK_STR(spec_find_namespace(s, CLONE_NEWNET)->path, "/proc/1/ns/net");
        CHECK(l->n_uid_mappings == 1 && l->uid_mappings[0].host_id == 100000 &&
              l->uid_mappings[0].size == 65536);
        CHECK(l->n_time_offsets == 2);
        CHECK(l->time_offsets[0].clock == CLOCK_MONOTONIC && l->time_offsets[0].secs == -10 &&
              l->time_offsets[0].nanosecs == 5);
        CHECK(l->time_offsets[1].clock == CLOCK_BOOTTIME && l->time_offsets[1].secs == 20);
        CHECK(l->n_devices == 3);
        CHECK(l->devices[0].type == 'c' && l->devices[0].major == 1 && l->devices[0].minor == 3);
        CHECK(l->devices[0].has_file_mode && l->devices[0].file_mode == 0666);
        CHECK(l->devices[0].has_uid && l->devices[0].has_gid);
        CHECK(l->devices[1].type == 'p' && !l->devices[1].has_file_mode);
        CHECK(l->devices[2].type == 'c' && l->devices[2].minor == 5);
        CHECK_STR(l->cgroups_path, "a/b");
        CHECK(l->rootfs_propagation == (MS_SHARED | MS_REC));
        CHECK(strv_len(l->masked_paths) == 1 && strv_len(l->readonly_paths) == 1);
        CHECK(l->n_sysctl == 2);
        CHECK_STR(l->sysctl[0].key, "net.ipv4.ip_forward");
        CHECK_STR(l->sysctl[0].value, "1");
        CHECK_STR(l->mount_label, "ml");
        CHECK(l->resources && json_object_object_get(l->resources, "memory"));
        CHECK(l->seccomp && json_object_object_get(l->seccomp, "defaultAction"));
        CHECK(l->has_personality && l->personality == PER_LINUX32);
        spec_free(s);
}

/* Flags from one mount's options. */
static struct spec *mount_with(const char *options, struct error *err)
{
        char value[1024];
        snprintf(value, sizeof(value),
                 "{\"destination\":\"/m\",\"type\":\"tmpfs\",\"source\":\"t\",\"options\":%s}",
                 options);
        struct spec *s = NULL;
        if (parse_with(false, "mounts[0]", value, &s, err) < 0)
                return NULL;
        return s;
}

TEST(spec_mount_options)
{
        struct error err = {0};
        struct spec *s;
        struct {
                const char *options;
                unsigned long flags, clear_flags, propagation;
                const char *data;
        } cases[] = {
            {"[\"ro\"]", MS_RDONLY, 0, 0, NULL},
            {"[\"ro\",\"rw\"]", 0, MS_RDONLY, 0, NULL},
            {"[\"rw\",\"ro\"]", MS_RDONLY, 0, 0, NULL},
            {"[\"suid\",\"dev\",\"exec\",\"async\"]", 0,
             MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS, 0, NULL},
            {"[\"nosuid\",\"nodev\",\"noexec\",\"sync\",\"dirsync\",\"remount\",\"mand\"]",
             MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_DIRSYNC | MS_REMOUNT |
                 MS_MANDLOCK,
             0, 0, NULL},
            {"[\"nomand\",\"atime\",\"diratime\",\"norelatime\",\"nostrictatime\"]", 0,
             MS_MANDLOCK | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME, 0, NULL},
            {"[\"noatime\",\"nodiratime\",\"relatime\",\"strictatime\",\"lazytime\"]",
             MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME, 0, 0, NULL},
            {"[\"bind\"]", MS_BIND, 0, 0, NULL},
            {"[\"rbind\"]", MS_BIND | MS_REC, 0, 0, NULL},
            {"[\"shared\"]", 0, 0, MS_SHARED, NULL},
            {"[\"rshared\"]", 0, 0, MS_SHARED | MS_REC, NULL},
            {"[\"slave\"]", 0, 0, MS_SLAVE, NULL},
            {"[\"rslave\"]", 0, 0, MS_SLAVE | MS_REC, NULL},
            {"[\"private\"]", 0, 0, MS_PRIVATE, NULL},
            {"[\"rprivate\"]", 0, 0, MS_PRIVATE | MS_REC, NULL},
            {"[\"unbindable\"]", 0, 0, MS_UNBINDABLE, NULL},
            {"[\"runbindable\"]", 0, 0, MS_UNBINDABLE | MS_REC, NULL},
            {"[\"shared\",\"rprivate\"]", 0, 0, MS_PRIVATE | MS_REC, NULL},
            {"[\"tmpcopyup\"]", 0, 0, 0, NULL},
            {"[\"nosymfollow\"]", MS_NOSYMFOLLOW, 0, 0, NULL},
            {"[\"mode=755\",\"ro\",\"size=1k\",\"\"]", MS_RDONLY, 0, 0, "mode=755,size=1k"},
            {"[\"uid=5\"]", 0, 0, 0, "uid=5"},
            {"[]", 0, 0, 0, NULL},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                s = mount_with(cases[i].options, &err);
                CHECK(s != NULL);
                if (!s)
                        continue;
                struct spec_mount *m = &s->mounts[0];
                if (m->flags != cases[i].flags || m->clear_flags != cases[i].clear_flags ||
                    m->propagation != cases[i].propagation ||
                    (cases[i].data ? !m->data || strcmp(m->data, cases[i].data) : !!m->data)) {
                        printf("  options %s: flags %#lx clear %#lx prop %#lx data %s\n",
                               cases[i].options, m->flags, m->clear_flags, m->propagation,
                               m->data ? m->data : "(null)");
                        *unit_failed = 1;
                }
                CHECK(m->attr_set == 0 && m->attr_clr == 0 && !m->rro && !m->idmap);
                spec_free(s);
        }
}

TEST(spec_mount_recursive_attrs)
{
        struct error err = {0};
        struct {
                const char *options;
                uint64_t set, clr;
                bool rro;
        } cases[] = {
            {"[\"rro\"]", MOUNT_ATTR_RDONLY, 0, true},
            {"[\"rro\",\"rrw\"]", 0, MOUNT_ATTR_RDONLY, false},
            {"[\"rnosuid\",\"rnodev\",\"rnoexec\",\"rnodiratime\",\"rnosymfollow\"]",
             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
                 MOUNT_ATTR_NOSYMFOLLOW,
             0, false},
            {"[\"rsuid\",\"rdev\",\"rexec\",\"rdiratime\",\"rsymfollow\"]", 0,
             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
                 MOUNT_ATTR_NOSYMFOLLOW,
             false},
            {"[\"rnoatime\"]", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME, false},
            {"[\"rstrictatime\"]", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME, false},
            {"[\"rnoatime\",\"rrelatime\"]", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME, false},
            {"[\"rnoatime\",\"ratime\"]", 0, MOUNT_ATTR__ATIME, false},
            {"[\"rnorelatime\"]", 0, MOUNT_ATTR__ATIME, false},
            {"[\"rnostrictatime\"]", 0, MOUNT_ATTR__ATIME, false},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct spec *s = mount_with(cases[i].options, &err);
                CHECK(s != NULL);
                if (!s)
                        continue;
                struct spec_mount *m = &s->mounts[0];
                if (m->attr_set != cases[i].set || m->attr_clr != cases[i].clr ||
                    m->rro != cases[i].rro || m->flags || m->data) {
                        printf("  options %s: set %#" PRIx64 " clr %#" PRIx64 " rro %d\n",
                               cases[i].options, m->attr_set, m->attr_clr, m->rro);
                        *unit_failed = 1;
                }
                spec_free(s);
        }
        struct spec *s = mount_with("[\"ridmap\"]", &err);
        CHECK(s && s->mounts[0].ridmap && !s->mounts[0].idmap && !s->mounts[0].data);
        spec_free(s);
}

TEST(spec_mount_errors)
{
        CHECK_STR(error_with("mounts[1].options", "\"ro\""),
                  "mounts[1].options: expected an array");
        CHECK_STR(error_with("mounts[1].options[1]", "7"),
                  "mounts[1].options[1]: expected a string");
        CHECK_STR(error_with("mounts[1].type", "{}"), "mounts[1].type: expected a string");
        CHECK_STR(error_with("mounts[1].source", "[]"), "mounts[1].source: expected a string");
        CHECK_STR(error_with("mounts[3]", "\"x\""), "mounts[3]: expected an object");
        CHECK_STR(error_with("mounts", "{}"), "mounts: expected an array");
        CHECK_STR(
            error_with("mounts[0].uidMappings", "[{\"containerID\":0,\"hostID\":1,\"size\":1}]"),
            "mounts[0]: uidMappings and gidMappings must be given together");
        CHECK_STR(error_with("mounts[0].uidMappings", "[{\"containerID\":0,\"hostID\":1}]"),
                  "mounts[0].uidMappings[0].size: required");
}

TEST(spec_capabilities)
{
        CHECK(spec_cap_from_name("CAP_CHOWN") == 0);
        CHECK(spec_cap_from_name("CAP_SYS_ADMIN") == 21);
        CHECK(spec_cap_from_name("CAP_CHECKPOINT_RESTORE") == 40);
        CHECK(spec_cap_from_name("cap_chown") == -1);
        CHECK(spec_cap_from_name("SYS_ADMIN") == -1);
        CHECK(spec_cap_from_name(NULL) == -1);
        for (int i = 0; i <= 40; i++) {
                const char *n = spec_cap_name(i);
                CHECK(n && spec_cap_from_name(n) == i);
        }
        CHECK(spec_cap_name(41) == NULL && spec_cap_name(-1) == NULL);
        int last = spec_cap_last();
        CHECK(last >= 36 && last < 64);
        CHECK(spec_cap_last() == last);

        struct error err = {0};
        struct spec *s = NULL;
        CHECK(parse_with(false, "process.capabilities",
                         "{\"bounding\":[\"CAP_SYS_ADMIN\",\"CAP_NOPE\",\"CAP_CHOWN\"],"
                         "\"effective\":[\"CAP_KILL\"],\"inheritable\":[],\"permitted\":null,"
                         "\"ambient\":[\"CAP_NET_RAW\",\"CAP_NET_RAW\"]}",
                         &s, &err) == 0);
        if (!s)
                return;
        CHECK(s->process.has_caps);
        CHECK(s->process.caps.bounding == (CAP(21) | CAP(0)));
        CHECK(s->process.caps.effective == CAP(5));
        CHECK(s->process.caps.inheritable == 0 && s->process.caps.permitted == 0);
        CHECK(s->process.caps.ambient == CAP(13));
        CHECK(strv_len(s->warnings) == 1);
        CHECK_STR(s->warnings ? s->warnings[0] : NULL,
                  "process.capabilities.bounding[1]: unknown capability 'CAP_NOPE' ignored");
        spec_free(s);

        s = NULL;
        CHECK(parse_with(false, "process.capabilities", NULL, &s, &err) == 0);
        CHECK(s && !s->process.has_caps && s->process.caps.bounding == 0);
        spec_free(s);

        CHECK_STR(error_with("process.capabilities", "[]"),
                  "process.capabilities: expected an object");
        CHECK_STR(error_with("process.capabilities.effective", "\"CAP_KILL\""),
                  "process.capabilities.effective: expected an array");
        CHECK_STR(error_with("process.capabilities.effective[2]", "false"),
                  "process.capabilities.effective[2]: expected a string");
}

TEST(spec_rlimits)
{
        struct error err = {0};
        struct spec *s = NULL;
        CHECK(parse_with(false, "process.rlimits",
                         "[{\"type\":\"RLIMIT_NOFILE\",\"soft\":18446744073709551615,"
                         "\"hard\":18446744073709551615},"
                         "{\"type\":\"RLIMIT_STACK\",\"soft\":0,\"hard\":9223372036854775808},"
                         "{\"type\":\"RLIMIT_RTTIME\",\"soft\":1,\"hard\":1}]",
                         &s, &err) == 0);
        if (!s)
                return;
        CHECK(s->process.n_rlimits == 3);
        CHECK(s->process.rlimits[0].soft == UINT64_MAX && s->process.rlimits[0].hard == UINT64_MAX);
        CHECK(s->process.rlimits[0].resource == RLIMIT_NOFILE);
        CHECK(s->process.rlimits[1].resource == RLIMIT_STACK);
        CHECK(s->process.rlimits[1].hard == UINT64_C(9223372036854775808));
        CHECK(s->process.rlimits[2].resource == RLIMIT_RTTIME);
        spec_free(s);

        CHECK_STR(error_with("process.rlimits[0].soft", "1.5"),
                  "process.rlimits[0].soft: expected an unsigned integer");
        CHECK_STR(error_with("process.rlimits[0].soft", "2048"),
                  "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024");
        CHECK_STR(error_with("process.rlimits[0].type", "\"nofile\""),
                  "process.rlimits[0].type: unknown rlimit type 'nofile'");
        CHECK_STR(error_with("process.rlimits[0].type", NULL), "process.rlimits[0].type: required");
        CHECK_STR(error_with("process.rlimits[0].hard", NULL), "process.rlimits[0].hard: required");
        CHECK_STR(error_with("process.rlimits[0]", "[]"), "process.rlimits[0]: expected an object");
        CHECK_STR(error_with("process.rlimits", "{}"), "process.rlimits: expected an array");
}

TEST(spec_namespaces)
{
        CHECK(spec_ns_type_from_name("pid") == CLONE_NEWPID);
        CHECK(spec_ns_type_from_name("network") == CLONE_NEWNET);
        CHECK(spec_ns_type_from_name("mount") == CLONE_NEWNS);
        CHECK(spec_ns_type_from_name("ipc") == CLONE_NEWIPC);
        CHECK(spec_ns_type_from_name("uts") == CLONE_NEWUTS);
        CHECK(spec_ns_type_from_name("user") == CLONE_NEWUSER);
        CHECK(spec_ns_type_from_name("cgroup") == CLONE_NEWCGROUP);
        CHECK(spec_ns_type_from_name("time") == CLONE_NEWTIME);
        CHECK(spec_ns_type_from_name("net") == -1);
        CHECK(spec_ns_type_from_name(NULL) == -1);
        CHECK_STR(spec_ns_name(CLONE_NEWNET), "network");
        CHECK_STR(spec_ns_name(CLONE_NEWNS), "mount");
        CHECK(spec_ns_name(0) == NULL);

        struct error err = {0};
        struct spec *s = NULL;
        CHECK(parse_with(false, "linux.namespaces[1].path", "\"\"", &s, &err) == 0);
        CHECK(s && spec_find_namespace(s, CLONE_NEWNET)->path == NULL);
        spec_free(s);

        CHECK_STR(error_with("linux.namespaces[0].type", NULL),
                  "linux.namespaces[0].type: required");
        CHECK_STR(error_with("linux.namespaces[0].type", "1"),
                  "linux.namespaces[0].type: expected a string");
        CHECK_STR(error_with("linux.namespaces[4]", "{\"type\":\"network\"}"),
                  "linux.namespaces[4].type: duplicate namespace type 'network'");
        CHECK_STR(error_with("linux.namespaces", "{}"), "linux.namespaces: expected an array");
        CHECK_STR(error_with("linux", "[]"), "linux: expected an object");
        /* A hostname needs a uts namespace, as in runc. */
        CHECK_STR(error_with("linux.namespaces[3]", NULL), "hostname: requires a uts namespace");
}

static const char *rootless_error_with(const char *path, const char *value)
{
        static struct error err;
        struct spec *s = NULL;
        error_clear(&err);
        if (parse_with(true, path, value, &s, &err) >= 0) {
                spec_free(s);
                return "(parsed)";
        }
        return err.msg;
}

TEST(spec_id_mappings)
{
        CHECK_STR(rootless_error_with("linux.uidMappings[0].size", "0"),
                  "linux.uidMappings[0].size: must be greater than zero");
        CHECK_STR(rootless_error_with("linux.uidMappings[0].size", "4294967296"),
                  "linux.uidMappings[0].size: expected an unsigned 32-bit integer");
        CHECK_STR(rootless_error_with("linux.uidMappings[0].hostID", "-1"),
                  "linux.uidMappings[0].hostID: expected an unsigned integer, got -1");
        CHECK_STR(rootless_error_with("linux.gidMappings[0].hostID", NULL),
                  "linux.gidMappings[0].hostID: required");
        CHECK_STR(rootless_error_with("linux.gidMappings[0].containerID", "\"0\""),
                  "linux.gidMappings[0].containerID: expected an unsigned integer");
        CHECK_STR(rootless_error_with("linux.uidMappings[0]",
                                      "{\"containerID\":4294967295,\"hostID\":0,\"size\":2}"),
                  "linux.uidMappings[0]: range exceeds 32-bit ids");
        CHECK_STR(rootless_error_with("linux.uidMappings[1]",
                                      "{\"containerID\":0,\"hostID\":100,\"size\":2}"),
                  "linux.uidMappings[1]: container ids overlap with linux.uidMappings[0]");
        CHECK_STR(rootless_error_with("linux.uidMappings[1]",
                                      "{\"containerID\":1,\"hostID\":0,\"size\":2}"),
                  "linux.uidMappings[1]: host ids overlap with linux.uidMappings[0]");
        CHECK_STR(rootless_error_with("linux.uidMappings[1]",
                                      "{\"containerID\":1,\"hostID\":1,\"size\":2}"),
                  "(parsed)");
        CHECK_STR(rootless_error_with("linux.uidMappings", "{}"),
                  "linux.uidMappings: expected an array");
        CHECK_STR(rootless_error_with("linux.uidMappings", "[]"),
                  "linux.uidMappings: required with a new user namespace");
        CHECK_STR(rootless_error_with("linux.gidMappings", NULL),
                  "linux.gidMappings: required with a new user namespace");
        /* Joining a user namespace needs no mappings. */
        CHECK_STR(rootless_error_with("linux.namespaces[4].path", "\"/proc/1/ns/user\""),
                  "(parsed)");
        CHECK_STR(error_with("linux.uidMappings", "[{\"containerID\":0,\"hostID\":0,\"size\":1}]"),
                  "linux.uidMappings: requires a user namespace");
}

TEST(spec_devices)
{
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"c\",\"path\":\"/dev/x\",\"major\":1}]"),
                  "linux.devices[0].minor: required");
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"b\",\"path\":\"/dev/x\",\"minor\":1}]"),
                  "linux.devices[0].major: required");
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"u\",\"path\":\"/dev/x\"}]"),
                  "linux.devices[0].major: required");
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"p\",\"path\":\"/dev/x\"}]"),
                  "(parsed)");
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"x\",\"path\":\"/dev/x\"}]"),
                  "linux.devices[0].type: unknown device type 'x' (expected c, b, u or p)");
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"cc\",\"path\":\"/dev/x\"}]"),
                  "linux.devices[0].type: unknown device type 'cc' (expected c, b, u or p)");
        CHECK_STR(error_with("linux.devices", "[{\"path\":\"/dev/x\"}]"),
                  "linux.devices[0].type: required");
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"p\",\"path\":\"dev/x\"}]"),
                  "linux.devices[0].path: must be an absolute path");
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"p\"}]"),
                  "linux.devices[0].path: required");
        CHECK_STR(error_with("linux.devices",
                             "[{\"type\":\"c\",\"path\":\"/d\",\"major\":1,\"minor\":\"3\"}]"),
                  "linux.devices[0].minor: expected an integer");
        CHECK_STR(error_with("linux.devices",
                             "[{\"type\":\"c\",\"path\":\"/d\",\"major\":-1,\"minor\":3}]"),
                  "linux.devices[0].major: out of range");
        /* Podman's fileMode carries the file type (8630 = 020666); only the permissions stay. */
        struct spec *s = NULL;
        struct error e = {0};
        CHECK(parse_with(false, "linux.devices",
                         "[{\"type\":\"c\",\"path\":\"/dev/n\",\"major\":1,\"minor\":3,"
                         "\"fileMode\":8630}]",
                         &s, &e) == 0);
        CHECK(s && s->linux.n_devices == 1 && s->linux.devices[0].file_mode == 0666);
        spec_free(s);
        CHECK_STR(
            error_with("linux.devices", "[{\"type\":\"p\",\"path\":\"/d\",\"fileMode\":1048576}]"),
            "linux.devices[0].fileMode: only permission and file type bits");
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"p\",\"path\":\"/d\",\"fileMode\":-1}]"),
                  "linux.devices[0].fileMode: expected an unsigned integer, got -1");
        CHECK_STR(error_with("linux.devices", "[{\"type\":\"p\",\"path\":\"/d\",\"uid\":true}]"),
                  "linux.devices[0].uid: expected an unsigned integer");
}

TEST(spec_hooks)
{
        CHECK_STR(error_with("hooks", "{\"prestart\":[{\"path\":\"true\"}]}"),
                  "hooks.prestart[0].path: must be an absolute path");
        CHECK_STR(error_with("hooks", "{\"poststop\":[{\"args\":[]}]}"),
                  "hooks.poststop[0].path: required");
        CHECK_STR(error_with("hooks", "{\"createRuntime\":[{\"path\":\"/x\",\"timeout\":0}]}"),
                  "hooks.createRuntime[0].timeout: must be greater than zero");
        CHECK_STR(error_with("hooks", "{\"createContainer\":[{\"path\":\"/x\",\"timeout\":-5}]}"),
                  "hooks.createContainer[0].timeout: must be greater than zero");
        CHECK_STR(error_with("hooks", "{\"startContainer\":[{\"path\":\"/x\",\"timeout\":\"5\"}]}"),
                  "hooks.startContainer[0].timeout: expected an integer");
        CHECK_STR(error_with("hooks", "{\"poststart\":[{\"path\":\"/x\",\"args\":[1]}]}"),
                  "hooks.poststart[0].args[0]: expected a string");
        CHECK_STR(error_with("hooks", "{\"poststart\":{}}"), "hooks.poststart: expected an array");
        CHECK_STR(error_with("hooks", "[]"), "hooks: expected an object");
        CHECK_STR(error_with("hooks", "{\"prestart\":[],\"unknown\":5}"), "(parsed)");
}

TEST(spec_linux_fields)
{
        CHECK_STR(error_with("linux.namespaces[5]", "{\"type\":\"time\"}"), "(parsed)");
        CHECK_STR(error_with("linux.timeOffsets", "{\"monotonic\":{\"secs\":1}}"),
                  "linux.timeOffsets: requires a new time namespace");
        CHECK_STR(error_with("linux.timeOffsets", "{\"realtime\":{\"secs\":1}}"),
                  "linux.timeOffsets.realtime: unknown clock 'realtime' (expected 'monotonic' or "
                  "'boottime')");
        CHECK_STR(error_with("linux.timeOffsets", "{\"boottime\":{\"secs\":\"1\"}}"),
                  "linux.timeOffsets.boottime.secs: expected an integer");
        CHECK_STR(error_with("linux.timeOffsets", "{\"boottime\":{\"nanosecs\":1000000000}}"),
                  "linux.timeOffsets.boottime.nanosecs: must be below 1000000000");
        CHECK_STR(error_with("linux.timeOffsets", "{\"boottime\":5}"),
                  "linux.timeOffsets.boottime: expected an object");

        CHECK_STR(error_with("linux.sysctl", "{\"net.ipv4.ip_forward\":1}"),
                  "linux.sysctl.net.ipv4.ip_forward: expected a string");
        CHECK_STR(error_with("linux.sysctl", "[\"a=b\"]"), "linux.sysctl: expected an object");
        CHECK_STR(error_with("linux.sysctl", "{\"net.ipv4.ip_forward\":\"1\","
                                             "\"kernel.shmmax\":\"1\",\"fs.mqueue.msg_max\":\"5\","
                                             "\"kernel.domainname\":\"x\"}"),
                  "(parsed)");
        CHECK_STR(error_with("linux.sysctl", "{\"vm.swappiness\":\"1\"}"),
                  "linux.sysctl: 'vm.swappiness' is not in a namespace of its own");
        CHECK_STR(error_with("linux.sysctl", "{\"kernel.hostname\":\"x\"}"),
                  "linux.sysctl: 'kernel.hostname' conflicts with the 'hostname' field");
        CHECK_STR(rootless_error_with("linux.sysctl", "{\"net.core.somaxconn\":\"1\"}"),
                  "linux.sysctl: 'net.core.somaxconn' requires a network namespace of the "
                  "container's own");

        struct {
                const char *value;
                unsigned long flags;
        } props[] = {
            {"\"shared\"", MS_SHARED},
            {"\"rshared\"", MS_SHARED | MS_REC},
            {"\"slave\"", MS_SLAVE},
            {"\"rslave\"", MS_SLAVE | MS_REC},
            {"\"private\"", MS_PRIVATE},
            {"\"rprivate\"", MS_PRIVATE | MS_REC},
            {"\"unbindable\"", MS_UNBINDABLE},
            {"\"runbindable\"", MS_UNBINDABLE | MS_REC},
            {"\"\"", 0},
        };
        for (size_t i = 0; i < ARRAY_SIZE(props); i++) {
                struct error err = {0};
                struct spec *s = NULL;
                CHECK(parse_with(false, "linux.rootfsPropagation", props[i].value, &s, &err) == 0);
                CHECK(s && s->linux.rootfs_propagation == props[i].flags);
                spec_free(s);
        }
        CHECK_STR(error_with("linux.rootfsPropagation", "\"rsharedx\""),
                  "linux.rootfsPropagation: unknown propagation 'rsharedx'");
        CHECK_STR(error_with("linux.rootfsPropagation", "1"),
                  "linux.rootfsPropagation: expected a string");

        struct error err = {0};
        struct spec *s = NULL;
        CHECK(parse_with(false, "linux.personality", "{\"domain\":\"LINUX\"}", &s, &err) == 0);
        CHECK(s && s->linux.has_personality && s->linux.personality == PER_LINUX);
        spec_free(s);
        CHECK_STR(error_with("linux.personality", "{\"domain\":\"BSD\"}"),
                  "linux.personality.domain: unknown domain 'BSD' (expected 'LINUX' or 'LINUX32')");
        CHECK_STR(error_with("linux.personality", "{}"), "linux.personality.domain: required");
        CHECK_STR(error_with("linux.resources", "[]"), "linux.resources: expected an object");
        CHECK_STR(error_with("linux.seccomp", "\"x\""), "linux.seccomp: expected an object");
        CHECK_STR(error_with("linux.maskedPaths[2]", "{}"),
                  "linux.maskedPaths[2]: expected a string");
        CHECK_STR(error_with("linux.cgroupsPath", "5"), "linux.cgroupsPath: expected a string");
        CHECK_STR(error_with("annotations", "{\"a\":{}}"), "annotations.a: expected a string");
        CHECK_STR(error_with("annotations", "{\"a\":null,\"b\":\"c\"}"), "(parsed)");
}

TEST(spec_process_fields)
{
        CHECK_STR(error_with("process", "[]"), "process: expected an object");
        CHECK_STR(error_with("process.terminal", "1"), "process.terminal: expected a boolean");
        CHECK_STR(error_with("process.user.uid", "-1"),
                  "process.user.uid: expected an unsigned integer, got -1");
        CHECK_STR(error_with("process.user.gid", "4294967296"),
                  "process.user.gid: expected an unsigned 32-bit integer");
        CHECK_STR(error_with("process.user.umask", "512"),
                  "process.user.umask: must be at most 0777 (511)");
        CHECK_STR(error_with("process.user.additionalGids", "[1,\"2\"]"),
                  "process.user.additionalGids[1]: expected an unsigned integer");
        CHECK_STR(error_with("process.user.additionalGids", "[1,4294967296]"),
                  "process.user.additionalGids[1]: expected an unsigned 32-bit integer");
        CHECK_STR(error_with("process.user", "5"), "process.user: expected an object");
        CHECK_STR(error_with("process.args[0]", "5"), "process.args[0]: expected a string");
        CHECK_STR(error_with("process.env", "\"A=1\""), "process.env: expected an array");
        CHECK_STR(error_with("process.cwd", "\"\""), "process.cwd: must not be empty");
        CHECK_STR(error_with("process.consoleSize", "{\"height\":1}"),
                  "process.consoleSize.width: required");
        CHECK_STR(error_with("process.consoleSize", "{\"height\":1,\"width\":-2}"),
                  "process.consoleSize.width: expected an unsigned integer, got -2");
        CHECK_STR(error_with("process.oomScoreAdj", "1001"),
                  "process.oomScoreAdj: must be between -1000 and 1000");
        CHECK_STR(error_with("process.oomScoreAdj", "1e3"),
                  "process.oomScoreAdj: expected an integer");
        CHECK_STR(error_with("process.noNewPrivileges", "\"true\""),
                  "process.noNewPrivileges: expected a boolean");
        CHECK_STR(error_with("process.apparmorProfile", "[]"),
                  "process.apparmorProfile: expected a string");
        CHECK_STR(error_with("process.selinuxLabel", "{}"),
                  "process.selinuxLabel: expected a string");
        CHECK_STR(error_with("process.ioPriority", "{\"class\":\"IOPRIO_CLASS_RT\"}"), "(parsed)");

        /* No process at all is fine for create (runc requires it only at start). */
        struct error err = {0};
        struct spec *s = NULL;
        CHECK(parse_with(false, "process", NULL, &s, &err) == 0);
        CHECK(s && !s->has_process && !s->process.args);
        spec_free(s);
}

TEST(spec_parse_process_alone)
{
        struct error err = {0};
        _cleanup_json_ struct json_object *o = NULL;
        CHECK(json_parse_string("process.json",
                                "{\"args\":[\"ls\"],\"cwd\":\"/\",\"env\":[\"A=B\"],"
                                "\"capabilities\":{\"bounding\":[\"CAP_X\"]},"
                                "\"user\":{\"uid\":1000,\"gid\":1000,\"additionalGids\":[]}}",
                                &o, &err) == 0);
        struct spec_process p = {0};
        char **warnings = NULL;
        CHECK(spec_parse_process(o, "process", &p, &warnings, &err) == 0);
        CHECK_STR(p.args[0], "ls");
        CHECK(p.user.uid == 1000 && p.user.n_additional_gids == 0);
        CHECK(p.has_caps && p.caps.bounding == 0);
        CHECK(strv_len(warnings) == 1);
        spec_process_done(&p);
        CHECK(p.args == NULL);
        strv_free(warnings);

        /* A failed parse leaves *ret untouched and frees what it built. */
        _cleanup_json_ struct json_object *bad = NULL;
        CHECK(json_parse_string("p", "{\"args\":[\"ls\"],\"cwd\":\"rel\",\"env\":[\"A\"]}", &bad,
                                &err) == 0);
        struct spec_process q = {.terminal = true};
        CHECK(spec_parse_process(bad, "p", &q, NULL, &err) == -EINVAL);
        CHECK_STR(err.msg, "p.cwd: must be an absolute path");
        CHECK(q.terminal && q.args == NULL);
}

TEST(spec_document_errors)
{
        struct error err = {0};
        struct spec *s = (struct spec *)0x1;
        CHECK(spec_parse("[]", NULL, &s, &err) == -EINVAL);
        CHECK_STR(err.msg, "expected a JSON object at the top level");
        CHECK(s == (struct spec *)0x1);
        CHECK(spec_parse("{\"ociVersion\":", "cfg.json", &s, &err) == -EINVAL);
        CHECK(strncmp(err.msg, "cfg.json: invalid JSON at line 1", 32) == 0);
        CHECK(spec_parse("{\"ociVersion\":\"1.2.0\"}", "cfg.json", &s, &err) == -EINVAL);
        CHECK_STR(err.msg, "cfg.json: root: required");
        CHECK(spec_parse("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"}}", NULL, &s, &err) ==
              0);
        CHECK(s && s->has_process == false && s->n_mounts == 0 && s->linux.n_namespaces == 0);
        spec_free(s);
        CHECK(spec_parse("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\",\"readonly\":1}}",
                         NULL, &s, &err) == -EINVAL);
        CHECK_STR(err.msg, "root.readonly: expected a boolean");
        CHECK(spec_parse("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},\"hostname\":\"h\"}",
                         NULL, &s, &err) == -EINVAL);
        CHECK_STR(err.msg, "hostname: requires a uts namespace");
        spec_free(NULL);
}

TEST(spec_load_bundle)
{
        char dir[] = "/tmp/husk-spec-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        struct error err = {0};
        struct spec *s = NULL;
        CHECK(spec_load(dir, &s, &err) == -ENOENT);
        CHECK(strstr(err.msg, "config.json") != NULL);
        _cleanup_free_ char *path = xasprintf("%s/config.json", dir);
        _cleanup_json_ struct json_object *doc = spec_default(false);
        FILE *f = fopen(path, "we");
        CHECK(f != NULL);
        if (f) {
                fputs(json_pretty(doc), f);
                fclose(f);
        }
        CHECK(spec_load(dir, &s, &err) == 0);
        CHECK(s && s->n_mounts == 7);
        spec_free(s);
        s = NULL;
        f = fopen(path, "we");
        if (f) {
                fputs("{\"ociVersion\":\"1\",\"root\":{}}", f);
                fclose(f);
        }
        CHECK(spec_load(dir, &s, &err) == -EINVAL);
        _cleanup_free_ char *want = xasprintf("%s: root.path: required", path);
        CHECK_STR(err.msg, want);
        unlink(path);
        rmdir(dir);
}

TEST(spec_default_matches_runc_layout)
{
        /* Key order and content as `runc spec` prints them (ociVersion aside). */
        _cleanup_json_ struct json_object *d = spec_default(false);
        const char *text = json_compact(d);
        CHECK(strncmp(text,
                      "{\"ociVersion\":\"1.2.0\",\"process\":{\"terminal\":true,\"user\":"
                      "{\"uid\":0,\"gid\":0},\"args\":[\"sh\"],",
                      80) == 0);
        CHECK(strstr(text, "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"
                           "\"noNewPrivileges\":true},\"root\":{\"path\":\"rootfs\",\"readonly\":"
                           "true},\"hostname\":\"runc\",\"mounts\":[") != NULL);
        CHECK(strstr(text, "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":"
                           "\"rwm\"}]},\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},"
                           "{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}],") != NULL);
        _cleanup_json_ struct json_object *r = spec_default(true);
        text = json_compact(r);
        CHECK(strstr(text, "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":"
                           "\"uts\"},{\"type\":\"mount\"},{\"type\":\"user\"}]") != NULL);
        CHECK(strstr(text,
                     "{\"destination\":\"/sys\",\"type\":\"none\",\"source\":\"/sys\","
                     "\"options\":[\"rbind\",\"nosuid\",\"noexec\",\"nodev\",\"ro\"]}") != NULL);
        CHECK(strstr(text, "resources") == NULL);
        CHECK(strstr(text, "gid=5") == NULL);
}

UNIT_MAIN()
