"""husk load / save: docker-archive and oci-archive, and interop with podman,
skopeo and umoci (each with private storage under the test's temp dir)."""
import gzip
import json
import os
import shutil
import subprocess
import tarfile

import pytest


def inspect(husk, name):
    return json.loads(husk.out("image", "inspect", name))[0]


def test_save_load_roundtrip(husk, busybox_tar, tmp, tmp_path_factory):
    husk.run("import", "-c", "CMD sh", busybox_tar, "bb:1")
    want = inspect(husk, "bb:1")
    for fmt in ("docker-archive", "oci-archive"):
        out = tmp / f"{fmt}.tar"
        husk.run("save", "--format", fmt, "-o", out, "bb:1")
        names = tarfile.open(out).getnames()
        if fmt == "docker-archive":
            assert "manifest.json" in names
        else:
            assert "index.json" in names and "oci-layout" in names
        from conftest import Husk
        other = Husk(str(tmp_path_factory.mktemp("other") / "root"))
        want_line = "bb:1" if fmt == "docker-archive" else "docker.io/library/bb:1"
        assert other.out("load", "-i", out) == f"Loaded image: {want_line}\n"
        got = inspect(other, "bb:1")
        assert got["Id"] == want["Id"]
        assert got["RootFS"] == want["RootFS"]
        assert got["Config"] == want["Config"]
        shutil.rmtree(other.root)


def test_save_to_stdout_and_compressed_load(husk, busybox_tar, tmp):
    husk.run("import", busybox_tar, "bb")
    data = husk.run("save", "bb").stdout
    assert tarfile.open(fileobj=__import__("io").BytesIO(data))
    iid = inspect(husk, "bb")["Id"]
    husk.run("rmi", "bb")
    assert husk.store_state() == []
    husk.run("load", input=gzip.compress(data))
    assert inspect(husk, "bb")["Id"] == iid
    husk.run("rmi", "bb")
    (tmp / "a.tar.gz").write_bytes(gzip.compress(data))
    assert husk.out("load", "-i", tmp / "a.tar.gz") == "Loaded image: bb:latest\n"
    # The legacy-looking leftovers of the archive are not kept.
    assert len(os.listdir(os.path.join(husk.root, "image", "blobs", "sha256"))) == 3


def test_save_errors_leave_nothing(husk, busybox_tar, tmp):
    out = tmp / "x.tar"
    assert "no such image: nope" in husk.fail("save", "-o", out, "nope")
    assert not out.exists()
    assert sorted(os.listdir(tmp)) == ["root"]
    assert "unknown format" in husk.fail("save", "--format", "zip", "-o", out, "x")


def test_load_errors_leave_nothing(husk, busybox_tar, tmp):
    husk.run("import", busybox_tar, "bb")
    before = (husk.store_state(), husk.db_rows())
    bad = tmp / "bad.tar"
    with tarfile.open(bad, "w") as t:
        t.add(busybox_tar, arcname="something.tar")
    assert "neither a docker-archive" in husk.fail("load", "-i", bad)
    # A manifest naming a member that is not there.
    good = tmp / "good.tar"
    husk.run("save", "-o", good, "bb")
    src = tarfile.open(good)
    broken = tmp / "broken.tar"
    with tarfile.open(broken, "w") as t:
        for m in src.getmembers():
            if m.name.endswith(".tar"):
                continue
            t.addfile(m, src.extractfile(m))
    assert "is not in the archive" in husk.fail("load", "-i", broken)
    # An OCI archive whose blob does not match its name.
    oci = tmp / "oci.tar"
    husk.run("save", "--format", "oci-archive", "-o", oci, "bb")
    src = tarfile.open(oci)
    tampered = tmp / "tampered.tar"
    with tarfile.open(tampered, "w") as t:
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None
            if m.isfile() and m.size > 100000:
                data = data[:-1] + bytes([data[-1] ^ 1])
            t.addfile(m, __import__("io").BytesIO(data) if data is not None else None)
    assert "does not match its name" in husk.fail("load", "-i", tampered)
    assert (husk.store_state(), husk.db_rows()) == before
    junk = tmp / "junk"
    junk.write_bytes(b"\x1f\x8b not really gzip")
    husk.fail("load", "-i", junk)
    assert (husk.store_state(), husk.db_rows()) == before


