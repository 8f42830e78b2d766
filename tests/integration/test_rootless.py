"""Rootless: the runtime run by an unprivileged user, as runc and crun are.

The module creates a throwaway user (useradd, unique name, its own home in a
temporary dir) and removes it at the end (userdel -r), along with any
/etc/subuid and /etc/subgid lines for it. Every runtime call runs as that user
through setpriv, with XDG_RUNTIME_DIR set to a fresh directory of the user's,
so the default state root is used. Bundles come from `$RUNTIME spec --rootless`
(run as the user) on a busybox rootfs the user can read.

What is checked from inside: uid 0 in the container is the user outside
(/proc/self/uid_map), hostname, pid 1, exit codes, the lifecycle, exec, ps,
several uid ranges through newuidmap (files owned by a subordinate id on the
host), clear errors for mappings the user doesn't own and for limits that
need a cgroup the user can't create, and that nothing is left behind: no
process of the user, no state entry.

Runs against husk-runtime and runc (RUNTIME=/usr/sbin/runc). crun is skipped:
crun 1.8 refuses this hybrid cgroup host ("cgroups in hybrid mode not
supported") and its crun-no-unified wrapper needs root for its mount namespace.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from throwaway_user import ThrowawayUser, subid_ranges  # noqa: E402
from conftest import BUSYBOX, BUSYBOX_LINKS, IS_CRUN, IS_HUSK, IS_RUNC, PROBE, RUNTIME, \
    TIMEOUT, ConsoleSocket, Probe, _ensure_probe, pids_with_token, skip_on

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
# Absolute: the user's commands run in other directories.
RT_BIN = os.path.abspath(shutil.which(RUNTIME) or RUNTIME)
STATE_DIR_NAME = "runc" if IS_RUNC else "husk-runtime"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creates a user: needs root"),
    pytest.mark.skipif(IS_CRUN, reason="crun 1.8 refuses cgroup hybrid hosts, and the "
                       "crun-no-unified wrapper needs root"),
    pytest.mark.skipif(not shutil.which("useradd"), reason="no useradd"),
]


class User(ThrowawayUser):
    """The throwaway user, and a read-only rootfs it can use."""

    def __init__(self):
        _ensure_probe()
        super().__init__()
        self.rootfs = self.base / "rootfs"
        make_rootfs(self.rootfs)


def make_rootfs(rootfs, owner=None):
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/user"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, rootfs / "bin/busybox")
    for name in BUSYBOX_LINKS:
        os.symlink("busybox", rootfs / "bin" / name)
    shutil.copy2(PROBE, rootfs / "probe")
    (rootfs / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
    (rootfs / "etc/group").write_text("root:x:0:\nuser:x:1000:\n")
    for dp, dirs, files in os.walk(rootfs):
        for n in dirs:
            os.chmod(os.path.join(dp, n), 0o755)
    os.chmod(rootfs, 0o755)
    os.chmod(rootfs / "tmp", 0o1777)
    if owner is not None:
        subprocess.run(["chown", "-R", "%d:%d" % owner, str(rootfs)], check=True)


@pytest.fixture(scope="module")
def user():
    u = User()
    yield u
    problems = u.remove()
    assert not subid_ranges("/etc/subuid", u.name, u.uid), "subuid lines left for " + u.name
    assert not problems, problems


class Result:
    def __init__(self, argv, p):
        self.args, self.returncode = argv, p.returncode
        self.stdout, self.stderr = p.stdout, p.stderr

    def probe(self):
        return Probe(self.stdout)

    def __repr__(self):
        return "<%s rc=%s stdout=%r stderr=%r>" % (
            " ".join(map(str, self.args)), self.returncode, self.stdout[-2000:],
            self.stderr[-2000:])


class Rootless:
    """Per test: a fresh XDG_RUNTIME_DIR of the user's, unique ids, a token in
    every environment, and a teardown that checks nothing is left."""

    def __init__(self, request, user):
        self.user = user
        self.token = uuid.uuid4().hex[:12]
        self.tmp = Path(tempfile.mkdtemp(prefix="husk-rl-%s-" % self.token))
        os.chmod(self.tmp, 0o755)
        self.xdg = self.tmp / "xdg"
        self.xdg.mkdir(mode=0o700)
        os.chown(self.xdg, user.uid, user.gid)
        self.state_root = self.xdg / STATE_DIR_NAME
        self.ids = []
        self.counter = 0

    def env(self, **extra):
        e = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.user.home),
            "USER": self.user.name,
            "LOGNAME": self.user.name,
            "XDG_RUNTIME_DIR": str(self.xdg),
            "HUSK_TEST_TOKEN": self.token,
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:
                e[k] = os.environ[k]
        for k, v in extra.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e

    def as_user(self, argv, env=None, cwd=None, timeout=TIMEOUT):
        full = [SETPRIV, "--reuid=%d" % self.user.uid, "--regid=%d" % self.user.gid,
                "--init-groups", "--"] + [str(a) for a in argv]
        p = subprocess.run(full, env=env or self.env(), cwd=cwd or self.tmp,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        return Result(full, p)

    def rt(self, *args, env=None, timeout=TIMEOUT):
        r = self.as_user([RT_BIN] + list(args), env=env, timeout=timeout)
        # Under the ASan+UBSan build a report fails the test, expected errors or not.
        assert "Sanitizer" not in r.stderr and "runtime error:" not in r.stderr, r
        return r

    def new_id(self):
        self.counter += 1
        cid = "rl-%s-%d" % (self.token[:6], self.counter)
        self.ids.append(cid)
        return cid

    def bundle(self, args=("/probe", "pid"), writable=False):
        """A bundle whose config.json is `$RUNTIME spec --rootless`, run as the user."""
        self.counter += 1
        path = self.tmp / ("bundle%d" % self.counter)
        path.mkdir()
        os.chown(path, self.user.uid, self.user.gid)
        r = self.as_user([RT_BIN, "spec", "--rootless"], cwd=path)
        assert r.returncode == 0, r
        config = json.loads((path / "config.json").read_text())
        if writable:
            make_rootfs(path / "rootfs", owner=(self.user.uid, self.user.gid))
            config["root"] = {"path": "rootfs", "readonly": False}
        else:
            config["root"] = {"path": str(self.user.rootfs), "readonly": True}
        p = config["process"]
        p["terminal"] = False
        p["args"] = list(args)
        p["env"] = ["PATH=/bin", "HUSK_TEST_TOKEN=" + self.token]
        config["hostname"] = "rl-" + self.token[:6]
        return path, config

    def write(self, path, config):
        (path / "config.json").write_text(json.dumps(config, indent=1))

    def run(self, path, config, cid=None, extra=()):
        self.write(path, config)
        cid = cid or self.new_id()
        r = self.rt("run", "--bundle", path, *extra, cid)
        r.cid = cid
        return r

    def create(self, path, config, cid=None):
        """create with the container's stdio in files (a pipe would keep us waiting)."""
        self.write(path, config)
        cid = cid or self.new_id()
        full = [SETPRIV, "--reuid=%d" % self.user.uid, "--regid=%d" % self.user.gid,
                "--init-groups", "--", RT_BIN, "create", "--bundle", str(path), cid]
        out, err = path / "stdout", path / "stderr"
        with open(out, "wb") as fo, open(err, "wb") as fe:
            p = subprocess.run(full, env=self.env(), cwd=self.tmp, stdin=subprocess.DEVNULL,
                               stdout=fo, stderr=fe, timeout=TIMEOUT)
        p.stdout, p.stderr = out.read_text(), err.read_text()
        r = Result(full, p)
        r.cid = cid
        return r

    def state(self, cid):
        r = self.rt("state", cid)
        assert r.returncode == 0, r
        return json.loads(r.stdout)

    def wait_status(self, cid, status, timeout=10):
        end = time.time() + timeout
        st = None
        while time.time() < end:
            st = self.state(cid)
            if st["status"] == status:
                return st
            time.sleep(0.05)
        raise AssertionError("%s: status %r, wanted %r" % (cid, st and st["status"], status))

    def teardown(self):
        problems = []
        for cid in self.ids:
            r = self.rt("state", cid, timeout=10)
            if r.returncode == 0:
                d = self.rt("delete", "--force", cid, timeout=10)
                if d.returncode != 0:
                    problems.append("delete --force %s: %s" % (cid, d.stderr.strip()))
        end = time.time() + 5
        left = pids_with_token(self.token)
        while left and time.time() < end:
            time.sleep(0.1)
            left = pids_with_token(self.token)
        if left:
            problems.append("processes left behind: %s" % left)
            for pid in left:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
        if self.state_root.exists():
            entries = [p.name for p in self.state_root.iterdir()]
            if entries:
                problems.append("state entries left in %s: %s" % (self.state_root, entries))
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems


