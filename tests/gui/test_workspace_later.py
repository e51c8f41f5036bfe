"""What the first paint does not show (the users, the dialer, Preferences) is built after
the feed has painted its first page, or at the latest `later_at_most_ms` after the start,
or at once when something asks for it; it then takes its docks and menu places and starts.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from desktop_app.sandbox import SandboxServer
from desktop_app.ui.dialer.panel import DialerPanel
from desktop_app.ui.users.panel import UsersPanel
from desktop_app.workspace import Workspace
from tests.helpers.qt import wait_until
from tests.helpers.workspace import WorkspaceOpener

#: Long enough never to be what builds them in a test of the paint's trigger.
NEVER_MS = 600_000


def built(ws: Workspace) -> bool:
    return isinstance(ws.window.dialer_dock.widget(), DialerPanel)


async def test_they_are_built_once_the_feed_has_painted_its_first_page(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(
        feed_sandbox, whole=False, later_at_most_ms=NEVER_MS
    ) as ws:
        # Started and shown, nothing painted yet: the docks show their placeholders.
        assert isinstance(ws.window.users_dock.widget(), QLabel)
        assert isinstance(ws.window.dialer_dock.widget(), QLabel)
        rows_then: list[int] = []
        ws.later(lambda: rows_then.append(ws.feed.model.rowCount()))

        await wait_until(lambda: built(ws))

        assert rows_then and rows_then[0] > 0  # after the first page, not before
        assert ws.window.users_dock.widget() is ws.users.panel
        assert ws.window.dialer_dock.widget() is ws.dialer.panel
        # Started as the workspace was: the users come from the service.
        await wait_until(lambda: ws.users.panel.table.model().rowCount() > 0)


async def test_without_a_painted_page_they_are_built_at_the_latest_after_the_delay(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, whole=False, start=False, later_at_most_ms=0) as ws:
        assert not built(ws)  # not before the start, whatever the delay
        ws.start(show=False)  # never shown: no page is ever painted
        await wait_until(lambda: built(ws))
        assert isinstance(ws.window.users_dock.widget(), UsersPanel)


async def test_asking_for_one_builds_them_at_once_in_their_places(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, whole=False, start=False) as ws:
        calls: list[str] = []
        ws.later(lambda: calls.append("first"))
        assert calls == []

        dialer = ws.dialer

        assert calls == ["first"] and built(ws)
        assert ws.users.panel is ws.window.users_dock.widget()
        assert ws.dialer is dialer and ws.actions is ws.actions  # built once
        # The dialer's commands lead the Call menu, before the tray's (installed earlier).
        names = [a.objectName() for a in ws.window.call_menu.actions() if a.objectName()]
        assert names[:2] == ["actionOpenDialer", dialer.clipboard.action.objectName()]
        assert len(names) > 2
        ws.later(lambda: calls.append("then"))  # once built: at once
        assert calls == ["first", "then"]
