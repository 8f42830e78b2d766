"""ps, logs, stop, kill, rm, wait, inspect, exec, names, and what survives
a killed monitor or CLI."""
import concurrent.futures
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import cgroup_dirs


def monitor_of(husk, name):
    pid = husk.inspect(name)["State"]["Pid"]
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


@pytest.mark.asan
def test_detach_ps_and_stop(husk):
    cid = husk.out("run", "-d", "--name", "web", "busybox", "sh", "-c",
                   "trap 'echo bye; exit 0' TERM; echo started; while true; do sleep 0.1; done"
                   ).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    husk.wait_for(lambda: "started" in husk.out("logs", "web"), what="started in logs")
    lines = husk.out("ps").splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                             "STATUS", "PORTS", "NAMES"]
    assert len(lines) == 2 and lines[1].startswith(cid[:12] + "   busybox   \"sh -c trap")
    assert re.search(r"   Up (Less than a second|\d+ seconds?)   ", lines[1]), lines[1]
    assert lines[1].endswith("web")
    t = time.time()
    assert husk.out("stop", "web") == "web\n"
    assert time.time() - t < 5
    st = husk.inspect("web")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 0 and st["Pid"] == 0
    assert husk.out("logs", "web") == "started\nbye\n"
    assert husk.out("ps", "-q") == ""
    line = husk.out("ps", "-a").splitlines()[1]
    assert re.search(r"Exited \(0\) (Less than a second|\d+ seconds?) ago", line), line
    assert husk.out("rm", "web") == "web\n"
    assert husk.out("ps", "-a", "-q") == ""


def test_stop_timeout_then_sigkill(husk):
    husk.run("run", "-d", "--name", "stubborn", "busybox", "sleep", "60")
    t = time.time()
    husk.run("stop", "-t", "1", "stubborn")
    took = time.time() - t
    assert 0.9 < took < 5, took
    assert husk.inspect("stubborn")["State"]["ExitCode"] == 137


def test_stop_signal_flag(husk):
    husk.run("run", "-d", "--name", "s", "--stop-signal", "USR1", "busybox", "sh", "-c",
             "trap 'echo got-usr1; exit 7' USR1; while true; do sleep 0.1; done")
    time.sleep(0.3)
    husk.run("stop", "-t", "5", "s")
    assert husk.inspect("s")["State"]["ExitCode"] == 7
    assert "got-usr1" in husk.out("logs", "s")


def test_kill_with_signal_and_errors(husk):
    husk.run("run", "-d", "--name", "k", "busybox", "sh", "-c",
             "trap 'echo hup' HUP; echo ready; while true; do sleep 0.1; done")
    husk.wait_for(lambda: "ready" in husk.out("logs", "k"), what="ready")
    husk.run("kill", "-s", "HUP", "k")
    husk.wait_for(lambda: "hup" in husk.out("logs", "k"), what="hup in logs")
    assert husk.inspect("k")["State"]["Running"]
    assert "unknown signal" in husk.fail("kill", "-s", "NOPE", "k").stderr
    husk.run("kill", "k")
    assert husk.out("wait", "k") == "137\n"
    assert "is not running" in husk.fail("kill", "k").stderr


@pytest.mark.asan
def test_rm_running_needs_force(husk):
    husk.run("run", "-d", "--name", "busy", "busybox", "sleep", "60")
    r = husk.fail("rm", "busy")
    assert "cannot remove container busy" in r.stderr and "force" in r.stderr
    assert husk.out("rm", "-f", "busy") == "busy\n"
    assert husk.ids() == []
    assert "no such container: busy" in husk.fail("rm", "busy").stderr


def test_wait_prints_exit_code_even_for_rm(husk):
    husk.run("run", "-d", "--rm", "--name", "w", "busybox", "sh", "-c", "sleep 0.5; exit 5")
    assert husk.out("wait", "w") == "5\n"
    husk.wait_for(lambda: husk.ids() == [], what="--rm container removed")


