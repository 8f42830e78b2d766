"""husk run|create --runtime PATH: an external runc-compatible runtime (Debian's
runc, and build/husk-runtime driven as a binary) instead of the built-in
library, for the whole life of the container: run, logs, exec (also under a
pty), stop, kill, pause, top, stats, rm -f, --rm, -t, limits, published ports,
restart policies, a SIGKILLed monitor; bad runtimes fail with 125 naming them
and leave nothing (the conftest teardown checks mounts, cgroups, processes,
files, rows, links, nft tables)."""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import time

import pytest

from conftest import REPO, cgroup_dirs, cgroup_file
from test_tty import Pty

RUNC = shutil.which("runc") or "/usr/sbin/runc"
HUSK_RUNTIME = str(REPO / "build" / "husk-runtime")
RUNTIMES = [pytest.param(RUNC, id="runc"), pytest.param(HUSK_RUNTIME, id="husk-runtime")]


def monitor_of(husk, name):
    pid = husk.inspect(name)["State"]["Pid"]
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def state_dirs(husk):
    d = husk.runroot / "runtime"
    # husk-runtime keeps its compiled seccomp filters as a shared cache there.
    return sorted(p.name for p in d.iterdir() if p.name != ".seccomp-cache") if d.exists() else []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.asan
@pytest.mark.parametrize("rt", RUNTIMES)
def test_run_rm_exit_code_output_and_inspect(husk, rt):
    r = husk.run("run", "--rm", "--runtime", rt, "busybox", "sh", "-c",
                 "echo out; echo err >&2; exit 3", check=False)
    assert r.returncode == 3, r
    assert r.stdout == "out\n" and "err\n" in r.stderr, r
    husk.run("create", "--name", "c", "--runtime", rt, "busybox", "true")
    assert husk.inspect("c")["HostConfig"]["Runtime"] == os.path.realpath(rt)
    husk.run("start", "-a", "c")
    assert husk.inspect("c")["State"]["ExitCode"] == 0
    husk.run("rm", "c")
    assert state_dirs(husk) == []


def test_runtime_by_name_in_path_and_builtin_default(husk):
    husk.run("run", "--name", "n", "--runtime", "runc", "busybox", "true")
    assert husk.inspect("n")["HostConfig"]["Runtime"] == os.path.realpath(RUNC)
    husk.run("run", "--name", "b", "busybox", "true")
    assert husk.inspect("b")["HostConfig"]["Runtime"] == "husk"


@pytest.mark.parametrize("rt", RUNTIMES)
def test_detached_logs_exec_top_stats_pause_kill(husk, rt):
    cid = husk.out("run", "-d", "--name", "w", "--runtime", rt, "busybox", "sh", "-c",
                   "echo hello; trap 'exit 7' USR1; while :; do sleep 0.1; done").strip()
    husk.wait_for(lambda: "hello" in husk.out("logs", "w"), what="log line")
    st = husk.inspect("w")["State"]
    assert st["Running"] and st["Pid"] > 0
    # The monitor, not the runtime (gone after create), is the init's parent.
    assert monitor_of(husk, "w") != st["Pid"]
    if rt == RUNC:  # runc's own state file, not the built-in library's
        state = json.loads((husk.runroot / "runtime" / cid / "state.json").read_text())
        assert state["init_process_pid"] == st["Pid"]
    r = husk.run("exec", "w", "sh", "-c", "echo in-exec; exit 4", check=False)
    assert r.returncode == 4 and r.stdout == "in-exec\n", r
    assert husk.out("exec", "-i", "w", "cat", input=b"piped\n") == "piped\n"
    assert husk.run("exec", "w", "nope", check=False).returncode == 127
    husk.run("exec", "-d", "w", "sleep", "30")
    top = husk.out("top", "w")
    assert "sleep 30" in top and str(st["Pid"]) in top, top
    stats = husk.out("stats", "--no-stream", "w")
    assert cid[:12] in stats, stats
    husk.run("pause", "w")
    assert husk.inspect("w")["State"]["Status"] == "paused"
    assert "Paused" in husk.out("ps")
    husk.run("unpause", "w")
    assert husk.inspect("w")["State"]["Status"] == "running"
    husk.run("kill", "-s", "USR1", "w")
    husk.wait_for(lambda: not husk.inspect("w")["State"]["Running"], what="exit")
    assert husk.inspect("w")["State"]["ExitCode"] == 7
    assert state_dirs(husk) == [] and cgroup_dirs(cid) == []


