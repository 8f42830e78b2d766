"""husk run with networks: the default bridge, published ports, --network none/host/
container:X, names between containers, connect/disconnect, port, inspect, ps, teardown.

Every test has its own link prefix, nft table and subnets (conftest), talks only to
127.0.0.1 and to addresses inside the namespaces its containers made, and the
fixture's teardown fails on any link, nft table or allocation left behind."""
import json
import re
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
    # Stopped: nothing of the container's network remains on the host (the
    # default bridge and its base rules stay up, like docker0).
    assert husk.veths() == []
    assert husk.port_rules() == []
    # Started again, it gets its network and port back.
    husk.run("start", "web")
    assert fetch("http://127.0.0.1:%d/" % port) == WWW
    husk.run("rm", "-f", "web")
    assert husk.veths() == [] and husk.port_rules() == []


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
    assert "127.0.0.1:%d/tcp is already published by container web" % port in r.stderr, r
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
    # 100 cycles as the issue asks (about 30 s here); HUSK_NET_CYCLES=N for fewer.
    n = int(os.environ.get("HUSK_NET_CYCLES", "100"))
    port = free_port()
    for i in range(n):
        if i % 10 == 9:
            # Every tenth: run --rm, torn down by its monitor.
            husk.run("run", "--rm", "-p", "127.0.0.1:%d:80" % port, "busybox", "true")
            continue
        husk.run("run", "-d", "--name", "c%d" % i, "-p", "127.0.0.1:%d:80" % port,
                 "-p", "53/udp", "busybox", "sleep", "60")
        husk.run("rm", "-f", "c%d" % i)
    assert husk.veths() == []
    assert husk.port_rules() == []
    husk.run("network", "_down")
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
    # The monitor: the init's parent (a fork of the CLI, or husk-monitor once detached).
    init = husk.inspect(ids[0])["State"]["Pid"]
    mons = [int(open("/proc/%d/stat" % init).read().rsplit(")", 1)[1].split()[1])]
    assert mons[0] in husk.monitor_pids()
    os.kill(mons[0], 9)
    # The container dies with its pid namespace only when killed: the next command does it.
    time.sleep(0.2)
    ps = husk.out("ps", "-a")
    assert "Exited (137)" in ps, ps
    assert husk.veths() == []
    assert husk.port_rules() == []
    assert husk.ids() == ids


def wget_in(husk, ctr, url, check=True):
    r = husk.run("exec", ctr, "timeout", "5", "wget", "-q", "-O-", url, check=False)
    if check:
        assert r.returncode == 0, r
    return r


