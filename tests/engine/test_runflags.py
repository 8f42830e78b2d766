"""husk run's security, device, limit and namespace flags, seen from inside
the container or in its cgroup files: --privileged, --security-opt, the default
seccomp profile, --device, --sysctl, --shm-size, --memory-swap, --cpu-shares,
--cpuset-cpus, --group-add, --cgroup-parent, --pid, --ipc, --uts."""
import json
import os
import uuid
from pathlib import Path

import pytest

from conftest import REPO, cgroup_file, cgroup_mount_of, own_cgroups

PROBE = REPO / "build" / "tests" / "probe"
PROBE_MNT = "%s:/probe:ro" % PROBE


def status(husk, *flags, field):
    out = husk.out("run", "--rm", *flags, "busybox", "grep", field + ":", "/proc/self/status")
    return out.split(":", 1)[1].strip()


@pytest.mark.asan
def test_default_seccomp_profile_denies_and_privileged_or_unconfined_allow(husk):
    # sysfs(2) is harmless but docker's default profile denies it (EPERM = 1).
    def sysfs(*flags):
        return husk.out("run", "--rm", "-v", PROBE_MNT, *flags, "busybox", "/probe", "syscall",
                        "sysfs").strip()
    assert sysfs() == "syscall.sysfs=1"
    assert sysfs("--security-opt", "seccomp=unconfined") == "syscall.sysfs=0"
    assert sysfs("--privileged") == "syscall.sysfs=0"
    assert status(husk, field="Seccomp") == "2"
    assert status(husk, "--privileged", field="Seccomp") == "0"


def test_custom_seccomp_profile(husk, tmp_path):
    # Docker's format: a profile allowing everything but getpid (EPERM... here EACCES = 13).
    prof = tmp_path / "p.json"
    prof.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                     {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                      "excludes": {"caps": ["CAP_CHOWN"]}}]}))
    out = husk.out("run", "--rm", "-v", PROBE_MNT, "--security-opt", "seccomp=%s" % prof,
                   "busybox", "/probe", "syscall", "getpid", "syscall", "getcwd", "syscall",
                   "sysfs")
    # getcwd's rule is excluded: the container has CAP_CHOWN.
    assert out.split() == ["syscall.getpid=13", "syscall.getcwd=0", "syscall.sysfs=0"]
    # The profile's text is kept with the container, as docker does.
    husk.run("create", "--name", "c", "--security-opt", "seccomp=%s" % prof, "busybox", "true")
    sec = husk.inspect("c")["HostConfig"]["SecurityOpt"]
    assert sec[0].startswith("seccomp={") and "getpid" in sec[0]
    bad = tmp_path / "bad.json"
    bad.write_text('{"syscalls": []}')
    r = husk.fail("run", "--rm", "--security-opt", "seccomp=%s" % bad, "busybox", "true")
    assert "no defaultAction" in r.stderr
    r = husk.fail("run", "--rm", "--security-opt", "seccomp=/nonexistent.json", "busybox", "true")
    assert "/nonexistent.json" in r.stderr


def test_no_new_privileges_and_label(husk):
    assert status(husk, field="NoNewPrivs") == "0"
    assert status(husk, "--security-opt", "no-new-privileges", field="NoNewPrivs") == "1"
    assert status(husk, "--security-opt", "no-new-privileges=true", field="NoNewPrivs") == "1"
    assert status(husk, "--security-opt", "no-new-privileges=false", field="NoNewPrivs") == "0"
    assert status(husk, "--security-opt", "label=disable", field="NoNewPrivs") == "0"
    for bad in ("no-new-privileges=maybe", "label=bogus", "apparmor2=x", "seccomp="):
        r = husk.fail("run", "--rm", "--security-opt", bad, "busybox", "true")
        assert "--security-opt '%s'" % bad in r.stderr, r


def test_privileged(husk):
    host_bnd = [l for l in Path("/proc/self/status").read_text().splitlines()
                if l.startswith("CapBnd:")][0].split()[1]
    assert status(husk, "--privileged", field="CapEff") == host_bnd
    assert status(husk, field="CapEff") != host_bnd
    out = husk.out("run", "--rm", "--privileged", "busybox", "sh", "-c",
                   "mount | grep ' /sys '; test -b /dev/loop0 && echo loop; "
                   "echo masked=$(wc -c < /proc/timer_list); "
                   "echo 1 > /proc/sys/kernel/ns_last_pid && echo w")
    assert "(rw," in out and "loop\n" in out and "w\n" in out
    assert "masked=0\n" not in out and "masked=" in out
    out = husk.out("run", "--rm", "busybox", "sh", "-c",
                   "mount | grep ' /sys '; test -e /dev/loop0 || echo nodev; "
                   "echo masked=$(wc -c < /proc/timer_list)")
    assert "(ro," in out and "nodev\n" in out and "masked=0\n" in out


