"""husk run / create / start: what the container sees from inside, exit codes, stdio."""
import json
import os
import re
import subprocess
import time

import pytest

from conftest import cgroup_file


@pytest.mark.asan
def test_run_output_exit_code_and_streams(husk):
    r = husk.run("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3",
                 check=False)
    assert r.returncode == 3, r
    assert r.stdout == "out\n"
    assert r.stderr == "err\n"
    # --rm: nothing of it remains once run returns.
    assert husk.ids() == []
    assert husk.db_rows() == []


def test_exit_by_signal_is_128_plus_n(husk):
    husk.run("run", "-d", "--name", "k", "busybox", "sleep", "30")
    assert husk.out("kill", "k") == "k\n"
    assert husk.out("wait", "k") == "137\n"
    st = husk.inspect("k")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 137 and not st["Running"]


@pytest.mark.asan
def test_env_workdir_user_hostname(husk):
    husk.env["HUSK_TEST_PASSED"] = "from-outside"
    husk.env.pop("UNSET_HUSK_VAR_X", None)
    if True:
        out = husk.out("run", "--rm", "-e", "FOO=bar", "-e", "HUSK_TEST_PASSED",
                       "-e", "UNSET_HUSK_VAR_X", "-w", "/tmp", "-u", "daemon",
                       "--hostname", "box1", "busybox",
                       "sh", "-c", "echo $FOO; echo $HUSK_TEST_PASSED; echo ${UNSET_HUSK_VAR_X-unset};"
                       " pwd; id -u; id -g; hostname; cat /etc/hostname; echo $HOME; echo $PATH")
    lines = out.split("\n")
    assert lines[:9] == ["bar", "from-outside", "unset", "/tmp", "1", "1", "box1", "box1",
                         "/usr/sbin"], out
    assert lines[9] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_default_hostname_is_short_id(husk):
    cid = husk.out("run", "-d", "busybox", "sleep", "30").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid), cid
    out = husk.out("exec", cid, "hostname")
    assert out.strip() == cid[:12]
    hosts = husk.out("exec", cid, "cat", "/etc/hosts")
    assert "localhost" in hosts and cid[:12] in hosts


def test_numeric_user_and_group(husk):
    out = husk.out("run", "--rm", "-u", "1234:5678", "busybox", "sh", "-c", "id -u; id -g")
    assert out.split() == ["1234", "5678"]
    r = husk.fail("run", "--rm", "-u", "nosuchuser", "busybox", "true")
    assert "unable to find user nosuchuser" in r.stderr
    assert husk.ids() == []


def test_entrypoint_and_cmd(husk):
    assert husk.out("run", "--rm", "--entrypoint", "echo", "busybox", "a", "b") == "a b\n"
    r = husk.fail("run", "--rm", "busybox")
    assert "no command specified" in r.stderr


def test_pid1_caps_namespaces(husk):
    cid = husk.out("run", "-d", "--network", "none", "busybox", "sleep", "30").strip()
    assert husk.out("exec", cid, "cat", "/proc/1/comm") == "sleep\n"
    ps = husk.out("exec", cid, "sh", "-c", "ls -d /proc/[1-9]*")
    assert "/proc/1\n" in ps
    status = husk.out("exec", cid, "cat", "/proc/1/status")
    caps = dict(l.split(":\t") for l in status.splitlines() if l.startswith("Cap"))
    # Docker's default set: chown dac_override fowner fsetid kill setgid setuid setpcap
    # net_bind_service net_raw sys_chroot mknod audit_write setfcap.
    assert caps["CapEff"] == "00000000a80425fb"
    assert caps["CapBnd"] == "00000000a80425fb"
    assert status.count("NoNewPrivs:\t0") == 1
    # The init starts with no signal blocked or ignored (the monitor's are not inherited).
    sig = dict(l.split(":\t") for l in status.splitlines() if l.startswith("Sig"))
    assert sig["SigBlk"] == "0000000000000000" and sig["SigIgn"] == "0000000000000000", sig
    # --network none: only loopback, and it is up.
    links = husk.out("exec", cid, "ip", "-o", "link")
    assert len(links.strip().splitlines()) == 1 and "lo:" in links and "UP" in links
    # Masked and read-only paths.
    assert husk.out("exec", cid, "cat", "/proc/timer_list") == ""
    r = husk.run("exec", cid, "sh", "-c", "echo 1 > /proc/sys/kernel/domainname", check=False)
    assert r.returncode != 0
    pid = husk.inspect(cid)["State"]["Pid"]
    for ns in ("pid", "net", "mnt", "uts", "ipc"):
        assert os.readlink("/proc/%d/ns/%s" % (pid, ns)) != os.readlink("/proc/self/ns/" + ns)


