"""`myoperator-desktop` refuses an unusable base URL at start: one sentence, exit 2, before
any window, instance lock or network (the same check as the `myoperator` command)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.processes import ROOT, child_environment


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999"])
@pytest.mark.parametrize("where", ["flag", "env"])
def test_an_unusable_base_url_is_refused_at_start(tmp_path: Path, url: str, where: str) -> None:
    env = child_environment(runtime=tmp_path / "run", home=tmp_path / "home")
    args = ["--base-url", url] if where == "flag" else []
    if where == "env":
        env["MYOPERATOR_BASE_URL"] = url
    # Without the check the app starts and waits for a person: the timeout fails the test.
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2, result.stderr
    # Qt's own start-up chatter ("qt.multimedia: …") is not the app's to silence.
    lines = [line for line in result.stderr.splitlines() if not line.startswith("qt.")]
    assert len(lines) == 1 and lines[0].startswith("myoperator-desktop: "), lines
    message = lines[0]
    assert ("--base-url" if where == "flag" else "MYOPERATOR_BASE_URL") in message
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
