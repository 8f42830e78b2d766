#include "runtime/seccomp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"
#include "core/sys.h"
#include "core/util.h"

#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC (1UL << 0)
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

enum { ACT_PLAIN, ACT_ERRNO_RET };

static const struct {
        const char *name;
        uint32_t action;
        int kind; /* ACT_ERRNO_RET: takes errnoRet (EPERM by default) */
} actions[] = {
    {"SCMP_ACT_KILL", SCMP_ACT_KILL, ACT_PLAIN},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS, ACT_PLAIN},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD, ACT_PLAIN},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP, ACT_PLAIN},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0), ACT_ERRNO_RET},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0), ACT_ERRNO_RET},
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW, ACT_PLAIN},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG, ACT_PLAIN},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY, ACT_PLAIN},
};

static const struct {
        const char *name;
        int op;
} operators[] = {
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

/* The runtime-spec's list; 0 where this libseccomp lacks the architecture. */
static const struct {
        const char *name;
        uint32_t arch;
} archs[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#else
    {"SCMP_ARCH_LOONGARCH64", 0},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#else
    {"SCMP_ARCH_M68K", 0},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#else
    {"SCMP_ARCH_SH", 0},
    {"SCMP_ARCH_SHEB", 0},
#endif
};

static const struct {
        const char *name;
        unsigned flag;
} flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Parses an action name with its optional errnoRet into a libseccomp action. */
static int parse_action(const char *name, bool has_errno, uint32_t errno_ret, const char *apath,
                        const char *epath, uint32_t *ret, struct error *err)
{
        for (size_t i = 0; i < N(actions); i++) {
                if (strcmp(actions[i].name, name) != 0)
                        continue;
                if (actions[i].kind == ACT_PLAIN) {
                        if (has_errno)
                                return error_msg(err, -EINVAL, "%s: not valid with %s", epath,
                                                 name);
                        *ret = actions[i].action;
                        return 0;
                }
                if (has_errno && errno_ret > 0xffff)
                        return error_msg(err, -EINVAL, "%s: %u is out of range (0-65535)", epath,
                                         errno_ret);
                uint32_t e = has_errno ? errno_ret : EPERM;
                *ret =
                    actions[i].action == SCMP_ACT_TRACE(0) ? SCMP_ACT_TRACE(e) : SCMP_ACT_ERRNO(e);
                return 0;
        }
        return error_msg(err, -EINVAL, "%s: unknown action '%s'", apath, name);
}

static void action_string(uint32_t a, char *buf, size_t len)
{
        uint32_t base = a & 0xffff0000U, data = a & 0xffff;
        if (base == SCMP_ACT_ERRNO(0) || base == SCMP_ACT_TRACE(0)) {
                snprintf(buf, len, "%s(%u)",
                         base == SCMP_ACT_ERRNO(0) ? "SCMP_ACT_ERRNO" : "SCMP_ACT_TRACE", data);
                return;
        }
        for (size_t i = 0; i < N(actions); i++)
                if (actions[i].action == a) {
                        snprintf(buf, len, "%s", actions[i].name);
                        return;
                }
        snprintf(buf, len, "0x%x", a);
}

void seccomp_profile_free(struct seccomp_profile *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_rules; i++) {
                free(p->rules[i].name);
                free(p->rules[i].conds);
        }
        free(p->rules);
        free(p->archs);
        free(p->listener_path);
        free(p->listener_metadata);
        free(p);
}

