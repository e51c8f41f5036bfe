"""The GUI suite's coroutines really run on qasync, where Qt signals can resolve futures."""

from __future__ import annotations

import asyncio

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from tests.helpers.qt import GuiTestLoop, signal_future


async def test_qasync_loop_runs_qt_timers() -> None:
    assert isinstance(asyncio.get_running_loop(), qasync.QEventLoop)
    timer = QTimer()
    timer.setSingleShot(True)
    future = signal_future(timer.timeout)
    timer.start(10)
    assert await asyncio.wait_for(future, 5) == ()


def test_a_closed_test_loop_leaves_no_live_qt_timers(qapp: QApplication) -> None:
    """WORKAROUND in `GuiTestLoop.close`: qasync's close() leaves the loop's timer object,
    with every pending call_later timer, registered with Qt until a garbage collection."""
    loop = GuiTestLoop(qapp)
    loop.call_later(3600, lambda: None)  # a deadline that never expired
    timer_object = loop._timer
    assert shiboken6.isValid(timer_object)
    loop.close()
    assert not shiboken6.isValid(timer_object)


def test_no_python_qt_message_handler_during_tests(request: pytest.FixtureRequest) -> None:
    """WORKAROUND in pyproject's pytest addopts (--no-qt-log): a Python message handler
    swapped per test while QtMultimedia's threads log crashes the process."""
    assert request.config.getoption("qt_log") is False
