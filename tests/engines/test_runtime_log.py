"""The runtime's --log file as the engines read it: containerd's shim and conmon
pass `--log FILE --log-format json` and, when a command fails, show the user the
"msg" of the last line whose "level" is "error"."""

import json
import os
import subprocess

import pytest

from conftest import RUNTIME


def run(tmp_path, *args):
    return subprocess.run([RUNTIME, "--root", str(tmp_path / "state")] + list(args),
                          capture_output=True, text=True, timeout=30)


def test_json_log_lines_engines_parse(tmp_path):
    log = tmp_path / "log.json"
    r = run(tmp_path, "--log", str(log), "--log-format", "json", "start", "no-such-ctr")
    assert r.returncode != 0
    lines = [json.loads(l) for l in log.read_text().splitlines()]
    errors = [l for l in lines if l.get("level") == "error"]
    assert errors, lines
    assert errors[-1]["msg"]  # runc: "container does not exist"; husk names the id
    assert "time" in errors[-1]


def test_json_log_with_equals_form_and_append(tmp_path):
    log = tmp_path / "log.json"
    log.write_text('{"level":"info","msg":"before"}\n')
    run(tmp_path, "--log=%s" % log, "--log-format=json", "kill", "no-such-ctr", "9")
    lines = [json.loads(l) for l in log.read_text().splitlines()]
    assert lines[0]["msg"] == "before" and lines[-1]["level"] == "error"


def test_text_log_is_logfmt(tmp_path):
    if "crun" in os.path.basename(RUNTIME):
        pytest.skip("crun's text log is plain lines, not runc's logfmt")
    log = tmp_path / "log.txt"
    run(tmp_path, "--log", str(log), "state", 'bad"id')
    line = log.read_text().splitlines()[-1]
    assert line.startswith('time="') and " level=error msg=" in line
    msg = line.split(" msg=", 1)[1]
    # One quoted value: inner quotes escaped, so logfmt parsers read it whole.
    assert msg.startswith('"') and msg.endswith('"')
    assert '"' not in msg[1:-1].replace('\\"', "")


def test_delete_force_of_missing_container_succeeds(tmp_path):
    """As runc: shims and conmon force-delete after the container is gone."""
    assert run(tmp_path, "delete", "--force", "no-such-ctr").returncode == 0
    assert run(tmp_path, "delete", "no-such-ctr").returncode != 0
