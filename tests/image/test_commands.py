"""husk import / images / image inspect / tag / rmi / history / prune / system df."""
import gzip
import json
import os
import re
import subprocess

import pytest


def image_id(husk, name):
    return json.loads(husk.out("image", "inspect", name))[0]["Id"]


def test_import_and_images(husk, busybox_tar):
    out = husk.out("import", busybox_tar, "busybox")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", out)
    lines = husk.out("images").splitlines()
    assert re.match(r"REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$", lines[0])
    assert re.match(r"busybox\s+latest\s+[0-9a-f]{12}\s+.*ago\s+\d", lines[1])
    assert lines[1].split()[2] == out[7:19]
    assert husk.out("images", "-q") == out[7:19] + "\n"
    assert husk.out("images", "-q", "--no-trunc") == out
    # The unpacked layer is the same tree as the tar.
    doc = json.loads(husk.out("image", "inspect", "busybox"))[0]
    lower = doc["GraphDriver"]["Data"]["LowerDir"]
    assert os.path.islink(os.path.join(lower, "bin", "sh"))
    assert os.readlink(os.path.join(lower, "bin", "sh")) == "/bin/busybox"
    assert os.stat(os.path.join(lower, "tmp")).st_mode & 0o7777 == 0o1777
    assert doc["RepoTags"] == ["busybox:latest"]
    assert doc["Os"] == "linux" and doc["Architecture"] == "amd64"
    assert len(doc["RootFS"]["Layers"]) == 1


def test_import_stdin_compressed_with_changes(husk, busybox_tar, tmp):
    gz = tmp / "bb.tar.gz"
    gz.write_bytes(gzip.compress(open(busybox_tar, "rb").read()))
    with open(gz, "rb") as f:
        husk.run("import", "-c", 'CMD ["/bin/sh", "-c", "echo hi"]', "-c", "ENV A=1 B=2",
                 "-c", "WORKDIR /srv", "-c", "EXPOSE 80", "-m", "my message", "-", "me/app:v1",
                 input=f.read())
    doc = json.loads(husk.out("image", "inspect", "me/app:v1"))[0]
    assert doc["Config"]["Cmd"] == ["/bin/sh", "-c", "echo hi"]
    assert doc["Config"]["Env"] == ["A=1", "B=2"]
    assert doc["Config"]["WorkingDir"] == "/srv"
    assert "80/tcp" in doc["Config"]["ExposedPorts"]
    assert doc["Comment"] == "my message"
    # Same tar, compressed or not: the layer (diffID) is shared.
    husk.run("import", busybox_tar, "plain")
    plain = json.loads(husk.out("image", "inspect", "plain"))[0]
    assert plain["RootFS"]["Layers"] == doc["RootFS"]["Layers"]
    assert len(os.listdir(os.path.join(husk.root, "image", "layers"))) == 1


def test_formats(husk, busybox_tar):
    husk.run("import", busybox_tar, "busybox:1")
    iid = image_id(husk, "busybox:1")
    assert husk.out("images", "--format", "{{.Repository}}:{{.Tag}}") == "busybox:1\n"
    assert husk.out("images", "--format", "{{.ID}}") == iid[7:19] + "\n"
    row = json.loads(husk.out("images", "--format", "json"))
    assert row["Repository"] == "busybox" and row["Tag"] == "1"
    # CreatedSince ("Less than a second ago", "1 second ago") may move between two calls.
    same = json.loads(husk.out("images", "--format", "{{json .}}"))
    assert "CreatedSince" in same and "CreatedSince" in row
    del same["CreatedSince"], row["CreatedSince"]
    assert same == row
    t = husk.out("images", "--format", "table {{.Repository}}\t{{.ID}}").splitlines()
    assert re.match(r"REPOSITORY\s+IMAGE ID$", t[0])
    assert husk.out("image", "inspect", "--format", "{{.Id}} {{.Os}}", "busybox:1") == \
        f"{iid} linux\n"
    assert husk.out("image", "inspect", "-f", "{{json .RootFS.Layers}}", "busybox:1").startswith(
        '["sha256:')
    d = husk.out("images", "--digests").splitlines()
    assert re.match(r"REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID", d[0])
    assert "sha256:" in d[1]
    err = husk.fail("images", "--format", "{{.Nope}}")
    assert "can't evaluate field 'Nope'" in err
    err = husk.fail("images", "--format", "{{.ID")
    assert "unclosed action" in err