@pytest.fixture
def rl(request, user):
    r = Rootless(request, user)
    yield r
    problems = r.teardown()
    if problems:
        pytest.fail("cleanup after %s: %s" % (request.node.name, "; ".join(problems)))


def map_lines(text):
    return [l.split() for l in text.strip().splitlines()]


# ---------------------------------------------------------------- tests


@pytest.mark.husk_only
def test_spec_rootless_is_runcs(rl):
    """`spec --rootless` run by the user writes what `runc spec --rootless` writes
    for that user (the ociVersion aside)."""
    runc = shutil.which("runc") or "/usr/sbin/runc"
    out = {}
    for name, binary in (("husk", RT_BIN), ("runc", runc)):
        d = rl.tmp / ("spec-" + name)
        d.mkdir()
        os.chown(d, rl.user.uid, rl.user.gid)
        r = rl.as_user([binary, "spec", "--rootless"], cwd=d)
        assert r.returncode == 0, r
        out[name] = json.loads((d / "config.json").read_text())
        out[name].pop("ociVersion")
    assert out["husk"] == out["runc"]
    assert out["husk"]["linux"]["uidMappings"] == [
        {"containerID": 0, "hostID": rl.user.uid, "size": 1}]


@pytest.mark.asan
def test_run_maps_root_to_the_user(rl):
    path, config = rl.bundle(args=(
        "/bin/sh", "-c",
        "echo pid=$$; /probe ids hostname; echo uid_map=$(cat /proc/self/uid_map); "
        "echo gid_map=$(cat /proc/self/gid_map); echo setgroups=$(cat /proc/self/setgroups)"))
    r = rl.run(path, config)
    assert r.returncode == 0, r
    p = r.probe()
    assert p["pid"] == "1"
    assert p["hostname"] == "rl-" + rl.token[:6]
    assert "uid=0" in p.text and "gid=0" in p.text, p.text
    assert p["uid_map"].split() == ["0", str(rl.user.uid), "1"]
    assert p["gid_map"].split() == ["0", str(rl.user.gid), "1"]
    # An unprivileged gid map is only accepted with setgroups denied.
    assert p["setgroups"] == "deny"
    # The default state root was used, and is empty again.
    assert rl.state_root.is_dir(), list(rl.xdg.iterdir())
    assert rl.state_root.stat().st_uid == rl.user.uid
    assert list(rl.state_root.iterdir()) == []


