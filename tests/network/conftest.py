"""Fixtures for the network tests.

Each test gets its own husk --root, link name prefix (HUSK_NET_PREFIX), nft
table (HUSK_NFT_TABLE) and subnets, so tests never share host state with each
other or with other people's tests on the same machine. Network namespaces
made with `ip netns add` stand in for containers until `husk run` exists.
Everything a test creates is removed by the name or pid it created."""
import ipaddress
import os
import random
import secrets
import shutil
import subprocess
import tempfile
import time

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HUSK = os.environ.get("HUSK", os.path.join(REPO, "build", "husk"))
PY = "/usr/bin/python3"


def sh(*args, check=True, timeout=30, input=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {p.returncode}: "
                             f"{p.stderr.decode(errors='replace')}")
    return p


def host_routes():
    out = sh("ip", "-4", "route", "show", "table", "all").stdout.decode()
    nets = []
    for line in out.splitlines():
        dst = line.split()[0]
        if dst in ("default", "broadcast", "local", "unreachable", "blackhole"):
            dst = line.split()[1] if dst in ("broadcast", "local") else None
        if not dst:
            continue
        try:
            nets.append(ipaddress.ip_network(dst, strict=False))
        except ValueError:
            pass
    return nets


def free_subnet(prefixlen=24, taken=()):
    """A random 10.x.y.0/prefixlen no route on the host (and no earlier pick) overlaps."""
    routes = host_routes()
    for _ in range(200):
        cand = ipaddress.ip_network(
            f"10.{random.randint(160, 250)}.{random.randint(0, 255)}.0/{prefixlen}", strict=False)
        if not any(cand.overlaps(r) for r in routes) and not any(cand.overlaps(t) for t in taken):
            return cand
    raise RuntimeError("no free subnet found")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Net:
    def __init__(self, root):
        self.root = root
        self.prefix = "ht" + secrets.token_hex(2)
        self.table = "husk_test_" + self.prefix
        self.subnets = []
        default = self.subnet()
        self.env = dict(os.environ, HUSK_NET_PREFIX=self.prefix, HUSK_NFT_TABLE=self.table,
                        HUSK_DEFAULT_SUBNET=str(default))
        self.netns = []
        self.procs = []

    def subnet(self, prefixlen=24):
        s = free_subnet(prefixlen, self.subnets)
        self.subnets.append(s)
        return s

    def run(self, *args, check=True, explain=False):
        cmd = [HUSK, "--root", self.root] + (["--explain"] if explain else []) + [str(a) for a in args]
        p = subprocess.run(cmd, capture_output=True, env=self.env, timeout=120)
        for mark in (b"AddressSanitizer", b"LeakSanitizer", b"runtime error:"):
            assert mark not in p.stderr, p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}\n"
                                 f"stdout: {p.stdout.decode(errors='replace')}\n"
                                 f"stderr: {p.stderr.decode(errors='replace')}")
        return p

    def out(self, *args, **kw):
        return self.run(*args, **kw).stdout.decode()

    def fail(self, *args):
        p = self.run(*args, check=False)
        assert p.returncode != 0, f"husk {' '.join(map(str, args))} unexpectedly succeeded"
        return p.stderr.decode()

    def create(self, name, *opts, subnet=True):
        args = ["network", "create"]
        if subnet:
            args += ["--subnet", str(self.subnet())]
        return self.out(*args, *opts, name).strip()

    def add_netns(self):
        name = f"{self.prefix}-{len(self.netns)}"
        sh("ip", "netns", "add", name)
        self.netns.append(name)
        return name

    def del_netns(self, name):
        sh("ip", "netns", "del", name)
        self.netns.remove(name)

    def attach(self, ns, network, cid, *opts):
        import json
        out = self.out("network", "_attach", "--netns", f"/run/netns/{ns}", *opts, network, cid)
        return json.loads(out)

    def in_ns(self, ns, *args, timeout=15, check=False):
        return sh("ip", "netns", "exec", ns, *args, timeout=timeout, check=check)

    def spawn(self, ns, *args):
        p = subprocess.Popen(["ip", "netns", "exec", ns] + [str(a) for a in args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(p)
        return p

    def links(self):
        """Host links of this test's prefix."""
        out = sh("ip", "-o", "link", "show").stdout.decode()
        names = [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()]
        return sorted(n for n in names if n.startswith(self.prefix))

    def veths(self):
        """Host links of this test's prefix other than bridges (a network's
        bridge stays up while the network exists, like docker0)."""
        return [l for l in self.links()
                if l != self.prefix + "0" and not l.startswith(self.prefix + "-")]

    def port_rules(self):
        """The per-attachment (published port) rules in this test's table."""
        t = self.nft_table() or ""
        return [l.strip() for l in t.splitlines() if "dnat to" in l]

    def nft_table(self):
        p = sh("nft", "list", "table", "ip", self.table, check=False)
        return p.stdout.decode() if p.returncode == 0 else None

    def db(self, sql):
        import sqlite3
        con = sqlite3.connect(os.path.join(self.root, "husk.db"))
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
        for ns in list(self.netns):
            self.del_netns(ns)
        # The namespaces are gone: the next husk call releases what they held,
        # and _down takes the idle bridges and the table down.
        self.run("network", "_down", check=False)
        for link in self.links():
            sh("ip", "link", "del", link, check=False)
        if self.nft_table() is not None:
            sh("nft", "delete", "table", "ip", self.table, check=False)
        for claim in (f"/run/husk-net/links-{self.prefix}", f"/run/husk-net/nft-{self.table}"):
            try:
                with open(claim) as f:
                    mine = f.read() == self.root
                if mine:
                    os.unlink(claim)
            except FileNotFoundError:
                pass


@pytest.fixture
def net():
    root = tempfile.mkdtemp(prefix="husk-net-")
    n = Net(root)
    try:
        yield n
    finally:
        n.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def wait_port(ns_runner, check, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if check():
            return True
        time.sleep(0.05)
    return False
