"""--detach-keys for run, start, attach and exec (docker's syntax, default
ctrl-p,ctrl-q), under a real pty: the keys detach and leave the container
(or exec'd process) running, other keys pass through."""
import time

import pytest

from test_tty import Pty


def typed_then(t, husk, p, keys, name=None):
    """Types keys, expects husk to detach (exit 0, the message)."""
    t.write(keys)
    assert p.wait(timeout=20) == 0
    t.read_until(b"read escape sequence")
    if name:
        assert husk.inspect(name)["State"]["Running"]


def stop_all(*ps):
    for q in ps:
        if q is not None and q.poll() is None:
            q.kill()
            q.wait()


@pytest.mark.asan
def test_run_custom_keys_and_the_default_passes_through(husk):
    t = Pty()
    p = t.spawn(husk, "run", "-it", "--name", "d1", "--detach-keys", "ctrl-x,y", "busybox", "sh")
    try:
        t.write(b"echo one-$((1+1))\n")
        t.read_until(b"one-2")
        # The default sequence is not ours now: it reaches the shell, husk stays.
        t.write(b"\x10\x11")
        time.sleep(0.5)
        assert p.poll() is None
        # ctrl-x then something else: both go on; the shell still runs commands.
        t.write(b"\x18")
        time.sleep(0.2)
        t.write(b"\x15echo two-$((2+1))\n")  # ctrl-u clears the line first
        t.read_until(b"two-3")
        assert p.poll() is None
        typed_then(t, husk, p, b"\x18y", "d1")
    finally:
        stop_all(p)
        t.close()


def test_attach_and_start_with_keys(husk):
    husk.run("create", "-it", "--name", "d2", "busybox", "sh")
    t = Pty()
    p = t.spawn(husk, "start", "-ai", "--detach-keys", "ctrl-a,ctrl-b,c", "d2")
    p2 = None
    try:
        t.write(b"echo s-$((3*3))\n")
        t.read_until(b"s-9")
        typed_then(t, husk, p, b"\x01\x02c", "d2")
        p2 = t.spawn(husk, "attach", "--detach-keys", "z", "d2")
        time.sleep(0.3)
        t.write(b"echo a-$((4*4))\n")
        t.read_until(b"a-16")
        # A single plain key.
        t.out = b""
        typed_then(t, husk, p2, b"z", "d2")
        husk.run("stop", "-t", "0", "d2")
    finally:
        stop_all(p, p2)
        t.close()


def test_exec_default_and_custom_keys(husk):
    husk.run("run", "-d", "--name", "d3", "busybox", "sleep", "60")
    t = Pty()
    p = t.spawn(husk, "exec", "-it", "d3", "sh", "-c", "echo ready; exec sleep 50")
    p2 = None
    try:
        t.read_until(b"ready")
        typed_then(t, husk, p, b"\x10\x11")
        # The exec'd process runs on in the container.
        assert "sleep 50" in husk.out("exec", "d3", "ps")
        p2 = t.spawn(husk, "exec", "-it", "--detach-keys", "ctrl-e,e", "d3", "sh")
        t.write(b"echo e-$((5*5))\n")
        t.read_until(b"e-25")
        t.out = b""
        typed_then(t, husk, p2, b"\x05e")
    finally:
        stop_all(p, p2)
        t.close()


def test_bad_detach_keys(husk):
    husk.run("run", "-d", "--name", "d4", "busybox", "sleep", "60")
    for cmd in (["run", "--detach-keys", "ctrl-1", "busybox", "true"],
                ["attach", "--detach-keys", "ab", "d4"],
                ["start", "--detach-keys", "x,", "d4"],
                ["exec", "--detach-keys", "ctrl-", "d4", "true"]):
        r = husk.fail(*cmd)
        assert "--detach-keys '%s'" % cmd[2] in r.stderr, r.stderr
    assert len(husk.ids()) == 1
