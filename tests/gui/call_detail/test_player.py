"""The recording player plays a real mp3 from the cache: position advances, the end is
reached, speed, seek, volume, Space, "not ready yet" with Retry, errors, Save as. The player
is bound to its presenter the way the app binds it (`call_detail.feature.bind_player`).

Coroutines await futures resolved by Qt signals (`signal_future`); no sleeps, and never
qtbot.waitSignal inside a coroutine (it deadlocks on the qasync loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import QObject, Qt
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QPushButton, QSlider, QWidget
from pytestqt.qtbot import QtBot

from desktop_app.api.errors import NotReadyYet, ServerError
from desktop_app.api.models import CallLog
from desktop_app.services.paths import HOME_ENV
from desktop_app.services.recordings import (
    AVAILABLE_MESSAGE,
    RecordingCache,
    suggested_recording_name,
)
from desktop_app.ui.call_detail.feature import bind_player
from desktop_app.ui.call_detail.player import SPEEDS, PlayerWidget, format_ms
from desktop_app.ui.call_detail.presenter import (
    NOT_READY_MESSAGE,
    RecordingController,
    RecordingState,
)
from tests.helpers.builders import make_call
from tests.helpers.qt import signal_future, wait_until
from tests.helpers.recordings import TIMEOUT, FileDownloader

T = TypeVar("T", bound=QObject)


@pytest.fixture
def cache(tmp_path: Path, downloader: FileDownloader) -> RecordingCache:
    return RecordingCache(tmp_path / "recordings", downloader=downloader)


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The Downloads folder of a home of the test's own."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    folder = tmp_path / "home" / "Downloads"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def controller(cache: RecordingCache, downloads: Path) -> Iterator[RecordingController]:
    controller = RecordingController(cache)
    yield controller
    controller.cancel()


def new_player(qtbot: QtBot) -> PlayerWidget:
    """An unbound player that stops and lets go of its file before it is destroyed."""
    widget = PlayerWidget()
    qtbot.addWidget(widget, before_close_func=lambda w: w.shutdown())
    return widget


@pytest.fixture
def widget(qtbot: QtBot, controller: RecordingController) -> Iterator[PlayerWidget]:
    widget = new_player(qtbot)
    bind_player(widget, controller)
    widget.show()
    yield widget


def child(widget: QWidget, kind: type[T], name: str) -> T:
    found = widget.findChild(kind, name)
    assert found is not None, name
    return found


async def test_plays_a_real_recording_until_the_end(
    widget: PlayerWidget, controller: RecordingController, downloader: FileDownloader
) -> None:
    controller.load_call(make_call())
    assert controller.state is RecordingState.AVAILABLE
    assert downloader.calls == []  # selecting a call spends no request
    assert not widget.media_made  # nor starts QtMultimedia: the first play does
    positions: list[int] = []
    widget.positionChanged.connect(positions.append)
    started = signal_future(widget.playbackStarted)
    finished = signal_future(widget.playbackFinished)

    child(widget, QPushButton, "playerPlayPause").click()
    assert controller.state is RecordingState.FETCHING
    assert widget.status_text == "Fetching recording…"

    await asyncio.wait_for(started, TIMEOUT)
    await asyncio.wait_for(finished, TIMEOUT)

    assert downloader.calls == ["rec-1.mp3"]
    assert widget.player.source().isLocalFile()
    assert Path(widget.player.source().toLocalFile()) == controller.local_path
    assert widget.player.duration() > 0
    assert max(positions) > 0
    assert widget.player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia


async def test_a_cached_recording_is_ready_without_a_request(
    widget: PlayerWidget,
    controller: RecordingController,
    cache: RecordingCache,
    downloader: FileDownloader,
) -> None:
    await cache.get("rec-1.mp3")
    downloader.calls.clear()
    loaded = signal_future(widget.durationChanged)

    controller.load_call(make_call())

    assert controller.state is RecordingState.READY
    (duration,) = await asyncio.wait_for(loaded, TIMEOUT)
    assert duration > 0
    assert child(widget, QSlider, "playerSeek").maximum() == duration
    assert downloader.calls == []
    assert widget.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState


async def test_seek_moves_the_position(
    widget: PlayerWidget, controller: RecordingController, cache: RecordingCache
) -> None:
    await cache.get("rec-1.mp3")
    loaded = signal_future(widget.durationChanged)
    controller.load_call(make_call())
    (duration,) = await asyncio.wait_for(loaded, TIMEOUT)
    target = duration // 2

    child(widget, QSlider, "playerSeek").setValue(target)  # as a user's click would

    await wait_until(lambda: abs(widget.player.position() - target) < 100, TIMEOUT)
    assert child(widget, QLabel, "playerElapsed").text() == format_ms(target)
    started = signal_future(widget.playbackStarted)
    widget.toggle_play()
    await asyncio.wait_for(started, TIMEOUT)
    moved = signal_future(widget.positionChanged)
    (position,) = await asyncio.wait_for(moved, TIMEOUT)
    assert position >= target - 100


async def test_speed_choice_sets_the_playback_rate(
    widget: PlayerWidget, controller: RecordingController, cache: RecordingCache
) -> None:
    speed = child(widget, QComboBox, "playerSpeed")
    assert [speed.itemText(i) for i in range(speed.count())] == [s for s, _r in SPEEDS]
    assert [speed.itemData(i) for i in range(speed.count())] == [0.75, 1.0, 1.25, 1.5, 2.0]
    assert speed.currentText() == "1×"

    speed.setCurrentIndex(speed.findText("1.5×"))
    assert not widget.media_made  # the player, made later, starts at the chosen speed
    assert widget.player.playbackRate() == pytest.approx(1.5)

    # The chosen speed carries over to the next recording.
    await cache.get("rec-1.mp3")
    loaded = signal_future(widget.durationChanged)
    controller.load_call(make_call())
    await asyncio.wait_for(loaded, TIMEOUT)
    assert widget.player.playbackRate() == pytest.approx(1.5)

    widget.set_speed(2.0)
    assert speed.currentText() == "2×"
    assert widget.player.playbackRate() == pytest.approx(2.0)


def test_volume_slider_sets_the_output_volume(widget: PlayerWidget) -> None:
    volume = child(widget, QSlider, "playerVolume")
    volume.setValue(30)
    assert not widget.media_made  # the output, made later, starts at the slider's value
    assert widget.audio_output.volume() == pytest.approx(0.3)
    volume.setValue(55)
    assert widget.audio_output.volume() == pytest.approx(0.55)


async def test_not_ready_yet_shows_retry_and_retry_then_plays(
    widget: PlayerWidget, controller: RecordingController, downloader: FileDownloader
) -> None:
    downloader.failures.append(NotReadyYet("no voice file found"))
    retry = child(widget, QPushButton, "playerRetry")
    controller.load_call(make_call())
    fetching = signal_future(controller.stateChanged)
    widget.toggle_play()
    assert (await asyncio.wait_for(fetching, TIMEOUT)) == (RecordingState.FETCHING.value,)
    await wait_until(lambda: controller.state is not RecordingState.FETCHING, TIMEOUT)

    assert controller.state is RecordingState.NOT_READY
    assert widget.status_text == NOT_READY_MESSAGE
    assert "still processing" in widget.status_text
    assert retry.isVisible()
    assert not child(widget, QPushButton, "playerPlayPause").isEnabled()

    started = signal_future(widget.playbackStarted)
    retry.click()
    await asyncio.wait_for(started, TIMEOUT)

    assert downloader.calls == ["rec-1.mp3", "rec-1.mp3"]
    assert not retry.isVisible()
    assert controller.state is RecordingState.READY


async def test_other_errors_show_their_sentence_with_retry(
    widget: PlayerWidget, controller: RecordingController, downloader: FileDownloader
) -> None:
    downloader.failures.append(ServerError("Downloading the recording failed (HTTP 500)."))
    controller.load_call(make_call())
    widget.toggle_play()
    await wait_until(lambda: controller.state is RecordingState.ERROR, TIMEOUT)

    assert widget.status_text == "Downloading the recording failed (HTTP 500)."
    assert child(widget, QPushButton, "playerRetry").isVisible()


@pytest.mark.parametrize(
    "call",
    [None, make_call(answered=False), make_call(filename="")],
    ids=["nothing-selected", "missed", "no-file-name"],
)
def test_no_recording_is_said_plainly(
    widget: PlayerWidget,
    controller: RecordingController,
    downloader: FileDownloader,
    call: CallLog | None,
) -> None:
    controller.load_call(call)

    assert controller.state is RecordingState.NONE
    assert widget.status_text.startswith("No recording")
    assert not child(widget, QPushButton, "playerPlayPause").isEnabled()
    assert not child(widget, QPushButton, "playerRetry").isVisible()
    assert not child(widget, QPushButton, "playerSaveAs").isEnabled()
    widget.toggle_play()
    assert downloader.calls == []


async def test_selecting_another_call_cancels_the_fetch(
    widget: PlayerWidget, controller: RecordingController, downloader: FileDownloader
) -> None:
    downloader.gate = asyncio.Event()
    controller.load_call(make_call("a", filename="a.mp3"))
    widget.toggle_play()
    await wait_until(lambda: downloader.calls == ["a.mp3"], TIMEOUT)

    controller.load_call(make_call("b", filename="b.mp3"))
    await wait_until(lambda: downloader.cancelled == 1, TIMEOUT)

    assert controller.state is RecordingState.AVAILABLE
    assert controller.call is not None and controller.call.id == "b"
    downloader.gate.set()
    started = signal_future(widget.playbackStarted)
    widget.toggle_play()
    await asyncio.wait_for(started, TIMEOUT)
    assert Path(widget.player.source().toLocalFile()).name == "b.mp3"


async def test_space_toggles_play_and_pause(
    qtbot: QtBot, widget: PlayerWidget, controller: RecordingController, cache: RecordingCache
) -> None:
    await cache.get("rec-1.mp3")
    controller.load_call(make_call())
    widget.setFocus()
    started = signal_future(widget.playbackStarted)
    qtbot.keyClick(widget, Qt.Key.Key_Space)
    await asyncio.wait_for(started, TIMEOUT)
    paused = signal_future(widget.playbackPaused)
    qtbot.keyClick(child(widget, QSlider, "playerSeek"), Qt.Key.Key_Space)
    await asyncio.wait_for(paused, TIMEOUT)
    assert child(widget, QPushButton, "playerPlayPause").text() == "Play"


async def test_save_as_copies_the_recording_through_a_non_modal_dialog(
    tmp_path: Path,
    widget: PlayerWidget,
    controller: RecordingController,
    cache: RecordingCache,
    mp3_source: Path,
) -> None:
    await cache.get("rec-1.mp3")
    controller.load_call(make_call())
    save = child(widget, QPushButton, "playerSaveAs")
    assert save.isEnabled()

    save.click()  # returns at once: the dialog is open(), not exec()
    dialog = widget._save_dialog
    assert dialog is not None and dialog.isVisible()
    target = tmp_path / "kept.mp3"
    saved = signal_future(controller.saved)
    dialog.fileSelected.emit(str(target))
    dialog.close()

    assert (await asyncio.wait_for(saved, TIMEOUT)) == (str(target),)
    copied, original = await asyncio.gather(
        asyncio.to_thread(target.read_bytes), asyncio.to_thread(mp3_source.read_bytes)
    )
    assert copied == original


def test_interactive_widgets_are_named_for_tests_and_assistive_tech(
    widget: PlayerWidget,
) -> None:
    for kind, name in (
        (QPushButton, "playerPlayPause"),
        (QPushButton, "playerRetry"),
        (QPushButton, "playerSaveAs"),
        (QSlider, "playerSeek"),
        (QSlider, "playerVolume"),
        (QComboBox, "playerSpeed"),
    ):
        assert child(widget, kind, name).accessibleName()


async def test_binding_shows_a_recording_that_is_ready_already(
    qtbot: QtBot,
    controller: RecordingController,
    cache: RecordingCache,
    downloader: FileDownloader,
) -> None:
    """The player never reads the presenter: binding pushes its current state once."""
    await cache.get("rec-1.mp3")
    downloader.calls.clear()
    controller.load_call(make_call())
    assert controller.state is RecordingState.READY
    widget = new_player(qtbot)
    assert widget.status_text == "No recording"  # unbound: nothing to show
    loaded = signal_future(widget.durationChanged)

    bind_player(widget, controller)

    assert widget.state is RecordingState.READY
    assert Path(widget.player.source().toLocalFile()) == controller.local_path
    assert child(widget, QPushButton, "playerPlayPause").isEnabled()
    assert child(widget, QPushButton, "playerSaveAs").isEnabled()
    (duration,) = await asyncio.wait_for(loaded, TIMEOUT)
    assert duration > 0
    assert widget.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState
    assert downloader.calls == []


async def test_save_as_offers_a_readable_name_in_downloads(
    widget: PlayerWidget, controller: RecordingController, cache: RecordingCache,
    downloads: Path,
) -> None:
    """Not the service's hash in the working folder: the call's start and caller."""
    await cache.get("rec-1.mp3")
    controller.load_call(make_call())

    child(widget, QPushButton, "playerSaveAs").click()

    dialog = child(widget, QFileDialog, "playerSaveDialog")
    readable = suggested_recording_name(make_call())
    assert readable.endswith(" +91 98372 11131.mp3")
    assert Path(dialog.directory().absolutePath()) == downloads
    assert [Path(name) for name in dialog.selectedFiles()] == [downloads / readable]
    dialog.close()


def test_the_presenter_says_each_status_with_its_sentence_and_save_name(
    controller: RecordingController, downloads: Path
) -> None:
    statuses: list[tuple[str, str]] = []
    names: list[str] = []
    controller.statusChanged.connect(lambda state, message: statuses.append((state, message)))
    controller.suggestedPathChanged.connect(names.append)

    controller.load_call(make_call("a", filename="a.mp3"))
    controller.load_call(make_call("a", filename="a.mp3"))  # the same call: nothing new
    controller.load_call(make_call("b", filename="b.mp3"))
    controller.load_call(make_call("c", answered=False))

    assert statuses == [
        (RecordingState.AVAILABLE.value, AVAILABLE_MESSAGE),
        (RecordingState.AVAILABLE.value, AVAILABLE_MESSAGE),
        (RecordingState.NONE.value, "No recording — the call was not answered."),
    ]
    # a, b and c started at the same minute from the same number: one name for all three.
    assert names == [str(downloads / suggested_recording_name(make_call("a")))]


def test_play_and_retry_ask_for_the_recording_and_save_as_forwards_the_path(
    qtbot: QtBot,
) -> None:
    """Unbound, the player only forwards: what the person asks for leaves as signals."""
    widget = new_player(qtbot)
    fetches: list[bool] = []
    saves: list[str] = []
    widget.fetchRequested.connect(fetches.append)
    widget.saveRequested.connect(saves.append)

    widget.toggle_play()  # no recording: nothing to ask for
    widget.show_status(RecordingState.AVAILABLE.value, AVAILABLE_MESSAGE)
    child(widget, QPushButton, "playerPlayPause").click()
    widget.show_status(RecordingState.NOT_READY.value, NOT_READY_MESSAGE)
    assert widget.status_text == NOT_READY_MESSAGE
    child(widget, QPushButton, "playerRetry").click()
    widget.show_status(RecordingState.READY.value, "")
    widget.set_suggested_path("kept.mp3")
    child(widget, QPushButton, "playerSaveAs").click()
    dialog = child(widget, QFileDialog, "playerSaveDialog")
    dialog.fileSelected.emit("/somewhere/kept.mp3")
    dialog.close()
    widget.show_saved("/somewhere/kept.mp3")

    assert fetches == [True, True]
    assert saves == ["/somewhere/kept.mp3"]
    assert child(widget, QLabel, "playerSaveStatus").text() == "Saved to /somewhere/kept.mp3"


async def test_transport_calls_release_the_gil(
    monkeypatch: pytest.MonkeyPatch,
    widget: PlayerWidget,
    controller: RecordingController,
    cache: RecordingCache,
) -> None:
    """play/pause/seek/stop reach QMediaPlayer through `QMetaObject.invokeMethod`, which
    PySide runs without the GIL: called directly, they can deadlock with the FFmpeg
    backend's threads (see the player module's docstring)."""
    from desktop_app.ui.call_detail import player as player_module

    invoked: list[str] = []
    real_invoke = player_module.QMetaObject.invokeMethod

    class SpyMetaObject:
        @staticmethod
        def invokeMethod(target: QObject, slot: str, *args: object) -> object:
            invoked.append(slot)
            return real_invoke(target, slot, *args)  # type: ignore[call-overload]

    def direct_call_refused(*_args: object) -> None:
        raise AssertionError("called with the GIL held")

    monkeypatch.setattr(player_module, "QMetaObject", SpyMetaObject)
    for slot in ("play", "pause", "stop", "setPosition"):
        monkeypatch.setattr(widget.player, slot, direct_call_refused)
    await cache.get("rec-1.mp3")
    controller.load_call(make_call())
    started = signal_future(widget.playbackStarted)

    widget.toggle_play()
    await asyncio.wait_for(started, TIMEOUT)
    widget.seek(500)
    widget.toggle_play()
    widget.stop()

    assert invoked == ["play", "setPosition", "pause", "stop"]