def test_device(husk):
    out = husk.out("run", "--rm", "--device", "/dev/null:/dev/mynull:rw", "busybox", "sh", "-c",
                   "ls -l /dev/mynull; echo x > /dev/mynull && echo wrote")
    assert out.startswith("c") and "1,   3" in out and "wrote" in out
    # r only: the device cgroup refuses writes (a device outside docker's default rules).
    if os.path.exists("/dev/loop0"):
        out = husk.out("run", "--rm", "--device", "/dev/loop0:/dev/xloop:r", "busybox", "sh",
                       "-c", "test -b /dev/xloop && echo blk; head -c 1 /dev/xloop >/dev/null "
                       "&& echo read; echo x 2>/dev/null > /dev/xloop || echo denied")
        assert out.split() == ["blk", "read", "denied"]
    for bad, msg in (("/nonexistent", "/nonexistent"), ("/etc/passwd", "not a character"),
                     ("/dev/null:/x:rwz", "bad permissions"), ("dev/null", "absolute")):
        r = husk.fail("run", "--rm", "--device", bad, "busybox", "true")
        assert "--device '%s'" % bad in r.stderr and msg in r.stderr, r


def test_sysctl_and_shm_size(husk):
    out = husk.out("run", "--rm", "--sysctl", "kernel.shmmax=123456", "--sysctl",
                   "net.ipv4.ip_forward=1", "--shm-size", "10m", "busybox", "sh", "-c",
                   "cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward; "
                   "df -k /dev/shm | tail -1")
    lines = out.splitlines()
    assert lines[0] == "123456" and lines[1] == "1" and lines[2].split()[1] == "10240"
    assert husk.out("run", "--rm", "busybox", "sh", "-c",
                    "df -k /dev/shm | tail -1").split()[1] == "65536"
    for args, msg in ((["--sysctl", "vm.swappiness=1"], "not a namespaced sysctl"),
                      (["--sysctl", "kernel.shmmax"], "want KEY=VALUE"),
                      (["--ipc", "host", "--sysctl", "kernel.shmmax=1"], "--ipc host"),
                      (["--ipc", "container:x", "--sysctl", "fs.mqueue.msg_max=1"],
                       "--ipc container:x"),
                      (["--shm-size", "-1"], "--shm-size '-1'")):
        r = husk.fail("run", "--rm", *args, "busybox", "true")
        assert msg in r.stderr, r


