"""Rootless husk: the engine run by an unprivileged user (docs/engine.md "Rootless",
docs/network.md "Rootless networking").

The module creates a throwaway user with subordinate id ranges (useradd, its own
home in a temporary dir) and runs every husk command as that user through
setpriv, with XDG_RUNTIME_DIR and XDG_DATA_HOME in a fresh temporary dir. The
user's first command creates the pause process that holds its user and mount
namespaces. At the end the module removes the containers, checks that no
mount (in the pause process's mount namespace), no pasta, no container file is
left, kills the pause process by its pid, removes the user (which fails the
module when any process of the user is left) and its /etc/subuid and
/etc/subgid lines.

pasta needs /dev/net/tun to be usable by the user (mode 0666, as udev's default
rule sets it). Where it is not (this VM has 0600), the module sets 0666 for its
duration and restores the old mode.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from throwaway_user import ThrowawayUser, subid_ranges  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HUSK = os.path.abspath(os.environ.get("HUSK", str(REPO / "build" / "husk")))
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
TIMEOUT = 60
TUN = "/dev/net/tun"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="creates a user: needs root"),
    pytest.mark.skipif(not shutil.which("useradd"), reason="no useradd"),
    pytest.mark.skipif(not shutil.which("newuidmap"), reason="no newuidmap (package uidmap)"),
    pytest.mark.asan,
]


def needs_pasta():
    return pytest.mark.skipif(not shutil.which("pasta"), reason="no pasta (package passt)")


def procs_with(text):
    """Live processes whose command line contains text."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            cmd = Path("/proc/%s/cmdline" % d).read_bytes().replace(b"\0", b" ").decode()
            stat = Path("/proc/%s/stat" % d).read_text()
        except OSError:
            continue
        if text in cmd and stat[stat.rindex(")") + 2] != "Z":
            found.append((int(d), cmd))
    return found


