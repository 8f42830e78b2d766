#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "runtime/seccomp.h"
#include "unit.h"

/* Parses TEXT as linux.seccomp; returns the result code, the profile in *ret. */
static int parse(const char *text, struct seccomp_profile **ret, struct error *err)
{
        struct json_object *o = json_tokener_parse(text);
        if (!o) {
                printf("  bad test JSON: %s\n", text);
                return -999;
        }
        error_clear(err);
        int r = seccomp_profile_parse(o, "linux.seccomp", ret, err);
        json_object_put(o);
        return r;
}

/* Expects parsing to fail with a message that contains WANT. */
static int fails_with(const char *text, const char *want)
{
        struct seccomp_profile *p = NULL;
        struct error err = {0};
        int r = parse(text, &p, &err);
        seccomp_profile_free(p);
        if (r >= 0 || !strstr(err.msg, want)) {
                printf("  r=%d msg='%s' want '%s'\n", r, err.msg, want);
                return 0;
        }
        return 1;
}

TEST(seccomp_full_profile)
{
        struct seccomp_profile *p = NULL;
        struct error err = {0};
        int r =
            parse("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
                  "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
                  "\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_TSYNC\"],"
                  "\"listenerPath\":\"/run/agent.sock\",\"listenerMetadata\":\"m\","
                  "\"syscalls\":["
                  "{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                  "{\"names\":[\"uname\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42},"
                  "{\"names\":[\"getcwd\"],\"action\":\"SCMP_ACT_TRACE\"},"
                  "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"},"
                  "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                  "{\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"},"
                  "{\"index\":1,\"value\":255,\"valueTwo\":2,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}",
                  &p, &err);
        CHECK(r == 0);
        CHECK(p != NULL);
        if (!p)
                return;
        CHECK(p->default_action == SCMP_ACT_ERRNO(38));
        CHECK(p->n_archs == 3);
        CHECK(p->archs[0] == SCMP_ARCH_X86_64 && p->archs[2] == SCMP_ARCH_X32);
        CHECK(p->flags == 3); /* TSYNC | LOG */
        CHECK_STR(p->listener_path, "/run/agent.sock");
        CHECK_STR(p->listener_metadata, "m");
        CHECK(p->notify);
        CHECK(p->n_rules == 6);
        CHECK_STR(p->rules[1].name, "write");
        CHECK(p->rules[2].action == SCMP_ACT_ERRNO(42));
        CHECK(p->rules[3].action == SCMP_ACT_TRACE(EPERM));
        CHECK(p->rules[4].action == SCMP_ACT_NOTIFY);
        CHECK(p->rules[5].n_conds == 2);
        CHECK(p->rules[5].entry == 4);
        CHECK(p->rules[5].conds[1].index == 1 && p->rules[5].conds[1].op == SCMP_CMP_MASKED_EQ);
        CHECK(p->rules[5].conds[1].value == 255 && p->rules[5].conds[1].value_two == 2);
        CHECK(p->rules[0].nr == seccomp_syscall_resolve_name("read"));
        seccomp_profile_free(p);
}

TEST(seccomp_defaults)
{
        struct seccomp_profile *p = NULL;
        struct error err = {0};
        CHECK(parse("{\"defaultAction\":\"SCMP_ACT_ERRNO\"}", &p, &err) == 0 && p);
        if (!p)
                return;
        CHECK(p->default_action == SCMP_ACT_ERRNO(EPERM));
        CHECK(p->flags == 4); /* SPEC_ALLOW when flags is absent, as runc and crun */
        CHECK(p->n_rules == 0 && !p->notify && !p->listener_path);
        seccomp_profile_free(p);
        p = NULL;
        CHECK(parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[]}", &p, &err) == 0 && p);
        if (p)
                CHECK(p->flags == 0);
        seccomp_profile_free(p);
}

TEST(seccomp_off_when_empty)
{
        struct seccomp_profile *p = (void *)1;
        struct error err = {0};
        CHECK(parse("{}", &p, &err) == 0);
        CHECK(p == NULL);
        p = (void *)1;
        CHECK(parse("{\"syscalls\":[]}", &p, &err) == 0);
        CHECK(p == NULL);
}

TEST(seccomp_unknown_syscall_skipped)
{
        struct seccomp_profile *p = NULL;
        struct error err = {0};
        CHECK(parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                    "[\"no_such_call\",\"uname\",\"another_fake\"],\"action\":\"SCMP_ACT_KILL\"}]}",
                    &p, &err) == 0);
        CHECK(p && p->n_rules == 1 && p->n_skipped == 2);
        if (p)
                CHECK_STR(p->rules[0].name, "uname");
        seccomp_profile_free(p);
}

