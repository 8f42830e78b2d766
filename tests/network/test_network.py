"""husk network: the commands, and the library attaching network namespaces
(made by the test, standing in for containers) to bridge networks for real:
published TCP/UDP ports fetched on 127.0.0.1, names between peers, isolation,
internal networks, port conflicts, crash cleanup and a leak check."""
import concurrent.futures
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import PY, free_port, sh

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (bridges, netns, nftables)")

UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(2048)
    s.sendto(b"echo:" + d, a)
"""


def httpd(net, ns, tmp_path, text):
    www = tmp_path / f"www-{ns}"
    www.mkdir()
    (www / "index.html").write_text(text)
    net.spawn(ns, "busybox", "httpd", "-f", "-p", "80", "-h", str(www))
    for _ in range(100):
        if net.in_ns(ns, "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1/").returncode == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"httpd in {ns} did not come up")


def wget(url, timeout=5):
    # timeout(1), not wget -T: Debian's busybox-static 1.35 wget crashes on -T.
    return sh("timeout", timeout, "busybox", "wget", "-q", "-O", "-", url, check=False,
              timeout=timeout + 5)


def ns_wget(net, ns, url, hosts=None, timeout=3):
    """busybox wget inside ns; with hosts, that file is the namespace's /etc/hosts
    (bind-mounted in a private mount namespace, as the engine will do)."""
    if hosts:
        return net.in_ns(ns, "unshare", "-m", "sh", "-c",
                         f"mount --bind {hosts} /etc/hosts && "
                         f"exec timeout {timeout} busybox wget -q -O - {url}",
                         timeout=timeout + 10)
    return net.in_ns(ns, "timeout", timeout, "busybox", "wget", "-q", "-O", "-", url,
                     timeout=timeout + 10)


def test_ls_and_inspect(net):
    out = net.out("network", "ls")
    lines = out.splitlines()
    assert lines[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    assert lines[1].split()[1:] == ["husk0", "bridge", "local"]
    nid = net.create("front")
    assert len(nid) == 64
    assert net.out("network", "ls", "-q").split() == [
        r.split()[0] for r in net.out("network", "ls").splitlines()[1:]]
    assert net.out("network", "ls", "--format", "{{.Name}}").split() == ["front", "husk0"]
    [j] = json.loads(net.out("network", "inspect", "front"))
    assert j["Name"] == "front" and j["Id"] == nid and j["Driver"] == "bridge"
    assert j["Scope"] == "local" and j["Internal"] is False and j["Containers"] == {}
    sub = net.subnets[-1]
    assert j["IPAM"]["Config"] == [{"Subnet": str(sub), "Gateway": str(sub.network_address + 1)}]
    assert j["Options"]["com.docker.network.bridge.name"] == f"{net.prefix}-{nid[:8]}"
    # by id prefix, and a template
    assert net.out("network", "inspect", "-f", "{{.Name}}", nid[:10]).strip() == "front"
    [d] = json.loads(net.out("network", "inspect", "husk0"))
    assert d["IPAM"]["Config"][0]["Subnet"] == net.env["HUSK_DEFAULT_SUBNET"]
    # a network without --subnet gets a free /24
    net.out("network", "create", "auto")
    [a] = json.loads(net.out("network", "inspect", "auto"))
    assert a["IPAM"]["Config"][0]["Subnet"].endswith("/24")
    # nothing on the host before a namespace is attached
    assert net.links() == [] and net.nft_table() is None


def test_create_and_rm_errors(net):
    sub = net.subnet()
    net.out("network", "create", "--subnet", str(sub), "one")
    assert "overlaps network 'one'" in net.fail("network", "create", "--subnet", str(sub), "two")
    assert "already exists" in net.fail("network", "create", "one")
    assert "host bits are set" in net.fail("network", "create", "--subnet", "10.1.2.3/24", "x")
    assert "invalid subnet 'nonsense'" in net.fail("network", "create", "--subnet", "nonsense",
                                                    "x")
    assert "prefix length" in net.fail("network", "create", "--subnet", "10.0.0.0/31", "x")
    other = net.subnet()
    assert "not a host address of the subnet" in net.fail(
        "network", "create", "--subnet", str(other), "--gateway", "192.168.0.1", "x")
    assert "--gateway needs --subnet" in net.fail("network", "create", "--gateway", "10.0.0.1",
                                                  "x")
    assert "invalid network name" in net.fail("network", "create", "--", "-bad name")
    assert "reserved" in net.fail("network", "create", "husk0")
    assert "overlaps an address or route of this host" in net.fail(
        "network", "create", "--subnet", "127.0.0.0/8", "x")
    assert "not found" in net.fail("network", "rm", "nope")
    net.out("network", "rm", "-f", "nope")
    assert "cannot be removed" in net.fail("network", "rm", "husk0")
    assert net.out("network", "rm", "one").strip() == "one"
    assert "not found" in net.fail("network", "inspect", "one")


def test_published_tcp_port_from_localhost(net, tmp_path):
    net.create("web")
    ns = net.add_netns()
    p1, p2 = free_port(), free_port()
    a = net.attach(ns, "web", "ctr-web", "-p", f"127.0.0.1:{p1}:80", "-p", f"{p2}:80")
    assert a["IPAddress"].startswith(str(net.subnets[-1].network_address)[:-1])
    httpd(net, ns, tmp_path, "served-through-nat\n")
    # 127.0.0.1 explicitly, and 0.0.0.0 (every host address, 127.0.0.1 among them)
    for port in (p1, p2):
        r = wget(f"http://127.0.0.1:{port}/")
        assert r.returncode == 0, r.stderr
        assert r.stdout == b"served-through-nat\n"
    # the rules are in the test's own table, and nowhere else
    t = net.nft_table()
    assert f"ip daddr 127.0.0.1 tcp dport {p1} dnat to {a['IPAddress']}:80" in t
    assert f"tcp dport {p2} dnat to {a['IPAddress']}:80" in t
    assert "masquerade" in t
    [j] = json.loads(net.out("network", "inspect", "web"))
    assert j["Containers"]["ctr-web"]["IPv4Address"] == a["IPAddress"] + "/24"
    # a peer on the same network through the published port (hairpin NAT), and a
    # namespace on another network through its own gateway (a host address)
    peer = net.add_netns()
    net.attach(peer, "web", "ctr-peer")
    r = ns_wget(net, peer, f"http://{a['Gateway']}:{p2}/")
    assert r.stdout == b"served-through-nat\n", r.stderr
    net.create("elsewhere")
    far = net.add_netns()
    f = net.attach(far, "elsewhere", "ctr-far")
    r = ns_wget(net, far, f"http://{f['Gateway']}:{p2}/")
    assert r.stdout == b"served-through-nat\n", r.stderr
    net.out("network", "_detach", "web", "ctr-web")
    r = wget(f"http://127.0.0.1:{p1}/", timeout=2)
    assert r.returncode != 0


def test_published_udp_port(net):
    net.create("udp")
    ns = net.add_netns()
    port = free_port()
    net.attach(ns, "udp", "ctr-udp", "-p", f"{port}:5353/udp")
    p = net.spawn(ns, PY, "-c", UDP_ECHO, "5353")
    assert p.stdout.readline().strip() == b"ready"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b"ping", ("127.0.0.1", port))
    data, _ = s.recvfrom(100)
    s.close()
    assert data == b"echo:ping"
    assert f"udp dport {port} dnat to" in net.nft_table()


def test_peers_reach_each_other_by_name(net, tmp_path):
    net.create("apps")
    a_ns, b_ns, c_ns = net.add_netns(), net.add_netns(), net.add_netns()
    ha, hb, hc = tmp_path / "hosts-a", tmp_path / "hosts-b", tmp_path / "hosts-c"
    a = net.attach(a_ns, "apps", "ctr-a", "--name", "web", "--hosts", ha)
    net.attach(b_ns, "apps", "ctr-b", "--name", "client", "--hosts", hb,
               "--add-host", "db.example:192.0.2.7", "--add-host", "host.internal:host-gateway")
    httpd(net, a_ns, tmp_path, "by-name\n")
    r = ns_wget(net, b_ns, "http://web/", hosts=hb)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"by-name\n"
    hosts_b = hb.read_text()
    assert f"{a['IPAddress']}\tweb ctr-a" in hosts_b
    assert "192.0.2.7\tdb.example" in hosts_b
    assert f"{a['Gateway']}\thost.internal" in hosts_b
    assert hosts_b.startswith("127.0.0.1\tlocalhost\n")
    # a peer that joins later appears in the others' files, and goes when it leaves
    c = net.attach(c_ns, "apps", "ctr-c", "--name", "late", "--hosts", hc)
    assert f"{c['IPAddress']}\tlate ctr-c" in ha.read_text()
    assert "\tweb ctr-a" in hc.read_text()
    net.out("network", "_detach", "apps", "ctr-c")
    assert "late" not in ha.read_text() and "late" not in hb.read_text()


def test_resolv_conf(net, tmp_path):
    net.create("dns")
    ns = net.add_netns()
    rc = tmp_path / "resolv.conf"
    net.attach(ns, "dns", "ctr-dns", "--resolv", rc, "--dns", "192.0.2.53", "--dns", "2001:db8::53")
    text = rc.read_text()
    assert "nameserver 192.0.2.53\nnameserver 2001:db8::53\n" in text
    assert text.count("nameserver") == 2
    assert "invalid container name" in net.fail("network", "_attach", "--netns", f"/run/netns/{ns}",
                                                "--name", "x\n6.6.6.6 evil", "dns", "ctr-y")
    assert "is not a valid host name" in net.fail("network", "_attach", "--netns",
                                                  f"/run/netns/{ns}", "--add-host",
                                                  "a b:1.2.3.4", "dns", "ctr-y")
    assert "invalid --dns 'x.y'" in net.fail("network", "_attach", "--netns", f"/run/netns/{ns}",
                                             "--resolv", rc, "--dns", "x.y", "dns", "ctr-x")


def test_networks_are_isolated(net, tmp_path):
    net.create("red")
    net.create("blue")
    r1, r2, b1 = net.add_netns(), net.add_netns(), net.add_netns()
    red = net.attach(r1, "red", "ctr-r1")
    net.attach(r2, "red", "ctr-r2")
    net.attach(b1, "blue", "ctr-b1")
    httpd(net, r1, tmp_path, "red\n")
    # same network: reachable (the control that makes the next assertion mean something)
    assert ns_wget(net, r2, f"http://{red['IPAddress']}/").stdout == b"red\n"
    # another network: dropped between the bridges
    r = ns_wget(net, b1, f"http://{red['IPAddress']}/", timeout=2)
    assert r.returncode != 0 and r.stdout == b""
    t = net.nft_table()
    assert "drop" in t


def test_internal_network_has_no_way_out(net, tmp_path):
    net.create("vault", "--internal")
    n1, n2 = net.add_netns(), net.add_netns()
    a = net.attach(n1, "vault", "ctr-v1")
    net.attach(n2, "vault", "ctr-v2")
    routes = net.in_ns(n1, "ip", "-4", "route").stdout.decode()
    assert "default" not in routes
    r = net.in_ns(n1, "ip", "route", "get", "192.0.2.1")
    assert r.returncode != 0 and b"unreachable" in r.stderr
    # the gateway does not forward out either
    t = net.nft_table()
    assert f'iifname "{a["Bridge"]}" oifname != "{a["Bridge"]}" drop' in t
    assert f'ip saddr {net.subnets[-1]} oifname' not in t  # no masquerade
    # peers on the internal network still talk
    httpd(net, n1, tmp_path, "inside\n")
    assert ns_wget(net, n2, f"http://{a['IPAddress']}/").stdout == b"inside\n"
    n3 = net.add_netns()
    assert "internal: ports cannot be published" in net.fail(
        "network", "_attach", "--netns", f"/run/netns/{n3}", "-p", f"{free_port()}:80", "vault",
        "ctr-v3")


def test_port_conflicts(net):
    net.create("pc")
    ns1, ns2 = net.add_netns(), net.add_netns()
    # a port a host process listens on
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    busy = s.getsockname()[1]
    try:
        err = net.fail("network", "_attach", "--netns", f"/run/netns/{ns1}", "-p",
                       f"127.0.0.1:{busy}:80", "pc", "ctr-1")
        assert f"host port 127.0.0.1:{busy}/tcp is already in use" in err
        err = net.fail("network", "_attach", "--netns", f"/run/netns/{ns1}", "-p", f"{busy}:80",
                       "pc", "ctr-1")
        assert f"host port 0.0.0.0:{busy}/tcp is already in use" in err
    finally:
        s.close()
    # nothing was created by the failed attempts
    assert net.links() == [] and net.nft_table() is None
    assert net.db("SELECT count(*) FROM network_allocations") == [(0,)]
    # a port another attachment published
    port = free_port()
    net.attach(ns1, "pc", "ctr-1", "-p", f"{port}:80")
    err = net.fail("network", "_attach", "--netns", f"/run/netns/{ns2}", "-p",
                   f"127.0.0.1:{port}:80", "pc", "ctr-2")
    assert f"already published by container ctr-1" in err
    assert "given twice" in net.fail("network", "_attach", "--netns", f"/run/netns/{ns2}", "-p",
                                     f"{port + 1}:80", "-p", f"{port + 1}:81", "pc", "ctr-2")
    assert net.db("SELECT container_id FROM network_allocations") == [("ctr-1",)]
    assert "invalid port" in net.fail("network", "_attach", "--netns", f"/run/netns/{ns2}", "-p",
                                      "70000:80", "pc", "ctr-2")
    # an address already taken on the network
    [j] = json.loads(net.out("network", "inspect", "pc"))
    taken = j["Containers"]["ctr-1"]["IPv4Address"].split("/")[0]
    assert "already in use" in net.fail("network", "_attach", "--netns", f"/run/netns/{ns2}",
                                        "--ip", taken, "pc", "ctr-2")


def test_attach_refuses_what_is_not_a_container_namespace(net, tmp_path):
    net.create("guard")
    # the host's own namespace: eth0 and a default route there would rewire the host
    err = net.fail("network", "_attach", "--netns", "/proc/self/ns/net", "guard", "ctr-h")
    assert "is husk's own network namespace" in err
    f = tmp_path / "plain"
    f.write_text("")
    assert "is not a network namespace" in net.fail("network", "_attach", "--netns", f, "guard",
                                                    "ctr-h")
    assert "is not a network namespace" in net.fail("network", "_attach", "--netns",
                                                    "/proc/self/ns/uts", "guard", "ctr-h")
    assert net.links() == [] and net.nft_table() is None
    assert net.db("SELECT count(*) FROM network_allocations") == [(0,)]


def test_rm_of_network_in_use_is_refused(net):
    net.create("busy")
    ns = net.add_netns()
    net.attach(ns, "busy", "ctr-busy")
    err = net.fail("network", "rm", "busy")
    # The CLI names the users (containers by name; an id without a container as it is).
    assert "network 'busy' is in use by container ctr-busy" in err
    assert net.out("network", "prune") == ""  # in use: not pruned either
    net.out("network", "_detach", "busy", "ctr-busy")
    assert net.out("network", "rm", "busy").strip() == "busy"
    assert net.links() == []


def test_requested_ip_and_mac(net):
    net.create("fixed")
    ns = net.add_netns()
    sub = net.subnets[-1]
    ip = str(sub.network_address + 42)
    a = net.attach(ns, "fixed", "ctr-f", "--ip", ip, "--mac-address", "02:42:0a:00:00:2a",
                   "--mtu", "1400")
    assert a["IPAddress"] == ip
    link = net.in_ns(ns, "ip", "-o", "link", "show", "eth0").stdout.decode()
    assert "link/ether 02:42:0a:00:00:2a" in link and "mtu 1400" in link
    assert f"inet {ip}/24" in net.in_ns(ns, "ip", "-o", "-4", "addr", "show", "eth0").stdout.decode()
    assert "invalid MAC" in net.fail("network", "_attach", "--netns", f"/run/netns/{ns}",
                                     "--mac-address", "zz", "fixed", "ctr-g")
    assert "not a free host address" in net.fail("network", "_attach", "--netns",
                                                 f"/run/netns/{ns}", "--ip",
                                                 str(sub.network_address), "fixed", "ctr-g")


def test_crash_leftovers_are_cleaned_by_the_next_call(net, tmp_path):
    net.create("crash")
    ns = net.add_netns()
    port = free_port()
    net.attach(ns, "crash", "ctr-crash", "-p", f"{port}:80")
    assert net.links() and net.nft_table()
    # the "container" dies without a detach: its veth goes with its namespace
    net.del_netns(ns)
    # a leftover link of an attach that died midway
    sh("ip", "link", "add", f"{net.prefix}vdeadbeef", "type", "veth", "peer", "name",
       f"{net.prefix}pdeadbeef")
    net.out("network", "ls")  # a read-only command changes nothing
    p = net.run("network", "_reconcile", explain=True)
    assert "left network" in p.stderr.decode()
    # The network's bridge and base rules stay up (like docker0); nothing else.
    assert net.veths() == []
    assert net.port_rules() == []
    assert net.db("SELECT count(*) FROM network_allocations") == [(0,)]
    assert net.db("SELECT count(*) FROM network_ports") == [(0,)]
    net.out("network", "rm", "crash")
    assert net.links() == []
    assert net.nft_table() is None


def test_explain_prints_the_shell_steps(net):
    net.create("expl")
    ns = net.add_netns()
    p = net.run("network", "_attach", "--netns", f"/run/netns/{ns}", "-p", f"{free_port()}:80",
                "expl", "ctr-x", explain=True)
    e = p.stderr.decode()
    veth = json.loads(p.stdout)["HostVeth"]
    # One request: the host side in the bridge and up, the peer born in the
    # namespace as eth0 with its MAC (no move into the namespace, no rename).
    add = [l for l in e.splitlines() if l.startswith(f"$ ip link add {veth} ")]
    assert len(add) == 1, e
    assert f"$ ip link add {veth} mtu 1500 master {net.prefix}-" in add[0]
    assert " up type veth peer name eth0 mtu 1500 address " in add[0]
    assert add[0].endswith(f" netns /run/netns/{ns}")
    assert " netns " not in "".join(l for l in e.splitlines() if "ip link set" in l)
    assert " name eth0" not in "".join(l for l in e.splitlines() if "ip link set" in l)
    assert f"$ nsenter --net=/run/netns/{ns} ip link set eth0 up" in e
    assert f"$ nsenter --net=/run/netns/{ns} ip route add default via" in e
    assert "$ nft -f - <<'EOF'" in e and f"table ip {net.table} {{" in e
    p = net.run("network", "_detach", "expl", "ctr-x", explain=True)
    assert f"$ ip link del {veth}" in p.stderr.decode()


def test_concurrent_attaches_get_distinct_addresses(net):
    net.create("many")
    spaces = [net.add_netns() for _ in range(8)]

    def attach(i):
        return net.attach(spaces[i], "many", f"ctr-{i}")["IPAddress"]

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        addrs = list(ex.map(attach, range(8)))
    assert len(set(addrs)) == 8
    assert len(net.db("SELECT address FROM network_allocations")) == 8


def test_leak_check_50_cycles(net, tmp_path):
    net.create("leak")
    ns = net.add_netns()
    hosts = tmp_path / "hosts"
    times = []
    for i in range(50):
        port = free_port()
        t0 = time.monotonic()
        net.attach(ns, "leak", f"ctr-{i}", "-p", f"{port}:80", "-p", f"{port}:80/udp",
                   "--hosts", hosts, "--name", f"c{i}")
        times.append(time.monotonic() - t0)
        net.out("network", "_detach", "leak", f"ctr-{i}")
        assert net.in_ns(ns, "ip", "-o", "link", "show", "eth0").returncode != 0
    times.sort()
    print(f"attach: median {times[len(times) // 2] * 1000:.1f} ms, "
          f"max {times[-1] * 1000:.1f} ms (husk process included)")
    net.del_netns(ns)
    assert net.veths() == []
    assert net.port_rules() == []
    net.out("network", "_down")
    assert net.links() == []
    assert net.nft_table() is None
    assert net.db("SELECT count(*) FROM network_allocations") == [(0,)]
    assert net.db("SELECT count(*) FROM network_ports") == [(0,)]
    assert not any(n.startswith(net.prefix) for n in
                   sh("ip", "netns", "list").stdout.decode().split())
    assert not os.path.exists(f"/run/husk-net/links-{net.prefix}")


def test_one_namespace_on_two_networks(net):
    net.create("first")
    net.create("second")
    ns = net.add_netns()
    a = net.attach(ns, "first", "ctr-two")
    b = net.attach(ns, "second", "ctr-two")
    assert (a["Interface"], b["Interface"]) == ("eth0", "eth1")
    routes = net.in_ns(ns, "ip", "-4", "route").stdout.decode()
    assert f"default via {a['Gateway']} dev eth0" in routes
    assert f"{net.subnets[-1]} dev eth1" in routes
    net.out("network", "_detach", "--all", "ctr-two")  # what rm of a container does
    assert net.veths() == []
    assert net.db("SELECT count(*) FROM network_allocations") == [(0,)]


def test_a_second_root_cannot_take_the_same_names(net, tmp_path):
    import tempfile
    from conftest import Net
    net.create("mine")
    ns = net.add_netns()
    net.attach(ns, "mine", "ctr-1")
    other = Net(tempfile.mkdtemp(prefix="husk-net-other-"))
    other.env = dict(net.env)  # same prefix and table, another root
    try:
        other.out("network", "create", "--subnet", str(net.subnet()), "theirs")
        ns2 = net.add_netns()
        err = other.fail("network", "_attach", "--netns", f"/run/netns/{ns2}", "theirs", "c")
        assert f"links '{net.prefix}' belongs to the husk root '{net.root}'" in err
        assert "HUSK_NET_PREFIX" in err
        # and it did not touch the first root's links
        assert any(l.startswith(f"{net.prefix}v") for l in net.links())
    finally:
        import shutil
        shutil.rmtree(other.root, ignore_errors=True)
    net.out("network", "_detach", "mine", "ctr-1")
    # The bridge is still up, so the names stay claimed until it goes.
    assert os.path.exists(f"/run/husk-net/links-{net.prefix}")
    net.out("network", "_down")
    # nothing left: the names are free again
    assert not os.path.exists(f"/run/husk-net/links-{net.prefix}")
    assert not os.path.exists(f"/run/husk-net/nft-{net.table}")
