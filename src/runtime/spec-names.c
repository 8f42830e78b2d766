/* Name tables of the OCI config: namespace types and capabilities. */
#include <fcntl.h>
#include <sched.h>
#include <string.h>

#include "core/util.h"
#include "runtime/spec.h"

static const struct {
        const char *name;
        int type;
} namespaces[] = {
    {"pid", CLONE_NEWPID},       {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS},
    {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},     {"user", CLONE_NEWUSER},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

int spec_ns_type_from_name(const char *name)
{
        for (size_t i = 0; name && i < ARRAY_SIZE(namespaces); i++)
                if (strcmp(namespaces[i].name, name) == 0)
                        return namespaces[i].type;
        return -1;
}

const char *spec_ns_name(int type)
{
        for (size_t i = 0; i < ARRAY_SIZE(namespaces); i++)
                if (namespaces[i].type == type)
                        return namespaces[i].name;
        return NULL;
}

/* Indexed by capability number, up to CAP_CHECKPOINT_RESTORE (40). */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int spec_cap_from_name(const char *name)
{
        for (size_t i = 0; name && i < ARRAY_SIZE(cap_names); i++)
                if (strcmp(cap_names[i], name) == 0)
                        return (int)i;
        return -1;
}

const char *spec_cap_name(int cap)
{
        if (cap < 0 || (size_t)cap >= ARRAY_SIZE(cap_names))
                return NULL;
        return cap_names[cap];
}

int spec_cap_last(void)
{
        static int last = -1;
        if (last >= 0)
                return last;
        _cleanup_free_ char *text = NULL;
        int64_t v;
        if (read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, &text, NULL) >= 0) {
                text[strcspn(text, "\n")] = '\0';
                if (parse_i64(text, &v) >= 0 && v >= 0 && v < 64)
                        last = (int)v;
        }
        if (last < 0)
                last = 40; /* CAP_CHECKPOINT_RESTORE, when /proc is not there */
        return last;
}
