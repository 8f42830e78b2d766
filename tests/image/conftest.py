"""Fixtures for the image command tests: a husk wrapper bound to a private
--root, an offline busybox rootfs tar, and podman with its own storage."""
import os
import shutil
import subprocess
import tempfile

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HUSK = os.environ.get("HUSK", os.path.join(REPO, "build", "husk"))


class Husk:
    def __init__(self, root):
        self.root = root

    def run(self, *args, input=None, check=True, env=None):
        cmd = [HUSK, "--root", self.root] + [str(a) for a in args]
        p = subprocess.run(cmd, input=input, capture_output=True, env=env, timeout=300)
        # Under the ASan build (HUSK=build-asan/husk) a sanitizer report fails the test,
        # also for commands that are expected to fail.
        for mark in (b"AddressSanitizer", b"LeakSanitizer", b"runtime error:"):
            assert mark not in p.stderr, p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {p.returncode}\nstdout: {p.stdout.decode(errors='replace')}"
                f"\nstderr: {p.stderr.decode(errors='replace')}")
        return p

    def out(self, *args, **kw):
        return self.run(*args, **kw).stdout.decode()

    def fail(self, *args, **kw):
        p = self.run(*args, check=False, **kw)
        assert p.returncode != 0, f"husk {' '.join(map(str, args))} unexpectedly succeeded"
        return p.stderr.decode()

    def store_state(self):
        """Files in the store besides the database: what a failed command must not leave."""
        found = []
        for sub in ("image/blobs/sha256", "image/layers", "image/tmp"):
            d = os.path.join(self.root, sub)
            if os.path.isdir(d):
                found += [os.path.join(sub, n) for n in sorted(os.listdir(d))]
        return found

    def db_rows(self):
        import sqlite3
        con = sqlite3.connect(os.path.join(self.root, "husk.db"))
        try:
            return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                    for t in ("images", "image_names", "image_layers", "image_blobs", "layers")}
        finally:
            con.close()


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


@pytest.fixture
def husk(tmp_path):
    root = tmp_path / "root"
    h = Husk(str(root))
    yield h
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def busybox_tar():
    d = tempfile.mkdtemp(prefix="husk-bb-")
    tar = os.path.join(d, "busybox.tar")
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-rootfs.sh"),
                    os.path.join(d, "rootfs"), tar], check=True)
    yield tar
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def busybox_rootfs(busybox_tar):
    return os.path.join(os.path.dirname(busybox_tar), "rootfs")


class Podman:
    def __init__(self, base):
        self.base = base
        self.args = ["podman", "--root", os.path.join(base, "root"), "--runroot",
                     os.path.join(base, "run"), "--storage-driver", "vfs",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "none"]

    def run(self, *args, check=True):
        p = subprocess.run(self.args + [str(a) for a in args], capture_output=True, timeout=300)
        if check and p.returncode != 0:
            raise AssertionError(f"podman {args} failed: {p.stderr.decode()}")
        return p.stdout.decode()

    def cleanup(self):
        subprocess.run(self.args + ["system", "reset", "-f"], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def podman(tmp_path):
    if not shutil.which("podman"):
        pytest.skip("podman not installed")
    # podman wants a short runroot: keep everything in a short temp dir.
    p = Podman(tempfile.mkdtemp(prefix="husk-pm-"))
    yield p
    p.cleanup()
