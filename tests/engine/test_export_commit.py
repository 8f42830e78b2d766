"""husk diff, commit and export: a container's filesystem turned back into
an image layer (overlay whiteouts -> OCI whiteouts) or a tar.

A base image is committed first (its /data tree is what the second container
changes), so every test also exercises commit on top of a committed layer.
The round trip hands the committed image to Podman (its own --root and
--runroot under a temp dir, runc, a cgroup parent below our own cgroup).
"""
import io
import json
import os
import pty
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import uuid
from pathlib import Path

import pytest

from conftest import own_cgroups

BASE_SCRIPT = ("mkdir -p /data/keep /data/gone/deep /data/opq && echo 1 > /data/keep/f && "
               "echo 2 > /data/gone/deep/g && echo 3 > /data/opq/old1 && "
               "echo 4 > /data/opq/old2 && echo 5 > /data/chg")
# A whole directory deleted (whiteout), an opaque directory (deleted and made
# again, one old name back), a changed file, a chmod, added files, a symlink.
WORK_SCRIPT = ("echo new > /data/keep/new && echo changed >> /data/chg && chmod 600 /data/keep/f && "
               "rm -rf /data/gone && rm -rf /data/opq && mkdir /data/opq && "
               "echo fresh > /data/opq/old1 && echo n > /data/opq/n && ln -s /data/chg /data/link")
WORK_DIFF = """C /data
C /data/chg
D /data/gone
C /data/keep
C /data/keep/f
A /data/keep/new
A /data/link
C /data/opq
A /data/opq/n
C /data/opq/old1
D /data/opq/old2
"""
DATA_AFTER = ["/data", "/data/chg", "/data/keep", "/data/keep/f", "/data/keep/new", "/data/link",
              "/data/opq", "/data/opq/n", "/data/opq/old1"]


def base_image(husk):
    husk.run("run", "--name", "base", "busybox", "sh", "-c", BASE_SCRIPT)
    img = husk.out("commit", "base", "base:1").strip()
    assert img.startswith("sha256:") and len(img) == 71, img
    return img


def work_container(husk, name="work", detach=False):
    base_image(husk)
    if detach:
        husk.run("run", "-d", "--name", name, "base:1", "sh", "-c", WORK_SCRIPT + " && sleep 300")
        husk.wait_for(lambda: "A /data/link" in husk.out("diff", name), what="changes")
    else:
        husk.run("run", "--name", name, "base:1", "sh", "-c", WORK_SCRIPT)
    return name


def store_state(husk):
    root = husk.root
    blobs = sorted(os.listdir(root / "image" / "blobs" / "sha256"))
    layers = sorted(os.listdir(root / "image" / "layers"))
    tmp = sorted(os.listdir(root / "image" / "tmp")) if (root / "image" / "tmp").exists() else []
    con = sqlite3.connect(str(root / "husk.db"))
    try:
        rows = {t: sorted(con.execute("SELECT * FROM %s" % t).fetchall())
                for t in ("images", "image_layers", "image_blobs", "layers")}
    finally:
        con.close()
    return blobs, layers, tmp, rows


