"""The GUI tests' qasync loop, the ways a coroutine waits on Qt, and Qt stand-ins.

Async GUI tests await futures resolved by Qt signals (`signal_future`); never call
qtbot.waitSignal inside a coroutine on the qasync loop: it deadlocks (qasync #59).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, SignalInstance
from PySide6.QtWidgets import QApplication, QSystemTrayIcon


def qapplication() -> QApplication:
    """The process's one QApplication, created on first use."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([])
    assert isinstance(app, QApplication)
    return app


class GuiTestLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync is untyped
    """qasync's loop, closed without leaving live Qt timers behind.

    WORKAROUND (qasync 0.28): test_loop_smoke fails if this override goes.

    qasync runs ``call_later``/``call_soon`` callbacks on Qt timers of one QObject, the
    loop's ``_timer``. ``close()`` only marks that object stopped: timers still pending
    (every ``wait_for``/``timeout`` deadline that did not expire, for instance) stay
    registered with the GUI thread's event dispatcher. The closed loop is cyclic garbage,
    and Python's collector frees it on whichever thread happens to allocate: often a
    worker of the loop's own thread pool. A QObject destroyed on another thread cannot
    unregister its timers ("QObject::~QObject: Timers cannot be stopped from another
    thread"); when one of them comes due, Qt delivers it to freed memory and the process
    dies with SIGSEGV in ``QCoreApplication::notifyInternal2`` under
    ``QTimerInfoList::activateTimers``, usually during a later, unrelated test.

    A loop per test stays (each test gets a fresh loop from pytest-asyncio); closing it
    here destroys the timer object at once, on the GUI thread, which unregisters its
    timers.
    """

    def close(self) -> None:
        timer = getattr(self, "_timer", None)
        super().close()
        if timer is not None and shiboken6.isValid(timer):
            shiboken6.delete(timer)


def signal_future(signal: SignalInstance) -> asyncio.Future[tuple[Any, ...]]:
    """A future resolved with the arguments of the signal's next emission."""
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def resolve(*args: Any) -> None:
        if not future.done():
            future.set_result(args)
        signal.disconnect(resolve)

    signal.connect(resolve)
    return future


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll a condition on the running loop (yielding to Qt) until true or `within` passes.

    For state that no signal announces (a widget's text, a row count); prefer
    `signal_future` where a signal exists.
    """
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling a Qt-side condition
            await asyncio.sleep(0.01)


async def next_turns(turns: int = 3) -> None:
    """Return to Qt's event loop `turns` times, so what is posted (layout requests, a
    resize) is handled, without calling ``processEvents()`` inside a coroutine: that runs
    the loop's callbacks re-entrantly, and a task's wakeup delivered there (a worker
    thread's result) is refused ("Cannot enter into task", qasync #59) and lost."""
    for _ in range(turns):
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        QTimer.singleShot(0, lambda done=turn: done.done() or done.set_result(None))
        await turn


class SpyTray(QSystemTrayIcon):
    """A tray icon that records its messages (offscreen has no tray to show them)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.messages: list[tuple[str, str]] = []

    def showMessage(self, title: str, message: str, *args: object) -> None:
        self.messages.append((title, message))


class SpyChime:
    """The missed-call sound, counted (no audio device here to play it on)."""

    def __init__(self, parent: QObject | None = None) -> None:
        self.plays = 0

    def play(self) -> None:
        self.plays += 1


@pytest.fixture
def keep_the_test_loop_running(qapp: QApplication) -> Iterator[None]:
    """The app quits when its last window closes (and a tray turns that off): restore.

    For modules whose tests close the main window while the test's loop runs on:
    ``pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")``.
    """
    previous = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(previous)


# ---------------------------------------------------------------- autouse in tests/gui


@pytest.fixture(autouse=True)
def destroy_deleted_objects(qapp: QApplication) -> Iterator[None]:
    """Objects handed to ``deleteLater()`` during a test are destroyed when it ends, on the
    GUI thread.

    pytest-qt closes every widget added with ``qtbot.addWidget`` and calls ``deleteLater()``
    on it, but Qt performs deferred deletions only from a running event loop, and
    ``processEvents()`` called outside one skips them. Left alone, a test's widgets (a
    player with its QMediaPlayer and the backend's threads among them) would live on into
    later tests, or until interpreter exit, and be destroyed there. This runs after the
    test's other fixtures are torn down; PySide releases the GIL while Qt deletes.
    """
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(autouse=True)
def collect_garbage_on_the_gui_thread(qapp: QApplication) -> Iterator[None]:
    """Python's collector could otherwise destroy a test's Qt objects on a server thread,
    leaving timers that fire for freed memory (see desktop_app.runtime.binding)."""
    from desktop_app.runtime.binding import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector()
    collector.start()
    yield
    collector.stop()
    collector.deleteLater()