static int parse_args(struct json_object *args, const char *path, struct seccomp_cond **ret,
                      size_t *ret_n, struct error *err)
{
        size_t n = json_object_array_length(args);
        _cleanup_free_ struct seccomp_cond *conds = xzalloc((n ? n : 1) * sizeof(*conds));
        for (size_t i = 0; i < n; i++) {
                struct json_object *a = json_object_array_get_idx(args, i);
                char p[512], k[560];
                jpath_index(p, sizeof(p), path, i);
                if (!json_object_is_type(a, json_type_object))
                        return error_msg(err, -EINVAL, "%s: expected an object", p);
                uint32_t index = 0;
                _cleanup_free_ char *op = NULL;
                int r;
                if ((r = jget_u32(a, p, "index", &index, err)) < 0)
                        return r;
                jpath(k, sizeof(k), p, "index");
                if (r == 0)
                        return error_msg(err, -EINVAL, "%s: required", k);
                if (index > 5)
                        return error_msg(err, -EINVAL, "%s: %u is not an argument index (0-5)", k,
                                         index);
                conds[i].index = index;
                if ((r = jget_u64(a, p, "value", &conds[i].value, err)) < 0)
                        return r;
                jpath(k, sizeof(k), p, "value");
                if (r == 0)
                        return error_msg(err, -EINVAL, "%s: required", k);
                if ((r = jget_u64(a, p, "valueTwo", &conds[i].value_two, err)) < 0)
                        return r;
                if ((r = jget_str(a, p, "op", &op, err)) < 0)
                        return r;
                jpath(k, sizeof(k), p, "op");
                if (r == 0)
                        return error_msg(err, -EINVAL, "%s: required", k);
                size_t j;
                for (j = 0; j < N(operators) && strcmp(operators[j].name, op) != 0; j++)
                        ;
                if (j == N(operators))
                        return error_msg(err, -EINVAL, "%s: unknown operator '%s'", k, op);
                conds[i].op = operators[j].op;
        }
        *ret = TAKE_PTR(conds);
        *ret_n = n;
        return 0;
}

static int parse_syscall(struct json_object *e, const char *path, size_t entry,
                         struct seccomp_profile *p, struct error *err)
{
        char k[560];
        if (!json_object_is_type(e, json_type_object))
                return error_msg(err, -EINVAL, "%s: expected an object", path);
        _cleanup_strv_ char **names = NULL;
        _cleanup_free_ char *action = NULL;
        int r;
        if ((r = jget_strv(e, path, "names", &names, err)) < 0)
                return r;
        jpath(k, sizeof(k), path, "names");
        if (!names || !names[0])
                return error_msg(err, -EINVAL, "%s: must name at least one syscall", k);
        if ((r = jget_str(e, path, "action", &action, err)) < 0)
                return r;
        jpath(k, sizeof(k), path, "action");
        if (r == 0)
                return error_msg(err, -EINVAL, "%s: required", k);
        uint32_t errno_ret = 0, act;
        int has_errno = jget_u32(e, path, "errnoRet", &errno_ret, err);
        if (has_errno < 0)
                return has_errno;
        char ek[560];
        jpath(ek, sizeof(ek), path, "errnoRet");
        if ((r = parse_action(action, has_errno, errno_ret, k, ek, &act, err)) < 0)
                return r;
        struct json_object *args = NULL;
        struct seccomp_cond *conds = NULL;
        size_t n_conds = 0;
        if ((r = jget_array(e, path, "args", &args, err)) < 0)
                return r;
        jpath(k, sizeof(k), path, "args");
        if (args && (r = parse_args(args, k, &conds, &n_conds, err)) < 0)
                return r;
        size_t n = strv_len(names);
        p->rules = xrealloc(p->rules, (p->n_rules + n) * sizeof(*p->rules));
        for (size_t i = 0; i < n; i++) {
                int nr = seccomp_syscall_resolve_name(names[i]);
                if (nr == __NR_SCMP_ERROR) {
                        log_debug("%s: unknown syscall '%s' skipped", path, names[i]);
                        p->n_skipped++;
                        continue;
                }
                if (act == SCMP_ACT_NOTIFY)
                        p->notify = true;
                struct seccomp_rule *rule = &p->rules[p->n_rules++];
                *rule = (struct seccomp_rule){.name = xstrdup(names[i]),
                                              .nr = nr,
                                              .action = act,
                                              .entry = entry,
                                              .n_conds = n_conds};
                rule->conds = xzalloc((n_conds ? n_conds : 1) * sizeof(*conds));
                if (n_conds)
                        memcpy(rule->conds, conds, n_conds * sizeof(*conds));
        }
        free(conds);
        return 0;
}