def free_port(proto="tcp"):
    for _ in range(100):
        port = random.randint(20000, 45000)
        s = socket.socket(socket.AF_INET,
                          socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


class Result:
    def __init__(self, argv, p):
        self.args, self.returncode = argv, p.returncode
        self.stdout, self.stderr = p.stdout, p.stderr

    def __repr__(self):
        return "<%s rc=%s stdout=%r stderr=%r>" % (" ".join(map(str, self.args)),
                                                   self.returncode, self.stdout[-2000:],
                                                   self.stderr[-2000:])


class RootlessHusk:
    def __init__(self):
        self.user = ThrowawayUser(prefix="hkre")
        self.tmp = Path(tempfile.mkdtemp(prefix="hk-rle-"))
        os.chmod(self.tmp, 0o755)
        self.xdg = self.tmp / "xdg"
        self.data = self.tmp / "data"
        for d in (self.xdg, self.data):
            d.mkdir(mode=0o700)
            os.chown(d, self.user.uid, self.user.gid)
        self.root = self.data / "husk"
        self.runroot = self.xdg / "husk"
        self.tun_mode = None
        # Under the ASan build reports of the CLI and the monitors (no stderr) go
        # to files here; any file fails the module.
        self.asan_dir = self.tmp / "asan"
        self.asan_dir.mkdir()
        os.chmod(self.asan_dir, 0o777)

    def env(self):
        e = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.user.home),
            "USER": self.user.name,
            "LOGNAME": self.user.name,
            "XDG_RUNTIME_DIR": str(self.xdg),
            "XDG_DATA_HOME": str(self.data),
        }
        if "asan" in HUSK:
            e["ASAN_OPTIONS"] = "detect_leaks=1:log_path=%s/report" % self.asan_dir
            e["UBSAN_OPTIONS"] = "print_stacktrace=1:log_path=%s/ubsan" % self.asan_dir
        return e

    def __call__(self, *args, timeout=TIMEOUT, check=False, env=None):
        full = [SETPRIV, "--reuid=%d" % self.user.uid, "--regid=%d" % self.user.gid,
                "--init-groups", "--", HUSK] + [str(a) for a in args]
        p = subprocess.run(full, env=env or self.env(), cwd=self.tmp, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
        r = Result(full, p)
        assert "Sanitizer" not in r.stderr and "runtime error:" not in r.stderr, r
        if check:
            assert r.returncode == 0, r
        return r

    def pause_pid(self):
        try:
            return int((self.runroot / "pause.pid").read_text())
        except (OSError, ValueError):
            return 0

    def pause_mounts(self):
        """Mounts below our dirs in the pause process's mount namespace."""
        pid = self.pause_pid()
        if not pid:
            return []
        try:
            text = Path("/proc/%d/mountinfo" % pid).read_text()
        except OSError:  # gone: so is its mount namespace
            return []
        return [l for l in text.splitlines() if str(self.tmp) in l]

    def inspect(self, name):
        r = self("inspect", name, check=True)
        return json.loads(r.stdout)[0]

    def monitor_pids(self, cid):
        """The container's monitor: `husk __monitor ID` while it sets up, then
        the small husk-monitor it becomes (found as the init's parent)."""
        pids = [p for p, cmd in procs_with("__monitor " + cid)]
        r = self("inspect", "-f", "{{.State.Pid}}", cid)
        init = r.stdout.strip() if r.returncode == 0 else ""
        if init.isdigit() and int(init) > 0:
            try:
                status = Path("/proc/%s/status" % init).read_text()
                ppid = int(status.split("PPid:")[1].split()[0])
                if ppid > 1 and ppid not in pids:
                    pids.append(ppid)
            except (OSError, IndexError, ValueError):
                pass
        return pids


@pytest.fixture(scope="module")
def rl():
    h = RootlessHusk()
    problems = []
    try:
        mode = os.stat(TUN).st_mode & 0o7777 if os.path.exists(TUN) else None
        if mode is not None and mode & 0o006 != 0o006:
            h.tun_mode = mode
            os.chmod(TUN, 0o666)
        tar = h.tmp / "busybox.tar"
        subprocess.run([str(REPO / "scripts" / "make-busybox-rootfs.sh"),
                        str(h.tmp / "bb-rootfs"), str(tar)], check=True, capture_output=True)
        os.chmod(tar, 0o644)
        h("import", tar, "busybox", check=True)
        yield h
    finally:
        # Every step on its own: the user and its subid lines must go whatever fails.
        try:
            ids = h("ps", "-aq", "--no-trunc").stdout.split()
            if ids:
                r = h("rm", "-f", *ids)
                if r.returncode != 0:
                    problems.append("rm -f: %r" % r)
        except Exception as e:  # noqa: BLE001 (reported below)
            problems.append("removing the containers: %r" % e)
        try:
            left = h.pause_mounts()
            if left:
                problems.append("mounts left in the pause namespace: %s" % left)
            pasta = procs_with(str(h.runroot))
            if pasta:
                problems.append("processes left: %s" % pasta)
            cdir, rdir = h.root / "containers", h.runroot / "containers"
            ctrs = [p for p in cdir.iterdir() if p.name != ".lock"] if cdir.exists() else []
            runs = list(rdir.iterdir()) if rdir.exists() else []
            if ctrs or runs:
                problems.append("container dirs left: %s %s" % (ctrs, runs))
            reports = sorted(p.name for p in h.asan_dir.iterdir())
            if reports:
                problems.append("sanitizer reports: %s" % [
                    (h.asan_dir / n).read_text(errors="replace")[:3000] for n in reports])
        except Exception as e:  # noqa: BLE001 (reported below)
            problems.append("checking for leftovers: %r" % e)
        pid = h.pause_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            for _ in range(200):
                try:
                    st = Path("/proc/%d/stat" % pid).read_text()
                except OSError:
                    break
                if st[st.rindex(")") + 2] == "Z":
                    break
                time.sleep(0.01)
        if h.tun_mode is not None:
            os.chmod(TUN, h.tun_mode)
        problems += h.user.remove()
        if subid_ranges("/etc/subuid", h.user.name, h.user.uid) or \
                subid_ranges("/etc/subgid", h.user.name, h.user.uid):
            problems.append("subid lines left for " + h.user.name)
        shutil.rmtree(h.tmp, ignore_errors=True)
        assert not problems, problems


def test_store_in_xdg_data_home_and_pause_process(rl):
    r = rl("images", check=True)
    assert "busybox" in r.stdout
    # The store is in XDG_DATA_HOME/husk, owned by the user.
    assert os.stat(rl.root).st_uid == rl.user.uid and any(rl.root.iterdir())
    pid = rl.pause_pid()
    assert pid > 0
    assert Path("/proc/%d/comm" % pid).read_text().strip() == "husk-pause"
    st = os.stat("/proc/%d" % pid)
    assert st.st_uid == rl.user.uid
    uid_map = Path("/proc/%d/uid_map" % pid).read_text().split()
    start, count = rl.user.subuid
    assert uid_map == ["0", str(rl.user.uid), "1", "1", str(start), str(count)]
    # Later commands join it instead of making another.
    rl("ps", check=True)
    assert rl.pause_pid() == pid


def test_run_rm_echo(rl):
    r = rl("run", "--rm", "--network", "none", "busybox", "echo", "hello", check=True)
    assert r.stdout == "hello\n"
    r = rl("run", "--rm", "busybox", "sh", "-c", "id -u; cat /proc/self/uid_map", check=True)
    lines = r.stdout.split("\n")
    assert lines[0] == "0"
    # The container's root is the user itself on the host.
    assert lines[1].split() == ["0", str(rl.user.uid), "1"]
    assert rl("ps", "-aq").stdout.strip() == ""


def test_detached_ps_logs_exec_stop_rm(rl):
    name = "d" + os.urandom(3).hex()
    r = rl("run", "-d", "--name", name, "busybox", "sh", "-c",
           "echo started; trap 'exit 0' TERM; while :; do sleep 0.1; done", check=True)
    cid = r.stdout.strip()
    for _ in range(50):
        if "started" in rl("logs", name).stdout:
            break
        time.sleep(0.1)
    assert rl("logs", name, check=True).stdout == "started\n"
    ps = rl("ps", check=True).stdout
    assert name in ps and "Up" in ps
    r = rl("exec", name, "cat", "/proc/1/comm", check=True)
    assert r.stdout.strip() == "sh"
    assert rl.inspect(name)["State"]["Status"] == "running"
    rl("stop", "-t", "5", name, check=True)
    assert rl.inspect(name)["State"]["Status"] == "exited"
    assert not rl.monitor_pids(cid)
    rl("rm", name, check=True)
    assert name not in rl("ps", "-a").stdout
    assert not rl.pause_mounts()


def test_file_of_uid_1000_is_a_subuid_on_the_host(rl):
    name = "f" + os.urandom(3).hex()
    rl("run", "--name", name, "-u", "1000:1000", "busybox", "sh", "-c",
       "echo x > /tmp/owned", check=True)
    cid = rl.inspect(name)["Id"]
    f = rl.root / "containers" / cid / "upper" / "tmp" / "owned"
    st = os.stat(f)
    start, _ = rl.user.subuid
    gstart, _ = rl.user.subgid
    # ids 1..N of the pause namespace are the subordinate range: 1000 is start + 999.
    assert (st.st_uid, st.st_gid) == (start + 999, gstart + 999)
    rl("rm", name, check=True)


@needs_pasta()
def test_publish_port_httpd_from_the_host(rl):
    port = free_port()
    name = "w" + os.urandom(3).hex()
    rl("run", "-d", "--name", name, "-p", "127.0.0.1:%d:80" % port, "busybox", "sh", "-c",
       "mkdir /www && echo hello-rootless > /www/index.html && httpd -f -p 80 -h /www",
       check=True)
    cid = rl.inspect(name)["Id"]
    body = None
    for _ in range(50):
        try:
            body = urllib.request.urlopen("http://127.0.0.1:%d/index.html" % port,
                                          timeout=2).read()
            break
        except OSError:
            time.sleep(0.1)
    assert body == b"hello-rootless\n"
    assert rl("port", name, check=True).stdout.strip() == "80/tcp -> 127.0.0.1:%d" % port
    assert "127.0.0.1:%d->80/tcp" % port in rl("ps", check=True).stdout
    assert len(procs_with(cid + "/pasta.pid")) == 1
    rl("rm", "-f", name, check=True)
    assert not procs_with(cid + "/pasta.pid")
    # The host port is free again (SO_REUSEADDR: a TIME_WAIT of the fetch is fine,
    # a listener is not).
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.close()


@needs_pasta()
def test_publish_free_host_port(rl):
    name = "r" + os.urandom(3).hex()
    rl("run", "-d", "--name", name, "-p", "127.0.0.1::80", "busybox", "sh", "-c",
       "mkdir /www && echo free-port > /www/index.html && httpd -f -p 80 -h /www", check=True)
    out = rl("port", name, check=True).stdout.strip()
    assert out.startswith("80/tcp -> 127.0.0.1:"), out
    port = int(out.rsplit(":", 1)[1])
    assert port > 0
    body = None
    for _ in range(50):
        try:
            body = urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=2).read()
            break
        except OSError:
            time.sleep(0.1)
    assert body == b"free-port\n"
    rl("rm", "-f", name, check=True)


