"""Fixtures for the container engine tests (husk run, ps, logs, exec ...).

Every test gets a `husk` fixture: a private --root and --runroot (short temp
dirs, so nothing touches /var/lib/husk or /run/husk and nothing collides with
other tests running on this machine at the same time) with busybox imported.
Its teardown force-removes the test's containers and then checks that nothing
is left: no monitor or container process, no mount, no cgroup directory, no
file in the container and run dirs, no row in the containers table.

HUSK names the husk binary (default build/husk). Under the ASan build
(HUSK=build-asan/husk) sanitizer reports of the CLI and of the monitors
(which have no stderr) go to files via ASAN_OPTIONS=log_path, and any such
file fails the test.
"""
import ipaddress
import json
import os
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HUSK = os.environ.get("HUSK", str(REPO / "build" / "husk"))
TIMEOUT = 60


def pytest_configure(config):
    config.addinivalue_line("markers", "asan: subset run against the ASan+UBSan build")


@pytest.fixture(scope="session")
def busybox_tar():
    d = tempfile.mkdtemp(prefix="hk-bb-")
    tar = os.path.join(d, "busybox.tar")
    subprocess.run([str(REPO / "scripts" / "make-busybox-rootfs.sh"), os.path.join(d, "rootfs"),
                    tar], check=True, capture_output=True)
    yield tar
    shutil.rmtree(d, ignore_errors=True)


def own_cgroups():
    res = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrl, path = line.split(":", 2)
        res[ctrl] = path
    return res


def cgroup_mount_of(ctrl):
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


def cgroup_dirs(cid):
    """Existing cgroup directories of container cid (husk-ID under our own cgroups)."""
    found = []
    for ctrl, path in own_cgroups().items():
        mp = cgroup_mount_of(ctrl)
        if not mp:
            continue
        d = Path(mp + path) / ("husk-" + cid)
        if d.exists():
            found.append(d)
    return found


def memory_cgroup_children():
    """husk-* directories below our own memory cgroup (private to this process
    tree, unlike the shared root cgroups of other hierarchies on this host)."""
    path = own_cgroups().get("memory")
    mp = cgroup_mount_of("memory")
    if path is None or not mp:
        return set()
    d = Path(mp + path)
    return {p.name for p in d.iterdir() if p.name.startswith("husk-")}


def cgroup_file(cid, controller, name):
    for ctrl, path in own_cgroups().items():
        if controller in ctrl.split(","):
            mp = cgroup_mount_of(ctrl)
            return (Path(mp + path) / ("husk-" + cid) / name).read_text().strip()
    raise AssertionError("no %s hierarchy" % controller)


def _host_routes():
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                         check=True).stdout.decode()
    nets = []
    for line in out.splitlines():
        w = line.split()
        dst = w[1] if w[0] in ("broadcast", "local") and len(w) > 1 else w[0]
        try:
            nets.append(ipaddress.ip_network(dst, strict=False))
        except ValueError:
            pass
    return nets


def free_subnet(taken=()):
    """A random 10.x.y.0/24 that no host route (nor an earlier pick) overlaps."""
    routes = _host_routes()
    for _ in range(200):
        cand = ipaddress.ip_network("10.%d.%d.0/24" % (random.randint(160, 250),
                                                       random.randint(0, 255)))
        if not any(cand.overlaps(r) for r in routes) and not any(cand.overlaps(t) for t in taken):
            return cand
    raise RuntimeError("no free subnet found")


class Result:
    def __init__(self, args, p):
        self.args = args
        self.returncode = p.returncode
        self.stdout = p.stdout.decode(errors="replace")
        self.stderr = p.stderr.decode(errors="replace")

    def __repr__(self):
        return "<husk %s rc=%s stdout=%r stderr=%r>" % (
            " ".join(self.args), self.returncode, self.stdout[-2000:], self.stderr[-2000:])


