"""linux.namespaces: new ones, joined ones (by path), user and time namespaces."""

import os
import subprocess
from pathlib import Path

import pytest

from conftest import Probe, skip_on

NS_FILES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
            "cgroup": "cgroup", "user": "user", "time": "time"}


def host_ns(name):
    return str(os.stat("/proc/self/ns/%s" % name).st_ino)


@pytest.mark.asan
def test_new_namespaces(rt):
    b = rt.bundle(args=("/probe", "pid", "ns", "hostname"))
    b.config["hostname"] = "inside-host"
    b.set_namespace("cgroup")
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["pid"] == "1"
    assert p["hostname"] == "inside-host"
    for t in ("pid", "net", "ipc", "uts", "mnt", "cgroup"):
        assert p["ns." + t] != host_ns(t), "namespace %s not new" % t
    assert p["ns.user"] == host_ns("user")


def test_domainname(rt):
    skip_on("runc", "runc 1.1 ignores domainname (runtime-spec 1.1 field)")
    b = rt.bundle(args=("/probe", "hostname", "domainname"))
    b.config["domainname"] = "inside.example"
    r = rt.run(b)
    assert r.returncode == 0, r
    assert r.probe()["domainname"] == "inside.example"
    assert r.probe()["hostname"] == "huskit"


def test_namespace_not_requested_is_shared(rt):
    b = rt.bundle(args=("/probe", "ns", "hostname"))
    for t in ("ipc", "uts", "network"):
        b.remove_namespace(t)
    del b.config["hostname"]
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    for t in ("ipc", "uts", "net", "cgroup"):
        assert p["ns." + t] == host_ns(t), t
    assert p["hostname"] == os.uname().nodename
    assert p["ns.pid"] != host_ns("pid")


def test_hostname_without_uts_namespace_fails(working, rt):
    # The spec: hostname needs a new uts namespace; setting the host's is an error.
    b = rt.bundle(args=("/probe", "hostname"))
    b.remove_namespace("uts")
    b.config["hostname"] = "must-not-be-set"
    r = rt.run(b)
    assert r.returncode != 0
    assert os.uname().nodename != "must-not-be-set"


def test_join_netns_by_path(rt):
    name = "husk-it-" + rt.token
    subprocess.run(["ip", "netns", "add", name], check=True)
    rt.netns.append(name)
    path = "/run/netns/" + name
    b = rt.bundle(args=("/probe", "ns"))
    b.set_namespace("network", path)
    r = rt.run(b)
    assert r.returncode == 0, r
    assert r.probe()["ns.net"] == str(os.stat(path).st_ino)


def test_join_ipc_of_other_container(rt):
    a = rt.bundle(args=("/probe", "ns", "sleep", "30"))
    ca = rt.run_detached(a).cid
    pid = rt.state(ca)["pid"]
    out = Probe(rt.wait_output(a, "ns.uts="))
    b = rt.bundle(args=("/probe", "ns"))
    b.set_namespace("ipc", "/proc/%d/ns/ipc" % pid)
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["ns.ipc"] == out["ns.ipc"]
    assert p["ns.uts"] != out["ns.uts"]
    rt.delete(ca, force=True)


def test_join_namespace_wrong_type_rejected(rt):
    a = rt.bundle(args=("/probe", "sleep", "30"))
    ca = rt.run_detached(a).cid
    pid = rt.state(ca)["pid"]
    b = rt.bundle(args=("/probe", "ns"))
    b.set_namespace("network", "/proc/%d/ns/ipc" % pid)
    r = rt.create(b, check=False)
    assert r.returncode != 0
    assert rt.state(r.cid, check=False).returncode != 0
    assert "ns.net=" not in b.stdout()
    rt.delete(ca, force=True)


def test_join_namespace_missing_path_rejected(working, rt):
    b = rt.bundle(args=("/probe", "ns"))
    b.set_namespace("network", "/run/netns/husk-it-missing-" + rt.token)
    r = rt.create(b, check=False)
    assert r.returncode != 0
    assert rt.state(r.cid, check=False).returncode != 0


