/* Unit tests for src/engine/runflags.c: flag values and the conversion of a
 * Docker seccomp profile into the OCI linux.seccomp object. */
#include <errno.h>
#include <stdlib.h>

#include "core/json.h"
#include "core/util.h"
#include "engine/runflags.h"
#include "unit.h"

static int opt(struct ctr_runflags *rf, int o, const char *v, char *msg, size_t len)
{
        struct error err = {0};
        int r = runflags_option(rf, o, v, &err);
        snprintf(msg, len, "%s", r < 0 ? err.msg : "");
        return r;
}

TEST(option_values)
{
        struct ctr_runflags rf = {0};
        char msg[512];
        CHECK(opt(&rf, RF_OPT_SHM_SIZE, "10m", msg, sizeof(msg)) == 0 && rf.shm_size == 10 << 20);
        CHECK(opt(&rf, RF_OPT_SHM_SIZE, "0", msg, sizeof(msg)) < 0 &&
              strstr(msg, "--shm-size '0'"));
        CHECK(opt(&rf, RF_OPT_MEMORY_SWAP, "-1", msg, sizeof(msg)) == 0 && rf.memory_swap == -1);
        CHECK(opt(&rf, RF_OPT_MEMORY_SWAP, "x", msg, sizeof(msg)) < 0 && strstr(msg, "'x'"));
        CHECK(opt(&rf, RF_OPT_CPU_SHARES, "512", msg, sizeof(msg)) == 0 && rf.cpu_shares == 512);
        CHECK(opt(&rf, RF_OPT_CPUSET_CPUS, "0", msg, sizeof(msg)) == 0);
        CHECK(opt(&rf, RF_OPT_CPUSET_CPUS, "0-", msg, sizeof(msg)) < 0);
        CHECK(opt(&rf, RF_OPT_CPUSET_CPUS, "3-1", msg, sizeof(msg)) < 0);
        CHECK(opt(&rf, RF_OPT_PID, "host", msg, sizeof(msg)) == 0);
        CHECK(opt(&rf, RF_OPT_PID, "container:", msg, sizeof(msg)) < 0);
        CHECK(opt(&rf, RF_OPT_IPC, "shareable", msg, sizeof(msg)) == 0);
        CHECK(opt(&rf, RF_OPT_UTS, "container:x", msg, sizeof(msg)) < 0);
        CHECK(opt(&rf, RF_OPT_CGROUP_PARENT, "a/../b", msg, sizeof(msg)) < 0);
        CHECK(opt(&rf, RF_OPT_SECURITY_OPT, "no-new-privileges", msg, sizeof(msg)) == 0);
        CHECK(opt(&rf, RF_OPT_SECURITY_OPT, "seccomp:unconfined", msg, sizeof(msg)) == 0);
        CHECK(opt(&rf, RF_OPT_SECURITY_OPT, "apparmor=x", msg, sizeof(msg)) < 0 &&
              strstr(msg, "unknown option"));
        CHECK(strv_len(rf.security_opt) == 2);
        runflags_free(&rf);
}

TEST(seccomp_docker_to_oci)
{
        const char *text =
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 1,"
            " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\","
            "   \"subArchitectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]},"
            "  {\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": "
            "[\"SCMP_ARCH_ARM\"]}],"
            " \"syscalls\": ["
            "  {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"x\","
            "   \"includes\": {}, \"excludes\": {}},"
            "  {\"names\": [\"setns\"], \"action\": \"SCMP_ACT_ALLOW\","
            "   \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
            "  {\"names\": [\"chroot\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1,"
            "   \"excludes\": {\"caps\": [\"CAP_SYS_CHROOT\"]}},"
            "  {\"names\": [\"arch_prctl\"], \"action\": \"SCMP_ACT_ALLOW\","
            "   \"includes\": {\"arches\": [\"amd64\"]}},"
            "  {\"names\": [\"new_thing\"], \"action\": \"SCMP_ACT_ALLOW\","
            "   \"includes\": {\"minKernel\": \"99.0\"}},"
            "  {\"name\": \"legacy\", \"action\": \"SCMP_ACT_ALLOW\"}]}";
        struct error err = {0};
        _cleanup_json_ struct json_object *p = NULL, *oci = NULL, *oci2 = NULL;
        CHECK(json_parse_string("t", text, &p, &err) == 0);
        char *caps[] = {"CAP_SYS_CHROOT", NULL};
        CHECK(runflags_seccomp(p, "t", caps, &oci, &err) == 0);
        const char *s = json_compact(oci);
        CHECK(strstr(s, "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\","
                        "\"SCMP_ARCH_X32\"]") != NULL);
        CHECK(strstr(s, "\"read\"") && strstr(s, "\"legacy\"") && strstr(s, "arch_prctl"));
        CHECK(!strstr(s, "setns"));     /* needs CAP_SYS_ADMIN */
        CHECK(!strstr(s, "chroot"));    /* excluded: the container has CAP_SYS_CHROOT */
        CHECK(!strstr(s, "new_thing")); /* newer kernel only */
        CHECK(!strstr(s, "comment") && !strstr(s, "includes") && !strstr(s, "archMap"));
        CHECK(strstr(s, "\"defaultErrnoRet\":1") != NULL);
        char *admin[] = {"CAP_SYS_ADMIN", NULL};
        CHECK(runflags_seccomp(p, "t", admin, &oci2, &err) == 0);
        s = json_compact(oci2);
        CHECK(strstr(s, "setns") && strstr(s, "chroot"));
        _cleanup_json_ struct json_object *bad = NULL, *out = NULL;
        CHECK(json_parse_string("t", "{\"syscalls\": []}", &bad, &err) == 0);
        CHECK(runflags_seccomp(bad, "bad.json", caps, &out, &err) == -EINVAL &&
              strstr(err.msg, "bad.json") && strstr(err.msg, "defaultAction"));
}

UNIT_MAIN()
