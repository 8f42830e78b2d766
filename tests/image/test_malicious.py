"""A corpus of hostile layers, built here: each is refused with a clear error,
nothing is written outside the layer, and the store is left as it was."""
import io
import json
import os
import subprocess
import tarfile
import zlib

import pytest


def mktar(path, members, fmt=tarfile.PAX_FORMAT):
    """members: (name, kind, arg) with kind file/dir/sym/link/chr/fifo."""
    with tarfile.open(path, "w", format=fmt) as t:
        for name, kind, arg in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            data = None
            if kind == "file":
                data = arg.encode() if isinstance(arg, str) else arg
                ti.size = len(data)
                ti.mode = 0o644
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = arg
            elif kind == "link":
                ti.type = tarfile.LNKTYPE
                ti.linkname = arg
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = arg
                ti.mode = 0o666
            elif kind == "pax":
                data = b"x"
                ti.size = 1
                ti.pax_headers = arg
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return path


@pytest.fixture
def sentinel(tmp_path):
    """A directory outside the store that hostile entries aim at."""
    d = tmp_path / "outside"
    d.mkdir()
    return d


def assert_refused(husk, tar, *parts):
    before = (husk.store_state(), husk.db_rows())
    err = husk.fail("import", tar, "evil")
    for p in parts:
        assert p in err, err
    assert (husk.store_state(), husk.db_rows()) == before
    return err


@pytest.fixture
def base(husk, busybox_tar):
    husk.run("import", busybox_tar, "base")
    return husk


def test_dotdot_traversal(base, tmp_path, sentinel):
    rel = os.path.relpath(sentinel / "evil", "/")
    tar = mktar(tmp_path / "t.tar", [("../../../../../../../../" + rel, "file", "x")])
    assert_refused(base, tar, "'..' is not allowed", "layer entry")
    tar = mktar(tmp_path / "t2.tar", [("a/b/../../../evil", "file", "x")])
    assert_refused(base, tar, "escapes the layer root")
    assert os.listdir(sentinel) == []


def test_absolute_names_stay_inside(base, tmp_path, sentinel):
    target = str(sentinel / "abs")
    tar = mktar(tmp_path / "t.tar", [(target, "file", "inside")])
    base.run("import", tar, "abs")
    assert os.listdir(sentinel) == []
    doc = json.loads(base.out("image", "inspect", "abs"))[0]
    lower = doc["GraphDriver"]["Data"]["LowerDir"]
    assert open(lower + target).read() == "inside"


def test_symlink_escapes(base, tmp_path, sentinel):
    tar = mktar(tmp_path / "a.tar", [("link", "sym", str(sentinel)), ("link/evil", "file", "x")])
    assert_refused(base, tar, "layer entry 'link/evil'", "symlink")
    tar = mktar(tmp_path / "b.tar", [("link", "sym", "../../../../../../../../../../"),
                                      ("link/" + os.path.relpath(sentinel / "evil", "/"),
                                       "file", "x")])
    assert_refused(base, tar, "symlink")
    tar = mktar(tmp_path / "c.tar", [("d", "dir", None), ("d/l", "sym", "/"),
                                      ("d/l/etc/evil", "file", "x")])
    assert_refused(base, tar, "symlink")
    assert os.listdir(sentinel) == []
    # A symlink that points out is fine as long as nothing goes through it.
    tar = mktar(tmp_path / "ok.tar", [("link", "sym", "/etc/passwd"),
                                       ("up", "sym", "../../../../")])
    base.run("import", tar, "links")


def test_hardlinks_out(base, tmp_path, sentinel):
    victim = sentinel / "victim"
    victim.write_text("secret")
    rel = os.path.relpath(victim, "/")
    tar = mktar(tmp_path / "a.tar", [("h", "link", "../../../../../../../../../" + rel)])
    assert_refused(base, tar, "outside the layer")
    tar = mktar(tmp_path / "b.tar", [("h", "link", str(victim))])
    assert_refused(base, tar, "not an earlier entry of this layer")
    tar = mktar(tmp_path / "c.tar", [("l", "sym", str(sentinel)), ("h", "link", "l/victim")])
    assert_refused(base, tar, "not an earlier entry")
    tar = mktar(tmp_path / "d.tar", [("d", "dir", None), ("h", "link", "d")])
    assert_refused(base, tar, "directory")
    assert os.stat(victim).st_nlink == 1 and victim.read_text() == "secret"