@needs_pasta()
def test_outbound_tcp_and_udp_to_the_hosts_loopback(rl):
    """pasta maps the gateway address to the host's loopback."""
    tport, uport = free_port("tcp"), free_port("udp")
    got = {}
    ts = socket.socket()
    ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ts.bind(("127.0.0.1", tport))
    ts.listen(1)
    ts.settimeout(20)
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind(("127.0.0.1", uport))
    us.settimeout(20)

    def tcp():
        try:
            c, _ = ts.accept()
            c.settimeout(20)
            got["tcp"] = c.recv(100)
            c.sendall(b"pong-tcp\n")
            # The container's side closes first: Debian 12's pasta (2023-03)
            # has been seen to repeat the last data when the host closes first.
            c.recv(100)
            c.close()
        except OSError as e:
            got["tcp"] = e

    def udp():
        try:
            data, addr = us.recvfrom(512)
            got["udp"] = data
            # A TFTP error packet (opcode 5, code 1) with our message.
            us.sendto(b"\x00\x05\x00\x01pong-udp\x00", addr)
        except OSError as e:
            got["udp"] = e

    threads = [threading.Thread(target=tcp), threading.Thread(target=udp)]
    for t in threads:
        t.start()
    try:
        r = rl("run", "--rm", "busybox", "sh", "-c",
               "gw=$(ip route | awk '/^default/{print $3}'); "
               "(echo ping-tcp; sleep 1) | timeout 10 nc $gw %d | head -n 3; "
               "timeout 5 tftp -g -r ping-udp -l /tmp/x $gw %d 2>&1; true" % (tport, uport),
               check=True)
    finally:
        for t in threads:
            t.join(25)
        ts.close()
        us.close()
    assert got.get("tcp") == b"ping-tcp\n", (got, r)
    assert "pong-tcp" in r.stdout
    assert isinstance(got.get("udp"), bytes) and b"ping-udp" in got["udp"], (got, r)
    assert "pong-udp" in r.stdout, r


