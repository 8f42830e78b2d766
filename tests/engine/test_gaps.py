"""The small gaps of issues 4 and 5: the README tour's nsenter and cgroup-file
steps, cp through symlinks, --ipc container:X with /dev/shm, rename and
--network-alias in the hosts files, commit with StopTimeout."""
import json
import os
import subprocess
from pathlib import Path

import pytest


def memory_limit_file(pid):
    """The container's memory limit file, found from /proc/PID/cgroup as the
    README tour shows: the v1 'memory' line, or the v2 '0::' line."""
    lines = Path("/proc/%d/cgroup" % pid).read_text().splitlines()
    for line in lines:
        _, ctrl, path = line.split(":", 2)
        if "memory" in ctrl.split(","):
            return Path("/sys/fs/cgroup/memory" + path) / "memory.limit_in_bytes"
    for line in lines:
        if line.startswith("0::"):
            return Path("/sys/fs/cgroup" + line[3:]) / "memory.max"
    raise AssertionError("no memory cgroup in %r" % lines)


def test_tour_nsenter_and_cgroup_file(husk):
    husk.run("run", "--name", "test1", "-d", "-m", "400m", "busybox", "sh", "-c",
             "while true; do date; sleep 1; done")
    pid = json.loads(husk.out("inspect", "test1"))[0]["State"]["Pid"]
    jq = subprocess.run("%s | jq '.[].State.Pid'" % " ".join(husk.cmdline("inspect", "test1")),
                        shell=True, env=husk.env, capture_output=True, check=True)
    assert int(jq.stdout) == pid
    ps = subprocess.run(["nsenter", "--target", str(pid), "--mount", "--uts", "--ipc", "--net",
                         "--pid", "ps"], capture_output=True, check=True).stdout.decode()
    rows = [l.split(None, 2) for l in ps.splitlines()[1:]]
    assert rows[0][0] == "1" and rows[0][2] == "sh -c while true; do date; sleep 1; done", ps
    assert any(r[2] == "ps" for r in rows), ps
    # only the container's processes: its pid namespace
    assert all(int(r[0]) < 100 for r in rows), ps
    f = memory_limit_file(pid)
    assert "husk-" + husk.inspect("test1")["Id"] in str(f)
    assert f.read_text().strip() == str(400 * 1024 * 1024)
    husk.run("stop", "-t", "1", "test1")
    husk.run("rm", "test1")


@pytest.fixture
def linked(husk, tmp_path):
    """A running container with symlinks: /flink -> /etc/real (a file),
    /dlink -> /etc (a directory) and /etc/x -> ../../../../../tmp/U/f, a
    relative link that climbs above the root; the host has its own
    /tmp/U/f, which must never be read or written."""
    u = "hk-gaps-cp-%d" % os.getpid()
    host = Path("/tmp") / u
    host.mkdir()
    (host / "f").write_text("HOST\n")
    husk.run("run", "-d", "--name", "cpl", "busybox", "sleep", "60")
    husk.run("exec", "cpl", "sh", "-c",
             "echo old > /etc/real && ln -s /etc/real /flink && ln -s /etc /dlink && "
             "mkdir -p /tmp/%s && echo CTR > /tmp/%s/f && ln -s ../../../../../tmp/%s/f /etc/x"
             % (u, u, u))
    src = tmp_path / "src"
    src.write_text("new\n")
    yield u, host, src
    husk.run("rm", "-f", "cpl")
    assert (host / "f").read_text() == "HOST\n"
    for p in host.iterdir():
        p.unlink()
    host.rmdir()


def check_cp_to_follows(husk, u, src):
    husk.run("cp", str(src), "cpl:/flink")
    assert husk.out("exec", "cpl", "readlink", "/flink") == "/etc/real\n"
    assert husk.out("exec", "cpl", "cat", "/etc/real") == "new\n"
    husk.run("cp", str(src), "cpl:/dlink")  # a link to a directory: into it
    assert husk.out("exec", "cpl", "cat", "/etc/src") == "new\n"
    husk.run("cp", str(src), "cpl:/etc/x")  # climbs above /: clamped at the root
    assert husk.out("exec", "cpl", "readlink", "/etc/x") == "../../../../../tmp/%s/f\n" % u
    assert husk.out("exec", "cpl", "cat", "/tmp/%s/f" % u) == "new\n"


@pytest.mark.asan
def test_cp_to_follows_symlinks_inside_root(husk, linked):
    u, host, src = linked
    check_cp_to_follows(husk, u, src)
    assert (host / "f").read_text() == "HOST\n"
    # a stopped container (its detached overlay) too
    husk.run("exec", "cpl", "sh", "-c", "echo old > /etc/real; echo CTR > /tmp/%s/f" % u)
    husk.run("stop", "-t", "0", "cpl")
    src.write_text("again\n")
    husk.run("cp", str(src), "cpl:/flink")
    husk.run("cp", str(src), "cpl:/etc/x")
    husk.run("start", "cpl")
    assert husk.out("exec", "cpl", "readlink", "/flink") == "/etc/real\n"
    assert husk.out("exec", "cpl", "cat", "/etc/real", "/tmp/%s/f" % u) == "again\nagain\n"
    # a loop is an error naming the path
    husk.run("exec", "cpl", "sh", "-c", "ln -s /loop2 /loop1 && ln -s /loop1 /loop2")
    r = husk.fail("cp", str(src), "cpl:/loop1")
    assert "/loop1" in r.stderr and "symbolic links" in r.stderr, r


