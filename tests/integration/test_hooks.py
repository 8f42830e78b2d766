"""hooks: prestart, createRuntime, createContainer, startContainer, poststart,
poststop: when they run, what they get, and what a failing hook does.

The hook script and its log live in a host directory that is also bind-mounted
into the container at the same path, so the same hook path works for hooks run
in the runtime's namespace and in the container's (createContainer,
startContainer)."""

import json
import os
import time

import pytest

from conftest import skip_on

HOOK = """#!/bin/sh
state=$(cat)
echo "$1|$HOOKVAR|$#|$state" >> {log}
"""

ALL = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")


def hook_bundle(rt, args=("/probe", "sleep", "30"), kinds=ALL, script=HOOK):
    d = rt.tmp / "hooks"
    d.mkdir(exist_ok=True)
    log = d / "log"
    path = d / "hook.sh"
    path.write_text(script.format(log=log))
    os.chmod(path, 0o755)
    b = rt.bundle(args=args, writable=True)
    b.add_mount(str(d), "bind", d, ["rbind", "rw"])
    env = ["PATH=/bin:/usr/bin:/sbin:/usr/sbin", "HOOKVAR=hv", "HUSK_TEST_TOKEN=" + rt.token]
    b.config["hooks"] = {k: [{"path": str(path), "args": ["hook.sh", k, "extra"], "env": env}]
                         for k in kinds}
    return b, log


def read_log(log):
    if not log.exists():
        return []
    res = []
    for line in log.read_text().splitlines():
        name, var, argc, state = line.split("|", 3)
        res.append({"name": name, "var": var, "argc": argc, "state": json.loads(state)})
    return res


@pytest.mark.asan
def test_hooks_order_and_state(rt):
    skip_on("runc", "runc 1.1 runs poststart hooks during create, not start")
    b, log = hook_bundle(rt)
    cid = rt.create(b).cid
    pid = rt.state(cid)["pid"]
    names = [e["name"] for e in read_log(log)]
    assert names == ["prestart", "createRuntime", "createContainer"], names
    rt.start(cid)
    # poststart runs before `start` returns.
    names = [e["name"] for e in read_log(log)]
    if rt.name == "crun":
        # crun 1.8 runs poststart while the container still runs startContainer.
        end = time.time() + 5
        while len(names) < 5 and time.time() < end:
            time.sleep(0.05)
            names = [e["name"] for e in read_log(log)]
        assert sorted(names[3:]) == ["poststart", "startContainer"], names
    else:
        assert names[3:] == ["startContainer", "poststart"], names
    rt.delete(cid, force=True)
    entries = read_log(log)
    assert [e["name"] for e in entries][5:] == ["poststop"]
    for e in entries:
        st = e["state"]
        assert st["id"] == cid, e
        in_container = e["name"] in ("createContainer", "startContainer")
        if not (rt.name == "crun" and in_container):  # crun 1.8 passes "/" there
            assert os.path.realpath(st["bundle"]) == os.path.realpath(b.path), e
        assert st["ociVersion"], e
        assert e["var"] == "hv", e
        assert e["argc"] == "2", e  # args[0] is argv[0]; then the two arguments
        assert isinstance(st.get("pid", 0), int)
        # The state's pid is the container process as seen from the host (the
        # spec). createContainer/startContainer: runc passes 1, crun 0.
        if e["name"] in ("prestart", "createRuntime", "poststart"):
            assert st["pid"] == pid, e
    status = {e["name"]: e["state"]["status"] for e in entries}
    creating = ("creating", "created") if rt.name == "crun" else ("creating",)  # crun: "created"
    for k in ("prestart", "createRuntime", "createContainer"):
        assert status[k] in creating, (k, status)
    # crun 1.8 passes the non-OCI status "starting".
    assert status["startContainer"] in (("created", "starting") if rt.name == "crun" else ("created",))
    assert status["poststart"] in ("created", "running")
    assert status["poststop"] == "stopped"