@needs_pasta()
def test_taken_host_port_is_an_error_before_start(rl):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        name = "p" + os.urandom(3).hex()
        r = rl("run", "-d", "--name", name, "-p", "127.0.0.1:%d:80" % port, "busybox",
               "sleep", "100")
        assert r.returncode != 0
        assert "127.0.0.1:%d/tcp" % port in r.stderr and "in use" in r.stderr, r
        assert not rl.monitor_pids(rl.inspect(name)["Id"])
        rl("rm", "-f", name, check=True)
        r = rl("run", "--rm", "-p", "80:80", "busybox", "true")
        assert r.returncode != 0 and "privileged" in r.stderr, r
    finally:
        s.close()


def test_bridge_networks_refused(rl):
    r = rl("network", "ls")
    assert r.returncode != 0 and "need root" in r.stderr, r
    r = rl("run", "--rm", "--network", "bridge", "busybox", "true")
    assert r.returncode != 0 and "bridge networks need root" in r.stderr, r
    r = rl("run", "--rm", "--network", "none", "-p", "8080:80", "busybox", "true")
    assert r.returncode != 0 and "-p/-P" in r.stderr, r


def test_network_host_and_none(rl):
    host_ns = os.readlink("/proc/self/ns/net")
    r = rl("run", "--rm", "--network", "host", "busybox", "readlink", "/proc/self/ns/net",
           check=True)
    assert r.stdout.strip() == host_ns
    r = rl("run", "--rm", "--network", "none", "busybox", "sh", "-c",
           "readlink /proc/self/ns/net; cat /proc/net/dev", check=True)
    lines = r.stdout.splitlines()
    assert lines[0] != host_ns
    assert {l.split(":")[0].strip() for l in lines[3:]} == {"lo"}