TEST(seccomp_every_action)
{
        static const struct {
                const char *name;
                uint32_t act;
        } t[] = {
            {"SCMP_ACT_KILL", SCMP_ACT_KILL},
            {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
            {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
            {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
            {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(EPERM)},
            {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(EPERM)},
            {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
            {"SCMP_ACT_LOG", SCMP_ACT_LOG},
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                char buf[256];
                snprintf(buf, sizeof(buf),
                         "{\"defaultAction\":\"%s\",\"syscalls\":[{\"names\":[\"uname\"],"
                         "\"action\":\"%s\"}]}",
                         t[i].name, t[i].name);
                struct seccomp_profile *p = NULL;
                struct error err = {0};
                CHECK(parse(buf, &p, &err) == 0);
                CHECK(p && p->default_action == t[i].act && p->rules[0].action == t[i].act);
                seccomp_profile_free(p);
        }
}

TEST(seccomp_errors)
{
        CHECK(fails_with("[]", "linux.seccomp: expected an object"));
        CHECK(fails_with("{\"syscalls\":[{\"names\":[\"uname\"],\"action\":\"SCMP_ACT_ALLOW\"}]}",
                         "linux.seccomp.defaultAction: required"));
        CHECK(
            fails_with("{\"defaultAction\":1}", "linux.seccomp.defaultAction: expected a string"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_FOO\"}",
                         "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_FOO'"));
        CHECK(fails_with(
            "{\"defaultAction\":\"SCMP_ACT_NOTIFY\"}",
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_KILL\",\"defaultErrnoRet\":1}",
                         "linux.seccomp.defaultErrnoRet: not valid with SCMP_ACT_KILL"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":70000}",
                         "linux.seccomp.defaultErrnoRet: 70000 is out of range"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
                         "linux.seccomp.defaultErrnoRet"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":"
                         "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_VAX\"]}",
                         "linux.seccomp.architectures[1]: unknown architecture 'SCMP_ARCH_VAX'"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"x\"}",
                         "linux.seccomp.architectures"));
        CHECK(fails_with(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\","
            "\"SECCOMP_FILTER_FLAG_NOPE\"]}",
            "linux.seccomp.flags[1]: unknown flag 'SECCOMP_FILTER_FLAG_NOPE'"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[3]}",
                         "linux.seccomp.flags[0]: expected a string"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerMetadata\":\"x\"}",
                         "linux.seccomp.listenerMetadata: must not be set without listenerPath"));
        CHECK(
            fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
                       "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                       "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"rel.sock\","
                         "\"syscalls\":[{\"names\":[\"uname\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                         "linux.seccomp.listenerPath: 'rel.sock' is not an absolute path"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
                         "linux.seccomp.syscalls: expected an array"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[1]}",
                         "linux.seccomp.syscalls[0]: expected an object"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":"
                         "\"SCMP_ACT_ALLOW\"}]}",
                         "linux.seccomp.syscalls[0].names: must name at least one syscall"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[],"
                         "\"action\":\"SCMP_ACT_ALLOW\"}]}",
                         "linux.seccomp.syscalls[0].names: must name at least one syscall"));
        CHECK(fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"a\",2],"
                         "\"action\":\"SCMP_ACT_ALLOW\"}]}",
                         "linux.seccomp.syscalls[0].names"));
        CHECK(fails_with(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"]}]}",
            "linux.seccomp.syscalls[0].action: required"));
        CHECK(fails_with(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{},{\"names\":[\"uname\"],"
            "\"action\":\"SCMP_ACT_FOO\"}]}",
            "linux.seccomp.syscalls[0].names"));
        CHECK(fails_with(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
            "\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"uname\"],\"action\":\"SCMP_ACT_FOO\"}]}",
            "linux.seccomp.syscalls[1].action: unknown action 'SCMP_ACT_FOO'"));
        CHECK(
            fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
                       "\"action\":\"SCMP_ACT_LOG\",\"errnoRet\":3}]}",
                       "linux.seccomp.syscalls[0].errnoRet: not valid with SCMP_ACT_LOG"));
        CHECK(
            fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
                       "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":\"x\"}]}",
                       "linux.seccomp.syscalls[0].errnoRet"));
        CHECK(
            fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
                       "\"action\":\"SCMP_ACT_ERRNO\",\"args\":{}}]}",
                       "linux.seccomp.syscalls[0].args: expected an array"));
        CHECK(
            fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
                       "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[7]}]}",
                       "linux.seccomp.syscalls[0].args[0]: expected an object"));
        CHECK(fails_with(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
            "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
            "linux.seccomp.syscalls[0].args[0].index: required"));
        CHECK(
            fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
                       "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":"
                       "\"SCMP_CMP_EQ\"}]}]}",
                       "linux.seccomp.syscalls[0].args[0].index: 6 is not an argument index"));
        CHECK(fails_with(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
            "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
            "linux.seccomp.syscalls[0].args[0].value: required"));
        CHECK(
            fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
                       "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":-4,\"op\":"
                       "\"SCMP_CMP_EQ\"}]}]}",
                       "linux.seccomp.syscalls[0].args[0].value"));
        CHECK(
            fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
                       "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1}]}]}",
                       "linux.seccomp.syscalls[0].args[0].op: required"));
        CHECK(
            fails_with("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
                       "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":"
                       "\"SCMP_CMP_EQ\"},{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}]}",
                       "linux.seccomp.syscalls[0].args[1].op: unknown operator 'SCMP_CMP_XX'"));
}

