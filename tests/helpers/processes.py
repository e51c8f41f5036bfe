"""Real child processes for the end-to-end tests: where they run, with what environment,
and a fixture that kills whatever a test leaves running."""

from __future__ import annotations

import json
import os
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop_app.runtime.single_instance import RUNTIME_DIR_ENV
from desktop_app.services.paths import HOME_ENV

#: The project's checkout: the working directory of every child.
ROOT = Path(__file__).resolve().parents[2]


def child_environment(*, runtime: Path, home: Path | None = None) -> dict[str, str]:
    """This environment for a child app: offscreen, its own runtime directory (and home),
    and never the user's token."""
    environ = dict(os.environ)
    environ["QT_QPA_PLATFORM"] = "offscreen"
    if home is not None:
        environ[HOME_ENV] = str(home)
    environ[RUNTIME_DIR_ENV] = str(runtime)
    environ.pop("MYOPERATOR_TOKEN", None)
    return environ


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Append what a test starts; whatever still runs at the end is killed and reaped."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def read_json_line(proc: subprocess.Popen[str], timeout: float = 20.0) -> dict[str, Any]:
    """The process's next JSON line on stdout (fails after `timeout`, or if it ended)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, f"no output within {timeout} s"
    line = proc.stdout.readline()
    assert line, f"process ended: {proc.wait()} {proc.stderr.read() if proc.stderr else ''}"
    data: dict[str, Any] = json.loads(line)
    return data