@pytest.mark.asan
def test_containers_reach_each_other_by_name(husk, www):
    cid = httpd(husk, www)
    # On the default network too (docker does not do this; users ask for it).
    out = husk.out("run", "--rm", "--name", "client", "busybox", "sh", "-c",
                   "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://web/ && exit 0; "
                   "sleep 0.2; done; exit 1")
    assert out == WWW
    hosts = husk.out("exec", "web", "cat", "/etc/hosts")
    ip = husk.inspect("web")["NetworkSettings"]["IPAddress"]
    # IP, hostname (the short id by default), name: each once.
    assert "%s\t%s web\n" % (ip, cid[:12]) in hosts, hosts
    # A user-defined network, and --add-host, --dns, --hostname in the files.
    husk.run("network", "create", "--subnet", str(husk.subnet()), "app")
    husk.run("run", "-d", "--name", "api", "--network", "app", "-v", "%s:/www:ro" % www,
             "--hostname", "apihost", "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
    out = husk.out("run", "--rm", "--network", "app", "--add-host", "db.local:10.9.9.9",
                   "--add-host", "gw:host-gateway", "--dns", "192.0.2.53", "busybox", "sh", "-c",
                   "cat /etc/hosts /etc/resolv.conf; "
                   "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://apihost/ && exit 0; "
                   "sleep 0.2; done; exit 1")
    assert out.endswith(WWW), out
    assert "10.9.9.9\tdb.local" in out
    gw = husk.run("network", "inspect", "app").stdout
    assert "%s\tgw" % json.loads(gw)[0]["IPAM"]["Config"][0]["Gateway"] in out
    assert "nameserver 192.0.2.53" in out
    assert husk.out("exec", "api", "hostname") == "apihost\n"
    husk.run("rm", "-f", "api", "web")
    husk.run("network", "rm", "app")


@pytest.mark.asan
def test_networks_are_isolated_and_internal_has_no_way_out(husk, www):
    husk.run("network", "create", "--subnet", str(husk.subnet()), "n1")
    husk.run("network", "create", "--subnet", str(husk.subnet()), "n2")
    husk.run("network", "create", "--internal", "--subnet", str(husk.subnet()), "sealed")
    httpd(husk, www, "--network", "n1")
    ip = husk.inspect("web")["NetworkSettings"]["Networks"]["n1"]["IPAddress"]
    husk.run("run", "-d", "--name", "same", "--network", "n1", "busybox", "sleep", "60")
    husk.run("run", "-d", "--name", "other", "--network", "n2", "busybox", "sleep", "60")
    # The control: the same network reaches it ...
    assert wget_in(husk, "same", "http://%s/" % ip).stdout == WWW
    # ... another network does not.
    assert wget_in(husk, "other", "http://%s/" % ip, check=False).returncode != 0
    # connect puts "other" on n1 as well: now it can; disconnect takes it away again.
    husk.run("network", "connect", "n1", "other")
    assert wget_in(husk, "other", "http://web/").stdout == WWW
    husk.run("network", "disconnect", "n1", "other")
    assert wget_in(husk, "other", "http://%s/" % ip, check=False).returncode != 0
    # An internal network: no default route, so nothing outside is reachable.
    out = husk.out("run", "--rm", "--network", "sealed", "busybox", "sh", "-c",
                   "ip route; ip route get 192.0.2.1 2>&1; true")
    assert "default" not in out
    assert "unreachable" in out
    r = husk.fail("run", "--rm", "--network", "sealed", "-p", "80", "busybox", "true")
    assert "network 'sealed' is internal" in r.stderr, r
    husk.run("rm", "-f", "web", "same", "other")
    for n in ("n1", "n2", "sealed"):
        husk.run("network", "rm", n)


def test_network_rm_in_use_refused_naming_containers(husk):
    husk.run("network", "create", "--subnet", str(husk.subnet()), "busy")
    husk.run("run", "-d", "--name", "holder", "--network", "busy", "busybox", "sleep", "60")
    r = husk.fail("network", "rm", "busy")
    assert "network 'busy' is in use by container holder" in r.stderr, r
    husk.run("rm", "-f", "holder")
    husk.run("network", "rm", "busy")


@pytest.mark.asan
def test_port_ps_inspect(husk, www):
    hp = free_port()
    httpd(husk, www, "-p", "127.0.0.1:%d:80" % hp, "-p", "127.0.0.1::53/udp",
          "--mac-address", "02:42:ac:11:00:99")
    ports = husk.out("port", "web").splitlines()
    assert "80/tcp -> 127.0.0.1:%d" % hp in ports
    udp = [l for l in ports if l.startswith("53/udp -> 127.0.0.1:")]
    assert len(udp) == 1 and int(udp[0].rsplit(":", 1)[1]) > 0
    assert husk.out("port", "web", "80") == "127.0.0.1:%d\n" % hp
    assert husk.out("port", "web", "80/tcp") == "127.0.0.1:%d\n" % hp
    r = husk.fail("port", "web", "81")
    assert "no public port '81/tcp' published for web" in r.stderr
    r = husk.fail("port", "web", "80/sctp")
    assert "invalid port '80/sctp'" in r.stderr
    ps = husk.out("ps")
    assert "127.0.0.1:%d->80/tcp" % hp in ps and "->53/udp" in ps
    ns = husk.inspect("web")["NetworkSettings"]
    assert ns["Ports"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(hp)}]
    assert ns["MacAddress"] == "02:42:ac:11:00:99"
    assert ns["Gateway"] == str(husk.subnets[0][1])
    assert ns["Networks"]["husk0"]["IPAddress"] == ns["IPAddress"]
    hc = husk.inspect("web")["HostConfig"]
    assert hc["NetworkMode"] == "bridge"
    assert hc["PortBindings"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(hp)}]
    husk.run("stop", "-t", "0", "web")
    assert husk.out("port", "web") == ""
    assert husk.inspect("web")["NetworkSettings"]["IPAddress"] == ""


