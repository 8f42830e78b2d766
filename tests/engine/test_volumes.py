"""Named and anonymous volumes: husk volume create/ls/inspect/rm/prune, -v
NAME:/path, -v /path, --mount, rm -v, system df, inspect .Mounts."""
import json
import os
import re

import pytest


def volumes_on_disk(husk):
    d = husk.root / "volumes"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def volume_rows(husk):
    import sqlite3
    con = sqlite3.connect(str(husk.root / "husk.db"))
    try:
        return [r[0] for r in con.execute("SELECT name FROM volumes ORDER BY name")]
    finally:
        con.close()


def rm_all_volumes(husk):
    names = husk.out("volume", "ls", "-q").split()
    if names:
        husk.run("volume", "rm", *names)
    assert volumes_on_disk(husk) == [] and volume_rows(husk) == []


@pytest.mark.asan
def test_volume_create_ls_inspect_rm(husk):
    assert husk.out("volume", "create", "--label", "a=b", "--label", "c", "data1") == "data1\n"
    # Idempotent, as docker's.
    assert husk.out("volume", "create", "data1") == "data1\n"
    anon = husk.out("volume", "create").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", anon), anon
    assert husk.out("volume", "ls", "-q").split() == sorted(["data1", anon])
    table = husk.out("volume", "ls").splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert "local     data1" in table
    assert "data1 a=b,c=" in husk.out("volume", "ls", "--format",
                                      "{{.Name}} {{.Labels}}").splitlines()
    info = json.loads(husk.out("volume", "inspect", "data1"))
    assert len(info) == 1
    v = info[0]
    assert v["Name"] == "data1" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Labels"] == {"a": "b", "c": ""}
    assert v["Mountpoint"] == str(husk.root / "volumes" / "data1" / "_data")
    assert os.path.isdir(v["Mountpoint"])
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", v["CreatedAt"])
    assert husk.out("volume", "inspect", "-f", "{{.Name}}:{{.Driver}}", "data1") == \
        "data1:local\n"
    r = husk.fail("volume", "inspect", "nope")
    assert "no such volume: nope" in r.stderr
    r = husk.fail("volume", "create", "bad/name")
    assert "bad/name" in r.stderr and "invalid characters" in r.stderr
    r = husk.fail("volume", "create", "-d", "nfs", "x1")
    assert "--driver 'nfs'" in r.stderr
    r = husk.fail("volume", "rm", "nope")
    assert "no such volume: nope" in r.stderr
    assert husk.out("volume", "rm", "-f", "nope") == "nope\n"
    assert husk.out("volume", "rm", "data1", anon) == "data1\n%s\n" % anon
    assert volumes_on_disk(husk) == [] and volume_rows(husk) == []


@pytest.mark.asan
def test_named_volume_persists_and_ro_is_enforced(husk):
    husk.run("run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c",
             "echo persisted > /data/f")
    assert husk.out("volume", "ls", "-q") == "keep\n"  # created on first use
    assert husk.out("run", "--rm", "-v", "keep:/data", "busybox", "cat", "/data/f") == \
        "persisted\n"
    r = husk.run("run", "--rm", "-v", "keep:/data:ro", "busybox", "sh", "-c",
                 "cat /data/f; echo x > /data/g", check=False)
    assert r.returncode != 0
    assert r.stdout == "persisted\n"
    assert "Read-only file system" in r.stderr
    assert not (husk.root / "volumes" / "keep" / "_data" / "g").exists()
    # A --rm container does not take a named volume along.
    rm_all_volumes(husk)


def test_volume_in_use_is_refused(husk):
    husk.run("create", "--name", "user1", "-v", "busy:/data", "busybox", "true")
    r = husk.fail("volume", "rm", "busy")
    assert "volume is in use" in r.stderr and "user1" in r.stderr
    r = husk.fail("volume", "rm", "-f", "busy")
    assert "user1" in r.stderr
    # prune -a keeps it too.
    assert "busy" not in husk.out("volume", "prune", "-a", "-f")
    husk.run("rm", "user1")
    assert husk.out("volume", "rm", "busy") == "busy\n"
    assert volumes_on_disk(husk) == []