def test_run_exit_code(rl):
    path, config = rl.bundle(args=("/probe", "exit", "7"))
    r = rl.run(path, config)
    assert r.returncode == 7, r


@pytest.mark.asan
def test_lifecycle_exec_ps(rl):
    path, config = rl.bundle(args=("/probe", "ready", "sleep", "60"))
    r = rl.create(path, config)
    assert r.returncode == 0, r
    cid = r.cid
    st = rl.state(cid)
    assert st["status"] == "created" and st["pid"] > 0
    init = st["pid"]
    # The init runs as the user on the host.
    status = Path("/proc/%d/status" % init).read_text()
    uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0]
    assert uid_line.split()[1:] == [str(rl.user.uid)] * 4, uid_line
    assert (rl.state_root / cid).is_dir()

    r = rl.rt("start", cid)
    assert r.returncode == 0, r
    rl.wait_status(cid, "running")
    end = time.time() + 10
    while "ready=1" not in (path / "stdout").read_text() and time.time() < end:
        time.sleep(0.05)

    r = rl.rt("exec", cid, "/bin/sh", "-c", "id -u; cat /proc/self/uid_map; echo pid1=$(cat /proc/1/comm)")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == "0", r
    assert lines[1].split() == ["0", str(rl.user.uid), "1"], r
    assert lines[2] == "pid1=probe", r

    # runc 1.1 lists processes only through a cgroup, which it has none of here.
    if not IS_RUNC:
        r = rl.rt("ps", "--format", "json", cid)
        assert r.returncode == 0, r
        assert init in json.loads(r.stdout), r

    r = rl.rt("kill", cid, "KILL")
    assert r.returncode == 0, r
    rl.wait_status(cid, "stopped")
    r = rl.rt("delete", cid)
    assert r.returncode == 0, r
    r = rl.rt("state", cid)
    assert r.returncode != 0, r
    assert not (rl.state_root / cid).exists()
    assert not pids_with_token(rl.token)


