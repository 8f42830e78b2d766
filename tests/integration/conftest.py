"""Shared fixtures for the husk-runtime integration tests.

RUNTIME names the runtime binary (default: <repo>/build/husk-runtime). The same
tests run against crun (/work/shared/tools/crun-no-unified) and runc: a test that
they fail is probably a wrong test. See README.md.

Every test gets an `rt` fixture: its own --root state dir, unique container ids,
a marker token put in the environment of every process it starts (runtime calls,
container processes, hooks) so leftovers can be found, and a teardown that
force-deletes its containers and then checks that nothing of the test remains:
no process, no state entry, no cgroup directory, no mount referencing its files.
"""

import copy
import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = os.environ.get("RUNTIME", str(REPO / "build" / "husk-runtime"))
PROBE = REPO / "build" / "tests" / "probe"
BUSYBOX = "/usr/bin/busybox"
RUNC = shutil.which("runc") or "/usr/sbin/runc"
TIMEOUT = 30

BUSYBOX_LINKS = (
    "sh ash cat ls echo sleep id hostname mount umount ps true false env kill "
    "mkdir rm touch stat readlink grep head tail wc test [ sed awk tr chmod ln "
    "domainname dnsdomainname pwd uname nsenter ip sysctl sync mknod cp mv tee "
    "printf sha256sum date dd seq xargs"
).split()


def _version_text():
    try:
        r = subprocess.run([RUNTIME, "--version"], capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip()
    except OSError:
        return ""


VERSION = _version_text()
IS_HUSK = VERSION.startswith("husk-runtime")
IS_CRUN = VERSION.startswith("crun")
IS_RUNC = VERSION.startswith("runc")
RUNTIME_NAME = "husk" if IS_HUSK else "crun" if IS_CRUN else "runc" if IS_RUNC else "unknown"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "asan: representative subset run against the ASan+UBSan build")
    config.addinivalue_line(
        "markers", "husk_only: husk-only behaviour (--explain, exact messages); "
        "skipped unless `$RUNTIME --version` starts with husk-runtime")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="husk-only test (runtime is %s)" % RUNTIME_NAME)
    for item in items:
        if "husk_only" in item.keywords and not IS_HUSK:
            item.add_marker(skip)


def skip_on(runtime, reason):
    """Skips the calling test when running against `runtime` ("crun"/"runc")."""
    if RUNTIME_NAME == runtime:
        pytest.skip("%s: %s" % (runtime, reason))


# ---------------------------------------------------------------- probe output

class Probe:
    """Parsed "key=value" output of tests/helpers/probe.c.

    p["uid"] is the last value for a key; p.all("mount") every value."""

    def __init__(self, text):
        self.text = text
        self.values = {}
        for line in text.splitlines():
            if "=" not in line:
                continue
            k, v = line.split("=", 1)
            self.values.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.values[key][-1]

    def get(self, key, default=None):
        v = self.values.get(key)
        return v[-1] if v else default

    def all(self, key):
        return self.values.get(key, [])

    def __contains__(self, key):
        return key in self.values

    def env(self):
        return {k[4:]: v[-1] for k, v in self.values.items() if k.startswith("env.")}

    def mounts(self):
        """mountinfo lines as dicts: mountpoint, options, optional, fstype, source, superopts."""
        res = []
        for line in self.all("mount"):
            left, right = line.split(" - ", 1)
            f = left.split()
            r = right.split()
            res.append({
                "id": f[0], "parent": f[1], "majmin": f[2], "root": f[3], "mountpoint": f[4],
                "options": set(f[5].split(",")), "optional": f[6:],
                "fstype": r[0], "source": r[1] if len(r) > 1 else "",
                "superopts": set(r[2].split(",")) if len(r) > 2 else set(),
            })
        return res

    def mount_at(self, path):
        """The top mount at path (the last one listed)."""
        ms = [m for m in self.mounts() if m["mountpoint"] == path]
        return ms[-1] if ms else None


# ---------------------------------------------------------------- template bundle

