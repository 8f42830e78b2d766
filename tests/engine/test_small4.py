"""Small pieces of docker's container commands: ps -n/-l/--filter,
--stop-timeout, exec --privileged, version and info."""
import json
import os
import re
import time

import pytest


def names(husk, *args):
    return husk.out("ps", *args, "--format", "{{.Names}}").split()


@pytest.mark.asan
def test_ps_last_latest_filter(husk):
    husk.run("create", "--name", "s1", "--label", "tier=web", "busybox", "true")
    husk.run("run", "--name", "s2", "--label", "tier=db", "busybox", "sh", "-c", "exit 3", check=False)
    cid3 = husk.out("run", "-d", "--name", "s3", "--label", "solo", "busybox",
                    "sleep", "30").strip()
    husk.run("run", "--name", "x4", "busybox", "true")
    # -n N / -l: the newest first, in every state
    assert names(husk, "-n", "2") == ["x4", "s3"]
    assert names(husk, "-n", "3") == ["x4", "s3", "s2"]
    assert names(husk, "-l") == ["x4"]
    assert names(husk, "--latest") == ["x4"]
    assert husk.out("ps", "-l", "-q") == husk.inspect("x4")["Id"][:12] + "\n"
    assert names(husk) == ["s3"]
    # status= lists every state; same key ORs
    assert names(husk, "--filter", "status=exited") == ["x4", "s2"]
    assert names(husk, "--filter", "status=created", "--filter", "status=running") == [
        "s3", "s1"]
    # name= is a regular expression, with or without docker's leading slash
    assert names(husk, "-a", "--filter", "name=s") == ["s3", "s2", "s1"]
    assert names(husk, "-a", "--filter", "name=^s[12]$") == ["s2", "s1"]
    assert names(husk, "-a", "--filter", "name=^/x") == ["x4"]
    assert names(husk, "-a", "--filter", "id=" + cid3[:10]) == ["s3"]
    # label=K and label=K=V
    assert names(husk, "-a", "--filter", "label=tier") == ["s2", "s1"]
    assert names(husk, "-a", "--filter", "label=tier=db") == ["s2"]
    assert names(husk, "-a", "--filter", "label=solo") == ["s3"]
    assert names(husk, "-a", "--filter", "label=nope") == []
    # exited=CODE only matches exited containers
    assert names(husk, "-a", "--filter", "exited=3") == ["s2"]
    assert names(husk, "-a", "--filter", "exited=0") == ["x4"]
    # ancestor: name, name:tag, id prefix
    assert len(names(husk, "-a", "--filter", "ancestor=busybox")) == 4
    assert len(names(husk, "-a", "--filter", "ancestor=busybox:latest")) == 4
    iid = husk.inspect("s1")["Image"]
    assert len(names(husk, "-a", "--filter", "ancestor=" + iid)) == 4
    assert names(husk, "-a", "--filter", "ancestor=alpine") == []
    # an image built on busybox counts as its descendant, not the other way round
    husk.run("run", "--name", "base", "busybox", "sh", "-c", "echo hi > /hi")
    husk.run("commit", "base", "child:1")
    husk.run("create", "--name", "kid", "child:1", "true")
    assert "kid" in names(husk, "-a", "--filter", "ancestor=busybox")
    assert names(husk, "-a", "--filter", "ancestor=child:1") == ["kid"]
    husk.run("rm", "base", "kid")
    # different keys AND; filters then -n
    assert names(husk, "-a", "--filter", "name=s", "--filter", "status=exited") == ["s2"]
    assert names(husk, "--filter", "name=s", "-n", "1") == ["s3"]
    assert names(husk, "--filter", "status=exited", "-l") == ["x4"]
    # without -a, non-status filters still only see running containers
    assert names(husk, "--filter", "name=s") == ["s3"]
    # bad input is named
    for bad, word in (("bogus=1", "bogus"), ("status=sleepy", "sleepy"), ("noequals", "noequals"),
                      ("exited=abc", "abc"), ("name=(", "name=(")):
        r = husk.fail("ps", "--filter", bad)
        assert word in r.stderr, r
    r = husk.fail("ps", "-n", "x")
    assert "'x'" in r.stderr


def test_stop_timeout(husk):
    # busybox sleep as pid 1 ignores SIGTERM: stop waits the timeout, then SIGKILLs
    husk.run("run", "-d", "--name", "st", "--stop-timeout", "2", "busybox", "sleep", "60")
    husk.run("create", "--name", "plain", "busybox", "true")
    assert husk.inspect("st")["Config"]["StopTimeout"] == 2
    assert "StopTimeout" not in husk.inspect("plain")["Config"]
    t = time.monotonic()
    husk.run("stop", "st")
    took = time.monotonic() - t
    assert 1.8 <= took < 8, took
    assert husk.inspect("st")["State"]["ExitCode"] == 137
    # -t still wins
    husk.run("start", "st")
    t = time.monotonic()
    husk.run("stop", "-t", "0", "st")
    assert time.monotonic() - t < 1.5
    for bad in ("x", "-1", "99999999"):
        r = husk.fail("create", "--stop-timeout", bad, "busybox", "true")
        assert "--stop-timeout '%s'" % bad in r.stderr, r


