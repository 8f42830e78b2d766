"""create / start / state / kill / delete / run / list: the runc command surface."""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Probe, proc_state, skip_on


@pytest.mark.asan
def test_create_start_state_delete(rt):
    b = rt.bundle(args=("/probe", "ready", "sleep", "1"))
    cid = rt.create(b).cid
    st = rt.state(cid)
    assert st["id"] == cid
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert os.path.exists("/proc/%d" % st["pid"])
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path)
    assert st["ociVersion"]
    # Nothing of the user's program ran yet.
    assert "ready=1" not in b.stdout()

    rt.start(cid)
    st2 = rt.state(cid)
    assert st2["status"] in ("running", "stopped")
    assert st2["pid"] == st["pid"]
    rt.wait_output(b, "ready=1")
    rt.wait_status(cid, "stopped", timeout=10)
    rt.delete(cid)
    r = rt.state(cid, check=False)
    assert r.returncode != 0
    assert not os.path.exists("/proc/%d" % st["pid"]) or proc_state(st["pid"])[0] == "Z"


def test_state_json_fields(rt):
    b = rt.bundle(args=("/probe", "sleep", "30"))
    b.config["annotations"] = {"org.husk.test": "yes"}
    cid = rt.create(b).cid
    st = rt.state(cid)
    for key in ("ociVersion", "id", "status", "pid", "bundle", "created", "owner"):
        assert key in st, st
    # runc and crun: RFC 3339 in UTC with nanoseconds (runc) or microseconds (crun).
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", st["created"]), st
    assert st.get("annotations", {}).get("org.husk.test") == "yes"
    rt.start(cid)
    st = rt.state(cid)
    assert st["status"] == "running"
    rt.kill(cid, "KILL")
    st = rt.wait_status(cid, "stopped")
    # A stopped container has no live process; runc and crun report pid 0.
    assert st.get("pid", 0) == 0
    rt.delete(cid)


def test_create_waits_without_busy_loop(rt):
    b = rt.bundle(args=("/probe", "pid"))
    cid = rt.create(b).cid
    pid = rt.state(cid)["pid"]
    s0, t0 = proc_state(pid)
    time.sleep(1.0)
    s1, t1 = proc_state(pid)
    assert s1 == "S", "init waits for start in state %s" % s1
    # CPU used while waiting for `start`: well under 10% of one second.
    assert t1 - t0 <= 10, "init used %d ticks while waiting" % (t1 - t0)
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    rt.delete(cid)


@pytest.mark.asan
def test_run_foreground_exit_code(rt):
    b = rt.bundle(args=("/probe", "pid", "exit", "3"))
    r = rt.run(b)
    assert r.returncode == 3, r
    assert r.probe()["pid"] == "1"
    assert rt.state(r.cid, check=False).returncode != 0  # run deletes it


def test_run_foreground_exit_zero_output(rt):
    r = rt.run(rt.bundle(args=("/bin/echo", "hello world")))
    assert r.returncode == 0, r
    assert r.stdout == "hello world\n"
    assert rt.state(r.cid, check=False).returncode != 0  # run deletes it


def test_run_killed_by_signal_exit_code(rt):
    # pid 1 of a pid namespace can't kill itself with a default action: no pid ns here.
    b = rt.bundle(args=("/probe", "kill-self", "9"))
    b.remove_namespace("pid")
    r = rt.run(b)
    assert r.returncode == 128 + 9, r
    assert rt.state(r.cid, check=False).returncode != 0  # run deletes it


def test_run_killed_from_outside_exit_code(rt):
    b = rt.bundle(args=("/probe", "ready", "sleep", "60"))
    b.write()
    cid = rt.new_id()
    p = subprocess.Popen([rt.binary, "--root", str(rt.root), "run", "--bundle", str(b.path), cid],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=rt.env)
    try:
        assert p.stdout.readline() == b"ready=1\n"
        rt.kill(cid, "TERM")  # pid 1 without a handler ignores TERM
        time.sleep(0.3)
        assert p.poll() is None
        rt.kill(cid, "KILL")
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == 128 + 9
    assert rt.state(cid, check=False).returncode != 0


def test_run_detached(rt):
    b = rt.bundle(args=("/probe", "ready", "sleep", "30"))
    r = rt.run_detached(b)
    st = rt.state(r.cid)
    assert st["status"] == "running"
    rt.wait_output(b, "ready=1")
    rt.delete(r.cid, force=True)


def test_start_twice_fails(rt):
    b = rt.bundle(args=("/probe", "sleep", "30"))
    cid = rt.create(b).cid
    rt.start(cid)
    r = rt.start(cid, check=False)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert rt.state(cid)["status"] == "running"
    rt.delete(cid, force=True)