def _ensure_probe():
    if not PROBE.exists() or PROBE.stat().st_mtime < (REPO / "tests/helpers/probe.c").stat().st_mtime:
        subprocess.run(["make", "-s", "build/tests/probe"], cwd=REPO, check=True)


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """A rootfs (busybox, /probe, passwd/group) and the `runc spec` config."""
    _ensure_probe()
    base = Path(tempfile.mkdtemp(prefix="husk-it-template-"))
    os.chmod(base, 0o755)  # user namespace tests map root to an unprivileged host uid
    rootfs = base / "rootfs"
    for d in ("bin", "sbin", "usr/bin", "etc", "proc", "sys", "dev", "tmp", "root",
              "home/user", "mnt", "run", "var/tmp", "sys/fs/cgroup"):
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, rootfs / "bin/busybox")
    for name in BUSYBOX_LINKS:
        os.symlink("busybox", rootfs / "bin" / name)
    shutil.copy2(PROBE, rootfs / "probe")
    os.chmod(rootfs / "tmp", 0o1777)
    (rootfs / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n")
    (rootfs / "etc/group").write_text("root:x:0:\ntty:x:5:\nuser:x:1000:\n")
    (rootfs / "etc/hostname").write_text("template\n")
    os.chown(rootfs / "home/user", 1000, 1000)
    specdir = base / "spec"
    specdir.mkdir()
    subprocess.run([RUNC, "spec"], cwd=specdir, check=True)
    config = json.loads((specdir / "config.json").read_text())
    yield {"rootfs": rootfs, "config": config, "dir": base}
    shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- cgroups

def own_cgroups():
    """{hierarchy-key: own path} for every hierarchy in /proc/self/cgroup.

    Keys are the controller list ("memory", "name=systemd", "cpu,cpuacct") or
    "" for the unified one."""
    res = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrl, path = line.split(":", 2)
        res[ctrl] = path
    return res


def cgroup_mount_of(ctrl):
    """The mount point of the hierarchy named by a /proc/self/cgroup controller field."""
    want = set(ctrl.split(",")) if ctrl else None
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        fstype, _, superopts = (right.split() + ["", ""])[:3]
        mp = left.split()[4]
        if ctrl == "" and fstype == "cgroup2":
            return mp
        if fstype == "cgroup" and want and want <= set(superopts.split(",")):
            return mp
    return None


# ---------------------------------------------------------------- process scanning

def pids_with_token(token):
    found = []
    needle = ("HUSK_TEST_TOKEN=" + token).encode()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            env = Path("/proc", d, "environ").read_bytes()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            found.append(int(d))
    return found


def proc_state(pid):
    """(state letter, utime+stime ticks) from /proc/PID/stat."""
    s = Path("/proc/%d/stat" % pid).read_text()
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[11]) + int(rest[12])


def host_mounts_referencing(path):
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if str(path) in line]


# ---------------------------------------------------------------- console socket