def test_kill_all_and_delete_force(rl):
    """Without a cgroup of its own (this host), kill --all still reaches every
    process of the container, and delete --force leaves nothing."""
    skip_on("runc", "runc 1.1 finds a container's processes only through its cgroup "
            "('unable to get all container pids'), and it has none here")
    path, config = rl.bundle(args=("/bin/sh", "-c", "sleep 60 & sleep 60 & echo started; wait"))
    r = rl.create(path, config)
    assert r.returncode == 0, r
    assert rl.rt("start", r.cid).returncode == 0
    end = time.time() + 10
    while "started" not in (path / "stdout").read_text() and time.time() < end:
        time.sleep(0.05)
    ps = rl.rt("ps", "--format", "json", r.cid)
    assert ps.returncode == 0, ps
    assert len(json.loads(ps.stdout)) == 3, ps
    k = rl.rt("kill", "--all", r.cid, "KILL")
    assert k.returncode == 0, k
    rl.wait_status(r.cid, "stopped")
    d = rl.rt("delete", "--force", r.cid)
    assert d.returncode == 0, d
    assert not pids_with_token(rl.token)


@pytest.mark.asan
def test_multi_range_mapping_through_newuidmap(rl):
    """Two ranges (the user's own id and its subordinate ids) need newuidmap and
    newgidmap; a file made by uid 1000 in the container belongs to the
    subordinate id start + 999 on the host."""
    if not shutil.which("newuidmap"):
        pytest.skip("newuidmap (package uidmap) is not installed")
    sub_u, sub_g = rl.user.subuid, rl.user.subgid
    path, config = rl.bundle(args=(
        "/bin/sh", "-c", "echo uid_map=$(cat /proc/self/uid_map); id -u; touch /tmp/made"),
        writable=True)
    config["linux"]["uidMappings"] = [
        {"containerID": 0, "hostID": rl.user.uid, "size": 1},
        {"containerID": 1, "hostID": sub_u[0], "size": 65536}]
    config["linux"]["gidMappings"] = [
        {"containerID": 0, "hostID": rl.user.gid, "size": 1},
        {"containerID": 1, "hostID": sub_g[0], "size": 65536}]
    config["process"]["user"] = {"uid": 1000, "gid": 1000}
    r = rl.run(path, config)
    assert r.returncode == 0, r
    assert r.probe()["uid_map"].split() == [
        "0", str(rl.user.uid), "1", "1", str(sub_u[0]), "65536"], r
    assert "1000" in r.stdout.splitlines(), r
    st = os.stat(path / "rootfs/tmp/made")
    assert (st.st_uid, st.st_gid) == (sub_u[0] + 999, sub_g[0] + 999)


@pytest.mark.asan
def test_mapping_the_user_does_not_own(rl):
    sub_u = rl.user.subuid
    foreign = sub_u[0] + sub_u[1] + 10000000
    path, config = rl.bundle()
    config["linux"]["uidMappings"] = [
        {"containerID": 0, "hostID": rl.user.uid, "size": 1},
        {"containerID": 1, "hostID": foreign, "size": 1000}]
    r = rl.run(path, config)
    assert r.returncode != 0, r
    if IS_HUSK:
        assert "linux.uidMappings[1]: host uids %d-%d are not yours to map" % (
            foreign, foreign + 999) in r.stderr, r
        assert "/etc/subuid" in r.stderr, r
    else:
        assert "not allowed" in r.stderr, r


def test_mapping_another_users_id(working_user_rl):
    """A single mapping of an id that isn't the user's (host root) is refused."""
    rl = working_user_rl
    path, config = rl.bundle()
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    r = rl.run(path, config)
    assert r.returncode != 0, r
    if IS_HUSK:
        assert "linux.uidMappings[0]: host uid 0 is not yours to map" in r.stderr, r


@pytest.fixture
def working_user_rl(rl):
    """For negative tests: the user can run a basic container at all."""
    path, config = rl.bundle(args=("/probe", "pid"))
    r = rl.run(path, config)
    if r.returncode != 0 or "pid=1" not in r.stdout:
        pytest.fail("a basic rootless container does not run, so this negative test "
                    "proves nothing: %r" % r)
    return rl


