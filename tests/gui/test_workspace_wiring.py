"""The whole workspace wired together against the emulated service on a loopback port:
the Users and Dialer docks, every way a number reaches the dialer (Call back, tel: links,
the clipboard), missed calls in the banner and the callback list, the tray's close rule,
and a clean shutdown.

"Nothing is dialled" is counted at the server: ``state.requests_to("/clickOcall")``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
import threading
from collections.abc import Callable

import pytest
import shiboken6
from PySide6.QtCore import QAbstractEventDispatcher, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget, QPushButton

from desktop_app.app import AppController, links_in
from desktop_app.sandbox import SandboxServer
from desktop_app.sandbox.process import SandboxProcess
from desktop_app.services.notifier import MissedCallNotice, Notification
from desktop_app.services.paths import AppPaths
from desktop_app.services.settings import ME
from desktop_app.ui.call_detail.panel import callable_number
from desktop_app.ui.callbacks.panel import WorklistPanel
from desktop_app.ui.common.feature import Feature
from desktop_app.ui.dialer.model import KIND_ERROR
from desktop_app.ui.dialer.panel import DialerPanel
from desktop_app.ui.dialer.presenter import agents_from_users
from desktop_app.ui.notifications.banner import TRAY_UNAVAILABLE_TEXT
from desktop_app.ui.notifications.feature import TrayProbes
from desktop_app.ui.shell.main_window import KEY_STATE
from desktop_app.ui.users.panel import UsersPanel
from desktop_app.workspace import Workspace, WorkspaceOptions
from tests.helpers.qt import SpyTray, next_turns, wait_until
from tests.helpers.workspace import WorkspaceOpener, app_args, demo_config, first_sync, sync_again

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

TIMEOUT = 15.0
CLICK = "/clickOcall"


async def users_listed(ws: Workspace) -> None:
    users = ws.users.presenter
    await wait_until(lambda: users.model.rowCount() > 0 and not users.refreshing, TIMEOUT)


def in_front(dock: QDockWidget) -> bool:
    """The dock is open and, if tabbed, its tab is the current one (Qt moves the others
    off screen rather than hiding them)."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


# --------------------------------------------------------------------- users and dialer