def test_volume_prefilled_from_image(husk):
    # A new volume gets the image's content at its path (with owner and mode) ...
    out = husk.out("run", "--rm", "-v", "etcvol:/etc", "busybox", "sh", "-c",
                   "cat /etc/passwd | head -1; stat -c '%a %u' /etc")
    assert out.splitlines()[0].startswith("root:")
    data = husk.root / "volumes" / "etcvol" / "_data"
    assert (data / "passwd").exists() and (data / "group").exists()
    # ... but a volume that has content keeps it.
    (data / "passwd").write_text("mine\n")
    assert husk.out("run", "--rm", "-v", "etcvol:/etc", "busybox", "cat", "/etc/passwd") == \
        "mine\n"
    # nocopy: no copy-up
    assert "passwd" not in husk.out("run", "--rm", "-v", "empty1:/etc:nocopy", "busybox", "ls",
                                    "/etc").split()
    assert not (husk.root / "volumes" / "empty1" / "_data" / "passwd").exists()
    rm_all_volumes(husk)


def test_anonymous_volumes_rm_v_and_auto_remove(husk):
    husk.run("run", "--name", "a1", "-v", "/scratch", "busybox", "sh", "-c",
             "echo hi > /scratch/x")
    names = husk.out("volume", "ls", "-q").split()
    assert len(names) == 1 and re.fullmatch(r"[0-9a-f]{64}", names[0])
    mounts = husk.inspect("a1")["Mounts"]
    assert mounts == [{"Type": "volume", "Name": names[0],
                       "Source": str(husk.root / "volumes" / names[0] / "_data"),
                       "Destination": "/scratch", "Driver": "local", "Mode": "", "RW": True,
                       "Propagation": ""}]
    assert husk.inspect("a1")["Config"]["Volumes"] == {"/scratch": {}}
    # rm without -v keeps it; prune removes the now unused anonymous volume.
    husk.run("run", "--name", "a2", "-v", "/scratch", "-v", "named1:/n", "busybox", "true")
    husk.run("rm", "a1")
    assert names[0] in husk.out("volume", "ls", "-q")
    out = husk.out("volume", "prune", "-f")
    assert "Deleted Volumes:\n%s\n" % names[0] in out and "Total reclaimed space: 3B" in out
    # rm -v removes the anonymous one, never the named one.
    assert len(husk.out("volume", "ls", "-q").split()) == 2
    husk.run("rm", "-v", "a2")
    assert husk.out("volume", "ls", "-q") == "named1\n"
    # --rm takes anonymous volumes along.
    husk.run("run", "--rm", "-v", "/tmpvol", "busybox", "true")
    assert husk.out("volume", "ls", "-q") == "named1\n"
    rm_all_volumes(husk)


def test_bad_volume_specs(husk):
    r = husk.fail("run", "--rm", "-v", "vol:data", "busybox", "true")
    assert "vol:data" in r.stderr and "not absolute" in r.stderr
    r = husk.fail("run", "--rm", "-v", "vol:/data:rx", "busybox", "true")
    assert "invalid mode: rx" in r.stderr
    r = husk.fail("run", "--rm", "-v", "v!x:/data", "busybox", "true")
    assert "v!x" in r.stderr and "invalid characters" in r.stderr
    r = husk.fail("run", "--rm", "-v", "a1:/d", "-v", "a2:/d", "busybox", "true")
    assert "duplicate mount point: /d" in r.stderr
    # Nothing was made by the refused runs.
    assert husk.out("volume", "ls", "-q") == ""
    assert husk.ids() == []


def test_system_df_counts_volumes(husk):
    husk.run("create", "--name", "d1", "-v", "dfa:/data", "busybox", "true")
    husk.run("volume", "create", "dfb")
    (husk.root / "volumes" / "dfb" / "_data" / "f").write_bytes(b"x" * 1000)
    lines = husk.out("system", "df").splitlines()
    row = [l for l in lines if l.startswith("Local Volumes")][0].split()
    assert row[2:] == ["2", "1", "1kB", "1kB", "(100%)"], row
    husk.run("rm", "d1")
    rm_all_volumes(husk)


