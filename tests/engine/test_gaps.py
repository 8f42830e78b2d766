"""The small gaps of issues 4 and 5: the README tour's nsenter and cgroup-file
steps, cp through symlinks, --ipc container:X with /dev/shm, rename and
--network-alias in the hosts files, commit with StopTimeout."""
import json
import os
import subprocess
from pathlib import Path

import pytest


def memory_limit_file(pid):
    """The container's memory limit file, found from /proc/PID/cgroup as the
    README tour shows: the v1 'memory' line, or the v2 '0::' line."""
    lines = Path("/proc/%d/cgroup" % pid).read_text().splitlines()
    for line in lines:
        _, ctrl, path = line.split(":", 2)
        if "memory" in ctrl.split(","):
            return Path("/sys/fs/cgroup/memory" + path) / "memory.limit_in_bytes"
    for line in lines:
        if line.startswith("0::"):
            return Path("/sys/fs/cgroup" + line[3:]) / "memory.max"
    raise AssertionError("no memory cgroup in %r" % lines)


def test_tour_nsenter_and_cgroup_file(husk):
    husk.run("run", "--name", "test1", "-d", "-m", "400m", "busybox", "sh", "-c",
             "while true; do date; sleep 1; done")
    pid = json.loads(husk.out("inspect", "test1"))[0]["State"]["Pid"]
    jq = subprocess.run("%s | jq '.[].State.Pid'" % " ".join(husk.cmdline("inspect", "test1")),
                        shell=True, env=husk.env, capture_output=True, check=True)
    assert int(jq.stdout) == pid
    ps = subprocess.run(["nsenter", "--target", str(pid), "--mount", "--uts", "--ipc", "--net",
                         "--pid", "ps"], capture_output=True, check=True).stdout.decode()
    rows = [l.split(None, 2) for l in ps.splitlines()[1:]]
    assert rows[0][0] == "1" and rows[0][2] == "sh -c while true; do date; sleep 1; done", ps
    assert any(r[2] == "ps" for r in rows), ps
    # only the container's processes: its pid namespace
    assert all(int(r[0]) < 100 for r in rows), ps
    f = memory_limit_file(pid)
    assert "husk-" + husk.inspect("test1")["Id"] in str(f)
    assert f.read_text().strip() == str(400 * 1024 * 1024)
    husk.run("stop", "-t", "1", "test1")
    husk.run("rm", "test1")


@pytest.fixture
def linked(husk, tmp_path):
    """A running container with symlinks: /flink -> /etc/real (a file),
    /dlink -> /etc (a directory) and /etc/x -> ../../../../../tmp/U/f, a
    relative link that climbs above the root; the host has its own
    /tmp/U/f, which must never be read or written."""
    u = "hk-gaps-cp-%d" % os.getpid()
    host = Path("/tmp") / u
    host.mkdir()
    (host / "f").write_text("HOST\n")
    husk.run("run", "-d", "--name", "cpl", "busybox", "sleep", "60")
    husk.run("exec", "cpl", "sh", "-c",
             "echo old > /etc/real && ln -s /etc/real /flink && ln -s /etc /dlink && "
             "mkdir -p /tmp/%s && echo CTR > /tmp/%s/f && ln -s ../../../../../tmp/%s/f /etc/x"
             % (u, u, u))
    src = tmp_path / "src"
    src.write_text("new\n")
    yield u, host, src
    husk.run("rm", "-f", "cpl")
    assert (host / "f").read_text() == "HOST\n"
    for p in host.iterdir():
        p.unlink()
    host.rmdir()


def check_cp_to_follows(husk, u, src):
    husk.run("cp", str(src), "cpl:/flink")
    assert husk.out("exec", "cpl", "readlink", "/flink") == "/etc/real\n"
    assert husk.out("exec", "cpl", "cat", "/etc/real") == "new\n"
    husk.run("cp", str(src), "cpl:/dlink")  # a link to a directory: into it
    assert husk.out("exec", "cpl", "cat", "/etc/src") == "new\n"
    husk.run("cp", str(src), "cpl:/etc/x")  # climbs above /: clamped at the root
    assert husk.out("exec", "cpl", "readlink", "/etc/x") == "../../../../../tmp/%s/f\n" % u
    assert husk.out("exec", "cpl", "cat", "/tmp/%s/f" % u) == "new\n"


