"""The call-detail panel: every field and leg of a call, copy number, call back, the empty
state, the legs item model, and the embedded player playing the call's recording."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QPushButton, QStackedWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop_app.api.models import Agent, CallLeg, Direction, LegStatus
from desktop_app.services.formatting import format_local_time
from desktop_app.services.recordings import AVAILABLE_MESSAGE, RecordingCache
from desktop_app.ui.call_detail.feature import bind
from desktop_app.ui.call_detail.legs_model import Column, LegRole, LegsModel
from desktop_app.ui.call_detail.panel import EMPTY_TEXT, CallDetailPanel
from desktop_app.ui.call_detail.presenter import RecordingController, RecordingState
from tests.helpers.builders import make_call
from tests.helpers.qt import signal_future
from tests.helpers.recordings import TIMEOUT, FileDownloader


@pytest.fixture
def controller(tmp_path: Path, downloader: FileDownloader) -> Iterator[RecordingController]:
    cache = RecordingCache(tmp_path / "recordings", downloader=downloader)
    controller = RecordingController(cache)
    yield controller
    controller.cancel()


@pytest.fixture
def panel(qtbot: QtBot, controller: RecordingController) -> CallDetailPanel:
    panel = CallDetailPanel()
    bind(panel, controller)
    qtbot.addWidget(panel, before_close_func=lambda p: p.player.shutdown())
    panel.resize(520, 640)
    panel.show()
    return panel


def visible_text(panel: CallDetailPanel, name: str) -> str:
    label = panel.findChild(QLabel, name)
    assert label is not None, name
    return label.text()


def test_nothing_selected_shows_the_empty_state(panel: CallDetailPanel) -> None:
    stack = panel.findChild(QStackedWidget, "callDetailStack")
    assert stack is not None
    assert stack.currentWidget().objectName() == "callDetailEmpty"
    assert visible_text(panel, "callDetailEmpty") == EMPTY_TEXT
    assert panel.legs_model.rowCount() == 0


def test_shows_the_call_and_every_leg(panel: CallDetailPanel) -> None:
    call = make_call()
    panel.show_call(call)

    assert panel.field_text("number") == "098372 11131"
    assert panel.field_text("time") == format_local_time(call.start_time)
    assert panel.field_text("direction") == "Incoming"
    assert panel.field_text("result") == "Answered"
    assert panel.field_text("department") == "Sales"
    assert panel.field_text("talk") == "1:35"
    assert panel.field_text("duration") == "2:10"
    assert visible_text(panel, "callDetailNumberCaption") == "Caller"

    model = panel.legs_model
    assert model.rowCount() == 2
    rows = [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]
    assert [row[Column.AGENTS] for row in rows] == [
        "Ravi Kumar (ext. 14)",
        "Asha Rao (ext. 12)\nMeera Iyer",
    ]
    assert model.index(1, Column.AGENTS).data(Qt.ItemDataRole.AccessibleTextRole) == (
        "Asha Rao (ext. 12), Meera Iyer"
    )
    assert [row[Column.ACTION] for row in rows] == ["Missed", "Received"]
    assert [row[Column.STATUS] for row in rows] == ["Not answered", "Answered"]
    assert [row[Column.TIME] for row in rows] == ["rang 0:20", "talked 1:35"]
    assert model.index(0, 0).data(LegRole) is call.legs[0]
    view = panel.legs_view
    assert view.model() is model and view.isVisible()


def test_a_missed_outgoing_call_reads_as_such(panel: CallDetailPanel) -> None:
    call = make_call(answered=False, direction=Direction.OUTGOING)
    panel.show_call(call)

    assert panel.field_text("direction") == "Outgoing"
    assert panel.field_text("result") == "Missed"
    assert panel.field_text("talk") == "—"
    assert visible_text(panel, "callDetailNumberCaption") == "Called"
    assert panel.legs_model.index(1, Column.STATUS).data() == "Cancelled"
    assert panel.player.status_text.startswith("No recording")


def test_selecting_nothing_again_returns_to_the_empty_state(
    panel: CallDetailPanel, controller: RecordingController
) -> None:
    panel.show_call(make_call())
    panel.show_call(None)
    stack = panel.findChild(QStackedWidget, "callDetailStack")
    assert stack is not None and stack.currentWidget().objectName() == "callDetailEmpty"
    assert panel.legs_model.rowCount() == 0
    assert controller.state is RecordingState.NONE
    assert panel.player.state is RecordingState.NONE


def test_copy_number_puts_the_e164_number_on_the_clipboard(
    qtbot: QtBot, panel: CallDetailPanel
) -> None:
    QGuiApplication.clipboard().clear()
    panel.show_call(make_call())
    button = panel.findChild(QPushButton, "callDetailCopyNumber")
    assert button is not None and button.accessibleName()

    with qtbot.waitSignal(panel.numberCopied) as copied:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    assert copied.args == ["+919837211131"]
    assert QGuiApplication.clipboard().text() == "+919837211131"


def test_call_back_emits_the_number(qtbot: QtBot, panel: CallDetailPanel) -> None:
    panel.show_call(make_call())
    button = panel.findChild(QPushButton, "callDetailCallBack")
    assert button is not None and button.accessibleName()

    with qtbot.waitSignal(panel.callBackRequested) as requested:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    assert requested.args == ["+919837211131"]


def test_legs_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = LegsModel()
    qtmodeltester.check(model)
    model.set_legs(make_call().legs)
    qtmodeltester.check(model)
    model.set_legs(
        (
            CallLeg(status=LegStatus.UNKNOWN, action=None, start_time=None, duration_s=None),
            CallLeg(
                status=LegStatus.CANCEL,
                action="missed",
                start_time=1_716_543_200,
                duration_s=3,
                received_by=(Agent("", "21"), Agent("")),
            ),
        )
    )
    qtmodeltester.check(model)
    assert model.index(0, Column.AGENTS).data() == "Nobody"
    assert model.index(0, Column.TIME).data() == "—"
    assert model.index(1, Column.AGENTS).data() == "ext. 21\nUnnamed agent"
    assert model.index(0, 0, model.index(0, 0)).isValid() is False
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.data(QModelIndex()) is None
    assert model.headerData(Column.STATUS, Qt.Orientation.Horizontal) == "Result"


async def test_the_embedded_player_plays_the_calls_recording(
    qtbot: QtBot, panel: CallDetailPanel, downloader: FileDownloader
) -> None:
    panel.show_call(make_call())
    started = signal_future(panel.player.playbackStarted)
    finished = signal_future(panel.player.playbackFinished)

    panel.legs_view.setFocus()
    qtbot.keyClick(panel.legs_view, Qt.Key.Key_Space)  # Space in the panel plays

    await asyncio.wait_for(started, TIMEOUT)
    await asyncio.wait_for(finished, TIMEOUT)
    assert downloader.calls == ["rec-1.mp3"]


def test_the_panel_says_which_call_it_shows_and_space_asks_for_the_recording(
    qtbot: QtBot,
) -> None:
    """Unbound, the panel only renders and forwards (`call_detail.feature.bind` binds it)."""
    panel = CallDetailPanel()
    qtbot.addWidget(panel, before_close_func=lambda p: p.player.shutdown())
    panel.show()
    shown: list[object] = []
    fetches: list[bool] = []
    panel.callShown.connect(shown.append)
    panel.player.fetchRequested.connect(fetches.append)
    call = make_call()

    panel.show_call(call)
    assert shown == [call]
    assert panel.field_text("number") == "098372 11131"
    panel.player.show_status(RecordingState.AVAILABLE.value, AVAILABLE_MESSAGE)
    panel.legs_view.setFocus()
    qtbot.keyClick(panel.legs_view, Qt.Key.Key_Space)
    panel.show_call(None)

    assert shown == [call, None]
    assert fetches == [True]