@pytest.mark.parametrize("rt", RUNTIMES)
def test_stop_and_rm_force(husk, rt):
    # --init (catatonit) forwards SIGTERM to sleep, which dies of it: 128+15.
    husk.run("run", "-d", "--name", "s", "--init", "--runtime", rt, "busybox", "sleep", "100")
    t0 = time.time()
    husk.run("stop", "s")
    assert time.time() - t0 < 8
    assert husk.inspect("s")["State"]["ExitCode"] == 143
    # A container that ignores SIGTERM: stop -t 1 kills it (137), rm -f kills at once.
    husk.run("run", "-d", "--name", "i", "--runtime", rt, "busybox", "sh", "-c",
             "trap '' TERM; while :; do sleep 0.1; done")
    husk.run("stop", "-t", "1", "i")
    assert husk.inspect("i")["State"]["ExitCode"] == 137
    cid = husk.out("run", "-d", "--name", "f", "--runtime", rt, "busybox", "sleep", "100").strip()
    husk.run("rm", "-f", "f")
    assert "f" not in husk.out("ps", "-a", "--format", "{{.Names}}").split()
    assert cgroup_dirs(cid) == [] and "f" not in state_dirs(husk)


@pytest.mark.parametrize("rt", RUNTIMES)
def test_memory_limit_in_cgroup(husk, rt):
    cid = husk.out("run", "-d", "--runtime", rt, "-m", "48m", "busybox", "sleep", "100").strip()
    assert cgroup_file(cid, "memory", "memory.limit_in_bytes") == str(48 << 20)
    husk.run("rm", "-f", cid)


@pytest.mark.parametrize("rt", RUNTIMES)
def test_oom_killed(husk, rt):
    r = husk.run("run", "--name", "oom", "--runtime", rt, "-m", "8m", "--memory-swap", "8m",
                 "busybox", "sh", "-c", "x=$(head -c 64000000 /dev/zero | tr '\\0' a)",
                 check=False)
    assert r.returncode == 137, r
    assert husk.inspect("oom")["State"]["OOMKilled"] is True
    husk.run("rm", "oom")


@pytest.mark.parametrize("rt", RUNTIMES)
def test_tty_run_and_exec_under_a_pty(husk, rt):
    t = Pty(30, 100)
    p = t.spawn(husk, "run", "-it", "--rm", "--runtime", rt, "busybox", "sh")
    try:
        t.write(b"tty; echo $((6*7))\n")
        assert b"/dev/pts/0" in t.read_until(b"42")
        t.write(b"exit 5\n")
        assert p.wait(timeout=20) == 5
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        t.close()
    husk.run("run", "-d", "--name", "tt", "--runtime", rt, "busybox", "sleep", "100")
    t = Pty(30, 100)
    p = t.spawn(husk, "exec", "-it", "tt", "sh")
    try:
        t.write(b"tty; echo $((7*8))\n")
        out = t.read_until(b"56")
        assert b"/dev/pts/" in out, out
        t.write(b"exit 6\n")
        assert p.wait(timeout=20) == 6
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        t.close()
    # ctrl-p ctrl-q detaches; the process runs on.
    t = Pty(30, 100)
    p = t.spawn(husk, "exec", "-it", "tt", "sh", "-c", "echo ready; sleep 77")
    try:
        t.read_until(b"ready")
        t.write(b"\x10\x11")
        assert p.wait(timeout=20) == 0
        assert b"read escape sequence" in t.read_until(b"escape sequence")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        t.close()
    assert "sleep 77" in husk.out("top", "tt")
    # -d -t: a terminal nobody reads, as docker's.
    husk.run("exec", "-d", "-t", "tt", "sh", "-c", "tty > /tmp/t; sleep 5")
    husk.wait_for(lambda: "/dev/pts/" in husk.run("exec", "tt", "cat", "/tmp/t",
                                                    check=False).stdout, what="exec -d -t")
    husk.run("rm", "-f", "tt")


