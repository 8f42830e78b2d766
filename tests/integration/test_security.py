"""CVE-2019-5736 style attacks: a container must never get a writable handle on
the runtime binary of the host."""

import os
import time

import pytest

from conftest import Probe, real_runtime_binaries, sha256_of


def host_binaries():
    res = {}
    for path in real_runtime_binaries():
        st = os.stat(path)
        res[path] = ("%d:%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino),
                     sha256_of(path))
    return res


ALL_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]


def evil_bundle(rt, init_args, privileged=True):
    """A writable bundle with /evil. privileged: the container process has every
    capability the host root has (CAP_SYS_PTRACE lets it open /proc/PID/exe of
    processes the runtime starts), the strongest attacker."""
    b = rt.bundle(args=init_args, writable=True)
    if privileged:
        caps = [c for c in ALL_CAPS if c != "CAP_SYS_RESOURCE"]
        b.process["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
        b.process["noNewPrivileges"] = False
    evil = b.path / "rootfs" / "evil"
    evil.write_text("#!/proc/self/exe\n")
    os.chmod(evil, 0o755)
    return b


def test_exec_shebang_proc_self_exe(rt):
    """exec runs a script whose interpreter is /proc/self/exe (the runtime, if the
    runtime execs it), while the container's init watches every process that
    appears, holds an O_PATH handle on its executable and keeps reopening it for
    writing."""
    before = host_binaries()
    b = evil_bundle(rt, ("/probe", "watch-exe", "5"))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "watching=1")
    for _ in range(3):
        rt.cmd("exec", cid, "/evil", timeout=20)
        rt.cmd("exec", cid, "/probe", "pid", timeout=20)
    out = rt.wait_output(b, "watched=", timeout=15)
    p = Probe(out)
    # The watcher saw processes the runtime started in the container.
    assert int(p["watched"]) >= 1, out
    writable = set(p.all("exe-writable"))
    for path, (devino, _) in before.items():
        assert devino not in writable, "container opened %s for writing: %s" % (path, out)
    assert host_binaries() == before
    rt.wait_status(cid, "stopped")
    rt.delete(cid)


def test_init_shebang_proc_self_exe(rt):
    """A container whose own process is such a script, started in the pid
    namespace of a container that watches it (the attacker)."""
    before = host_binaries()
    watcher = evil_bundle(rt, ("/probe", "watch-exe", "5"))
    wid = rt.run_detached(watcher).cid
    rt.wait_output(watcher, "watching=1")
    wpid = rt.state(wid)["pid"]
    for _ in range(3):
        b = evil_bundle(rt, ("/evil",))
        b.set_namespace("pid", "/proc/%d/ns/pid" % wpid)
        r = rt.run(b, timeout=20)
        if rt.state(r.cid, check=False).returncode == 0:
            rt.delete(r.cid, force=True)
    out = rt.wait_output(watcher, "watched=", timeout=15)
    p = Probe(out)
    assert int(p["watched"]) >= 1, out
    writable = set(p.all("exe-writable"))
    for path, (devino, _) in before.items():
        assert devino not in writable, "container opened %s for writing: %s" % (path, out)
    assert host_binaries() == before
    rt.wait_status(wid, "stopped")
    rt.delete(wid)
