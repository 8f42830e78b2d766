"""Several runtime commands acting on one container id at once: exactly one
create and one start win, deletes never trip over each other, and nothing is
left behind."""

import threading

import pytest

from conftest import skip_on


def race(n, fn):
    results = [None] * n
    barrier = threading.Barrier(n)

    def worker(i):
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.asan
def test_concurrent_create_same_id(rt):
    skip_on("runc", "two racing creates of one id can both succeed (runc 1.1.5), leaving "
            "an orphaned runc init behind")
    b = rt.bundle(args=("/probe", "sleep", "30"))
    b.write()
    cid = rt.new_id()
    # The init inherits the runtime's stdio: files, not pipes, or we'd wait for it.
    slot = iter(range(6))
    lock = threading.Lock()

    def create():
        with lock:
            i = next(slot)
        return rt.cmd("create", "--bundle", b.path, cid,
                      files=(b.path / ("out%d" % i), b.path / ("err%d" % i)))

    results = race(6, create)
    ok = [r for r in results if r.returncode == 0]
    assert len(ok) == 1, results
    for r in results:
        if r.returncode != 0:
            assert "already exists" in r.stderr or "exist" in r.stderr, r
    assert rt.state(cid)["status"] == "created"
    # The losers must not have removed the winner's cgroup or state.
    rt.start(cid, check=True)
    assert rt.state(cid)["status"] == "running"
    rt.delete(cid, force=True)


def test_concurrent_start_once(rt):
    b = rt.bundle(args=("/probe", "sleep", "30"))
    cid = rt.create(b).cid
    results = race(4, lambda: rt.cmd("start", cid))
    assert sum(r.returncode == 0 for r in results) == 1, results
    assert rt.state(cid)["status"] == "running"
    rt.delete(cid, force=True)


def test_concurrent_delete_force(rt):
    skip_on("crun", "a delete racing another fails with 'error loading config.json' "
            "instead of 'does not exist'")
    b = rt.bundle(args=("/probe", "sleep", "30"))
    cid = rt.run_detached(b).cid
    results = race(4, lambda: rt.cmd("delete", "--force", cid))
    assert any(r.returncode == 0 for r in results), results
    for r in results:
        if r.returncode != 0:
            assert "does not exist" in r.stderr or "not exist" in r.stderr, r
    assert rt.state(cid, check=False).returncode != 0
