"""The real program (`python -m desktop_app`) as a user starts it: the demo opens, a second
launch with a tel: link hands it to the running app and exits 0, and SIGTERM shuts the
app down cleanly. Offscreen, with its own home and runtime directory."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from desktop_app.services.paths import HOME_ENV
from tests.helpers.processes import ROOT, child_environment

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM; POSIX sockets"),
]

TIMEOUT = 60.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    """Poll a condition another process brings about (a line in its log file)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return child_environment(runtime=tmp_path / "run", home=tmp_path / "home")


def launch(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "desktop_app", *args], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_second_launch_hands_its_link_over_and_sigterm_quits_cleanly(
    env: dict[str, str], processes: list[subprocess.Popen[str]]
) -> None:
    log_file = Path(env[HOME_ENV]) / "logs" / "myoperator-desktop.log"

    def logged(text: str) -> Callable[[], bool]:
        return lambda: log_file.is_file() and text in log_file.read_text(encoding="utf-8")

    primary = launch(env, "--demo")
    processes.append(primary)
    wait_for(logged("workspace open (demo)"), "the demo workspace to open")

    second = launch(env, "tel:+91-98123-45678")
    processes.append(second)
    out, err = second.communicate(timeout=TIMEOUT)
    assert second.returncode == 0, err
    assert out == ""
    wait_for(logged("another launch handed over 1 argument(s)"), "the link to arrive")
    assert primary.poll() is None  # the first one runs on

    primary.send_signal(signal.SIGTERM)
    _out, err = primary.communicate(timeout=TIMEOUT)
    assert primary.returncode == 0, err
    assert "Traceback" not in err
    assert "Timers cannot be stopped" not in err
    text = log_file.read_text(encoding="utf-8")
    assert "Traceback" not in text and " ERROR " not in text

    # The lock went with the first process: the next launch is the primary again.
    third = launch(env, "--demo")
    processes.append(third)
    wait_for(lambda: text.count("workspace open (demo)") < log_file.read_text(
        encoding="utf-8").count("workspace open (demo)"), "a new primary to open")
    third.send_signal(signal.SIGTERM)
    third.communicate(timeout=TIMEOUT)
    assert third.returncode == 0
