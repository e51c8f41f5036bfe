"""The recording player: plays the selected call's recording from a local cached file.

It is handed file paths only (`QUrl.fromLocalFile`): QtMultimedia's FFmpeg backend prints
media URLs to stderr, and a recording link is a short-lived credential. Fetching, retrying
and saving belong to the presenter, which this widget never sees: it renders what its
slots are given (`show_status`, `set_suggested_path`, `load_file`, `show_saved`,
`show_save_failed`), plays, and says what the person asked for as signals
(`fetchRequested`, `saveRequested`). `call_detail.feature` binds the two.

WORKAROUND (PySide6 6.11.3 as 6.12.0: its typesystem_multimedia.xml releases the GIL
around ``QMediaPlayer.setSource`` only): threads and the GIL, below.
`tests/gui/call_detail/test_player.py::test_transport_calls_release_the_gil` fails if `_call_player`
goes. The FFmpeg backend plays on threads of its own (demuxer, decoder,
audio renderer). ``play``, ``pause``, ``stop`` and ``setPosition`` make it tear those
objects down and build new ones; each old object is destroyed on its own thread, and its
destructor, while holding a Qt connection lock, calls ``disconnectNotify`` on the
`QAudioOutput` it listened to. That `QAudioOutput` was created from Python, so PySide
looks for a Python override there, which takes the GIL. PySide6 6.12 releases the GIL
around ``QMediaPlayer.setSource`` but not around ``play``/``pause``/``stop``/
``setPosition``: the GUI thread then holds the GIL while it waits for that same
connection lock, and the process hangs for good (seen in ``stop()`` at the end of a test:
the GUI thread in ``QObject::disconnect``, the ``QFFmpeg::AudioRenderer`` thread in
``~QObject`` -> ``Sbk_GetPyOverride`` -> ``PyGILState_Ensure``). ``stop()`` also waits for
the audio renderer thread to run a blocking queued call; if that thread is meanwhile
handing a Qt warning ("No audio device detected") to a Python message handler, it waits
for the GIL too: the same hang, the GUI thread in ``QLatch::wait``. So the app installs no
Python message handler (a handler swapped while those threads log also crashes: see the
``--no-qt-log`` note in pyproject.toml), and:

* those four are called through `QMetaObject.invokeMethod` (`_call_player`), which
  PySide runs with the GIL released;
* PySide's first lookup of ``connectNotify``/``disconnectNotify`` on the audio output is
  made here, on the GUI thread (`_settle_overrides`): PySide remembers per object that
  there is no Python override, so the backend's threads never need the GIL for it;
* `shutdown` stops playback and lets go of the file, which ends the backend's threads,
  before the widget is destroyed.

The `QMediaPlayer` and its `QAudioOutput` are made on first use (a file loaded, or asked
for), and QtMultimedia imported then: its libraries, the FFmpeg backend and the audio
server's probe cost the start-up tens of milliseconds, and the first paint shows none of it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import (
    Q_ARG,
    QGenericArgumentHolder,
    QMetaObject,
    Qt,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.formatting import format_duration
from desktop_app.services.recordings import RecordingState, RecordingStatus
from desktop_app.services.settings import PLAYBACK_SPEEDS

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

#: (label, rate) of the speeds offered: the declared setting's choices, so Preferences'
#: "Playback speed" and this list cannot disagree.
SPEEDS: Final[tuple[tuple[str, float], ...]] = tuple(
    (label, rate) for rate, label in PLAYBACK_SPEEDS
)
DEFAULT_VOLUME: Final = 80


def format_ms(ms: int) -> str:
    """``m:ss`` of a media position in milliseconds."""
    return format_duration(max(0, ms) // 1000)


class PlayerWidget(QWidget):
    """Play/pause, seek, speed, volume and "Save as…" for one call's recording.

    Space toggles playback while the player (or a non-button child) has focus; a window
    may bind Space globally to `toggle_play` as well. Until bound it shows "No recording".
    """

    fetchRequested = Signal(bool)
    """Play (or Retry) before the recording is here: fetch it; the argument is whether
    to start playing when it arrives."""
    saveRequested = Signal(str)
    """The person chose this path in "Save as…"."""

    playbackStarted = Signal()
    """Playback entered the playing state."""
    playbackPaused = Signal()
    positionChanged = Signal(int)
    """Playback position in milliseconds."""
    durationChanged = Signal(int)
    """Length of the loaded recording in milliseconds."""
    playbackFinished = Signal()
    """The end of the recording was reached."""
    mediaFailed = Signal(str)
    """QtMultimedia could not play the file; the argument is the sentence shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("playerWidget")
        self.setAccessibleName("Recording player")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        nothing = RecordingStatus()
        self._state = nothing.state
        self._suggested_path = ""  # the binding pushes the first
        self._save_dialog: QFileDialog | None = None
        #: The speed each new recording starts at (the setting); None: the last chosen.
        self._default_speed: float | None = None

        self._player: QMediaPlayer | None = None  # made on first use (`_media`)
        self._audio: QAudioOutput | None = None

        self._build()
        self._connect()
        self.show_status(nothing.state.value, nothing.message)

    # ------------------------------------------------------------ reading

    @property
    def state(self) -> RecordingState:
        """The recording state last shown (`show_status`)."""
        return self._state

    @property
    def player(self) -> QMediaPlayer:
        return self._media()

    @property
    def audio_output(self) -> QAudioOutput:
        self._media()
        assert self._audio is not None
        return self._audio

    @property
    def media_made(self) -> bool:
        """Whether QtMultimedia's player exists yet (it is made on first use)."""
        return self._player is not None

    def _media(self) -> QMediaPlayer:
        """The player and its audio output, made (and QtMultimedia imported) the first
        time they are needed."""
        if self._player is not None:
            return self._player
        from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer

        # The player first: children are destroyed in creation order, and the player's
        # backend must not outlive the audio output it renders to.
        player = QMediaPlayer(self)
        player.setObjectName("mediaPlayer")
        audio = QAudioOutput(self)
        audio.setObjectName("audioOutput")
        audio.setVolume(self._volume.value() / 100)
        _settle_overrides(audio)
        player.setAudioOutput(audio)
        player.positionChanged.connect(self._on_position)
        player.durationChanged.connect(self._on_duration)
        player.playbackStateChanged.connect(self._on_playback_state)
        player.mediaStatusChanged.connect(self._on_media_status)
        player.errorOccurred.connect(self._on_media_error)
        self._player, self._audio = player, audio
        self._apply_speed()  # what the controls say, chosen before it existed
        return player

    @property
    def status_text(self) -> str:
        return self._status.text()

    # ------------------------------------------------------------ actions

    @Slot()
    def toggle_play(self) -> None:
        """Play or pause; before a recording is fetched, ask for it (and play when it arrives)."""
        state = self._state
        if state is RecordingState.READY:
            player = self._media()
            if player.playbackState() == player.PlaybackState.PlayingState:
                self._call_player("pause")
            else:
                self._call_player("play")
        elif state in (RecordingState.AVAILABLE, RecordingState.NOT_READY, RecordingState.ERROR):
            self.fetchRequested.emit(True)

    @Slot()
    def _request_retry(self) -> None:
        """Retry: fetch again after "not ready yet" or an error, and play when it arrives."""
        self.fetchRequested.emit(True)

    @Slot(int)
    def seek(self, position_ms: int) -> None:
        self._set_position(max(0, position_ms))

    @Slot(float)
    def set_speed(self, rate: float) -> None:
        """Select the closest offered speed and apply it to the player."""
        index = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i][1] - rate))
        self._speed.setCurrentIndex(index)
        self._apply_speed()

    @property
    def default_speed(self) -> float | None:
        return self._default_speed

    def set_default_speed(self, rate: float | None) -> None:
        """The speed every recording loaded from now on starts at (the setting); None
        keeps the speed last chosen. The recording playing keeps its speed."""
        self._default_speed = rate

    @Slot()
    def stop(self) -> None:
        self._call_player("stop")

    @Slot()
    def shutdown(self) -> None:
        """Stop and let go of the file; the backend's playback threads end before this returns.

        Call it when the player goes away (window closing, test teardown): the widget can
        then be destroyed without the backend still working on its threads. Selecting a
        call afterwards loads it again.
        """
        if self._player is None:
            return  # never made: nothing plays, no thread runs
        self._call_player("stop")
        self._player.setSource(QUrl())  # PySide releases the GIL here; joins the threads

    def _call_player(self, slot: str, *args: QGenericArgumentHolder) -> None:
        """Call a QMediaPlayer slot with the GIL released (see the module docstring).

        `QMetaObject.invokeMethod` with a direct connection runs the slot at once, on this
        thread, and PySide drops the GIL around it; signals the slot emits reach their
        Python slots as usual.
        """
        invoked = QMetaObject.invokeMethod(
            self._media(), slot, Qt.ConnectionType.DirectConnection, *args
        )
        if not invoked:
            raise RuntimeError(f"QMediaPlayer.{slot} could not be invoked")

    def _set_position(self, position_ms: int) -> None:
        self._call_player("setPosition", Q_ARG("qint64", position_ms))

    # ------------------------------------------------------------ building

    def _build(self) -> None:
        style = self.style()
        self._play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)

        self._status = QLabel(self)
        self._status.setObjectName("playerStatus")
        self._status.setWordWrap(True)
        self._status.setAccessibleName("Recording status")
        self._status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._retry = QPushButton("Retry", self)
        self._retry.setObjectName("playerRetry")
        self._retry.setAccessibleName("Retry fetching the recording")
        self._retry.setToolTip("Ask MyOperator for the recording again")

        self._play = QPushButton(self._play_icon, "Play", self)
        self._play.setObjectName("playerPlayPause")
        self._play.setAccessibleName("Play")
        self._play.setToolTip("Play or pause (Space)")

        self._elapsed = QLabel("0:00", self)
        self._elapsed.setObjectName("playerElapsed")
        self._elapsed.setAccessibleName("Elapsed time")
        self._total = QLabel("0:00", self)
        self._total.setObjectName("playerTotal")
        self._total.setAccessibleName("Total time")

        self._slider = QSlider(Qt.Orientation.Horizontal, self)
        self._slider.setObjectName("playerSeek")
        self._slider.setAccessibleName("Seek")
        self._slider.setRange(0, 0)
        self._slider.setTracking(False)  # seek on release, not on every pixel of a drag
        self._slider.setSingleStep(5000)
        self._slider.setPageStep(15000)
        self._slider.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

        self._speed = QComboBox(self)
        self._speed.setObjectName("playerSpeed")
        self._speed.setAccessibleName("Playback speed")
        self._speed.setToolTip("Playback speed")
        for label, rate in SPEEDS:
            self._speed.addItem(label, rate)
        self._speed.setCurrentIndex([rate for _l, rate in SPEEDS].index(1.0))

        self._volume = QSlider(Qt.Orientation.Horizontal, self)
        self._volume.setObjectName("playerVolume")
        self._volume.setAccessibleName("Volume")
        self._volume.setToolTip("Volume")
        self._volume.setRange(0, 100)
        self._volume.setValue(DEFAULT_VOLUME)
        self._volume.setMinimumWidth(60)
        self._volume.setMaximumWidth(120)
        volume_label = QLabel(self)  # an icon, not a word: the row must fit a narrow dock
        volume_label.setPixmap(style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume).pixmap(16))
        volume_label.setToolTip("Volume")
        volume_label.setBuddy(self._volume)

        self._save = QPushButton("Save as…", self)
        self._save.setObjectName("playerSaveAs")
        self._save.setAccessibleName("Save recording as")
        self._save.setToolTip("Save a copy of the recording")

        self._save_status = QLabel(self)
        self._save_status.setObjectName("playerSaveStatus")
        self._save_status.setWordWrap(True)
        self._save_status.hide()

        status_row = QHBoxLayout()
        status_row.addWidget(self._status, 1)
        status_row.addWidget(self._retry)

        transport = QHBoxLayout()
        transport.addWidget(self._play)
        transport.addWidget(self._elapsed)
        transport.addWidget(self._slider, 1)
        transport.addWidget(self._total)

        options = QHBoxLayout()
        options.addWidget(self._speed)  # "1×" says what it is; no label, to fit narrow docks
        options.addSpacing(12)
        options.addWidget(volume_label)
        options.addWidget(self._volume)
        options.addStretch(1)
        options.addWidget(self._save)

        # Hidden while there is no recording at all: disabled controls would only be noise.
        self._controls = QWidget(self)
        self._controls.setObjectName("playerControls")
        controls = QVBoxLayout(self._controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addLayout(transport)
        controls.addLayout(options)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(status_row)
        layout.addWidget(self._controls)
        layout.addWidget(self._save_status)

    def _connect(self) -> None:
        """The widget's own wiring: its controls (the QMediaPlayer's in `_media`)."""
        self._retry.clicked.connect(self._request_retry)
        self._play.clicked.connect(self.toggle_play)
        self._save.clicked.connect(self._ask_save_path)
        self._speed.currentIndexChanged.connect(self._apply_speed)
        self._volume.valueChanged.connect(self._on_volume)
        self._slider.valueChanged.connect(self._on_slider_value)
        self._slider.sliderMoved.connect(self._on_slider_moved)

    # ------------------------------------------------------------ shown from outside

    @Slot(str, str)
    def show_status(self, value: str, message: str) -> None:
        """Show the recording's state (a `RecordingState` value) and its sentence; any
        state but READY lets go of the file loaded before."""
        state = RecordingState(value)
        self._state = state
        if state is not RecordingState.READY:
            self._unload()
        text = message
        if state is RecordingState.READY:
            text = ""
        self._status.setText(text)
        self._status.setVisible(bool(text))
        self._retry.setVisible(state in (RecordingState.NOT_READY, RecordingState.ERROR))
        self._controls.setVisible(state is not RecordingState.NONE)
        self._play.setEnabled(
            state in (RecordingState.AVAILABLE, RecordingState.READY)
        )
        self._slider.setEnabled(state is RecordingState.READY)
        self._save.setEnabled(state is RecordingState.READY)
        self._save_status.hide()

    @Slot(str)
    def set_suggested_path(self, path: str) -> None:
        """The file "Save as…" offers next (its folder is where the dialog opens)."""
        self._suggested_path = path

    @Slot(str, bool)
    def load_file(self, path: str, autoplay: bool) -> None:
        """Load the recording's local file, and play it when `autoplay`."""
        self._media().setSource(QUrl.fromLocalFile(path))  # PySide releases the GIL here
        if self._default_speed is not None:
            self.set_speed(self._default_speed)
        else:
            self._apply_speed()
        if autoplay:
            self._call_player("play")

    def _unload(self) -> None:
        """Stop and let go of the file (so the cache may evict it, even on Windows)."""
        if self._player is not None and not self._player.source().isEmpty():
            self.shutdown()
        self._set_slider(0, maximum=0)
        self._elapsed.setText("0:00")
        self._total.setText("0:00")

    # ------------------------------------------------------------ save as

    @Slot()
    def _ask_save_path(self) -> None:
        """A non-blocking file dialog (`open()`): a modal exec() would break the qasync loop."""
        if self._save_dialog is None:
            dialog = QFileDialog(self, "Save recording as")
            dialog.setObjectName("playerSaveDialog")
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setFileMode(QFileDialog.FileMode.AnyFile)
            dialog.setNameFilters(["MP3 audio (*.mp3)", "All files (*)"])
            dialog.setDefaultSuffix("mp3")
            dialog.fileSelected.connect(self.saveRequested)
            self._save_dialog = dialog
        folder, name = os.path.split(self._suggested_path)
        if folder:
            self._save_dialog.setDirectory(folder)
        self._save_dialog.selectFile(name)
        self._save_dialog.open()

    @Slot(str)
    def show_saved(self, path: str) -> None:
        """A copy was written to `path`."""
        self._save_status.setText(f"Saved to {path}")
        self._save_status.show()

    @Slot(str)
    def show_save_failed(self, message: str) -> None:
        """A copy could not be written; `message` says why."""
        self._save_status.setText(message)
        self._save_status.show()

    # ------------------------------------------------------------ player

    @Slot(int)
    def _on_position(self, position: int) -> None:
        if not self._slider.isSliderDown():
            self._set_slider(position)
            self._elapsed.setText(format_ms(position))
        self.positionChanged.emit(position)

    @Slot(int)
    def _on_duration(self, duration: int) -> None:
        self._set_slider(self._slider.value(), maximum=max(0, duration))
        self._total.setText(format_ms(duration))
        self.durationChanged.emit(duration)

    # The three below take QtMultimedia's types: no @Slot signature, as it is imported later.
    def _on_playback_state(self, state: QMediaPlayer.PlaybackState) -> None:
        kind = type(state)
        playing = state == kind.PlayingState
        self._play.setText("Pause" if playing else "Play")
        self._play.setAccessibleName("Pause" if playing else "Play")
        self._play.setIcon(self._pause_icon if playing else self._play_icon)
        if playing:
            self.playbackStarted.emit()
        elif state == kind.PausedState:
            self.playbackPaused.emit()

    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == type(status).EndOfMedia:
            self.playbackFinished.emit()

    def _on_media_error(self, error: QMediaPlayer.Error, description: str) -> None:
        if error == type(error).NoError:
            return
        message = "This recording could not be played"
        message += f": {description}" if description else "."
        self._status.setText(message)
        self._status.show()
        self.mediaFailed.emit(message)

    @Slot(int)
    def _on_slider_value(self, value: int) -> None:
        """A user seek (keyboard, click, end of a drag); programmatic moves are blocked."""
        self._set_position(value)
        self._elapsed.setText(format_ms(value))

    @Slot(int)
    def _on_slider_moved(self, value: int) -> None:
        self._elapsed.setText(format_ms(value))

    def _set_slider(self, value: int, *, maximum: int | None = None) -> None:
        """Move the slider for the player's sake without it reading as a user seek."""
        blocked = self._slider.blockSignals(True)
        if maximum is not None:
            self._slider.setRange(0, maximum)
        self._slider.setValue(value)
        self._slider.blockSignals(blocked)

    @Slot()
    def _apply_speed(self) -> None:
        if self._player is None:
            return  # `_media` applies it to the player it makes
        rate = self._speed.currentData()
        self._player.setPlaybackRate(float(rate) if rate is not None else 1.0)

    @Slot(int)
    def _on_volume(self, value: int) -> None:
        if self._audio is not None:  # else made at this volume
            self._audio.setVolume(value / 100)

    # ------------------------------------------------------------ keyboard

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Space anywhere in the player that does not use Space itself toggles playback."""
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            self.toggle_play()
            event.accept()
            return
        super().keyPressEvent(event)


def _settle_overrides(audio: QAudioOutput) -> None:
    """Make PySide's first Python-override lookups for the audio output's connection
    notifications here, on the GUI thread (see the module docstring).

    PySide checks once per object whether Python overrides ``connectNotify`` and
    ``disconnectNotify`` and remembers the answer; only that first check needs the GIL.
    One connection made and removed from Python performs both checks.
    """

    def nothing(_value: float) -> None:
        return None

    audio.volumeChanged.connect(nothing)
    audio.volumeChanged.disconnect(nothing)
