"""Fixes from the second round of issues 4 and 5: a MAC that follows the address,
NUL bytes in logs, stdin kept open after `run -d -i`."""
import os
import subprocess
import time

import pytest


@pytest.mark.asan
def test_restarted_container_keeps_mac_and_is_reachable_at_once(husk):
    """Without --mac-address the MAC comes from the address (02:42:a.b.c.d, as
    docker): a peer's ARP entry stays right across a restart, so it reaches the
    restarted container at once instead of after the neighbour entry expires."""
    husk.run("run", "-d", "--name", "a", "busybox", "sleep", "1000")
    husk.run("run", "-d", "--name", "b", "busybox", "sleep", "1000")
    ns = husk.inspect("b")["NetworkSettings"]
    ip = ns["IPAddress"]
    want = "02:42:" + ":".join("%02x" % int(x) for x in ip.split("."))
    assert ns["MacAddress"] == want
    out = husk.out("exec", "b", "cat", "/sys/class/net/eth0/address").strip()
    assert out == want
    # A learns B's MAC.
    husk.run("exec", "a", "ping", "-c", "1", "-W", "2", ip)
    husk.run("restart", "-t", "0", "b")
    assert husk.inspect("b")["NetworkSettings"]["IPAddress"] == ip
    assert husk.inspect("b")["NetworkSettings"]["MacAddress"] == want
    # B sends nothing first: A must reach it with the MAC it already holds.
    end = time.time() + 4
    while True:
        r = husk.run("exec", "a", "ping", "-c", "1", "-W", "1", ip, check=False)
        if r.returncode == 0:
            break
        assert time.time() < end, "a cannot reach b after b restarted: %r" % r
    # An explicit --mac-address still wins.
    husk.run("run", "-d", "--name", "c", "--mac-address", "02:11:22:33:44:55", "busybox",
             "sleep", "1000")
    assert husk.out("exec", "c", "cat", "/sys/class/net/eth0/address").strip() == \
        "02:11:22:33:44:55"
    husk.run("rm", "-f", "a", "b", "c")


@pytest.mark.asan
@pytest.mark.parametrize("driver", ["k8s-file", "json-file"])
def test_logs_keep_nul_bytes(husk, driver):
    """A NUL the container writes is logged and read back byte for byte (json-file
    escapes it as \\u0000, as docker)."""
    husk.run("run", "--name", "z", "--log-driver", driver, "busybox", "sh", "-c",
             r"printf 'a\0b\n'; printf 'x\0\0y\n' >&2; printf 'p\0'; sleep 0.2; printf 'q\n'")
    raw = open(husk.inspect("z")["LogPath"], "rb").read()
    if driver == "json-file":
        assert b'"log":"a\\u0000b\\n"' in raw, raw
    else:
        assert b" stdout F a\0b\n" in raw, raw
    p = subprocess.run(husk.cmdline("logs", "z"), capture_output=True, env=husk.env,
                       timeout=30)
    assert p.returncode == 0, p
    assert p.stdout == b"a\0b\np\0q\n", p.stdout
    assert p.stderr == b"x\0\0y\n", p.stderr
    husk.run("rm", "z")


def read_line(p, timeout=10):
    """One line from a Popen's stdout, or an AssertionError after timeout."""
    import select
    buf = b""
    end = time.time() + timeout
    while not buf.endswith(b"\n"):
        left = end - time.time()
        assert left > 0, "no line in time, got %r" % buf
        if select.select([p.stdout], [], [], left)[0]:
            c = os.read(p.stdout.fileno(), 1)
            assert c, "EOF after %r" % buf
            buf += c
    return buf


def echo_through(husk, args, text, close_stdin=False):
    """Starts `husk ARGS` with pipes, writes text, returns the first line it
    prints; closes its stdin first when asked; kills it at the end."""
    p = husk.popen(*args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)
        p.stdin.write(text)
        p.stdin.flush()
        if close_stdin:
            p.stdin.close()
        return read_line(p)
    finally:
        p.kill()
        p.wait()


def status(husk, name):
    return husk.inspect(name)["State"]["Status"]


def test_run_detached_interactive_keeps_stdin_open(husk):
    """As docker (StdinOnce false after run -d): `run -d -i` keeps the container's
    stdin open once the CLI left, and an attach that ends (killed, or its stdin
    at EOF) does not close it either: the next attach still writes to it."""
    husk.run("run", "-d", "-i", "--name", "c", "busybox", "cat")
    time.sleep(0.5)
    assert status(husk, "c") == "running"
    assert not husk.inspect("c")["Config"]["StdinOnce"]
    assert echo_through(husk, ["attach", "c"], b"one\n") == b"one\n"
    assert echo_through(husk, ["attach", "c"], b"two\n", close_stdin=True) == b"two\n"
    time.sleep(0.5)
    assert status(husk, "c") == "running"
    assert echo_through(husk, ["attach", "c"], b"three\n") == b"three\n"
    assert status(husk, "c") == "running"
    husk.run("rm", "-f", "c")


def wait_exited(husk, name, timeout=5):
    husk.wait_for(lambda: status(husk, name) == "exited", timeout=timeout,
                  what="%s to exit" % name)


def test_attached_interactive_closes_stdin_when_its_client_leaves(husk):
    """As docker (StdinOnce true for run -i and create -i): the attached client
    leaving, even killed, closes the container's stdin; cat then ends."""
    assert echo_through(husk, ["run", "-i", "--name", "k", "busybox", "cat"], b"x\n") == b"x\n"
    wait_exited(husk, "k")
    husk.run("create", "-i", "--name", "s", "busybox", "cat")
    assert husk.inspect("s")["Config"]["StdinOnce"]
    assert echo_through(husk, ["start", "-a", "-i", "s"], b"y\n") == b"y\n"
    wait_exited(husk, "s")
    husk.run("rm", "k", "s")
