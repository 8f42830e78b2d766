"""husk run with networks: the default bridge, published ports, --network none/host/
container:X, names between containers, connect/disconnect, port, inspect, ps, teardown.

Every test has its own link prefix, nft table and subnets (conftest), talks only to
127.0.0.1 and to addresses inside the namespaces its containers made, and the
fixture's teardown fails on any link, nft table or allocation left behind."""
import json
import os
import socket
import subprocess
import time

import pytest

WWW = "hello from a husk container\n"


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url, timeout=5.0):
    """GET url with busybox wget from the host, retried until the server is up."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        p = subprocess.run(["timeout", "3", "busybox", "wget", "-q", "-O-", url],
                           capture_output=True)
        if p.returncode == 0:
            return p.stdout.decode()
        last = p.stderr.decode()
        time.sleep(0.1)
    raise AssertionError("fetch %s failed: %s" % (url, last))


@pytest.fixture
def www(tmp_path):
    d = tmp_path / "www"
    d.mkdir()
    (d / "index.html").write_text(WWW)
    os.chmod(tmp_path, 0o755)
    return d


def httpd(husk, www, *opts, name="web"):
    return husk.out("run", "-d", "--name", name, "-v", "%s:/www:ro" % www, *opts, "busybox",
                    "httpd", "-f", "-p", "80", "-h", "/www").strip()


def ip_links(husk, *run_opts):
    out = husk.out("run", "--rm", *run_opts, "busybox", "cat", "/proc/net/dev")
    return sorted(l.split(":")[0].strip() for l in out.splitlines()[2:])


@pytest.mark.asan
def test_published_port_from_host_and_teardown(husk, www):
    port = free_port()
    httpd(husk, www, "-p", "127.0.0.1:%d:80" % port)
    assert fetch("http://127.0.0.1:%d/" % port) == WWW
    assert husk.links(), "no bridge or veth while the container runs"
    table = husk.nft_table()
    assert "dport %d" % port in table, table
    husk.run("stop", "-t", "1", "web")
    # Stopped: nothing of the network remains on the host.
    assert husk.links() == []
    assert husk.nft_table() is None
    # Started again, it gets its network and port back.
    husk.run("start", "web")
    assert fetch("http://127.0.0.1:%d/" % port) == WWW
    husk.run("rm", "-f", "web")
    assert husk.links() == [] and husk.nft_table() is None


def test_default_network_is_bridge(husk):
    out = husk.out("run", "--rm", "--name", "probe", "busybox", "sh", "-c",
                   "cat /proc/net/dev; ip route; cat /etc/hosts; cat /etc/resolv.conf")
    assert "eth0:" in out
    assert "default via %s" % str(husk.subnets[0][1]) in out
    assert "probe" in out.split("ip6-allrouters")[1]
    assert "nameserver" in out


def test_network_none_has_only_lo(husk):
    assert ip_links(husk, "--network", "none") == ["lo"]
    assert husk.links() == []


def test_network_host_sees_host_links(husk):
    host = sorted(l.split(":")[0].strip()
                  for l in open("/proc/net/dev").read().splitlines()[2:])
    inside = ip_links(husk, "--network", "host")
    # Links may come and go on a busy host: most of the host's must be seen.
    assert len(set(host) & set(inside)) >= max(1, len(host) - 2), (host, inside)
    assert "lo" in inside and len(inside) > 1


def test_network_container_shares_netns(husk):
    husk.run("run", "-d", "--name", "a", "busybox", "sleep", "60")
    pa = husk.inspect("a")["State"]["Pid"]
    husk.run("run", "-d", "--name", "b", "--network", "container:a", "busybox", "sleep", "60")
    pb = husk.inspect("b")["State"]["Pid"]
    assert os.readlink("/proc/%d/ns/net" % pa) == os.readlink("/proc/%d/ns/net" % pb)
    addr = husk.inspect("a")["NetworkSettings"]["IPAddress"]
    out = husk.out("exec", "b", "ip", "-4", "addr")
    assert addr in out
    husk.run("rm", "-f", "b", "a")


UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(2048)
    s.sendto(b"echo:" + d, a)
"""


