"""Real child processes for the end-to-end tests: where they run, with what environment,
and a fixture that kills whatever a test leaves running."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

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