@pytest.mark.asan
def test_limits_in_cgroup_files(husk):
    cid = husk.out("run", "-d", "-m", "64m", "--pids-limit", "50", "--cpus", "0.5",
                   "busybox", "sleep", "30").strip()
    inside = husk.out("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert inside.strip() == str(64 * 1024 * 1024)
    assert cgroup_file(cid, "memory", "memory.limit_in_bytes") == str(64 * 1024 * 1024)
    assert cgroup_file(cid, "pids", "pids.max") == "50"
    assert cgroup_file(cid, "cpu", "cpu.cfs_quota_us") == "50000"
    hc = husk.inspect(cid)["HostConfig"]
    assert hc["Memory"] == 64 * 1024 * 1024 and hc["PidsLimit"] == 50
    assert hc["NanoCpus"] == 500000000


def test_no_rlimit_above_the_host(husk):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    out = husk.out("run", "--rm", "busybox", "sh", "-c", "ulimit -Hn")
    assert int(out) <= hard


def test_bad_flags_are_named(husk):
    assert "--memory 'lots'" in husk.fail("run", "-m", "lots", "busybox", "true").stderr
    assert "--cpus 'x'" in husk.fail("run", "--cpus", "x", "busybox", "true").stderr
    assert "--stop-signal 'NOPE'" in husk.fail("run", "--stop-signal", "NOPE", "busybox",
                                                "true").stderr
    assert "no such image: nosuchimage" in husk.fail("run", "nosuchimage", "true").stderr
    assert "not absolute" in husk.fail("run", "-v", "/tmp:rel", "busybox", "true").stderr
    r = husk.fail("run", "-v", "/nonexistent-husk-path:/x", "busybox", "true")
    assert "bind source path '/nonexistent-husk-path'" in r.stderr
    assert "invalid container name" in husk.fail("run", "--name", "a b", "busybox",
                                                 "true").stderr
    assert husk.ids() == []


@pytest.mark.asan
def test_volumes_ro_and_rw(husk, tmp_path):
    src = tmp_path / "vol"
    src.mkdir()
    (src / "in").write_text("from host\n")
    out = husk.out("run", "--rm", "-v", "%s:/data" % src, "busybox", "sh", "-c",
                   "cat /data/in; echo written > /data/out")
    assert out == "from host\n"
    assert (src / "out").read_text() == "written\n"
    r = husk.run("run", "--rm", "-v", "%s:/data:ro" % src, "busybox", "sh", "-c",
                 "touch /data/x", check=False)
    assert r.returncode != 0 and "Read-only" in r.stderr
    assert not (src / "x").exists()


def test_volume_in_inspect_mounts(husk, tmp_path):
    cid = husk.out("create", "-v", "%s:/data:ro" % tmp_path, "busybox", "true").strip()
    m = husk.inspect(cid)["Mounts"]
    assert m == [{"Type": "bind", "Source": str(tmp_path), "Destination": "/data",
                  "Mode": "ro", "RW": False, "Propagation": "rprivate"}]


@pytest.mark.asan
def test_stdin_with_i(husk):
    r = husk.run("run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done",
                 input=b"line1\nline2\n")
    assert r.stdout == "line1\nline2\ndone\n"
    # Without -i the container's stdin is empty.
    r = husk.run("run", "--rm", "busybox", "cat", input=b"ignored\n")
    assert r.stdout == ""


def test_command_not_found_is_127(husk):
    r = husk.run("run", "--rm", "busybox", "nosuchcmd", check=False)
    assert r.returncode == 127, r
    assert "nosuchcmd" in r.stderr
    assert husk.ids() == []
    r = husk.run("run", "--name", "nf", "busybox", "nosuchcmd", check=False)
    assert r.returncode == 127
    st = husk.inspect("nf")["State"]
    assert st["Status"] == "created" and "nosuchcmd" in st["Error"]


def test_create_then_start_attach(husk):
    cid = husk.out("create", "--name", "later", "busybox", "sh", "-c", "echo hi; exit 4").strip()
    assert husk.inspect("later")["State"]["Status"] == "created"
    r = husk.run("start", "-a", "later", check=False)
    assert r.returncode == 4 and r.stdout == "hi\n"
    # Started again: same container, the log grows.
    assert husk.out("start", "later") == "later\n"
    assert husk.out("wait", "later") == "4\n"
    assert husk.out("logs", "later") == "hi\nhi\n"
    assert husk.inspect(cid)["State"]["ExitCode"] == 4


def test_attach_to_running(husk):
    husk.run("run", "-d", "--name", "talker", "busybox", "sh", "-c",
             "sleep 0.5; echo one; sleep 0.3; echo two")
    r = husk.run("attach", "--no-stdin", "talker")
    assert "two" in r.stdout


def test_explain_shows_the_monitor_steps_not_in_the_log(husk):
    r = husk.run("--explain", "run", "--name", "ex", "busybox", "echo", "hi")
    assert r.stdout == "hi\n"
    for step in ("$ mount -t overlay", "$ unshare --pid --mount --uts --ipc --net",
                 "$ pivot_root", "$ ip link set lo up", "$ echo 0 > exec.fifo",
                 "$ umount -l " + str(husk.root)):
        assert step in r.stderr, (step, r.stderr[-3000:])
    assert husk.out("logs", "ex") == "hi\n"
    r = husk.run("logs", "ex")
    assert "$ " not in r.stderr


def test_closed_stdout_ends_the_cli_not_the_container(husk):
    cmd = " ".join("'%s'" % a for a in husk.cmdline("run", "--name", "y", "busybox", "yes"))
    r = subprocess.run(["bash", "-c", cmd + " | head -1; echo ${PIPESTATUS[0]}"],
                       capture_output=True, text=True, timeout=30, env=husk.env)
    assert r.stdout.split() == ["y", "141"], r
    assert husk.inspect("y")["State"]["Running"]
    husk.run("rm", "-f", "y")


def test_read_only_tmpfs_caps_ulimit_env_file(husk, tmp_path):
    envf = tmp_path / "env"
    envf.write_text("# a comment\nA=1\n\nB=from-file\n")
    out = husk.out("run", "--rm", "--env-file", envf, "-e", "B=flag", "--read-only",
                   "--tmpfs", "/scratch:size=1m", "--cap-drop", "chown", "--cap-add",
                   "SYS_ADMIN", "--ulimit", "nofile=1000:2000", "busybox", "sh", "-c",
                   "echo $A $B; touch /x 2>&1; touch /scratch/y && echo tmpfs-ok;"
                   " grep CapEff /proc/self/status; ulimit -n; ulimit -Hn;"
                   " grep ' /scratch ' /proc/mounts")
    lines = out.splitlines()
    assert lines[0] == "1 flag"
    assert "Read-only file system" in lines[1]
    assert lines[2] == "tmpfs-ok"
    eff = int(lines[3].split()[1], 16)
    assert not eff & (1 << 0) and eff & (1 << 21)  # CAP_CHOWN dropped, CAP_SYS_ADMIN added
    assert lines[4:6] == ["1000", "2000"]
    assert "size=1024k" in lines[6] and "noexec" in lines[6]
    caps = husk.out("run", "--rm", "--cap-drop", "ALL", "busybox", "grep", "CapEff",
                    "/proc/self/status")
    assert caps.split()[1] == "0000000000000000"
    hc = json.loads(husk.out("create", "--cap-add", "net_admin", "busybox", "true") and
                    husk.out("inspect", husk.ids()[0]))[0]["HostConfig"]
    assert hc["CapAdd"] == ["CAP_NET_ADMIN"]
    # Asked for more than the host allows: a clear error, nothing left.
    r = husk.fail("run", "--rm", "--ulimit", "nofile=%d" % (1 << 30), "busybox", "true")
    assert "RLIMIT_NOFILE" in r.stderr
    assert "unknown capability" in husk.fail("run", "--cap-add", "NOPE", "busybox",
                                             "true").stderr
    assert "ulimit 'bogus=1'" in husk.fail("run", "--ulimit", "bogus=1", "busybox",
                                           "true").stderr
    assert "--env-file '/nonexistent-env'" in husk.fail("run", "--env-file", "/nonexistent-env",
                                                        "busybox", "true").stderr


def test_init_reaps_and_forwards_signals(husk):
    out = husk.out("run", "--rm", "--init", "busybox", "sh", "-c",
                   "cat /proc/1/comm; echo $$; (sleep 0.1 &) ; sleep 0.3; ps -o stat,comm")
    lines = out.splitlines()
    assert lines[0] == "init" and lines[1] == "2"
    assert not any(l.startswith("Z") for l in lines[2:]), out  # the orphan was reaped
    husk.run("run", "-d", "--init", "--name", "in1", "busybox", "sleep", "60")
    t = time.time()
    husk.run("stop", "in1")  # pid 1 forwards SIGTERM: no 10 s wait for SIGKILL
    assert time.time() - t < 5
    st = husk.inspect("in1")
    assert st["State"]["ExitCode"] == 143 and st["HostConfig"]["Init"] is True
