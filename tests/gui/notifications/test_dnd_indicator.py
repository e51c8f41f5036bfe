"""Do not disturb you can see: the status bar and the title say it is on and for how long
(a `ManualClock`, no waiting), the link ends it, and the users list shows at once that
my calls stopped, without a refresh."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop_app.api.models import User
from desktop_app.sandbox import SandboxServer
from desktop_app.services.clock import ManualClock
from desktop_app.ui.shell.main_window import APP_TITLE
from desktop_app.ui.users.model import Column
from desktop_app.workspace import Workspace
from tests.helpers.qt import wait_until
from tests.helpers.workspace import WorkspaceOpener

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

#: Tuesday 2026-11-24 10:00 UTC: any fixed moment; only differences matter here.
T = 1_795_600_800.0


async def me_who_receives_calls(ws: Workspace) -> User:
    await wait_until(lambda: ws.users.presenter.model.rowCount() > 0, 15)
    me = next(u for u in ws.users.service.users() if u.receives_calls)
    ws.users.presenter.set_my_uuid(me.uuid)
    return me


def receives_calls_shown(ws: Workspace, uuid: str) -> str:
    proxy = ws.users.presenter.proxy
    return str(proxy.index(proxy.row_of(uuid), Column.RECEIVES_CALLS).data())


def others(ws: Workspace, uuid: str) -> dict[str, bool | None]:
    return {u.uuid: u.receives_calls for u in ws.users.service.users() if u.uuid != uuid}


async def test_dnd_shows_in_the_status_bar_and_title_with_how_long_it_has_been_on(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    clock = ManualClock(T)
    async with open_workspace(feed_sandbox, clock=clock) as ws:
        window, presenter = ws.window, ws.notifications.presenter
        assert window.windowTitle() == APP_TITLE
        assert not window.dnd_label.isVisible()

        window.activateWindow()
        await wait_until(lambda: QApplication.activeWindow() is window)
        QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
        await wait_until(lambda: ws.notifications.dnd.state.on)
        assert window.dnd_label.isVisible()
        assert window.dnd_label.accessibleName() == "Do not disturb"
        assert window.dnd_text == "Do not disturb · on for less than a minute"
        assert "Turn off" in window.dnd_label.text()
        assert "turn" in window.dnd_label.toolTip().lower()
        assert window.windowTitle() == f"{APP_TITLE} — Do not disturb"

        # The presenter wakes at each whole minute of DND (no sooner than needed).
        assert presenter.dnd_timer.isActive()
        assert 0 < presenter.dnd_timer.interval() <= 60_000
        clock.advance(12 * 60 + 5)
        presenter.dnd_timer.timeout.emit()
        assert window.dnd_text == "Do not disturb · on for 12 min"
        assert presenter.dnd_timer.interval() == 55_000  # the next whole minute
        clock.advance(63 * 60)
        presenter.dnd_timer.timeout.emit()
        assert window.dnd_text == "Do not disturb · on for 1 h 15 min"

        window.dnd_label.linkActivated.emit("off")  # "Turn off"
        await wait_until(lambda: not ws.notifications.dnd.state.on)
        assert not window.dnd_label.isVisible() and window.dnd_text == ""
        assert window.windowTitle() == APP_TITLE
        assert not presenter.dnd_timer.isActive()
        assert not ws.notifications.tray.dnd_action.isChecked()


async def test_stopping_calls_shows_in_the_users_list_at_once(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, clock=ManualClock(T)) as ws:
        me = await me_who_receives_calls(ws)
        await wait_until(lambda: not ws.users.presenter.refreshing)
        reads = len(feed_sandbox.state.requests_to("/user", "GET"))
        assert receives_calls_shown(ws, me.uuid) == "Yes"
        colleagues = others(ws, me.uuid)
        tray = ws.notifications.tray
        tray.stop_calls_action.setChecked(True)

        tray.dnd_action.trigger()
        await wait_until(lambda: ws.notifications.dnd.state.receiving_calls is False)
        assert receives_calls_shown(ws, me.uuid) == "No"
        user = ws.users.service.get(me.uuid)
        assert user is not None and user.receives_calls is False
        assert ws.window.dnd_text.startswith("Do not disturb · on")

        tray.dnd_action.trigger()
        await wait_until(lambda: ws.notifications.dnd.state.receiving_calls is True)
        assert receives_calls_shown(ws, me.uuid) == "Yes"
        # Shown from what the service agreed to, not from another read of the list.
        assert len(feed_sandbox.state.requests_to("/user", "GET")) == reads
        assert others(ws, me.uuid) == colleagues  # nobody else's row changed