class ConsoleSocket:
    """A unix socket server that receives a pty master over SCM_RIGHTS."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.master = None
        self.error = None
        self.received = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        try:
            self.sock.settimeout(TIMEOUT)
            conn, _ = self.sock.accept()
            with conn:
                msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
                if fds:
                    self.master = fds[0]
                    for extra in fds[1:]:
                        os.close(extra)
        except Exception as e:  # reported by wait()
            self.error = e
        self.received.set()

    def wait(self, timeout=TIMEOUT):
        assert self.received.wait(timeout), "no pty master received on the console socket"
        assert self.master is not None, "console socket: %r" % self.error
        return self.master

    def read_until_eof(self, timeout=TIMEOUT):
        """Reads the master until EIO (all slaves closed) or timeout."""
        out = b""
        end = time.time() + timeout
        os.set_blocking(self.master, True)
        import select
        while time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.5)
            if not r:
                continue
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace")

    def close(self):
        self.sock.close()
        if self.master is not None:
            os.close(self.master)
            self.master = None


# ---------------------------------------------------------------- the rt fixture

class Bundle:
    def __init__(self, path, config):
        self.path = Path(path)
        self.config = config

    @property
    def process(self):
        return self.config["process"]

    def set_args(self, *args):
        self.config["process"]["args"] = list(args)
        return self

    def add_mount(self, destination, type_=None, source=None, options=None):
        m = {"destination": destination}
        if type_:
            m["type"] = type_
        if source is not None:
            m["source"] = str(source)
        if options is not None:
            m["options"] = options
        self.config["mounts"].append(m)
        return m

    def remove_namespace(self, t):
        self.config["linux"]["namespaces"] = [
            n for n in self.config["linux"]["namespaces"] if n["type"] != t]

    def set_namespace(self, t, path=None):
        self.remove_namespace(t)
        n = {"type": t}
        if path:
            n["path"] = str(path)
        self.config["linux"]["namespaces"].append(n)

    def write(self):
        (self.path / "config.json").write_text(json.dumps(self.config, indent=1))

    def stdout(self):
        p = self.path / "stdout"
        return p.read_text(errors="replace") if p.exists() else ""

    def stderr(self):
        p = self.path / "stderr"
        return p.read_text(errors="replace") if p.exists() else ""


class Result:
    def __init__(self, args, returncode, stdout, stderr):
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr

    def probe(self):
        return Probe(self.stdout)

    def __repr__(self):
        return "<%s rc=%s stdout=%r stderr=%r>" % (
            " ".join(map(str, self.args)), self.returncode, self.stdout[-2000:], self.stderr[-2000:])


class Runtime:
    def __init__(self, request, template):
        self.name = RUNTIME_NAME
        self.binary = RUNTIME
        self.template = template
        self.token = uuid.uuid4().hex[:12]
        self.tmp = Path(tempfile.mkdtemp(prefix="husk-it-%s-" % self.token))
        os.chmod(self.tmp, 0o755)
        self.root = self.tmp / "state"
        self.root.mkdir()
        self.ids = []
        self.counter = 0
        self.test = request.node.name.split("[")[0].replace("test_", "")[:24].replace("_", "-")
        self.cgroup_parent = "husk-it-" + self.token
        self.netns = []
        # Dirs an absolute cgroupsPath (crun) creates in hierarchies where our own
        # cgroup is elsewhere: removed, deepest first, in teardown.
        self.cgroup_intermediate = []
        if self.name == "crun":
            mem = own_cgroups().get("memory", "/").strip("/")
            for ctrl in own_cgroups():
                mp = cgroup_mount_of(ctrl)
                if not mp or not mem:
                    continue
                cur = Path(mp)
                for part in mem.split("/"):
                    cur = cur / part
                    if not cur.exists():
                        self.cgroup_intermediate.append(cur)
        self.cleanups = []
        self.env = dict(os.environ, HUSK_TEST_TOKEN=self.token)
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.pop("LISTEN_FDS", None)
        self.env.pop("LISTEN_PID", None)

    # -- ids and bundles

    def new_id(self):
        self.counter += 1
        cid = "%s-%s-%d" % (self.test, self.token[:6], self.counter)
        self.ids.append(cid)
        return cid

    def bundle(self, args=("/probe", "pid"), writable=False, name=None):
        """A fresh bundle dir with a copy of the template config.

        The rootfs is the shared template (root.readonly) unless writable, then a
        private copy (root.readonly false)."""
        self.counter += 1
        path = self.tmp / (name or "bundle%d" % self.counter)
        path.mkdir()
        config = copy.deepcopy(self.template["config"])
        if writable:
            subprocess.run(["cp", "-a", str(self.template["rootfs"]), str(path / "rootfs")],
                           check=True)
            config["root"] = {"path": "rootfs", "readonly": False}
        else:
            config["root"] = {"path": str(self.template["rootfs"]), "readonly": True}
        p = config["process"]
        p["terminal"] = False
        p["args"] = list(args)
        p["env"] = ["PATH=/bin:/sbin:/usr/bin", "HUSK_TEST_TOKEN=" + self.token]
        config["hostname"] = "huskit"
        config["linux"]["cgroupsPath"] = self.cgroups_path(path.name)
        # No device cgroup rule: keeps /dev/* usable for the tests that read them.
        config["linux"]["resources"] = {}
        b = Bundle(path, config)
        return b

    # -- raw runtime calls

    def cmd(self, *args, root=True, timeout=TIMEOUT, input=None, cwd=None, files=None,
            check=False, pass_fds=(), env=None):
        """Runs `$RUNTIME [--root R] ARGS`. With files=(out, err) paths, stdio goes
        to those files (needed when a container inherits it), else to pipes."""
        argv = [self.binary] + (["--root", str(self.root)] if root else []) + [str(a) for a in args]
        e = self.env if env is None else env
        if files:
            with open(files[0], "ab") as fo, open(files[1], "ab") as fe:
                p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                                   timeout=timeout, cwd=cwd, env=e, pass_fds=pass_fds)
            r = Result(argv, p.returncode, Path(files[0]).read_text(errors="replace"),
                       Path(files[1]).read_text(errors="replace"))
        else:
            p = subprocess.run(argv, input=input, capture_output=True, timeout=timeout,
                               cwd=cwd, env=e, pass_fds=pass_fds,
                               stdin=None if input is not None else subprocess.DEVNULL)
            r = Result(argv, p.returncode, p.stdout.decode(errors="replace"),
                       p.stderr.decode(errors="replace"))
        if check:
            assert r.returncode == 0, r
        return r

    # -- lifecycle helpers

    def run(self, bundle, cid=None, extra=(), timeout=TIMEOUT, check=False):
        """Foreground `run`; the container's stdout/stderr are captured."""
        bundle.write()
        cid = cid or self.new_id()
        r = self.cmd("run", "--bundle", bundle.path, *extra, cid, timeout=timeout)
        r.cid = cid
        if check:
            assert r.returncode == 0, r
        return r

    def create(self, bundle, cid=None, extra=(), check=True):
        """`create`, stdio of runtime and container to bundle/stdout, bundle/stderr."""
        bundle.write()
        cid = cid or self.new_id()
        r = self.cmd("create", "--bundle", bundle.path, *extra, cid,
                     files=(bundle.path / "stdout", bundle.path / "stderr"))
        r.cid = cid
        if check:
            assert r.returncode == 0, r
        return r

    def run_detached(self, bundle, cid=None, extra=(), check=True):
        bundle.write()
        cid = cid or self.new_id()
        r = self.cmd("run", "-d", "--bundle", bundle.path, *extra, cid,
                     files=(bundle.path / "stdout", bundle.path / "stderr"))
        r.cid = cid
        if check:
            assert r.returncode == 0, r
        return r

    def start(self, cid, check=True):
        return self.cmd("start", cid, check=check)

    def state(self, cid, check=True):
        r = self.cmd("state", cid)
        if check:
            assert r.returncode == 0, r
            return json.loads(r.stdout)
        return r

    def delete(self, cid, force=False, check=True):
        return self.cmd("delete", *(["--force"] if force else []), cid, check=check)

    def kill(self, cid, sig="KILL", all_=False, check=True):
        return self.cmd("kill", *(["--all"] if all_ else []), cid, sig, check=check)

    def wait_status(self, cid, status, timeout=10):
        end = time.time() + timeout
        st = None
        while time.time() < end:
            st = self.state(cid)
            if st["status"] == status:
                return st
            time.sleep(0.05)
        raise AssertionError("container %s: status %r, wanted %r" % (cid, st and st["status"], status))

    def wait_output(self, bundle, text, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            if text in bundle.stdout():
                return bundle.stdout()
            time.sleep(0.05)
        raise AssertionError("no %r in container output: %r / %r" % (text, bundle.stdout(), bundle.stderr()))

    def console_socket(self, name="console.sock"):
        cs = ConsoleSocket(self.tmp / name)
        self.cleanups.append(cs.close)
        return cs

    def cgroups_path(self, leaf):
        """The cgroupsPath tests use. Relative (nested under our own cgroups), except
        for crun: crun 1.8 takes a relative path from the hierarchy root, which
        would leave the memory cgroup we must stay in; it gets the absolute path
        of the same place in the memory hierarchy."""
        rel = "%s/%s" % (self.cgroup_parent, leaf)
        if self.name == "crun":
            return own_cgroups().get("memory", "/").rstrip("/") + "/" + rel
        return rel

    def cgroup_dirs(self, bundle_name):
        """Where a relative cgroupsPath lands when nested under our own cgroups."""
        res = {}
        for ctrl, own in own_cgroups().items():
            mp = cgroup_mount_of(ctrl)
            if mp:
                res[ctrl] = Path(mp + own.rstrip("/") + "/" + self.cgroup_parent + "/" + bundle_name)
        return res

    # -- teardown

    def our_cgroup_parents(self):
        res = set()
        mem = own_cgroups().get("memory", "/").rstrip("/")
        for ctrl, own in own_cgroups().items():
            mp = cgroup_mount_of(ctrl)
            if not mp:
                continue
            for base in (mp + own.rstrip("/"), mp, mp + mem):
                p = Path(base) / self.cgroup_parent
                if p.exists():
                    res.add(p)
        return res

    def pids_in_our_cgroups(self):
        pids = set()
        for parent in self.our_cgroup_parents():
            for dp, _, _ in os.walk(parent):
                try:
                    pids.update(int(x) for x in Path(dp, "cgroup.procs").read_text().split())
                except OSError:
                    pass
        return sorted(pids)

    def teardown(self):
        problems = []
        for cb in self.cleanups:
            try:
                cb()
            except Exception:
                pass
        for cid in self.ids:
            try:
                r = self.cmd("state", cid, timeout=10)
                if r.returncode == 0:
                    d = self.cmd("delete", "--force", cid, timeout=10)
                    if d.returncode != 0:
                        problems.append("delete --force %s failed: %s" % (cid, d.stderr.strip()))
            except subprocess.TimeoutExpired as e:
                problems.append("runtime hung in teardown: %s" % e)
        # Processes: container processes, hooks and runtime calls carry the token;
        # processes that cleared their environment are found in our cgroups.
        def leftovers():
            return sorted(set(pids_with_token(self.token)) | set(self.pids_in_our_cgroups()))
        end = time.time() + 5
        left = leftovers()
        while left and time.time() < end:
            time.sleep(0.1)
            left = leftovers()
        if left:
            desc = []
            for pid in left:
                try:
                    desc.append("%d %s" % (pid, Path("/proc/%d/cmdline" % pid).read_bytes().replace(b"\0", b" ").decode()))
                except OSError:
                    pass
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            problems.append("processes left behind: %s" % desc)
            end = time.time() + 3
            while leftovers() and time.time() < end:
                time.sleep(0.05)
        # State entries.
        if self.root.exists():
            leftovers = [p.name for p in self.root.iterdir()]
            if leftovers:
                problems.append("state dir entries left under --root: %s" % leftovers)
        # Cgroups: the leaves under our parent must be gone; then remove the parent.
        for ctrl, own in own_cgroups().items():
            mp = cgroup_mount_of(ctrl)
            if not mp:
                continue
            mem = own_cgroups().get("memory", "/").rstrip("/")
            for base in {Path(mp + own.rstrip("/")), Path(mp), Path(mp + mem)}:
                parent = base / self.cgroup_parent
                if not parent.exists():
                    continue
                subs = [Path(dp) for dp, _, _ in os.walk(parent) if Path(dp) != parent]
                if subs:
                    problems.append("cgroup dirs left behind: %s" % [str(s) for s in subs])
                    for s in sorted(subs, key=lambda p: -len(str(p))):
                        try:
                            s.rmdir()
                        except OSError:
                            pass
                try:
                    parent.rmdir()
                except OSError:
                    pass
        for d in sorted(self.cgroup_intermediate, key=lambda p: -len(str(p))):
            try:
                d.rmdir()
            except OSError:
                pass
        # Mounts referencing our files.
        m = host_mounts_referencing(self.tmp) + host_mounts_referencing(self.template["dir"])
        if m:
            problems.append("host mounts left referencing %s: %s" % (self.tmp, m))
            for line in m:
                subprocess.run(["umount", "-l", line.split()[4]], capture_output=True)
        for ns in self.netns:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems


@pytest.fixture
def rt(request, template):
    r = Runtime(request, template)
    yield r
    problems = r.teardown()
    if problems:
        pytest.fail("cleanup after %s: %s" % (request.node.name, "; ".join(problems)))


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def real_runtime_binaries():
    """The runtime binary files on the host: RUNTIME, and for the crun-no-unified
    wrapper script the crun it runs."""
    res = [os.path.realpath(RUNTIME)]
    with open(RUNTIME, "rb") as f:
        if f.read(2) == b"#!":
            real = os.environ.get("REAL_RUNTIME", "/usr/bin/crun")
            res.append(os.path.realpath(real))
    return res


_WORKING = []


@pytest.fixture
def working(rt):
    """For negative tests: fails unless the runtime can run a basic container, so a
    runtime that fails everything can't pass a test that expects a failure."""
    if not _WORKING:
        b = rt.bundle(args=("/probe", "pid"))
        r = rt.run(b)
        _WORKING.append((r.returncode == 0 and "pid=1" in r.stdout, repr(r)))
    if not _WORKING[0][0]:
        pytest.fail("the runtime can't run a basic container, so this negative test "
                    "proves nothing: %s" % _WORKING[0][1])
    return rt
