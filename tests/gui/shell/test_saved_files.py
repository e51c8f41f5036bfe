"""Exports and saved recordings land where people look for them: the export dialog opens in
Documents (then where the last export went) with a dated name, and the status bar links
to the folder of the file just saved."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from desktop_app.sandbox import SandboxServer
from desktop_app.services.paths import AppPaths
from desktop_app.ui.shell.main_window import MainWindow
from tests.helpers.qt import signal_future, wait_until
from tests.helpers.workspace import WorkspaceOpener, first_sync

pytestmark = pytest.mark.usefixtures("keep_the_test_loop_running")

TIMEOUT = 15.0


def bare_window(qtbot: QtBot, home: AppPaths) -> MainWindow:
    from desktop_app.app import open_state
    from desktop_app.ui.feed.panel import FeedPanel

    window = MainWindow(
        FeedPanel(), None, open_state(home), today=lambda: date(2026, 11, 30)
    )
    qtbot.addWidget(window)
    return window


def choose_export(window: MainWindow, target: Path) -> None:
    window.export_action.trigger()
    dialog = window.export_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.selectFile(str(target))
    dialog.accept()


def test_export_opens_in_documents_with_a_dated_name_then_where_the_last_went(
    qtbot: QtBot, desktop_home: AppPaths, tmp_path: Path
) -> None:
    documents = tmp_path / "home" / "Documents"
    documents.mkdir()
    window = bare_window(qtbot, desktop_home)
    chosen: list[str] = []
    window.exportPathChosen.connect(chosen.append)

    window.export_action.trigger()

    dialog = window.export_dialog
    assert dialog is not None
    assert Path(dialog.directory().absolutePath()) == documents  # not the working folder
    assert dialog.selectedFiles() == [str(documents / "calls-2026-11-30.csv")]
    reports = tmp_path / "reports"
    reports.mkdir()
    dialog.selectFile(str(reports / "calls-2026-11-30.csv"))
    dialog.accept()
    assert chosen == [str(reports / "calls-2026-11-30.csv")]

    window.close_now()
    again = bare_window(qtbot, desktop_home)  # a restart: the settings remember
    again.export_action.trigger()
    dialog = again.export_dialog
    assert dialog is not None
    assert dialog.selectedFiles() == [str(reports / "calls-2026-11-30.csv")]
    dialog.reject()


async def test_a_finished_export_links_to_its_folder(
    open_workspace: WorkspaceOpener,
    feed_sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(opened.append))
    async with open_workspace(feed_sandbox) as ws:
        await first_sync(ws)
        link = ws.window.findChild(QLabel, "statusSavedFile")
        assert link is not None and not link.isVisible()
        target = tmp_path / "out" / "calls-2026-11-30.csv"
        target.parent.mkdir()
        done = signal_future(ws.feed.presenter.exportFinished)

        choose_export(ws.window, target)

        ok, _message = await asyncio.wait_for(done, TIMEOUT)
        assert ok and target.is_file()
        assert link.isVisible()
        # The first of the status bar's permanent labels: left of the connection's.
        await wait_until(lambda: link.x() < ws.window.connection_label.x(), TIMEOUT)
        assert link.text() == 'Saved calls-2026-11-30.csv — <a href="folder">Show in folder</a>'
        assert link.toolTip() == str(target)
        assert opened == []
        link.linkActivated.emit("folder")
        assert opened == [QUrl.fromLocalFile(str(target.parent))]


async def test_a_saved_recording_links_to_its_folder(
    open_workspace: WorkspaceOpener,
    feed_sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(opened.append))
    async with open_workspace(feed_sandbox, start=False) as ws:
        saved = tmp_path / "Calls" / "2026-11-30 10-57 +91 98123 00001.mp3"
        ws.call_detail.recordings.saved.emit(str(saved))

        link = ws.window.findChild(QLabel, "statusSavedFile")
        assert link is not None
        assert link.text() == (
            'Saved 2026-11-30 10-57 +91 98123 00001.mp3 — <a href="folder">Show in folder</a>'
        )
        link.linkActivated.emit("folder")
        assert opened == [QUrl.fromLocalFile(str(saved.parent))]
