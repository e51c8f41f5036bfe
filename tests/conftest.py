"""Suite-wide settings: no screen, and a canary token that must never surface in output.

Every test that talks to the emulated service uses FAKE_TOKEN (tests.helpers.tokens). After
the run, the captured stdout/stderr of every test, every failure report and everything the
project's own log handlers wrote are searched for it; one hit fails the whole run.
"""

from __future__ import annotations

import gc
import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from desktop_app.api.redact import install_redacting_filter
from tests.helpers.tokens import FAKE_TOKEN

_project_log = io.StringIO()
_leaks: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def project_log_handler() -> Iterator[None]:
    """A project-style handler at DEBUG, so every record the code emits is checked."""
    handler = logging.StreamHandler(_project_log)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    install_redacting_filter(handler)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(previous)


#: The marker every test under a directory of tests/ carries, so that `pytest -m gui` (or
#: ``-m "not e2e"``) selects by what a test needs: a display, or real loopback servers.
DIRECTORY_MARKERS = {"gui": "gui", "e2e": "e2e"}
TESTS_ROOT = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            directory = item.path.resolve().relative_to(TESTS_ROOT).parts[0]
        except ValueError:
            continue
        marker = DIRECTORY_MARKERS.get(directory)
        if marker is not None:
            item.add_marker(marker)


def pytest_configure(config: pytest.Config) -> None:
    """Python's cyclic collector runs on the main thread only, after each test.

    WORKAROUND: what `desktop_app.runtime.binding.GuiThreadGarbageCollector` does for the app
    (tests/gui/runtime/test_binding.py shows what it prevents).

    Left automatic, it runs on whichever thread allocates: a sandbox server thread or a
    ``to_thread`` worker. A Qt object caught in a cycle is then destroyed off the GUI
    thread, its timers fire for freed memory and the process segfaults in a later,
    unrelated test (see desktop_app.runtime.binding, which does the same for the app).
    """
    gc.disable()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    gc.collect()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    texts = [content for _name, content in report.sections]
    if report.longrepr is not None:
        texts.append(str(report.longrepr))
    if any(FAKE_TOKEN in text for text in texts):
        _leaks.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if FAKE_TOKEN in _project_log.getvalue():
        _leaks.append("the project's log handlers")
    if _leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nTOKEN LEAK: the canary token surfaced in: {', '.join(sorted(set(_leaks)))}")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    # pytest-randomly names its seed in the header, which -q hides: a failure seen once in
    # CI must be repeatable with `--randomly-seed=N`.
    seed = getattr(config.option, "randomly_seed", None)
    if isinstance(seed, int) and getattr(config.option, "randomly_reorganize", True):
        terminalreporter.write_line(f"random order: --randomly-seed={seed}")
    if not _leaks:
        checked = len(_project_log.getvalue())
        terminalreporter.write_line(
            f"token canary: not found in output ({checked} chars of log checked)"
        )
