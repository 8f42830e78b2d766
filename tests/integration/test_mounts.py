"""mounts, root.readonly, /dev, linux.devices, maskedPaths, readonlyPaths, sysctl,
and mount destinations that try to leave the rootfs."""

import os
import subprocess
from pathlib import Path

import pytest

from conftest import Probe, host_mounts_referencing, skip_on


def run_probe(rt, b):
    r = rt.run(b)
    assert r.returncode == 0, r
    return r.probe()


@pytest.mark.asan
def test_default_mounts(rt):
    b = rt.bundle(args=("/probe", "mountinfo"))
    p = run_probe(rt, b)
    proc = p.mount_at("/proc")
    assert proc and proc["fstype"] == "proc"
    sysfs = p.mount_at("/sys")
    assert sysfs and sysfs["fstype"] == "sysfs"
    assert "ro" in sysfs["options"]
    assert {"nosuid", "nodev", "noexec"} <= sysfs["options"]
    dev = p.mount_at("/dev")
    assert dev and dev["fstype"] == "tmpfs"
    assert "nosuid" in dev["options"]
    pts = p.mount_at("/dev/pts")
    assert pts and pts["fstype"] == "devpts"
    assert {"nosuid", "noexec"} <= pts["options"]
    assert "gid=5" in pts["superopts"] and "mode=620" in pts["superopts"]
    assert "ptmxmode=666" in pts["superopts"]
    shm = p.mount_at("/dev/shm")
    assert shm and shm["fstype"] == "tmpfs"
    assert {"nosuid", "nodev", "noexec"} <= shm["options"]
    assert "size=65536k" in shm["superopts"]
    mq = p.mount_at("/dev/mqueue")
    assert mq and mq["fstype"] == "mqueue"
    root = p.mount_at("/")
    assert "ro" in root["options"]


def _cgroup_tree(p):
    return [m for m in p.mounts()
            if m["mountpoint"] == "/sys/fs/cgroup" or m["mountpoint"].startswith("/sys/fs/cgroup/")]


def _host_cgroup_v1():
    return not any(line.split()[1:3] == ["/sys/fs/cgroup", "cgroup2"]
                   for line in Path("/proc/self/mounts").read_text().splitlines())


@pytest.mark.asan
def test_cgroup_tree_read_only(rt):
    """The default ro cgroup mount: /sys/fs/cgroup and every hierarchy under it
    read-only, nosuid, nodev, noexec; on v1 each hierarchy shows the
    container's own cgroup, not the host's root."""
    b = rt.bundle(args=("/probe", "mountinfo"))
    p = run_probe(rt, b)
    tree = _cgroup_tree(p)
    assert tree, p.mounts()
    for m in tree:
        assert {"nosuid", "nodev", "noexec"} <= m["options"], m
    hier = [m for m in tree if m["fstype"] in ("cgroup", "cgroup2")]
    for m in hier:
        assert "ro" in m["options"], m
    if _host_cgroup_v1():
        assert tree[0]["fstype"] == "tmpfs"
        # runc and crun leave the tmpfs itself writable; husk does not.
        if rt.name == "husk":
            assert "ro" in tree[0]["options"], tree[0]
        assert len(hier) >= 2, tree
        for m in hier:
            assert m["root"].endswith("/" + b.path.name), m


def test_cgroup_tree_writable(rt):
    """A cgroup mount without "ro": the hierarchies stay writable (still
    nosuid, nodev, noexec)."""
    b = rt.bundle(args=("/probe", "mountinfo"))
    for m in b.config["mounts"]:
        if m["destination"] == "/sys/fs/cgroup":
            m["options"] = [o for o in m.get("options", []) if o != "ro"]
    p = run_probe(rt, b)
    tree = _cgroup_tree(p)
    assert tree, p.mounts()
    for m in tree:
        assert "ro" not in m["options"], m
        assert {"nosuid", "nodev", "noexec"} <= m["options"], m


