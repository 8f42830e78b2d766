"""--log-driver k8s-file|json-file|none and --log-opt max-size/max-file:
the records on disk, rotation by renaming, and `husk logs` across the
rotated files."""
import json
import os
import re

import pytest


def log_path(husk, name):
    return husk.inspect(name)["LogPath"]


@pytest.mark.asan
def test_json_file_records(husk):
    husk.run("run", "--name", "j", "--log-driver", "json-file", "busybox", "sh", "-c",
             "echo out; echo err >&2; printf 'no newline'")
    recs = [json.loads(l) for l in open(log_path(husk, "j")).read().splitlines()]
    by = {(r["stream"], r["log"]) for r in recs}
    assert by == {("stdout", "out\n"), ("stderr", "err\n"), ("stdout", "no newline")}, recs
    for r in recs:
        assert set(r) == {"log", "stream", "time"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", r["time"])
    r = husk.run("logs", "j")
    assert r.stdout == "out\nno newline\n" and r.stderr == "err\n"
    assert husk.inspect("j")["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {}}


def test_none_keeps_nothing(husk):
    husk.run("run", "--name", "n", "--log-driver", "none", "busybox", "echo", "hello")
    assert not os.path.exists(log_path(husk, "n"))
    r = husk.fail("logs", "n")
    assert "logging driver (none) does not support reading" in r.stderr
    # Still attached output.
    assert husk.out("run", "--rm", "--log-driver", "none", "busybox", "echo", "hi") == "hi\n"


@pytest.mark.parametrize("driver", ["k8s-file", "json-file"])
def test_rotation_and_reading_across_files(husk, driver):
    # 400 lines of ~100 bytes: ~40k+ of records through a 10k limit, 3 files.
    husk.run("run", "--name", "r", "--log-driver", driver, "--log-opt", "max-size=10k",
             "--log-opt", "max-file=3", "busybox", "sh", "-c",
             "i=0; while [ $i -lt 400 ]; do printf 'line %04d %s\\n' $i "
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
             "i=$((i+1)); done")
    p = log_path(husk, "r")
    d = os.path.dirname(p)
    base = os.path.basename(p)
    files = sorted(f for f in os.listdir(d) if f.startswith(base))
    assert files == [base, base + ".1", base + ".2"], files
    for f in files:
        assert os.path.getsize(os.path.join(d, f)) <= 10 * 1024
    # The rotated files hold older lines than the current one, .2 the oldest.
    def first(f):
        return int(re.search(r"line (\d{4})", open(os.path.join(d, f)).read()).group(1))
    assert first(base + ".2") < first(base + ".1") < first(base)
    out = husk.out("logs", "r").splitlines()
    nums = [int(l.split()[1]) for l in out]
    # Consecutive, ending with the last line; the oldest were dropped.
    assert nums == list(range(nums[0], 400)) and 0 < nums[0] < 300, nums[:3]
    assert len(husk.out("logs", "--tail", "5", "r").splitlines()) == 5


def test_rotation_keeps_one_file_and_never_truncates_in_place(husk):
    husk.run("run", "-d", "--name", "t", "--log-opt", "max-size=2k", "busybox", "sh", "-c",
             "echo first; sleep 0.5; i=0; while [ $i -lt 100 ]; do echo pad-$i-xxxxxxxxxx; "
             "i=$((i+1)); done; sleep 60")
    p = log_path(husk, "t")
    husk.wait_for(lambda: os.path.exists(p) and "first" in open(p).read(), what="first line")
    fd = os.open(p, os.O_RDONLY)
    try:
        ino = os.fstat(fd).st_ino
        husk.wait_for(lambda: "pad-99" in husk.out("logs", "t"), what="all lines")
        # The file we opened was replaced, not cut: it still has the first line.
        assert os.fstat(fd).st_ino == ino and os.stat(p).st_ino != ino
        assert b"first" in os.read(fd, 1 << 20)
    finally:
        os.close(fd)
    assert not os.path.exists(p + ".1")
    assert "first" not in husk.out("logs", "t")
    husk.run("stop", "-t", "0", "t")


def test_bad_values(husk):
    for args, words in ((["--log-driver", "syslog"], "--log-driver 'syslog': unknown log driver"),
                        (["--log-opt", "max-size=abc"], "--log-opt 'max-size=abc': max-size"),
                        (["--log-opt", "max-size=0"], "--log-opt 'max-size=0': max-size"),
                        (["--log-opt", "max-size=1k", "--log-opt", "max-file=0"],
                         "--log-opt 'max-file=0': max-file"),
                        (["--log-opt", "max-file=2"], "max-file needs max-size"),
                        (["--log-opt", "mode=fast"], "unknown log opt 'mode'"),
                        (["--log-opt", "novalue"], "--log-opt 'novalue': want KEY=VALUE"),
                        (["--log-driver", "none", "--log-opt", "max-size=1k"],
                         "the none log driver takes no options")):
        r = husk.fail("run", *args, "busybox", "true")
        assert words in r.stderr, (args, r.stderr)
    assert husk.ids() == []