def test_cp_from_follow_link_inside_root(husk, linked, tmp_path):
    u, host, _ = linked
    husk.run("cp", "cpl:/flink", str(tmp_path / "asis"))  # no -L: the link itself
    assert os.readlink(tmp_path / "asis") == "/etc/real"
    husk.run("cp", "-L", "cpl:/flink", str(tmp_path / "followed"))
    assert (tmp_path / "followed").read_text() == "old\n"
    husk.run("cp", "--follow-link", "cpl:/etc/x", str(tmp_path / "climbed"))
    assert (tmp_path / "climbed").read_text() == "CTR\n"
    husk.run("cp", "-L", "cpl:/dlink", str(tmp_path / "etc"))
    assert (tmp_path / "etc" / "real").read_text() == "old\n"


@pytest.mark.asan
def test_ipc_container_shares_dev_shm(husk):
    husk.run("run", "-d", "--name", "donor", "--ipc", "shareable", "--shm-size", "8m",
             "busybox", "sleep", "60")
    husk.run("exec", "donor", "sh", "-c", "echo from-donor > /dev/shm/f")
    ipc = husk.out("exec", "donor", "readlink", "/proc/self/ns/ipc")
    out = husk.out("run", "--rm", "--ipc", "container:donor", "busybox", "sh", "-c",
                   "readlink /proc/self/ns/ipc; cat /dev/shm/f; echo from-joiner > /dev/shm/g; "
                   "df -k /dev/shm | tail -n 1")
    lines = out.splitlines()
    assert lines[0] + "\n" == ipc and lines[1] == "from-donor", out
    assert lines[2].split()[1] == "8192", out  # the donor's tmpfs, with its size
    assert husk.out("exec", "donor", "cat", "/dev/shm/g") == "from-joiner\n"
    assert husk.out("exec", "donor", "sh", "-c", "df -k /dev/shm | tail -n 1").split()[1] == "8192"
    # as docker: only a shareable container's IPC can be joined
    husk.run("run", "-d", "--name", "priv", "busybox", "sleep", "60")
    r = husk.fail("run", "--rm", "--ipc", "container:priv", "busybox", "true")
    assert "container priv has a non-shareable IPC namespace" in r.stderr, r
    # none: an IPC namespace of its own, no /dev/shm mounted
    out = husk.out("run", "--rm", "--ipc", "none", "busybox", "sh", "-c",
                   "readlink /proc/self/ns/ipc; grep -c ' /dev/shm ' /proc/mounts", check=False)
    lines = out.split()
    assert lines[0] != os.readlink("/proc/self/ns/ipc") and lines[0] + "\n" != ipc, out
    assert lines[1] == "0", out
    assert husk.inspect("donor")["HostConfig"]["IpcMode"] == "shareable"
    husk.run("stop", "-t", "0", "donor")
    r = husk.fail("run", "--rm", "--ipc", "container:donor", "busybox", "true")
    assert "not running" in r.stderr, r
    # restarted: a fresh tmpfs again, joinable
    husk.run("start", "donor")
    husk.run("run", "--rm", "--ipc", "container:donor", "busybox", "touch", "/dev/shm/h")
    husk.run("exec", "donor", "test", "-f", "/dev/shm/h")


WWW = "hello from gaps\n"


@pytest.fixture
def www(tmp_path):
    d = tmp_path / "www"
    d.mkdir()
    (d / "index.html").write_text(WWW)
    os.chmod(tmp_path, 0o755)
    return d


def httpd(husk, www, name, *opts):
    husk.run("run", "-d", "--name", name, "-v", "%s:/www:ro" % www, *opts, "busybox",
             "httpd", "-f", "-p", "80", "-h", "/www")


def fetch_in(husk, ctr, name):
    """wget http://NAME/ inside ctr (names come from its /etc/hosts, never DNS)."""
    return husk.out("exec", ctr, "sh", "-c",
                    "for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O- http://%s/ && exit 0; "
                    "sleep 0.2; done; exit 1" % name)


def hosts_names(husk, ctr):
    """Every name the /etc/hosts of ctr gives, with its address."""
    names = {}
    for line in husk.out("exec", ctr, "cat", "/etc/hosts").splitlines():
        w = line.split()
        for n in w[1:]:
            names[n] = w[0]
    return names