def test_tmpfs_options(rt):
    b = rt.bundle(args=("/probe", "mountinfo", "stat", "/mnt"))
    b.add_mount("/mnt", "tmpfs", "tmpfs", ["size=1m", "mode=0700", "nosuid", "nodev", "noexec"])
    p = run_probe(rt, b)
    m = p.mount_at("/mnt")
    assert m["fstype"] == "tmpfs"
    assert {"nosuid", "nodev", "noexec"} <= m["options"]
    assert "size=1024k" in m["superopts"]
    assert "mode=700" in m["superopts"]
    if rt.name != "runc":  # runc 1.1 chmods a tmpfs back to the mount point's old mode
        assert p["stat:/mnt:mode"] == "0700"


def test_mount_flags_visible(rt):
    b = rt.bundle(args=("/probe", "mountinfo"))
    b.add_mount("/mnt", "tmpfs", "tmpfs", ["ro", "nosuid", "nodev", "noexec", "noatime"])
    b.add_mount("/tmp", "tmpfs", "tmpfs", ["rw", "suid", "dev", "exec"])
    p = run_probe(rt, b)
    m = p.mount_at("/mnt")
    assert {"ro", "nosuid", "nodev", "noexec", "noatime"} <= m["options"]
    t = p.mount_at("/tmp")
    assert "rw" in t["options"]
    assert not ({"nosuid", "nodev", "noexec"} & t["options"])


def test_bind_mount_ro(rt):
    src = rt.tmp / "data"
    src.mkdir()
    (src / "file").write_text("host data\n")
    b = rt.bundle(args=("/probe", "read", "/mnt/file", "try-write", "/mnt/new", "mountinfo"))
    b.add_mount("/mnt", "bind", src, ["bind", "ro"])
    p = run_probe(rt, b)
    assert p["read:/mnt/file"] == "host data\\n"
    assert p["write:/mnt/new"] == "EROFS"
    assert "ro" in p.mount_at("/mnt")["options"]
    assert not (src / "new").exists()


def test_bind_mount_rw_writes_through(rt):
    src = rt.tmp / "data"
    src.mkdir()
    b = rt.bundle(args=("/probe", "try-write", "/mnt/new"))
    b.add_mount("/mnt", "bind", src, ["rbind", "rw"])
    p = run_probe(rt, b)
    assert p["write:/mnt/new"] == "OK"
    assert (src / "new").exists()


def test_bind_mount_file(rt):
    src = rt.tmp / "hostfile"
    src.write_text("one file\n")
    b = rt.bundle(args=("/probe", "read", "/etc/hostname", "stat", "/etc/hostname"))
    b.add_mount("/etc/hostname", "bind", src, ["bind", "ro"])
    p = run_probe(rt, b)
    assert p["read:/etc/hostname"] == "one file\\n"
    assert p["stat:/etc/hostname:type"] == "reg"


def test_rbind_includes_submounts(rt):
    src = rt.tmp / "tree"
    (src / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "husk-it-sub", str(src / "sub")],
                   check=True)
    rt.cleanups.append(lambda: subprocess.run(["umount", "-l", str(src / "sub")]))
    (src / "sub" / "marker").write_text("sub\n")
    b = rt.bundle(args=("/probe", "exists", "/mnt/r/sub/marker", "exists", "/mnt/b/sub/marker",
                        "mountinfo"))
    b.add_mount("/mnt/r", "bind", src, ["rbind"])
    b.add_mount("/mnt/b", "bind", src, ["bind"])
    p = run_probe(rt, b)
    assert p["exists:/mnt/r/sub/marker"] == "1"
    assert p["exists:/mnt/b/sub/marker"] == "0"
    assert p.mount_at("/mnt/r/sub")["fstype"] == "tmpfs"
    assert p.mount_at("/mnt/b/sub") is None