int seccomp_profile_parse(struct json_object *o, const char *path, struct seccomp_profile **ret,
                          struct error *err)
{
        char k[512];
        int r;
        *ret = NULL;
        if (!o)
                return 0;
        if (!json_object_is_type(o, json_type_object))
                return error_msg(err, -EINVAL, "%s: expected an object", path);
        _cleanup_free_ char *def = NULL;
        struct json_object *syscalls = NULL, *fl = NULL;
        if ((r = jget_str(o, path, "defaultAction", &def, err)) < 0 ||
            (r = jget_array(o, path, "syscalls", &syscalls, err)) < 0)
                return r;
        /* Nothing to filter: seccomp is off, as runc treats it. */
        if (!def && (!syscalls || json_object_array_length(syscalls) == 0))
                return 0;
        jpath(k, sizeof(k), path, "defaultAction");
        if (!def)
                return error_msg(err, -EINVAL, "%s: required", k);
        _cleanup_(seccomp_profile_freep) struct seccomp_profile *p = xzalloc(sizeof(*p));
        uint32_t e = 0;
        int has_errno = jget_u32(o, path, "defaultErrnoRet", &e, err);
        if (has_errno < 0)
                return has_errno;
        char ek[512];
        jpath(ek, sizeof(ek), path, "defaultErrnoRet");
        if ((r = parse_action(def, has_errno, e, k, ek, &p->default_action, err)) < 0)
                return r;
        /* The notify fd does not exist until the filter is in: nobody could answer. */
        if (p->default_action == SCMP_ACT_NOTIFY)
                return error_msg(err, -EINVAL, "%s: SCMP_ACT_NOTIFY cannot be the default action",
                                 k);

        _cleanup_strv_ char **av = NULL;
        if ((r = jget_strv(o, path, "architectures", &av, err)) < 0)
                return r;
        p->archs = xzalloc((strv_len(av) + 1) * sizeof(uint32_t));
        for (size_t i = 0; av && av[i]; i++) {
                size_t j;
                for (j = 0; j < N(archs) && strcmp(archs[j].name, av[i]) != 0; j++)
                        ;
                jpath(k, sizeof(k), path, "architectures");
                char ik[560];
                jpath_index(ik, sizeof(ik), k, i);
                if (j == N(archs))
                        return error_msg(err, -EINVAL, "%s: unknown architecture '%s'", ik, av[i]);
                if (!archs[j].arch)
                        return error_msg(
                            err, -EOPNOTSUPP,
                            "%s: architecture '%s' is not supported by this libseccomp", ik, av[i]);
                p->archs[p->n_archs++] = archs[j].arch;
        }

        if ((r = jget_array(o, path, "flags", &fl, err)) < 0)
                return r;
        if (!fl) {
                /* runc and crun both default to SPEC_ALLOW: no forced speculative
                 * store bypass mitigation for the container. */
                p->flags = SECCOMP_FILTER_FLAG_SPEC_ALLOW;
        } else {
                jpath(k, sizeof(k), path, "flags");
                for (size_t i = 0; i < json_object_array_length(fl); i++) {
                        char ik[560];
                        jpath_index(ik, sizeof(ik), k, i);
                        _cleanup_free_ char *f = NULL;
                        if ((r = jval_str(json_object_array_get_idx(fl, i), ik, &f, err)) < 0)
                                return r;
                        size_t j;
                        for (j = 0; j < N(flags) && strcmp(flags[j].name, f) != 0; j++)
                                ;
                        if (j == N(flags))
                                return error_msg(err, -EINVAL, "%s: unknown flag '%s'", ik, f);
                        p->flags |= flags[j].flag;
                }
        }
        if ((r = jget_str(o, path, "listenerPath", &p->listener_path, err)) < 0 ||
            (r = jget_str(o, path, "listenerMetadata", &p->listener_metadata, err)) < 0)
                return r;
        if (p->listener_path && !*p->listener_path) {
                free(p->listener_path);
                p->listener_path = NULL;
        }
        if (p->listener_metadata && *p->listener_metadata && !p->listener_path) {
                jpath(k, sizeof(k), path, "listenerMetadata");
                return error_msg(err, -EINVAL, "%s: must not be set without listenerPath", k);
        }

