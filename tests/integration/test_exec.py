"""exec into a running container, and ps."""

import json
import os
import time

import pytest

from conftest import Probe, proc_state, skip_on


def running(rt, args=("/probe", "ready", "sleep", "60"), **kw):
    b = rt.bundle(args=args, **kw)
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    return b, cid


@pytest.mark.asan
def test_exec_args_and_namespaces(rt):
    b, cid = running(rt)
    init = rt.state(cid)["pid"]
    r = rt.cmd("exec", cid, "/probe", "pid", "ns", "hostname", "ids")
    assert r.returncode == 0, r
    p = r.probe()
    assert p["pid"] != "1"
    assert p["hostname"] == "huskit"
    for ns in ("pid", "net", "ipc", "uts", "mnt"):
        assert p["ns." + ns] == str(os.stat("/proc/%d/ns/%s" % (init, ns)).st_ino), ns
    rt.delete(cid, force=True)


def test_exec_exit_code(rt):
    b, cid = running(rt)
    r = rt.cmd("exec", cid, "/probe", "exit", "7")
    assert r.returncode == 7, r
    r = rt.cmd("exec", cid, "/bin/sh", "-c", "exit 0")
    assert r.returncode == 0, r
    rt.delete(cid, force=True)


def test_exec_env(rt):
    b, cid = running(rt)
    r = rt.cmd("exec", "--env", "FOO=bar", "--env", "PATH=/bin", cid, "/probe", "env")
    assert r.returncode == 0, r
    env = r.probe().env()
    assert env["FOO"] == "bar"
    assert env["PATH"] == "/bin"
    rt.delete(cid, force=True)


def test_exec_inherits_config_env(rt):
    b = rt.bundle(args=("/probe", "ready", "sleep", "60"))
    b.process["env"].append("FROM_CONFIG=1")
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    r = rt.cmd("exec", cid, "/probe", "env")
    assert r.returncode == 0, r
    assert r.probe().env().get("FROM_CONFIG") == "1"
    rt.delete(cid, force=True)


def test_exec_cwd(rt):
    b, cid = running(rt)
    r = rt.cmd("exec", "--cwd", "/home/user", cid, "/probe", "cwd")
    assert r.returncode == 0, r
    assert r.probe()["cwd"] == "/home/user"
    rt.delete(cid, force=True)


def test_exec_user(rt):
    b, cid = running(rt)
    r = rt.cmd("exec", "--user", "1000:1001", cid, "/probe", "ids")
    assert r.returncode == 0, r
    p = r.probe()
    assert (p["uid"], p["gid"]) == ("1000", "1001")
    rt.delete(cid, force=True)


def test_exec_additional_gids(rt):
    skip_on("crun", "crun 1.8 exec has no --additional-gids")
    b, cid = running(rt)
    r = rt.cmd("exec", "--user", "1000", "--additional-gids", "5", cid, "/probe", "ids")
    assert r.returncode == 0, r
    p = r.probe()
    assert p["uid"] == "1000"
    assert "5" in p["groups"].split(",")
    rt.delete(cid, force=True)


def test_exec_cap(rt):
    b, cid = running(rt)
    r = rt.cmd("exec", cid, "/probe", "caps")
    before = int(r.probe()["CapEff"], 16)
    assert not before & (1 << 21)
    r = rt.cmd("exec", "--cap", "CAP_SYS_ADMIN", cid, "/probe", "caps")
    assert r.returncode == 0, r
    p = r.probe()
    assert int(p["CapEff"], 16) & (1 << 21)
    assert int(p["CapBnd"], 16) & (1 << 21)
    if rt.name != "crun":  # crun 1.8 replaces the process's capabilities instead of adding
        assert int(p["CapEff"], 16) & before == before
    rt.delete(cid, force=True)


def test_exec_no_new_privs_and_caps_from_config(rt):
    skip_on("crun", "crun 1.8 exec ignores the config's noNewPrivileges")
    b = rt.bundle(args=("/probe", "ready", "sleep", "60"))
    b.process["noNewPrivileges"] = True
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    r = rt.cmd("exec", cid, "/probe", "caps")
    p = r.probe()
    assert p["NoNewPrivs"] == "1"
    caps = b.process["capabilities"]["bounding"]
    assert p["CapBnd"] == "%016x" % sum(1 << {"CAP_AUDIT_WRITE": 29, "CAP_KILL": 5,
                                               "CAP_NET_BIND_SERVICE": 10}[c] for c in caps)
    rt.delete(cid, force=True)