@pytest.mark.parametrize("network", ["default", "user"])
def test_rename_updates_hosts_files(husk, www, network):
    opts = []
    if network == "user":
        husk.run("network", "create", "--subnet", str(husk.subnet()), "app")
        opts = ["--network", "app"]
    httpd(husk, www, "web", *opts)
    husk.run("run", "-d", "--name", "client", *opts, "busybox", "sleep", "60")
    assert fetch_in(husk, "client", "web") == WWW
    husk.run("rename", "web", "web2")
    assert fetch_in(husk, "client", "web2") == WWW
    for ctr in ("client", "web2"):
        names = hosts_names(husk, ctr)
        assert "web2" in names and "web" not in names, (ctr, names)
    # the renamed one's own file too, and a container started after the rename
    husk.run("rename", "client", "client2")
    assert "client2" in hosts_names(husk, "web2")
    husk.run("run", "-d", "--name", "late", *opts, "busybox", "sleep", "60")
    assert fetch_in(husk, "late", "web2") == WWW
    assert "web" not in hosts_names(husk, "late")
    r = husk.fail("rename", "late", "web2")
    assert "already in use" in r.stderr, r
    assert "late" in hosts_names(husk, "web2")
    husk.run("rm", "-f", "web2", "client2", "late")
    if network == "user":
        husk.run("network", "rm", "app")


@pytest.mark.asan
def test_network_alias_and_connect_alias(husk, www):
    husk.run("network", "create", "--subnet", str(husk.subnet()), "app")
    husk.run("network", "create", "--subnet", str(husk.subnet()), "other")
    httpd(husk, www, "web", "--network", "app", "--network-alias", "www1",
          "--network-alias", "www2")
    husk.run("run", "-d", "--name", "c1", "--network", "app", "busybox", "sleep", "60")
    husk.run("run", "-d", "--name", "c2", "--network", "other", "busybox", "sleep", "60")
    nets = husk.inspect("web")["NetworkSettings"]["Networks"]
    assert nets["app"]["Aliases"] == ["www1", "www2"], nets
    assert fetch_in(husk, "c1", "www1") == WWW
    assert fetch_in(husk, "c1", "www2") == WWW
    assert "www1" not in hosts_names(husk, "c2")
    # connect --alias: that name on that network only
    husk.run("network", "connect", "--alias", "api", "--alias", "api2", "other", "web")
    nets = husk.inspect("web")["NetworkSettings"]["Networks"]
    assert nets["other"]["Aliases"] == ["api", "api2"] and nets["app"]["Aliases"] == [
        "www1", "www2"], nets
    assert fetch_in(husk, "c2", "api") == WWW
    c2 = hosts_names(husk, "c2")
    assert c2["api"] == nets["other"]["IPAddress"] and "www1" not in c2, c2
    c1 = hosts_names(husk, "c1")
    assert c1["www1"] == nets["app"]["IPAddress"] and "api" not in c1, c1
    assert husk.inspect("c1")["NetworkSettings"]["Networks"]["app"]["Aliases"] is None
    # kept across a restart (they are the container's configuration)
    # (names only: the restarted web has a new MAC that c1's ARP cache does not know yet)
    husk.run("restart", "-t", "0", "web")
    nets = husk.inspect("web")["NetworkSettings"]["Networks"]
    assert hosts_names(husk, "c1")["www2"] == nets["app"]["IPAddress"]
    assert hosts_names(husk, "c2")["api2"] == nets["other"]["IPAddress"]
    # disconnect takes the alias away
    husk.run("network", "disconnect", "other", "web")
    assert "api" not in hosts_names(husk, "c2")
    # bad input is named
    r = husk.fail("run", "--rm", "--network-alias", "bad name", "busybox", "true")
    assert "invalid network alias 'bad name'" in r.stderr, r
    r = husk.fail("run", "--rm", "--network", "none", "--network-alias", "x", "busybox", "true")
    assert "--network-alias needs a bridge network" in r.stderr, r
    r = husk.fail("network", "connect", "--alias", "a/b", "other", "c1")
    assert "invalid --alias 'a/b'" in r.stderr, r
    husk.run("rm", "-f", "web", "c1", "c2")
    husk.run("network", "rm", "app")
    husk.run("network", "rm", "other")


@pytest.mark.asan
def test_commit_carries_stop_timeout_and_signal(husk):
    husk.run("create", "--name", "st", "--stop-timeout", "42", "--stop-signal", "SIGUSR1",
             "busybox", "true")
    husk.out("commit", "st", "st:1")
    cfg = json.loads(husk.out("image", "inspect", "st:1"))[0]["Config"]
    assert cfg["StopTimeout"] == 42 and cfg["StopSignal"] == "SIGUSR1", cfg
    # a container without them: the parent image's stay, none is made up
    husk.run("create", "--name", "st2", "st:1")
    husk.out("commit", "st2", "st:2")
    cfg = json.loads(husk.out("image", "inspect", "st:2"))[0]["Config"]
    assert cfg["StopTimeout"] == 42 and cfg["StopSignal"] == "SIGUSR1", cfg
    husk.run("create", "--name", "st3", "busybox", "true")
    husk.out("commit", "st3", "st:3")
    cfg = json.loads(husk.out("image", "inspect", "st:3"))[0]["Config"]
    assert "StopTimeout" not in cfg and "StopSignal" not in cfg, cfg
    husk.run("rm", "st", "st2", "st3")
