"""The window by keyboard alone: Tab and Shift+Tab walk each dock in reading order and
leave it (no table keeps the focus), Ctrl+F and Esc act on the dock in view, the
commands of the menus have shortcuts, and opening a dock puts the keyboard in it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QApplication, QDockWidget, QWidget

from desktop_app.sandbox import SandboxServer
from desktop_app.ui.shell.main_window import MainWindow
from desktop_app.workspace import Workspace
from tests.helpers.qt import wait_until
from tests.helpers.workspace import WorkspaceOpener, first_sync

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
#: More Tabs than any dock has stops: a walk this long is a trap.
MOST_STOPS = 40


async def ready(ws: Workspace) -> MainWindow:
    """Synced, users and callback rows listed, the window active."""
    await first_sync(ws)
    await wait_until(lambda: ws.users.presenter.model.rowCount() > 0, 15)
    await wait_until(lambda: ws.callbacks.panel.table.model().rowCount() > 0, 15)
    window = ws.window
    window.activateWindow()
    await wait_until(lambda: QApplication.activeWindow() is window)
    return window


def walk(dock: QDockWidget, start: QWidget, *, backwards: bool = False) -> list[str]:
    """Press Tab (Shift+Tab) from `start` until the focus leaves `dock`: the object names
    of the stops inside it, `start` first."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    assert QApplication.focusWidget() is start
    stops = [start.objectName()]
    for _ in range(MOST_STOPS):
        focus = QApplication.focusWidget()
        assert focus is not None
        if backwards:
            QTest.keyClick(focus, Qt.Key.Key_Backtab, SHIFT)
        else:
            QTest.keyClick(focus, Qt.Key.Key_Tab)
        now = QApplication.focusWidget()
        if now is None or not dock.isAncestorOf(now):
            # Out of the dock, to something in view (not a dock behind another's tab).
            assert now is not None and not now.visibleRegion().isEmpty(), now
            return stops
        assert now is not focus, f"Tab did not move from {focus.objectName()}"
        stops.append(now.objectName())
    raise AssertionError(f"the focus never left {dock.objectName()}: {stops}")


def in_order(stops: list[str], expected: list[str]) -> bool:
    """`expected` appear in `stops` in this order (other stops may come between)."""
    positions = [stops.index(name) for name in expected if name in stops]
    return len(positions) == len(expected) and positions == sorted(positions)


def prepare_feed(ws: Workspace) -> tuple[QDockWidget, QWidget, list[str]]:
    ws.feed.panel.table.selectRow(0)
    return ws.window.feed_dock, ws.feed.panel.search, [
        "feedSearch", "feedDatePreset", "feedFiltersToggle", "filterChip_2", "feedTable",
        "feedLoadMore",
    ]


def prepare_detail(ws: Workspace) -> tuple[QDockWidget, QWidget, list[str]]:
    ws.feed.panel.table.selectRow(0)
    panel = ws.call_detail.panel
    start = panel.findChild(QWidget, "callDetailScroll")
    assert start is not None
    return ws.window.detail_dock, start, [
        "callDetailScroll", "callDetailCopyNumber", "callDetailCallBack", "callDetailLegs",
        "playerWidget",
    ]


def prepare_users(ws: Workspace) -> tuple[QDockWidget, QWidget, list[str]]:
    ws.users.panel.table.selectRow(0)
    return ws.window.users_dock, ws.users.panel.search_box, [
        "usersSearch", "usersRefresh", "usersTable", "usersAdd", "usersEdit", "usersCall",
        "usersCopyNumber", "usersReceivesCalls",
    ]


def prepare_dialer(ws: Workspace) -> tuple[QDockWidget, QWidget, list[str]]:
    panel = ws.dialer.panel
    panel.agent_combo.setCurrentIndex(0)
    panel.prefill("+91 98123 00001")
    panel.set_recent_numbers(["+919812300001"])
    return ws.window.dialer_dock, panel.country_combo, [
        "dialerCountry", "dialerNumber", "dialerAgent", "dialerCall", "dialerRecent",
    ]


def prepare_worklist(ws: Workspace) -> tuple[QDockWidget, QWidget, list[str]]:
    panel = ws.callbacks.panel
    panel.table.selectRow(0)
    return ws.window.worklist_dock, panel.table, [
        "worklistTable", "worklistCallBack", "worklistMarkHandled",
    ]


