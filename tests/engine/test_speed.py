"""speed: what makes `husk run` and `husk ps` start fast, checked for what it
must keep doing: heavy libraries opened only when used, the default bridge
kept up (like docker0) without leftover per-container rules, a user network's
bridge gone with the network, the container's veth end made in its namespace,
unchanged nft tables not rewritten, no fsync on a run --rm; `ps` reading
every row's ports in one query and guessing freezer cgroups from a sibling's
(and still noticing a SIGKILLed monitor).

Each test has its own root, link prefix, nft table and subnets (conftest); the
fixture's teardown runs `husk network _down` and fails on anything left."""
import os
import re
import shutil
import socket
import subprocess
import uuid

import pytest

from conftest import HUSK, cgroup_mount_of, own_cgroups


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_heavy_libraries_are_not_linked():
    out = subprocess.run(["readelf", "-d", HUSK], capture_output=True, check=True).stdout.decode()
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", out)
    assert needed, out
    for lib in ("libarchive", "libcrypto", "libnftables", "libisal", "libxml2", "libicu",
                "libstdc++", "libcurl"):
        assert not [n for n in needed if n.startswith(lib)], (lib, needed)


@pytest.mark.asan
def test_lazily_opened_libraries_work(husk, tmp_path):
    # save: libarchive and libcrypto, opened on first use.
    out = tmp_path / "bb.tar"
    husk.run("save", "-o", out, "busybox")
    names = subprocess.run(["tar", "tf", out], capture_output=True, check=True).stdout.decode()
    assert "manifest.json" in names or "index.json" in names, names


@pytest.mark.asan
def test_default_bridge_stays_up_without_port_rules(husk):
    port = free_port()
    husk.run("run", "-d", "--name", "web", "-p", "127.0.0.1:%d:80" % port, "busybox",
             "sleep", "60")
    assert "dport %d" % port in husk.nft_table()
    husk.run("rm", "-f", "web")
    # The bridge and the base rules stay; the container's veth and port rules go.
    assert husk.links() == [husk.net_prefix + "0"]
    assert husk.veths() == []
    table = husk.nft_table()
    assert table is not None and "masquerade" in table
    assert husk.port_rules() == [] and "dport" not in table, table
    # A container without ports changes nothing in the table: it is not rewritten.
    r = husk.run("--explain", "run", "--rm", "busybox", "true")
    assert "nftables table 'ip %s' is up to date" % husk.table in r.stderr, r.stderr
    assert "nft -f -" not in r.stderr
    assert husk.nft_table() == table
    # _down takes the idle bridge and the table away.
    husk.run("network", "_down")
    assert husk.links() == [] and husk.nft_table() is None


@pytest.mark.asan
def test_user_network_bridge_goes_with_network_rm(husk):
    nid = husk.out("network", "create", "--subnet", str(husk.subnet()), "speedy").strip()
    bridge = "%s-%s" % (husk.net_prefix, nid[:8])
    husk.run("run", "--rm", "--network", "speedy", "busybox", "true")
    # Kept up while the network exists.
    assert bridge in husk.links()
    assert bridge in husk.nft_table()
    husk.run("network", "rm", "speedy")
    assert bridge not in husk.links()
    assert bridge not in (husk.nft_table() or "")
    # prune too
    pid = husk.out("network", "create", "--subnet", str(husk.subnet()), "pruned").strip()
    husk.run("run", "--rm", "--network", "pruned", "busybox", "true")
    assert husk.links() == ["%s-%s" % (husk.net_prefix, pid[:8])]  # husk0 was never used
    husk.run("network", "prune")
    assert husk.links() == []
    assert husk.nft_table() is None


def test_table_deleted_behind_our_back_is_rebuilt(husk):
    husk.run("run", "--rm", "busybox", "true")
    subprocess.run(["nft", "delete", "table", "ip", husk.table], check=True)
    port = free_port()
    husk.run("run", "-d", "--name", "web", "-p", "127.0.0.1:%d:80" % port, "busybox",
             "sleep", "60")
    table = husk.nft_table()
    assert table is not None and "dport %d" % port in table and "masquerade" in table


@pytest.mark.asan
def test_veth_end_is_made_in_the_namespace(husk):
    mac = "02:42:ac:11:00:09"
    r = husk.run("--explain", "run", "--rm", "--mac-address", mac, "busybox", "cat",
                 "/sys/class/net/eth0/address")
    assert r.stdout.strip() == mac
    add = [l for l in r.stderr.splitlines() if "type veth" in l]
    assert len(add) == 1, r.stderr
    assert " up type veth peer name eth0 mtu 1500 address %s netns /proc/" % mac in add[0]
    moved = [l for l in r.stderr.splitlines() if re.search(r"ip link set \S+ (netns|name) ", l)]
    assert moved == [], moved


def _root_mount(mountinfo):
    return [l for l in mountinfo.splitlines() if l.split()[4] == "/"][0]