def test_udp_published_port(husk):
    port = free_port(socket.SOCK_DGRAM)
    husk.run("run", "-d", "--name", "udp", "-p", "127.0.0.1:%d:5000/udp" % port, "busybox",
             "sleep", "60")
    pid = husk.inspect("udp")["State"]["Pid"]
    # busybox has no UDP server: a python echo in the container's network namespace.
    echo = subprocess.Popen(["nsenter", "-t", str(pid), "-n", "/usr/bin/python3", "-c", UDP_ECHO,
                             "5000"], stdout=subprocess.PIPE)
    try:
        assert echo.stdout.readline() == b"ready\n"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.3)
        got = None
        end = time.time() + 10
        try:
            while time.time() < end and got is None:
                s.sendto(b"ping", ("127.0.0.1", port))
                try:
                    got = s.recv(100)
                except socket.timeout:
                    pass
        finally:
            s.close()
        assert got == b"echo:ping"
    finally:
        echo.kill()
        echo.wait()


def test_port_conflict_is_clear_and_leaves_nothing(husk, www):
    # A host listener on the port.
    port = free_port()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen()
        r = husk.fail("run", "--rm", "-p", "127.0.0.1:%d:80" % port, "busybox", "true")
    assert "127.0.0.1:%d/tcp is already in use" % port in r.stderr, r
    assert r.returncode == 125
    assert husk.db_rows() == []
    # Another container's published port.
    httpd(husk, www, "-p", "127.0.0.1:%d:80" % port)
    r = husk.fail("run", "-d", "--name", "second", "-p", "127.0.0.1:%d:80" % port, "busybox",
                  "sleep", "60")
    assert "already published by container" in r.stderr, r
    st = husk.inspect("second")["State"]
    assert st["Status"] == "created" and not st["Running"] and "already published" in st["Error"]
    links_before = husk.links()
    husk.run("rm", "second")
    assert husk.links() == links_before
    assert fetch("http://127.0.0.1:%d/" % port) == WWW


def test_bad_network_flags_are_named(husk):
    cases = [
        (["--network", "nosuch"], "network 'nosuch' not found"),
        (["-p", "70000:80"], "bad host port '70000'"),
        (["-p", "80/sctp"], "protocol must be tcp or udp"),
        (["--network", "none", "-p", "80"], "-p/-P needs a bridge network"),
        (["--network", "host", "-p", "80"], "-p/-P needs a bridge network"),
        (["--ip", "10.1.2.300"], "invalid --ip '10.1.2.300'"),
        (["--mac-address", "zz:00:00:00:00:00"], "invalid --mac-address"),
        (["--dns", "dns.example"], "invalid --dns 'dns.example'"),
        (["--add-host", "bad name:1.2.3.4"], "invalid --add-host"),
        (["--network", "container:nosuch"], "no such container: nosuch"),
    ]
    for opts, msg in cases:
        r = husk.fail("run", "--rm", *opts, "busybox", "true")
        assert msg in r.stderr, (opts, r)
    assert husk.db_rows() == []


def test_leak_check_run_rm_cycles(husk, www):
    n = int(os.environ.get("HUSK_NET_CYCLES", "30"))
    port = free_port()
    for i in range(n):
        husk.run("run", "-d", "--name", "c%d" % i, "-p", "127.0.0.1:%d:80" % port,
                 "-p", "%d/udp" % 53, "busybox", "sleep", "60")
        husk.run("rm", "-f", "c%d" % i)
    assert husk.links() == []
    assert husk.nft_table() is None
    con = __import__("sqlite3").connect(str(husk.root / "husk.db"))
    try:
        assert con.execute("SELECT count(*) FROM network_allocations").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM network_ports").fetchone()[0] == 0
    finally:
        con.close()
    assert not [f for f in os.listdir("/run/netns") if f.startswith(husk.net_prefix)] \
        if os.path.isdir("/run/netns") else True


def test_killed_monitor_network_released_by_next_command(husk, www):
    port = free_port()
    httpd(husk, www, "-p", "127.0.0.1:%d:80" % port)
    fetch("http://127.0.0.1:%d/" % port)
    ids = husk.ids()
    mons = [p for p in husk.monitor_pids()
            if b"__monitor" in open("/proc/%d/cmdline" % p, "rb").read()]
    assert len(mons) == 1
    os.kill(mons[0], 9)
    # The container dies with its pid namespace only when killed: the next command does it.
    time.sleep(0.2)
    ps = husk.out("ps", "-a")
    assert "Exited (137)" in ps, ps
    assert husk.links() == []
    assert husk.nft_table() is None
    assert husk.ids() == ids
