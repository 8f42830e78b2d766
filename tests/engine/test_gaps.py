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
