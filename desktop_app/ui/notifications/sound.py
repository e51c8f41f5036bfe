"""The missed-call sound, for where no tray message gets the agent's attention.

A short two-note chime, ``missed-call.wav`` beside this module (0.56 s of 16-bit mono
PCM at 44.1 kHz: two decaying sine tones, E6 then C6, written with the stdlib ``wave``
module), played by QtMultimedia's `QSoundEffect`. It ships inside the package (package
data) because an installed wheel carries no ``resources/`` folder. Whether it plays is
the ``notifications/sound`` setting (`TrayController` reads it); `Chime` is the seam the
tests replace, since a machine without an audio device (CI, offscreen) cannot play it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QUrl

if TYPE_CHECKING:  # imported on the first ring: QtMultimedia costs the start-up
    from PySide6.QtMultimedia import QSoundEffect

SOUND_FILE = Path(__file__).with_name("missed-call.wav")
VOLUME = 0.7


class Chime(Protocol):
    """Something that plays the missed-call sound."""

    def play(self) -> None: ...


class SoundEffectChime:
    """The chime through a `QSoundEffect`, made on first use: most sessions never ring
    it, and making one starts QtMultimedia's audio backend."""

    def __init__(self, parent: QObject, source: Path = SOUND_FILE) -> None:
        self._parent = parent
        self._source = source
        self.effect: QSoundEffect | None = None

    def play(self) -> None:
        effect = self.effect
        if effect is None:
            from PySide6.QtMultimedia import QSoundEffect

            effect = self.effect = QSoundEffect(self._parent)
            effect.setObjectName("missedCallSound")
            effect.setSource(QUrl.fromLocalFile(str(self._source)))
            effect.setVolume(VOLUME)
        if not effect.isPlaying():  # a burst of missed calls rings once
            effect.play()  # queued by Qt until the file has loaded