def test_tag_and_rmi(husk, busybox_tar):
    husk.run("import", busybox_tar, "busybox")
    iid = image_id(husk, "busybox")
    husk.run("tag", "busybox", "localhost:5000/x/y:2")
    husk.run("tag", iid[7:15], "other")
    names = sorted(l.split()[0] + ":" + l.split()[1] for l in husk.out("images").splitlines()[1:])
    assert names == ["busybox:latest", "localhost:5000/x/y:2", "other:latest"]
    assert image_id(husk, "localhost:5000/x/y:2") == iid
    assert image_id(husk, iid) == iid
    assert image_id(husk, iid[7:]) == iid
    # By id with several names: refused without -f.
    err = husk.fail("rmi", iid[7:19])
    assert "must be forced" in err
    # By name: only the name goes.
    assert husk.out("rmi", "other") == "Untagged: other:latest\n"
    assert image_id(husk, "busybox") == iid
    out = husk.out("rmi", "-f", iid)
    assert "Untagged: busybox:latest" in out and f"Deleted: {iid}" in out
    assert husk.out("images", "-q") == ""
    # Everything is gone from the store.
    assert husk.store_state() == []
    assert husk.db_rows() == {"images": 0, "image_names": 0, "image_layers": 0,
                              "image_blobs": 0, "layers": 0}


def test_retag_leaves_dangling_and_prune(husk, busybox_tar, tmp):
    husk.run("import", busybox_tar, "app")
    first = image_id(husk, "app")
    husk.run("import", "-c", "CMD sh", busybox_tar, "app")
    second = image_id(husk, "app")
    assert first != second
    lines = husk.out("images").splitlines()[1:]
    assert any(l.startswith("<none>") for l in lines)
    out = husk.out("image", "prune", "-f")
    assert f"deleted: {first}" in out and "Total reclaimed space" in out
    assert husk.out("images", "-q", "--no-trunc") == second + "\n"
    # The layer is still used by the second image.
    assert len(os.listdir(os.path.join(husk.root, "image", "layers"))) == 1
    out = husk.out("image", "prune", "-a", "-f")
    assert f"deleted: {second}" in out
    assert husk.store_state() == []


def test_history_and_df(husk, busybox_tar):
    husk.run("import", "-m", "from busybox-static", busybox_tar, "bb")
    h = husk.out("history", "bb").splitlines()
    assert re.match(r"IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$", h[0])
    assert "husk import" in h[1] and "from busybox-static" in h[1]
    assert re.search(r"\s\d+(\.\d+)?MB\s", h[1])
    assert husk.out("history", "-q", "bb") == image_id(husk, "bb")[7:19] + "\n"
    df = husk.out("system", "df").splitlines()
    assert re.match(r"TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$", df[0])
    assert re.match(r"Images\s+1\s+0\s+\S+MB\s+", df[1])
    assert husk.out("system", "df", "--format", "{{.Type}}={{.TotalCount}}").splitlines()[0] == \
        "Images=1"


def test_errors_are_clear(husk, busybox_tar, tmp):
    assert "no such image: nothere" in husk.fail("image", "inspect", "nothere")
    assert "must be lowercase" in husk.fail("tag", "x", "Bad")
    husk.run("import", busybox_tar, "bb")
    assert "must be lowercase" in husk.fail("tag", "bb", "Bad")
    assert "invalid tag" in husk.fail("tag", "bb", "bb:-x")
    assert "no such image" in husk.fail("rmi", "nothere")
    assert "no such image" in husk.fail("history", "nothere")
    before = (husk.store_state(), husk.db_rows())
    junk = tmp / "junk"
    junk.write_bytes(b"this is not a tar archive at all" * 10)
    err = husk.fail("import", junk, "junk")
    assert "tar" in err
    empty = tmp / "empty"
    empty.write_bytes(b"")
    assert "empty input" in husk.fail("import", empty)
    assert "No such file" in husk.fail("import", tmp / "missing.tar")
    assert "unknown instruction 'RUN'" in husk.fail("import", "-c", "RUN x", busybox_tar)
    # A failed import leaves no blob, layer, temp file or row behind.
    assert (husk.store_state(), husk.db_rows()) == before
    p = husk.run("frobnicate", check=False)
    assert p.returncode == 125 and b"not a husk command" in p.stderr
    p = husk.run("images", "--bogus", check=False)
    assert p.returncode == 125


def test_concurrent_tags_and_imports(husk, busybox_tar):
    husk.run("import", busybox_tar, "base")
    from conftest import HUSK
    procs = []
    for i in range(24):
        procs.append(subprocess.Popen([HUSK, "--root", husk.root, "tag", "base", f"t{i}:v{i}"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for i in range(6):
        procs.append(subprocess.Popen([HUSK, "--root", husk.root, "import", "-c",
                                       f"ENV N={i}", busybox_tar, f"imp{i}"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    names = {l.split()[0] + ":" + l.split()[1] for l in husk.out("images").splitlines()[1:]}
    for i in range(24):
        assert f"t{i}:v{i}" in names
    for i in range(6):
        assert f"imp{i}:latest" in names
    rows = husk.db_rows()
    assert rows["images"] == 7 and rows["image_names"] == 31
    import sqlite3
    con = sqlite3.connect(os.path.join(husk.root, "husk.db"))
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    assert os.listdir(os.path.join(husk.root, "image", "tmp")) == []
