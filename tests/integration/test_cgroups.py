"""cgroups: where the container lands (nested under the caller's own cgroup),
that delete removes it, and that linux.resources is accepted."""

import os
import time
from pathlib import Path

import pytest

from conftest import cgroup_mount_of, own_cgroups, skip_on


def cgroups_of(pid):
    res = {}
    for line in Path("/proc/%d/cgroup" % pid).read_text().splitlines():
        _, ctrl, path = line.split(":", 2)
        res[ctrl] = path
    return res


def v1_dirs(pid):
    """{ctrl: absolute dir} of every v1 hierarchy the process is in."""
    res = {}
    for ctrl, path in cgroups_of(pid).items():
        if not ctrl:
            continue
        mp = cgroup_mount_of(ctrl)
        if mp:
            res[ctrl] = Path(mp + path)
    return res


@pytest.mark.asan
def test_cgroup_nested_under_caller(rt):
    skip_on("crun", "crun 1.8 takes a relative cgroupsPath from the hierarchy root")
    b = rt.bundle(args=("/probe", "sleep", "30"))
    rel = b.config["linux"]["cgroupsPath"]
    assert not rel.startswith("/")
    cid = rt.run_detached(b).cid
    pid = rt.state(cid)["pid"]
    own = own_cgroups()
    got = cgroups_of(pid)
    v1 = [c for c in own if c]
    assert v1, "no v1 hierarchies on this host"
    for ctrl in v1:
        want = own[ctrl].rstrip("/") + "/" + rel
        assert got.get(ctrl) == want, (ctrl, got.get(ctrl), want)
    dirs = v1_dirs(pid)
    for ctrl, d in dirs.items():
        assert d.is_dir(), d
        assert str(pid) in (d / "cgroup.procs").read_text().split()
    rt.delete(cid, force=True)
    for d in dirs.values():
        assert not d.exists(), "cgroup %s left after delete" % d


def test_delete_removes_cgroups(rt):
    b = rt.bundle(args=("/probe", "fork", "2", "ready", "sleep", "30"))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    pid = rt.state(cid)["pid"]
    dirs = v1_dirs(pid)
    assert dirs
    for d in dirs.values():
        assert len((d / "cgroup.procs").read_text().split()) == 3
    rt.delete(cid, force=True)
    for d in dirs.values():
        assert not d.exists(), "cgroup %s left after delete" % d


def test_stopped_container_cgroup_removed_on_delete(rt):
    b = rt.bundle(args=("/probe", "sleep", "1"))
    cid = rt.create(b).cid
    dirs = v1_dirs(rt.state(cid)["pid"])
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    rt.delete(cid)
    for d in dirs.values():
        assert not d.exists(), d


def test_exec_joins_container_cgroup(rt):
    b = rt.bundle(args=("/probe", "ready", "sleep", "30"))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    init = rt.state(cid)["pid"]
    pf = rt.tmp / "exec.pid"
    r = rt.cmd("exec", "-d", "--pid-file", pf, cid, "/probe", "sleep", "30",
               files=(rt.tmp / "o", rt.tmp / "e"))
    assert r.returncode == 0, r
    pid = int(pf.read_text())
    a, e = cgroups_of(init), cgroups_of(pid)
    for ctrl, path in a.items():
        if ctrl:
            assert e.get(ctrl) == path, ctrl
    rt.delete(cid, force=True)


def test_resources_accepted(rt):
    b = rt.bundle(args=("/probe", "pid"))
    b.config["linux"]["resources"] = {
        "devices": [{"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
        "memory": {"limit": 268435456},
        "pids": {"limit": 100},
        "cpu": {"shares": 512},
    }
    r = rt.run(b)
    assert r.returncode == 0, r


def test_resources_applied(rt):
    b = rt.bundle(args=("/probe", "sleep", "30"))
    b.config["linux"]["resources"] = {
        "memory": {"limit": 268435456},
        "pids": {"limit": 100},
        "cpu": {"shares": 512},
    }
    cid = rt.run_detached(b).cid
    dirs = v1_dirs(rt.state(cid)["pid"])
    assert (dirs["memory"] / "memory.limit_in_bytes").read_text().strip() == "268435456"
    assert (dirs["pids"] / "pids.max").read_text().strip() == "100"
    cpu = dirs.get("cpu") or dirs.get("cpu,cpuacct")
    assert (cpu / "cpu.shares").read_text().strip() == "512"
    rt.delete(cid, force=True)


@pytest.mark.husk_only
def test_default_cgroup_path(rt):
    # No cgroupsPath: "husk-<id>" under the caller's own cgroup (cgroup.h).
    b = rt.bundle(args=("/probe", "sleep", "30"))
    del b.config["linux"]["cgroupsPath"]
    cid = rt.run_detached(b).cid
    pid = rt.state(cid)["pid"]
    own = own_cgroups()
    got = cgroups_of(pid)
    dirs = v1_dirs(pid)
    for ctrl in own:
        if ctrl:
            assert got[ctrl] == own[ctrl].rstrip("/") + "/husk-" + cid
    rt.delete(cid, force=True)
    for d in dirs.values():
        assert not d.exists(), d