        jpath(k, sizeof(k), path, "syscalls");
        for (size_t i = 0; syscalls && i < json_object_array_length(syscalls); i++) {
                char ik[560];
                jpath_index(ik, sizeof(ik), k, i);
                if ((r = parse_syscall(json_object_array_get_idx(syscalls, i), ik, i, p, err)) < 0)
                        return r;
        }
        if (p->notify && !p->listener_path) {
                jpath(k, sizeof(k), path, "listenerPath");
                return error_msg(err, -EINVAL, "%s: required when SCMP_ACT_NOTIFY is used", k);
        }
        if (p->listener_path && p->notify && p->listener_path[0] != '/') {
                jpath(k, sizeof(k), path, "listenerPath");
                return error_msg(err, -EINVAL, "%s: '%s' is not an absolute path", k,
                                 p->listener_path);
        }
        *ret = TAKE_PTR(p);
        return 0;
}

void seccomp_filter_free(struct seccomp_filter *f)
{
        if (!f)
                return;
        free(f->insns);
        free(f->summary);
        free(f);
}

static void release_ctx(scmp_filter_ctx *c)
{
        if (*c)
                seccomp_release(*c);
}

static bool plainly_allowed(uint32_t a)
{
        return a == SCMP_ACT_ALLOW || a == SCMP_ACT_LOG;
}

/* Whether execveat(2) on the native architecture always passes the filter:
 * the exec trampoline uses it; otherwise the exec goes through execve(2). */
static bool execveat_passes(const struct seccomp_profile *p)
{
        int nr = seccomp_syscall_resolve_name("execveat");
        bool named = false;
        for (size_t i = 0; i < p->n_rules; i++)
                if (p->rules[i].nr == nr) {
                        named = true;
                        if (p->rules[i].n_conds || !plainly_allowed(p->rules[i].action))
                                return false;
                }
        return named || plainly_allowed(p->default_action);
}

static int add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *rule, struct error *err)
{
        struct scmp_arg_cmp c[6];
        bool repeated = false;
        unsigned seen = 0;
        size_t n = rule->n_conds;
        for (size_t i = 0; i < n; i++) {
                if (seen & (1U << rule->conds[i].index))
                        repeated = true;
                seen |= 1U << rule->conds[i].index;
        }
        int r = 0;
        if (repeated || n > 6) {
                /* libseccomp refuses two conditions on one argument in a rule: as runc,
                 * make each condition a rule of its own (any of them matches). */
                for (size_t i = 0; i < n && r == 0; i++) {
                        const struct seccomp_cond *k = &rule->conds[i];
                        c[0] = (struct scmp_arg_cmp){k->index, k->op, k->value, k->value_two};
                        r = seccomp_rule_add_array(ctx, rule->action, rule->nr, 1, c);
                }
        } else {
                for (size_t i = 0; i < n; i++) {
                        const struct seccomp_cond *k = &rule->conds[i];
                        c[i] = (struct scmp_arg_cmp){k->index, k->op, k->value, k->value_two};
                }
                r = seccomp_rule_add_array(ctx, rule->action, rule->nr, (unsigned)n, c);
        }
        if (r < 0)
                return error_sys(err, r, "linux.seccomp.syscalls[%zu]: add a rule for '%s'",
                                 rule->entry, rule->name);
        return 0;
}

static void flags_string(unsigned f, char *buf, size_t len)
{
        size_t o = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < N(flags); i++)
                if (f & flags[i].flag)
                        o += snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "",
                                      flags[i].name + strlen("SECCOMP_FILTER_FLAG_"));
        if (!o)
                snprintf(buf, len, "none");
}

