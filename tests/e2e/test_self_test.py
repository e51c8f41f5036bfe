"""`python -m desktop_app --self-test` as a real process, as `make package-test` runs the
bundle's: every check passes, one `ok` line each in order, then the summary, exit 0. It
runs with an app already running in the same runtime directory (it is not handed over to
it) and with a home of its own that it must leave alone (it never reads or changes the
person's data)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.runtime import self_test
from tests.helpers.processes import ROOT, child_environment, read_json_line

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="select() on pipes; POSIX sockets"),
]

TIMEOUT = 120.0
SENTINEL = "tel:+910000000001"


def test_the_self_test_passes_beside_a_running_app_and_leaves_home_alone(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    runtime, home = tmp_path / "run", tmp_path / "home"
    env = child_environment(runtime=runtime, home=home)
    running = subprocess.Popen(
        [sys.executable, "-m", "desktop_app.runtime.single_instance", "--selftest",
         "--timeout", str(TIMEOUT * 2)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    processes.append(running)
    assert read_json_line(running)["listening"] is True

    result = subprocess.run(
        [sys.executable, "-m", "desktop_app", "--self-test"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    names = [name for name, _check in self_test.CHECKS]
    assert len(lines) == len(names) + 1, lines
    for name, line in zip(names, lines, strict=False):
        assert re.fullmatch(rf"ok   {re.escape(name)} *  \S.* \(\d+\.\d\d s\)", line), line
    assert re.fullmatch(rf"self-test passed: {len(names)} checks in \d+\.\d s", lines[-1])
    assert "Traceback" not in result.stderr
    # The demo's service ran as a child of this very program, not in its process.
    assert "the demo's service process on http://127.0.0.1:" in result.stdout

    # Nothing of the person's was created (no settings, cache, log or recordings).
    assert not home.exists() or not any(home.iterdir())
    # The running app was not handed the self-test: the next message it gets is ours.
    handed = subprocess.run(
        [sys.executable, "-m", "desktop_app.runtime.single_instance", "--selftest", SENTINEL],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False,
    )
    assert handed.returncode == 0, handed.stderr
    assert read_json_line(running) == {"role": "primary", "received": [SENTINEL]}
    assert running.wait(timeout=30) == 0