@pytest.mark.asan
def test_inspect_shape(husk):
    cid = husk.out("run", "-d", "--name", "insp", "-e", "A=1", "--label", "team=x",
                   "busybox", "sleep", "30").strip()
    doc = json.loads(husk.out("inspect", "insp"))
    assert isinstance(doc, list) and len(doc) == 1
    c = doc[0]
    assert c["Id"] == cid and c["Name"] == "/insp"
    st = c["State"]
    assert st["Status"] == "running" and st["Running"] is True and st["ExitCode"] == 0
    assert st["Pid"] > 0 and os.path.exists("/proc/%d" % st["Pid"])
    assert st["StartedAt"].endswith("Z") and st["FinishedAt"] == "0001-01-01T00:00:00Z"
    assert c["Path"] == "sleep" and c["Args"] == ["30"]
    assert "A=1" in c["Config"]["Env"] and c["Config"]["Labels"] == {"team": "x"}
    assert c["Config"]["Cmd"] == ["sleep", "30"] and c["Config"]["Image"] == "busybox"
    assert c["HostConfig"]["AutoRemove"] is False and c["Mounts"] == []
    assert c["Image"].startswith("sha256:")
    assert husk.out("inspect", "-f", "{{.State.Pid}}", "insp").strip() == str(st["Pid"])
    # The host sees the same process: nsenter into its namespaces.
    r = subprocess.run(["nsenter", "--target", str(st["Pid"]), "--mount", "--uts", "--ipc",
                        "--net", "--pid", "ps"], capture_output=True, text=True)
    assert r.returncode == 0 and "sleep 30" in r.stdout, r
    # A name that is no container falls back to the image.
    img = json.loads(husk.out("inspect", "busybox"))
    assert img[0]["Id"] == c["Image"]
    assert "no such container: nope" in husk.fail("inspect", "nope", "insp").stderr


def test_ps_format_quiet_notrunc(husk):
    cid = husk.out("run", "-d", "--name", "f1", "busybox", "sleep", "30").strip()
    husk.run("create", "--name", "f2", "busybox", "true")
    assert husk.out("ps", "-q") == cid[:12] + "\n"
    assert husk.out("ps", "-q", "--no-trunc") == cid + "\n"
    assert sorted(husk.out("ps", "-a", "--format", "{{.Names}}").split()) == ["f1", "f2"]
    assert husk.out("ps", "--format", "{{.ID}} {{.State}}") == cid[:12] + " running\n"
    rows = [json.loads(l) for l in husk.out("ps", "-a", "--format", "json").splitlines()]
    assert {r["Names"]: r["Status"] for r in rows}["f2"] == "Created"
    full = husk.out("ps", "--no-trunc")
    assert cid in full and '"sleep 30"' not in full and "sleep 30" in full


@pytest.mark.asan
def test_logs_format_tail_timestamps_follow(husk):
    husk.run("run", "--name", "l", "busybox", "sh", "-c",
             "echo one; echo two >&2; printf 'par'; sleep 0.1; printf 'tial\\n'; echo three")
    log = husk.inspect("l")["LogPath"]
    recs = open(log).read().splitlines()
    pat = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) (F|P) (.*)")
    parsed = [pat.fullmatch(r).groups() for r in recs]
    assert ("stdout", "F", "one") in parsed and ("stderr", "F", "two") in parsed
    assert ("stdout", "P", "par") in parsed and ("stdout", "F", "tial") in parsed
    r = husk.run("logs", "l")
    assert r.stdout == "one\npartial\nthree\n" and r.stderr == "two\n"
    assert husk.out("logs", "--tail", "1", "l") == "three\n"
    ts = husk.out("logs", "-t", "--tail", "1", "l")
    assert re.fullmatch(r"\S+Z three\n", ts)
    # -f follows a running container until it exits.
    husk.run("run", "-d", "--name", "lf", "busybox", "sh", "-c",
             "for i in 1 2 3; do echo n$i; sleep 0.3; done")
    r = husk.run("logs", "-f", "lf", timeout=20)
    assert r.stdout == "n1\nn2\nn3\n"


