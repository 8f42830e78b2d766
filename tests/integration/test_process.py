"""process: args, env, cwd, user, umask, capabilities, rlimits, noNewPrivileges,
oomScoreAdj, terminal + --console-socket."""

import os

import pytest

from conftest import Probe, skip_on

CAPS = {"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_SETUID": 7, "CAP_KILL": 5,
        "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_CHROOT": 18, "CAP_SYS_ADMIN": 21,
        "CAP_AUDIT_WRITE": 29}


def mask(names):
    m = 0
    for n in names:
        m |= 1 << CAPS[n]
    return "%016x" % m


def run_probe(rt, b):
    r = rt.run(b)
    assert r.returncode == 0, r
    return r.probe()


def test_args_verbatim(rt):
    r = rt.run(rt.bundle(args=("/bin/echo", "a  b", "", "c*", "$HOME")))
    assert r.returncode == 0, r
    assert r.stdout == "a  b  c* $HOME\n"


def test_args_resolved_with_path(rt):
    b = rt.bundle(args=("echo", "via PATH"))
    r = rt.run(b)
    assert r.returncode == 0, r
    assert r.stdout == "via PATH\n"


def test_missing_executable_fails(working, rt):
    r = rt.run(rt.bundle(args=("/no/such/binary",)))
    assert r.returncode != 0
    assert r.stderr.strip()


def test_env(rt):
    b = rt.bundle(args=("/probe", "env"))
    b.process["env"] += ["FOO=bar", "EMPTY=", "WITH_EQ=a=b", "HOME=/root"]
    p = run_probe(rt, b)
    env = p.env()
    assert env["FOO"] == "bar"
    assert env["EMPTY"] == ""
    assert env["WITH_EQ"] == "a=b"
    assert env["PATH"] == "/bin:/sbin:/usr/bin"
    assert env["HOME"] == "/root"
    # The runtime's own environment doesn't leak in.
    assert "PYTEST_CURRENT_TEST" not in env


def test_cwd(rt):
    b = rt.bundle(args=("/probe", "cwd"))
    b.process["cwd"] = "/home/user"
    p = run_probe(rt, b)
    assert p["cwd"] == "/home/user"
    assert p["readlink:/proc/self/cwd"] == "/home/user"


def test_user_and_groups(rt):
    b = rt.bundle(args=("/probe", "ids"))
    b.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 2000]}
    p = run_probe(rt, b)
    assert p["uid"] == p["euid"] == "1000"
    assert p["gid"] == p["egid"] == "1001"
    assert set(p["groups"].split(",")) - {"1001"} == {"5", "2000"}


def test_root_has_no_supplementary_groups(rt):
    b = rt.bundle(args=("/probe", "ids"))
    p = run_probe(rt, b)
    assert p["uid"] == "0" and p["gid"] == "0"
    assert set(filter(None, p["groups"].split(","))) <= {"0"}


def test_umask(rt):
    b = rt.bundle(args=("/probe", "umask"))
    b.process["user"]["umask"] = 0o027
    assert run_probe(rt, b)["umask"] == "0027"


def test_umask_default(rt):
    assert run_probe(rt, rt.bundle(args=("/probe", "umask")))["umask"] == "0022"


@pytest.mark.asan
def test_capabilities_exact_non_root(rt):
    # As a non-root user, execve keeps exactly: permitted = effective = ambient,
    # inheritable and bounding as set.
    amb = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    inh = amb + ["CAP_SYS_CHROOT"]
    bnd = inh + ["CAP_CHOWN", "CAP_SETUID"]
    b = rt.bundle(args=("/probe", "caps"))
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.process["capabilities"] = {"bounding": bnd, "effective": amb, "permitted": amb,
                                 "inheritable": inh, "ambient": amb}
    p = run_probe(rt, b)
    assert p["CapBnd"] == mask(bnd)
    assert p["CapInh"] == mask(inh)
    assert p["CapPrm"] == mask(amb)
    assert p["CapEff"] == mask(amb)
    assert p["CapAmb"] == mask(amb)


def test_capabilities_exact_root(rt):
    caps = ["CAP_CHOWN", "CAP_KILL", "CAP_AUDIT_WRITE"]
    b = rt.bundle(args=("/probe", "caps"))
    b.process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps,
                                 "inheritable": [], "ambient": []}
    p = run_probe(rt, b)
    for k in ("CapBnd", "CapPrm", "CapEff"):
        assert p[k] == mask(caps), k
    assert p["CapInh"] == mask([])
    assert p["CapAmb"] == mask([])


def test_capabilities_empty(rt):
    b = rt.bundle(args=("/probe", "caps", "try-write", "/proc/sys/kernel/hostname"))
    b.process["capabilities"] = {"bounding": [], "effective": [], "permitted": [],
                                 "inheritable": [], "ambient": []}
    p = run_probe(rt, b)
    for k in ("CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"):
        assert p[k] == "0000000000000000", k


def test_unknown_capability_is_not_fatal(rt):
    # runc and crun warn and skip capability names this kernel doesn't know.
    b = rt.bundle(args=("/probe", "caps"))
    caps = ["CAP_KILL", "CAP_NOT_A_REAL_CAP"]
    b.process["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
    r = rt.run(b)
    assert r.returncode == 0, r
    assert r.probe()["CapBnd"] == mask(["CAP_KILL"])


def test_rlimits(rt):
    b = rt.bundle(args=("/probe", "rlimits"))
    b.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 777, "hard": 888},
        {"type": "RLIMIT_CORE", "soft": 1234, "hard": 5678},
        {"type": "RLIMIT_NPROC", "soft": 3000, "hard": 4000},
    ]
    p = run_probe(rt, b)
    assert p["rlimit.NOFILE"] == "777:888"
    assert p["rlimit.CORE"] == "1234:5678"
    assert p["rlimit.NPROC"] == "3000:4000"