def test_memory_swap_cpu_shares_cpuset(husk):
    cid = husk.out("run", "-d", "-m", "64m", "--memory-swap", "128m", "--cpu-shares", "512",
                   "--cpuset-cpus", "0", "busybox", "sleep", "30").strip()
    assert cgroup_file(cid, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert cgroup_file(cid, "memory", "memory.memsw.limit_in_bytes") == str(128 << 20)
    assert cgroup_file(cid, "cpu", "cpu.shares") == "512"
    assert cgroup_file(cid, "cpuset", "cpuset.cpus") == "0"
    out = husk.out("exec", cid, "grep", "Cpus_allowed_list", "/proc/self/status")
    assert out.split()[1] == "0"
    husk.run("rm", "-f", cid)
    for args, msg in ((["--memory-swap", "1g"], "set --memory too"),
                      (["-m", "1g", "--memory-swap", "512m"], "at least --memory"),
                      (["--cpu-shares", "-3"], "--cpu-shares '-3'"),
                      (["--cpuset-cpus", "4096"], "not available"),
                      (["--cpuset-cpus", "1-x"], "--cpuset-cpus '1-x'")):
        r = husk.fail("run", "--rm", *args, "busybox", "true")
        assert msg in r.stderr, r


def test_group_add(husk):
    out = husk.out("run", "--rm", "--group-add", "daemon", "--group-add", "4321", "busybox",
                   "id", "-G")
    assert set(out.split()) >= {"1", "4321"}
    r = husk.fail("run", "--rm", "--group-add", "nosuchgroup", "busybox", "true")
    assert "--group-add 'nosuchgroup'" in r.stderr


def test_cgroup_parent_nests_below_huskss_own_cgroup(husk):
    parent = "hk-rf-" + uuid.uuid4().hex[:8]
    try:
        cid = husk.out("run", "-d", "--cgroup-parent", parent, "-m", "32m", "busybox", "sleep",
                       "30").strip()
        mine = own_cgroups()["memory"]
        d = Path(cgroup_mount_of("memory") + mine) / parent / ("husk-" + cid)
        assert (d / "memory.limit_in_bytes").read_text().strip() == str(32 << 20)
        inside = husk.out("exec", cid, "cat", "/proc/self/cgroup")
        assert "memory:%s/%s/husk-%s" % (mine.rstrip("/"), parent, cid) in inside
        husk.run("rm", "-f", cid)
        assert not d.exists()
        r = husk.fail("run", "--rm", "--cgroup-parent", "../escape", "busybox", "true")
        assert "--cgroup-parent '../escape'" in r.stderr
    finally:
        # As docker, the parent stays after rm: remove ours, in every hierarchy.
        for ctrl, path in own_cgroups().items():
            mp = cgroup_mount_of(ctrl)
            if mp and os.path.isdir(mp + path.rstrip("/") + "/" + parent):
                os.rmdir(mp + path.rstrip("/") + "/" + parent)


def test_pid_ipc_uts_host(husk):
    def ns(kind, *flags):
        return husk.out("run", "--rm", *flags, "busybox", "readlink",
                        "/proc/self/ns/" + kind).strip()
    for kind in ("pid", "ipc", "uts"):
        host = os.readlink("/proc/self/ns/" + kind)
        assert ns(kind) != host
        assert ns(kind, "--" + kind, "host") == host
    assert husk.out("run", "--rm", "--uts", "host", "busybox", "sh", "-c",
                    "hostname; cat /etc/hostname").split() == [os.uname().nodename] * 2
    r = husk.fail("run", "--rm", "--uts", "host", "--hostname", "x", "busybox", "true")
    assert "--hostname and --uts host" in r.stderr
    assert husk.out("run", "--rm", "--pid", "host", "busybox", "sh", "-c",
                    "test -d /proc/%d && echo seen" % os.getpid()).strip() == "seen"
    for args, msg in ((["--pid", "bogus"], "--pid 'bogus'"), (["--uts", "private"], "--uts"),
                      (["--ipc", "nope"], "--ipc 'nope'"),
                      (["--pid", "container:nosuch"], "no such container")):
        r = husk.fail("run", "--rm", *args, "busybox", "true")
        assert msg in r.stderr, r


def test_pid_and_ipc_of_another_container(husk):
    husk.run("run", "-d", "--name", "first", "--ipc", "shareable", "busybox", "sleep", "30")
    first_pid = husk.out("exec", "first", "readlink", "/proc/self/ns/pid").strip()
    first_ipc = husk.out("exec", "first", "readlink", "/proc/self/ns/ipc").strip()
    out = husk.out("run", "--rm", "--pid", "container:first", "--ipc", "container:first",
                   "busybox", "sh", "-c",
                   "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; ps -o comm")
    lines = out.split()
    assert lines[0] == first_pid and lines[1] == first_ipc and "sleep" in lines
    husk.run("stop", "-t", "1", "first")
    r = husk.fail("run", "--rm", "--pid", "container:first", "busybox", "true")
    assert "not running" in r.stderr


@pytest.mark.asan
def test_oom_killed(husk):
    # No swap to fall back on (--memory-swap = --memory): the kernel OOM-kills the shell.
    r = husk.run("run", "--name", "oom", "-m", "8m", "--memory-swap", "8m", "busybox", "sh",
                 "-c", 'x=$(head -c 64000000 /dev/zero | tr "\\0" a); echo survived',
                 check=False)
    assert r.returncode == 137 and "survived" not in r.stdout, r
    st = husk.inspect("oom")["State"]
    assert st["OOMKilled"] is True and st["ExitCode"] == 137
    husk.run("run", "--name", "fine", "-m", "8m", "busybox", "true")
    assert husk.inspect("fine")["State"]["OOMKilled"] is False
    # Killed by a signal, not by the OOM killer: 137 but OOMKilled false.
    husk.run("run", "-d", "--name", "k", "-m", "8m", "busybox", "sleep", "30")
    husk.run("kill", "k")
    assert husk.out("wait", "k").strip() == "137"
    assert husk.inspect("k")["State"]["OOMKilled"] is False