@pytest.mark.asan
def test_exec(husk):
    husk.run("run", "-d", "--name", "ex", "-e", "BASE=1", "busybox", "sleep", "30")
    out = husk.out("exec", "-e", "X=2", "-w", "/tmp", "ex", "sh", "-c", "echo $BASE$X; pwd; id -u")
    assert out == "12\n/tmp\n0\n"
    assert husk.out("exec", "-u", "daemon", "ex", "id", "-un") == "daemon\n"
    assert husk.run("exec", "ex", "sh", "-c", "exit 9", check=False).returncode == 9
    assert husk.run("exec", "ex", "nosuchcmd", check=False).returncode == 127
    assert husk.run("exec", "-i", "ex", "cat", input=b"piped\n").stdout == "piped\n"
    husk.run("exec", "-d", "ex", "sh", "-c", "echo detached > /tmp/d")
    husk.wait_for(lambda: husk.run("exec", "ex", "cat", "/tmp/d", check=False).stdout
                  == "detached\n", what="exec -d effect")
    husk.run("stop", "-t", "0", "ex")
    assert "is not running" in husk.fail("exec", "ex", "true").stderr


def test_names_unique_prefix_and_ambiguity(husk):
    cid = husk.out("create", "--name", "dup", "busybox", "true").strip()
    r = husk.fail("create", "--name", "dup", "busybox", "true")
    assert "the container name '/dup' is already in use" in r.stderr
    # Random names: adjective_noun.
    other = husk.out("create", "busybox", "true").strip()
    name = husk.inspect(other)["Name"]
    assert re.fullmatch(r"/[a-z]+_[a-z]+\d?", name), name
    assert husk.inspect(cid[:5])["Id"] == cid
    # 17 containers: two share their first hex digit, which is then ambiguous.
    ids = [cid, other] + [husk.out("create", "busybox", "true").strip() for _ in range(15)]
    firsts = [i[0] for i in ids]
    dup = next(c for c in firsts if firsts.count(c) > 1)
    r = husk.fail("inspect", dup)
    assert "multiple containers match '%s'" % dup in r.stderr
    assert "no such container: zzz" in husk.fail("rm", "zzz").stderr


def test_concurrent_creates_never_share_a_name(husk):
    def create(_):
        return husk.run("create", "--name", "race", "busybox", "true", check=False).returncode

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        codes = list(ex.map(create, range(8)))
    assert codes.count(0) == 1, codes
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda _: husk.run("create", "busybox", "true"), range(16)))
    rows = husk.db_rows()
    assert len(rows) == 17 and len({r[1] for r in rows}) == 17


def test_rmi_refuses_an_image_in_use(husk):
    husk.run("create", "--name", "user", "busybox", "true")
    r = husk.fail("rmi", "busybox")
    assert "must force" in r.stderr and "container" in r.stderr
    husk.run("rmi", "-f", "busybox")
    # Untagged, kept for the container, which still runs.
    assert husk.run("start", "-a", "user").returncode == 0
    husk.run("rm", "user")


@pytest.mark.asan
def test_monitor_sigkill_is_noticed(husk):
    cid = husk.out("run", "-d", "--name", "orphan", "busybox", "sleep", "60").strip()
    mon = monitor_of(husk, "orphan")
    init = husk.inspect("orphan")["State"]["Pid"]
    os.kill(mon, signal.SIGKILL)
    husk.wait_for(lambda: not os.path.exists("/proc/%d/cmdline" % mon) or
                  open("/proc/%d/cmdline" % mon).read() == "", what="monitor gone")
    line = husk.out("ps", "-a").splitlines()[1]
    assert "Exited (137)" in line, line
    st = husk.inspect("orphan")["State"]
    assert st["Status"] == "exited" and "monitor" in st["Error"]
    husk.wait_for(lambda: not os.path.exists("/proc/%d" % init), what="init killed")
    assert cgroup_dirs(cid) == []
    assert str(husk.base) not in open("/proc/self/mountinfo").read()
    # It can start again.
    husk.run("start", "orphan")
    assert husk.inspect("orphan")["State"]["Running"]
    husk.run("stop", "-t", "0", "orphan")