def test_start_stopped_fails(rt):
    b = rt.bundle(args=("/probe", "exit", "0"))
    cid = rt.create(b).cid
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    r = rt.start(cid, check=False)
    assert r.returncode != 0
    rt.delete(cid)


def test_delete_running_needs_force(rt):
    b = rt.bundle(args=("/probe", "sleep", "30"))
    cid = rt.run_detached(b).cid
    pid = rt.state(cid)["pid"]
    r = rt.delete(cid, check=False)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert rt.state(cid)["status"] == "running"
    rt.delete(cid, force=True)
    assert rt.state(cid, check=False).returncode != 0
    time.sleep(0.1)
    assert not os.path.exists("/proc/%d" % pid) or proc_state(pid)[0] == "Z"


def test_delete_created_with_force(rt):
    b = rt.bundle(args=("/probe", "pid"))
    cid = rt.create(b).cid
    rt.delete(cid, force=True)
    assert rt.state(cid, check=False).returncode != 0
    assert "pid=" not in b.stdout()


def test_state_unknown_id_fails(working, rt):
    r = rt.cmd("state", "no-such-container-" + rt.token)
    assert r.returncode != 0
    assert r.stderr.strip()
    r = rt.cmd("delete", "no-such-container-" + rt.token)
    assert r.returncode != 0
    r = rt.cmd("kill", "no-such-container-" + rt.token, "KILL")
    assert r.returncode != 0


def test_duplicate_id_fails(rt):
    b = rt.bundle(args=("/probe", "sleep", "30"))
    cid = rt.create(b).cid
    r = rt.create(rt.bundle(), cid=cid, check=False)
    assert r.returncode != 0
    assert rt.state(cid)["status"] == "created"
    rt.delete(cid, force=True)


@pytest.mark.asan
def test_list(rt):
    b1 = rt.bundle(args=("/probe", "sleep", "30"))
    c1 = rt.run_detached(b1).cid
    b2 = rt.bundle(args=("/probe", "sleep", "30"))
    c2 = rt.create(b2).cid

    r = rt.cmd("list", check=True)
    lines = r.stdout.strip().splitlines()
    header = lines[0].split()
    assert header[0] in ("ID", "NAME")
    assert "PID" in header and "STATUS" in header and "BUNDLE" in header
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert set(rows) == {c1, c2}
    assert "running" in rows[c1] and "created" in rows[c2]
    assert str(rt.state(c1)["pid"]) in rows[c1]

    r = rt.cmd("list", "--format", "json", check=True)
    data = json.loads(r.stdout)
    by_id = {c["id"]: c for c in data}
    assert set(by_id) == {c1, c2}
    assert by_id[c1]["status"] == "running"
    assert by_id[c2]["status"] == "created"
    assert by_id[c1]["pid"] == rt.state(c1)["pid"]
    assert os.path.realpath(by_id[c1]["bundle"]) == os.path.realpath(b1.path)
    assert by_id[c1]["created"] and "owner" in by_id[c1]

    r = rt.cmd("list", "-q", check=True)
    assert sorted(r.stdout.split()) == sorted([c1, c2])
    rt.delete(c1, force=True)
    rt.delete(c2, force=True)
    r = rt.cmd("list", "-q", check=True)
    assert r.stdout.strip() == ""


def test_list_empty_root(rt):
    r = rt.cmd("list", "--format", "json", check=True)
    # runc prints "null" for no containers; an empty array is what the spec of
    # `--format json` means. Both are accepted.
    assert json.loads(r.stdout) in ([], None)


@pytest.mark.parametrize("sig,num", [("TERM", 15), ("SIGTERM", 15), ("15", 15), ("USR1", 10),
                                     ("SIGHUP", 1)])
def test_kill_signal_names(rt, sig, num):
    b = rt.bundle(args=("/probe", "wait-signal"))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "waiting=1")
    rt.kill(cid, sig)
    out = rt.wait_output(b, "signal=")
    assert Probe(out)["signal"] == str(num)
    rt.wait_status(cid, "stopped")
    rt.delete(cid)


def test_kill_default_signal_is_term(rt):
    b = rt.bundle(args=("/probe", "wait-signal"))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "waiting=1")
    rt.cmd("kill", cid, check=True)
    assert Probe(rt.wait_output(b, "signal="))["signal"] == "15"
    rt.wait_status(cid, "stopped")
    rt.delete(cid)


def test_kill_bad_signal_fails(rt):
    skip_on("crun", "crun 1.8 accepts an unknown signal name and exits 0")
    b = rt.bundle(args=("/probe", "sleep", "30"))
    cid = rt.run_detached(b).cid
    r = rt.kill(cid, "NOTASIGNAL", check=False)
    assert r.returncode != 0
    assert rt.state(cid)["status"] == "running"
    rt.delete(cid, force=True)