@pytest.mark.asan
def test_limits_need_a_cgroup(working_user_rl):
    """The user may not create cgroups on this host (v1/hybrid): a limit is an
    error naming it, not silently dropped."""
    rl = working_user_rl
    path, config = rl.bundle()
    config["linux"]["resources"] = {"pids": {"limit": 50}}
    r = rl.run(path, config)
    assert r.returncode != 0, r
    if IS_HUSK:
        assert "linux.resources.pids.limit" in r.stderr, r
        assert "unprivileged" in r.stderr, r
    else:
        assert "cannot set pids limit" in r.stderr, r


@pytest.mark.husk_only
def test_no_cgroup_warning_and_device_rules_ignored(rl):
    path, config = rl.bundle()
    config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    r = rl.run(path, config)
    assert r.returncode == 0, r
    assert "pid=1" in r.stdout
    warnings = [l for l in r.stderr.splitlines() if "warning" in l]
    cg = [l for l in warnings if "no cgroup was created" in l]
    assert len(cg) == 1, r
    assert "uid %d" % rl.user.uid in cg[0]
    assert any("linux.resources.devices: ignored" in l for l in warnings), r
    # pause needs the freezer cgroup: a clear error, not a crash.
    path2, config2 = rl.bundle(args=("/probe", "sleep", "60"))
    c = rl.create(path2, config2)
    assert c.returncode == 0, c
    assert rl.rt("start", c.cid).returncode == 0
    p = rl.rt("pause", c.cid)
    assert p.returncode != 0 and "no cgroup of its own" in p.stderr, p
    assert rl.rt("delete", "--force", c.cid).returncode == 0


def test_rlimit_above_the_hard_limit(working_user_rl):
    rl = working_user_rl
    hard = int(rl.as_user(["/bin/sh", "-c", "ulimit -Hn"]).stdout.strip())
    path, config = rl.bundle()
    config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "hard": hard + 1000, "soft": hard + 1000}]
    r = rl.run(path, config)
    assert r.returncode != 0, r
    if IS_HUSK:
        assert "process.rlimits[0]: set RLIMIT_NOFILE" in r.stderr, r
        assert "the hard limit is %d" % hard in r.stderr, r
    else:
        assert "operation not permitted" in r.stderr.lower(), r


@pytest.mark.husk_only
def test_missing_newuidmap_is_named(rl):
    path, config = rl.bundle()
    config["linux"]["uidMappings"] = [
        {"containerID": 0, "hostID": rl.user.uid, "size": 1},
        {"containerID": 1, "hostID": rl.user.subuid[0], "size": 10}]
    rl.write(path, config)
    cid = rl.new_id()
    r = rl.rt("run", "--bundle", path, cid, env=rl.env(PATH="/nonexistent"))
    assert r.returncode != 0, r
    assert "linux.uidMappings" in r.stderr and "newuidmap" in r.stderr, r
    assert "uidmap package" in r.stderr, r


@pytest.mark.husk_only
def test_state_root_without_xdg_runtime_dir(rl):
    if Path("/run/user/%d" % rl.user.uid).exists():
        pytest.skip("/run/user/%d exists" % rl.user.uid)
    r = rl.rt("list", env=rl.env(XDG_RUNTIME_DIR=None))
    assert r.returncode != 0, r
    assert "XDG_RUNTIME_DIR" in r.stderr and "--root" in r.stderr, r
    # spec needs no state root.
    d = rl.tmp / "nostate"
    d.mkdir()
    os.chown(d, rl.user.uid, rl.user.gid)
    r = rl.as_user([RT_BIN, "spec", "--rootless"], env=rl.env(XDG_RUNTIME_DIR=None), cwd=d)
    assert r.returncode == 0, r
    # An explicit --root works.
    r = rl.rt("--root", rl.xdg / "explicit", "list", env=rl.env(XDG_RUNTIME_DIR=None))
    assert r.returncode == 0, r


