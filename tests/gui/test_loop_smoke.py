"""The GUI suite's coroutines really run on qasync, where Qt signals can resolve futures."""

from __future__ import annotations

import asyncio

import qasync
from PySide6.QtCore import QTimer

from tests.gui.conftest import signal_future


async def test_qasync_loop_runs_qt_timers() -> None:
    assert isinstance(asyncio.get_running_loop(), qasync.QEventLoop)
    timer = QTimer()
    timer.setSingleShot(True)
    future = signal_future(timer.timeout)
    timer.start(10)
    assert await asyncio.wait_for(future, 5) == ()
