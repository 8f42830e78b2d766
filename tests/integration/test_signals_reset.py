"""The container's init starts with default signal dispositions and an empty
signal mask, whatever the runtime's caller ignored or blocked (as runc and
crun): ignored signals and the mask survive fork and exec, and a shell can't
even trap a signal that was ignored when it started."""
import signal
import subprocess

import pytest

from conftest import TIMEOUT


def _careless_parent():
    # What a careless caller leaves behind: SIGINT ignored, SIGTERM and SIGUSR1 blocked.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1})


def _status(text):
    return dict(l.split(":\t", 1) for l in text.splitlines() if l.startswith("Sig"))


def runtime(rt, *args, **kw):
    argv = [rt.binary, "--root", str(rt.root)] + [str(a) for a in args]
    return subprocess.run(argv, env=rt.env, preexec_fn=_careless_parent, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, **kw)


def check(text):
    st = _status(text)
    assert st["SigIgn"].strip() == "0000000000000000", text
    assert st["SigBlk"].strip() == "0000000000000000", text


@pytest.mark.asan
def test_run_resets_inherited_signals(rt):
    # The careless parent's own state really is what we think (the test can fail).
    p = subprocess.run(["cat", "/proc/self/status"], preexec_fn=_careless_parent,
                       capture_output=True, text=True, check=True)
    st = _status(p.stdout)
    assert int(st["SigIgn"], 16) & (1 << (signal.SIGINT - 1)), p.stdout
    assert int(st["SigBlk"], 16) & (1 << (signal.SIGTERM - 1)), p.stdout
    b = rt.bundle(args=("/bin/cat", "/proc/1/status"))
    b.write()
    cid = rt.new_id()
    p = runtime(rt, "run", "--bundle", b.path, cid, capture_output=True, text=True)
    assert p.returncode == 0, p
    check(p.stdout)
    rt.delete(cid, force=True, check=False)


def test_create_start_resets_inherited_signals(rt):
    b = rt.bundle(args=("/bin/cat", "/proc/1/status"))
    b.write()
    cid = rt.new_id()
    with open(b.path / "stdout", "ab") as fo, open(b.path / "stderr", "ab") as fe:
        p = runtime(rt, "create", "--bundle", b.path, cid, stdout=fo, stderr=fe)
    assert p.returncode == 0, b.stderr()
    # A created init waits for start; SIGTERM was blocked by the caller of create.
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    check(b.stdout())
    rt.delete(cid)