def test_kill_all(rt):
    # Without a pid namespace killing init leaves its children: --all kills the cgroup.
    b = rt.bundle(args=("/probe", "fork", "3", "ready", "sleep", "60"))
    b.remove_namespace("pid")
    cid = rt.run_detached(b).cid
    out = rt.wait_output(b, "ready=1")
    children = [int(c) for c in Probe(out).all("child")]
    init = rt.state(cid)["pid"]
    assert len(children) == 3
    rt.kill(cid, "KILL", all_=True)
    end = time.time() + 5
    alive = children + [init]
    while alive and time.time() < end:
        alive = [p for p in alive if os.path.exists("/proc/%d" % p) and proc_state(p)[0] != "Z"]
        time.sleep(0.05)
    assert not alive
    rt.wait_status(cid, "stopped")
    rt.delete(cid)


def test_pid_file(rt):
    b = rt.bundle(args=("/probe", "sleep", "30"))
    pf = rt.tmp / "create.pid"
    cid = rt.create(b, extra=("--pid-file", pf)).cid
    assert int(pf.read_text().strip()) == rt.state(cid)["pid"]
    rt.delete(cid, force=True)

    b = rt.bundle(args=("/probe", "sleep", "30"))
    pf2 = rt.tmp / "run.pid"
    cid = rt.run_detached(b, extra=("--pid-file", pf2)).cid
    assert int(pf2.read_text().strip()) == rt.state(cid)["pid"]
    rt.delete(cid, force=True)


def test_bundle_defaults_to_cwd(rt):
    b = rt.bundle(args=("/probe", "exit", "0"))
    b.write()
    cid = rt.new_id()
    r = rt.cmd("run", "-d", cid, cwd=b.path, files=(b.path / "stdout", b.path / "stderr"))
    assert r.returncode == 0, r
    assert os.path.realpath(rt.state(cid)["bundle"]) == os.path.realpath(b.path)
    rt.delete(cid, force=True)


def test_stopped_after_exit_then_delete(rt):
    b = rt.bundle(args=("/probe", "exit", "7"))
    cid = rt.create(b).cid
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    r = rt.cmd("list", "--format", "json", check=True)
    assert [c["status"] for c in json.loads(r.stdout) if c["id"] == cid] == ["stopped"]
    rt.delete(cid)


def test_kill_created_container(rt):
    b = rt.bundle(args=("/probe", "pid"))
    cid = rt.create(b).cid
    rt.kill(cid, "KILL")
    rt.wait_status(cid, "stopped")
    assert "pid=" not in b.stdout()
    rt.delete(cid)


def test_state_after_external_kill(rt):
    b = rt.bundle(args=("/probe", "sleep", "30"))
    cid = rt.run_detached(b).cid
    pid = rt.state(cid)["pid"]
    os.kill(pid, 9)
    rt.wait_status(cid, "stopped")
    rt.delete(cid)


def test_delete_created_without_force(rt):
    b = rt.bundle(args=("/probe", "pid"))
    cid = rt.create(b).cid
    pid = rt.state(cid)["pid"]
    r = rt.delete(cid, check=False)
    if r.returncode == 0:
        # runc and crun delete a created container (killing its waiting init).
        time.sleep(0.2)
        assert not os.path.exists("/proc/%d" % pid) or proc_state(pid)[0] == "Z"
        assert rt.state(cid, check=False).returncode != 0
    else:
        assert rt.state(cid)["status"] == "created"
        rt.delete(cid, force=True)
    assert "pid=" not in b.stdout()


def test_run_forwards_signals(rt):
    # A foreground `run` passes the signals it gets on to the container's process.
    b = rt.bundle(args=("/probe", "wait-signal"))
    b.write()
    cid = rt.new_id()
    p = subprocess.Popen([rt.binary, "--root", str(rt.root), "run", "--bundle", str(b.path), cid],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=rt.env)
    try:
        assert p.stdout.readline() == b"waiting=1\n"
        time.sleep(0.2)
        p.send_signal(10)  # SIGUSR1
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert b"signal=10" in out, (out, err)
    assert p.returncode == 0


def test_engine_flags_accepted(rt):
    # What podman/containerd pass besides the basics.
    b = rt.bundle(args=("/probe", "pid"))
    pf = rt.tmp / "pid"
    cid = rt.create(b, extra=("--no-new-keyring", "--pid-file", pf)).cid
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    assert "pid=1" in b.stdout()
    rt.delete(cid)
