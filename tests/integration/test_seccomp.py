"""linux.seccomp: rules, errno values, argument filters, kill actions, the exec
trampoline under a filter, SCMP_ACT_NOTIFY with a listener, and a real profile
(containers-common's seccomp.json, as podman converts it)."""

import array
import json
import os
import platform
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import IS_HUSK, skip_on

SIGSYS = 31
COMMON_PROFILE = Path("/usr/share/containers/seccomp.json")


def with_profile(b, profile, rt=None):
    b.config["linux"]["seccomp"] = profile
    return b


@pytest.fixture(autouse=True)
def drop_seccomp_cache(rt):
    """husk keeps compiled profiles in ROOT/.seccomp-cache (crun has ROOT/.cache):
    a cache, not a container, so the test removes it before the leftovers check."""
    rt.cleanups.append(lambda: shutil.rmtree(rt.root / ".seccomp-cache", ignore_errors=True))
    yield


def allow_but(rules, **extra):
    p = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}
    p.update(extra)
    return p


def probe_run(rt, profile, *calls, nnp=True):
    args = ["/probe"]
    for c in calls:
        args += ["syscall", c]
    b = with_profile(rt.bundle(args=args), profile)
    b.process["noNewPrivileges"] = nnp
    r = rt.run(b)
    assert r.returncode == 0, r
    return r.probe()


@pytest.mark.asan
def test_errno_rule_returns_chosen_errno(rt):
    p = probe_run(rt, allow_but([{"names": ["getcwd", "uname"], "action": "SCMP_ACT_ERRNO",
                                  "errnoRet": 42}]),
                  "getcwd", "uname", "getpid")
    assert p["syscall.getcwd"] == "42"
    assert p["syscall.uname"] == "42"
    assert p["syscall.getpid"] == "0"


def test_errno_defaults_to_eperm(rt):
    p = probe_run(rt, allow_but([{"names": ["uname"], "action": "SCMP_ACT_ERRNO"}]), "uname")
    assert p["syscall.uname"] == "1"


