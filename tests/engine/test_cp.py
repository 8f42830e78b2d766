"""husk cp: both ways, running and stopped containers, tar streams, and
symlinks in the container that must not lead out of it."""
import io
import os
import subprocess
import tarfile

import pytest


@pytest.fixture
def running(husk):
    husk.run("run", "-d", "--name", "cp1", "busybox", "sleep", "60")
    husk.run("exec", "cp1", "sh", "-c",
             "mkdir -p /d/sub && echo hi > /d/a && echo deep > /d/sub/b && chmod 640 /d/a && "
             "chown 1:2 /d/a && ln -s /etc /d/evil && ln -s /etc/passwd /d/pw && "
             "echo 'in-container' > /etc/husk-cp-marker")
    yield "cp1"
    husk.run("rm", "-f", "cp1")


@pytest.mark.asan
def test_cp_from_running_container(husk, running, tmp_path):
    husk.run("cp", "cp1:/d", str(tmp_path))  # into an existing dir: as d
    d = tmp_path / "d"
    assert (d / "a").read_text() == "hi\n" and (d / "sub" / "b").read_text() == "deep\n"
    # As docker's: the copy belongs to the caller, with -a to the source's owner.
    st = os.lstat(d / "a")
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, os.getuid(), os.getgid())
    husk.run("cp", "-a", "cp1:/d/a", str(tmp_path / "kept"))
    st = os.lstat(tmp_path / "kept")
    assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 1, 2)
    assert os.readlink(d / "evil") == "/etc"  # copied as a link, never followed
    husk.run("cp", "cp1:/d/a", str(tmp_path / "renamed"))
    assert (tmp_path / "renamed").read_text() == "hi\n"
    husk.run("cp", "cp1:/d/.", str(tmp_path / "contents"))
    assert sorted(os.listdir(tmp_path / "contents")) == ["a", "evil", "pw", "sub"]
    # A symlink on the way resolves inside the container: the container's /etc.
    husk.run("cp", "cp1:/d/evil/husk-cp-marker", str(tmp_path / "m"))
    assert (tmp_path / "m").read_text() == "in-container\n"
    husk.run("cp", "cp1:/d/../../../etc/passwd", str(tmp_path / "pw"))
    assert (tmp_path / "pw").read_text() == husk.out("exec", "cp1", "cat", "/etc/passwd")
    r = husk.fail("cp", "cp1:/nope", str(tmp_path / "x"))
    assert "/nope" in r.stderr and "No such file" in r.stderr


@pytest.mark.asan
def test_cp_tar_stream_out(husk, running):
    r = husk.popen("cp", "cp1:/d", "-", stdout=subprocess.PIPE)
    out, _ = r.communicate(timeout=30)
    assert r.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(out)) as t:
        names = sorted(t.getnames())
        assert names == ["d", "d/a", "d/evil", "d/pw", "d/sub", "d/sub/b"]
        assert t.extractfile("d/a").read() == b"hi\n"
        assert t.getmember("d/evil").issym() and t.getmember("d/evil").linkname == "/etc"


@pytest.mark.asan
def test_cp_to_running_container_stays_inside(husk, running, tmp_path):
    src = tmp_path / "f"
    src.write_text("from host\n")
    husk.run("cp", str(src), "cp1:/d/")
    assert husk.out("exec", "cp1", "cat", "/d/f") == "from host\n"
    husk.run("cp", str(src), "cp1:/d/newname")
    assert husk.out("exec", "cp1", "cat", "/d/newname") == "from host\n"
    # Copies into the container belong to its root; -a keeps the host owner.
    os.chown(src, 7, 8)
    husk.run("cp", str(src), "cp1:/d/o1")
    husk.run("cp", "-a", str(src), "cp1:/d/o2")
    assert husk.out("exec", "cp1", "stat", "-c", "%u:%g", "/d/o1", "/d/o2") == "0:0\n7:8\n"
    # /d/evil -> /etc: the copy lands in the container's /etc, not the host's.
    marker = "husk-cp-test-%d" % os.getpid()
    (tmp_path / marker).write_text("x\n")
    husk.run("cp", str(tmp_path / marker), "cp1:/d/evil/")
    assert not os.path.exists("/etc/" + marker)
    assert husk.out("exec", "cp1", "cat", "/etc/" + marker) == "x\n"
    husk.run("cp", str(tmp_path / marker), "cp1:/d/evil/../../../../etc/x2")
    assert not os.path.exists("/etc/x2")
    assert husk.out("exec", "cp1", "cat", "/etc/x2") == "x\n"
    # A directory, and its contents with /.
    (tmp_path / "tree" / "in").mkdir(parents=True)
    (tmp_path / "tree" / "in" / "g").write_text("g\n")
    husk.run("cp", str(tmp_path / "tree"), "cp1:/")
    assert husk.out("exec", "cp1", "cat", "/tree/in/g") == "g\n"
    husk.run("cp", str(tmp_path / "tree") + "/.", "cp1:/tree2")
    assert husk.out("exec", "cp1", "cat", "/tree2/in/g") == "g\n"
    r = husk.fail("cp", str(tmp_path / "tree"), "cp1:/d/a")
    assert "cannot copy a directory" in r.stderr


def test_cp_tar_stream_in_is_confined(husk, running, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in [("top/x", b"X\n"), ("top/evil/through-link", b"L\n")]:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    # /d/top/evil is made a symlink to /etc first: the entry must land in the container's /etc.
    husk.run("exec", "cp1", "sh", "-c", "mkdir /d/top && ln -s /etc /d/top/evil")
    husk.run("cp", "-", "cp1:/d", input=buf.getvalue())
    assert husk.out("exec", "cp1", "cat", "/d/top/x") == "X\n"
    assert husk.out("exec", "cp1", "cat", "/etc/through-link") == "L\n"
    assert not os.path.exists("/etc/through-link")
    bad = io.BytesIO()
    with tarfile.open(fileobj=bad, mode="w") as t:
        ti = tarfile.TarInfo("../../../../tmp/husk-cp-escape")
        ti.size = 1
        t.addfile(ti, io.BytesIO(b"!"))
    r = husk.fail("cp", "-", "cp1:/d", input=bad.getvalue())
    assert "'..'" in r.stderr
    assert not os.path.exists("/tmp/husk-cp-escape")
    r = husk.fail("cp", "-", "cp1:/d/a", input=buf.getvalue())
    assert "must be a directory" in r.stderr


def test_cp_stopped_container_both_ways(husk, tmp_path):
    husk.run("create", "--name", "st1", "busybox", "cat", "/root/f")
    (tmp_path / "f").write_text("into stopped\n")
    husk.run("cp", str(tmp_path / "f"), "st1:/root/")
    husk.run("cp", "st1:/root/f", str(tmp_path / "back"))
    assert (tmp_path / "back").read_text() == "into stopped\n"
    # The container sees it when it starts, and after it exits it can still be read.
    assert husk.out("start", "-a", "st1") == "into stopped\n"
    husk.run("cp", "st1:/etc/passwd", str(tmp_path / "pw"))
    assert (tmp_path / "pw").read_text().startswith("root:")
    husk.run("rm", "st1")


def test_cp_bad_arguments(husk, tmp_path):
    r = husk.fail("cp", "/a", "/b")
    assert "at least one container" in r.stderr
    r = husk.fail("cp", "x:/a", "y:/b")
    assert "between containers" in r.stderr
    r = husk.fail("cp", "nosuch:/a", str(tmp_path))
    assert "no such container: nosuch" in r.stderr
    r = husk.fail("cp", "x:rel", str(tmp_path))
    assert r.returncode != 0