@needs_pasta()
def test_monitor_killed_next_command_releases_pasta(rl):
    port = free_port()
    name = "k" + os.urandom(3).hex()
    r = rl("run", "-d", "--name", name, "-p", "127.0.0.1:%d:80" % port, "busybox",
           "sleep", "1000", check=True)
    cid = r.stdout.strip()
    mons = rl.monitor_pids(cid)
    assert len(mons) == 1 and procs_with(cid + "/pasta.pid")
    os.kill(mons[0], signal.SIGKILL)
    for _ in range(100):
        if not rl.monitor_pids(cid):
            break
        time.sleep(0.02)
    assert "Exited" in rl("ps", "-a", check=True).stdout
    assert not procs_with(cid + "/pasta.pid")
    rl("rm", name, check=True)
    assert not rl.pause_mounts()


def test_runroot_without_xdg_runtime_dir(rl):
    """/tmp/husk-run-UID, the same for commands husk re-executes inside the
    pause process's namespace (exec), where the uid is 0."""
    runroot = Path("/tmp/husk-run-%d" % rl.user.uid)
    shutil.rmtree(runroot, ignore_errors=True)
    env = rl.env()
    del env["XDG_RUNTIME_DIR"]
    name = "x" + os.urandom(3).hex()
    try:
        rl("run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "100",
           env=env, check=True)
        assert (runroot / "pause.pid").exists()
        assert os.stat(runroot).st_uid == rl.user.uid
        r = rl("exec", name, "echo", "in", env=env, check=True)
        assert r.stdout == "in\n"
        rl("rm", "-f", name, env=env, check=True)
    finally:
        wrong = Path("/tmp/husk-run-0")  # where a uid taken inside the namespace leads
        made_wrong = wrong.exists() and os.stat(wrong).st_uid == rl.user.uid
        for d in (runroot, wrong) if made_wrong else (runroot,):
            try:
                os.kill(int((d / "pause.pid").read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
            shutil.rmtree(d, ignore_errors=True)
    assert not made_wrong, "%s made by the user" % wrong


def test_pause_process_recreated_when_gone(rl):
    assert rl("ps", "-aq", check=True).stdout.strip() == ""
    old = rl.pause_pid()
    assert old > 0
    os.kill(old, signal.SIGKILL)
    for _ in range(200):
        try:
            st = Path("/proc/%d/stat" % old).read_text()
        except OSError:
            break
        if st[st.rindex(")") + 2] == "Z":
            break
        time.sleep(0.01)
    r = rl("run", "--rm", "--network", "none", "busybox", "echo", "again", check=True)
    assert r.stdout == "again\n"
    new = rl.pause_pid()
    assert new > 0 and new != old