def tar_names(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        return {"/" + m.name.rstrip("/") for m in t} | {"/"}


@pytest.mark.asan
def test_diff_exact(husk):
    work_container(husk)
    assert husk.out("diff", "work") == WORK_DIFF
    # The base container: everything it made is new; the engine's mount points are not shown.
    assert husk.out("diff", "base") == (
        "A /data\nA /data/chg\nA /data/gone\nA /data/gone/deep\nA /data/gone/deep/g\n"
        "A /data/keep\nA /data/keep/f\nA /data/opq\nA /data/opq/old1\nA /data/opq/old2\n")
    # Never started: no changes at all.
    husk.run("create", "--name", "fresh", "busybox", "true")
    assert husk.out("diff", "fresh") == ""


@pytest.mark.asan
def test_commit_changes_and_config(husk):
    work_container(husk)
    before = json.loads(husk.out("image", "inspect", "base:1"))[0]
    img = husk.out("commit", "-a", "Tess <t@example.com>", "-m", "the message",
                   "-c", "ENV B=2", "-c", 'CMD ["cat", "/data/chg"]', "-c", "WORKDIR /data",
                   "-c", "EXPOSE 8080", "-c", "LABEL k=v", "-c", "USER root",
                   "work", "committed:2").strip()
    info = json.loads(husk.out("image", "inspect", "committed:2"))[0]
    assert info["Id"] == img
    assert len(info["RootFS"]["Layers"]) == len(before["RootFS"]["Layers"]) + 1
    assert info["RootFS"]["Layers"][:-1] == before["RootFS"]["Layers"]
    cfg = info["Config"]
    assert "B=2" in cfg["Env"]
    assert cfg["Cmd"] == ["cat", "/data/chg"]
    assert cfg["WorkingDir"] == "/data"
    assert cfg["ExposedPorts"] == {"8080/tcp": {}}
    assert cfg["Labels"] == {"k": "v"}
    assert cfg["User"] == "root"
    assert info["Author"] == "Tess <t@example.com>"
    hist = husk.out("history", "--no-trunc", "committed:2")
    assert "the message" in hist
    # The new image runs with the changes and deletions, and its Cmd.
    assert husk.out("run", "--rm", "committed:2") == "5\nchanged\n"
    out = husk.out("run", "--rm", "committed:2", "sh", "-c",
                   "find /data | sort; echo B=$B; pwd; cat /data/opq/old1 /data/keep/new; "
                   "stat -c %a /data/keep/f; readlink /data/link")
    lines = out.splitlines()
    assert lines[:len(DATA_AFTER)] == DATA_AFTER
    assert lines[len(DATA_AFTER):] == ["B=2", "/data", "fresh", "new", "600", "/data/chg"]


@pytest.mark.asan
def test_commit_keeps_container_config(husk):
    husk.run("run", "--name", "cfg", "-e", "FROM_RUN=1", "-w", "/tmp", "busybox",
             "sh", "-c", "touch /tmp/x")
    husk.out("commit", "cfg", "cfg:1")
    cfg = json.loads(husk.out("image", "inspect", "cfg:1"))[0]["Config"]
    assert "FROM_RUN=1" in cfg["Env"]
    assert cfg["WorkingDir"] == "/tmp"
    assert cfg["Cmd"] == ["sh", "-c", "touch /tmp/x"]
    # Nor the engine's /etc/hostname and /etc/hosts mount points in the layer.
    out = husk.out("run", "--rm", "cfg:1", "sh", "-c", "ls /tmp")
    assert out == "x\n"


def test_commit_running_container(husk):
    work_container(husk, "live", detach=True)
    r = husk.run("--explain", "commit", "live", "live:1")
    assert r.stdout.strip().startswith("sha256:")
    # Frozen while its layer was read, running again afterwards.
    assert r.stderr.index("FROZEN") < r.stderr.index("THAWED"), r.stderr
    assert husk.inspect("live")["State"]["Status"] == "running"
    assert husk.out("exec", "live", "echo", "still") == "still\n"
    r = husk.run("--explain", "commit", "--pause=false", "live")
    assert r.stdout.strip().startswith("sha256:") and "FROZEN" not in r.stderr
    out = husk.out("run", "--rm", "live:1", "sh", "-c", "find /data | sort")
    assert out.splitlines() == DATA_AFTER


def container_view(husk, name):
    out = husk.out("exec", name, "find", "/", "-xdev")
    return set(out.split())


@pytest.mark.asan
def test_export_matches_container_view(husk, tmp_path):
    work_container(husk, "exp", detach=True)
    view = container_view(husk, "exp")
    assert "/data/opq/n" in view and "/data/gone" not in view
    # Running: to standard output.
    data = subprocess.run(husk.cmdline("export", "exp"), capture_output=True, check=True,
                          env=husk.env, timeout=60).stdout
    names = tar_names(data)
    # find -xdev shows mount points (/proc, /sys, /dev) but not what is below.
    assert names == view, (sorted(names - view), sorted(view - names))
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert not [m.name for m in t if ".wh." in m.name]
        assert t.extractfile("data/chg").read() == b"5\nchanged\n"
    husk.run("stop", "-t", "0", "exp")
    # Stopped: a detached overlay, written atomically to -o.
    out = tmp_path / "exp.tar"
    husk.run("export", "-o", out, "exp")
    assert not [p for p in tmp_path.iterdir() if p.name != "exp.tar"]
    names2 = tar_names(out.read_bytes())
    assert names2 == names
    with tarfile.open(out) as t:
        assert t.extractfile("data/opq/old1").read() == b"fresh\n"
        assert t.getmember("data/link").linkname == "/data/chg"
        assert t.getmember("data/keep/f").mode & 0o777 == 0o600
    # Nothing mounted is left behind by the export of a stopped container.
    assert str(husk.base) not in Path("/proc/self/mountinfo").read_text()


def test_errors(husk, tmp_path):
    for cmd in (["export", "nosuch"], ["commit", "nosuch"], ["diff", "nosuch"]):
        r = husk.fail(*cmd)
        assert "no such container: nosuch" in r.stderr, r
    husk.run("run", "--name", "e", "busybox", "true")
    r = husk.fail("export", "-o", tmp_path / "nodir" / "x.tar", "e")
    assert "nodir" in r.stderr
    assert husk.fail("commit", "e", "bad name!").returncode != 0
    r = husk.fail("commit", "--pause=maybe", "e")
    assert "--pause 'maybe'" in r.stderr or "maybe" in r.stderr
    # A tar to a terminal is refused.
    mfd, sfd = pty.openpty()
    try:
        p = subprocess.run(husk.cmdline("export", "e"), stdout=sfd, stderr=subprocess.PIPE,
                           env=husk.env, timeout=60)
    finally:
        os.close(sfd)
        os.close(mfd)
    assert p.returncode == 125 and b"terminal" in p.stderr


@pytest.mark.asan
def test_failed_commit_leaves_nothing(husk):
    work_container(husk)
    before = store_state(husk)
    r = husk.fail("commit", "-c", "BOGUS 1", "work", "x:1")
    assert "unknown instruction 'BOGUS'" in r.stderr
    assert store_state(husk) == before
    # A file a layer cannot hold (a socket) stops the commit half way.
    cid = husk.inspect("work")["Id"]
    dfd = os.open(husk.root / "containers" / cid / "upper" / "data", os.O_RDONLY)
    s = socket.socket(socket.AF_UNIX)
    try:
        # Through the fd: the whole path is longer than a socket address allows.
        s.bind("/proc/self/fd/%d/sock" % dfd)
        r = husk.fail("commit", "work", "x:1")
    finally:
        s.close()
        try:
            os.unlink("sock", dir_fd=dfd)
        finally:
            os.close(dfd)
    assert "sock" in r.stderr and "commit container 'work'" in r.stderr, r
    assert store_state(husk) == before
    assert husk.run("image", "inspect", "x:1", check=False).returncode != 0


# ------------------------------------------------------------ round trip


class CgroupParent:
    """A cgroup path below our own in every hierarchy; remove() takes away the
    directories that were not there before, deepest first."""

    def __init__(self):
        own = own_cgroups()
        deepest = max(own.values(), key=len)
        for path in own.values():
            if not (deepest == path or deepest.startswith(path.rstrip("/") + "/")):
                pytest.skip("no cgroup path lies below ours in every hierarchy")
        self.path = deepest.rstrip("/") + "/hk-commit-" + uuid.uuid4().hex[:8]
        self.mounts = set()
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fstype = line.split(" - ", 1)[1].split()[0]
            if fstype in ("cgroup", "cgroup2"):
                self.mounts.add(line.split()[4])
        self.created = []
        parts = self.path.strip("/").split("/")
        for m in self.mounts:
            for i in range(1, len(parts) + 1):
                d = os.path.join(m, *parts[:i])
                if not os.path.isdir(d):
                    self.created.append(d)

    def remove(self):
        left = []
        for m in self.mounts:
            top = os.path.join(m, self.path.lstrip("/"))
            if not os.path.isdir(top):
                continue
            for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(dirpath)
                except OSError as e:
                    left.append("%s: %s" % (dirpath, e.strerror))
        for d in sorted(self.created, key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass  # in use by another test's cgroup: not ours to force
        return left


@pytest.mark.skipif(not all(shutil.which(x) for x in ("podman", "runc", "skopeo")),
                    reason="podman, runc and skopeo are needed for the round trip")
def test_round_trip_podman(husk):
    work_container(husk)
    husk.out("commit", "-c", "ENV RT=1", "work", "roundtrip:1")
    want = husk.out("run", "--rm", "roundtrip:1", "sh", "-c",
                    "find /data | sort; cat /data/chg; echo RT=$RT")
    tmp = Path(tempfile.mkdtemp(prefix="hk-pm-"))
    env = dict(os.environ, CONTAINERS_CONF=str(tmp / "containers.conf"),
               CONTAINERS_REGISTRIES_CONF=str(tmp / "registries.conf"),
               CONTAINERS_STORAGE_CONF=str(tmp / "storage.conf"), TMPDIR=str(tmp / "tmp"))
    base = ["podman", "--root", str(tmp / "root"), "--runroot", str(tmp / "runroot"),
            "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file", "--runtime", "runc"]
    cg = CgroupParent()
    try:
        archive = tmp / "img.tar"
        husk.run("save", "-o", archive, "roundtrip:1")
        (tmp / "tmp").mkdir()
        (tmp / "containers.conf").write_text(
            '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
            'netns = "none"\n[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'
            'tmp_dir = "%s"\n' % (tmp / "tmp"))
        (tmp / "registries.conf").write_text("unqualified-search-registries = []\n")
        (tmp / "storage.conf").write_text(
            '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n'
            % (tmp / "root", tmp / "runroot"))

        def podman(*args):
            p = subprocess.run(base + list(args), capture_output=True, text=True, env=env,
                               timeout=120)
            assert p.returncode == 0, (args, p.stdout, p.stderr)
            return p.stdout

        insp = subprocess.run(["skopeo", "inspect", "docker-archive:%s" % archive],
                              capture_output=True, text=True, timeout=60)
        assert insp.returncode == 0, insp.stderr
        # busybox, the base commit, this commit.
        assert len(json.loads(insp.stdout)["Layers"]) == 3
        assert "RT=1" in json.loads(insp.stdout)["Env"]
        assert "roundtrip:1" in podman("load", "-i", str(archive))
        got = podman("run", "--rm", "--network", "none", "--cgroup-parent", cg.path,
                     "localhost/roundtrip:1", "sh", "-c",
                     "find /data | sort; cat /data/chg; echo RT=$RT")
        assert got == want
        podman("rmi", "-a", "-f")
    finally:
        subprocess.run(base + ["rm", "-af"], capture_output=True, env=env, timeout=60)
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            mp = line.split()[4]
            if mp.startswith(str(tmp)):
                subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        left = cg.remove()
    assert not left, left