def test_rm_container_overlay_is_volatile(husk):
    out = husk.out("run", "--rm", "--network", "none", "busybox", "cat", "/proc/self/mountinfo")
    assert "volatile" in _root_mount(out)
    # A container that is kept has its upper dir synced as usual.
    out = husk.out("run", "--name", "kept", "--network", "none", "busybox", "cat",
                   "/proc/self/mountinfo")
    assert "volatile" not in _root_mount(out)
    husk.run("rm", "kept")
    # create --rm, then start: the volatile marker of a mount does not block the next.
    husk.run("create", "--rm", "--name", "twice", "--network", "none", "busybox", "true")
    husk.run("start", "-a", "twice")
    assert husk.db_rows() == []


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")
def test_run_rm_makes_no_fsync(husk, tmp_path):
    husk.run("run", "--rm", "--network", "none", "busybox", "true")
    assert (husk.root / "husk.db-wal").exists()  # kept between commands
    log = tmp_path / "trace"
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync,syncfs,sync",
                        "-o", str(log)] + husk.cmdline("run", "--rm", "--network", "none",
                                                       "busybox", "true"),
                       capture_output=True, env=husk.env, timeout=60)
    assert p.returncode == 0, p.stderr
    calls = [l for l in log.read_text().splitlines() if "sync" in l and "exited" not in l]
    assert calls == [], calls


def names_and(husk, field, *args):
    out = husk.out("ps", "--format", "{{.Names}}|{{.%s}}" % field, *args)
    return dict(l.split("|", 1) for l in out.splitlines())


@pytest.mark.asan
def test_ps_paused_from_a_siblings_freezer_and_elsewhere(husk):
    # ps (newest first) learns where the freezer cgroups are from d and
    # guesses its siblings' (c, a); b's is elsewhere (--cgroup-parent).
    parent = "hk-ps-" + uuid.uuid4().hex[:8]
    try:
        husk.run("run", "-d", "--name", "b", "--cgroup-parent", parent, "busybox", "sleep", "60")
        husk.run("run", "-d", "--name", "a", "busybox", "sleep", "60")
        husk.run("run", "-d", "--name", "c", "busybox", "sleep", "60")
        husk.run("run", "-d", "--name", "d", "busybox", "sleep", "60")
        husk.run("pause", "a", "b", "d")
        status = names_and(husk, "Status")
        assert sorted(status) == ["a", "b", "c", "d"], status
        for n in "abd":
            assert status[n].endswith("(Paused)"), status
        assert not status["c"].endswith("(Paused)"), status
        assert sorted(names_and(husk, "State", "--filter", "status=paused")) == ["a", "b", "d"]
        husk.run("unpause", "a", "b", "d")
        assert set(names_and(husk, "State").values()) == {"running"}
    finally:
        # Also when an assert failed: the containers first, then the parent,
        # which stays after rm as docker's: ours, in every hierarchy.
        husk.run("rm", "-f", "a", "b", "c", "d", check=False)
        for ctrl, path in own_cgroups().items():
            mp = cgroup_mount_of(ctrl)
            if mp and os.path.isdir(mp + path.rstrip("/") + "/" + parent):
                os.rmdir(mp + path.rstrip("/") + "/" + parent)


@pytest.mark.asan
def test_ps_ports_of_each_row_from_one_query(husk):
    p1, p2, p3 = free_port(), free_port(), free_port()
    husk.run("run", "-d", "--name", "w1", "-p", "127.0.0.1:%d:80" % p1, "-p",
             "127.0.0.1:%d:53/udp" % p2, "busybox", "sleep", "60")
    husk.run("run", "-d", "--name", "w2", "busybox", "sleep", "60")
    husk.run("run", "-d", "--name", "w3", "-p", "127.0.0.1:%d:8080" % p3, "busybox", "sleep",
             "60")
    husk.run("create", "--name", "w4", "-p", "127.0.0.1::81", "busybox", "true")
    ports = names_and(husk, "Ports", "-a")
    assert ports == {"w1": "127.0.0.1:%d->80/tcp, 127.0.0.1:%d->53/udp" % (p1, p2),
                     "w2": "", "w3": "127.0.0.1:%d->8080/tcp" % p3, "w4": ""}, ports
    husk.run("rm", "-f", "w1", "w2", "w3", "w4")


@pytest.mark.asan
def test_ps_shows_a_sigkilled_monitors_container_exited(husk):
    for n in ("k1", "k2", "k3"):
        husk.run("run", "-d", "--name", n, "busybox", "sleep", "60")
    pid, _ = husk.kill_monitor("k2")
    assert husk.out("ps", "--format", "{{.Names}}").split() == ["k3", "k1"]
    status = names_and(husk, "Status", "-a")
    assert status["k2"].startswith("Exited (137)"), status
    assert husk.out("ps", "-q").count("\n") == 2
    husk.wait_for(lambda: not os.path.exists("/proc/%d" % pid), what="init gone")
    husk.run("rm", "-f", "k1", "k2", "k3")
