"""startproto: what makes a start cheaper, checked for what it must keep
doing. A detached start's monitor runs in the CLI's memory and uses the CLI's
database connection (engine.c spawn_shared), the OCI seccomp section of
docker's default profile is kept in RUNROOT/seccomp-oci/ keyed by the
capabilities among other things, a cached BPF filter is loaded without
parsing its profile, the runtime gets the config.json text in memory.

Each test has its own root (conftest); the fixture's teardown fails on
anything left."""
import json
import os
from pathlib import Path
import time

import pytest


def config_of(husk, name):
    cid = husk.out("inspect", "-f", "{{.Id}}", name).strip()
    return json.loads((husk.root / "containers" / cid / "config.json").read_text())


def seccomp_names(cfg):
    names = set()
    for rule in cfg["linux"]["seccomp"]["syscalls"]:
        if rule.get("action") == "SCMP_ACT_ALLOW" and not rule.get("args"):
            names.update(rule["names"])
    return names


def status_field(husk, *args, field):
    out = husk.out("run", "--rm", "--network", "none", *args, "busybox", "grep",
                   "^%s:" % field, "/proc/self/status")
    return out.split()[1]


@pytest.mark.asan
def test_seccomp_section_cache_follows_the_capabilities(husk):
    # Docker's default profile allows kcmp/ptrace only with CAP_SYS_PTRACE.
    husk.run("create", "--network", "none", "--name", "a", "busybox", "true")
    husk.run("start", "-a", "a")
    husk.run("create", "--network", "none", "--name", "b", "--cap-add", "SYS_PTRACE",
             "busybox", "true")
    husk.run("start", "-a", "b")
    husk.run("create", "--network", "none", "--name", "c", "busybox", "true")
    husk.run("start", "-a", "c")
    a, b, c = (config_of(husk, n) for n in "abc")
    assert "kcmp" not in seccomp_names(a) and "kcmp" in seccomp_names(b)
    # c came from the cache that a filled: the same section, word for word.
    assert a["linux"]["seccomp"] == c["linux"]["seccomp"]
    cache = husk.runroot / "seccomp-oci"
    assert len(list(cache.iterdir())) == 2, list(cache.iterdir())
    # A profile file that changed is not served from the cache: a stale entry
    # under the old key is never looked at.
    for f in cache.iterdir():
        text = f.read_text()
        key, body = text.split("\n", 1)
        assert key.startswith("husk-seccomp-oci 1 /usr/share/containers/seccomp.json "), key
        assert json.loads(body)["defaultAction"]
    husk.run("rm", "a", "b", "c")


@pytest.mark.asan
def test_cached_seccomp_filter_still_confines(husk):
    # First run compiles (and caches) the BPF, the second loads it from the
    # cache without parsing the profile: both confined the same way.
    for _ in range(2):
        assert status_field(husk, field="Seccomp") == "2"
        assert status_field(husk, field="NoNewPrivs") == "0"
    assert status_field(husk, "--security-opt", "seccomp=unconfined", field="Seccomp") == "0"
    entries = list((husk.runroot / "runtime" / ".seccomp-cache").iterdir())
    assert entries and all(e.read_bytes().startswith(b"husk-seccomp-cache 2\n") for e in entries)


def test_start_many_and_restart_after_a_shared_monitor(husk):
    # `start X Y` and `restart` go on using the CLI's database after a
    # monitor ran in its memory.
    for n in ("x", "y", "z"):
        husk.run("create", "--network", "none", "--name", n, "busybox", "sleep", "60")
    out = husk.out("start", "x", "y", "z")
    assert out.split() == ["x", "y", "z"], out
    for n in ("x", "y", "z"):
        st = husk.inspect(n)["State"]
        assert st["Status"] == "running" and st["Pid"] > 0, st
    pid = husk.inspect("y")["State"]["Pid"]
    husk.run("restart", "-t", "1", "y", "z")
    st = husk.inspect("y")["State"]
    assert st["Status"] == "running" and st["Pid"] not in (0, pid), st
    husk.run("rm", "-f", "x", "y", "z")


def test_shared_monitor_keeps_nothing_of_the_cli(husk):
    husk.run("run", "-d", "--network", "none", "--name", "m", "busybox", "sleep", "60")
    init, mon = husk.monitor_of("m")
    deadline = time.time() + 5
    while os.path.basename(os.readlink("/proc/%d/exe" % mon)) != "husk-monitor":
        assert time.time() < deadline, "monitor %d never became husk-monitor" % mon
        time.sleep(0.05)
    fds = [os.readlink("/proc/%d/fd/%s" % (mon, f)) for f in os.listdir("/proc/%d/fd" % mon)]
    # The WAL index pin is its own; the CLI's store and database fds are gone.
    assert [f for f in fds if "husk.db" in f] == [str(husk.root / "husk.db-shm")], fds
    assert not [f for f in fds if "/image" in f], fds
    # Held as an open file description read lock on the DMS byte (128).
    locks = Path("/proc/locks").read_text()
    ino = os.stat(husk.root / "husk.db-shm").st_ino
    assert [l for l in locks.splitlines() if "OFDLCK" in l and "READ" in l
            and (":%d " % ino) in l and l.split()[-2] == "128"], locks
    # The container's program got nothing of either beyond its stdio.
    cfds = sorted(int(f) for f in os.listdir("/proc/%d/fd" % init))
    assert cfds == [0, 1, 2], cfds
    # Killing the CLI's successor (the monitor) is still noticed.
    husk.kill_monitor("m")
    husk.wait_for(lambda: husk.inspect("m")["State"]["Status"] == "exited", what="exited")
    husk.run("rm", "m")
