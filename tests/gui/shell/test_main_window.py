"""The main window against the emulated service: docks, layout, status bar, shortcuts,
export, offline and rate-limited behaviour, and a clean shutdown of the whole app."""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import sqlite3
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDateEdit,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMenuBar,
    QPushButton,
    QStatusBar,
    QTableView,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_app.api.budget import RequestBudget
from desktop_app.app import AppController, name_application
from desktop_app.sandbox import DEMO_TOKEN, SandboxConfig, SandboxServer
from desktop_app.services.clock import ManualClock
from desktop_app.services.export import HEADER
from desktop_app.services.paths import AppPaths
from desktop_app.ui.common.theme import DARK_COLORS, LIGHT_COLORS, ThemeManager, ThemeMode
from desktop_app.ui.shell.main_window import APP_TITLE, KEY_STATE, MainWindow
from tests.helpers.qt import signal_future, wait_until
from tests.helpers.workspace import WorkspaceOpener, app_args, demo_config, first_sync

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

TIMEOUT = 15.0


def dock_titles(window: MainWindow) -> dict[str, str]:
    return {d.objectName(): d.windowTitle() for d in window.findChildren(QDockWidget)}


# ------------------------------------------------------------------ window and docks


async def test_window_opens_with_its_five_docks(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        assert window.isVisible()
        assert dock_titles(window) == {
            "feedDock": "Log feed",
            "detailDock": "Call detail",
            "usersDock": "Users",
            "dialerDock": "Dialer",
            "worklistDock": "Callback list",
        }
        assert window.feed_dock.widget() is ws.feed.panel
        assert window.detail_dock.widget() is ws.call_detail.panel
        assert window.users_dock.widget() is ws.users.panel
        assert window.dialer_dock.widget() is ws.dialer.panel
        assert window.worklist_dock.widget() is ws.callbacks.panel
        assert window.dockWidgetArea(window.feed_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
        assert window.dockWidgetArea(window.worklist_dock) == (
            Qt.DockWidgetArea.LeftDockWidgetArea
        )
        assert window.tabifiedDockWidgets(window.feed_dock) == [window.users_dock]
        assert window.tabifiedDockWidgets(window.detail_dock) == [window.dialer_dock]
        assert not window.findChildren(QLabel, "usersPlaceholder")
        assert not window.findChildren(QLabel, "dialerPlaceholder")
        toggles = {a.text() for a in window.view_menu.actions() if a.isCheckable()}
        assert toggles == {"Log feed", "Call detail", "Users", "Dialer", "Callback list"}
        assert window.windowTitle() == "MyOperator Desktop"
        assert not window.banner.isVisible()


async def test_view_menu_toggles_a_closed_dock_and_reset_brings_all_back(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        window.detail_dock.close()
        assert not window.detail_dock.isVisible()
        window.detail_dock.toggleViewAction().trigger()
        assert window.detail_dock.isVisible()
        window.users_dock.setFloating(True)
        window.feed_dock.close()
        window.reset_layout_action.trigger()
        assert all(d.isVisible() for d in window.docks)
        assert not window.users_dock.isFloating()
        assert window.dockWidgetArea(window.feed_dock) == Qt.DockWidgetArea.LeftDockWidgetArea


async def test_demo_workspace_says_so_in_title_and_banner(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, demo=True) as ws:
        # The app's name once (it used to come back inside the demo sentence).
        assert ws.window.windowTitle() == "MyOperator Desktop — Demo workspace"
        assert ws.window.banner.isVisible()
        banner = ws.window.banner.text()
        assert banner == "Demo workspace — emulated MyOperator service, no real calls"


async def test_layout_is_restored_by_the_next_window(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        window.removeDockWidget(window.detail_dock)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, window.detail_dock)
        window.detail_dock.show()
        window.dialer_dock.close()
        window.resize(790, 700)  # within the offscreen screen (800 x 800), above the minimum
        size = (window.width(), window.height())
        window.save_layout()
    state_file = desktop_home.state_file
    assert state_file.is_file()
    assert QSettings(str(state_file), QSettings.Format.IniFormat).contains(KEY_STATE)
    # Window state is kept apart from the settings a person chooses.
    assert not QSettings(str(desktop_home.settings_file), QSettings.Format.IniFormat).contains(
        KEY_STATE
    )

    async with open_workspace(feed_sandbox, start=False) as second:
        window = second.window
        window.show()
        assert window.dockWidgetArea(window.detail_dock) == Qt.DockWidgetArea.BottomDockWidgetArea
        assert not window.dialer_dock.isVisible()
        assert window.feed_dock.isVisible()
        assert (window.width(), window.height()) == size


async def test_reset_layout_option_ignores_the_saved_layout(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, start=False) as ws:
        ws.window.feed_dock.close()
        ws.window.save_layout()
    async with open_workspace(feed_sandbox, start=False, restore_layout=False) as ws:
        ws.window.show()
        assert ws.window.feed_dock.isVisible()


def test_every_dock_is_made_the_one_way(qtbot: QtBot) -> None:
    """Movable, floatable and closable, named for the saved layout and for assistive tech."""
    from desktop_app.ui.common.docks import make_dock

    panel = QLabel("a panel")
    dock = make_dock("usersDock", "Users", panel)
    qtbot.addWidget(dock)
    assert dock.objectName() == "usersDock" and dock.accessibleName() == "Users"
    assert dock.widget() is panel and dock.toggleViewAction().text() == "Users"
    features = dock.features()
    for feature in (QDockWidget.DockWidgetFeature.DockWidgetClosable,
                    QDockWidget.DockWidgetFeature.DockWidgetMovable,
                    QDockWidget.DockWidgetFeature.DockWidgetFloatable):
        assert features & feature


def test_every_widget_is_named(qtbot: QtBot, desktop_home: AppPaths) -> None:
    """Tests and assistive tech find widgets by name: none of the window's own is anonymous."""
    from desktop_app.app import open_state
    from desktop_app.ui.feed.panel import FeedPanel

    window = MainWindow(FeedPanel(), None, open_state(desktop_home), demo=True)
    qtbot.addWidget(window)
    window.show()
    ours = (QLabel, QLineEdit, QComboBox, QPushButton, QToolButton, QTableView, QDateEdit,
            QDockWidget, QMenuBar, QStatusBar)
    unnamed = [
        f"{type(w).__name__} in {w.parent().objectName()}"
        for w in window.findChildren(QWidget)
        if type(w) in ours and not w.objectName()
        and not isinstance(w.parent(), QLineEdit)  # the line edit's own clear button
    ]
    assert unnamed == []
    for name in ("feedSearch", "feedDatePreset", "feedDateFrom", "feedDateTo", "feedLoadMore",
                 "feedTable", "feedCount", "feedFiltersToggle", "filterChips",
                 "statusConnection", "statusLastSync", "statusBudget", "demoBanner", "feedDock",
                 "detailDock", "usersDock", "dialerDock", "worklistDock"):
        widget = window.findChild(QWidget, name)
        assert widget is not None, name
        assert widget.accessibleName(), name


# ---------------------------------------------------------------------- status bar


async def test_first_sync_paints_rows_and_the_status_bar(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        assert ws.window.connection_label.text() == "Online"
        assert ws.window.last_sync_label.text().startswith("Last sync ")
        assert ws.window.budget_label.text() == "Requests: unlimited"
        newest = max(c.start_time for c in feed_sandbox.state.calls)
        assert ws.feed.model.row_at(0) is not None
        assert ws.feed.model.row_at(0).start_time == newest  # type: ignore[union-attr]


async def test_budget_left_is_shown(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, budget=RequestBudget()) as ws:
        await first_sync(ws)
        await wait_until(lambda: "left this hour" in ws.window.budget_label.text())
        text = ws.window.budget_label.text()
        left_this_hour = int(text.split(" ", 1)[0])
        assert left_this_hour == ws.client.budget.remaining()["hour"] < 100
        assert "; syncing every " in text


async def test_offline_keeps_showing_the_cache(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        rows = ws.feed.model.rowCount()
        first_id = ws.feed.model.row_at(0).id  # type: ignore[union-attr]
        feed_sandbox.stop()
        ws.window.refresh_action.trigger()
        await wait_until(lambda: ws.window.connection_label.text().startswith("Offline since"),
                         TIMEOUT)
        assert "retrying in" in ws.window.connection_label.text()
        assert ws.feed.model.rowCount() == rows
        assert ws.feed.model.row_at(0).id == first_id  # type: ignore[union-attr]
        # Searching still works on the cache while offline.
        ws.feed.panel.search.setText(ws.feed.model.row_at(0).caller_raw[-5:])  # type: ignore[union-attr]
        await wait_until(lambda: bool(ws.feed.model.query.text))
        assert ws.feed.model.rowCount() >= 1


async def test_rate_limited_status_counts_down(
    open_workspace: WorkspaceOpener, desktop_home: AppPaths
) -> None:
    from tests.helpers.tokens import FAKE_TOKEN

    # The emulated limit stays on here, and so does the client's budget.
    with SandboxServer(SandboxConfig(seed=3, n_logs=200, tokens={FAKE_TOKEN: 2})) as server:
        async with open_workspace(server, budget=RequestBudget()) as ws:
            await first_sync(ws)
            # Let the feed's own first question finish, so the sync meets the 429.
            await wait_until(lambda: not ws.feed.presenter.remote_pending, TIMEOUT)
            server.state.faults.add("429:retry_after=120,path=/search,count=1")
            ws.window.refresh_action.trigger()
            await wait_until(
                lambda: ws.window.connection_label.text().startswith("Rate-limited"), TIMEOUT
            )
            # Retry-After 120 s, a little of it gone: in words and minutes.
            assert ws.window.connection_label.text() == "Rate-limited: retrying in 2 min"
            assert ws.sync.presenter.status.state == "backing_off"
            assert ws.feed.model.rowCount() > 0


def test_the_app_leaves_qt_no_display_name_to_append_to_titles(qapp: QApplication) -> None:
    """X11 and Windows append a set display name to every title ("… — MyOperator
    Desktop"), after the window's own title has already named the app."""
    before = qapp.applicationName()
    try:
        name_application(qapp)
        assert qapp.applicationName() == APP_TITLE
        qapp.setApplicationName("probe")
        assert qapp.applicationDisplayName() == "probe"  # none of its own: Qt adds nothing
    finally:
        qapp.setApplicationName(before)


# ---------------------------------------------------------------------- shortcuts


async def test_shortcuts(
    qtbot: QtBot, open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        window = ws.window
        window.activateWindow()
        ws.feed.panel.table.setFocus()

        QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert QApplication.focusWidget() is ws.feed.panel.search

        QTest.keyClicks(ws.feed.panel.search, "98 7")
        assert ws.feed.panel.search.text() == "98 7"  # Space typed, not play/pause

        QTest.keyClick(window, Qt.Key.Key_Escape)
        assert ws.feed.panel.search.text() == ""

        plays = signal_future(window.playPauseRequested)
        ws.feed.panel.table.setFocus()
        QTest.keyClick(ws.feed.panel.table, Qt.Key.Key_Space)
        assert await asyncio.wait_for(plays, TIMEOUT) == ()

        synced = len(feed_sandbox.state.requests_to("/search"))
        QTest.keyClick(window, Qt.Key.Key_F5)
        await wait_until(lambda: len(feed_sandbox.state.requests_to("/search")) > synced)

        QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
        dialog = window.export_dialog
        assert dialog is not None and dialog.isVisible()  # shown without blocking the loop
        dialog.reject()

        quitting = signal_future(window.quitRequested)
        QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        assert await asyncio.wait_for(quitting, TIMEOUT) == ()
        assert window.isVisible()  # quitting waits for the services to stop


async def test_export_writes_the_current_view(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, tmp_path: Path
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        ws.feed.panel.chips  # noqa: B018 - chips exist before filters load
        ws.feed.panel.search.setText(ws.feed.model.row_at(0).department)  # type: ignore[union-attr]
        await wait_until(lambda: bool(ws.feed.model.query.text))
        await wait_until(lambda: not ws.feed.presenter.remote_pending, TIMEOUT)
        expected = ws.feed.model.rows_for_export()
        assert 0 < len(expected) < len(feed_sandbox.state.calls)

        ws.window.export_action.trigger()
        dialog = ws.window.export_dialog
        assert dialog is not None and dialog.isVisible()
        target = tmp_path / "view.csv"
        done = signal_future(ws.feed.presenter.exportFinished)
        dialog.selectFile(str(target))
        dialog.accept()
        ok, message = await asyncio.wait_for(done, TIMEOUT)
        assert ok and message == f"Exported {len(expected):,} calls to view.csv"
        raw = target.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
        assert rows[0] == list(HEADER)
        assert [r[-1] for r in rows[1:]] == [r.id for r in expected]
        assert all(r[1].endswith("Z") and "T" in r[1] for r in rows[1:])
        assert message in ws.window.statusBar().currentMessage()


# -------------------------------------------------------------------------- theme


async def test_theme_follows_the_forced_scheme_and_recolours_missed_calls(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    original = app.palette()
    theme = ThemeManager(app, ThemeMode.LIGHT)
    theme.apply()
    try:
        async with open_workspace(feed_sandbox, theme=theme) as ws:
            await first_sync(ws)
            missed = next(
                i for i in range(ws.feed.model.rowCount())
                if ws.feed.model.index(i, 0).data(Qt.ItemDataRole.UserRole + 3)
            )
            index = ws.feed.model.index(missed, 2)
            assert index.data(Qt.ItemDataRole.BackgroundRole) == LIGHT_COLORS.missed_bg
            changed = signal_future(theme.themeChanged)
            theme.set_mode(ThemeMode.DARK)
            assert await asyncio.wait_for(changed, TIMEOUT) == (True,)
            assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
            assert index.data(Qt.ItemDataRole.BackgroundRole) == DARK_COLORS.missed_bg
            assert app.style().name().lower() == "fusion"
    finally:
        app.setPalette(original)
        theme.deleteLater()


# ------------------------------------------------------------------- the whole app


async def test_demo_app_opens_and_quits_cleanly(desktop_home: AppPaths) -> None:
    controller = AppController(
        app_args("--demo", "tel:+919812345678"), desktop_home, environ={},
        sandbox_config=demo_config(), demo_service=SandboxServer,
    )
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    ws = controller.workspace
    assert ws is not None and ws.sandbox is not None
    await first_sync(ws)
    assert ws.window.banner.isVisible()
    assert ws.client.base_url == ws.sandbox.base_url
    assert ws.sandbox.base_url.startswith("http://127.0.0.1:")
    assert len(ws.sandbox.state.requests_to("/search")) >= 1
    assert DEMO_TOKEN not in ws.window.windowTitle()

    ws.window.quit_action.trigger()
    assert await asyncio.wait_for(run, TIMEOUT) == 0
    await wait_until(lambda: not shiboken6.isValid(ws.window))  # closed and deleted
    assert all(t.done() for t in asyncio.all_tasks() if t.get_name().startswith("sync"))
    with pytest.raises(sqlite3.ProgrammingError):
        ws.store.count()
    assert ws.client._http.is_closed
    with pytest.raises(ConnectionRefusedError), socket.create_connection(
        ("127.0.0.1", ws.sandbox.port), timeout=2
    ):
        pass  # the emulated service has stopped
    assert QSettings(str(desktop_home.state_file), QSettings.Format.IniFormat).contains(
        KEY_STATE
    )


async def test_without_a_token_the_first_run_offers_connect_and_the_demo(
    desktop_home: AppPaths,
) -> None:
    controller = AppController(
        app_args(), desktop_home, environ={}, sandbox_config=demo_config(),
        demo_service=SandboxServer,
    )
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.first_run is not None, TIMEOUT)
    window = controller.first_run
    assert window is not None and window.isVisible()
    assert window.connect_button.isVisible() and window.connect_button.isDefault()
    assert controller.workspace is None

    QTest.mouseClick(window.demo_button, Qt.MouseButton.LeftButton)
    await wait_until(lambda: controller.workspace is not None, TIMEOUT)
    await wait_until(lambda: not shiboken6.isValid(window))  # closed and deleted
    assert controller.workspace is not None
    await first_sync(controller.workspace)

    controller.workspace.window.close()  # the title bar's close button
    assert await asyncio.wait_for(run, TIMEOUT) == 0


async def test_closing_the_first_run_quits(desktop_home: AppPaths) -> None:
    controller = AppController(app_args(), desktop_home, environ={})
    run = asyncio.ensure_future(controller.run())
    await wait_until(lambda: controller.first_run is not None, TIMEOUT)
    assert controller.first_run is not None
    controller.first_run.close()
    assert await asyncio.wait_for(run, TIMEOUT) == 0
    assert controller.workspace is None


# --------------------------------------------------------------- binding workarounds


def test_garbage_is_collected_on_the_gui_thread_only(qapp: QApplication) -> None:
    import gc

    from desktop_app.runtime.binding import GuiThreadGarbageCollector

    collector = GuiThreadGarbageCollector(interval_ms=10)
    enabled = gc.isenabled()
    try:
        collector.start()
        assert not gc.isenabled()
        assert collector.active
        gc.collect()
        junk = [[] for _ in range(gc.get_threshold()[0] + 50)]
        for item in junk:
            item.append(item)  # cycles only a collection frees
        del junk, item
        assert gc.get_count()[0] > gc.get_threshold()[0]
        collector.check()
        assert gc.get_count()[0] < gc.get_threshold()[0]
    finally:
        collector.stop()
    assert gc.isenabled() == enabled
    assert not collector.active


def test_full_collections_are_spaced_out(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection stalls the window; the collector allows one a minute at most."""
    import gc

    from desktop_app.runtime import binding

    collected: list[int] = []
    monkeypatch.setattr(binding.gc, "get_threshold", lambda: (10, 1, 1))
    monkeypatch.setattr(binding.gc, "get_count", lambda: (50, 2, 2))  # every one crossed
    monkeypatch.setattr(binding.gc, "collect", lambda generation=2: collected.append(generation))
    clock = ManualClock(1000.0)
    collector = binding.GuiThreadGarbageCollector(
        interval_ms=60_000, full_every_s=60.0, clock=clock
    )
    enabled = gc.isenabled()
    try:
        for advance in (0.0, 61.0, 1.0, 58.0):
            clock.advance(advance)
            collector.check()
    finally:
        collector.deleteLater()
    assert collected == [1, 2, 1, 1]
    assert gc.isenabled() == enabled


async def test_theme_follows_the_system_colour_scheme(qapp: QApplication) -> None:
    hints = qapp.styleHints()
    original_palette = qapp.palette()
    theme = ThemeManager(qapp, ThemeMode.SYSTEM)
    try:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert not theme.is_dark
        changed = signal_future(theme.themeChanged)
        # What the platform sends when the user switches the desktop to dark.
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert await asyncio.wait_for(changed, TIMEOUT) == (True,)
        assert theme.colors is DARK_COLORS
        assert qapp.palette().color(QPalette.ColorRole.Base).lightness() < 80
        theme.set_mode(ThemeMode.LIGHT)  # a forced choice wins over the system
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert not theme.is_dark
        assert qapp.palette().color(QPalette.ColorRole.Base).lightness() > 200
    finally:
        qapp.setPalette(original_palette)
        theme.deleteLater()


def test_a_long_problem_is_cut_but_its_dismiss_link_stays_in_the_window(
    qtbot: QtBot, desktop_home: AppPaths
) -> None:
    from desktop_app.app import open_state
    from desktop_app.ui.feed.panel import FeedPanel

    window = MainWindow(FeedPanel(), None, open_state(desktop_home), demo=True)
    qtbot.addWidget(window)
    window.resize(900, 600)
    window.show()
    long_sentence = "The plain-text token file could not be deleted. " * 8
    window.show_problem("left-behind", long_sentence.strip())
    window.show_problem("sync", "The sync failed <b>twice</b>.")

    bar = window.statusBar()
    dismiss = window.dismiss_label
    assert dismiss.isVisible()
    assert dismiss.geometry().right() <= bar.width()  # not pushed off by the text
    # Shown as written (never read as markup); the count of the others beside the link.
    assert window.problem_label.text() == "The sync failed <b>twice</b>."
    assert dismiss.text().startswith("(and 1 more) ")
    assert long_sentence.strip() in window.problem_label.toolTip()

    dismiss.linkActivated.emit("dismiss")
    assert window.problem_text == ""
    assert not window.problem_label.isVisible() and not dismiss.isVisible()