@pytest.mark.husk_only
def test_explain_shows_the_mapping_steps(rl):
    path, config = rl.bundle()
    rl.write(path, config)
    cid = rl.new_id()
    r = rl.rt("--explain", "run", "--bundle", path, cid)
    assert r.returncode == 0, r
    lines = r.stderr.splitlines()
    uid = rl.user.uid
    setgroups = [l for l in lines if l.startswith("$ echo deny > /proc/")]
    assert len(setgroups) == 1 and setgroups[0].endswith("/setgroups"), lines
    pid = setgroups[0].split("/")[2]
    assert "$ echo '0 %d 1' > /proc/%s/uid_map" % (uid, pid) in lines, lines
    assert "$ echo '0 %d 1' > /proc/%s/gid_map" % (rl.user.gid, pid) in lines, lines
    # Several ranges: the helpers, with the real arguments.
    if not shutil.which("newuidmap"):
        return
    sub = rl.user.subuid[0]
    subg = rl.user.subgid[0]
    config["linux"]["uidMappings"].append({"containerID": 1, "hostID": sub, "size": 100})
    config["linux"]["gidMappings"].append({"containerID": 1, "hostID": subg, "size": 100})
    rl.write(path, config)
    cid = rl.new_id()
    r = rl.rt("--explain", "run", "--bundle", path, cid)
    assert r.returncode == 0, r
    tool = [l for l in r.stderr.splitlines() if l.startswith("$ newuidmap ")]
    assert len(tool) == 1, r
    f = tool[0].split()
    assert f[3:] == ["0", str(uid), "1", "1", str(sub), "100"], tool
    assert "$ newgidmap %s 0 %d 1 1 %d 100" % (f[2], rl.user.gid, subg) in r.stderr, r
    assert "setgroups" not in r.stderr, r


def test_terminal_through_console_socket(rl):
    """A pty from the container's own devpts (mounted without gid=5 in the
    rootless spec), handed over the console socket."""
    sock = ConsoleSocket(rl.tmp / "console.sock")
    try:
        os.chmod(rl.tmp / "console.sock", 0o777)
        path, config = rl.bundle(args=("/bin/sh", "-c", "tty; echo uid_map=$(cat /proc/self/uid_map)"))
        config["process"]["terminal"] = True
        rl.write(path, config)
        cid = rl.new_id()
        r = rl.rt("create", "--bundle", path, "--console-socket", rl.tmp / "console.sock", cid)
        assert r.returncode == 0, r
        sock.wait()
        assert rl.rt("start", cid).returncode == 0
        out = sock.read_until_eof(timeout=10)
        assert "/dev/pts/0" in out, out
        assert ["uid_map=", "0", str(rl.user.uid), "1"] in [l.split() for l in out.splitlines()], out
        rl.wait_status(cid, "stopped")
        assert rl.rt("delete", cid).returncode == 0
    finally:
        sock.close()


def test_unmapped_user_and_denied_groups(working_user_rl):
    """With only the user's own id mapped: process.user.uid 1000 has no
    mapping, and additionalGids can't be set (setgroups is denied)."""
    rl = working_user_rl
    path, config = rl.bundle()
    config["process"]["user"] = {"uid": 1000, "gid": 0}
    r = rl.run(path, config)
    assert r.returncode != 0, r
    if IS_HUSK:
        assert "process.user.uid: set uid 1000 (not in linux.uidMappings)" in r.stderr, r
    else:
        assert "unmapped user" in r.stderr, r
    config["process"]["user"] = {"uid": 0, "gid": 0, "additionalGids": [0]}
    r = rl.run(path, config)
    assert r.returncode != 0, r
    if IS_HUSK:
        assert "process.user.additionalGids: setgroups is denied" in r.stderr, r
    else:
        assert "additional groups" in r.stderr, r


def test_no_user_namespace_is_refused_clearly(working_user_rl):
    rl = working_user_rl
    path, config = rl.bundle()
    config["linux"]["namespaces"] = [
        n for n in config["linux"]["namespaces"] if n["type"] != "user"]
    del config["linux"]["uidMappings"]
    del config["linux"]["gidMappings"]
    r = rl.run(path, config)
    assert r.returncode != 0, r
    if IS_HUSK:
        assert "need a user namespace" in r.stderr, r
    else:
        assert "requires user namespaces" in r.stderr, r


def test_mount_that_needs_privilege(working_user_rl):
    """ext4 can't be mounted in a user namespace (no FS_USERNS_MOUNT): the
    kernel refuses before it looks at the source."""
    rl = working_user_rl
    path, config = rl.bundle()
    config["mounts"].append({"destination": "/tmp", "type": "ext4", "source": "/dev/null"})
    r = rl.run(path, config)
    assert r.returncode != 0, r
    assert "/tmp" in r.stderr, r
    if IS_HUSK:
        assert "Operation not permitted (in a user namespace only some file systems" in r.stderr, r
    else:
        assert "operation not permitted" in r.stderr, r