def test_unknown_syscall_names_are_skipped(rt):
    p = probe_run(rt, allow_but([{"names": ["no_such_syscall_at_all", "uname"],
                                  "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]), "uname")
    assert p["syscall.uname"] == "5"


def test_log_and_allow_actions_let_the_call_through(rt):
    p = probe_run(rt, allow_but([{"names": ["uname"], "action": "SCMP_ACT_LOG"},
                                 {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7}]),
                  "uname", "getcwd")
    assert p["syscall.uname"] == "0"
    assert p["syscall.getcwd"] == "7"


@pytest.mark.parametrize("flags", [[], ["SECCOMP_FILTER_FLAG_LOG"],
                                   ["SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"],
                                   ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]])
def test_flags(rt, flags):
    skip_on("runc", "runc 1.1 refuses linux.seccomp.flags")
    p = probe_run(rt, allow_but([{"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7}],
                                flags=flags), "uname")
    assert p["syscall.uname"] == "7"


def test_arg_filter_eq(rt):
    """personality(0xffffffff) (a query) is denied, personality(PER_LINUX) is not."""
    prof = allow_but([{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                       "args": [{"index": 0, "value": 0xffffffff, "op": "SCMP_CMP_EQ"}]}])
    p = probe_run(rt, prof, "personality", "personality-linux")
    assert p["syscall.personality"] == "13"
    assert p["syscall.personality-linux"] == "0"


def test_arg_filter_masked_eq(rt):
    """socket(AF_INET, ...) only, matched as (domain & 0xff) == AF_INET."""
    prof = allow_but([{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
                       "args": [{"index": 0, "value": 0xff, "valueTwo": socket.AF_INET,
                                 "op": "SCMP_CMP_MASKED_EQ"}]}])
    p = probe_run(rt, prof, "socket-inet", "socket-unix")
    assert p["syscall.socket-inet"] == "97"
    assert p["syscall.socket-unix"] == "0"


def test_two_conditions_on_one_argument_match_either(rt):
    """As runc: conditions repeating an index become separate rules."""
    prof = allow_but([{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
                       "args": [{"index": 0, "value": socket.AF_INET, "op": "SCMP_CMP_EQ"},
                                {"index": 0, "value": socket.AF_INET6, "op": "SCMP_CMP_EQ"}]}])
    p = probe_run(rt, prof, "socket-inet", "socket-unix")
    assert p["syscall.socket-inet"] == "97"
    assert p["syscall.socket-unix"] == "0"


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"])
def test_kill_actions_kill_with_sigsys(rt, action):
    b = with_profile(rt.bundle(args=("/probe", "pid", "syscall", "uname", "ready")),
                     allow_but([{"names": ["uname"], "action": action}]))
    r = rt.run(b)
    assert r.returncode == 128 + SIGSYS, r
    assert "ready=1" not in r.stdout


@pytest.mark.parametrize("action", ["SCMP_ACT_ERRNO", "SCMP_ACT_KILL"])
def test_profile_blocking_execveat_still_runs(rt, action):
    """The runtime's exec trampoline uses execveat; a profile that refuses it
    (even by killing) must still get the container's program started."""
    b = with_profile(rt.bundle(args=("/probe", "pid", "ready")),
                     allow_but([{"names": ["execveat"], "action": action}]))
    r = rt.run(b)
    assert r.returncode == 0, r
    assert "ready=1" in r.stdout


def test_without_no_new_privs_as_non_root(rt):
    """No no_new_privs and a non-root user: the filter needs CAP_SYS_ADMIN to load,
    so it must go in before the user switch drops it."""
    b = with_profile(rt.bundle(args=("/probe", "ids", "syscall", "uname")),
                     allow_but([{"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]))
    b.process["noNewPrivileges"] = False
    b.process["user"] = {"uid": 1000, "gid": 1000}
    r = rt.run(b)
    assert r.returncode == 0, r
    assert r.probe()["syscall.uname"] == "42"


@pytest.mark.asan
def test_exec_gets_the_filter(rt):
    b = with_profile(rt.bundle(args=("/probe", "ready", "sleep", "30")),
                     allow_but([{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    r = rt.cmd("exec", cid, "/probe", "syscall", "getcwd", "syscall", "getpid")
    assert r.returncode == 0, r
    assert r.probe()["syscall.getcwd"] == "42"
    assert r.probe()["syscall.getpid"] == "0"
    rt.kill(cid)


def test_default_action_errno_with_default_errno_ret(rt):
    """Everything not listed fails with defaultErrnoRet."""
    prof = common_profile()
    for s in prof["syscalls"]:
        s["names"] = [n for n in s["names"] if n != "uname"]
    prof["syscalls"] = [s for s in prof["syscalls"] if s["names"]]
    prof["defaultErrnoRet"] = 77
    p = probe_run(rt, prof, "uname", "getpid")
    assert p["syscall.uname"] == "77"
    assert p["syscall.getpid"] == "0"


# ------------------------------------------------------------ containers-common

DEFAULT_CAPS = None


def native_arches():
    m = platform.machine()
    return {"x86_64": ("SCMP_ARCH_X86_64", "amd64"), "aarch64": ("SCMP_ARCH_AARCH64", "arm64")}[m]


def common_profile(caps=("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                         "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP",
                         "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
                         "CAP_AUDIT_WRITE")):
    """containers-common's Docker-format profile turned into an OCI one, the way
    podman does: the native architecture with its sub-architectures, and the
    entries whose includes/excludes (arches, caps, minKernel) fit."""
    if not COMMON_PROFILE.exists():
        pytest.skip("%s missing (apt-get install golang-github-containers-common)" % COMMON_PROFILE)
    d = json.loads(COMMON_PROFILE.read_text())
    arch, goarch = native_arches()
    kernel = tuple(int(x) for x in platform.release().split("-")[0].split(".")[:2])
    out = {"defaultAction": d["defaultAction"], "architectures": [], "syscalls": []}
    if "defaultErrnoRet" in d:
        out["defaultErrnoRet"] = d["defaultErrnoRet"]
    for m in d.get("archMap", []):
        if m["architecture"] == arch:
            out["architectures"] = [arch] + m.get("subArchitectures", [])
    for s in d["syscalls"]:
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if inc.get("arches") and goarch not in inc["arches"]:
            continue
        if inc.get("caps") and not all(c in caps for c in inc["caps"]):
            continue
        if inc.get("minKernel"):
            if kernel < tuple(int(x) for x in inc["minKernel"].split(".")[:2]):
                continue
        if exc.get("arches") and goarch in exc["arches"]:
            continue
        if exc.get("caps") and any(c in caps for c in exc["caps"]):
            continue
        e = {"names": s.get("names") or [s["name"]], "action": s["action"]}
        for k in ("args", "errnoRet"):
            if s.get(k) is not None:
                e[k] = s[k]
        out["syscalls"].append(e)
    return out


@pytest.mark.asan
@pytest.mark.parametrize("nnp", [True, False])
def test_containers_common_profile(rt, nnp):
    prof = common_profile()
    b = with_profile(rt.bundle(args=("sh", "-c", "echo ok; ls /")), prof)
    b.process["noNewPrivileges"] = nnp
    r = rt.run(b)
    assert r.returncode == 0, r
    lines = r.stdout.split()
    assert lines[0] == "ok"
    assert "probe" in lines and "bin" in lines


def test_containers_common_profile_denies(rt):
    """Under the profile, a syscall it leaves out (personality with an unusual
    persona is allowed only for a few values) gets the profile's errno."""
    prof = common_profile()
    p = probe_run(rt, prof, "personality-linux", "getpid")
    assert p["syscall.personality-linux"] == "0"
    b = with_profile(rt.bundle(args=("/probe", "syscall", "mkdir")), prof)
    r = rt.run(b)
    assert r.returncode == 0, r


# ------------------------------------------------------------------ notify


def complete_json(data):
    try:
        json.loads(data)
        return True
    except ValueError:
        return False


class Listener:
    """A seccomp agent stand-in: accepts connections on a unix socket, takes the
    state JSON and the fd, records both, then closes the fd (so the container's
    blocked syscall fails with ENOSYS)."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.sock.settimeout(20)
        self.got = []
        self.errors = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        try:
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    conn.settimeout(20)
                    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 4)
                    # One state per connection; don't wait for EOF (a runtime may
                    # close late), read until the JSON is whole.
                    while not complete_json(data):
                        more = conn.recv(1 << 20)
                        if not more:
                            break
                        data += more
                    link = os.readlink("/proc/self/fd/%d" % fds[0]) if fds else None
                    self.got.append((json.loads(data), len(fds), link))
                    for fd in fds:
                        os.close(fd)
        except OSError as e:
            self.errors.append(e)

    def wait(self, n, timeout=20):
        end = time.time() + timeout
        while len(self.got) < n and time.time() < end:
            time.sleep(0.05)
        return self.got

    def close(self):
        self.sock.close()


def notify_profile(path):
    return allow_but([{"names": ["uname"], "action": "SCMP_ACT_NOTIFY"}],
                     listenerPath=str(path), listenerMetadata="hello agent")


@pytest.mark.parametrize("nnp,flags", [(True, None), (False, None),
                                       (False, ["SECCOMP_FILTER_FLAG_TSYNC",
                                                "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])])
def test_notify_listener_gets_fd_and_state(rt, nnp, flags):
    """With and without no_new_privs (the filter goes in at different points)."""
    if flags:
        skip_on("runc", "runc 1.1 refuses linux.seccomp.flags")
        skip_on("crun", "crun 1.8 passes TSYNC with a listener without TSYNC_ESRCH: EINVAL")
    path = rt.tmp / "agent.sock"
    agent = Listener(path)
    rt.cleanups.append(agent.close)
    prof = notify_profile(path)
    if flags:
        prof["flags"] = flags
    b = with_profile(rt.bundle(args=("/probe", "syscall", "uname", "syscall", "getpid")), prof)
    b.process["noNewPrivileges"] = nnp
    r = rt.run(b)
    assert r.returncode == 0, r
    got = agent.wait(1)
    assert len(got) == 1, (agent.errors, r)
    st, nfds, link = got[0]
    assert nfds == 1
    assert link == "anon_inode:seccomp notify"
    assert st["fds"] == ["seccompFd"]
    assert st["metadata"] == "hello agent"
    assert st["ociVersion"]
    assert st["state"]["id"] == r.cid
    assert st["state"]["status"] == "creating"
    assert st["pid"] == st["state"]["pid"] and st["pid"] > 0
    assert st["state"]["bundle"] == str(b.path)
    # The agent closed the fd without answering: the call fails with ENOSYS.
    assert r.probe()["syscall.uname"] == "38"
    assert r.probe()["syscall.getpid"] == "0"


@pytest.mark.asan
def test_notify_listener_on_exec(rt):
    path = rt.tmp / "agent.sock"
    agent = Listener(path)
    rt.cleanups.append(agent.close)
    b = with_profile(rt.bundle(args=("/probe", "ready", "sleep", "30")), notify_profile(path))
    cid = rt.run_detached(b).cid
    rt.wait_output(b, "ready=1")
    assert len(agent.wait(1)) == 1
    r = rt.cmd("exec", cid, "/probe", "pid", "syscall", "uname")
    assert r.returncode == 0, r
    got = agent.wait(2)
    assert len(got) == 2, agent.errors
    st, nfds, link = got[1]
    assert nfds == 1 and link == "anon_inode:seccomp notify"
    assert st["state"]["id"] == cid
    assert st["state"]["status"] == "running"
    if rt.name != "crun":  # crun 1.8 sends pid 0 for exec
        assert st["pid"] > 0 and st["pid"] != st["state"]["pid"]
    assert r.probe()["syscall.uname"] == "38"
    rt.kill(cid)


def test_notify_listener_missing_fails_create(rt):
    b = with_profile(rt.bundle(), notify_profile(rt.tmp / "nobody-listens.sock"))
    r = rt.run(b)
    assert r.returncode != 0, r


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("profile,message", [
    (allow_but([{"names": ["uname"], "action": "SCMP_ACT_FOO"}]),
     "linux.seccomp.syscalls[0].action: unknown action 'SCMP_ACT_FOO'"),
    ({"defaultAction": "SCMP_ACT_NOPE"}, "linux.seccomp.defaultAction: unknown action 'SCMP_ACT_NOPE'"),
    (allow_but([{"names": ["uname"], "action": "SCMP_ACT_ERRNO",
                 "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]),
     "linux.seccomp.syscalls[0].args[0].op: unknown operator 'SCMP_CMP_XX'"),
    (allow_but([], architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]),
     "linux.seccomp.architectures[1]: unknown architecture 'SCMP_ARCH_VAX'"),
    (allow_but([], flags=["SECCOMP_FILTER_FLAG_BOGUS"]),
     "linux.seccomp.flags[0]: unknown flag 'SECCOMP_FILTER_FLAG_BOGUS'"),
])
def test_bad_profile_fails_create_cleanly(rt, profile, message):
    if "flags" in profile:
        skip_on("crun", "crun 1.8 checks flags only when it loads the filter")
    b = with_profile(rt.bundle(), profile)
    r = rt.create(b, check=False)
    assert r.returncode != 0, r
    assert rt.cmd("state", r.cid).returncode != 0
    if IS_HUSK:
        assert message in r.stderr, r


def test_features_lists_seccomp(rt):
    skip_on("crun", "crun 1.8 has no features command")
    r = rt.cmd("features", root=False)
    assert r.returncode == 0, r
    sc = json.loads(r.stdout)["linux"]["seccomp"]
    assert sc["enabled"] is True
    assert "SCMP_ACT_NOTIFY" in sc["actions"] and "SCMP_ACT_KILL_PROCESS" in sc["actions"]
    assert "SCMP_CMP_MASKED_EQ" in sc["operators"]
    assert "SCMP_ARCH_X86_64" in sc["archs"]
    if "knownFlags" in sc:
        assert "SECCOMP_FILTER_FLAG_SPEC_ALLOW" in sc["knownFlags"]
        assert set(sc["supportedFlags"]) <= set(sc["knownFlags"])


@pytest.mark.parametrize("nnp", [True, False])
def test_filter_with_start_container_hook(rt, nnp):
    """startContainer hooks move where the process is set up; the filter still
    applies to the process (and the hook still runs)."""
    b = with_profile(rt.bundle(args=("/probe", "syscall", "uname", "exists", "/dev/hook-ran")),
                     allow_but([{"names": ["uname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]))
    b.process["noNewPrivileges"] = nnp
    b.config["hooks"] = {"startContainer": [{"path": "/bin/sh",
                                             "args": ["sh", "-c", "echo > /dev/hook-ran"]}]}
    r = rt.run(b)
    assert r.returncode == 0, r
    assert r.probe()["exists:/dev/hook-ran"] == "1"
    assert r.probe()["syscall.uname"] == "42"
