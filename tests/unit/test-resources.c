/* linux.resources: parsing (types, JSON paths in errors), the v1 -> v2
 * conversions, and the shape of the v2 device filter program. */
#include <linux/bpf.h>
#include <stdlib.h>

#include "core/json.h"
#include "runtime/resources.h"
#include "unit.h"

static int parse(const char *text, struct resources **ret, struct error *err)
{
        struct json_object *o = NULL;
        int r = json_parse_string("test", text, &o, err);
        if (r < 0)
                return r;
        r = resources_parse(o, "linux.resources", ret, err);
        json_object_put(o);
        return r;
}

TEST(parse_all_groups)
{
        struct resources *r = NULL;
        struct error e = {0};
        int q = parse("{\"memory\":{\"limit\":268435456,\"swap\":-1,\"kernel\":1000,"
                      "\"swappiness\":10,\"disableOOMKiller\":true},"
                      "\"cpu\":{\"shares\":512,\"quota\":-1,\"period\":100000,\"cpus\":\"0-1\"},"
                      "\"pids\":{\"limit\":-1},"
                      "\"blockIO\":{\"weight\":500,\"weightDevice\":[{\"major\":8,\"minor\":0,"
                      "\"weight\":300}],\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,"
                      "\"rate\":1024}]},"
                      "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
                      "\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\","
                      "\"priority\":5}]},"
                      "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,"
                      "\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"wr\"}],"
                      "\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3}},"
                      "\"unified\":{\"memory.high\":\"1G\"}}",
                      &r, &e);
        CHECK(q == 0);
        if (q < 0) {
                printf("  %s\n", e.msg);
                return;
        }
        CHECK(r->memory.has_limit && r->memory.limit == 268435456);
        CHECK(r->memory.has_swap && r->memory.swap == -1);
        CHECK(r->memory.has_swappiness && r->memory.swappiness == 10);
        CHECK(r->memory.disable_oom_killer);
        CHECK(r->warnings && strstr(r->warnings[0], "linux.resources.memory.kernel"));
        CHECK(r->cpu.has_shares && r->cpu.shares == 512 && r->cpu.quota == -1);
        CHECK_STR(r->cpu.cpus, "0-1");
        CHECK(r->pids.has_limit && r->pids.limit == -1);
        CHECK(r->blkio.has_weight && r->blkio.weight == 500);
        CHECK(r->blkio.n_weight_devices == 1 && r->blkio.weight_devices[0].weight == 300);
        CHECK(r->blkio.read_bps.n == 1 && r->blkio.read_bps.v[0].rate == 1024);
        CHECK(r->n_hugepages == 1);
        CHECK_STR(r->hugepages[0].page_size, "2MB");
        CHECK(r->network.has_class_id && r->network.class_id == 1048577);
        CHECK(r->network.n_priorities == 1);
        CHECK(r->has_devices && r->n_devices == 2);
        CHECK(r->devices[0].type == 'a' && r->devices[0].major == -1 && !r->devices[0].allow);
        CHECK_STR(r->devices[1].access, "rw");
        CHECK(r->n_rdma == 1 && r->rdma[0].has_handles && !r->rdma[0].has_objects);
        CHECK(r->n_unified == 1);
        CHECK_STR(r->unified[0].key, "memory.high");
        CHECK(!resources_empty(r));
        resources_free(r);
}

TEST(parse_empty)
{
        struct resources *r = NULL;
        struct error e = {0};
        CHECK(parse("{}", &r, &e) == 0);
        CHECK(r && resources_empty(r));
        resources_free(r);
        r = NULL;
        CHECK(resources_parse(NULL, "linux.resources", &r, &e) == 0);
        CHECK(r && resources_empty(r));
        resources_free(r);
        /* An empty device list still sets the device cgroup (deny all + defaults). */
        r = NULL;
        CHECK(parse("{\"devices\":[]}", &r, &e) == 0);
        CHECK(r && r->has_devices && !resources_empty(r));
        resources_free(r);
}

static void expect_error(int *unit_failed, const char *text, const char *msg)
{
        struct resources *r = NULL;
        struct error e = {0};
        int q = parse(text, &r, &e);
        if (q == 0 || !strstr(e.msg, msg)) {
                printf("  %s: got '%s', want '%s'\n", text, q == 0 ? "success" : e.msg, msg);
                *unit_failed = 1;
        }
        resources_free(r);
}