def test_mount_propagation_private(rt):
    src = rt.tmp / "prop"
    src.mkdir()
    b = rt.bundle(args=("/probe", "mountinfo"))
    b.add_mount("/mnt", "bind", src, ["rbind", "rprivate"])
    b.add_mount("/run", "tmpfs", "tmpfs", ["private"])
    p = run_probe(rt, b)
    assert not any(o.startswith(("shared:", "master:")) for o in p.mount_at("/mnt")["optional"])
    assert not any(o.startswith("shared:") for o in p.mount_at("/run")["optional"])


def test_mount_propagation_shared(rt):
    skip_on("crun", "crun 1.8 ignores propagation options on non-bind mounts")
    b = rt.bundle(args=("/probe", "mountinfo"))
    b.add_mount("/tmp", "tmpfs", "tmpfs", ["rshared"])
    b.add_mount("/run", "tmpfs", "tmpfs", ["shared"])
    p = run_probe(rt, b)
    assert any(o.startswith("shared:") for o in p.mount_at("/tmp")["optional"])
    assert any(o.startswith("shared:") for o in p.mount_at("/run")["optional"])


def test_rootfs_propagation_private(rt):
    b = rt.bundle(args=("/probe", "mountinfo"))
    b.config["linux"]["rootfsPropagation"] = "private"
    p = run_probe(rt, b)
    assert not any(o.startswith(("shared:", "master:")) for o in p.mount_at("/")["optional"])


def test_readonly_root(rt):
    b = rt.bundle(args=("/probe", "try-write", "/newfile", "try-write", "/tmp/newfile"))
    assert b.config["root"]["readonly"] is True
    p = run_probe(rt, b)
    assert p["write:/newfile"] == "EROFS"
    assert p["write:/tmp/newfile"] == "EROFS"
    assert not (rt.template["rootfs"] / "newfile").exists()


def test_writable_root(rt):
    b = rt.bundle(args=("/probe", "try-write", "/newfile", "mountinfo"), writable=True)
    p = run_probe(rt, b)
    assert p["write:/newfile"] == "OK"
    assert (b.path / "rootfs" / "newfile").exists()
    assert "rw" in p.mount_at("/")["options"]


@pytest.mark.asan
def test_dev_contents(rt):
    args = ["/probe"]
    nodes = {"null": "1:3", "zero": "1:5", "full": "1:7", "random": "1:8", "urandom": "1:9",
             "tty": "5:0"}
    for n in nodes:
        args += ["stat", "/dev/" + n]
    for l in ("fd", "stdin", "stdout", "stderr", "ptmx"):
        args += ["readlink", "/dev/" + l]
    args += ["stat", "/dev/ptmx", "stat", "/dev/pts", "stat", "/dev/shm", "stat", "/dev/mqueue",
             "read", "/dev/zero"]
    b = rt.bundle(args=args)
    p = run_probe(rt, b)
    for n, rdev in nodes.items():
        assert p["stat:/dev/%s:type" % n] == "chr", n
        assert p["stat:/dev/%s:rdev" % n] == rdev, n
        assert p["stat:/dev/%s:mode" % n] == "0666", n
    assert p["readlink:/dev/fd"] == "/proc/self/fd"
    assert p["readlink:/dev/stdin"] == "/proc/self/fd/0"
    assert p["readlink:/dev/stdout"] == "/proc/self/fd/1"
    assert p["readlink:/dev/stderr"] == "/proc/self/fd/2"
    # /dev/ptmx: a symlink to pts/ptmx (runc, crun) or the 5:2 node of the new instance.
    if p["stat:/dev/ptmx:type"] == "lnk":
        assert p["readlink:/dev/ptmx"] == "pts/ptmx"
    else:
        assert p["stat:/dev/ptmx:rdev"] == "5:2"
    for d in ("pts", "shm", "mqueue"):
        assert p["stat:/dev/%s:type" % d] == "dir"
    assert p["read:/dev/zero.size"] == "65535"