def status_field(text, key):
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("no %s in %r" % (key, text))


@pytest.mark.asan
def test_exec_privileged(husk):
    husk.run("run", "-d", "--name", "ep", "busybox", "sleep", "60")
    ours = int(status_field(open("/proc/self/status").read(), "CapBnd"), 16)
    plain = husk.out("exec", "ep", "cat", "/proc/self/status")
    assert status_field(plain, "Seccomp") == "2"
    assert int(status_field(plain, "CapEff"), 16) != ours
    priv = husk.out("exec", "--privileged", "ep", "cat", "/proc/self/status")
    assert status_field(priv, "Seccomp") == "0"
    for k in ("CapEff", "CapPrm", "CapBnd"):
        assert int(status_field(priv, k), 16) == ours, (k, priv)
    # a non-root user still gets no effective capabilities, as docker
    user = husk.out("exec", "--privileged", "-u", "1000", "ep", "cat", "/proc/self/status")
    assert int(status_field(user, "CapEff"), 16) == 0
    assert int(status_field(user, "CapBnd"), 16) == ours
    # the container's own processes are untouched
    assert status_field(husk.out("exec", "ep", "cat", "/proc/1/status"), "Seccomp") == "2"


@pytest.mark.asan
def test_version(husk):
    out = husk.out("version")
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    lines = out.splitlines()
    assert lines[0] == "Client:"
    assert re.fullmatch(r" Version: +\d+\.\d+\.\d+", lines[1]), out
    assert re.fullmatch(r" OCI spec version: +1\.\d+\.\d+", lines[2]), out
    assert re.fullmatch(r" OS/Arch: +linux/" + arch, lines[3]), out
    assert husk.out("version", "--format", "{{.Client.Os}}/{{.Client.Arch}}") == "linux/%s\n" % arch
    assert json.loads(husk.out("version", "--format", "{{json .}}"))["Client"]["Version"]
    r = husk.fail("version", "--format", "{{.Client")
    assert "{{.Client" in r.stderr or "template" in r.stderr, r


def host_cgroup_mode():
    fs = [l.split(" - ", 1)[1].split()[0] for l in open("/proc/self/mountinfo")]
    if "cgroup" not in fs:
        return "v2", "2"
    return ("hybrid" if "cgroup2" in fs else "v1"), "1"


@pytest.mark.asan
def test_info(husk):
    husk.run("run", "-d", "--name", "up", "busybox", "sleep", "60")
    husk.run("run", "-d", "--name", "frozen", "busybox", "sleep", "60")
    husk.run("pause", "frozen")
    husk.run("create", "--name", "new", "busybox", "true")
    husk.run("run", "--name", "done", "busybox", "true")
    info = json.loads(husk.out("info", "--format", "{{json .}}"))
    assert (info["Containers"], info["ContainersRunning"], info["ContainersPaused"],
            info["ContainersStopped"]) == (4, 1, 1, 2)
    assert info["Images"] == 1
    assert info["DockerRootDir"] == str(husk.root) and info["RunRoot"] == str(husk.runroot)
    assert (info["CgroupMode"], info["CgroupVersion"]) == host_cgroup_mode()
    assert info["KernelVersion"] == os.uname().release
    assert info["NCPU"] == os.sysconf("SC_NPROCESSORS_ONLN")
    mem = [l for l in open("/proc/meminfo") if l.startswith("MemTotal:")][0]
    assert info["MemTotal"] == int(mem.split()[1]) * 1024
    assert info["DefaultRuntime"] == "husk (built in)"
    assert info["SeccompProfile"] == "/usr/share/containers/seccomp.json"
    pretty = [l for l in open("/etc/os-release") if l.startswith("PRETTY_NAME=")][0]
    assert info["OperatingSystem"] == pretty.split("=", 1)[1].strip().strip('"')
    assert husk.out("info", "--format", "{{.ContainersPaused}} {{.Images}}") == "1 1\n"
    text = husk.out("info")
    for want in (" Containers: 4\n", "  Running: 1\n", "  Paused: 1\n", "  Stopped: 2\n",
                 " Images: 1\n", " Storage Root: %s\n" % husk.root,
                 " Cgroup Version: %s (%s)\n" % host_cgroup_mode()[::-1],
                 " Default Runtime: husk (built in)\n", " CPUs: %d\n" % info["NCPU"]):
        assert want in text, (want, text)
    husk.run("unpause", "frozen")
    r = husk.fail("info", "extra")
    assert "'extra'" in r.stderr
