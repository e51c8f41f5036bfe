"""The notifier's check runs on a worker thread through the feature's own connection:
a check still in flight when the workspace closes ends before that connection does."""

from __future__ import annotations

import asyncio

from desktop_app.sandbox import SandboxServer
from desktop_app.services.notifier import CHECK_TASK, Notification
from desktop_app.services.paths import AppPaths
from desktop_app.store import CallStore
from desktop_app.ui.notifications.feature import TrayProbes
from tests.helpers.held_check import HeldRead
from tests.helpers.held_check import held as held
from tests.helpers.qt import SpyChime, next_turns
from tests.helpers.workspace import WorkspaceOpener


async def test_a_check_in_flight_when_the_workspace_closes_ends_cleanly_first(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, held: HeldRead,
    desktop_home: AppPaths,
) -> None:
    async with open_workspace(feed_sandbox, tray=TrayProbes(chime=SpyChime)) as ws:
        notes: list[Notification] = []
        ws.notifications.presenter.notified.connect(notes.append)
        notifier = ws.notifications.notifier
        # The first sync's check reads the last hours' missed calls, then is held.
        await held.wait_read(within_s=30)
        assert notifier.tasks.running(CHECK_TASK)
        closing = asyncio.ensure_future(ws.aclose())
        await next_turns(5)
        assert not closing.done()  # waiting for the thread, its connection still open
        held.release()
        await closing
        assert notes == [] and not notifier.tasks.running(CHECK_TASK)
        # The thread's transaction ended whole before its connection closed.
        with CallStore.open(desktop_home.database_file()) as store:
            count = store.connection.execute("SELECT count(*) FROM notified").fetchone()[0]
        assert count > 0
