#include <errno.h>
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

UNIT_MAIN()