def test_escaping_whiteouts(base, tmp_path, sentinel):
    (sentinel / "keep").write_text("k")
    tar = mktar(tmp_path / "a.tar", [("../.wh.keep", "file", "")])
    assert_refused(base, tar, "'..' is not allowed")
    tar = mktar(tmp_path / "b.tar", [("a/.wh...", "file", "")])
    assert_refused(base, tar, "whiteout of '..'")
    tar = mktar(tmp_path / "c.tar", [("l", "sym", str(sentinel)), ("l/.wh.keep", "file", "")])
    assert_refused(base, tar, "symlink")
    tar = mktar(tmp_path / "d.tar", [("l", "sym", str(sentinel)), ("l/.wh..wh..opq", "file", "")])
    assert_refused(base, tar, "symlink")
    assert (sentinel / "keep").read_text() == "k"


def test_overlay_xattrs_refused(base, tmp_path):
    tar = mktar(tmp_path / "a.tar", [("f", "pax", {"SCHILY.xattr.trusted.overlay.redirect": "/x"})])
    assert_refused(base, tar, "overlay attribute 'trusted.overlay.redirect' is not allowed")


def test_huge_headers(base, tmp_path):
    tar = mktar(tmp_path / "a.tar", [("f", "pax", {"path": "a" * 200000})])
    assert_refused(base, tar, "path longer than")
    tar = mktar(tmp_path / "b.tar", [("f", "pax", {"path": "/".join(["d"] * 3000)})])
    assert_refused(base, tar, "longer than")
    # A header that claims far more data than there is (checksum kept valid).
    raw = bytearray(open(mktar(tmp_path / "c.tar", [("f", "file", "x" * 10)],
                               fmt=tarfile.USTAR_FORMAT), "rb").read())
    raw[124:136] = b"77777777777\0"
    raw[148:156] = b" " * 8
    raw[148:156] = b"%06o\0 " % sum(raw[:512])
    (tmp_path / "c.tar").write_bytes(bytes(raw))
    assert_refused(base, tmp_path / "c.tar", "layer", "f")
    # A pax extended header that claims to be 8 GiB long.
    hdr = bytearray(512)
    hdr[0:5] = b"pax_h"
    hdr[100:108] = b"0000644\0"
    hdr[108:116] = b"0000000\0"
    hdr[116:124] = b"0000000\0"
    hdr[124:136] = b"77777777777\0"
    hdr[136:148] = b"00000000000\0"
    hdr[156:157] = b"x"
    hdr[257:265] = b"ustar\x0000"
    hdr[148:156] = b" " * 8
    hdr[148:156] = b"%06o\0 " % sum(hdr)
    (tmp_path / "d.tar").write_bytes(bytes(hdr) + b"30 path=" + b"a" * 100 + bytes(100000))
    assert_refused(base, tmp_path / "d.tar", "bad tar header", "too large")


def test_gzip_bombs(base, tmp_path):
    # Zeros end a tar at once; gigabytes of "padding" after it are refused.
    bomb = tmp_path / "zeros.tar.gz"
    with open(bomb, "wb") as f:
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = bytes(64 << 20)
        for _ in range(20):
            f.write(c.compress(chunk))
        f.write(c.flush())
    assert bomb.stat().st_size < 2 << 20
    # import unpacks as it decompresses: the trailer limit (16 MiB) trips
    # long before the ratio guard would (1 GiB). The 2 GiB entry below
    # still reaches the ratio guard.
    assert_refused(base, bomb, "after the end of the tar")
    # Plain data after the end of a tar is refused past a limit too.
    trailer = tmp_path / "trailer.tar"
    mktar(trailer, [("f", "file", "x")])
    with open(trailer, "ab") as f:
        f.write(b"junk" * (5 << 20))
    assert_refused(base, trailer, "after the end of the tar")
    # A real entry of 2 GiB of zeros: the ratio guard stops it.
    big = tmp_path / "big.tar.gz"
    ti = tarfile.TarInfo("zeros")
    ti.size = 2 << 30
    with open(big, "wb") as f:
        c = zlib.compressobj(9, zlib.DEFLATED, 31)
        f.write(c.compress(ti.tobuf(tarfile.PAX_FORMAT)))
        chunk = bytes(64 << 20)
        for _ in range(32):
            f.write(c.compress(chunk))
        f.write(c.compress(bytes(1024)))
        f.write(c.flush())
    assert_refused(base, big, "decompression bomb")