def test_monitor_sigkill_with_rm_removes(husk):
    husk.run("run", "-d", "--rm", "--name", "gone", "busybox", "sleep", "60")
    os.kill(monitor_of(husk, "gone"), signal.SIGKILL)
    time.sleep(0.2)
    assert husk.out("ps", "-a", "-q") == ""
    assert husk.db_rows() == []


def test_killed_cli_leaves_a_managed_container(husk):
    p = husk.popen("run", "--name", "fg", "busybox", "sh", "-c", "echo hi; sleep 60",
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"hi\n"
    p.kill()
    p.wait()
    p.stdout.close()
    p.stderr.close()
    # The container is the monitor's, not the CLI's: it runs on and is managed.
    assert husk.inspect("fg")["State"]["Running"]
    husk.run("stop", "-t", "0", "fg")
    assert husk.inspect("fg")["State"]["ExitCode"] == 137


def test_cli_killed_at_random_moments(husk):
    # SIGKILL the CLI at different points of `run --rm`; whatever it left must be a
    # whole container that rm -f removes (the fixture checks for leftovers).
    for delay in (0.0, 0.005, 0.01, 0.02, 0.04, 0.08):
        p = husk.popen("run", "--rm", "busybox", "sleep", "0.3",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.kill()
        p.wait()
    time.sleep(0.6)
    for cid in husk.ids():
        r = husk.run("rm", "-f", cid, check=False)
        # speed: a run now takes about as long as the wait above, so a --rm
        # container may be removed by its monitor between ids() and rm -f.
        assert r.returncode == 0 or "no such container" in r.stderr, r


def test_parallel_runs_from_many_shells(husk):
    def run(i):
        return husk.run("run", "--rm", "busybox", "sh", "-c", "echo p%d" % i,
                        check=False)

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        results = list(ex.map(run, range(12)))
    for i, r in enumerate(results):
        assert r.returncode == 0 and r.stdout == "p%d\n" % i, r
    assert husk.ids() == [] and husk.db_rows() == []


def test_system_df_counts_containers(husk):
    husk.run("run", "-d", "--name", "big", "busybox", "sh", "-c",
             "dd if=/dev/zero of=/f bs=1k count=300 2>/dev/null; sleep 60")
    husk.run("run", "--name", "small", "busybox", "sh", "-c", "echo x > /y")
    husk.wait_for(lambda: "big" in husk.out("exec", "big", "sh", "-c", "test -s /f && echo big"),
                  what="file written")
    rows = {l.split()[0]: l.split() for l in husk.out("system", "df").splitlines()[1:]}
    assert rows["Containers"][1:3] == ["2", "1"], rows
    assert rows["Containers"][3].endswith("kB") and float(rows["Containers"][3][:-2]) >= 300
    assert rows["Images"][1:3] == ["1", "1"] and rows["Images"][4] == "0B"


def read_counter(husk, name):
    return int(husk.out("exec", name, "cat", "/tmp/c").strip() or 0)


@pytest.mark.asan
def test_pause_unpause_rename_restart_prune(husk):
    husk.run("run", "-d", "--name", "p1", "busybox", "sh", "-c",
             "i=0; while true; do i=$((i+1)); echo $i > /tmp/c; sleep 0.05; done")
    husk.wait_for(lambda: husk.run("exec", "p1", "cat", "/tmp/c", check=False).returncode == 0,
                  what="counter")
    assert husk.out("pause", "p1") == "p1\n"
    st = husk.inspect("p1")["State"]
    assert st["Status"] == "paused" and st["Paused"] is True and st["Running"] is True
    assert "(Paused)" in husk.out("ps")
    cid = husk.inspect("p1")["Id"]
    frozen = open([d for d in __import__("conftest").cgroup_dirs(cid)
                   if "freezer" in str(d)][0] / "freezer.state").read().strip()
    assert frozen == "FROZEN"
    assert "already paused" in husk.fail("pause", "p1").stderr
    husk.run("unpause", "p1")
    before = read_counter(husk, "p1")
    husk.wait_for(lambda: read_counter(husk, "p1") > before, what="counting again")
    assert "is not paused" in husk.fail("unpause", "p1").stderr
    husk.run("rename", "p1", "p2")
    assert husk.inspect("p2")["Name"] == "/p2"
    husk.run("create", "--name", "taken", "busybox", "true")
    assert "already in use" in husk.fail("rename", "p2", "taken").stderr
    pid = husk.inspect("p2")["State"]["Pid"]
    husk.run("restart", "-t", "0", "p2")
    st = husk.inspect("p2")["State"]
    assert st["Running"] and st["Pid"] != pid
    out = husk.out("container", "prune", "-f")
    assert out.startswith("Deleted Containers:\n") and husk.inspect("p2")["State"]["Running"]
    assert "no such container or image: taken" in husk.fail("inspect", "taken").stderr


def test_top(husk):
    husk.run("run", "-d", "--name", "tp", "busybox", "sh", "-c", "sleep 100 & sleep 200")
    husk.wait_for(lambda: "sleep 100" in husk.out("top", "tp"), what="both sleeps")
    lines = husk.out("top", "tp").splitlines()
    assert lines[0].split()[:3] == ["UID", "PID", "PPID"]
    cmds = sorted(l.split(None, 7)[7] for l in lines[1:])
    assert cmds == ["sleep 100", "sleep 200"]
    pids = husk.out("top", "tp", "-o", "pid=").split()
    assert str(husk.inspect("tp")["State"]["Pid"]) in pids and len(pids) == 2
    husk.run("stop", "-t", "0", "tp")
    assert "is not running" in husk.fail("top", "tp").stderr


def test_stats_no_stream(husk):
    husk.run("run", "-d", "--name", "busyloop", "-m", "64m", "busybox", "sh", "-c",
             "while true; do :; done")
    husk.run("run", "-d", "--name", "idle", "busybox", "sleep", "60")
    lines = husk.out("stats", "--no-stream").splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["CONTAINER ID", "NAME", "CPU %",
                                             "MEM USAGE / LIMIT", "MEM %", "NET I/O",
                                             "BLOCK I/O", "PIDS"]
    rows = {l.split()[1]: l for l in lines[1:]}
    assert set(rows) == {"busyloop", "idle"}
    cpu = float(re.split(r"\s{2,}", rows["busyloop"])[2].rstrip("%"))
    assert cpu > 20, rows["busyloop"]
    assert "/ 64MiB" in rows["busyloop"]
    out = husk.out("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "idle")
    assert out == "idle 1\n"


def test_diff(husk):
    husk.run("run", "--name", "df1", "busybox", "sh", "-c",
             "echo x > /newfile; mkdir -p /newdir/sub; touch /newdir/sub/f;"
             " echo y >> /etc/passwd; rm /bin/vi; rm -rf /home; mkdir /home; touch /home/z")
    assert husk.out("diff", "df1").splitlines() == [
        "C /bin", "D /bin/vi", "C /etc", "C /etc/passwd", "C /home", "A /home/z",
        "A /newdir", "A /newdir/sub", "A /newdir/sub/f", "A /newfile"]
    husk.run("create", "--name", "untouched", "busybox", "true")
    assert husk.out("diff", "untouched") == ""


def test_logs_since_until(husk):
    husk.run("run", "--name", "lg", "busybox", "sh", "-c", "echo early; sleep 1.5; echo late")
    assert husk.out("logs", "--since", "1s", "lg") == "late\n"
    assert husk.out("logs", "--until", "1s", "lg") == "early\n"
    ts = husk.out("logs", "-t", "lg").splitlines()[1].split()[0]
    assert husk.out("logs", "--since", ts, "lg") == "late\n"
    assert husk.out("logs", "--since", "2000-01-01", "--tail", "1", "lg") == "late\n"
    assert "--since 'bogus'" in husk.fail("logs", "--since", "bogus", "lg").stderr
