"""features, spec, --version, --help, and husk's --explain."""

import json
import os
import subprocess

import pytest

from conftest import IS_HUSK, skip_on


def test_version(rt):
    r = rt.cmd("--version", root=False)
    assert r.returncode == 0
    assert r.stdout.strip()
    assert "spec" in r.stdout.lower()


@pytest.mark.husk_only
def test_version_format(rt):
    r = rt.cmd("--version", root=False)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("husk-runtime version ")
    assert any(l.startswith("spec: 1.") for l in lines)


def test_help(rt):
    r = rt.cmd("--help", root=False)
    assert r.returncode == 0
    for cmd in ("create", "start", "state", "kill", "delete", "run", "exec", "list", "ps", "spec"):
        assert cmd in r.stdout, cmd


def test_features(rt):
    skip_on("crun", "crun 1.8 has no features command")
    r = rt.cmd("features", root=False)
    assert r.returncode == 0, r
    f = json.loads(r.stdout)
    assert f["ociVersionMin"].startswith("1.0")
    assert f["ociVersionMax"].startswith("1.")
    assert set(f["hooks"]) >= {"prestart", "createRuntime", "createContainer", "startContainer",
                               "poststart", "poststop"}
    assert {"ro", "rw", "bind", "rbind", "nosuid", "nodev", "noexec", "rprivate",
            "rshared", "rslave"} <= set(f["mountOptions"])
    lin = f["linux"]
    assert {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"} <= set(lin["namespaces"])
    assert {"CAP_SYS_ADMIN", "CAP_KILL", "CAP_CHOWN"} <= set(lin["capabilities"])
    assert lin["cgroup"]["v1"] is True


@pytest.mark.husk_only
def test_features_time_namespace(rt):
    f = json.loads(rt.cmd("features", root=False).stdout)
    assert "time" in f["linux"]["namespaces"]


def _spec(rt, *args, cwd=None):
    d = cwd or rt.tmp / "specdir"
    d.mkdir(exist_ok=True)
    r = rt.cmd("spec", *args, root=False, cwd=d)
    return d, r


def test_spec(rt):
    d, r = _spec(rt)
    assert r.returncode == 0, r
    c = json.loads((d / "config.json").read_text())
    assert c["ociVersion"].startswith("1.")
    assert c["root"]["path"] == "rootfs"
    assert c["process"]["args"]
    assert c["process"]["cwd"] == "/"
    types = {n["type"] for n in c["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount"} <= types
    assert "user" not in types
    dests = {m["destination"] for m in c["mounts"]}
    assert {"/proc", "/dev", "/dev/pts", "/dev/shm", "/sys"} <= dests
    assert c["linux"].get("maskedPaths")
    assert c["linux"].get("readonlyPaths")


def test_spec_runs(rt):
    # The default spec is usable as is (with our rootfs and a non-terminal process).
    d, r = _spec(rt)
    assert r.returncode == 0, r
    c = json.loads((d / "config.json").read_text())
    c["root"]["path"] = str(rt.template["rootfs"])
    c["process"]["terminal"] = False
    c["process"]["args"] = ["/probe", "pid"]
    c["process"]["env"].append("HUSK_TEST_TOKEN=" + rt.token)
    c["linux"]["cgroupsPath"] = rt.cgroups_path("specdir")
    (d / "config.json").write_text(json.dumps(c))
    cid = rt.new_id()
    r = rt.cmd("run", "--bundle", d, cid)
    assert r.returncode == 0, r
    assert "pid=1" in r.stdout


def test_spec_refuses_to_overwrite(rt):
    d, r = _spec(rt)
    assert r.returncode == 0
    (d / "config.json").write_text("{}")
    d, r = _spec(rt, cwd=d)
    assert r.returncode != 0
    assert (d / "config.json").read_text() == "{}"


def test_spec_bundle_flag(rt):
    target = rt.tmp / "elsewhere"
    target.mkdir()
    d, r = _spec(rt, "--bundle", str(target))
    assert r.returncode == 0, r
    assert (target / "config.json").exists()
    assert not (d / "config.json").exists()


def test_spec_rootless(rt):
    d, r = _spec(rt, "--rootless")
    assert r.returncode == 0, r
    c = json.loads((d / "config.json").read_text())
    types = {n["type"] for n in c["linux"]["namespaces"]}
    assert "user" in types
    if rt.name == "crun":
        return  # crun 1.8 leaves the mappings out (it maps the caller at run time)
    assert c["linux"]["uidMappings"][0]["hostID"] == os.getuid()
    assert c["linux"]["gidMappings"][0]["hostID"] == os.getgid()
    assert c["linux"]["uidMappings"][0]["containerID"] == 0
    assert "resources" not in c["linux"] or not c["linux"]["resources"].get("devices")


@pytest.mark.husk_only
def test_explain_prints_commands(rt):
    b = rt.bundle(args=("/probe", "pid"))
    b.write()
    cid = rt.new_id()
    r = rt.cmd("--explain", "run", "--bundle", b.path, cid)
    assert r.returncode == 0, r
    text = r.stderr
    assert "unshare" in text or "clone" in text
    assert "mount -t proc" in text
    assert "pivot_root" in text
    assert "sethostname" in text or "hostname huskit" in text
    # husk moves the init in by itself ("echo 0 > .../tasks", cheaper than a parent
    # writing its pid to cgroup.procs); either is an honest explanation.
    assert "cgroup.procs" in text or "/tasks" in text


def test_log_json(rt):
    # Engines (containerd, podman) pass --log FILE --log-format json and read errors there.
    log = rt.tmp / "runtime.log"
    r = rt.cmd("--log", log, "--log-format", "json", "state", "nope-" + rt.token)
    assert r.returncode != 0
    lines = [json.loads(l) for l in log.read_text().splitlines() if l.strip()]
    errors = [l for l in lines if l.get("level") == "error"]
    assert errors and errors[-1]["msg"]


def test_debug_flag_accepted(rt):
    r = rt.cmd("--debug", "list")
    assert r.returncode == 0, r
