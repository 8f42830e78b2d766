"""linux.resources: every limit lands in the cgroup files, and the kernel
enforces it (OOM kill, pids, cpu throttling, devices); pause/resume, update
and events. This host is hybrid: every controller used here is cgroup v1
(tests/cgroup-v2/runtime-v2.sh checks the same on a pure v2 guest)."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import IS_HUSK, TIMEOUT, cgroup_mount_of, skip_on

MiB = 1 << 20


def v1_dirs(pid):
    """{controller: dir} of the v1 hierarchies pid is in (one key per controller)."""
    res = {}
    for line in Path("/proc/%d/cgroup" % pid).read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if not ctrls:
            continue
        mp = cgroup_mount_of(ctrls)
        if mp:
            for c in ctrls.split(","):
                res[c] = Path(mp + path)
    return res


def read(d, f):
    return (d / f).read_text().strip()


def whole_disk():
    """major:minor of a whole disk for blkio throttle rules, or None."""
    for b in sorted(Path("/sys/block").iterdir()):
        if b.name.startswith(("loop", "ram", "zram", "nbd")):
            continue
        dev = (b / "dev").read_text().strip()
        return tuple(int(x) for x in dev.split(":"))
    return None


def start(rt, resources, args, writable=False, devices=None):
    b = rt.bundle(args=args, writable=writable)
    b.config["linux"]["resources"] = resources
    if devices is not None:
        b.config["linux"]["devices"] = devices
    cid = rt.run_detached(b).cid
    return b, cid, rt.state(cid)["pid"]


def test_limits_read_back(rt):
    disk = whole_disk()
    res = {
        "memory": {"limit": 256 * MiB, "reservation": 128 * MiB, "swap": 256 * MiB,
                   "swappiness": 10},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "pids": {"limit": 50},
    }
    if disk:
        res["blockIO"] = {
            "throttleReadBpsDevice": [{"major": disk[0], "minor": disk[1], "rate": 10485760}],
            "throttleWriteIOPSDevice": [{"major": disk[0], "minor": disk[1], "rate": 300}],
        }
    b, cid, pid = start(rt, res, ("/probe", "ready", "sleep", "30"))
    d = v1_dirs(pid)
    m = d["memory"]
    assert read(m, "memory.limit_in_bytes") == str(256 * MiB)
    assert read(m, "memory.soft_limit_in_bytes") == str(128 * MiB)
    if (m / "memory.memsw.limit_in_bytes").exists():
        assert read(m, "memory.memsw.limit_in_bytes") == str(256 * MiB)
    assert read(m, "memory.swappiness") == "10"
    assert read(d["cpu"], "cpu.shares") == "512"
    assert read(d["cpu"], "cpu.cfs_quota_us") == "50000"
    assert read(d["cpu"], "cpu.cfs_period_us") == "100000"
    assert read(d["cpuset"], "cpuset.cpus") == "0"
    assert read(d["cpuset"], "cpuset.mems") == "0"
    assert read(d["pids"], "pids.max") == "50"
    if disk:
        mm = "%d:%d" % disk
        assert "%s 10485760" % mm in read(d["blkio"], "blkio.throttle.read_bps_device")
        assert "%s 300" % mm in read(d["blkio"], "blkio.throttle.write_iops_device")
    rt.delete(cid, force=True)


def test_oom_kill_and_events(rt):
    b = rt.bundle(args=("/probe", "ready", "sleep", "1", "alloc", "64", "sleep", "30"))
    b.config["linux"]["resources"] = {"memory": {"limit": 16 * MiB, "swap": 16 * MiB}}
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    pid = rt.state(cid)["pid"]
    mem = v1_dirs(pid)["memory"]
    ev_out = rt.tmp / "events.out"
    with open(ev_out, "w") as f:
        ev = subprocess.Popen([rt.binary, "--root", str(rt.root), "events", "--interval", "1s",
                               cid], stdout=f, stderr=subprocess.STDOUT, env=rt.env)
        try:
            rt.wait_status(cid, "stopped", timeout=20)
            if IS_HUSK:
                ev.wait(timeout=10)  # events ends when the container stops
            else:
                time.sleep(1)  # runc's keeps running
        finally:
            if ev.poll() is None:
                ev.kill()
                ev.wait()
    assert "allocated=64" not in b.stdout()
    oc = read(mem, "memory.oom_control")
    assert "oom_kill 1" in oc, oc
    skip_on("crun", "crun 1.8 has no events command")
    events = [json.loads(line) for line in ev_out.read_text().splitlines() if line.startswith("{")]
    assert {"type": "oom", "id": cid} in [{k: e[k] for k in ("type", "id")} for e in events
                                           if e["type"] == "oom"], ev_out.read_text()
    rt.delete(cid)


def test_oom_exit_code_foreground(rt):
    b = rt.bundle(args=("/probe", "alloc", "64"))
    b.config["linux"]["resources"] = {"memory": {"limit": 16 * MiB, "swap": 16 * MiB}}
    r = rt.run(b)
    assert r.returncode == 137, r


def test_pids_limit(rt):
    b = rt.bundle(args=("/probe", "try-fork", "10"))
    b.config["linux"]["resources"] = {"pids": {"limit": 5}}
    r = rt.run(b)
    p = r.probe()
    assert p["forked"] == "4", r
    assert p["fork.errno"] == "EAGAIN", r


def test_cpu_quota_throttles(rt):
    res = {"cpu": {"quota": 10000, "period": 100000}}
    b, cid, pid = start(rt, res, ("/probe", "spin", "1", "sleep", "30"))
    rt.wait_output(b, "spun=1", timeout=20)
    st = dict(line.split() for line in read(v1_dirs(pid)["cpu"], "cpu.stat").splitlines())
    assert int(st["nr_throttled"]) > 0, st
    rt.delete(cid, force=True)


FUSE = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o666}]


@pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="no fuse driver")
def test_device_denied(rt):
    b = rt.bundle(args=("/probe", "open", "/dev/fuse", "open", "/dev/null"))
    b.config["linux"]["devices"] = FUSE
    b.config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["open:/dev/fuse"] == "EPERM", r
    # runc's default rules stay: /dev/null is usable
    assert p["open:/dev/null"] == "OK", r


@pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="no fuse driver")
def test_device_allowed_and_read_only(rt):
    b = rt.bundle(args=("/probe", "open", "/dev/fuse", "stat", "/dev/fuse"))
    b.config["linux"]["devices"] = FUSE
    b.config["linux"]["resources"] = {"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"}]}
    r = rt.run(b)
    assert r.probe()["open:/dev/fuse"] == "OK", r
    b2 = rt.bundle(args=("/probe", "open", "/dev/fuse"))
    b2.config["linux"]["devices"] = FUSE
    b2.config["linux"]["resources"] = {"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"}]}
    r = rt.run(b2)
    assert r.probe()["open:/dev/fuse"] == "EPERM", r  # opened O_RDWR, only r allowed
    # The v1 file shows the rules
    b3, cid, pid = start(rt, b2.config["linux"]["resources"], ("/probe", "sleep", "30"),
                         devices=FUSE)
    lst = read(v1_dirs(pid)["devices"], "devices.list").splitlines()
    assert "c 10:229 r" in lst, lst
    assert "c 1:3 rwm" in lst, lst
    assert "a *:* rwm" not in lst, lst
    rt.delete(cid, force=True)


def ticks(b):
    return len([l for l in b.stdout().splitlines() if l.startswith("tick=")])


def test_pause_resume(rt):
    b = rt.bundle(args=("/probe", "tick", "60"))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "tick=3")
    r = rt.cmd("pause", cid)
    assert r.returncode == 0, r
    assert rt.state(cid)["status"] == "paused"
    pid = rt.state(cid)["pid"]
    assert read(v1_dirs(pid)["freezer"], "freezer.state") == "FROZEN"
    n = ticks(b)
    time.sleep(0.5)
    assert ticks(b) == n, "the process made progress while paused"
    r = rt.cmd("pause", cid)
    assert r.returncode != 0 or rt.name == "crun", "pausing a paused container must fail"
    r = rt.cmd("resume", cid)
    assert r.returncode == 0, r
    assert rt.state(cid)["status"] == "running"
    time.sleep(0.3)
    assert ticks(b) > n
    r = rt.cmd("resume", cid)
    assert r.returncode != 0 or rt.name == "crun", "resuming a running container must fail"
    rt.delete(cid, force=True)


def test_delete_force_paused(rt):
    b = rt.bundle(args=("/probe", "fork", "2", "ready", "sleep", "60"))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    dirs = v1_dirs(rt.state(cid)["pid"])
    assert rt.cmd("pause", cid).returncode == 0
    r = rt.delete(cid, check=False)
    assert r.returncode != 0, "delete without --force of a paused container must fail"
    rt.delete(cid, force=True)
    for d in dirs.values():
        assert not d.exists(), d


def test_update_running(rt):
    res = {"memory": {"limit": 256 * MiB}, "pids": {"limit": 100}, "cpu": {"shares": 512}}
    b, cid, pid = start(rt, res, ("/probe", "sleep", "30"))
    d = v1_dirs(pid)
    if rt.name != "crun":  # crun 1.8 builds broken JSON from update's flags
        r = rt.cmd("update", "--memory", "128m", "--pids-limit", "20", "--cpu-quota", "20000",
                   "--cpu-period", "100000", cid)
        assert r.returncode == 0, r
        assert read(d["memory"], "memory.limit_in_bytes") == str(128 * MiB)
        assert read(d["pids"], "pids.max") == "20"
        assert read(d["cpu"], "cpu.cfs_quota_us") == "20000"
        assert read(d["cpu"], "cpu.shares") == "512"
    f = rt.tmp / "res.json"
    f.write_text(json.dumps({"memory": {"limit": 300 * MiB}, "pids": {"limit": 30},
                             "cpu": {"shares": 256}}))
    r = rt.cmd("update", "-r", f, cid)
    assert r.returncode == 0, r
    assert read(d["memory"], "memory.limit_in_bytes") == str(300 * MiB)
    assert read(d["pids"], "pids.max") == "30"
    assert read(d["cpu"], "cpu.shares") == "256"
    r = rt.cmd("update", "-r", "-", cid, input=json.dumps({"pids": {"limit": 40}}).encode())
    assert r.returncode == 0, r
    assert read(d["pids"], "pids.max") == "40"
    if rt.name != "crun" and (d["memory"] / "memory.memsw.limit_in_bytes").exists():
        r = rt.cmd("update", "--memory", "64m", "--memory-swap", "96m", cid)
        assert r.returncode == 0, r
        assert read(d["memory"], "memory.limit_in_bytes") == str(64 * MiB)
        assert read(d["memory"], "memory.memsw.limit_in_bytes") == str(96 * MiB)
        # raising the limit above the memory+swap limit alone is refused
        r = rt.cmd("update", "--memory", "200m", cid)
        assert r.returncode != 0, r
        assert read(d["memory"], "memory.limit_in_bytes") == str(64 * MiB)
    rt.delete(cid, force=True)


def test_update_stopped_fails(working):
    rt = working
    skip_on("crun", "crun 1.8 updates a stopped container without complaint")
    b = rt.bundle(args=("/probe", "pid"))
    cid = rt.run_detached(b).cid
    rt.wait_status(cid, "stopped")
    r = rt.cmd("update", "--pids-limit", "10", cid)
    assert r.returncode != 0, r
    rt.delete(cid)


def test_events_stats(rt):
    skip_on("crun", "crun 1.8 has no events command")
    res = {"memory": {"limit": 64 * MiB}, "pids": {"limit": 30}}
    b, cid, pid = start(rt, res, ("/probe", "fork", "2", "ready", "sleep", "30"))
    rt.wait_output(b, "ready=1")
    r = rt.cmd("events", "--stats", cid)
    assert r.returncode == 0, r
    ev = json.loads(r.stdout)
    assert ev["type"] == "stats" and ev["id"] == cid
    data = ev["data"]
    assert data["memory"]["usage"]["limit"] == 64 * MiB
    assert data["memory"]["usage"]["usage"] > 0
    assert data["pids"]["current"] == 3
    assert data["pids"]["limit"] == 30
    assert data["cpu"]["usage"]["total"] > 0
    rt.delete(cid, force=True)


def test_tiny_footprint(rt):
    b = rt.bundle(args=("/bin/true",))
    b.config["linux"]["resources"] = {"memory": {"limit": 4 * MiB}, "pids": {"limit": 1}}
    r = rt.run(b)
    assert r.returncode == 0, r


@pytest.mark.husk_only
def test_unified_on_v1_names_the_key(working):
    rt = working
    b = rt.bundle(args=("/probe", "pid"))
    b.config["linux"]["resources"] = {"unified": {"memory.high": "1000000"}}
    r = rt.run(b)
    assert r.returncode != 0
    assert "linux.resources.unified: cgroup v2 is not available for key 'memory.high'" in r.stderr, r


@pytest.mark.husk_only
def test_unified_key_with_slash_refused(working):
    rt = working
    b = rt.bundle(args=("/probe", "pid"))
    b.config["linux"]["resources"] = {"unified": {"../memory.max": "1"}}
    r = rt.run(b)
    assert r.returncode != 0
    assert "linux.resources.unified" in r.stderr and "no '/'" in r.stderr, r


@pytest.mark.husk_only
def test_bad_resource_type_names_path(working):
    rt = working
    b = rt.bundle(args=("/probe", "pid"))
    b.config["linux"]["resources"] = {"memory": {"limit": "lots"}}
    r = rt.run(b)
    assert r.returncode != 0
    assert "linux.resources.memory.limit: expected an integer" in r.stderr, r


@pytest.mark.husk_only
def test_impossible_limit_fails_cleanly(working):
    # A realtime runtime above the parent's (0 here) can't be granted: the
    # error names the field, and teardown checks nothing is left.
    rt = working
    b = rt.bundle(args=("/probe", "pid"))
    b.config["linux"]["resources"] = {"cpu": {"realtimeRuntime": 950000,
                                              "realtimePeriod": 1000000}}
    r = rt.run(b)
    assert r.returncode != 0
    assert "linux.resources.cpu.realtime" in r.stderr, r


@pytest.mark.husk_only
def test_explain_shows_limits(rt):
    b = rt.bundle(args=("/probe", "pid"))
    b.config["linux"]["resources"] = {"memory": {"limit": 268435456}, "pids": {"limit": 64}}
    b.write()
    cid = rt.new_id()
    r = rt.cmd("--explain", "run", "--bundle", b.path, cid)
    assert r.returncode == 0, r
    assert "echo 268435456 > " in r.stderr and "/memory.limit_in_bytes" in r.stderr, r.stderr
    assert "echo 64 > " in r.stderr and "/pids.max" in r.stderr, r.stderr


@pytest.mark.husk_only
def test_hugetlb_unavailable_names_the_field(working):
    # On this hybrid host hugetlb sits in cgroup v2 but is not enabled for the
    # caller's children (cgroup.subtree_control): the limit can't be honoured.
    rt = working
    ctrl = Path("/sys/fs/cgroup/unified/cgroup.subtree_control")
    if not ctrl.exists() or "hugetlb" in ctrl.read_text():
        pytest.skip("hugetlb is usable here")
    b = rt.bundle(args=("/probe", "pid"))
    b.config["linux"]["resources"] = {"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}
    r = rt.run(b)
    assert r.returncode != 0
    assert "linux.resources.hugepageLimits: the hugetlb controller is not available" in r.stderr, r


@pytest.mark.husk_only
@pytest.mark.parametrize("res,msg", [
    ({"network": {"classID": 1048577}},
     "linux.resources.network.classID: the net_cls controller is not available"),
    ({"network": {"priorities": [{"name": "lo", "priority": 1}]}},
     "linux.resources.network.priorities: the net_prio controller is not available"),
    ({"rdma": {"mlx5_1": {"hcaHandles": 3}}},
     "linux.resources.rdma: the rdma controller is not available"),
])
def test_unmounted_controller_names_the_field(working, res, msg):
    # net_cls, net_prio and rdma are not mounted on this host
    rt = working
    for c in ("net_cls", "net_prio", "rdma"):
        if cgroup_mount_of(c):
            pytest.skip("%s is mounted here" % c)
    b = rt.bundle(args=("/probe", "pid"))
    b.config["linux"]["resources"] = res
    r = rt.run(b)
    assert r.returncode != 0
    assert msg in r.stderr, r


@pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="no fuse driver")
def test_update_devices(rt):
    skip_on("runc", "runc 1.1 update leaves device rules alone")
    res = {"devices": [{"allow": False, "access": "rwm"}]}
    b, cid, pid = start(rt, res, ("/probe", "sleep", "30"), devices=FUSE)

    def try_open():
        r = rt.cmd("exec", cid, "/probe", "open", "/dev/fuse")
        assert r.returncode == 0, r
        return r.probe()["open:/dev/fuse"]

    assert try_open() == "EPERM"
    f = rt.tmp / "dev.json"
    f.write_text(json.dumps({"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"}]}))
    r = rt.cmd("update", "-r", f, cid)
    assert r.returncode == 0, r
    assert try_open() == "OK"
    rt.delete(cid, force=True)
