"""The Help menu on a real workspace against the emulated service: Diagnostics fills in
every check and copies a report without the token, Keyboard shortcuts lists the window's
keys, About shows the versions and opens the app's folders."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu

from desktop_app.sandbox import SandboxServer
from desktop_app.services.diagnostics import CHECK_NAMES, CheckStatus
from desktop_app.services.logs import LOG_FILE_NAME
from desktop_app.services.paths import AppPaths
from desktop_app.ui.help.diagnostics_dialog import COPIED_TEXT
from desktop_app.ui.help.diagnostics_model import DiagnosticsColumn, RowState
from desktop_app.ui.help.diagnostics_presenter import RUN_TASK
from tests.helpers.qt import wait_until
from tests.helpers.tokens import FAKE_TOKEN
from tests.helpers.workspace import TIMEOUT, WorkspaceOpener, first_sync

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

CTRL = Qt.KeyboardModifier.ControlModifier


async def test_the_help_menu_is_last_with_its_three_commands(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox) as ws:
        window = ws.window
        menu = window.findChild(QMenu, "menuHelp")
        assert menu is not None
        assert window.menu_bar.actions()[-1].menu() is menu
        assert menu.title() == "&Help"
        assert [a.objectName() for a in menu.actions()] == [
            "actionDiagnostics", "actionKeyboardShortcuts", "actionAbout",
        ]
        assert [a.text() for a in menu.actions()] == [
            "&Diagnostics…", "&Keyboard shortcuts", "&About MyOperator Desktop",
        ]
        assert ws.help.shortcuts_action.shortcut().toString() == "Ctrl+/"


async def test_diagnostics_fill_in_every_check_and_copy_a_report_without_the_token(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    # A log that once carried the token, in a query string and bare.
    (desktop_home.log_dir / LOG_FILE_NAME).write_text(
        f"INFO httpx: HTTP Request: POST {feed_sandbox.base_url}/search?token={FAKE_TOKEN}\n"
        f"ERROR app: the token {FAKE_TOKEN} went somewhere it should not\n"
        "INFO app: the last line of the log\n",
        encoding="utf-8",
    )
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        ws.help.diagnostics_action.trigger()
        dialog = ws.help.diagnostics_dialog
        assert dialog is not None and dialog.isVisible() and not dialog.isModal()
        model = ws.help.presenter.model
        assert [model.index(r, DiagnosticsColumn.CHECK).data() for r in range(8)] == list(
            CHECK_NAMES
        )
        assert not dialog.run_button.isEnabled()  # while the checks run

        await wait_until(lambda: model.done == len(CHECK_NAMES), TIMEOUT)

        results = {r.name: r for r in model.results()}
        assert list(results) == list(CHECK_NAMES)
        for name in ("Service reachable", "Token accepted", "Users permitted",
                     "Recordings permitted", "Cache healthy"):
            assert results[name].status is CheckStatus.OK, results[name]
        # This window was not told how the keyring fares: it says so, it does not guess.
        assert results["Keyring working"].status is CheckStatus.WARNING
        assert "not checked" in results["Keyring working"].result
        for row in range(model.rowCount()):
            assert model.index(row, DiagnosticsColumn.RESULT).data()
        await wait_until(lambda: dialog.run_button.isEnabled())
        assert dialog.progress.value() == len(CHECK_NAMES)

        clipboard = QGuiApplication.clipboard()
        clipboard.clear()
        dialog.copy_button.click()
        await wait_until(lambda: dialog.copy_button.text() == COPIED_TEXT, TIMEOUT)

        report = clipboard.text()
        for name in CHECK_NAMES:
            assert name in report
        assert FAKE_TOKEN not in report
        assert "the last line of the log" in report
        assert f"Python: {platform.python_version()}" in report
        assert f"Qt: {qVersion()}" in report

        dialog.run_button.click()  # Run again: every row from the start
        assert dialog.copy_button.text() == "&Copy report"
        assert model.state_of(0) is RowState.RUNNING
        await wait_until(lambda: model.done == len(CHECK_NAMES), TIMEOUT)


async def test_closing_diagnostics_cancels_the_checks(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    # The service is slow to answer: the first check is still waiting when the dialog closes.
    feed_sandbox.state.faults.add("latency:ms=3000")
    async with open_workspace(feed_sandbox, start=False) as ws:
        dialog = ws.help.open_diagnostics()
        presenter = ws.help.presenter
        await wait_until(lambda: presenter.tasks.running(RUN_TASK))

        dialog.close_button.click()

        assert not dialog.isVisible()
        assert not presenter.running
        assert presenter.summary.startswith("Stopped after 0 of 8 checks")
        assert all(presenter.model.state_of(r) is RowState.NOT_RUN for r in range(8))

        # Opened again, it runs again.
        feed_sandbox.state.faults.clear()
        assert ws.help.open_diagnostics() is dialog
        await wait_until(lambda: presenter.model.done == len(CHECK_NAMES), TIMEOUT)


async def test_the_shortcuts_dialog_lists_the_windows_keys(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer
) -> None:
    async with open_workspace(feed_sandbox, start=False) as ws:
        window = ws.window
        window.show()
        window.activateWindow()
        await wait_until(lambda: QApplication.activeWindow() is window)

        QTest.keyClick(window, Qt.Key.Key_Slash, CTRL)

        dialog = ws.help.shortcuts_dialog
        assert dialog is not None and dialog.isVisible()
        listed = {(e.what, e.keys) for e in dialog.model.entries()}
        assert {
            ("Find", "Ctrl+F"), ("Quit", "Ctrl+Q"), ("Refresh now", "F5"),
            ("Open dialer", "Ctrl+N"), ("Keyboard shortcuts", "Ctrl+/"),
            ("Clear the search", "Esc"), ("Play or pause the recording", "Space"),
        } <= listed
        shown = [
            (dialog.proxy.index(r, 0).data(), dialog.proxy.index(r, 1).data())
            for r in range(dialog.proxy.rowCount())
        ]
        assert ("Quit", "Ctrl+Q") in shown

        dialog.search.setText("quit")
        assert [dialog.proxy.index(r, 0).data() for r in range(dialog.proxy.rowCount())] == [
            "Quit"
        ]
        dialog.search.setText("no such shortcut")
        assert dialog.proxy.rowCount() == 0 and dialog.empty_label.isVisibleTo(dialog)


class FolderOpener(QObject):
    """Stands in for the file manager: records the folders it was asked to show."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[Path] = []

    @Slot(QUrl)
    def show_folder(self, url: QUrl) -> None:
        self.opened.append(Path(url.toLocalFile()))


async def test_about_shows_the_versions_and_opens_each_folder(
    open_workspace: WorkspaceOpener, feed_sandbox: SandboxServer, desktop_home: AppPaths
) -> None:
    opener = FolderOpener()
    QDesktopServices.setUrlHandler("file", opener, "show_folder")
    try:
        async with open_workspace(feed_sandbox, start=False) as ws:
            ws.help.about_action.trigger()
            dialog = ws.help.about_dialog
            assert dialog is not None and dialog.isVisible()
            versions = {name: label.text() for name, label in dialog.version_labels.items()}
            assert versions["Python"].startswith(platform.python_version())
            assert versions["Qt"] == qVersion()
            assert set(versions) == {"MyOperator Desktop", "Python", "Qt", "PySide6"}

            for key in ("config", "data", "cache", "logs"):
                dialog.open_buttons[key].click()

            assert opener.opened == [
                desktop_home.config_dir, desktop_home.data_dir, desktop_home.cache_dir,
                desktop_home.log_dir,
            ]
            assert not dialog.status_label.isVisibleTo(dialog)
    finally:
        QDesktopServices.unsetUrlHandler("file")
