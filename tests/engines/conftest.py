"""Shared fixtures for the engine tests: real container engines (Podman with
conmon, containerd with its runc shim) driving husk-runtime as their runtime.

RUNTIME names the runtime binary (default: <repo>/build/husk-runtime); run the
suite with RUNTIME=/usr/bin/runc to see what correct looks like.

Everything the engines create stays in a temporary directory, except what the
engines hard-code: cgroups (always placed below this process's own cgroup),
the runtime's default state root (/run/husk-runtime, /run/runc: Podman's
cleanup process does not pass --runtime-flag) and containerd's shim socket
directory /run/containerd/s. Teardowns remove what the tests made there, by
id or pid, and fail when something is left behind.
"""

import hashlib
import io
import json
import os
import pty
import select
import signal
import subprocess
import tarfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = os.path.abspath(os.environ.get("RUNTIME", str(REPO / "build" / "husk-runtime")))
BUSYBOX = "/usr/bin/busybox" if os.path.exists("/usr/bin/busybox") else "/bin/busybox"
IMAGE = "localhost/busybox:latest"


def runtime_version():
    try:
        r = subprocess.run([RUNTIME, "--version"], capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip()
    except OSError:
        return ""


IS_HUSK = runtime_version().startswith("husk-runtime")


def runtime_has_command(name):
    """True when `$RUNTIME NAME --help` is understood (husk lists unknown commands)."""
    r = subprocess.run([RUNTIME, name, "--help"], capture_output=True, text=True, timeout=10)
    return r.returncode == 0 and "unknown command" not in r.stderr


def runtime_state_ids(root):
    """Ids the runtime lists in its state root (default root when None)."""
    args = [RUNTIME] + (["--root", root] if root else []) + ["list", "-q"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=10)
    return set(r.stdout.split())


def runtime_default_root():
    base = os.path.basename(RUNTIME)
    return "/run/runc" if base == "runc" else "/run/crun" if "crun" in base else "/run/husk-runtime"


# ------------------------------------------------------------------ the image


def _is_static(path):
    """True for an ELF executable without a PT_INTERP program header."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only
            return False
        phoff = int.from_bytes(head[32:40], "little")
        phentsize = int.from_bytes(head[54:56], "little")
        phnum = int.from_bytes(head[56:58], "little")
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    return all(int.from_bytes(table[i:i + 4], "little") != 3
               for i in range(0, len(table), phentsize))


def busybox_rootfs_tar(dest):
    """Writes a rootfs tar: a static busybox, its applet links, /etc/passwd and group."""
    if not os.path.exists(BUSYBOX) or not _is_static(BUSYBOX):
        pytest.skip("needs a static busybox at %s (busybox-static)" % BUSYBOX)
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()

    def add_dir(t, name, mode=0o755):
        i = tarfile.TarInfo(name)
        i.type, i.mode, i.mtime = tarfile.DIRTYPE, mode, 0
        t.addfile(i)

    def add_file(t, name, data, mode=0o644):
        i = tarfile.TarInfo(name)
        i.size, i.mode, i.mtime = len(data), mode, 0
        t.addfile(i, io.BytesIO(data))

    with tarfile.open(dest, "w") as t:
        for d in ("bin", "etc", "dev", "proc", "sys", "tmp", "root", "var"):
            add_dir(t, d, 0o1777 if d == "tmp" else 0o755)
        with open(BUSYBOX, "rb") as f:
            add_file(t, "bin/busybox", f.read(), 0o755)
        for a in applets:
            if a == "busybox" or "/" in a:
                continue
            i = tarfile.TarInfo("bin/" + a)
            i.type, i.linkname, i.mtime = tarfile.SYMTYPE, "busybox", 0
            t.addfile(i)
        add_file(t, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n")
        add_file(t, "etc/group", b"root:x:0:\nnobody:x:65534:\n")
    return dest


def docker_archive(rootfs_tar, dest, tag=IMAGE):
    """Wraps a rootfs tar into a docker-archive image tar (what `docker save` writes)."""
    layer = Path(rootfs_tar).read_bytes()
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag],
                            "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(dest, "w") as t:
        for name, data in (("layer.tar", layer), (config_name, config), ("manifest.json", manifest)):
            i = tarfile.TarInfo(name)
            i.size, i.mode, i.mtime = len(data), 0o644, 0
            t.addfile(i, io.BytesIO(data))
    return dest


@pytest.fixture(scope="session")
def rootfs_tar(tmp_path_factory):
    return busybox_rootfs_tar(str(tmp_path_factory.mktemp("image") / "busybox-rootfs.tar"))


# ------------------------------------------------------------------ cgroups


def cgroup_mounts():
    """{hierarchy key: mount point}; key is the controller list ("memory", "cpu,cpuacct",
    "name=systemd") for v1 and "" for cgroup2, matching /proc/self/cgroup."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fstype, _src, opts = right.split()[:3]
            mnt = left.split()[4]
            if fstype == "cgroup2":
                out.setdefault("", mnt)
            elif fstype == "cgroup":
                keys = [o for o in opts.split(",") if o not in ("rw", "ro") and
                        not o.startswith(("relatime", "nosuid", "nodev", "noexec", "clone_children",
                                          "release_agent", "xattr", "nsdelegate"))]
                out.setdefault(",".join(keys), mnt)
    return out


def own_cgroups():
    """{hierarchy key: our cgroup path} from /proc/self/cgroup."""
    out = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            out[ctrls] = path
    return out


class CgroupParent:
    """A cgroup path below this process's cgroup in every hierarchy. Engines place
    their containers (and conmon) below it; remove() takes away every directory
    the tests created, deepest first, and reports those that would not go."""

    def __init__(self):
        own = own_cgroups()
        deepest = max(own.values(), key=len)
        for key, path in own.items():
            if not (deepest == path or deepest.startswith(path.rstrip("/") + "/")):
                pytest.skip("no cgroup path lies below ours in every hierarchy (%s)" % own)
        self.path = deepest.rstrip("/") + "/husk-engines-" + uuid.uuid4().hex[:8]
        self.mounts = cgroup_mounts()
        self.created = []
        for mnt in self.mounts.values():
            # Directories on the way down that do not exist yet are ours to remove.
            parts = self.path.strip("/").split("/")
            for i in range(1, len(parts) + 1):
                d = os.path.join(mnt, *parts[:i])
                if not os.path.isdir(d):
                    self.created.append(d)

    def dirs(self, child=""):
        p = self.path + ("/" + child if child else "")
        return [os.path.join(m, p.lstrip("/")) for m in self.mounts.values()]

    def remove(self):
        left = []
        for top in self.dirs():
            if not os.path.isdir(top):
                continue
            for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(dirpath)
                except OSError as e:
                    left.append("%s: %s" % (dirpath, e.strerror))
        for d in sorted(self.created, key=len, reverse=True):
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError:
                pass  # another test's cgroup lives here now; not ours to force
        return left


@pytest.fixture(scope="session")
def cgroup_parent():
    cg = CgroupParent()
    yield cg
    left = cg.remove()
    assert not left, "cgroups left behind: %s" % left


# ------------------------------------------------------------------ helpers


def mounts_below(path):
    path = str(path)
    with open("/proc/self/mountinfo") as f:
        return [l.split()[4] for l in f if l.split()[4].startswith(path)]


def pids_matching(needle):
    """Pids whose command line contains `needle` (a unique temp path of ours)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                if needle.encode() in f.read():
                    out.append(int(p))
        except OSError:
            pass
    return out


def wait_for(pred, timeout=10, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def pty_run(argv, script, env=None, timeout=30):
    """Runs argv on a new pty, types `script` once a prompt ('#') shows (or after
    3 s), and reads until the pty closes. Returns (exit status, output); the
    status is None when it timed out (the process is killed)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve(argv[0], argv, env if env is not None else os.environ)
        finally:
            os._exit(127)
    out, sent, start = b"", False, time.monotonic()
    timed_out = True
    while time.monotonic() - start < timeout:
        if not sent and (b"#" in out or time.monotonic() - start > 3):
            os.write(fd, script.encode())
            sent = True
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other side is gone
                timed_out = False
                break
            if not chunk:
                timed_out = False
                break
            out += chunk
    os.close(fd)
    if timed_out:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return (None if timed_out else os.waitstatus_to_exitcode(status)), out.decode(errors="replace")