async def test_users_and_dialer_docks_are_real_and_filled_from_the_service(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        assert isinstance(window.users_dock.widget(), UsersPanel)
        assert isinstance(window.dialer_dock.widget(), DialerPanel)
        await users_listed(ws)
        assert ws.users.presenter.model.rowCount() == len(feed_sandbox.state.users)
        agents = agents_from_users(ws.users.service.users())
        assert agents and ws.dialer.panel.agent_combo.count() == len(agents)
        assert {ws.dialer.panel.agent_combo.itemData(i)
                for i in range(ws.dialer.panel.agent_combo.count())} == {u for u, _ in agents}
        assert len(feed_sandbox.state.requests_to("/user", "GET")) >= 1


async def test_this_is_me_is_one_answer_for_users_dialer_and_missed_calls(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await users_listed(ws)
        first, second = agents_from_users(ws.users.service.users())[:2]

        ws.users.presenter.set_my_uuid(first[0])  # "This is me" in the users list
        panel = ws.dialer.panel
        assert panel.agent_uuid() == first[0]
        assert panel.agent_combo.currentText() == f"{first[1]} (me)"
        assert ws.dialer.settings.me_uuid == first[0]
        assert ws.notifications.notifier.my_uuid == first[0]
        assert ws.notifications.dnd.my_uuid == first[0]
        assert ws.callbacks.presenter.worklist.my_uuid == first[0]
        ws.shared.settings.sync()
        stored = QSettings(str(desktop_home.settings_file), QSettings.Format.IniFormat)
        assert stored.value(ME.key) == first[0]  # the declared setting, in settings.ini
        assert not (desktop_home.config_dir / "dialer.json").exists()

        # "Remember as me" in the dialer answers for the users list too.
        panel.agent_combo.setCurrentIndex(panel.agent_combo.findData(second[0]))
        QTest.mouseClick(panel.remember_button, Qt.MouseButton.LeftButton)
        assert ws.users.presenter.me_text.startswith(f"You: {second[1]}")
        assert ws.notifications.notifier.my_uuid == second[0]
        assert ws.callbacks.presenter.worklist.my_uuid == second[0]

        # Preferences (or the first-run flow) change the setting itself: everyone hears.
        ws.shared.settings.set(ME, first[0])
        assert ws.dialer.presenter.me.uuid == first[0]
        mine = panel.agent_combo.findData(first[0])
        assert panel.agent_combo.itemText(mine) == f"{first[1]} (me)"
        assert ws.users.presenter.me_text.startswith(f"You: {first[1]}")
        assert ws.notifications.notifier.my_uuid == first[0]
        assert ws.notifications.dnd.my_uuid == first[0]
        assert ws.callbacks.presenter.worklist.my_uuid == first[0]


async def test_call_back_from_the_call_detail_prefills_the_dialer_and_waits_for_call(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        await users_listed(ws)
        window = ws.window
        assert not in_front(window.dialer_dock)  # behind the Call detail tab
        ws.feed.panel.table.selectRow(0)
        call = ws.feed.model.row_at(0)
        assert call is not None
        log = ws.store.get(call.id)
        assert log is not None
        number = callable_number(log)
        button = ws.call_detail.panel.findChild(QPushButton, "callDetailCallBack")
        assert button is not None and button.isEnabled()

        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        panel = ws.dialer.panel
        await wait_until(lambda: in_front(window.dialer_dock))  # raised over the detail
        parsed = panel.parsed_number()
        assert parsed is not None and parsed.e164 == number
        assert feed_sandbox.state.requests_to(CLICK) == []  # a prefill never dials

        panel.agent_combo.setCurrentIndex(0)
        assert panel.call_button.isEnabled()
        QTest.mouseClick(panel.call_button, Qt.MouseButton.LeftButton)
        await wait_until(
            lambda: not ws.dialer.presenter.busy and bool(panel.status_label.text()), TIMEOUT
        )
        sent = feed_sandbox.state.requests_to(CLICK)
        assert len(sent) == 1
        assert sent[0].params["support_user_id"] == panel.agent_uuid()


async def test_users_call_button_prefills_the_dialer(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await users_listed(ws)
        user = next(u for u in ws.users.service.users() if u.number_e164)
        ws.users.panel.select_user(user.uuid)
        QTest.mouseClick(ws.users.panel.button("call"), Qt.MouseButton.LeftButton)
        parsed = ws.dialer.panel.parsed_number()
        assert parsed is not None and parsed.e164 == user.number_e164
        await wait_until(lambda: in_front(ws.window.dialer_dock))
        assert feed_sandbox.state.requests_to(CLICK) == []


async def test_clipboard_dialling_through_the_window_shortcut(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        action = ws.dialer.clipboard.action
        assert action in window.actions() and action in window.call_menu.actions()
        assert action.shortcut().toString() == "Ctrl+Shift+D"
        window.activateWindow()
        await wait_until(window.isActiveWindow)  # window shortcuts need the active window
        QGuiApplication.clipboard().setText("Hi, please call Rahul on +91 98123 45678 today.")
        QTest.keyClick(window, Qt.Key.Key_D,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        parsed = ws.dialer.panel.parsed_number()
        assert parsed is not None and parsed.e164 == "+919812345678"
        await wait_until(lambda: in_front(window.dialer_dock))

        QGuiApplication.clipboard().setText("no number in here")
        action.trigger()
        assert ws.dialer.panel.status_label.property("kind") == KIND_ERROR
        assert ws.dialer.panel.parsed_number() == parsed  # the field was left alone
        assert feed_sandbox.state.requests_to(CLICK) == []


async def test_ctrl_f_searches_the_users_list_when_it_has_focus_else_the_feed(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        window.activateWindow()
        await wait_until(window.isActiveWindow)
        window.show_dock(window.users_dock)
        users = ws.users.panel
        users.table.setFocus()
        await wait_until(lambda: QApplication.focusWidget() is users.table)
        QTest.keyClick(users.table, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert QApplication.focusWidget() is users.search_box
        window.show_dock(window.detail_dock)
        button = ws.call_detail.panel.findChild(QPushButton, "callDetailCallBack")
        assert button is not None
        button.setFocus()
        await wait_until(lambda: QApplication.focusWidget() is button)
        QTest.keyClick(button, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert QApplication.focusWidget() is ws.feed.panel.search


async def test_a_logged_dial_is_selected_in_the_feed(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        target = ws.feed.model.row_at(5)
        assert target is not None
        shown: list[object] = []
        ws.feed.presenter.callSelected.connect(shown.append)
        ws.dialer.presenter.callLogged.emit(target.id)
        assert ws.feed.panel.table.currentIndex().row() == 5
        assert [getattr(c, "id", None) for c in shown] == [target.id]


# ---------------------------------------------------------------------- tel: links


def test_links_are_picked_out_of_a_command_line() -> None:
    assert links_in(["--demo", "tel:+91-98123-45678"]) == ["tel:+91-98123-45678"]
    assert links_in(["--base-url", "http://127.0.0.1:1", "callto:123"]) == ["callto:123"]
    assert links_in(["--reset-layout"]) == []


async def test_tel_links_at_startup_and_from_another_launch_prefill_the_dialer(
    desktop_home: AppPaths,
) -> None:
    controller = AppController(
        app_args("--demo", "tel:+91-98123-45678"), desktop_home, environ={},
        sandbox_config=demo_config(), demo_service=SandboxServer,
    )
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    ws = controller.workspace
    assert ws is not None and ws.sandbox is not None
    panel = ws.dialer.panel
    parsed = panel.parsed_number()
    assert parsed is not None and parsed.e164 == "+919812345678"
    await wait_until(lambda: in_front(ws.window.dialer_dock))

    ws.window.showMinimized()
    assert ws.window.isMinimized()
    controller.handle_message(["--demo", "callto:+91%2098765%2043210"])
    assert not ws.window.isMinimized()  # brought to the front
    parsed = panel.parsed_number()
    assert parsed is not None and parsed.e164 == "+919876543210"

    controller.handle_message(["tel:call-me-maybe"])  # untrusted: refused, said plainly
    assert panel.status_label.property("kind") == KIND_ERROR
    assert panel.status_label.text()
    assert panel.parsed_number() is None  # nothing left for an Enter meant for the link
    assert "Not a number to call" in ws.window.statusBar().currentMessage()
    assert ws.sandbox.state.requests_to(CLICK) == []

    ws.window.quit_action.trigger()
    assert await asyncio.wait_for(run, TIMEOUT) == 0


# ----------------------------------------------------------------------- missed calls


async def test_a_missed_call_shows_once_in_the_banner_and_in_the_callback_list(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        assert not ws.notifications.tray.uses_tray  # offscreen: no tray, the window stands in
        banner = ws.notifications.banner
        assert banner.isVisible() and banner.notice_text == TRAY_UNAVAILABLE_TEXT
        await first_sync(ws)
        notes: list[Notification] = []
        ws.notifications.presenter.notified.connect(notes.append)

        missed = feed_sandbox.state.add_call(
            answered=False, incoming=True, caller_number="9812312345"
        )
        await sync_again(ws, feed_sandbox)
        await wait_until(lambda: ws.callbacks.panel.select_number("+919812312345"), TIMEOUT)
        await sync_again(ws, feed_sandbox)  # the overlap fetches it again: no repeat

        mine = [n for n in notes if isinstance(n, MissedCallNotice) and n.call_id == missed.id]
        assert len(mine) == 1
        cards = [
            c for c in ws.notifications.banner.cards
            if getattr(c.note, "call_id", None) == missed.id
        ]
        banner.set_expanded(True)  # it may wait behind the first sync's summary
        assert len(cards) == 1 and cards[0].isVisible()
        assert "98123 12345" in cards[0].title_label.text()
        callbacks = ws.callbacks.presenter.model
        row = callbacks.row_at(callbacks.row_of("+919812312345"))
        assert row is not None and row.last_call_id == missed.id
        assert ws.notifications.tray.unhandled_count == ws.callbacks.presenter.count > 0

        # Open: the call in the feed and its detail.
        ws.actions.show_dialer()
        cards[0].buttons["open"].click()
        await wait_until(lambda: in_front(ws.window.detail_dock))
        assert ws.feed.panel.table.currentIndex().row() == ws.feed.model.row_of(missed.id)

        # Mark handled: gone from the list and the banner; Undo brings the row back.
        cards[0].buttons["markHandled"].click()
        assert ws.callbacks.presenter.model.row_of("+919812312345") < 0
        assert not [
            c for c in ws.notifications.banner.cards
            if getattr(c.note, "call_id", "") == missed.id
        ]
        assert ws.callbacks.panel.undo_button.isEnabled()
        QTest.mouseClick(ws.callbacks.panel.undo_button, Qt.MouseButton.LeftButton)
        assert ws.callbacks.presenter.model.row_of("+919812312345") >= 0


async def test_call_back_from_the_callback_list_and_the_banner_prefills_the_dialer(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        missed = feed_sandbox.state.add_call(
            answered=False, incoming=True, caller_number="9812312399"
        )
        await sync_again(ws, feed_sandbox)
        panel: WorklistPanel = ws.callbacks.panel
        await wait_until(lambda: panel.select_number("+919812312399"), TIMEOUT)

        QTest.mouseClick(panel.call_back_button, Qt.MouseButton.LeftButton)
        parsed = ws.dialer.panel.parsed_number()
        assert parsed is not None and parsed.e164 == "+919812312399"
        await wait_until(lambda: in_front(ws.window.dialer_dock))

        ws.dialer.panel.number_edit.clear()
        await wait_until(
            lambda: any(
                getattr(c.note, "call_id", "") == missed.id for c in ws.notifications.banner.cards
            ),
            TIMEOUT,
        )
        card = next(
            c for c in ws.notifications.banner.cards
            if getattr(c.note, "call_id", "") == missed.id
        )
        card.buttons["callBack"].click()
        parsed = ws.dialer.panel.parsed_number()
        assert parsed is not None and parsed.e164 == "+919812312399"
        assert feed_sandbox.state.requests_to(CLICK) == []


async def test_call_menu_holds_the_dialer_and_tray_actions(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        actions = ws.window.call_menu.actions()
        tray = ws.notifications.tray
        for action in (ws.dialer.clipboard.action, tray.dnd_action, tray.stop_calls_action,
                       tray.worklist_action):
            assert action in actions
        ws.window.worklist_dock.close()
        ws.notifications.tray.worklist_action.trigger()
        await wait_until(lambda: in_front(ws.window.worklist_dock))
        ws.notifications.tray.dnd_action.trigger()  # do not disturb: silencing needs no request
        notes = ws.notifications
        await wait_until(lambda: notes.notifier.silenced and notes.dnd.state.on, TIMEOUT)
        assert ws.notifications.tray.dnd_action.isChecked()


# ------------------------------------------------------------------------------ layout


async def test_the_callback_list_is_in_the_view_menu_and_restored_with_the_layout(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        toggle = window.worklist_dock.toggleViewAction()
        assert toggle in window.view_menu.actions() and toggle.text() == "Callback list"
        toggle.trigger()
        assert not window.worklist_dock.isVisible()
        window.save_layout()

    async with open_workspace(feed_sandbox, start=False) as ws:
        window = ws.window
        window.show()
        assert not window.worklist_dock.isVisible()
        window.worklist_dock.toggleViewAction().trigger()
        assert window.worklist_dock.isVisible()
        window.removeDockWidget(window.worklist_dock)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, window.worklist_dock)
        window.worklist_dock.show()
        window.save_layout()

    async with open_workspace(feed_sandbox, start=False) as ws:
        window = ws.window
        window.show()
        assert window.dockWidgetArea(window.worklist_dock) == Qt.DockWidgetArea.RightDockWidgetArea
        window.worklist_dock.close()
        window.reset_layout_action.trigger()
        assert window.worklist_dock.isVisible()
        assert window.dockWidgetArea(window.worklist_dock) == Qt.DockWidgetArea.LeftDockWidgetArea


async def test_a_layout_saved_before_the_callback_list_existed_still_shows_it(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    async with open_workspace(feed_sandbox, start=False) as ws:
        window = ws.window
        window.show()
        window.removeDockWidget(window.worklist_dock)  # as an older version saved it
        window.dialer_dock.close()
        window.save_layout()
    async with open_workspace(feed_sandbox, start=False) as ws:
        window = ws.window
        window.show()
        assert not window.dialer_dock.isVisible()  # the saved layout applied
        assert window.worklist_dock.isVisible()  # the new dock where the default puts it
        assert window.dockWidgetArea(window.worklist_dock) == Qt.DockWidgetArea.LeftDockWidgetArea


# --------------------------------------------------------------------------- starting


def record_starts(ws: Workspace) -> list[tuple[Feature, int]]:
    """Each feature's start as it happens, with the event loop's wake-ups counted so far
    (the dispatcher's ``awake``: one per turn of the loop)."""
    dispatcher = QAbstractEventDispatcher.instance()
    assert dispatcher is not None
    wakeups = [0]

    def woke() -> None:
        wakeups[0] += 1

    dispatcher.awake.connect(woke)
    started: list[tuple[Feature, int]] = []
    for feature in ws.features:
        def recorded(feature: Feature = feature, start: Callable[[], None] = feature.start) -> None:
            started.append((feature, wakeups[0]))
            start()

        feature.start = recorded  # type: ignore[method-assign]
    return started


async def test_start_shows_the_cache_at_once_and_starts_the_rest_a_feature_per_turn(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    """Every feature's start in one turn held the window 30-70 ms (bench_loop_stall)."""
    async with open_workspace(feed_sandbox, start=False) as ws:
        started = record_starts(ws)
        ws.start()
        assert [feature for feature, _ in started] == [ws.sync, ws.feed]
        assert ws.starting and ws.window.isVisible()
        await wait_until(lambda: not ws.starting, TIMEOUT)
        assert [feature for feature, _ in started] == list(ws.features)
        turns = [wakeup for _, wakeup in started[1:]]
        assert turns == sorted(set(turns))  # after the feed, each start in a turn of its own


async def test_closing_while_starting_starts_nothing_more(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, start=False) as ws:
        started = record_starts(ws)
        ws.start()
        await ws.aclose()
        await next_turns()
        assert [feature for feature, _ in started] == [ws.sync, ws.feed]
        assert not ws.starting
        assert feed_sandbox.state.requests_to("/user") == []  # the users' load never began


# ---------------------------------------------------------------------------- closing


async def test_closing_without_a_tray_quits_and_everything_stops(desktop_home: AppPaths) -> None:
    controller = AppController(
        app_args("--demo"), desktop_home, environ={}, sandbox_config=demo_config(),
        demo_service=SandboxServer,
    )
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    ws = controller.workspace
    assert ws is not None
    await first_sync(ws)
    await users_listed(ws)
    assert not ws.notifications.tray.uses_tray

    ws.window.close()  # the title bar's button
    assert await asyncio.wait_for(run, TIMEOUT) == 0
    await wait_until(lambda: not shiboken6.isValid(ws.window))
    assert ws.users.presenter.closed and ws.dialer.presenter.closed
    assert ws.notifications.presenter.closed
    leftover = [
        t.get_name() for t in asyncio.all_tasks()
        if t.get_name().startswith(("users", "dialer", "dnd", "sync", "feed"))
    ]
    assert leftover == []
    with pytest.raises(sqlite3.ProgrammingError):
        ws.store.count()
    assert QSettings(str(desktop_home.state_file), QSettings.Format.IniFormat).contains(
        KEY_STATE
    )


async def test_the_demos_service_runs_in_a_process_of_its_own_that_quitting_ends(
    desktop_home: AppPaths,
) -> None:
    controller = AppController(  # the app's own demo service: `SandboxProcess`
        app_args("--demo"), desktop_home, environ={}, sandbox_config=demo_config()
    )
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    ws = controller.workspace
    assert ws is not None and isinstance(ws.sandbox, SandboxProcess)
    child = ws.sandbox.pid
    assert child is not None and child != os.getpid()
    assert ws.client.base_url == ws.sandbox.base_url
    await first_sync(ws)  # over loopback, from the child

    ws.window.close()
    assert await asyncio.wait_for(run, TIMEOUT) == 0
    assert ws.sandbox.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # stopped and reaped: nothing left behind


async def test_with_a_tray_closing_hides_and_the_trays_quit_quits(
    desktop_home: AppPaths, qapp: QApplication
) -> None:
    controller = AppController(
        app_args("--demo"), desktop_home, environ={}, sandbox_config=demo_config(),
        demo_service=SandboxServer,
        workspace_options=WorkspaceOptions(
            tray=TrayProbes(available=lambda: True, factory=SpyTray)
        ),
    )
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    ws = controller.workspace
    assert ws is not None and ws.notifications.tray.uses_tray
    assert not qapp.quitOnLastWindowClosed()
    await first_sync(ws)
    built: list[bool] = []
    ws.later(lambda: built.append(True))  # the users and the dialer, after the first paint
    await wait_until(lambda: bool(built), TIMEOUT)

    ws.window.close()
    await wait_until(lambda: not ws.window.isVisible())
    assert not run.done()  # still running in the tray
    tray = ws.notifications.tray.tray
    assert isinstance(tray, SpyTray)
    assert "MyOperator Desktop is still running" in [title for title, _ in tray.messages]

    ws.notifications.tray.quit_action.trigger()
    assert await asyncio.wait_for(run, TIMEOUT) == 0
    assert ws.users.presenter.closed and ws.dialer.presenter.closed



async def test_the_wired_docks_and_banner_are_named(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    from PySide6.QtWidgets import QWidget

    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        for dock in window.docks:
            assert dock.objectName() and dock.accessibleName(), dock.windowTitle()
        for name in ("usersPanel", "dialerPanel", "worklistPanel", "notificationBanner",
                     "worklistDock", "dialerDock", "usersDock"):
            widget = window.findChild(QWidget, name)
            assert widget is not None and widget.accessibleName(), name
        assert window.call_menu.objectName() == "menuCall"


@pytest.mark.parametrize(
    "failing",
    [
        "desktop_app.ui.notifications.feature",  # a damaged cache: the notifier reads it
        "desktop_app.ui.help.feature",  # the last built: every other feature is undone
    ],
)
async def test_a_build_that_fails_part_way_leaves_nothing_behind(
    desktop_home: AppPaths, feed_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch,
    failing: str,
) -> None:
    """The features built so far leave no listener on the app's settings, and their
    panels are deleted at once, not left to the cycle collector, which would clear their
    attributes while their event filters still run; the sync's thread is stopped."""
    import importlib

    from desktop_app.api.budget import RequestBudget
    from desktop_app.api.client import MyOperatorClient
    from desktop_app.services.settings import MemoryBackend, Settings
    from desktop_app.store import CallStore
    from tests.helpers.tokens import FAKE_TOKEN

    def damaged(*_args: object, **_kwargs: object) -> Feature:
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(importlib.import_module(failing), "build", damaged)
    widgets_before = set(QApplication.topLevelWidgets())
    threads_before = set(threading.enumerate())
    settings = Settings(MemoryBackend())  # outlives the workspace, as the app's do
    client = MyOperatorClient(
        FAKE_TOKEN, base_url=feed_sandbox.base_url, budget=RequestBudget.unlimited()
    )
    store = CallStore.open(desktop_home.database_file())
    try:
        with pytest.raises(sqlite3.DatabaseError):
            Workspace.open(client, store, settings, recordings_dir=desktop_home.recordings_dir())

        assert settings.listening() == 0
        left = [w for w in QApplication.topLevelWidgets() if w not in widgets_before]
        assert left == []
        assert [t.name for t in set(threading.enumerate()) - threads_before] == []
        gc.collect()  # nothing half-alive is left for it (pytest-qt fails on the errors)
        await next_turns(3)
    finally:
        await client.aclose()
        client.budget.close()
        store.close()
