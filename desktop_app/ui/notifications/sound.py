"""The missed-call sound, for where no tray message gets the agent's attention.

A short two-note chime, ``missed-call.wav`` beside this module (0.56 s of 16-bit mono
PCM at 44.1 kHz: two decaying sine tones, E6 then C6, written with the stdlib ``wave``
module), played by QtMultimedia's `QSoundEffect`. It ships inside the package (package
data) because an installed wheel carries no ``resources/`` folder. Whether it plays is
the ``notifications/sound`` setting (`TrayController` reads it); `Chime` is the seam the
tests replace, since a machine without an audio device (CI, offscreen) cannot play it.

The first ring readies the chime over several turns of the event loop, then plays it: in
one turn, QtMultimedia's import (two extension modules: QtNetwork then QtMultimedia,
5-15 ms each on the 2-core bench machine when idle) and the first `QSoundEffect` (which
loads the audio backend, the FFmpeg plugin: ~15 ms idle, 30+ under load) froze the window
for ~45 ms right after the card appeared. Importing on a worker thread is no way out: an
extension module's load and init hold the GIL (the window's turns measured 16-28 ms
meanwhile), and so does loading the libraries ahead with ctypes or `QLibrary`. A step per
turn keeps each turn to one piece; the sound follows the card by a few turns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer, QUrl

if TYPE_CHECKING:  # imported on the first ring: QtMultimedia costs the start-up
    from PySide6.QtMultimedia import QAudioDevice, QSoundEffect

SOUND_FILE = Path(__file__).with_name("missed-call.wav")
VOLUME = 0.7


class Chime(Protocol):
    """Something that plays the missed-call sound."""

    def play(self) -> None: ...


#: QtMultimedia's import, one extension module per turn (it imports QtNetwork first).
_MODULES = ("PySide6.QtNetwork", "PySide6.QtMultimedia")


class SoundEffectChime:
    """The chime through a `QSoundEffect`, made on first use: most sessions never ring
    it, and making one starts QtMultimedia's audio backend. The first `play` readies it a
    step per loop turn and plays it at the end (see the module docstring); rings asked
    for meanwhile are that one ring."""

    def __init__(self, parent: QObject, source: Path = SOUND_FILE) -> None:
        self._parent = parent
        self._source = source
        self.effect: QSoundEffect | None = None
        self._device: QAudioDevice | None = None
        #: The steps still to take before the first ring; None: not started.
        self._steps: list[Callable[[], object]] | None = None

    def play(self) -> None:
        effect = self.effect
        if effect is not None:
            if not effect.isPlaying():  # a burst of missed calls rings once
                effect.play()  # queued by Qt until the file has loaded
            return
        if self._steps is None:
            imports = [partial(importlib.import_module, name) for name in _MODULES]
            self._steps = [*imports, self._find_device, self._make_effect, self.play]
            self._next_turn()

    def _next_turn(self) -> None:
        # Bound to the parent: a chime whose window is gone takes no further step.
        QTimer.singleShot(0, self._parent, self._step)

    def _step(self) -> None:
        if not self._steps:
            return
        self._steps.pop(0)()
        if self._steps:
            self._next_turn()

    def _find_device(self) -> None:
        """Loads QtMultimedia's backend (the FFmpeg plugin and its libraries): the longest
        step. Made on this (the GUI) thread: the backend's objects live where it is made."""
        from PySide6.QtMultimedia import QMediaDevices

        self._device = QMediaDevices.defaultAudioOutput()

    def _make_effect(self) -> None:
        from PySide6.QtMultimedia import QSoundEffect

        assert self._device is not None  # `_find_device` is the step before
        effect = QSoundEffect(self._device, self._parent)
        effect.setObjectName("missedCallSound")
        effect.setSource(QUrl.fromLocalFile(str(self._source)))
        effect.setVolume(VOLUME)
        self.effect = effect