def test_exec_tty_console_socket(rt):
    b, cid = running(rt)
    cs = rt.console_socket()
    r = rt.cmd("exec", "--tty", "--detach", "--console-socket", cs.path, cid, "/probe", "tty",
               "pid")
    assert r.returncode == 0, r
    cs.wait()
    out = cs.read_until_eof(timeout=10)
    p = Probe(out.replace("\r\n", "\n"))
    assert p["isatty.0"] == p["isatty.1"] == p["isatty.2"] == "1", out
    assert p["ttyname.0"].startswith("/dev/pts/")
    rt.delete(cid, force=True)


def test_exec_detach_pid_file(rt):
    b, cid = running(rt)
    init = rt.state(cid)["pid"]
    pf = rt.tmp / "exec.pid"
    r = rt.cmd("exec", "--detach", "--pid-file", pf, cid, "/probe", "sleep", "30",
               files=(rt.tmp / "exec.out", rt.tmp / "exec.err"))
    assert r.returncode == 0, r
    pid = int(pf.read_text().strip())
    assert proc_state(pid)[0] in "SR"
    assert os.stat("/proc/%d/ns/pid" % pid).st_ino == os.stat("/proc/%d/ns/pid" % init).st_ino
    assert os.readlink("/proc/%d/exe" % pid) .endswith("probe")
    rt.delete(cid, force=True)
    time.sleep(0.2)
    assert not os.path.exists("/proc/%d" % pid) or proc_state(pid)[0] == "Z"


def test_exec_into_stopped_fails(rt):
    b = rt.bundle(args=("/probe", "exit", "0"))
    cid = rt.create(b).cid
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    r = rt.cmd("exec", cid, "/probe", "pid")
    assert r.returncode != 0
    assert r.stderr.strip()
    assert "pid=" not in r.stdout
    rt.delete(cid)


def test_exec_unknown_container_fails(working, rt):
    r = rt.cmd("exec", "nope-" + rt.token, "/probe", "pid")
    assert r.returncode != 0


def test_exec_missing_binary_fails(rt):
    b, cid = running(rt)
    r = rt.cmd("exec", cid, "/no/such/binary")
    assert r.returncode != 0
    assert rt.state(cid)["status"] == "running"
    rt.delete(cid, force=True)


def test_exec_process_file(rt):
    b, cid = running(rt)
    proc = {
        "terminal": False,
        "user": {"uid": 1000, "gid": 1000},
        "args": ["/probe", "ids", "cwd", "env"],
        "env": ["PATH=/bin", "FROM_FILE=yes", "HUSK_TEST_TOKEN=" + rt.token],
        "cwd": "/tmp",
    }
    f = rt.tmp / "process.json"
    f.write_text(json.dumps(proc))
    r = rt.cmd("exec", "--process", f, cid)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["uid"] == "1000"
    assert p["cwd"] == "/tmp"
    assert p.env()["FROM_FILE"] == "yes"
    rt.delete(cid, force=True)


def test_exec_fds(rt):
    b, cid = running(rt)
    r = rt.cmd("exec", cid, "/probe", "fds")
    assert r.returncode == 0, r
    assert r.probe()["fds"] == "0,1,2", r.stdout
    rt.delete(cid, force=True)


def test_ps(rt):
    b, cid = running(rt, args=("/probe", "fork", "2", "ready", "sleep", "60"))
    init = rt.state(cid)["pid"]
    r = rt.cmd("ps", "--format", "json", cid)
    assert r.returncode == 0, r
    pids = json.loads(r.stdout)
    assert init in pids
    assert len(pids) == 3
    r = rt.cmd("ps", cid)
    assert r.returncode == 0, r
    lines = r.stdout.strip().splitlines()
    assert "PID" in lines[0].split()
    col = lines[0].split().index("PID")
    assert str(init) in [l.split()[col] for l in lines[1:]]
    rt.delete(cid, force=True)


def test_ps_stopped(rt):
    b = rt.bundle(args=("/probe", "exit", "0"))
    cid = rt.create(b).cid
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    r = rt.cmd("ps", "--format", "json", cid)
    if r.returncode == 0:
        assert json.loads(r.stdout) in ([], None)
    rt.delete(cid)