def test_publish_all_uses_exposed_ports(husk, tmp_path):
    # An image with EXPOSE: busybox's config plus ExposedPorts, through docker-archive load.
    import tarfile, io, hashlib
    save = tmp_path / "bb.tar"
    husk.run("save", "-o", save, "busybox")
    out = tmp_path / "exposed.tar"
    with tarfile.open(save) as src, tarfile.open(out, "w") as dst:
        manifest = json.load(src.extractfile("manifest.json"))
        cfg_name = manifest[0]["Config"]
        cfg = json.load(src.extractfile(cfg_name))
        cfg.setdefault("config", {})["ExposedPorts"] = {"80/tcp": {}, "9000/udp": {}}
        data = json.dumps(cfg).encode()
        new_name = hashlib.sha256(data).hexdigest() + ".json"
        manifest[0]["Config"] = new_name
        manifest[0]["RepoTags"] = ["exposed:latest"]
        for m in src.getmembers():
            if m.name in ("manifest.json", cfg_name, "repositories"):
                continue
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        for name, blob in ((new_name, data), ("manifest.json", json.dumps(manifest).encode())):
            ti = tarfile.TarInfo(name)
            ti.size = len(blob)
            dst.addfile(ti, io.BytesIO(blob))
    husk.run("load", "-i", out)
    husk.run("run", "-d", "--name", "pa", "-P", "exposed", "sleep", "60")
    ports = sorted(husk.out("port", "pa").splitlines())
    assert len(ports) == 2, ports
    assert ports[0].startswith("80/tcp -> 0.0.0.0:") and ports[1].startswith("9000/udp -> 0.0.0.0:")
    husk.run("rm", "-f", "pa")
    husk.run("rmi", "exposed")


def test_create_start_restart_keep_ports_ranges_and_ip(husk, www):
    p = free_port()
    while True:  # two free consecutive ports
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", p + 1))
            break
        except OSError:
            p = free_port()
    ip = str(husk.subnets[0][77])
    husk.run("create", "--name", "web", "-v", "%s:/www:ro" % www, "--ip", ip,
             "-p", "127.0.0.1:%d-%d:80-81" % (p, p + 1), "busybox", "sh", "-c",
             "httpd -p 81 -h /www; exec httpd -f -p 80 -h /www")
    # Created: nothing attached yet.
    assert husk.links() == [] and husk.out("port", "web") == ""
    husk.run("start", "web")
    assert fetch("http://127.0.0.1:%d/" % p) == WWW
    assert fetch("http://127.0.0.1:%d/" % (p + 1)) == WWW
    assert husk.inspect("web")["NetworkSettings"]["IPAddress"] == ip
    husk.run("restart", "-t", "0", "web")
    assert fetch("http://127.0.0.1:%d/" % (p + 1)) == WWW
    assert husk.inspect("web")["NetworkSettings"]["IPAddress"] == ip
    assert husk.out("port", "web").splitlines() == [
        "80/tcp -> 127.0.0.1:%d" % p, "81/tcp -> 127.0.0.1:%d" % (p + 1)]
    # The address is the container's: another one cannot have it while it runs.
    r = husk.fail("run", "--rm", "--ip", ip, "busybox", "true")
    assert ip in r.stderr, r
