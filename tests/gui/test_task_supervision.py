"""No background work dies in silence: the real workspace against the emulated service on
a loopback port, with the faults of the issue made real.

- a full disk: SQLite's ``max_page_count`` on the real cache file, so writes fail with
  "database or disk is full";
- a bad port: every request sent by httpx's real transport to port 99999 (start-up now
  refuses such a base URL, so the fault is put behind the client, where it broke the
  sync, users and dialer tasks), or to a closed loopback port (connection refused).

Each failure must be in the window in words, the sync loop must stay alive and succeed by
itself once the fault is gone, and the dialer must come back from "Placing the call…".

Restart backoffs (and the engine's own waits) run on a `ManualClock`: a test learns that
the loop is waiting from `next_sleep` and moves time on by hand; everything else is
awaited on the signal or the supervisor's callback that announces it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from PySide6.QtCore import Qt, QTimer, SignalInstance
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.app import (
    AppController,
    main,
    open_settings,
    open_state,
    run_controller,
)
from desktop_app.sandbox import SandboxServer
from desktop_app.services import excepthook
from desktop_app.services.clock import ManualClock
from desktop_app.services.paths import AppPaths
from desktop_app.services.settings import Settings
from desktop_app.services.sync import SyncEngine, SyncStatus
from desktop_app.services.tasks import Backoff, TaskFailure, TaskSupervisor
from desktop_app.store import CallStore
from desktop_app.ui.dialer.model import KIND_IN_FLIGHT
from desktop_app.ui.sync.presenter import SYNC_LOOP
from desktop_app.workspace import Workspace, WorkspaceOptions
from tests.helpers.qt import GuiTestLoop, wait_until
from tests.helpers.tokens import FAKE_TOKEN
from tests.helpers.workspace import WorkspaceOpener

#: A safety net only: every wait ends on a signal, a callback or a manual clock's sleep.
pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

TIMEOUT = 15.0
PLACING = "Placing the call…"
#: Restarts wait on a `ManualClock`: time moves only when a test advances it.
STEP = Backoff(base_s=5.0, cap_s=10.0, jitter=0.0)


def fill_the_disk(store: CallStore) -> None:
    """No room for one more page in the real cache file ("database or disk is full")."""
    conn = store.connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def free_the_disk(store: CallStore) -> None:
    store.connection.execute("PRAGMA max_page_count = 1073741823")


def emitted(
    signal: SignalInstance, accept: Callable[..., bool] = lambda *_args: True
) -> asyncio.Future[tuple[Any, ...]]:
    """A future resolved by the signal's first emission whose arguments `accept` takes.
    Connect it before the action that emits."""
    future: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()

    def slot(*args: Any) -> None:
        if not future.done() and accept(*args):
            future.set_result(args)

    signal.connect(slot)
    future.add_done_callback(lambda _done: signal.disconnect(slot))
    return future


def failure_heard(
    tasks: TaskSupervisor, accept: Callable[[TaskFailure], bool]
) -> asyncio.Future[TaskFailure]:
    """A future resolved by the first failure `accept` takes that reaches `tasks` (after
    the window's own listener: the window shows it by then)."""
    future: asyncio.Future[TaskFailure] = asyncio.get_running_loop().create_future()

    def listener(failure: TaskFailure) -> None:
        if not future.done() and accept(failure):
            future.set_result(failure)

    unsubscribe = tasks.add_failure_listener(listener)
    future.add_done_callback(lambda _done: unsubscribe())
    return future


def synced(ws: Workspace) -> asyncio.Future[tuple[Any, ...]]:
    """Resolved when a sync succeeds (status "idle")."""

    def idle(status: SyncStatus) -> bool:
        return status.state == "idle"

    return emitted(ws.sync.presenter.statusChanged, idle)


async def settle(future: asyncio.Future[Any]) -> Any:
    async with asyncio.timeout(TIMEOUT):
        return await future


async def restart_wait(clock: ManualClock) -> float:
    """The seconds of the next wait on `clock` (a restart's backoff, the engine's)."""
    async with asyncio.timeout(TIMEOUT):
        return await clock.next_sleep()


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class RedirectedTransport(httpx.AsyncBaseTransport):
    """httpx's real transport, with every request sent to `port` on the same host."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=self.port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.asynccontextmanager
async def workspace_through(
    server: SandboxServer, home: AppPaths, transport: httpx.AsyncBaseTransport,
    tasks: TaskSupervisor, clock: ManualClock,
) -> AsyncIterator[Workspace]:
    """A workspace (not started) whose client speaks through `transport`; the engine's
    waits (its backoff, the interval) are on `clock`."""
    client = MyOperatorClient(
        FAKE_TOKEN, base_url=server.base_url, transport=transport,
        budget=RequestBudget.unlimited(),
        retry=RetryPolicy(attempts=1),
    )
    store = CallStore.open(home.database_file())
    engine = SyncEngine(
        client, store, sleep=clock.sleep, backoff_base_s=5.0, backoff_cap_s=10.0, jitter=0.0
    )
    workspace = Workspace.open(
        client, store, Settings(open_settings(home)), state=open_state(home),
        recordings_dir=home.recordings_dir(), engine=engine, tasks=tasks,
        options=WorkspaceOptions(sync_interval_s=3600.0, remote_delay_ms=50),
    )
    try:
        yield workspace
    finally:
        await workspace.aclose()
        workspace.window.close_now()
        workspace.window.deleteLater()


def dial(
    ws: Workspace, server: SandboxServer, number: str = "9876543210"
) -> asyncio.Future[tuple[Any, ...]]:
    """Type a number, pick a real agent of the service, press Call; the future resolves
    with the dialer's first status after "Placing the call…"."""
    answered = emitted(
        ws.dialer.presenter.statusChanged, lambda _text, kind: kind != KIND_IN_FLIGHT
    )
    panel = ws.dialer.panel
    user = server.state.users[0]
    panel.set_agents([(user.uuid, user.name)])
    panel.agent_combo.setCurrentIndex(panel.agent_combo.findData(user.uuid))
    panel.number_edit.setText(number)
    assert panel.call_button.isEnabled(), (panel.parsed_label.text(), panel.agent_uuid())
    QTest.mouseClick(panel.call_button, Qt.MouseButton.LeftButton)
    return answered


def settled(ws: Workspace) -> bool:
    panel = ws.dialer.panel
    return panel.status_label.text() not in ("", PLACING) and panel.call_button.isEnabled()


# ----------------------------------------------------------------------------- tests


async def test_a_full_disk_is_shown_and_the_sync_recovers_by_itself(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    """Today's main: the loop ended, the status went back to "idle", no request again."""
    clock = ManualClock()
    tasks = TaskSupervisor("workspace", backoff=STEP, sleep=clock.sleep)
    async with open_workspace(feed_sandbox, start=False, tasks=tasks) as ws:
        fill_the_disk(ws.store)
        fill_the_disk(ws.shared.engine.store)  # the sync writes through its own connection
        # The users list shares the cache file: its failure is in the status bar.
        other_failure = failure_heard(
            tasks, lambda f: f.name != SYNC_LOOP and "the disk is full" in f.text
        )
        ws.start()
        assert await restart_wait(clock) == STEP.base_s  # the loop failed and waits: alive
        label = ws.window.connection_label
        # (the countdown's figure runs on the real clock: not asserted)
        assert label.text().startswith(
            "The call cache could not be saved: the disk is full. Retrying in "
        )
        assert ws.sync.presenter.running
        assert ws.sync.presenter.status.state == "failed"
        await settle(other_failure)
        assert "the disk is full" in ws.window.problem_text
        assert ws.window.problem_label.isVisible()
        assert ws.feed.model.rowCount() == 0

        requests_before = len(feed_sandbox.state.requests_to("/search"))
        free_the_disk(ws.store)
        free_the_disk(ws.shared.engine.store)
        recovered = synced(ws)
        clock.advance(STEP.base_s)  # the restart's time has come
        await settle(recovered)
        assert ws.feed.model.rowCount() > 0
        assert len(feed_sandbox.state.requests_to("/search")) > requests_before
        assert "disk is full" not in label.text()


async def test_a_bad_port_is_shown_the_dialer_comes_back_and_the_sync_recovers(
    feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    """Port 99999 killed the sync, users and dialer tasks (12 tracebacks) and left the
    dialer on "Placing the call…" forever."""
    bugs: list[BaseException] = []
    clock = ManualClock()
    tasks = TaskSupervisor("workspace", backoff=STEP, sleep=clock.sleep, bug_hook=bugs.append)
    transport = RedirectedTransport(99999)
    # Every failure is kept, not keyed by id(): a freed error's id is reused by the next
    # one, which then looked like a second report of the first error's task.
    failures: list[TaskFailure] = []
    tasks.add_failure_listener(failures.append)

    def bug_tasks() -> list[str]:
        return [next(f.name for f in failures if f.error is bug) for bug in bugs]

    async with workspace_through(feed_sandbox, desktop_home, transport, tasks, clock) as ws:
        other_failure = failure_heard(tasks, lambda f: f.name != SYNC_LOOP)  # users, filters
        ws.start()
        assert await restart_wait(clock) == STEP.base_s
        label = ws.window.connection_label
        # The users' first load restarts on the same clock: wait for the sync's own word.
        await wait_until(
            lambda: label.text().startswith("Something unexpected went wrong (OverflowError")
        )
        assert "Retrying in " in label.text()
        assert ws.sync.presenter.running
        await settle(other_failure)
        assert ws.window.problem_text != ""

        text, _kind = await settle(dial(ws, feed_sandbox))
        assert settled(ws)
        assert "placed" in text  # a sentence about the call
        assert feed_sandbox.state.requests_to("/clickOcall") == []
        # Loud, not silent: not the service's failure, so the excepthook hears of it too
        # (once per task, not once per restart).
        # (Other tasks may still be failing for the first time: count per task.)
        assert bugs and all(isinstance(b, ExceptionGroup) for b in bugs)
        assert bug_tasks().count(SYNC_LOOP) == 1
        clock.advance(STEP.base_s)  # a restart that fails again: the backoff grows
        # Both the sync loop and the users' first load wait again, each twice as long.
        await wait_until(lambda: clock.slept.count(2 * STEP.base_s) >= 2)
        assert bug_tasks().count(SYNC_LOOP) == 1

        transport.port = feed_sandbox.port  # the fault is gone
        recovered = synced(ws)
        clock.advance(2 * STEP.base_s)
        await settle(recovered)
        assert ws.feed.model.rowCount() > 0
        assert "Something unexpected" not in label.text()
        assert sorted(bug_tasks()) == sorted(set(bug_tasks()))  # once per task


async def test_a_refused_connection_means_not_placed_and_the_sync_comes_back(
    feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    port = closed_port()
    transport = RedirectedTransport(port)
    clock = ManualClock()
    tasks = TaskSupervisor("workspace", backoff=STEP, sleep=clock.sleep)
    async with workspace_through(feed_sandbox, desktop_home, transport, tasks, clock) as ws:
        ws.start()
        assert await restart_wait(clock) == 5.0  # the engine's own backoff: offline
        label = ws.window.connection_label
        await wait_until(lambda: label.text().startswith("Offline since"))

        text, _kind = await settle(dial(ws, feed_sandbox))
        assert settled(ws)
        assert "was not placed" in text
        assert feed_sandbox.state.requests_to("/clickOcall") == []

        transport.port = feed_sandbox.port
        recovered = synced(ws)
        clock.advance(5.0)
        await settle(recovered)
        assert ws.feed.model.rowCount() > 0


def test_main_installs_the_redacting_excepthook_before_anything_else(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An exception nobody handles (an async slot's, a task's bug) reaches
    `sys.excepthook`: the app's is the redacting one from the first line of `main`."""
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)  # restored after the test
    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)
    assert main(["--base-url", "ftp://example.com"]) == 2  # refused early, hook in place
    assert sys.excepthook is excepthook.redacting_excepthook
    capsys.readouterr()
    try:
        raise LookupError(f"https://example.com/search?token={FAKE_TOKEN}")
    except LookupError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    err = capsys.readouterr().err
    assert "LookupError: https://example.com/search?token=***" in err
    assert FAKE_TOKEN not in err


def test_qt_quitting_under_the_loop_still_shuts_down(
    qapp: QApplication, desktop_home: AppPaths
) -> None:
    """Qt ends its loop while the controller waits (the session ends): the app still
    shuts down and exits 0, instead of a RuntimeError traceback with everything open.
    Fails if `run_controller`'s WORKAROUND is removed."""
    args = argparse.Namespace(demo=False, base_url=None, reset_layout=False, uri=None)
    controller = AppController(args, desktop_home, environ={})
    shut_down: list[bool] = []
    original = controller.shutdown

    async def shutdown() -> None:
        await original()
        shut_down.append(True)

    controller.shutdown = shutdown  # type: ignore[method-assign]
    QTimer.singleShot(0, qapp.quit)  # as the session manager would
    with asyncio.Runner(loop_factory=lambda: GuiTestLoop(qapp)) as runner:
        code = run_controller(runner, controller)
    assert code == 0
    assert shut_down == [True]
    assert controller.first_run is None  # closed on the GUI thread


def test_the_controllers_own_runtime_error_is_not_taken_for_a_quit(
    qapp: QApplication, desktop_home: AppPaths
) -> None:
    args = argparse.Namespace(demo=False, base_url=None, reset_layout=False, uri=None)
    controller = AppController(args, desktop_home, environ={})

    async def broken() -> int:
        raise RuntimeError("a bug in the controller")

    controller.run = broken  # type: ignore[method-assign]
    with (
        asyncio.Runner(loop_factory=lambda: GuiTestLoop(qapp)) as runner,
        pytest.raises(RuntimeError, match="a bug in the controller"),
    ):
        run_controller(runner, controller)
