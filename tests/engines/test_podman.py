"""Podman (with conmon) driving the runtime: `podman --runtime $RUNTIME`.

The store, configuration and temp files live in one temp dir; the image is a
busybox rootfs imported offline; every container runs with --network none and
a cgroup parent below this process's cgroup (see conftest.py).
"""

import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from conftest import (IMAGE, IS_HUSK, RUNTIME, mounts_below, pids_matching, pty_run,
                      runtime_default_root, runtime_has_command, runtime_state_ids, wait_for)

PODMAN = shutil.which("podman")
pytestmark = pytest.mark.skipif(PODMAN is None, reason="podman is not installed")

TIMEOUT = 60


class Podman:
    def __init__(self, tmp, cgroup_parent, supports_json=True):
        self.tmp = tmp
        self.cg = cgroup_parent
        (tmp / "tmp").mkdir()
        (tmp / "containers.conf").write_text(
            "[containers]\n"
            # Root here lacks CAP_SYS_RESOURCE: podman's default rlimits (1048576) fail.
            'default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
            'netns = "none"\n'
            "[engine]\n"
            'events_logger = "file"\n'
            'cgroup_manager = "cgroupfs"\n'
            'tmp_dir = "%s"\n'
            # Podman passes --log/--log-format=json only to runtimes named here, as for runc.
            'runtime_supports_json = ["crun", "runc"%s]\n'
            % (tmp / "tmp", ', "%s"' % os.path.basename(RUNTIME) if supports_json else ""))
        (tmp / "registries.conf").write_text("unqualified-search-registries = []\n")
        (tmp / "storage.conf").write_text(
            '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n'
            % (tmp / "root", tmp / "runroot"))
        self.env = dict(os.environ,
                        CONTAINERS_CONF=str(tmp / "containers.conf"),
                        CONTAINERS_REGISTRIES_CONF=str(tmp / "registries.conf"),
                        CONTAINERS_STORAGE_CONF=str(tmp / "storage.conf"),
                        TMPDIR=str(tmp / "tmp"))
        self.base = [PODMAN, "--root", str(tmp / "root"), "--runroot", str(tmp / "runroot"),
                     "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file", "--runtime", RUNTIME]
        self.ids = set()

    def __call__(self, *args, check=True, timeout=TIMEOUT, input=None):
        r = subprocess.run(self.base + list(args), capture_output=True, text=True,
                           timeout=timeout, input=input, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError("podman %s: exit %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def run_args(self, *extra):
        """`podman run` with our cgroup parent; the rest is the caller's."""
        return ["run", "--network", "none", "--cgroup-parent", self.cg.path] + list(extra)

    def start_detached(self, *cmd, opts=()):
        name = "d" + uuid.uuid4().hex[:10]
        r = self(*self.run_args("-d", "--name", name, *opts, IMAGE, *cmd))
        cid = r.stdout.strip().splitlines()[-1]
        self.ids.add(cid)
        return name, cid

    def inspect(self, name, fmt):
        return self("inspect", name, "--format", fmt).stdout.strip()

    def logs(self, name):
        r = self("logs", name)
        return r.stdout + r.stderr

    def oci_log(self, cid):
        p = self.tmp / "runroot" / "vfs-containers" / cid / "userdata" / "oci-log"
        return p.read_text() if p.exists() else ""


def podman_instance(tmp_path_factory, rootfs_tar, cgroup_parent, supports_json):
    tmp = tmp_path_factory.mktemp("podman")
    p = Podman(tmp, cgroup_parent, supports_json)
    p("import", rootfs_tar, IMAGE)
    yield p
    p("rm", "-af", "-t", "0", check=False)
    problems = []
    root = runtime_default_root()
    left = runtime_state_ids(root) & p.ids
    if left:
        problems.append("runtime state left in %s: %s" % (root, sorted(left)))
        for cid in left:
            subprocess.run([RUNTIME, "delete", "--force", cid], capture_output=True)
    conmons = pids_matching(str(tmp / "root"))
    if conmons:
        problems.append("processes left: %s" % conmons)
        for pid in conmons:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    p("rmi", "-af", check=False)
    mounts = mounts_below(tmp)
    for m in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", m])
    if mounts:
        problems.append("mounts left: %s" % mounts)
    shutil.rmtree(tmp, ignore_errors=True)
    assert not problems, "; ".join(problems)


@pytest.fixture(scope="module")
def podman(tmp_path_factory, rootfs_tar, cgroup_parent):
    yield from podman_instance(tmp_path_factory, rootfs_tar, cgroup_parent, True)


@pytest.fixture(scope="module")
def podman_stock(tmp_path_factory, rootfs_tar, cgroup_parent):
    """Podman as configured out of the box for an unknown runtime name: no --log."""
    yield from podman_instance(tmp_path_factory, rootfs_tar, cgroup_parent, False)


def container_cgroup_dirs(podman, cid):
    return [d for d in podman.cg.dirs("libpod-" + cid)]


# ------------------------------------------------------------------ tests


def test_run_foreground_exit_code_and_output(podman):
    r = podman(*podman.run_args("--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3"),
               check=False)
    assert r.returncode == 3, r.stderr
    assert r.stdout.strip() == "out"
    assert "err" in r.stderr
    # The runtime's own warnings belong in its --log file, not in the container's output.
    assert "husk-runtime" not in r.stdout + r.stderr


def test_run_sees_its_config(podman):
    r = podman(*podman.run_args("--rm", "--hostname", "hx", "-e", "FOO=bar", "-w", "/tmp",
                                "-u", "65534", IMAGE,
                                "sh", "-c", "hostname; echo $FOO; pwd; id -u; echo $$"))
    lines = r.stdout.split("\n")
    assert lines[:4] == ["hx", "bar", "/tmp", "65534"]
    assert lines[4] == "1"  # the command is the container's init


def test_detached_exec_logs_stop_rm(podman):
    name, cid = podman.start_detached(
        "sh", "-c", 'trap "echo got-term; exit 0" TERM; echo started; '
                    "while :; do sleep 0.1; done")
    assert wait_for(lambda: "started" in podman.logs(name)), podman.logs(name)
    assert podman.inspect(name, "{{.State.Status}}") == "running"
    pid = int(podman.inspect(name, "{{.State.Pid}}"))
    assert pid > 0 and os.path.exists("/proc/%d" % pid)
    assert cid in runtime_state_ids(runtime_default_root())
    assert any(os.path.isdir(d) for d in container_cgroup_dirs(podman, cid))

    r = podman("exec", name, "sh", "-c", "echo in-exec; exit 4", check=False)
    assert (r.returncode, r.stdout.strip()) == (4, "in-exec"), r.stderr
    r = podman("exec", "-e", "X=y", "-w", "/etc", name, "sh", "-c", "echo $X $(pwd)")
    assert r.stdout.strip() == "y /etc"
    podman("exec", "-d", name, "sh", "-c", "echo detached-exec > /tmp/mark")
    assert wait_for(lambda: podman("exec", name, "cat", "/tmp/mark", check=False)
                    .stdout.strip() == "detached-exec")

    podman("stop", "-t", "10", name)
    assert "got-term" in podman.logs(name)
    assert podman.inspect(name, "{{.State.Status}}") == "exited"
    assert podman.inspect(name, "{{.State.ExitCode}}") == "0"
    assert "husk-runtime" not in podman.logs(name)
    podman("rm", name)
    assert cid not in runtime_state_ids(runtime_default_root())
    assert not any(os.path.isdir(d) for d in container_cgroup_dirs(podman, cid))


def test_kill_signals_and_rm_force(podman):
    name, cid = podman.start_detached(
        "sh", "-c", 'trap "echo got-usr1" USR1; echo started; while :; do sleep 0.1; done')
    assert wait_for(lambda: "started" in podman.logs(name))
    podman("kill", "-s", "USR1", name)
    assert wait_for(lambda: "got-usr1" in podman.logs(name)), podman.logs(name)
    podman("kill", "-s", "SIGKILL", name)
    assert wait_for(lambda: podman.inspect(name, "{{.State.Status}}") == "exited")
    assert podman.inspect(name, "{{.State.ExitCode}}") == "137"
    podman("rm", name)

    # rm -f of a running container: the runtime's kill + delete --force path.
    name, cid = podman.start_detached("sleep", "1000")
    podman("rm", "-f", "-t", "0", name)
    assert cid not in runtime_state_ids(runtime_default_root())
    assert podman("ps", "-aq", "--filter", "name=" + name).stdout.strip() == ""


def test_run_rm_leaves_nothing(podman, tmp_path):
    cidfile = tmp_path / "cid"
    podman(*podman.run_args("--rm", "--cidfile", str(cidfile), IMAGE, "true"))
    cid = cidfile.read_text().strip()
    assert podman("ps", "-aq", "--no-trunc").stdout.strip() == "" or \
        cid not in podman("ps", "-aq", "--no-trunc").stdout
    assert cid not in runtime_state_ids(runtime_default_root())
    assert not os.path.exists(os.path.join(runtime_default_root(), cid))
    assert not any(os.path.isdir(d) for d in container_cgroup_dirs(podman, cid))
    assert not [m for m in mounts_below(podman.tmp) if cid in m]
    assert not os.path.exists(podman.tmp / "root" / "vfs-containers" / cid)
    assert not pids_matching(cid)


def test_pause_unpause(podman):
    if not runtime_has_command("pause"):
        pytest.xfail("husk-runtime has no pause/resume commands yet (branch 'resources')")
    name, cid = podman.start_detached(
        "sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/n; sleep 0.05; done")
    pid = int(podman.inspect(name, "{{.State.Pid}}"))
    counter = "/proc/%d/root/tmp/n" % pid
    assert wait_for(lambda: _read(counter))
    podman("pause", name)
    assert podman.inspect(name, "{{.State.Status}}") == "paused"
    before = _read(counter)
    time.sleep(0.4)
    assert _read(counter) == before
    podman("unpause", name)
    assert podman.inspect(name, "{{.State.Status}}") == "running"
    assert wait_for(lambda: _read(counter) != before)
    podman("rm", "-f", "-t", "0", name)


def test_stats(podman):
    name, cid = podman.start_detached("sh", "-c", "while :; do sleep 0.1; done")
    r = podman("stats", "--no-stream", "--format", "json", name)
    st = json.loads(r.stdout)
    st = st[0] if isinstance(st, list) else st
    assert st["name"] == name
    assert int(st["pids"]) >= 2  # sh and its sleep
    assert st["mem_usage"] and not st["mem_usage"].startswith("0B")
    podman("rm", "-f", "-t", "0", name)


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def test_resource_limits(podman):
    """--memory, --pids-limit, --cpus: the container runs; the limits are in its cgroup."""
    name, cid = podman.start_detached(
        "sh", "-c", "echo up; while :; do sleep 0.1; done",
        opts=("--memory", "64m", "--pids-limit", "50", "--cpus", "0.5"))
    assert wait_for(lambda: "up" in podman.logs(name))
    assert podman.inspect(name, "{{.State.Status}}") == "running"
    m = podman.cg.mounts
    rel = podman.cg.path.lstrip("/") + "/libpod-" + cid
    got = {}
    for key, files in (("memory", ["memory.limit_in_bytes", "memory.max"]),
                       ("pids", ["pids.max"]),
                       ("cpu", ["cpu.cfs_quota_us", "cpu.max"])):
        for mk, mnt in m.items():
            for f in files:
                if key in mk.split(",") or (mk == "" and f.endswith(".max")):
                    v = _read(os.path.join(mnt, rel, f))
                    if v is not None:
                        got.setdefault(key, v)
    oci_log = podman.oci_log(cid)
    podman("rm", "-f", "-t", "0", name)
    want = {"memory": "67108864", "pids": "50"}
    ok = got.get("memory") == want["memory"] and got.get("pids") == want["pids"] and \
        got.get("cpu", "").split()[0] == "50000"
    if not ok and IS_HUSK and "linux.resources is accepted but not applied" in oci_log:
        pytest.xfail("husk-runtime does not apply linux.resources yet (branch 'resources'); "
                     "got %s" % got)
    assert ok, "limits in the container's cgroup: %s (runtime log: %s)" % (got, oci_log)


def test_run_interactive_tty(podman):
    argv = podman.base + podman.run_args("-it", "--rm", IMAGE, "sh")
    code, out = pty_run(argv, "echo hi-$((6*7)); tty; stty size; exit 5\n",
                         env=podman.env)
    assert code == 5, out
    assert "hi-42" in out
    assert "/dev/pts/0" in out
    assert "husk-runtime" not in out


def test_exec_interactive_tty(podman):
    name, cid = podman.start_detached("sleep", "1000")
    argv = podman.base + ["exec", "-it", name, "sh"]
    code, out = pty_run(argv, "echo ex-$((6*7)); tty; exit 6\n", env=podman.env)
    podman("rm", "-f", "-t", "0", name)
    assert code == 6, out
    assert "ex-42" in out
    assert "/dev/pts/" in out


def test_create_errors_map_to_exit_codes(podman):
    """Podman maps the runtime's create failure to 127 (no such command) and
    126 (not executable) from its message, as for runc."""
    r = podman(*podman.run_args("--rm", IMAGE, "/nonexistent"), check=False)
    assert r.returncode == 127, r.stderr
    r = podman(*podman.run_args("--rm", IMAGE, "/etc/passwd"), check=False)
    assert r.returncode == 126, r.stderr
    # A mount the runtime cannot make: the runtime's message reaches the user.
    r = podman(*podman.run_args("--rm", "--cidfile", str(podman.tmp / "cid-badmount"),
                                "-v", "/etc/passwd:/bin", IMAGE, "true"), check=False)
    assert r.returncode == 126 and "/bin" in r.stderr, r.stderr
    cid = (podman.tmp / "cid-badmount").read_text().strip()
    assert cid not in runtime_state_ids(runtime_default_root())
    assert not any(os.path.isdir(d) for d in container_cgroup_dirs(podman, cid))
    assert podman("ps", "-aq").stdout.strip() == ""


def test_privileged_and_devices(podman):
    # Podman's linux.devices[].fileMode carries the file type bits (020666).
    r = podman(*podman.run_args("--rm", "--device", "/dev/null:/dev/mynull", IMAGE,
                                "stat", "-c", "%F %t:%T %a", "/dev/mynull"))
    assert r.stdout.strip() == "character special file 1:3 666"
    r = podman(*podman.run_args("--rm", "--privileged", IMAGE,
                                "sh", "-c", "grep CapEff /proc/self/status; ls /dev/kmsg"))
    capeff = int(r.stdout.split()[1], 16)
    assert capeff & (1 << 21) and capeff & (1 << 12), r.stdout  # SYS_ADMIN, NET_ADMIN
    assert "/dev/kmsg" in r.stdout


def test_restart_top_wait(podman):
    name, cid = podman.start_detached("sleep", "1000")
    pid1 = podman.inspect(name, "{{.State.Pid}}")
    podman("restart", "-t", "0", name)
    assert podman.inspect(name, "{{.State.Status}}") == "running"
    assert podman.inspect(name, "{{.State.Pid}}") != pid1
    assert "sleep 1000" in podman("top", name).stdout
    podman("kill", name)
    assert podman("wait", name).stdout.strip() == "137"  # podman kill sends SIGKILL
    podman("rm", name)
    assert cid not in runtime_state_ids(runtime_default_root())


def test_output_is_clean_without_runtime_log(podman_stock):
    """Without --log (podman's default for a runtime it does not know), the runtime's
    stderr is the container's: anything it prints lands in the container output."""
    r = podman_stock(*podman_stock.run_args("--rm", IMAGE, "sh", "-c", "echo out; echo err >&2"))
    name, cid = podman_stock.start_detached("sh", "-c", "echo started; sleep 1000")
    assert wait_for(lambda: "started" in podman_stock.logs(name))
    logs = podman_stock.logs(name)
    podman_stock("rm", "-f", "-t", "0", name)
    if IS_HUSK and "husk-runtime: warning: linux." in r.stderr + logs:
        pytest.xfail("husk-runtime prints 'not applied yet' warnings for linux.resources/"
                     "seccomp on stderr when there is no --log; they reach the container's "
                     "output until those features land")
    assert (r.stdout, r.stderr) == ("out\n", "err\n")
    assert logs == "started\n"


def test_update_memory(podman):
    """podman update runs `$RUNTIME update --resources FILE ID`."""
    if not runtime_has_command("update"):
        pytest.xfail("husk-runtime has no update command yet (branch 'resources')")
    name, cid = podman.start_detached("sleep", "1000", opts=("--memory", "64m"))
    podman("update", "--memory", "128m", name)
    got = [_read(os.path.join(d, f)) for d in container_cgroup_dirs(podman, cid)
           for f in ("memory.limit_in_bytes", "memory.max")]
    podman("rm", "-f", "-t", "0", name)
    assert "134217728" in got, got
