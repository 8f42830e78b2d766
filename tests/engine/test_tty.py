"""-t: a terminal for run and exec, tested under a real pty: the container sees
a tty of the right size, SIGWINCH resizes it, input and exit codes pass through,
and the outer terminal's mode is restored when husk exits."""
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time

import pytest


class Pty:
    def __init__(self, rows=24, cols=80):
        self.master, self.slave = os.openpty()
        self.set_size(rows, cols)
        self.out = b""

    def set_size(self, rows, cols):
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def spawn(self, husk, *args):
        return husk.popen(*args, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                          start_new_session=True)

    def write(self, data):
        os.write(self.master, data)

    def read_until(self, needle, timeout=15):
        end = time.time() + timeout
        while needle not in self.out and time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.2)
            if r:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    break
        assert needle in self.out, self.out
        return self.out

    def close(self):
        os.close(self.master)
        os.close(self.slave)


@pytest.mark.asan
def test_run_it_size_input_exit_and_restore(husk):
    t = Pty(33, 91)
    before = termios.tcgetattr(t.slave)
    p = t.spawn(husk, "run", "-it", "--rm", "busybox", "sh")
    try:
        t.write(b"tty; stty size; echo $((6*7))\n")
        out = t.read_until(b"42")
        assert b"/dev/pts/0" in out and b"33 91" in out
        # Raw mode here while it runs: our side of the pty does no echo processing.
        assert not termios.tcgetattr(t.slave)[3] & termios.ECHO
        t.set_size(40, 120)
        os.kill(p.pid, signal.SIGWINCH)
        # The resize travels CLI -> monitor -> pty asynchronously: ask until it shows.
        end = time.time() + 15
        while b"40 120" not in t.out and time.time() < end:
            t.write(b"stty size\n")
            try:
                t.read_until(b"40 120", timeout=0.5)
            except AssertionError:
                pass
        assert b"40 120" in t.out, t.out
        t.write(b"exit 7\n")
        assert p.wait(timeout=20) == 7
        assert termios.tcgetattr(t.slave) == before
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        t.close()


@pytest.mark.asan
def test_exec_it(husk):
    husk.run("run", "-d", "--name", "tt", "busybox", "sleep", "60")
    t = Pty(20, 70)
    before = termios.tcgetattr(t.slave)
    p = t.spawn(husk, "exec", "-it", "tt", "sh")
    try:
        t.write(b"tty; stty size; ls -d /proc/[1-9]* | wc -l; cat /proc/1/comm; exit 4\n")
        out = t.read_until(b"sleep")
        assert b"/dev/pts/" in out and b"20 70" in out
        assert p.wait(timeout=20) == 4
        assert termios.tcgetattr(t.slave) == before
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        t.close()


def test_t_without_a_terminal_here(husk):
    r = husk.run("run", "--rm", "-t", "busybox", "sh", "-c", "tty; exit 3", check=False)
    assert r.returncode == 3 and r.stdout.strip() == "/dev/pts/0"
    husk.run("run", "-d", "--name", "tl", "-t", "busybox", "sh", "-c", "echo in-log; sleep 60")
    husk.wait_for(lambda: "in-log" in husk.out("logs", "tl"), what="tty output in the log")
    assert husk.inspect("tl")["Config"]["Tty"] is True


def test_detach_keys_leave_it_running(husk):
    t = Pty()
    before = termios.tcgetattr(t.slave)
    p = t.spawn(husk, "run", "-it", "--name", "dk", "busybox", "sh")
    try:
        t.write(b"echo marker-$((40+2))\n")
        t.read_until(b"marker-42")
        # ctrl-p alone is passed on; ctrl-p ctrl-q (even split over two writes) detaches.
        t.write(b"\x10")
        time.sleep(0.2)
        t.write(b"\x11")
        assert p.wait(timeout=20) == 0
        t.read_until(b"read escape sequence")
        assert termios.tcgetattr(t.slave) == before
        assert husk.inspect("dk")["State"]["Running"]
        # Attach again and end it.
        p2 = t.spawn(husk, "attach", "dk")
        time.sleep(0.3)
        t.write(b"exit 3\n")
        assert p2.wait(timeout=20) == 3
        assert husk.inspect("dk")["State"]["ExitCode"] == 3
    finally:
        for q in (p,):
            if q.poll() is None:
                q.kill()
                q.wait()
        t.close()