def test_dev_no_host_devices(rt):
    b = rt.bundle(args=("/probe", "exists", "/dev/sda", "exists", "/dev/mem", "exists",
                        "/dev/kmsg", "exists", "/dev/vda"))
    p = run_probe(rt, b)
    for d in ("sda", "mem", "kmsg", "vda"):
        assert p["exists:/dev/" + d] == "0", d


def test_devpts_newinstance(rt):
    # The container's devpts is its own instance: a pty made inside is not in the host's.
    b = rt.bundle(args=("/probe", "mountinfo", "stat", "/dev/pts/ptmx"))
    p = run_probe(rt, b)
    pts = p.mount_at("/dev/pts")
    host_pts = [l for l in Path("/proc/self/mountinfo").read_text().splitlines()
                if l.split()[4] == "/dev/pts"]
    if host_pts:
        assert pts["majmin"] != host_pts[0].split()[2]
    assert p["stat:/dev/pts/ptmx:type"] == "chr"


def test_linux_devices(rt):
    b = rt.bundle(args=("/probe", "stat", "/dev/husk0", "stat", "/dev/sub/huskb"))
    b.config["linux"]["devices"] = [
        {"path": "/dev/husk0", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
         "uid": 1000, "gid": 1001},
        {"path": "/dev/sub/huskb", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600},
    ]
    p = run_probe(rt, b)
    assert p["stat:/dev/husk0:type"] == "chr"
    assert p["stat:/dev/husk0:rdev"] == "1:3"
    assert p["stat:/dev/husk0:mode"] == "0640"
    assert p["stat:/dev/husk0:uid"] == "1000"
    assert p["stat:/dev/husk0:gid"] == "1001"
    assert p["stat:/dev/sub/huskb:type"] == "blk"
    assert p["stat:/dev/sub/huskb:rdev"] == "7:200"
    assert p["stat:/dev/sub/huskb:mode"] == "0600"


def test_masked_paths(rt):
    b = rt.bundle(args=("/probe", "read", "/proc/timer_list", "read", "/etc/hostname",
                        "mountinfo", "stat", "/sys/firmware", "read", "/proc/keys"))
    # /proc/kcore and /proc/sysrq-trigger don't exist on every kernel (not on
    # this test VM): a masked or read-only path that doesn't exist is skipped.
    b.config["linux"]["maskedPaths"] = ["/proc/kcore", "/proc/timer_list", "/proc/keys",
                                        "/sys/firmware", "/etc/hostname", "/does/not/exist"]
    p = run_probe(rt, b)
    assert p["read:/proc/timer_list.size"] == "0"
    assert p["read:/proc/keys.size"] == "0"
    assert p["read:/etc/hostname.size"] == "0"
    fw = p.mount_at("/sys/firmware")
    assert fw and fw["fstype"] == "tmpfs"
    assert "ro" in fw["options"]
    assert p["stat:/sys/firmware:type"] == "dir"


def test_masked_dir_is_empty(rt):
    b = rt.bundle(args=("/bin/ls", "-A", "/sys/firmware"))
    b.config["linux"]["maskedPaths"] = ["/sys/firmware"]
    r = rt.run(b)
    assert r.returncode == 0, r
    assert r.stdout.strip() == ""


@pytest.mark.asan
def test_readonly_paths(rt):
    b = rt.bundle(args=("/probe", "try-write", "/proc/sys/kernel/domainname", "try-write",
                        "/etc/hostname", "try-write", "/etc/other", "try-write", "/mnt/x",
                        "read", "/proc/sys/kernel/ostype"), writable=True)
    b.add_mount("/mnt", "tmpfs", "tmpfs", [])
    b.config["linux"]["readonlyPaths"] = ["/proc/sys", "/proc/sysrq-trigger", "/etc/hostname",
                                          "/mnt", "/does/not/exist"]
    p = run_probe(rt, b)
    assert p["write:/proc/sys/kernel/domainname"] == "EROFS"
    assert p["write:/etc/hostname"] == "EROFS"
    assert p["write:/etc/other"] == "OK"
    assert p["write:/mnt/x"] == "EROFS"
    assert p["read:/proc/sys/kernel/ostype"] == "Linux\\n"