TEST(parse_errors_name_the_path)
{
        expect_error(unit_failed, "{\"memory\":{\"limit\":\"1G\"}}",
                     "linux.resources.memory.limit: expected an integer");
        expect_error(unit_failed, "{\"cpu\":{\"shares\":-5}}", "linux.resources.cpu.shares");
        expect_error(unit_failed, "{\"memory\":{\"swappiness\":101}}",
                     "linux.resources.memory.swappiness: 101 is out of range");
        expect_error(unit_failed, "{\"devices\":[{\"access\":\"rwm\"}]}",
                     "linux.resources.devices[0].allow: required");
        expect_error(unit_failed, "{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}",
                     "linux.resources.devices[0].type");
        expect_error(unit_failed, "{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}",
                     "linux.resources.devices[0].access");
        expect_error(unit_failed, "{\"unified\":{\"../memory.max\":\"1\"}}",
                     "linux.resources.unified: key '../memory.max'");
        expect_error(unit_failed, "{\"unified\":{\"memory.max\":1}}",
                     "linux.resources.unified.memory.max: expected a string");
        expect_error(unit_failed, "{\"hugepageLimits\":[{\"pageSize\":\"../x\",\"limit\":1}]}",
                     "linux.resources.hugepageLimits[0].pageSize: invalid name");
        expect_error(unit_failed, "{\"blockIO\":{\"weight\":5}}",
                     "linux.resources.blockIO.weight: 5 is out of range 10-1000");
        expect_error(unit_failed,
                     "{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"rate\":1}]}}",
                     "linux.resources.blockIO.throttleReadBpsDevice[0]: major and minor");
        expect_error(unit_failed, "{\"pids\":[]}", "linux.resources.pids: expected an object");
}

TEST(conversions)
{
        CHECK(res_shares_to_weight(2) == 1);
        CHECK(res_shares_to_weight(1024) == 39);
        CHECK(res_shares_to_weight(262144) == 10000);
        CHECK(res_blkio_to_io_weight(10) == 1);
        CHECK(res_blkio_to_io_weight(500) == 4950);
        CHECK(res_blkio_to_io_weight(1000) == 10000);
        char buf[32];
        const char *why = NULL;
        CHECK(res_swap_v2(-1, 100, buf, sizeof(buf), &why) == 0);
        CHECK_STR(buf, "max");
        CHECK(res_swap_v2(300, 100, buf, sizeof(buf), &why) == 0);
        CHECK_STR(buf, "200");
        CHECK(res_swap_v2(100, 100, buf, sizeof(buf), &why) == 0);
        CHECK_STR(buf, "0");
        CHECK(res_swap_v2(50, 100, buf, sizeof(buf), &why) == -EINVAL && why);
        CHECK(res_swap_v2(50, 0, buf, sizeof(buf), &why) == -EINVAL);
}

/* Every jump lands inside the program, and every path ends in an exit. */
static bool prog_sane(const struct bpf_insn *p, size_t n)
{
        if (n == 0 || p[n - 1].code != (BPF_JMP | BPF_EXIT))
                return false;
        for (size_t i = 0; i < n; i++)
                if (BPF_CLASS(p[i].code) == BPF_JMP && BPF_OP(p[i].code) != BPF_EXIT &&
                    (i + 1 + (size_t)p[i].off >= n || p[i].off < 0))
                        return false;
        return true;
}

TEST(device_program)
{
        struct res_device rules[] = {
            {false, 'a', -1, -1, "rwm"},
            {true, 'c', 1, 3, "rw"},
            {false, 'c', 1, 3, "w"},
        };
        size_t n;
        struct bpf_insn *p = res_device_prog(rules, 3, &n);
        CHECK(prog_sane(p, n));
        /* The catch-all deny ends the program (no unreachable default after it). */
        CHECK(p[n - 2].code == (BPF_ALU64 | BPF_MOV | BPF_K) && p[n - 2].imm == 0);
        /* The last rule comes first: a deny of 'w' (type, access, major, minor, verdict). */
        CHECK(p[6].code == (BPF_JMP | BPF_JNE | BPF_K) && p[6].imm == BPF_DEVCG_DEV_CHAR);
        free(p);
        p = res_device_prog(res_default_devices, res_n_default_devices, &n);
        CHECK(prog_sane(p, n));
        free(p);
        p = res_device_prog(NULL, 0, &n);
        CHECK(n == 8 && prog_sane(p, n) && p[6].imm == 0);
        free(p);
}

UNIT_MAIN()