@pytest.mark.asan
def test_user_namespace_mappings(rt):
    b = rt.bundle(args=("/probe", "ids", "ns", "sleep", "30"))
    b.set_namespace("user")
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    # v1 cgroupfs can't be mounted from a user namespace that doesn't own it.
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    cid = rt.run_detached(b).cid
    pid = rt.state(cid)["pid"]
    p = Probe(rt.wait_output(b, "ns.uts="))
    assert p["uid"] == "0" and p["gid"] == "0"
    assert p["ns.user"] != host_ns("user")
    uid_map = Path("/proc/%d/uid_map" % pid).read_text().split()
    gid_map = Path("/proc/%d/gid_map" % pid).read_text().split()
    assert uid_map == ["0", "200000", "65536"]
    assert gid_map == ["0", "200000", "65536"]
    st = os.stat("/proc/%d" % pid)
    assert st.st_uid == 200000
    rt.delete(cid, force=True)


def test_user_namespace_user_1000(rt):
    b = rt.bundle(args=("/probe", "ids"))
    b.set_namespace("user")
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 2000}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 2000}]
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    b.process["user"] = {"uid": 1000, "gid": 1000}
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    assert (p["uid"], p["gid"]) == ("1000", "1000")


def test_cgroup_namespace(rt):
    b = rt.bundle(args=("/probe", "ns", "read", "/proc/self/cgroup"))
    b.set_namespace("cgroup")
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["ns.cgroup"] != host_ns("cgroup")
    lines = p["read:/proc/self/cgroup"].split("\\n")
    # Inside its cgroup namespace the container's own cgroup is the root.
    for line in filter(None, lines):
        ctrl, path = line.split(":", 2)[1:]
        if ctrl:
            assert path == "/", line


def test_time_namespace_offsets(rt):
    skip_on("runc", "runc 1.1 has no time namespace support")
    skip_on("crun", "crun 1.8.1 fails every container with a time namespace here "
            "('write to sync socket: Connection reset by peer')")
    b = rt.bundle(args=("/probe", "ns", "timens"))
    b.set_namespace("time")
    b.config["linux"]["timeOffsets"] = {
        "monotonic": {"secs": 86400 * 3, "nanosecs": 0},
        "boottime": {"secs": 7200, "nanosecs": 500},
    }
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["ns.time"] != host_ns("time")
    offs = {l.split()[0]: l.split()[1:] for l in p.all("timens")}
    assert offs["monotonic"] == ["259200", "0"]
    assert offs["boottime"] == ["7200", "500"]


def test_join_pid_namespace_of_other_container(rt):
    a = rt.bundle(args=("/probe", "ready", "sleep", "30"))
    ca = rt.run_detached(a).cid
    rt.wait_output(a, "ready=1")
    pid = rt.state(ca)["pid"]
    b = rt.bundle(args=("/probe", "pid", "ns", "read", "/proc/1/cmdline"))
    b.set_namespace("pid", "/proc/%d/ns/pid" % pid)
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["pid"] != "1"
    assert p["ns.pid"] == str(os.stat("/proc/%d/ns/pid" % pid).st_ino)
    assert p["read:/proc/1/cmdline"].startswith("/probe")
    rt.delete(ca, force=True)


def test_exec_in_user_namespace(rt):
    b = rt.bundle(args=("/probe", "ready", "sleep", "30"))
    b.set_namespace("user")
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    init = rt.state(cid)["pid"]
    pf = rt.tmp / "exec.pid"
    r = rt.cmd("exec", "-d", "--pid-file", pf, cid, "/probe", "sleep", "30",
               files=(rt.tmp / "o", rt.tmp / "e"))
    assert r.returncode == 0, r
    pid = int(pf.read_text())
    assert os.stat("/proc/%d/ns/user" % pid).st_ino == os.stat("/proc/%d/ns/user" % init).st_ino
    assert os.stat("/proc/%d" % pid).st_uid == 200000
    r = rt.cmd("exec", "--user", "1000:1000", cid, "/probe", "ids")
    assert r.returncode == 0, r
    assert r.probe()["uid"] == "1000"
    rt.delete(cid, force=True)