def podman_ids(podman, name):
    doc = json.loads(podman.run("image", "inspect", name))[0]
    return doc["Id"], doc["RootFS"]["Layers"]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_podman_roundtrip(husk, podman, busybox_tar, tmp, fmt):
    podman.run("import", busybox_tar, "localhost/bb:1")
    pid, players = podman_ids(podman, "localhost/bb:1")
    src = tmp / "from-podman.tar"
    podman.run("save", "--format", fmt, "-o", src, "localhost/bb:1")
    assert husk.out("load", "-i", src) == "Loaded image: localhost/bb:1\n"
    doc = inspect(husk, "localhost/bb:1")
    assert doc["Id"] == "sha256:" + pid
    assert doc["RootFS"]["Layers"] == players
    back = tmp / "from-husk.tar"
    husk.run("save", "--format", fmt, "-o", back, "localhost/bb:1")
    podman.run("rmi", "-f", "localhost/bb:1")
    podman.run("load", "-i", back)
    assert podman_ids(podman, "localhost/bb:1") == (pid, players)


def test_skopeo_reads_oci_archive(husk, busybox_tar, tmp):
    if not shutil.which("skopeo"):
        pytest.skip("skopeo not installed")
    husk.run("import", "-c", "ENV X=1", busybox_tar, "bb")
    out = tmp / "oci.tar"
    husk.run("save", "--format", "oci-archive", "-o", out, "bb")
    p = subprocess.run(["skopeo", "inspect", f"oci-archive:{out}"], capture_output=True)
    assert p.returncode == 0, p.stderr.decode()
    doc = json.loads(p.stdout)
    assert doc["Layers"] == inspect(husk, "bb")["RootFS"]["Layers"]
    assert "X=1" in doc["Env"]
    p = subprocess.run(["skopeo", "inspect", "--config", f"oci-archive:{out}"],
                       capture_output=True)
    assert p.returncode == 0, p.stderr.decode()


def tree(root):
    """Every path with type, mode, owner, size, link target and content digest."""
    import hashlib
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            info = (st.st_mode, st.st_uid, st.st_gid)
            if os.path.islink(p):
                info += (os.readlink(p),)
            elif os.path.isfile(p):
                info += (st.st_size, hashlib.sha256(open(p, "rb").read()).hexdigest())
            out[rel] = info
    return out


def test_umoci_unpack_matches(husk, busybox_tar, tmp):
    if not shutil.which("umoci"):
        pytest.skip("umoci not installed")
    husk.run("import", busybox_tar, "bb")
    out = tmp / "oci.tar"
    husk.run("save", "--format", "oci-archive", "-o", out, "bb")
    layout = tmp / "layout"
    layout.mkdir()
    with tarfile.open(out) as t:
        t.extractall(layout)
    ref = json.load(open(layout / "index.json"))["manifests"][0]["annotations"][
        "org.opencontainers.image.ref.name"]
    # umoci wants a plain tag as the ref name.
    idx = json.load(open(layout / "index.json"))
    idx["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = "bb"
    json.dump(idx, open(layout / "index.json", "w"))
    assert ref == "docker.io/library/bb:latest"
    bundle = tmp / "bundle"
    p = subprocess.run(["umoci", "unpack", "--image", f"{layout}:bb", str(bundle)],
                       capture_output=True)
    assert p.returncode == 0, p.stderr.decode()
    lower = inspect(husk, "bb")["GraphDriver"]["Data"]["LowerDir"]
    assert tree(lower) == tree(bundle / "rootfs")


def test_concurrent_loads(husk, busybox_tar, tmp):
    husk.run("import", "-c", "CMD sh", busybox_tar, "bb:1")
    arch = tmp / "a.tar"
    husk.run("save", "--format", "oci-archive", "-o", arch, "bb:1")
    husk.run("rmi", "bb:1")
    import subprocess as sp
    from conftest import HUSK
    procs = [sp.Popen([HUSK, "--root", husk.root, "load", "-q", "-i", str(arch)],
                      stdout=sp.PIPE, stderr=sp.PIPE) for _ in range(6)]
    procs += [sp.Popen([HUSK, "--root", husk.root, "import", busybox_tar, f"i{i}"],
                       stdout=sp.PIPE, stderr=sp.PIPE) for i in range(3)]
    procs += [sp.Popen([HUSK, "--root", husk.root, "image", "prune", "-f"],
                       stdout=sp.PIPE, stderr=sp.PIPE) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    names = husk.out("images", "--format", "{{.Repository}}:{{.Tag}}").split()
    assert sorted(names) == ["bb:1", "i0:latest", "i1:latest", "i2:latest"]
    # Every image still has all its blobs and its layer.
    for n in names:
        husk.run("save", "-o", tmp / "check.tar", n)
    assert os.listdir(os.path.join(husk.root, "image", "tmp")) == []
