"""fd hygiene: the container process gets 0, 1, 2 and the --preserve-fds ones,
nothing of the runtime; its cwd and root are inside its rootfs."""

import subprocess
import time

import pytest

from conftest import Probe, pids_with_token, skip_on


def run_with_fds(rt, b, extra_args, env_extra=None, nfds=2):
    """Runs `$RUNTIME run` from a shell that opens fds 3.. on files first."""
    b.write()
    cid = rt.new_id()
    files = []
    redirs = []
    for i in range(nfds):
        f = rt.tmp / ("passed-fd-%d" % (3 + i))
        f.write_text("fd %d\n" % (3 + i))
        files.append(f)
        redirs.append("%d<%s" % (3 + i, f))
    argv = [rt.binary, "--root", str(rt.root), "run", "--bundle", str(b.path)] + \
        list(extra_args) + [cid]
    env = dict(rt.env)
    env.update(env_extra or {})
    script = 'exec "$@" ' + " ".join(redirs)
    if env_extra and "LISTEN_FDS" in env_extra:
        script = "LISTEN_PID=$$ " + script  # exec keeps the pid: the runtime's own
    p = subprocess.run(["/bin/sh", "-c", script, "sh"] + argv, capture_output=True,
                       stdin=subprocess.DEVNULL, env=env, timeout=30)
    return p, Probe(p.stdout.decode())


@pytest.mark.asan
def test_only_stdio_fds(rt):
    b = rt.bundle(args=("/probe", "fds"))
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["fds"] == "0,1,2", r.stdout
    # stdio is what the runtime was given: the caller's pipes and /dev/null.
    assert p["fd.0"] == "/dev/null" or p["fd.0"].startswith("pipe:")  # runc: a pipe of its own
    assert p["fd.1"].startswith("pipe:")
    assert p["fd.2"].startswith("pipe:")


def test_inherited_fds_not_passed_without_preserve(rt):
    b = rt.bundle(args=("/probe", "fds"))
    proc, p = run_with_fds(rt, b, [])
    assert proc.returncode == 0, proc
    assert p["fds"] == "0,1,2"


def test_preserve_fds(rt):
    b = rt.bundle(args=("/probe", "fds", "read", "/proc/self/fd/3", "read", "/proc/self/fd/4",
                        "env"))
    proc, p = run_with_fds(rt, b, ["--preserve-fds", "2"])
    assert proc.returncode == 0, proc
    assert p["fds"] == "0,1,2,3,4"
    assert p["read:/proc/self/fd/3"] == "fd 3\\n"
    assert p["read:/proc/self/fd/4"] == "fd 4\\n"
    assert "LISTEN_FDS" not in p.env()


def test_preserve_fds_partial(rt):
    b = rt.bundle(args=("/probe", "fds"))
    proc, p = run_with_fds(rt, b, ["--preserve-fds", "1"])
    assert proc.returncode == 0, proc
    assert p["fds"] == "0,1,2,3"


def test_listen_fds(rt):
    # Socket activation: LISTEN_FDS in the runtime's environment passes that many
    # fds from 3 on, and the process gets LISTEN_FDS (and LISTEN_PID = its pid).
    skip_on("crun", "crun 1.8 passes the fds and LISTEN_PID but drops LISTEN_FDS")
    b = rt.bundle(args=("/probe", "pid", "fds", "env"))
    proc, p = run_with_fds(rt, b, [], env_extra={"LISTEN_FDS": "2"})
    assert proc.returncode == 0, proc
    assert p["fds"] == "0,1,2,3,4"
    env = p.env()
    assert env.get("LISTEN_FDS") == "2"
    if "LISTEN_PID" in env:
        assert env["LISTEN_PID"] == p["pid"]


def test_cwd_and_root_inside_container(rt):
    b = rt.bundle(args=("/probe", "cwd", "readlink", "/proc/self/root", "readlink",
                        "/proc/1/cwd", "readlink", "/proc/1/root"))
    r = rt.run(b)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["readlink:/proc/self/cwd"] == "/"
    assert p["readlink:/proc/self/root"] == "/"
    assert p["readlink:/proc/1/cwd"] == "/"
    assert p["readlink:/proc/1/root"] == "/"


def test_no_fd_targets_outside(rt):
    # Nothing the container holds points at the host (state dir, bundle, runtime binary).
    b = rt.bundle(args=("/probe", "fds"))
    b.process["terminal"] = False
    cid = rt.create(b).cid
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    p = Probe(b.stdout())
    assert p["fds"] == "0,1,2"
    for k in ("fd.0", "fd.1", "fd.2"):
        assert str(rt.root) not in p[k]
    rt.delete(cid)


def _token_pids_settle(rt, want, timeout=3):
    # The process may exec the user's program just after `start` returns.
    end = time.time() + timeout
    got = pids_with_token(rt.token)
    while sorted(got) != sorted(want) and time.time() < end:
        time.sleep(0.05)
        got = pids_with_token(rt.token)
    return got


def test_no_runtime_process_lingers(rt):
    # After create / start / run -d return, the only process left is the container's.
    b = rt.bundle(args=("/probe", "sleep", "30"))
    cid = rt.create(b).cid
    pid = rt.state(cid)["pid"]
    # (runc's waiting init has a cleaned environment, so it may not carry the token.)
    assert set(pids_with_token(rt.token)) <= {pid}
    rt.start(cid)
    assert _token_pids_settle(rt, [pid]) == [pid]
    rt.delete(cid, force=True)
    b2 = rt.bundle(args=("/probe", "sleep", "30"))
    cid2 = rt.run_detached(b2).cid
    pid2 = rt.state(cid2)["pid"]
    assert _token_pids_settle(rt, [pid2]) == [pid2]
    rt.delete(cid2, force=True)


def test_exec_preserve_fds(rt):
    b = rt.bundle(args=("/probe", "ready", "sleep", "30"))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    f = rt.tmp / "execfd"
    f.write_text("exec fd\n")
    argv = [rt.binary, "--root", str(rt.root), "exec", "--preserve-fds", "1", cid, "/probe", "fds",
            "read", "/proc/self/fd/3"]
    p = subprocess.run(["/bin/sh", "-c", 'exec "$@" 3<%s 4<%s' % (f, f), "sh"] + argv,
                       capture_output=True, stdin=subprocess.DEVNULL, env=rt.env, timeout=30)
    assert p.returncode == 0, p
    out = Probe(p.stdout.decode())
    assert out["fds"] == "0,1,2,3"
    assert out["read:/proc/self/fd/3"] == "exec fd\\n"
    rt.delete(cid, force=True)