TEST(seccomp_compile)
{
        struct seccomp_profile *p = NULL;
        struct error err = {0};
        CHECK(parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\","
                    "\"SCMP_ARCH_X86\"],\"syscalls\":[{\"names\":[\"uname\",\"getcwd\"],"
                    "\"action\":\"SCMP_ACT_ERRNO\"},{\"names\":[\"read\"],\"action\":\"SCMP_ACT_"
                    "ALLOW\"},"
                    "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":["
                    "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"},"
                    "{\"index\":0,\"value\":10,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                    &p, &err) == 0);
        struct seccomp_filter *f = NULL;
        CHECK(p && seccomp_filter_compile(p, &f, &err) == 0);
        CHECK(f && f->n_insns > 4 && f->insns);
        CHECK(f && f->execveat_direct);
        CHECK(f && !f->notify);
        /* read is ALLOW like the default: not a rule of its own. */
        if (f)
                CHECK(strstr(f->summary, "default SCMP_ACT_ALLOW, 3 rules") != NULL);
        seccomp_filter_free(f);
        seccomp_profile_free(p);

        p = NULL;
        f = NULL;
        CHECK(parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"execveat\"],"
                    "\"action\":\"SCMP_ACT_KILL\"}]}",
                    &p, &err) == 0);
        CHECK(p && seccomp_filter_compile(p, &f, &err) == 0);
        CHECK(f && !f->execveat_direct);
        seccomp_filter_free(f);
        seccomp_profile_free(p);
}

TEST(seccomp_cache)
{
        char dir[] = "/tmp/husk-unit-seccomp-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(dfd >= 0);
        struct json_object *o = json_tokener_parse(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"uname\"],"
            "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":9}]}");
        struct seccomp_filter *a = NULL, *b = NULL, *c = NULL;
        struct error err = {0};
        CHECK(seccomp_from_spec(o, dfd, &a, NULL, NULL, &err) == 0 && a);
        CHECK(faccessat(dfd, ".seccomp-cache", F_OK, 0) == 0);
        CHECK(seccomp_from_spec(o, dfd, &b, NULL, NULL, &err) == 0 && b);
        CHECK(seccomp_from_spec(o, -1, &c, NULL, NULL, &err) == 0 && c);
        if (a && b && c) {
                CHECK(a->n_insns == b->n_insns && b->n_insns == c->n_insns);
                CHECK(memcmp(a->insns, b->insns, a->n_insns * 8) == 0);
                CHECK(memcmp(a->insns, c->insns, a->n_insns * 8) == 0);
                CHECK_STR(a->summary, b->summary);
                CHECK(a->flags == b->flags && a->execveat_direct == b->execveat_direct);
        }
        seccomp_filter_free(a);
        seccomp_filter_free(b);
        seccomp_filter_free(c);
        /* A different profile is a different entry: the errno differs in the BPF. */
        json_object_put(o);
        o = json_tokener_parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                               "[\"uname\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":10}]}");
        a = NULL;
        CHECK(seccomp_from_spec(o, dfd, &a, NULL, NULL, &err) == 0 && a);
        seccomp_filter_free(a);
        json_object_put(o);
        close(dfd);
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "ls %s/.seccomp-cache | wc -l | grep -qx 2 && rm -rf %s", dir,
                 dir);
        CHECK(system(cmd) == 0);
}

TEST(seccomp_process_state)
{
        char *s =
            seccomp_process_state("{\"ociVersion\":\"1.2.0\",\"id\":\"c\",\"status\":\"creating\","
                                  "\"pid\":7}",
                                  7, "meta");
        struct json_object *o = json_tokener_parse(s);
        CHECK(o != NULL);
        struct json_object *v;
        CHECK(json_object_object_get_ex(o, "ociVersion", &v) &&
              !strcmp(json_object_get_string(v), "1.2.0"));
        CHECK(json_object_object_get_ex(o, "fds", &v) && json_object_array_length(v) == 1 &&
              !strcmp(json_object_get_string(json_object_array_get_idx(v, 0)), "seccompFd"));
        CHECK(json_object_object_get_ex(o, "pid", &v) && json_object_get_int(v) == 7);
        CHECK(json_object_object_get_ex(o, "metadata", &v) &&
              !strcmp(json_object_get_string(v), "meta"));
        CHECK(json_object_object_get_ex(o, "state", &v) &&
              json_object_is_type(v, json_type_object));
        json_object_put(o);
        free(s);
        s = seccomp_process_state("{}", 3, NULL);
        CHECK(strstr(s, "metadata") == NULL);
        free(s);
}

UNIT_MAIN()
