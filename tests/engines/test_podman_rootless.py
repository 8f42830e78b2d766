"""Rootless Podman driving the runtime: `podman --runtime $RUNTIME` run by an
unprivileged throwaway user (tests/helpers/throwaway_user.py).

Podman runs the runtime as root of a user namespace of its own, which maps
the user's uid and its /etc/subuid range; the runtime must treat that as
rootless (state under $XDG_RUNTIME_DIR, no host cgroups on this v1/hybrid
host), as runc does. The store (vfs) and configuration live in the user's
temporary home; teardown removes the containers, the image, Podman's pause
process and the user, and fails if anything of it is left.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "helpers"))
from throwaway_user import ThrowawayUser, pids_of_uid  # noqa: E402
from conftest import IMAGE, RUNTIME, pids_matching, runtime_version  # noqa: E402

PODMAN = shutil.which("podman")
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
VERSION = runtime_version()
STATE_DIR_NAME = "runc" if VERSION.startswith("runc") else "husk-runtime"
TIMEOUT = 90

pytestmark = [
    pytest.mark.skipif(PODMAN is None, reason="podman is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="creates a user: needs root"),
    pytest.mark.skipif(not shutil.which("newuidmap"), reason="rootless Podman needs newuidmap"),
    pytest.mark.skipif(VERSION.startswith("crun"), reason="crun 1.8 refuses cgroup hybrid hosts"),
]


class RootlessPodman:
    def __init__(self, rootfs_tar):
        self.user = ThrowawayUser(prefix="hkpm")
        u = self.user
        self.xdg = u.base / "xdg"
        self.xdg.mkdir(mode=0o700)
        home = u.home
        (home / "tmp").mkdir()
        (home / "containers.conf").write_text(
            "[containers]\n"
            'default_ulimits = ["nofile=1024:1024"]\n'
            'netns = "none"\n'
            "[engine]\n"
            'events_logger = "file"\n'
            'cgroup_manager = "cgroupfs"\n'
            'runtime_supports_json = ["crun", "runc", "%s"]\n' % os.path.basename(RUNTIME))
        (home / "registries.conf").write_text("unqualified-search-registries = []\n")
        (home / "storage.conf").write_text(
            '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n'
            % (home / "storage", self.xdg / "containers"))
        shutil.copy(rootfs_tar, home / "rootfs.tar")
        subprocess.run(["chown", "-R", "%d:%d" % (u.uid, u.gid), str(home), str(self.xdg)],
                       check=True)
        self.env = {
            "HOME": str(home), "USER": u.name, "LOGNAME": u.name,
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "XDG_RUNTIME_DIR": str(self.xdg), "TMPDIR": str(home / "tmp"),
            "CONTAINERS_CONF": str(home / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(home / "registries.conf"),
            "CONTAINERS_STORAGE_CONF": str(home / "storage.conf"),
        }

    def __call__(self, *args, check=True, timeout=TIMEOUT):
        argv = [SETPRIV, "--reuid=%d" % self.user.uid, "--regid=%d" % self.user.gid,
                "--init-groups", "--", PODMAN, "--runtime", RUNTIME] + [str(a) for a in args]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.env,
                           cwd=self.user.home, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError("podman %s: exit %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(map(str, args)), r.returncode, r.stdout, r.stderr))
        return r

    def state_entries(self):
        """Container entries in the runtime's state root (husk keeps its compiled
        seccomp profiles in .seccomp-cache there)."""
        d = self.xdg / STATE_DIR_NAME
        return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) \
            if d.is_dir() else []

    def teardown(self):
        problems = []
        self("rm", "-af", "-t", "0", check=False)
        left = self.state_entries()
        if left:
            problems.append("runtime state left in %s: %s" % (self.xdg / STATE_DIR_NAME, left))
        conmons = pids_matching(str(self.user.home / "storage"))
        if conmons:
            problems.append("processes left: %s" % conmons)
        self("rmi", "-af", check=False)
        # Podman keeps its user namespace alive with a pause process: expected, ours to end.
        pause = self.xdg / "libpod" / "tmp" / "pause.pid"
        if pause.exists():
            try:
                os.kill(int(pause.read_text().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        end = time.time() + 5
        while pids_of_uid(self.user.uid) and time.time() < end:
            time.sleep(0.1)
        problems += self.user.remove()
        return problems


@pytest.fixture(scope="module")
def rpodman(rootfs_tar):
    p = RootlessPodman(rootfs_tar)
    try:
        p("import", p.user.home / "rootfs.tar", IMAGE)
        yield p
    finally:
        problems = p.teardown()
    assert not problems, "; ".join(problems)


def test_rootless_run_maps_the_user_and_its_subordinate_ids(rpodman):
    r = rpodman("run", "--rm", IMAGE, "sh", "-c", "id -u; cat /proc/self/uid_map; echo done")
    lines = [l.split() for l in r.stdout.splitlines()]
    assert lines[0] == ["0"], r.stdout
    assert ["0", str(rpodman.user.uid), "1"] in lines, r.stdout
    sub = rpodman.user.subuid
    assert ["1", str(sub[0]), str(sub[1])] in lines, r.stdout
    assert lines[-1] == ["done"]
    assert rpodman.state_entries() == []


def test_rootless_exit_code(rpodman):
    r = rpodman("run", "--rm", IMAGE, "sh", "-c", "exit 5", check=False)
    assert r.returncode == 5, r.stderr


def test_rootless_detached_exec_top_stop_rm(rpodman):
    r = rpodman("run", "-d", "--name", "bg", IMAGE, "sh", "-c", "while :; do sleep 0.1; done")
    cid = r.stdout.strip().splitlines()[-1]
    # The runtime kept its state where a rootless runtime does.
    assert cid in rpodman.state_entries()
    e = rpodman("exec", "bg", "sh", "-c", "echo exec-ok; cat /proc/1/cmdline | tr '\\0' ' '")
    assert "exec-ok" in e.stdout and "while" in e.stdout, e.stdout
    t = rpodman("top", "bg")
    assert "sh -c while" in t.stdout, t.stdout
    rpodman("stop", "-t", "0", "bg")
    assert rpodman("inspect", "bg", "--format", "{{.State.Status}}").stdout.strip() == "exited"
    rpodman("rm", "bg")
    assert rpodman.state_entries() == []
    assert not pids_matching(cid)