@pytest.mark.asan
def test_mount_flag(husk, tmp_path):
    host = tmp_path / "h"
    host.mkdir()
    (host / "f").write_text("from host\n")
    out = husk.out(
        "run", "--rm",
        "--mount", "type=bind,source=%s,target=/h,readonly" % host,
        "--mount", "type=volume,source=mvol,target=/v",
        "--mount", "type=volume,target=/anon",
        "--mount", "type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770",
        "busybox", "sh", "-c",
        "cat /h/f; touch /h/x 2>&1; echo v > /v/f; grep ' /t ' /proc/mounts; stat -c %a /t")
    lines = out.splitlines()
    assert lines[0] == "from host"
    assert "Read-only file system" in lines[1]
    assert "tmpfs /t tmpfs" in lines[2] and "size=1024k" in lines[2] and "mode=1770" in lines[2]
    assert lines[3] == "1770"
    assert (husk.root / "volumes" / "mvol" / "_data" / "f").read_text() == "v\n"
    assert husk.out("volume", "ls", "-q") == "mvol\n"  # the anonymous one went with --rm
    for spec, msg in [
        ("type=bind,target=/x", "field Source must not be empty"),
        ("type=bind,source=/nonexistent-hk,target=/x", "bind source path does not exist"),
        ("type=volume,source=v", "target is required"),
        ("type=nfs,target=/x", "invalid mount type 'nfs'"),
        ("type=tmpfs,source=x,target=/x", "source must not be specified"),
        ("type=tmpfs,target=/x,tmpfs-size=lots", "invalid tmpfs-size 'lots'"),
        ("type=tmpfs,target=/x,tmpfs-mode=999", "invalid tmpfs-mode '999'"),
        ("type=volume,target=/x,color=red", "unexpected key 'color'"),
        ("type=volume,target", "invalid field 'target' must be a key=value pair"),
        ("type=volume,target=/x,tmpfs-size=1m", "only for type=tmpfs"),
    ]:
        r = husk.fail("run", "--rm", "--mount", spec, "busybox", "true")
        assert msg in r.stderr and spec in r.stderr, (spec, r)
    assert husk.ids() == []
    rm_all_volumes(husk)


def test_volume_ls_filters(husk):
    husk.run("volume", "create", "--label", "tier=db", "fa1")
    husk.run("volume", "create", "--label", "tier=web", "fb2")
    husk.run("create", "--name", "fu", "-v", "fa1:/d", "busybox", "true")
    ls = lambda *f: husk.out("volume", "ls", "-q", *f).split()
    assert ls("-f", "dangling=true") == ["fb2"]
    assert ls("--filter", "dangling=false") == ["fa1"]
    assert ls("-f", "name=b2") == ["fb2"]
    assert ls("-f", "label=tier") == ["fa1", "fb2"]
    assert ls("-f", "label=tier=web") == ["fb2"]
    assert ls("-f", "label=tier=db", "-f", "label=tier=web") == ["fa1", "fb2"]  # ORed
    assert ls("-f", "label=tier=db", "-f", "dangling=true") == []  # ANDed
    assert ls("-f", "driver=local") == ["fa1", "fb2"]
    assert "--filter 'color=red'" in husk.fail("volume", "ls", "-f", "color=red").stderr
    assert "dangling takes true or false" in husk.fail("volume", "ls", "-f",
                                                       "dangling=maybe").stderr
    husk.run("rm", "fu")
    rm_all_volumes(husk)


def test_image_volume_gets_anonymous_volume(husk):
    husk.run("run", "--name", "base", "busybox", "sh", "-c", "mkdir /data && echo seed > /data/s")
    husk.run("commit", "-c", 'VOLUME ["/data"]', "base", "withvol:1")
    husk.run("rm", "base")
    husk.run("run", "--name", "iv", "withvol:1", "sh", "-c", "cat /data/s; echo more > /data/m")
    names = husk.out("volume", "ls", "-q").split()
    assert len(names) == 1
    data = husk.root / "volumes" / names[0] / "_data"
    assert (data / "s").read_text() == "seed\n" and (data / "m").read_text() == "more\n"
    assert husk.out("logs", "iv") == "seed\n"
    # A volume the user gives for that path replaces the image's.
    husk.run("run", "--rm", "-v", "mine:/data", "withvol:1", "true")
    assert sorted(husk.out("volume", "ls", "-q").split()) == sorted(names + ["mine"])
    husk.run("rm", "-v", "iv")
    assert husk.out("volume", "ls", "-q") == "mine\n"
    husk.run("rmi", "withvol:1")
    rm_all_volumes(husk)
