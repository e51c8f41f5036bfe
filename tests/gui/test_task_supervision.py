"""No background work dies in silence: the real workspace against the emulated service on
a loopback port, with the faults of the issue made real.

- a full disk: SQLite's ``max_page_count`` on the real cache file, so writes fail with
  "database or disk is full";
- a bad port: every request sent by httpx's real transport to port 99999 (start-up now
  refuses such a base URL, so the fault is put behind the client, where it broke the
  sync, users and dialer tasks), or to a closed loopback port (connection refused).

Each failure must be in the window in words, the sync loop must stay alive and succeed by
itself once the fault is gone, and the dialer must come back from "Placing the call…".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.app import AppController, Workspace, build_workspace, open_settings, run_controller
from desktop_app.sandbox import SandboxServer
from desktop_app.services.dialer import DialerSettings
from desktop_app.services.paths import AppPaths
from desktop_app.services.sync import SyncEngine
from desktop_app.services.tasks import Backoff, TaskSupervisor
from desktop_app.store import CallStore
from tests.conftest import FAKE_TOKEN
from tests.gui.conftest import GuiTestLoop, WorkspaceOpener, wait_until

TIMEOUT = 15.0
PLACING = "Placing the call…"
#: Short, so a restart happens within a test; the loop's own waits stay long (an hour).
FAST = Backoff(base_s=0.3, cap_s=0.6, jitter=0.0)


@pytest.fixture(autouse=True)
def keep_the_test_loop_running(qapp: QApplication) -> Iterator[None]:
    previous = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    yield
    qapp.setQuitOnLastWindowClosed(previous)


def fill_the_disk(store: CallStore) -> None:
    """No room for one more page in the real cache file ("database or disk is full")."""
    conn = store.connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def free_the_disk(store: CallStore) -> None:
    store.connection.execute("PRAGMA max_page_count = 1073741823")


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
    tasks: TaskSupervisor,
) -> AsyncIterator[Workspace]:
    """A workspace (not started) whose client speaks through `transport`."""
    client = MyOperatorClient(
        FAKE_TOKEN, base_url=server.base_url, transport=transport,
        budget=RequestBudget.unlimited(),
        retry=RetryPolicy(attempts=1),
    )
    store = CallStore.open(home.database_file())
    # The engine's own backoff (the service unreachable) is short too.
    engine = SyncEngine(client, store, backoff_base_s=0.3, backoff_cap_s=0.6, jitter=0.0)
    workspace = build_workspace(
        client=client, store=store, engine=engine,
        settings=open_settings(home), recordings_dir=home.recordings_dir(),
        sync_interval_s=3600.0, remote_delay_ms=50,
        dialer_settings=DialerSettings.for_paths(home), tasks=tasks,
    )
    try:
        yield workspace
    finally:
        await workspace.aclose()
        workspace.window.close_now()
        workspace.window.deleteLater()


def dial(ws: Workspace, server: SandboxServer, number: str = "9876543210") -> None:
    """Type a number, pick a real agent of the service, press Call."""
    panel = ws.dialer_panel
    user = server.state.users[0]
    panel.set_agents([(user.uuid, user.name)])
    panel.agent_combo.setCurrentIndex(panel.agent_combo.findData(user.uuid))
    panel.number_edit.setText(number)
    assert panel.call_button.isEnabled(), (panel.parsed_label.text(), panel.agent_uuid())
    QTest.mouseClick(panel.call_button, Qt.MouseButton.LeftButton)


def settled(ws: Workspace) -> bool:
    panel = ws.dialer_panel
    return panel.status_label.text() not in ("", PLACING) and panel.call_button.isEnabled()


# ----------------------------------------------------------------------------- tests


async def test_a_full_disk_is_shown_and_the_sync_recovers_by_itself(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    """Today's main: the loop ended, the status went back to "idle", no request again."""
    tasks = TaskSupervisor("workspace", backoff=FAST)
    async with open_workspace(feed_sandbox, start=False, tasks=tasks) as ws:
        fill_the_disk(ws.store)
        ws.start()
        label = ws.window.connection_label
        await wait_until(
            lambda: "The call cache could not be saved: the disk is full. Retrying in"
            in label.text(), TIMEOUT,
        )
        assert ws.sync.running  # the loop is alive, waiting to restart
        assert ws.sync.status.state == "failed"
        # The users list shares the cache file: its failure is in the status bar.
        await wait_until(lambda: "the disk is full" in ws.window.problem_text, TIMEOUT)
        assert ws.window.problem_label.isVisible()
        assert ws.model.rowCount() == 0

        requests_before = len(feed_sandbox.state.requests_to("/search"))
        free_the_disk(ws.store)
        await wait_until(
            lambda: ws.sync.status.state == "idle" and ws.model.rowCount() > 0, TIMEOUT
        )
        assert len(feed_sandbox.state.requests_to("/search")) > requests_before
        assert "disk is full" not in label.text()


async def test_a_bad_port_is_shown_the_dialer_comes_back_and_the_sync_recovers(
    feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    """Port 99999 killed the sync, users and dialer tasks (12 tracebacks) and left the
    dialer on "Placing the call…" forever."""
    bugs: list[BaseException] = []
    tasks = TaskSupervisor("workspace", backoff=FAST, bug_hook=bugs.append)
    transport = RedirectedTransport(99999)
    async with workspace_through(feed_sandbox, desktop_home, transport, tasks) as ws:
        ws.start()
        label = ws.window.connection_label
        await wait_until(lambda: "Retrying in" in label.text(), TIMEOUT)
        assert label.text().startswith("Something unexpected went wrong (OverflowError")
        assert ws.sync.running
        await wait_until(lambda: ws.window.problem_text != "", TIMEOUT)  # users, filters

        dial(ws, feed_sandbox)
        await wait_until(lambda: settled(ws), TIMEOUT)
        assert "placed" in ws.dialer_panel.status_label.text()  # a sentence about the call
        assert feed_sandbox.state.requests_to("/clickOcall") == []
        # Loud, not silent: not the service's failure, so the excepthook hears of it too
        # (once per task, not once per restart).
        assert bugs and all(isinstance(b, ExceptionGroup) for b in bugs)
        reported = len(bugs)

        transport.port = feed_sandbox.port  # the fault is gone
        await wait_until(
            lambda: ws.sync.status.state == "idle" and ws.model.rowCount() > 0, TIMEOUT
        )
        assert "Something unexpected" not in label.text()
        assert len(bugs) == reported


async def test_a_refused_connection_means_not_placed_and_the_sync_comes_back(
    feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    port = closed_port()
    transport = RedirectedTransport(port)
    tasks = TaskSupervisor("workspace", backoff=FAST)
    async with workspace_through(feed_sandbox, desktop_home, transport, tasks) as ws:
        ws.start()
        label = ws.window.connection_label
        await wait_until(lambda: label.text().startswith("Offline since"), TIMEOUT)

        dial(ws, feed_sandbox)
        await wait_until(lambda: settled(ws), TIMEOUT)
        assert "was not placed" in ws.dialer_panel.status_label.text()
        assert feed_sandbox.state.requests_to("/clickOcall") == []

        transport.port = feed_sandbox.port
        await wait_until(
            lambda: ws.sync.status.state == "idle" and ws.model.rowCount() > 0, TIMEOUT
        )


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
    assert controller.start_panel is None  # closed on the GUI thread


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
