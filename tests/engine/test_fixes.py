"""Fixes from the second round of issues 4 and 5: a MAC that follows the address,
NUL bytes in logs, stdin kept open after `run -d -i`."""
import subprocess
import time

import pytest


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