class Husk:
    def __init__(self, base):
        self.base = Path(base)
        self.root = self.base / "root"
        self.runroot = self.base / "run"
        self.asan_dir = self.base / "asan"
        self.asan_dir.mkdir()
        self.env = dict(os.environ)
        # Containers get the default bridge network: links, nft table and subnet
        # of this test's own, so parallel tests (and other people's) never meet.
        self.net_prefix = "he" + secrets.token_hex(2)
        self.table = "husk_test_" + self.net_prefix
        self.subnets = [free_subnet()]
        self.env.update(HUSK_NET_PREFIX=self.net_prefix, HUSK_NFT_TABLE=self.table,
                        HUSK_DEFAULT_SUBNET=str(self.subnets[0]))
        if "asan" in HUSK:
            self.env["ASAN_OPTIONS"] = "detect_leaks=1:log_path=%s/report" % self.asan_dir
            self.env["UBSAN_OPTIONS"] = "print_stacktrace=1:log_path=%s/ubsan" % self.asan_dir

    def cmdline(self, *args):
        return [HUSK, "--root", str(self.root), "--runroot", str(self.runroot)] + [
            str(a) for a in args]

    def run(self, *args, input=None, check=True, timeout=TIMEOUT):
        p = subprocess.run(self.cmdline(*args), input=input, capture_output=True,
                           timeout=timeout, env=self.env)
        r = Result([str(a) for a in args], p)
        for mark in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            assert mark not in r.stderr, r.stderr
        if check and p.returncode != 0:
            raise AssertionError("husk failed: %r" % r)
        return r

    def out(self, *args, **kw):
        return self.run(*args, **kw).stdout

    def fail(self, *args, **kw):
        r = self.run(*args, check=False, **kw)
        assert r.returncode != 0, "husk %s unexpectedly succeeded: %r" % (args, r)
        return r

    def popen(self, *args, **kw):
        return subprocess.Popen(self.cmdline(*args), env=self.env, **kw)

    def subnet(self):
        s = free_subnet(self.subnets)
        self.subnets.append(s)
        return s

    def links(self):
        """Host links of this test's prefix."""
        out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                             check=True).stdout.decode()
        names = [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()]
        return sorted(n for n in names if n.startswith(self.net_prefix))

    def veths(self):
        """Host links of this test's prefix other than bridges: a network's
        bridge (husk0's too) stays up while the network exists, like docker0."""
        return [l for l in self.links()
                if l != self.net_prefix + "0" and not l.startswith(self.net_prefix + "-")]

    def port_rules(self):
        """The per-container (published port) rules in this test's table."""
        t = self.nft_table() or ""
        return [l.strip() for l in t.splitlines() if "dnat to" in l]

    def nft_table(self):
        p = subprocess.run(["nft", "list", "table", "ip", self.table], capture_output=True)
        return p.stdout.decode() if p.returncode == 0 else None

    def inspect(self, name):
        return json.loads(self.out("inspect", name))[0]

    def ids(self):
        return self.out("ps", "-a", "-q", "--no-trunc").split()

    def db_rows(self):
        con = sqlite3.connect(str(self.root / "husk.db"))
        try:
            return con.execute("SELECT id, name, state FROM containers").fetchall()
        finally:
            con.close()

    def monitor_pids(self):
        """Processes whose command line names our root (monitors, stray CLIs)."""
        found = []
        needle = str(self.root).encode()
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                cmd = Path("/proc", d, "cmdline").read_bytes()
            except OSError:
                continue
            if needle in cmd.split(b"\0"):
                found.append(int(d))
        return found

    def leftovers(self, ids, cgroups_before, kept_bridges=False):
        """What of the test remains on the host (empty when clean). With
        kept_bridges, the bridges and the table's base rules that stay up
        while their network exists (docs/network.md) are not counted; the
        veths and published-port rules of containers still are."""
        left = ["cgroup: memory/%s" % n for n in memory_cgroup_children() - cgroups_before]
        mi = Path("/proc/self/mountinfo").read_text()
        left += ["mount: " + l for l in mi.splitlines() if str(self.base) in l]
        for cid in ids:
            left += ["cgroup: %s" % d for d in cgroup_dirs(cid)]
        ctr = self.root / "containers"
        if ctr.exists():
            left += ["file: %s" % p for p in ctr.iterdir() if p.name != ".lock"]
        for sub in ("containers", "runtime"):
            d = self.runroot / sub
            if d.exists():
                # runflags: the runtime's compiled seccomp filters are a shared
                # cache (one per profile), not something of one container's.
                left += ["run: %s" % p for p in d.iterdir() if p.name != ".seccomp-cache"]
        if (self.root / "husk.db").exists():
            left += ["row: %r" % (r,) for r in self.db_rows()]
        left += ["process: %d" % p for p in self.monitor_pids()]
        left += ["link: " + l for l in (self.veths() if kept_bridges else self.links())]
        if kept_bridges:
            left += ["nft rule: " + l for l in self.port_rules()]
        elif self.nft_table() is not None:
            left.append("nft table ip " + self.table)
        if (self.root / "husk.db").exists():
            con = sqlite3.connect(str(self.root / "husk.db"))
            try:
                left += ["allocation: %r" % (r,) for r in con.execute(
                    "SELECT network_id, address, container_id FROM network_allocations")]
            except sqlite3.OperationalError:
                pass
            finally:
                con.close()
        if self.asan_dir.exists():
            for f in self.asan_dir.iterdir():
                left.append("sanitizer report %s:\n%s" % (f, f.read_text()[-3000:]))
        return left

    def monitor_of(self, name):
        """(init pid, monitor pid) of a running container: the monitor is its
        init's parent."""
        pid = self.inspect(name)["State"]["Pid"]
        with open("/proc/%d/stat" % pid) as f:
            return pid, int(f.read().rsplit(")", 1)[1].split()[1])

    def kill_monitor(self, name):
        """SIGKILLs a running container's monitor and waits until it is gone
        (or a zombie); returns (init pid, monitor pid)."""
        pid, mon = self.monitor_of(name)
        os.kill(mon, signal.SIGKILL)
        self.wait_for(lambda: not os.path.exists("/proc/%d" % mon) or
                      open("/proc/%d/stat" % mon).read().rsplit(")", 1)[1].split()[0] == "Z",
                      what="monitor gone")
        return pid, mon

    def wait_for(self, cond, timeout=10, what="condition"):
        end = time.time() + timeout
        while time.time() < end:
            v = cond()
            if v:
                return v
            time.sleep(0.05)
        raise AssertionError("timed out waiting for " + what)


