"""Leak checks: many run --rm cycles, and cycles whose monitor is SIGKILLed,
leave no mount, cgroup, process, file, fd or DB row (the fixture checks what
is left on the host after the test; this test checks between cycles too)."""
import os

import pytest


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


@pytest.mark.asan
def test_run_rm_cycles_leave_nothing(husk):
    n = int(os.environ.get("HUSK_LEAK_CYCLES", "30"))
    for i in range(n):
        r = husk.run("run", "--rm", "busybox", "sh", "-c", "echo cycle %d" % i)
        assert r.stdout == "cycle %d\n" % i
    assert husk.ids() == []
    assert husk.leftovers(set(), husk_cgroups_now(), kept_bridges=True) == []


def husk_cgroups_now():
    from conftest import memory_cgroup_children
    return memory_cgroup_children()


def test_run_stop_rm_cycles_and_monitor_fds(husk):
    for i in range(10):
        husk.run("run", "-d", "--name", "c%d" % i, "busybox", "sleep", "60")
        st = husk.inspect("c%d" % i)["State"]
        with open("/proc/%d/stat" % st["Pid"]) as f:
            mon = int(f.read().rsplit(")", 1)[1].split()[1])
        # The monitor holds a handful of fds: its stdio, the pipes, the log,
        # the attach socket, the signalfd and the database; never more per cycle.
        assert open_fds(mon) < 20, os.listdir("/proc/%d/fd" % mon)
        husk.run("stop", "-t", "0", "c%d" % i)
        husk.run("rm", "c%d" % i)
    assert husk.ids() == []


def test_monitor_sigkilled_cycles_leave_nothing(husk):
    for i in range(5):
        husk.run("run", "-d", "--rm", "--name", "m%d" % i, "busybox", "sleep", "60")
        pid, _ = husk.kill_monitor("m%d" % i)
        # The next command notices, kills the init and releases everything.
        assert husk.out("ps", "-a", "-q") == ""
        husk.wait_for(lambda: not os.path.exists("/proc/%d" % pid), what="init gone")
    assert husk.leftovers(set(), husk_cgroups_now(), kept_bridges=True) == []
