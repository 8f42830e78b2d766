"""What unpacking keeps: file capabilities, ownership; zstd layers; rootless rules."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from conftest import HUSK


def lower_of(husk, name):
    return json.loads(husk.out("image", "inspect", name))[0]["GraphDriver"]["Data"]["LowerDir"]


def test_capabilities_and_ownership(husk, tmp_path):
    if not shutil.which("setcap") or not shutil.which("getcap"):
        pytest.skip("setcap/getcap not installed")
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy("/bin/true", src / "ping")
    subprocess.run(["setcap", "cap_net_raw+ep", str(src / "ping")], check=True)
    (src / "owned").write_text("x")
    os.chown(src / "owned", 1234, 5678)
    subprocess.run(["tar", "--xattrs", "--xattrs-include=*", "-C", str(src), "-cf",
                    str(tmp_path / "c.tar"), "."], check=True)
    husk.run("import", tmp_path / "c.tar", "caps")
    lower = lower_of(husk, "caps")
    out = subprocess.run(["getcap", os.path.join(lower, "ping")], capture_output=True,
                         text=True).stdout
    assert "cap_net_raw=ep" in out
    st = os.stat(os.path.join(lower, "owned"))
    assert (st.st_uid, st.st_gid) == (1234, 5678)


def test_zstd_layer_in_oci_archive(husk, busybox_tar, tmp_path):
    if not shutil.which("zstd"):
        pytest.skip("zstd not installed")
    raw = open(busybox_tar, "rb").read()
    blob = subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True, check=True).stdout
    files = {}

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        files[f"blobs/sha256/{d}"] = data
        return {"digest": "sha256:" + d, "size": len(data)}
    cfg = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                          "rootfs": {"type": "layers", "diff_ids": [
                              "sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode())
    layer = put(blob)
    man = put(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": dict(cfg, mediaType="application/vnd.oci.image.config.v1+json"),
        "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+zstd")]}).encode())
    # An index with another platform next to the one husk should pick.
    arm = put(b"{}")
    index = put(json.dumps({"schemaVersion": 2, "manifests": [
        dict(arm, mediaType="application/vnd.oci.image.manifest.v1+json",
             platform={"os": "linux", "architecture": "arm64"}),
        dict(man, mediaType="application/vnd.oci.image.manifest.v1+json",
             platform={"os": "linux", "architecture": "amd64"})]}).encode())
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [
        dict(index, mediaType="application/vnd.oci.image.index.v1+json",
             annotations={"org.opencontainers.image.ref.name": "localhost/zst:1"})]}).encode()
    files["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
    arch = tmp_path / "zst.tar"
    with tarfile.open(arch, "w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    assert husk.out("load", "-i", arch) == "Loaded image: localhost/zst:1\n"
    doc = json.loads(husk.out("image", "inspect", "localhost/zst:1"))[0]
    assert doc["ManifestDigest"] == man["digest"]
    assert os.path.islink(os.path.join(lower_of(husk, "localhost/zst:1"), "bin", "sh"))
    # Saved again as OCI, the zstd blob is kept as it is.
    husk.run("save", "--format", "oci-archive", "-o", tmp_path / "back.tar", "localhost/zst:1")
    names = tarfile.open(tmp_path / "back.tar").getnames()
    assert layer["digest"].replace("sha256:", "blobs/sha256/") in names
    # And as docker-archive, it is decompressed to the plain tar (the diffID).
    husk.run("save", "-o", tmp_path / "d.tar", "localhost/zst:1")
    t = tarfile.open(tmp_path / "d.tar")
    diff = hashlib.sha256(raw).hexdigest()
    assert t.extractfile(f"{diff}.tar").read() == raw


def test_rootless_refuses_devices(tmp_path, busybox_tar):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to switch to an unprivileged user")
    import tempfile
    base = tempfile.mkdtemp(prefix="husk-rootless-")
    try:
        os.chmod(base, 0o777)
        dev = io.BytesIO()
        with tarfile.open(fileobj=dev, mode="w") as t:
            ti = tarfile.TarInfo("null")
            ti.type = tarfile.CHRTYPE
            ti.devmajor, ti.devminor = 1, 3
            t.addfile(ti)
        user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", HUSK, "--root",
                os.path.join(base, "r")]
        p = subprocess.run(user + ["import", "-", "d"], input=dev.getvalue(), capture_output=True)
        assert p.returncode == 1
        assert b"device node refused: only root may unpack device nodes" in p.stderr
        p = subprocess.run(user + ["import", "-", "bb"], input=open(busybox_tar, "rb").read(),
                           capture_output=True)
        assert p.returncode == 0, p.stderr
        p = subprocess.run(user + ["images", "--format", "{{.Repository}}"], capture_output=True,
                           text=True)
        assert p.stdout == "bb\n"
        assert os.listdir(os.path.join(base, "r", "image", "tmp")) == []
        assert len(os.listdir(os.path.join(base, "r", "image", "layers"))) == 1
    finally:
        shutil.rmtree(base)