def test_bad_gzip(base, tmp_path):
    """gzip layers are inflated with ISA-L: broken ones are refused, members are one stream."""
    import gzip
    import hashlib
    members = [("f%d" % i, "file", os.urandom(300000)) for i in range(8)]
    data = open(mktar(tmp_path / "l.tar", members), "rb").read()
    gz = gzip.compress(data)
    cases = {
        "truncated input": gz[:len(gz) // 2],
        "checksum mismatch": gz[:-8] + bytes([gz[-8] ^ 1]) + gz[-7:],
        "data after the end of the compressed stream": gz + b"junk",
        "unsupported compression method": b"\x1f\x8b not really gzip",
    }
    for msg, blob in cases.items():
        (tmp_path / "bad.tar.gz").write_bytes(blob)
        err = assert_refused(base, tmp_path / "bad.tar.gz", msg)
        assert "decompress: gzip" in err, err
    # The same tar split over two gzip members (as pigz or cat of two files makes).
    half = len(data) // 2
    (tmp_path / "two.tar.gz").write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    base.run("import", tmp_path / "two.tar.gz", "two")
    diff = json.loads(base.out("image", "inspect", "two"))[0]["RootFS"]["Layers"][0]
    assert diff == "sha256:" + hashlib.sha256(data).hexdigest()
    lower = json.loads(base.out("image", "inspect", "two"))[0]["GraphDriver"]["Data"]["LowerDir"]
    assert open(os.path.join(lower, "f7"), "rb").read() == members[7][2]


def test_devices_setuid_sparse_xattrs(base, tmp_path):
    tar = mktar(tmp_path / "dev.tar", [("dev", "dir", None), ("dev/null", "chr", (1, 3)),
                                        ("f", "pax", {"SCHILY.xattr.user.note": "hello"})])
    base.run("import", tar, "dev")
    lower = json.loads(base.out("image", "inspect", "dev"))[0]["GraphDriver"]["Data"]["LowerDir"]
    st = os.lstat(os.path.join(lower, "dev", "null"))
    assert os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert os.getxattr(os.path.join(lower, "f"), "user.note") == b"hello"
    # setuid and sparse files, made by GNU tar from a real tree.
    src = tmp_path / "src"
    src.mkdir()
    (src / "su").write_bytes(b"#!/bin/sh\n")
    os.chmod(src / "su", 0o4755)
    with open(src / "sparse", "wb") as f:
        f.truncate(1 << 30)
        f.seek(512 << 20)
        f.write(b"middle")
    subprocess.run(["tar", "--sparse", "-C", str(src), "-cf", str(tmp_path / "s.tar"), "."],
                   check=True)
    base.run("import", tmp_path / "s.tar", "sparse")
    lower = json.loads(base.out("image", "inspect", "sparse"))[0]["GraphDriver"]["Data"][
        "LowerDir"]
    st = os.stat(os.path.join(lower, "su"))
    assert st.st_mode & 0o7777 == 0o4755
    st = os.stat(os.path.join(lower, "sparse"))
    assert st.st_size == 1 << 30 and st.st_blocks * 512 < 16 << 20
    with open(os.path.join(lower, "sparse"), "rb") as f:
        f.seek(512 << 20)
        assert f.read(6) == b"middle"


def test_hostile_layer_in_load(base, tmp_path, sentinel):
    """The same checks apply to layers that come in an archive."""
    layer = mktar(tmp_path / "layer.tar", [("l", "sym", str(sentinel)), ("l/evil", "file", "x")])
    import hashlib
    data = open(layer, "rb").read()
    diff = "sha256:" + hashlib.sha256(data).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diff]}}).encode()
    cname = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cname, "RepoTags": ["evil:1"],
                            "Layers": ["layer.tar"]}]).encode()
    arch = tmp_path / "evil-archive.tar"
    with tarfile.open(arch, "w") as t:
        for name, blob in ((cname, config), ("layer.tar", data), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(blob)
            t.addfile(ti, io.BytesIO(blob))
    before = (base.store_state(), base.db_rows())
    err = base.fail("load", "-i", arch)
    assert "layer entry 'l/evil'" in err and "symlink" in err
    assert (base.store_state(), base.db_rows()) == before
    assert os.listdir(sentinel) == []


def test_corrupted_layers_never_crash(base, tmp_path):
    """Random byte flips in a layer: refused or accepted, never a crash, never leftovers."""
    import random
    rng = random.Random(3)
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in [("d", "dir", None), ("d/f", "file", "hello"),
                                ("d/l", "sym", "../f"), ("h", "link", "d/f"),
                                ("d/.wh.x", "file", ""), ("e/.wh..wh..opq", "file", ""),
                                ("\u00fc-" + "n" * 150, "file", "x")]:
            ti = tarfile.TarInfo(name)
            data = None
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, arg
            elif kind == "link":
                ti.type, ti.linkname = tarfile.LNKTYPE, arg
            else:
                data = arg.encode()
                ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    orig = b.getvalue()
    for i in range(60):
        s = bytearray(orig)
        for _ in range(rng.randint(1, 6)):
            s[rng.randrange(len(s))] = rng.randrange(256)
        p = base.run("import", "-", f"x{i}", input=bytes(s), check=False)
        assert p.returncode in (0, 1), p.stderr
        assert os.listdir(os.path.join(base.root, "image", "tmp")) == []