@pytest.mark.parametrize("rt", RUNTIMES)
def test_published_port_reachable(husk, rt, tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello-ext\n")
    os.chmod(tmp_path, 0o755)
    port = free_port()
    husk.run("run", "-d", "--name", "web", "--runtime", rt, "-p", "127.0.0.1:%d:80" % port,
             "-v", "%s:/www:ro" % www, "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
    ip = husk.inspect("web")["NetworkSettings"]["IPAddress"]
    assert ip

    def fetch():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        return data
                    data += chunk
        except OSError:
            return b""
    assert b"hello-ext" in husk.wait_for(fetch, what="the published port")
    husk.run("rm", "-f", "web")
    assert husk.veths() == [] and husk.port_rules() == []


@pytest.mark.parametrize("rt", RUNTIMES)
def test_restart_policy(husk, rt):
    husk.run("run", "-d", "--name", "r", "--runtime", rt, "--restart", "on-failure:2",
             "busybox", "sh", "-c", "echo run; exit 3")
    husk.wait_for(lambda: husk.inspect("r")["State"]["Status"] == "exited", timeout=20,
                  what="the retries to end")
    info = husk.inspect("r")
    assert info["RestartCount"] == 2 and info["State"]["ExitCode"] == 3
    assert husk.out("logs", "r").count("run") == 3
    assert state_dirs(husk) == []


def test_sigkilled_monitor_is_cleaned_with_the_same_runtime(husk):
    cid = husk.out("run", "-d", "--name", "g", "--runtime", RUNC, "busybox",
                   "sleep", "100").strip()
    init = husk.inspect("g")["State"]["Pid"]
    os.kill(monitor_of(husk, "g"), signal.SIGKILL)
    husk.wait_for(lambda: husk.inspect("g")["State"]["Status"] == "exited", what="refresh")
    st = husk.inspect("g")["State"]
    assert st["ExitCode"] == 137 and "monitor vanished" in st["Error"]
    husk.wait_for(lambda: not os.path.exists("/proc/%d" % init) or
                  open("/proc/%d/stat" % init).read().split(") ")[1][0] == "Z",
                  what="the init to die")
    assert cgroup_dirs(cid) == [] and state_dirs(husk) == []


def test_bad_runtime_is_125_and_named(husk, tmp_path):
    r = husk.run("run", "--rm", "--runtime", "/nonexistent/runc", "busybox", "true",
                 check=False)
    assert r.returncode == 125 and "/nonexistent/runc" in r.stderr, r
    r = husk.run("run", "--runtime", "no-such-runtime-xyz", "busybox", "true", check=False)
    assert r.returncode == 125 and "no-such-runtime-xyz" in r.stderr, r
    plain = tmp_path / "not-exec"
    plain.write_text("#!/bin/sh\n")
    r = husk.run("create", "--runtime", str(plain), "busybox", "true", check=False)
    assert r.returncode == 125 and "not executable" in r.stderr, r
    assert husk.ids() == []


def test_failing_runtime_relays_its_error_and_leaves_nothing(husk, tmp_path):
    # A runtime that logs an error (to its --log) and fails at create.
    fake = tmp_path / "broken-runtime"
    fake.write_text("#!/bin/sh\n"
                    "while [ $# -gt 0 ]; do [ \"$1\" = --log ] && log=$2; shift; done\n"
                    "echo 'level=error msg=\"broken-runtime: cannot do it\"' >> \"$log\"\n"
                    "exit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    os.chmod(tmp_path, 0o755)
    r = husk.run("run", "--name", "bad", "--runtime", str(fake), "busybox", "true", check=False)
    assert r.returncode == 125, r
    assert "broken-runtime: cannot do it" in r.stderr, r
    st = husk.inspect("bad")["State"]
    assert st["Status"] == "created" and "cannot do it" in st["Error"]
    # runc failing in its create (the executable is missing): docker's 127, nothing left.
    r = husk.run("run", "--rm", "--runtime", RUNC, "busybox", "nope", check=False)
    assert r.returncode == 127 and "nope" in r.stderr, r
    assert state_dirs(husk) == []
    husk.run("rm", "bad")



def test_network_connect_restart_cp(husk, tmp_path):
    """network connect needs the init's netns (its pid from the runtime); restart
    and cp go through the row, as for the built-in runtime."""
    net = "n" + husk.net_prefix
    husk.run("network", "create", "--subnet", str(husk.subnet()), net)
    husk.run("run", "-d", "--name", "nc", "--runtime", RUNC, "busybox", "sleep", "100")
    husk.run("network", "connect", net, "nc")
    assert "eth1" in husk.out("exec", "nc", "ip", "-o", "-4", "addr")
    husk.run("restart", "-t", "1", "nc")
    st = husk.inspect("nc")
    assert st["State"]["Running"] and st["HostConfig"]["Runtime"] == os.path.realpath(RUNC)
    assert "eth1" in husk.out("exec", "nc", "ip", "-o", "-4", "addr")
    f = tmp_path / "f"
    f.write_text("copied\n")
    husk.run("cp", str(f), "nc:/tmp/f")
    assert husk.out("exec", "nc", "cat", "/tmp/f") == "copied\n"
    husk.run("rm", "-f", "nc")
    husk.run("network", "rm", net)