@pytest.mark.parametrize(
    "prepare",
    [prepare_feed, prepare_detail, prepare_users, prepare_dialer, prepare_worklist],
    ids=["feed", "call-detail", "users", "dialer", "callbacks"],
)
async def test_tab_walks_each_dock_in_order_and_leaves_it(
    open_workspace: WorkspaceOpener,
    feed_sandbox: SandboxServer,
    prepare: Callable[[Workspace], tuple[QDockWidget, QWidget, list[str]]],
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = await ready(ws)
        dock, start, expected = prepare(ws)
        window.show_dock(dock)
        forward = walk(dock, start)
        assert in_order(forward, expected), forward
        # Shift+Tab from the last stop comes back the same way, and leaves too.
        last = dock.findChild(QWidget, forward[-1])
        assert last is not None
        assert walk(dock, last, backwards=True) == forward[::-1]


async def test_no_item_view_keeps_tab_for_itself(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, start=False, show=False) as ws:
        views = ws.window.findChildren(QAbstractItemView)
        names = {v.objectName() for v in views}
        assert {"feedTable", "usersTable", "worklistTable", "callDetailLegs",
                "dialerRecent"} <= names
        assert [v.objectName() for v in views if v.tabKeyNavigation()] == []


async def test_find_and_escape_act_on_the_dock_in_view(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = await ready(ws)
        feed_search, users_search = ws.feed.panel.search, ws.users.panel.search_box

        window.show_dock(window.users_dock)
        users_search.setFocus()
        QTest.keyClicks(users_search, "asha")

        window.show_dock(window.feed_dock)  # the Log feed tab: the users search is hidden
        QTest.keyClick(window, Qt.Key.Key_F, CTRL)
        focus = QApplication.focusWidget()
        assert focus is feed_search and feed_search.isVisible()
        QTest.keyClicks(focus, "987")
        assert (feed_search.text(), users_search.text()) == ("987", "asha")

        QTest.keyClick(window, Qt.Key.Key_Escape)
        assert (feed_search.text(), users_search.text()) == ("", "asha")

        window.show_dock(window.users_dock)
        ws.users.panel.table.setFocus()
        QTest.keyClick(window, Qt.Key.Key_F, CTRL)
        assert QApplication.focusWidget() is users_search
        QTest.keyClick(window, Qt.Key.Key_Escape)
        assert users_search.text() == ""  # Esc clears the Users search as it does the feed's


async def test_open_callback_list_puts_the_keyboard_in_it(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = await ready(ws)
        table = ws.callbacks.panel.table
        ws.feed.panel.search.setFocus()

        ws.notifications.tray.worklist_action.trigger()  # Call → Callback list
        assert QApplication.focusWidget() is table
        assert ws.callbacks.panel.current_row() is not None  # Enter calls back at once

        ws.feed.panel.search.setFocus()
        QTest.keyClick(window, Qt.Key.Key_L, CTRL)
        assert QApplication.focusWidget() is table


async def test_the_menus_commands_have_shortcuts_that_work(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = await ready(ws)
        commands = [
            action
            for menu in (window.findChild(QWidget, "menuFile"), window.call_menu,
                         window.view_menu)
            for action in menu.actions()  # type: ignore[union-attr]
            if not action.isSeparator()
        ]
        # Settings and layout toggles are not commands; everything else has a key.
        exempt = {"trayDndStopsCalls", "actionResetLayout", "notificationSound"} | {
            d.toggleViewAction().objectName() for d in window.docks
        }
        missing = [a.objectName() for a in commands
                   if a.objectName() not in exempt and a.shortcut().isEmpty()]
        assert missing == []
        names = {a.objectName() for a in commands}
        assert {"actionOpenDialer", "trayDnd", "trayWorklist"} <= names
        shortcuts = [a.shortcut().toString() for a in commands if not a.shortcut().isEmpty()]
        assert len(shortcuts) == len(set(shortcuts))

        ws.feed.panel.search.setFocus()
        QTest.keyClick(window, Qt.Key.Key_N, CTRL)  # Call → Open dialer
        assert window.dialer_dock.isVisible()
        assert QApplication.focusWidget() is ws.dialer.panel.number_edit

        dnd = window.findChild(QAction, "trayDnd")
        assert dnd is not None
        QTest.keyClick(window, Qt.Key.Key_M, CTRL | SHIFT)
        await wait_until(lambda: ws.notifications.dnd.state.on)
        QTest.keyClick(window, Qt.Key.Key_M, CTRL | SHIFT)
        await wait_until(lambda: not ws.notifications.dnd.state.on)
