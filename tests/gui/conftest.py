"""GUI tests run their coroutines on a qasync loop over the one QApplication.

Async tests here await futures resolved by Qt signals (`signal_future`); never call
qtbot.waitSignal inside a coroutine on the qasync loop: it deadlocks (qasync #59).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, SignalInstance
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from desktop_app.app import Workspace
    from desktop_app.sandbox import SandboxServer
    from desktop_app.services.paths import AppPaths


def _qapp() -> QApplication:
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


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"qasync": lambda: GuiTestLoop(_qapp())}


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
    leaving timers that fire for freed memory (see desktop_app.ui.qt_fixes)."""
    from desktop_app.runtime.binding import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector()
    collector.start()
    yield
    collector.stop()
    collector.deleteLater()


# ---------------------------------------------------------------- desktop app workspace
# The main window and log feed tests run the real workspace (client, cache, sync engine,
# presenters, window) against the emulated service on a loopback port.


@pytest.fixture
def desktop_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppPaths:
    """Settings, cache and logs under a temporary home: tests never touch the real one."""
    from desktop_app.services.paths import HOME_ENV, app_paths

    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return app_paths().ensure()


@pytest.fixture
def feed_sandbox() -> Iterator[SandboxServer]:
    """The emulated service, rate limit lifted, accepting the canary token (Admin)."""
    from desktop_app.sandbox import SandboxConfig, SandboxServer
    from tests.helpers.tokens import FAKE_TOKEN

    server = SandboxServer(
        SandboxConfig(seed=11, n_logs=800, days=30, tokens={FAKE_TOKEN: 2}, rate_limit=None)
    ).start()
    try:
        yield server
    finally:
        server.stop()


WorkspaceOpener = Callable[..., contextlib.AbstractAsyncContextManager["Workspace"]]


@pytest.fixture
def open_workspace(desktop_home: AppPaths) -> WorkspaceOpener:
    """``async with open_workspace(server) as ws:`` a started, shown workspace; closed after.

    Keyword arguments: ``budget`` (default unlimited), ``start``/``show`` (default True),
    and anything `build_workspace` takes.
    """
    from desktop_app.api.budget import RequestBudget
    from desktop_app.api.client import MyOperatorClient, RetryPolicy
    from desktop_app.app import build_workspace, open_settings
    from desktop_app.services.dialer import DialerSettings
    from desktop_app.store import CallStore
    from tests.helpers.tokens import FAKE_TOKEN

    @contextlib.asynccontextmanager
    async def opener(
        server: SandboxServer,
        *,
        budget: RequestBudget | None = None,
        start: bool = True,
        show: bool = True,
        **options: Any,
    ) -> AsyncIterator[Workspace]:
        client = MyOperatorClient(
            FAKE_TOKEN,
            base_url=server.base_url,
            budget=budget if budget is not None else RequestBudget.unlimited(),
            retry=RetryPolicy(attempts=2, backoff_base_s=0.05, backoff_cap_s=0.1),
        )
        options.setdefault("sync_interval_s", 3600.0)
        options.setdefault("remote_delay_ms", 50)
        options.setdefault("dialer_settings", DialerSettings.for_paths(desktop_home))
        workspace = build_workspace(
            client=client,
            store=CallStore.open(desktop_home.database_file()),
            settings=open_settings(desktop_home),
            recordings_dir=desktop_home.recordings_dir(),
            **options,
        )
        try:
            if start:
                workspace.start(show=show)
            yield workspace
        finally:
            await workspace.aclose()
            workspace.window.close_now()
            workspace.window.deleteLater()

    return opener
