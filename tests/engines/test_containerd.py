"""containerd (with its io.containerd.runc.v2 shim) driving the runtime through
`ctr run --runc-binary $RUNTIME`.

A private containerd is started for the module: root, state, sockets and its
config under a temp dir, the CRI plugin disabled. The image is a docker-archive
of a busybox rootfs built here and imported offline. Containers get a cgroup
below this process's cgroup, their runtime state root and fifos under the temp
dir. The shim's socket directory /run/containerd/s is hard-coded in containerd
1.6; teardown removes the directories it had to create there.
"""

import os
import shutil
import signal
import subprocess
import uuid

import pytest

from conftest import (IMAGE, RUNTIME, docker_archive, mounts_below, pids_matching, pty_run,
                      runtime_has_command, runtime_state_ids, wait_for)

CONTAINERD = shutil.which("containerd")
CTR = shutil.which("ctr")
SHIM = shutil.which("containerd-shim-runc-v2")
pytestmark = pytest.mark.skipif(
    not (CONTAINERD and CTR and SHIM),
    reason="needs containerd, ctr and containerd-shim-runc-v2 (Debian package containerd)")

TIMEOUT = 60
NS = "husk-test"


class Containerd:
    def __init__(self, tmp, cgroup_parent):
        self.tmp = tmp
        self.cg = cgroup_parent
        self.sock = str(tmp / "containerd.sock")
        self.runc_root = str(tmp / "runc-root")
        self.state_root = os.path.join(self.runc_root, NS)  # the shim adds the namespace
        self.fifo = str(tmp / "fifo")
        os.makedirs(self.fifo)
        self.config = tmp / "config.toml"
        self.config.write_text(
            'version = 2\nroot = "%s"\nstate = "%s"\n'
            'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",'
            ' "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",'
            ' "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",'
            ' "io.containerd.internal.v1.tracing"]\n'
            '[grpc]\n  address = "%s"\n[ttrpc]\n  address = "%s.ttrpc"\n'
            '[debug]\n  address = ""\n[metrics]\n  address = ""\n'
            '[plugins."io.containerd.internal.v1.opt"]\n  path = "%s"\n'
            % (tmp / "root", tmp / "state", self.sock, self.sock, tmp / "opt"))
        self.proc = None
        self.log = open(tmp / "containerd.log", "wb")

    def start(self):
        self.proc = subprocess.Popen([CONTAINERD, "--config", str(self.config)],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        ok = wait_for(lambda: self.proc.poll() is not None or
                      (os.path.exists(self.sock) and self("version", check=False).returncode == 0),
                      timeout=20)
        if self.proc.poll() is not None or not ok:
            raise AssertionError("containerd did not come up:\n" + self.log_text())

    def log_text(self):
        return (self.tmp / "containerd.log").read_text(errors="replace")

    def argv(self, *args):
        return [CTR, "-a", self.sock, "-n", NS] + list(args)

    def __call__(self, *args, check=True, timeout=TIMEOUT):
        r = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError("ctr %s: exit %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def run_args(self, cid, *opts):
        return ["run", "--runc-binary", RUNTIME, "--runc-root", self.runc_root,
                "--fifo-dir", self.fifo, "--cgroup", self.cg.path + "/" + cid] + list(opts)

    def task_status(self, cid):
        for line in self("task", "ls").stdout.splitlines()[1:]:
            f = line.split()
            if f and f[0] == cid:
                return f[2]
        return None

    def stop(self):
        problems = []
        for cid in self("task", "ls", "-q", check=False).stdout.split():
            problems.append("task %s left" % cid)
            self("task", "kill", "-s", "SIGKILL", cid, check=False)
            wait_for(lambda: self.task_status(cid) in (None, "STOPPED"))
            self("task", "delete", "-f", cid, check=False)
        for cid in self("containers", "ls", "-q", check=False).stdout.split():
            problems.append("container %s left" % cid)
            self("containers", "delete", cid, check=False)
        self("images", "rm", IMAGE, check=False)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append("containerd did not stop on SIGTERM")
        # Shims and anything else started for this instance name our socket path.
        for pid in pids_matching(self.sock):
            problems.append("process %d left" % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()
        return problems


@pytest.fixture(scope="module")
def ctd(tmp_path_factory, rootfs_tar, cgroup_parent):
    tmp = tmp_path_factory.mktemp("containerd")
    existed = {d: os.path.isdir(d) for d in ("/run/containerd", "/run/containerd/s",
                                             "/run/containerd/runc", "/run/containerd/fifo")}
    c = Containerd(tmp, cgroup_parent)
    try:
        c.start()
        c("images", "import", docker_archive(rootfs_tar, str(tmp / "busybox-docker.tar")))
        yield c
    finally:
        problems = c.stop()
        left = runtime_state_ids(c.state_root) if os.path.isdir(c.state_root) else set()
        if left:
            problems.append("runtime state left: %s" % sorted(left))
            for cid in left:
                subprocess.run([RUNTIME, "--root", c.state_root, "delete", "--force", cid],
                               capture_output=True)
        mounts = mounts_below(tmp)
        if mounts:
            problems.append("mounts left: %s" % mounts)
            for m in sorted(mounts, key=len, reverse=True):
                subprocess.run(["umount", "-l", m])
        # Directories containerd hard-codes: remove those this test created, if empty.
        for d in sorted(existed, key=len, reverse=True):
            if not existed[d] and os.path.isdir(d):
                for sub in (os.path.join(d, NS),):
                    if os.path.isdir(sub):
                        try:
                            os.rmdir(sub)
                        except OSError:
                            pass
                try:
                    os.rmdir(d)
                except OSError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)
        assert not problems, "; ".join(problems)


def new_id():
    return "c" + uuid.uuid4().hex[:10]


def test_run_rm_output_and_exit_code(ctd):
    cid = new_id()
    r = ctd(*ctd.run_args(cid, "--rm"), IMAGE, cid, "sh", "-c", "echo hi; echo err >&2; exit 5",
            check=False)
    assert r.returncode == 5, r.stderr
    assert r.stdout.replace("\r", "") == "hi\n"
    assert "err" in r.stderr
    assert "husk-runtime" not in r.stdout + r.stderr
    assert cid not in ctd("containers", "ls", "-q").stdout.split()
    assert cid not in runtime_state_ids(ctd.state_root)
    assert not any(os.path.isdir(d) for d in ctd.cg.dirs(cid))


def test_run_sees_its_config(ctd):
    cid = new_id()
    r = ctd(*ctd.run_args(cid, "--rm", "--env", "FOO=bar", "--cwd", "/tmp", ),
            IMAGE, cid, "sh", "-c", "echo $FOO $(pwd) $$")
    assert r.stdout.split() == ["bar", "/tmp", "1"]


def test_detached_exec_kill_delete(ctd):
    cid = new_id()
    ctd(*ctd.run_args(cid, "-d"), IMAGE, cid,
        "sh", "-c", 'trap "exit 3" TERM; while :; do sleep 0.1; done')
    assert wait_for(lambda: ctd.task_status(cid) == "RUNNING")
    assert cid in runtime_state_ids(ctd.state_root)
    assert any(os.path.isdir(d) for d in ctd.cg.dirs(cid))

    r = ctd("task", "exec", "--fifo-dir", ctd.fifo, "--exec-id", "e1", cid,
            "sh", "-c", "echo from-exec; exit 4", check=False)
    assert (r.returncode, r.stdout.strip()) == (4, "from-exec"), r.stderr
    r = ctd("task", "exec", "--fifo-dir", ctd.fifo, "--exec-id", "e2", "--cwd", "/etc", cid,
            "pwd")
    assert r.stdout.strip() == "/etc"

    pids = ctd("task", "ps", cid).stdout.split("\n")[1:]
    assert len([l for l in pids if l.strip()]) >= 1

    ctd("task", "kill", cid)  # SIGTERM
    assert wait_for(lambda: ctd.task_status(cid) == "STOPPED"), ctd("task", "ls").stdout
    r = ctd("task", "delete", cid)
    assert "non-zero exit code 3" in r.stdout + r.stderr, r.stdout + r.stderr
    ctd("containers", "delete", cid)
    assert cid not in runtime_state_ids(ctd.state_root)
    assert not any(os.path.isdir(d) for d in ctd.cg.dirs(cid))


def test_metrics_and_kill_all(ctd):
    cid = new_id()
    ctd(*ctd.run_args(cid, "-d"), IMAGE, cid, "sleep", "1000")
    assert wait_for(lambda: ctd.task_status(cid) == "RUNNING")
    # The shim reads the task's cgroup (found from its pid) for metrics.
    m = dict(l.split()[:2] for l in ctd("task", "metrics", cid).stdout.splitlines()
             if len(l.split()) >= 2)
    assert m.get("pids.current") == "1" and int(m.get("memory.usage_in_bytes", "0")) > 0, m
    ctd("task", "kill", "-s", "SIGKILL", "--all", cid)
    assert wait_for(lambda: ctd.task_status(cid) == "STOPPED")
    ctd("task", "delete", cid)
    ctd("containers", "delete", cid)
    assert cid not in runtime_state_ids(ctd.state_root)


def test_pause_resume(ctd):
    if not runtime_has_command("pause"):
        pytest.xfail("husk-runtime has no pause/resume commands yet (branch 'resources')")
    cid = new_id()
    ctd(*ctd.run_args(cid, "-d"), IMAGE, cid, "sleep", "1000")
    assert wait_for(lambda: ctd.task_status(cid) == "RUNNING")
    ctd("task", "pause", cid)
    assert ctd.task_status(cid) == "PAUSED"
    ctd("task", "resume", cid)
    assert ctd.task_status(cid) == "RUNNING"
    ctd("task", "kill", "-s", "SIGKILL", cid)
    assert wait_for(lambda: ctd.task_status(cid) == "STOPPED")
    ctd("task", "delete", cid)
    ctd("containers", "delete", cid)


def test_run_and_exec_with_tty(ctd):
    cid = new_id()
    code, out = pty_run(ctd.argv(*ctd.run_args(cid, "--rm", "-t"), IMAGE, cid, "sh"),
                         "echo hi-$((6*7)); tty; exit 7\n")
    assert code == 7, out
    assert "hi-42" in out and "/dev/pts/0" in out

    cid = new_id()
    ctd(*ctd.run_args(cid, "-d"), IMAGE, cid, "sleep", "1000")
    assert wait_for(lambda: ctd.task_status(cid) == "RUNNING")
    code, out = pty_run(ctd.argv("task", "exec", "-t", "--fifo-dir", ctd.fifo, "--exec-id", "t1",
                                  cid, "sh"), "echo ex-$((6*7)); tty; exit 6\n")
    ctd("task", "kill", "-s", "SIGKILL", cid)
    wait_for(lambda: ctd.task_status(cid) == "STOPPED")
    ctd("task", "delete", cid)
    ctd("containers", "delete", cid)
    assert code == 6, out
    assert "ex-42" in out and "/dev/pts/" in out