@pytest.mark.asan
def test_cp_to_follows_symlinks_inside_root(husk, linked):
    u, host, src = linked
    check_cp_to_follows(husk, u, src)
    assert (host / "f").read_text() == "HOST\n"
    # a stopped container (its detached overlay) too
    husk.run("exec", "cpl", "sh", "-c", "echo old > /etc/real; echo CTR > /tmp/%s/f" % u)
    husk.run("stop", "-t", "0", "cpl")
    src.write_text("again\n")
    husk.run("cp", str(src), "cpl:/flink")
    husk.run("cp", str(src), "cpl:/etc/x")
    husk.run("start", "cpl")
    assert husk.out("exec", "cpl", "readlink", "/flink") == "/etc/real\n"
    assert husk.out("exec", "cpl", "cat", "/etc/real", "/tmp/%s/f" % u) == "again\nagain\n"
    # a loop is an error naming the path
    husk.run("exec", "cpl", "sh", "-c", "ln -s /loop2 /loop1 && ln -s /loop1 /loop2")
    r = husk.fail("cp", str(src), "cpl:/loop1")
    assert "/loop1" in r.stderr and "symbolic links" in r.stderr, r


def test_cp_from_follow_link_inside_root(husk, linked, tmp_path):
    u, host, _ = linked
    husk.run("cp", "cpl:/flink", str(tmp_path / "asis"))  # no -L: the link itself
    assert os.readlink(tmp_path / "asis") == "/etc/real"
    husk.run("cp", "-L", "cpl:/flink", str(tmp_path / "followed"))
    assert (tmp_path / "followed").read_text() == "old\n"
    husk.run("cp", "--follow-link", "cpl:/etc/x", str(tmp_path / "climbed"))
    assert (tmp_path / "climbed").read_text() == "CTR\n"
    husk.run("cp", "-L", "cpl:/dlink", str(tmp_path / "etc"))
    assert (tmp_path / "etc" / "real").read_text() == "old\n"


@pytest.mark.asan
def test_ipc_container_shares_dev_shm(husk):
    husk.run("run", "-d", "--name", "donor", "--ipc", "shareable", "--shm-size", "8m",
             "busybox", "sleep", "60")
    husk.run("exec", "donor", "sh", "-c", "echo from-donor > /dev/shm/f")
    ipc = husk.out("exec", "donor", "readlink", "/proc/self/ns/ipc")
    out = husk.out("run", "--rm", "--ipc", "container:donor", "busybox", "sh", "-c",
                   "readlink /proc/self/ns/ipc; cat /dev/shm/f; echo from-joiner > /dev/shm/g; "
                   "df -k /dev/shm | tail -n 1")
    lines = out.splitlines()
    assert lines[0] + "\n" == ipc and lines[1] == "from-donor", out
    assert lines[2].split()[1] == "8192", out  # the donor's tmpfs, with its size
    assert husk.out("exec", "donor", "cat", "/dev/shm/g") == "from-joiner\n"
    assert husk.out("exec", "donor", "sh", "-c", "df -k /dev/shm | tail -n 1").split()[1] == "8192"
    # as docker: only a shareable container's IPC can be joined
    husk.run("run", "-d", "--name", "priv", "busybox", "sleep", "60")
    r = husk.fail("run", "--rm", "--ipc", "container:priv", "busybox", "true")
    assert "container priv has a non-shareable IPC namespace" in r.stderr, r
    # none: an IPC namespace of its own, no /dev/shm mounted
    out = husk.out("run", "--rm", "--ipc", "none", "busybox", "sh", "-c",
                   "readlink /proc/self/ns/ipc; grep -c ' /dev/shm ' /proc/mounts", check=False)
    lines = out.split()
    assert lines[0] != os.readlink("/proc/self/ns/ipc") and lines[0] + "\n" != ipc, out
    assert lines[1] == "0", out
    assert husk.inspect("donor")["HostConfig"]["IpcMode"] == "shareable"
    husk.run("stop", "-t", "0", "donor")
    r = husk.fail("run", "--rm", "--ipc", "container:donor", "busybox", "true")
    assert "not running" in r.stderr, r
    # restarted: a fresh tmpfs again, joinable
    husk.run("start", "donor")
    husk.run("run", "--rm", "--ipc", "container:donor", "busybox", "touch", "/dev/shm/h")
    husk.run("exec", "donor", "test", "-f", "/dev/shm/h")