def test_hooks_run_in_their_namespaces(rt):
    # createRuntime runs in the runtime's namespaces, startContainer in the
    # container's: the hostname they see tells.
    script = """#!/bin/sh
cat > /dev/null
echo "$1|$(hostname)" >> {log}
"""
    b, log = hook_bundle(rt, kinds=("createRuntime", "startContainer"), script=script)
    cid = rt.create(b).cid
    rt.start(cid)
    end = time.time() + 5
    while len(log.read_text().splitlines()) < 2 and time.time() < end:
        time.sleep(0.05)
    seen = dict(l.split("|") for l in log.read_text().splitlines())
    assert seen["createRuntime"] == os.uname().nodename
    assert seen["startContainer"] == "huskit"
    rt.delete(cid, force=True)


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create(working, rt, kind):
    b, log = hook_bundle(rt, kinds=(kind,), script="#!/bin/sh\ncat >/dev/null\nexit 3\n")
    r = rt.create(b, check=False)
    assert r.returncode != 0
    assert rt.state(r.cid, check=False).returncode != 0
    assert "pid=" not in b.stdout()
    # The fixture checks that no process, state entry, cgroup or mount remains.


def test_failing_start_container_hook_fails_start(rt):
    # Spec: the runtime must report an error and stop the container; the user's
    # process never runs. runc and crun run the hook in the container's init
    # after `start` was acknowledged, so `start` itself may still exit 0.
    b, log = hook_bundle(rt, args=("/probe", "pid"), kinds=("startContainer",),
                         script="#!/bin/sh\ncat >/dev/null\nexit 3\n")
    cid = rt.create(b).cid
    s = rt.start(cid, check=False)
    rt.wait_status(cid, "stopped")
    time.sleep(0.2)
    assert "pid=" not in b.stdout()
    rt.delete(cid, force=True)


def test_failing_poststart_hook(rt):
    # Spec: a failing poststart hook is logged; runc and crun fail `start` and
    # stop the container. Either way the user's process must not keep running.
    b, log = hook_bundle(rt, kinds=("poststart",), script="#!/bin/sh\ncat >/dev/null\nexit 3\n")
    r = rt.create(b, check=False)
    if r.returncode != 0:
        assert rt.name == "runc", r  # runc 1.1 runs poststart in create
        return
    s = rt.start(cid := r.cid, check=False)
    if s.returncode != 0:
        rt.wait_status(cid, "stopped")
    rt.delete(cid, force=True)


def test_failing_poststop_hook_does_not_fail_delete(rt):
    b, log = hook_bundle(rt, args=("/probe", "exit", "0"), kinds=("poststop",),
                         script="#!/bin/sh\ncat >/dev/null\nexit 3\n")
    cid = rt.create(b).cid
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    r = rt.delete(cid, check=False)
    assert r.returncode == 0, r
    assert rt.state(cid, check=False).returncode != 0


def test_hook_timeout(working, rt):
    script = "#!/bin/sh\ncat >/dev/null\nexec sleep 20\n"
    b, log = hook_bundle(rt, kinds=("prestart",), script=script)
    b.config["hooks"]["prestart"][0]["timeout"] = 1
    t0 = time.time()
    r = rt.create(b, check=False)
    took = time.time() - t0
    assert r.returncode != 0
    assert took < 10, "hook timeout not enforced (%.1fs)" % took
    assert rt.state(r.cid, check=False).returncode != 0


def test_poststop_runs_on_delete_only(rt):
    b, log = hook_bundle(rt, args=("/probe", "exit", "0"), kinds=("poststop",))
    cid = rt.create(b).cid
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    time.sleep(0.2)
    assert read_log(log) == []
    rt.delete(cid)
    entries = read_log(log)
    assert [e["name"] for e in entries] == ["poststop"]
    assert entries[0]["state"]["status"] == "stopped"


def test_poststart_before_start_returns(rt):
    b, log = hook_bundle(rt, kinds=("poststart",))
    cid = rt.create(b).cid
    if rt.name != "runc":  # runc 1.1 runs them in create
        assert read_log(log) == []
    rt.start(cid)
    assert [e["name"] for e in read_log(log)] == ["poststart"]
    rt.delete(cid, force=True)


def test_hooks_with_run(rt):
    skip_on("runc", "runc 1.1 runs poststart hooks during create, not start")
    b, log = hook_bundle(rt, args=("/probe", "exit", "0"))
    r = rt.run(b)
    assert r.returncode == 0, r
    names = [e["name"] for e in read_log(log)]
    assert set(names) == set(ALL) and len(names) == len(ALL), names
    assert names[:3] == ["prestart", "createRuntime", "createContainer"]
    assert names[-1] == "poststop"
    if rt.name != "crun":  # crun 1.8 races poststart against startContainer
        assert names[3:5] == ["startContainer", "poststart"]