def test_rlimit_above_hard_limit_fails(working, rt):
    # This host's root lacks CAP_SYS_RESOURCE and the nofile hard limit is 20000.
    hard = int(open("/proc/self/limits").read().split("Max open files")[1].split()[1])
    b = rt.bundle(args=("/probe", "rlimits"))
    b.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard + 1000, "hard": hard + 1000}]
    r = rt.run(b)
    if r.returncode == 0:
        # Allowed only where the runtime may raise it (CAP_SYS_RESOURCE).
        assert r.probe()["rlimit.NOFILE"] == "%d:%d" % (hard + 1000, hard + 1000)
    else:
        assert r.stderr.strip()


def test_no_new_privileges(rt):
    b = rt.bundle(args=("/probe", "caps"))
    b.process["noNewPrivileges"] = True
    assert run_probe(rt, b)["NoNewPrivs"] == "1"
    b = rt.bundle(args=("/probe", "caps"))
    b.process["noNewPrivileges"] = False
    assert run_probe(rt, b)["NoNewPrivs"] == "0"


def test_oom_score_adj(rt):
    b = rt.bundle(args=("/probe", "oom"))
    b.process["oomScoreAdj"] = 500
    assert run_probe(rt, b)["oom_score_adj"] == "500"


def test_oom_score_adj_absent_inherited(rt):
    b = rt.bundle(args=("/probe", "oom"))
    b.process.pop("oomScoreAdj", None)
    own = open("/proc/self/oom_score_adj").read().strip()
    assert run_probe(rt, b)["oom_score_adj"] == own


def test_apparmor_profile_absent(rt):
    # Without apparmorProfile the runtime sets no LSM label: the process keeps the
    # label it would have had (and a host without AppArmor is no error).
    b = rt.bundle(args=("/probe", "read", "/proc/self/attr/current"))
    b.process.pop("apparmorProfile", None)
    p = run_probe(rt, b)
    try:
        host = open("/proc/self/attr/current").read().strip()
    except OSError:
        host = None
    val = p.get("read:/proc/self/attr/current")
    if host is None:
        assert val in (None, "")  # no LSM: reading the attribute fails
    else:
        assert val.replace("\\n", "").strip() in (host, "unconfined")


def _terminal_bundle(rt, args):
    b = rt.bundle(args=args)
    b.process["terminal"] = True
    b.process["consoleSize"] = {"height": 37, "width": 111}
    return b


@pytest.mark.asan
def test_terminal_console_socket(rt):
    cs = rt.console_socket()
    b = _terminal_bundle(rt, ("/probe", "tty", "stat", "/dev/console", "pid"))
    cid = rt.create(b, extra=("--console-socket", cs.path)).cid
    master = cs.wait()
    assert os.isatty(master)
    rt.start(cid)
    out = cs.read_until_eof()
    p = Probe(out.replace("\r\n", "\n"))
    assert p["isatty.0"] == p["isatty.1"] == p["isatty.2"] == "1", out
    assert p["winsize.0"] == "37x111"
    assert p["ttyname.0"].startswith("/dev/pts/")
    assert p["stat:/dev/console:type"] == "chr"
    assert p["stat:/dev/console:rdev"].startswith("136:")
    assert p["pid"] == "1"
    rt.wait_status(cid, "stopped")
    rt.delete(cid)


def test_terminal_input_through_master(rt):
    cs = rt.console_socket()
    b = _terminal_bundle(rt, ("/bin/sh", "-c", "read line; echo got:$line"))
    cid = rt.create(b, extra=("--console-socket", cs.path)).cid
    master = cs.wait()
    rt.start(cid)
    os.write(master, b"hello-tty\n")
    out = cs.read_until_eof()
    assert "got:hello-tty" in out
    rt.wait_status(cid, "stopped")
    rt.delete(cid)


def test_terminal_without_console_socket_fails(working, rt):
    b = _terminal_bundle(rt, ("/probe", "tty"))
    r = rt.create(b, check=False)
    assert r.returncode != 0
    assert rt.state(r.cid, check=False).returncode != 0


def test_no_terminal_no_tty(rt):
    p = run_probe(rt, rt.bundle(args=("/probe", "tty")))
    assert p["isatty.0"] == p["isatty.1"] == p["isatty.2"] == "0"


def test_home_from_passwd(rt):
    """HOME comes from the container's /etc/passwd entry for the uid, whole
    lines of any length; an empty home field stays empty (as runc and crun
    have it), no entry gives "/"."""
    b = rt.bundle(args=("/probe", "env"), writable=True)
    long_name = "n" * 5000
    (b.path / "rootfs/etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        + long_name + ":x:7:7::/home/long:/bin/sh\n"
        "later:x:7:7::/home/later:/bin/sh\n"
        "noshell:x:8:8::/home/noshell\n"
        "nohome:x:9:9::\n"
        "last:x:1001:1001::/home/last")  # no newline at the end
    cases = [(0, "/root"), (7, "/home/long"), (8, "/home/noshell"), (9, ""), (1001, "/home/last")]
    if rt.name != "crun":  # crun 1.8 sets no HOME for a uid without an entry
        cases.append((4242, "/"))
    for uid, home in cases:
        b.process["user"] = {"uid": uid, "gid": 0}
        p = run_probe(rt, b)
        assert p.env().get("HOME") == home, (uid, p.env())