@pytest.fixture
def husk(busybox_tar):
    # Short paths: sockets and overlay options must fit their limits.
    base = tempfile.mkdtemp(prefix="hk-")
    os.chmod(base, 0o755)
    h = Husk(base)
    cgroups_before = memory_cgroup_children()
    h.run("import", busybox_tar, "busybox")
    seen = set()
    h.seen = seen
    yield h
    ids = set(h.ids()) if (h.root / "husk.db").exists() else set()
    seen |= ids
    for cid in ids:
        h.run("rm", "-f", cid, check=False)
    # Bridges stay up while their network exists: husk takes them down.
    if (h.root / "husk.db").exists():
        h.run("network", "_down", check=False)
    left = h.leftovers(seen, cgroups_before)
    # Best effort cleanup by pid and path, then fail loudly.
    for pid in h.monitor_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mp = line.split()[4]
        if mp.startswith(base):
            subprocess.run(["umount", "-l", mp], capture_output=True)
    for cid in seen:
        for d in cgroup_dirs(cid):
            try:
                d.rmdir()
            except OSError:
                pass
    for link in h.links():
        subprocess.run(["ip", "link", "del", link], capture_output=True)
    if h.nft_table() is not None:
        subprocess.run(["nft", "delete", "table", "ip", h.table], capture_output=True)
    for claim in ("/run/husk-net/links-" + h.net_prefix, "/run/husk-net/nft-" + h.table):
        try:
            if Path(claim).read_text() == str(h.root):
                os.unlink(claim)
        except OSError:
            pass
    shutil.rmtree(base, ignore_errors=True)
    assert not left, "left behind:\n" + "\n".join(left)
