"""--restart: no, on-failure[:N], always, unless-stopped, as docker's: the
monitor restarts the container with backoff, counts restarts in inspect's
.RestartCount, and stop/kill/rm end it for good."""
import os
import re
import signal
import time

import pytest


def state(husk, name):
    d = husk.inspect(name)
    return d["State"], d["RestartCount"]


def runs(husk, name):
    return husk.out("logs", name).count("run\n")


@pytest.mark.asan
def test_on_failure_with_limit(husk):
    husk.run("run", "-d", "--name", "f", "--restart", "on-failure:3", "busybox", "sh", "-c",
             "echo run; exit 3")
    husk.wait_for(lambda: state(husk, "f")[0]["Status"] == "exited", timeout=20,
                  what="the container to give up")
    st, count = state(husk, "f")
    assert count == 3 and st["ExitCode"] == 3 and not st["Restarting"]
    assert runs(husk, "f") == 4
    assert husk.inspect("f")["HostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                               "MaximumRetryCount": 3}
    # A manual start begins counting again.
    husk.run("start", "f")
    husk.wait_for(lambda: runs(husk, "f") == 8, timeout=20, what="4 more runs")
    husk.wait_for(lambda: state(husk, "f")[0]["Status"] == "exited", timeout=20,
                  what="the container to give up again")
    assert state(husk, "f")[1] == 3


def test_on_failure_success_and_no(husk):
    for name, pol in (("ok", "on-failure"), ("no", "no")):
        husk.run("run", "-d", "--name", name, "--restart", pol, "busybox", "sh", "-c",
                 "echo run; exit %d" % (0 if name == "ok" else 5))
    for name in ("ok", "no"):
        husk.run("wait", name)
    time.sleep(1)
    for name, code in (("ok", 0), ("no", 5)):
        st, count = state(husk, name)
        assert st["Status"] == "exited" and st["ExitCode"] == code and count == 0
        assert runs(husk, name) == 1


def test_always_backoff_and_stop(husk):
    husk.run("run", "-d", "--name", "a", "--restart", "always", "busybox", "sh", "-c",
             "echo run; exit 1")
    # 100, 200, 400 ... ms apart: a few restarts come quickly, then it waits.
    husk.wait_for(lambda: state(husk, "a")[0]["Restarting"], timeout=20,
                  what="a backoff long enough to see")
    st, count = state(husk, "a")
    assert st["Status"] == "restarting" and st["Running"] and st["Pid"] == 0
    assert count >= 1 and st["ExitCode"] == 1
    ps = husk.out("ps")
    assert re.search(r"Restarting \(1\) ", ps), ps
    t0 = time.time()
    husk.run("stop", "a")
    assert time.time() - t0 < 5
    st, count = state(husk, "a")
    assert st["Status"] == "exited"
    n = runs(husk, "a")
    time.sleep(2)
    assert state(husk, "a") == (st, count) or state(husk, "a")[0]["Status"] == "exited"
    assert state(husk, "a")[1] == count and runs(husk, "a") == n


def test_always_restarts_a_killed_init_until_stop(husk):
    husk.run("run", "-d", "--name", "u", "--restart", "always", "busybox", "sh", "-c",
             "echo run; exec sleep 1000")
    pid = husk.inspect("u")["State"]["Pid"]
    os.kill(pid, signal.SIGKILL)  # dies by itself, as far as husk knows
    husk.wait_for(lambda: husk.inspect("u")["State"]["Pid"] not in (0, pid), timeout=10,
                  what="a new init")
    assert state(husk, "u")[1] == 1 and runs(husk, "u") == 2
    husk.run("stop", "-t", "1", "u")
    time.sleep(1)
    st, count = state(husk, "u")
    assert st["Status"] == "exited" and count == 1 and runs(husk, "u") == 2


@pytest.mark.parametrize("how", ["stop", "kill", "rm"])
def test_unless_stopped_stays_stopped(husk, how):
    husk.run("run", "-d", "--name", "s", "--restart", "unless-stopped", "busybox", "sh", "-c",
             "echo run; exec sleep 1000")
    husk.wait_for(lambda: runs(husk, "s") == 1, what="the first run")
    if how == "rm":
        husk.run("rm", "-f", "s")
        assert husk.ids() == []
        return
    husk.run(*([how, "s"] if how == "stop" else ["kill", "s"]))
    husk.wait_for(lambda: state(husk, "s")[0]["Status"] == "exited", what="exited")
    time.sleep(1)
    st, count = state(husk, "s")
    assert st["Status"] == "exited" and count == 0 and runs(husk, "s") == 1


def test_bad_values(husk):
    for bad, words in (("bogus", "invalid restart policy"),
                       ("always:3", "maximum retry count cannot be used"),
                       ("on-failure:x", "must be a number"),
                       ("on-failure:-1", "must be a number"),
                       ("", "invalid restart policy")):
        r = husk.fail("run", "-d", "--restart", bad, "busybox", "true")
        assert "--restart '%s'" % bad in r.stderr and words in r.stderr, r.stderr
    r = husk.fail("run", "--rm", "--restart", "always", "busybox", "true")
    assert "--restart always and --rm" in r.stderr
    assert husk.ids() == []