int seccomp_filter_compile(const struct seccomp_profile *p, struct seccomp_filter **ret,
                           struct error *err)
{
        _cleanup_(release_ctx) scmp_filter_ctx ctx = seccomp_init(p->default_action);
        if (!ctx)
                return error_msg(err, -EINVAL,
                                 "linux.seccomp: libseccomp refused the default action");
        /* no_new_privs is process.noNewPrivileges' business, not the filter's. */
        int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
        if (r < 0)
                return error_sys(err, r, "linux.seccomp: clear the no_new_privs attribute");
        char arch_names[256] = "";
        size_t ao = 0;
        for (size_t i = 0; i < p->n_archs; i++) {
                r = seccomp_arch_add(ctx, p->archs[i]);
                if (r < 0 && r != -EEXIST)
                        return error_sys(
                            err, r, "linux.seccomp.architectures[%zu]: add the architecture", i);
        }
        for (size_t i = 0; i < N(archs); i++)
                if (archs[i].arch && seccomp_arch_exist(ctx, archs[i].arch) == 0)
                        ao += snprintf(arch_names + ao,
                                       ao < sizeof(arch_names) ? sizeof(arch_names) - ao : 0,
                                       "%s%s", ao ? "," : "", archs[i].name + strlen("SCMP_ARCH_"));
        /* A binary tree of syscall numbers for long profiles, as runc does
         * (libseccomp <= 2.5.4 misbehaves with it and no rules). */
        if (p->n_rules > 32)
                (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        size_t added = 0;
        for (size_t i = 0; i < p->n_rules; i++) {
                /* Same action as the default: redundant, and libseccomp refuses it. */
                if (p->rules[i].action == p->default_action)
                        continue;
                if ((r = add_rule(ctx, &p->rules[i], err)) < 0)
                        return r;
                added++;
        }
        _cleanup_close_ int mfd = memfd_create("husk-seccomp-bpf", MFD_CLOEXEC);
        if (mfd < 0)
                return error_sys(err, -errno, "linux.seccomp: memfd_create");
        if ((r = seccomp_export_bpf(ctx, mfd)) < 0)
                return error_sys(err, r, "linux.seccomp: generate the BPF program");
        struct stat st;
        if (fstat(mfd, &st) < 0)
                return error_sys(err, -errno, "linux.seccomp: fstat");
        size_t size = (size_t)st.st_size;
        if (size == 0 || size % sizeof(struct sock_filter) ||
            size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return error_msg(err, -E2BIG,
                                 "linux.seccomp: the BPF program has %zu instructions (at most %d)",
                                 size / sizeof(struct sock_filter), BPF_MAXINSNS);
        _cleanup_(seccomp_filter_freep) struct seccomp_filter *f = xzalloc(sizeof(*f));
        f->insns = xmalloc(size);
        if (pread(mfd, f->insns, size, 0) != (ssize_t)size)
                return error_sys(err, -EIO, "linux.seccomp: read the BPF program back");
        f->n_insns = size / sizeof(struct sock_filter);
        f->flags = p->flags;
        f->notify = p->notify;
        f->execveat_direct = execveat_passes(p);
        char def[64], fls[160];
        action_string(p->default_action, def, sizeof(def));
        flags_string(p->flags, fls, sizeof(fls));
        f->summary =
            xasprintf("default %s, %zu rules (%zu unknown syscall names skipped), arch %s, "
                      "flags %s%s, %zu BPF instructions",
                      def, added, p->n_skipped, arch_names, fls,
                      p->notify ? ", notify listener" : "", f->n_insns);
        *ret = TAKE_PTR(f);
        return 0;
}

/* Compiling a long profile costs libseccomp 15-40 ms; engines start container
 * after container with the same profile. The BPF is kept in ROOT/.seccomp-cache,
 * named by a hash of the profile's JSON and libseccomp's version, and used
 * only when the whole key stored in the entry matches. */
/* startproto: 2 adds what loading needs of the profile (flags, notify,
 * execveat), so a hit skips parsing it (resolving ~350 names per arch). */
#define CACHE_MAGIC "husk-seccomp-cache 2\n"
#define CACHE_MAX   64

static void cache_name(const char *key, char *buf, size_t len)
{
        snprintf(buf, len, "%016llx.bpf", (unsigned long long)hash_fnv1a(key, strlen(key)));
}

static bool cache_load(int dirfd, const char *key, struct seccomp_filter *f)
{
        char name[32];
        cache_name(key, name, sizeof(name));
        _cleanup_free_ char *text = NULL;
        size_t len = 0, klen = strlen(key), ml = strlen(CACHE_MAGIC);
        if (read_file_at(dirfd, name, 0, &text, &len) < 0)
                return false;
        /* MAGIC KEY \0 META \0 SUMMARY \0 BPF (META: "FLAGS NOTIFY EXECVEAT") */
        if (len < ml + klen + 2 || memcmp(text, CACHE_MAGIC, ml) != 0 ||
            memcmp(text + ml, key, klen) != 0 || text[ml + klen] != '\0')
                return false;
        const char *meta = text + ml + klen + 1;
        size_t mlen = strnlen(meta, len - ml - klen - 1);
        unsigned fl, notify, xat;
        int used = 0;
        if (ml + klen + 1 + mlen >= len ||
            sscanf(meta, "%u %u %u%n", &fl, &notify, &xat, &used) != 3 || (size_t)used != mlen)
                return false;
        const char *summary = meta + mlen + 1;
        size_t slen = strnlen(summary, len - ml - klen - 1 - mlen - 1);
        size_t off = ml + klen + 1 + mlen + 1 + slen + 1;
        if (off > len)
                return false;
        size_t size = len - off;
        if (size == 0 || size % sizeof(struct sock_filter) ||
            size / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return false;
        f->insns = xmalloc(size);
        memcpy(f->insns, text + off, size);
        f->n_insns = size / sizeof(struct sock_filter);
        f->summary = xstrdup(summary);
        f->flags = fl;
        f->notify = notify != 0;
        f->execveat_direct = xat != 0;
        return true;
}

static void cache_store(int dirfd, const char *key, const struct seccomp_filter *f)
{
        char name[32];
        cache_name(key, name, sizeof(name));
        char meta[64];
        snprintf(meta, sizeof(meta), "%u %u %u", f->flags, (unsigned)f->notify,
                 (unsigned)f->execveat_direct);
        size_t ml = strlen(CACHE_MAGIC), klen = strlen(key), slen = strlen(f->summary);
        size_t tl = strlen(meta), bl = f->n_insns * sizeof(struct sock_filter);
        size_t len = ml + klen + 1 + tl + 1 + slen + 1 + bl;
        _cleanup_free_ char *buf = xmalloc(len);
        memcpy(buf, CACHE_MAGIC, ml);
        memcpy(buf + ml, key, klen + 1);
        memcpy(buf + ml + klen + 1, meta, tl + 1);
        memcpy(buf + ml + klen + 1 + tl + 1, f->summary, slen + 1);
        memcpy(buf + ml + klen + 1 + tl + 1 + slen + 1, f->insns, bl);
        /* Bounded: past CACHE_MAX entries the cache starts over. */
        DIR *d = fdopendir(fcntl(dirfd, F_DUPFD_CLOEXEC, 3));
        size_t n = 0;
        struct dirent *e;
        while (d && (e = readdir(d)))
                n += e->d_name[0] != '.';
        if (d && n >= CACHE_MAX) {
                rewinddir(d);
                while ((e = readdir(d)))
                        if (e->d_name[0] != '.')
                                unlinkat(dirfd, e->d_name, 0);
        }
        if (d)
                closedir(d);
        int r = write_file_atomic(dirfd, name, buf, len, 0600);
        if (r < 0)
                log_debug("seccomp: cache '%s' not written: %s", name, strerror(-r));
}

int seccomp_from_spec(struct json_object *seccomp, int cache_root, struct seccomp_filter **ret,
                      char **ret_listener_path, char **ret_metadata, struct error *err)
{
        _cleanup_(seccomp_profile_freep) struct seccomp_profile *p = NULL;
        *ret = NULL;
        int64_t t0 = now_ms();
        _cleanup_close_ int cfd = -EBADF;
        _cleanup_free_ char *key = NULL;
        struct json_object *lp = NULL;
        if (cache_root >= 0 && seccomp && json_object_is_type(seccomp, json_type_object)) {
                const struct scmp_version *v = seccomp_version();
                key = xasprintf("libseccomp %u.%u.%u arch %u\n%s", v->major, v->minor, v->micro,
                                seccomp_arch_native(), json_compact(seccomp));
                if (mkdirat(cache_root, ".seccomp-cache", 0700) < 0 && errno != EEXIST)
                        log_debug("seccomp: no cache: %s", strerror(errno));
                cfd = openat(cache_root, ".seccomp-cache", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                /* startproto: the same profile text compiled before needs no parse
                 * (nor its names resolved); one with a listener is parsed for it. */
                _cleanup_(seccomp_filter_freep) struct seccomp_filter *cf = xzalloc(sizeof(*cf));
                if (cfd >= 0 && !json_object_object_get_ex(seccomp, "listenerPath", &lp) &&
                    !json_object_object_get_ex(seccomp, "listenerMetadata", &lp) &&
                    cache_load(cfd, key, cf) && !cf->notify) {
                        log_debug("seccomp: cached BPF read in %lld ms: %s",
                                  (long long)(now_ms() - t0), cf->summary);
                        if (ret_listener_path)
                                *ret_listener_path = NULL;
                        if (ret_metadata)
                                *ret_metadata = NULL;
                        *ret = TAKE_PTR(cf);
                        return 0;
                }
        }
        int r = seccomp_profile_parse(seccomp, "linux.seccomp", &p, err);
        if (r < 0 || !p)
                return r;
        int64_t t1 = now_ms();
        _cleanup_(seccomp_filter_freep) struct seccomp_filter *f = xzalloc(sizeof(*f));
        bool hit = cfd >= 0 && cache_load(cfd, key, f);
        if (!hit) {
                seccomp_filter_free(TAKE_PTR(f));
                if ((r = seccomp_filter_compile(p, &f, err)) < 0)
                        return r;
        }
        f->flags = p->flags;
        f->notify = p->notify;
        f->execveat_direct = execveat_passes(p);
        if (!hit && cfd >= 0)
                cache_store(cfd, key, f);
        log_debug("seccomp: parsed in %lld ms, %s in %lld ms: %s", (long long)(t1 - t0),
                  hit ? "cached BPF read" : "compiled", (long long)(now_ms() - t1), f->summary);
        if (ret_listener_path)
                *ret_listener_path =
                    p->notify && p->listener_path ? xstrdup(p->listener_path) : NULL;
        if (ret_metadata)
                *ret_metadata = p->listener_metadata ? xstrdup(p->listener_metadata) : NULL;
        *ret = TAKE_PTR(f);
        return 0;
}

int seccomp_listener_connect(const char *path, int *ret_fd, struct error *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return error_msg(err, -ENAMETOOLONG, "seccomp listener '%s': path too long", path);
        memcpy(sa.sun_path, path, strlen(path));
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return error_sys(err, -errno, "seccomp listener: socket");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return error_sys(err, -errno, "connect to the seccomp listener '%s'", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

char *seccomp_process_state(const char *state_json, pid_t pid, const char *metadata)
{
        struct json_object *st = json_tokener_parse(state_json);
        struct json_object *o = json_object_new_object();
        struct json_object *v = NULL;
        const char *ver = st && json_object_object_get_ex(st, "ociVersion", &v)
                              ? json_object_get_string(v)
                              : "1.2.0";
        json_object_object_add(o, "ociVersion", json_object_new_string(ver));
        struct json_object *fds = json_object_new_array();
        json_object_array_add(fds, json_object_new_string("seccompFd"));
        json_object_object_add(o, "fds", fds);
        json_object_object_add(o, "pid", json_object_new_int(pid));
        if (metadata && *metadata)
                json_object_object_add(o, "metadata", json_object_new_string(metadata));
        json_object_object_add(o, "state", st ? st : json_object_new_object());
        char *s = xstrdup(json_compact(o));
        json_object_put(o);
        return s;
}

/* The notify helper: shares the fd table, waits for the listener fd number,
 * sends it with the payload and exits with 0 or an errno. */
static __attribute__((noreturn)) void notify_helper(volatile int *slot, int sock,
                                                    const char *payload)
{
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        int fd;
        /* At most ~5 s; the loader stores the fd right after seccomp(2) returns. */
        for (int i = 0; (fd = __atomic_load_n(slot, __ATOMIC_ACQUIRE)) == -1 && i < 5000; i++) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
        }
        if (fd < 0)
                _exit(fd == -1 ? ETIMEDOUT : ECANCELED);
        char cbuf[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec iov = {.iov_base = (void *)payload, .iov_len = strlen(payload)};
        struct msghdr m = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        ssize_t n = sendmsg(sock, &m, MSG_NOSIGNAL);
        if (n < 0)
                _exit(errno);
        /* The rest of a long payload, without the fd (the spec allows it). */
        for (size_t off = (size_t)n; off < iov.iov_len;) {
                n = send(sock, payload + off, iov.iov_len - off, MSG_NOSIGNAL);
                if (n < 0)
                        _exit(errno);
                off += (size_t)n;
        }
        _exit(0);
}

int seccomp_filter_load(const struct seccomp_filter *f, int listener_sock, const char *payload,
                        struct error *err)
{
        struct sock_fprog prog = {.len = (unsigned short)f->n_insns, .filter = f->insns};
        unsigned fl = f->flags;
        /* Meaningful (and accepted by the kernel) only with a listener. */
        if (!f->notify)
                fl &= ~(unsigned)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
        if (f->notify) {
                fl |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
                /* The kernel wants TSYNC_ESRCH with TSYNC and a listener. */
                if (fl & SECCOMP_FILTER_FLAG_TSYNC)
                        fl |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
                if (listener_sock < 0 || !payload)
                        return error_msg(err, -EINVAL,
                                         "seccomp: SCMP_ACT_NOTIFY without a listener");
        }
        explain_note("seccomp: load a filter: %s  (no standard command does this)", f->summary);
        if (!f->notify) {
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, fl, &prog) < 0)
                        return error_sys(err, -errno, "load the seccomp filter");
                return 0;
        }
        volatile int *slot =
            mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (slot == MAP_FAILED)
                return error_sys(err, -errno, "seccomp: map the notify slot");
        *slot = -1;
        /* Before the filter: the helper must be free to sendmsg whatever the profile says. */
        pid_t helper = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);
        if (helper < 0) {
                int e = -errno;
                munmap((void *)slot, sizeof(int));
                return error_sys(err, e, "seccomp: start the notify helper");
        }
        if (helper == 0)
                notify_helper(slot, listener_sock, payload);
        int lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, fl, &prog);
        int load_errno = lfd < 0 ? errno : 0;
        __atomic_store_n(slot, lfd < 0 ? -2 : lfd, __ATOMIC_RELEASE);
        /* From here on the filter is in force: as few syscalls as possible. */
        int status = 0;
        while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
                ;
        munmap((void *)slot, sizeof(int));
        if (lfd < 0)
                return error_sys(err, -load_errno, "load the seccomp filter");
        /* The container must not hold its own listener. */
        close(lfd);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return error_sys(err, WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR,
                                 "send the seccomp notify fd to the listener");
        return 0;
}

const char *const *seccomp_known_actions(void)
{
        static const char *v[N(actions) + 1];
        for (size_t i = 0; i < N(actions); i++)
                v[i] = actions[i].name;
        return v;
}

const char *const *seccomp_known_operators(void)
{
        static const char *v[N(operators) + 1];
        for (size_t i = 0; i < N(operators); i++)
                v[i] = operators[i].name;
        return v;
}

const char *const *seccomp_known_archs(void)
{
        static const char *v[N(archs) + 1];
        size_t n = 0;
        for (size_t i = 0; i < N(archs); i++)
                if (archs[i].arch)
                        v[n++] = archs[i].name;
        v[n] = NULL;
        return v;
}

const char *const *seccomp_known_flags(void)
{
        static const char *v[N(flags) + 1];
        for (size_t i = 0; i < N(flags); i++)
                v[i] = flags[i].name;
        return v;
}

char **seccomp_supported_flags(void)
{
        char **v = NULL;
        for (size_t i = 0; i < N(flags); i++) {
                /* The kernel checks the flags before it reads the program: a known
                 * flag with no program fails with EFAULT, an unknown one EINVAL. */
                /* WAIT_KILLABLE_RECV is only valid with a listener. */
                unsigned f = flags[i].flag;
                if (f == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
                        f |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
                errno = 0;
                if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f, NULL) < 0 && errno == EFAULT)
                        v = strv_push(v, xstrdup(flags[i].name));
        }
        return v;
}
