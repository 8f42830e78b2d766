"""The issue's leak check: 200 run -d / stop / rm cycles and 20 cycles whose
monitor is SIGKILLed leave no mount, cgroup, process, fd, file or DB row.
HUSK_LEAK_BIG scales the counts down (e.g. 0.1) on a slow machine."""
import os
import signal
import time

from conftest import memory_cgroup_children

SCALE = float(os.environ.get("HUSK_LEAK_BIG", "1"))


def fds_of(pid):
    """What pid's fds point to (the listing's own fd, gone by now, is skipped)."""
    res = []
    for f in os.listdir("/proc/%d/fd" % pid):
        try:
            res.append(os.readlink("/proc/%d/fd/%s" % (pid, f)))
        except FileNotFoundError:
            pass
    return sorted(res)


def monitor_of(husk, name):
    pid = husk.inspect(name)["State"]["Pid"]
    with open("/proc/%d/stat" % pid) as f:
        return pid, int(f.read().rsplit(")", 1)[1].split()[1])


def test_200_run_stop_rm_cycles(husk):
    before = memory_cgroup_children()
    my_fds = fds_of(os.getpid())
    n = max(1, int(200 * SCALE))
    t0 = time.time()
    mon_fds = None
    for i in range(n):
        name = "c%d" % i
        husk.run("run", "-d", "--name", name, "busybox", "sleep", "60")
        if i in (0, n - 1):
            # The monitor holds the same set of fds in the first and the last cycle.
            _, mon = monitor_of(husk, name)
            kinds = sorted(f.split(":")[0] if ":" in f else "path" for f in fds_of(mon))
            assert mon_fds is None or kinds == mon_fds, (mon_fds, kinds)
            mon_fds = kinds
        husk.run("stop", "-t", "0", name)
        husk.run("rm", name)
        if i % 50 == 49:
            assert husk.ids() == []
            assert husk.leftovers(set(husk.seen), before, kept_bridges=True) == []
    print("%d cycles in %.1f s" % (n, time.time() - t0))
    assert husk.db_rows() == []
    assert husk.leftovers(set(), before, kept_bridges=True) == []
    assert fds_of(os.getpid()) == my_fds


def test_20_monitor_sigkilled_cycles(husk):
    before = memory_cgroup_children()
    n = max(1, int(20 * SCALE))
    for i in range(n):
        name = "k%d" % i
        # Half --rm, half with a restart policy: neither may come back or stay.
        extra = ["--rm"] if i % 2 == 0 else ["--restart", "always"]
        husk.run("run", "-d", "--name", name, *extra, "busybox", "sleep", "60")
        init, mon = monitor_of(husk, name)
        os.kill(mon, signal.SIGKILL)
        husk.wait_for(lambda: not os.path.exists("/proc/%d" % mon) or
                      open("/proc/%d/stat" % mon).read().rsplit(")", 1)[1].split()[0] == "Z",
                      what="monitor gone")
        # The next command notices: kills the init, releases, removes --rm ones.
        ps = husk.out("ps", "-a", "--format", "{{.Names}} {{.State}}")
        assert ps == ("" if i % 2 == 0 else "%s exited\n" % name), ps
        husk.wait_for(lambda: not os.path.exists("/proc/%d" % init), what="init gone")
        if i % 2:
            st = husk.inspect(name)["State"]
            assert st["ExitCode"] == 137 and "monitor vanished" in st["Error"]
            husk.run("rm", name)
    assert husk.db_rows() == []
    assert husk.leftovers(set(), before, kept_bridges=True) == []