def test_sysctl(rt):
    before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    before_shm = Path("/proc/sys/kernel/shm_rmid_forced").read_text()
    b = rt.bundle(args=("/probe", "read", "/proc/sys/net/ipv4/ip_forward", "read",
                        "/proc/sys/kernel/shm_rmid_forced"))
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}
    p = run_probe(rt, b)
    assert p["read:/proc/sys/net/ipv4/ip_forward"] == "1\\n"
    assert p["read:/proc/sys/kernel/shm_rmid_forced"] == "1\\n"
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == before
    assert Path("/proc/sys/kernel/shm_rmid_forced").read_text() == before_shm


def test_sysctl_outside_namespace_rejected(working, rt):
    # net.* without a network namespace of its own would change the host.
    before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    b = rt.bundle(args=("/probe", "pid"))
    b.remove_namespace("network")
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1" if before.strip() == "0" else "0"}
    r = rt.run(b)
    assert r.returncode != 0
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == before


@pytest.mark.parametrize("kind", ["absolute", "relative"])
def test_mount_destination_symlink_stays_inside(working, rt, kind):
    victim = rt.tmp / "victim"
    victim.mkdir()
    target = victim / "created"
    b = rt.bundle(args=("/probe", "mountinfo"), writable=True)
    link = b.path / "rootfs" / "escape"
    if kind == "absolute":
        os.symlink(str(target), link)
    else:
        os.symlink("../" * 12 + str(target).lstrip("/"), link)
    b.add_mount("/escape", "tmpfs", "tmpfs", ["size=1m"])
    r = rt.run(b)
    # The symlink is resolved inside the rootfs: the mount lands there (runc
    # creates the missing directories inside the rootfs; crun 1.8 refuses, which
    # is safe but not what the spec's "destination inside the container" wants).
    assert not target.exists(), "the runtime created %s on the host" % target
    assert not host_mounts_referencing(victim)
    if not (rt.name == "crun" and r.returncode != 0):
        assert r.returncode == 0, r
        m = r.probe().mount_at(str(target))
        assert m and m["fstype"] == "tmpfs", r.stdout
        assert (b.path / "rootfs" / str(target).lstrip("/")).is_dir()


def test_bind_source_symlink_in_rootfs_not_followed_to_host(working, rt):
    # A destination inside the rootfs that is a symlink to a host file: a file
    # bind mount must not create or replace the host file.
    hostfile = rt.tmp / "hostfile-victim"
    src = rt.tmp / "src"
    src.write_text("from bundle\n")
    b = rt.bundle(args=("/probe", "read", str(hostfile)), writable=True)
    os.symlink(str(hostfile), b.path / "rootfs" / "etc" / "evil")
    b.add_mount("/etc/evil", "bind", src, ["bind", "ro"])
    r = rt.run(b)
    assert not hostfile.exists()
    assert r.returncode == 0, r
    assert r.probe()["read:%s" % hostfile] == "from bundle\\n"


def test_no_pivot(rt):
    # --no-pivot (runc, crun): MS_MOVE + chroot instead of pivot_root, e.g. on a ramfs root.
    b = rt.bundle(args=("/probe", "readlink", "/proc/self/root", "mountinfo", "try-write",
                        "/newfile", "exists", "/probe"))
    r = rt.run(b, extra=("--no-pivot",))
    assert r.returncode == 0, r
    p = r.probe()
    assert p["exists:/probe"] == "1"
    assert p["write:/newfile"] == "EROFS"
    assert p.mount_at("/proc")["fstype"] == "proc"
