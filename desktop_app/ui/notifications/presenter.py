"""The missed-call notifications' presenter: runs the notifier after each sync and do not
disturb, and reports both as signals for the tray, the banner and the window's DND
indicator (re-said at each whole minute DND has been on, so "on for 12 min" stays true).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop_app.services.availability import DndController, DndState, indicator_text
from desktop_app.services.clock import Clock
from desktop_app.services.notifier import (
    Notification,
    Notifier,
)
from desktop_app.ui.common.presenter import Presenter

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------- presenter


class NotificationPresenter(Presenter):
    """Bridges the notifier and the DND switch to Qt: notifications and DND states as
    signals, DND requests run as named tasks (the switch may call the API)."""

    notified = Signal(object)
    """A `Notification` to show."""
    dndStateChanged = Signal(object)
    """A new `DndState`."""
    dndIndicatorChanged = Signal(str)
    """The window's DND words ("Do not disturb · on for 12 min"; "" when off)."""

    def __init__(
        self,
        notifier: Notifier,
        dnd: DndController,
        parent: QObject | None = None,
        *,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("notificationPresenter")
        self.notifier = notifier
        self.tasks.adopt(notifier.tasks)  # its checks close with this presenter
        self.dnd = dnd
        self._clock = clock
        self._indicator = ""
        #: Fires at the next whole minute of DND (a single shot, set again each time).
        self.dnd_timer = QTimer(self)
        self.dnd_timer.setObjectName("dndIndicatorTimer")
        self.dnd_timer.setSingleShot(True)
        self.dnd_timer.timeout.connect(self.update_indicator)
        self.on_close(notifier.add_listener(self._on_note))
        self.on_close(dnd.add_listener(self._on_dnd))
        notifier.set_silenced(dnd.state.on)
        self.update_indicator()

    @property
    def dnd_indicator(self) -> str:
        return self._indicator

    def attach(self, engine: Any) -> None:
        """Check for missed calls after every sync of `engine` (a `SyncEngine`)."""
        self.on_close(self.notifier.attach(engine))

    def _on_note(self, note: Notification) -> None:
        self.notified.emit(note)

    def _on_dnd(self, state: DndState) -> None:
        self.notifier.set_silenced(state.on)
        self.dndStateChanged.emit(state)
        self.update_indicator()

    @Slot()
    def update_indicator(self) -> None:
        """Say how long DND has been on, and wake again at its next whole minute."""
        state = self.dnd.state
        now = self._clock()
        text = indicator_text(state, now)
        if state.on and state.since is not None:
            into_minute = (now - state.since) % 60
            self.dnd_timer.start(max(1, int((60 - into_minute) * 1000)))
        else:
            self.dnd_timer.stop()
        if text != self._indicator:
            self._indicator = text
            self.dndIndicatorChanged.emit(text)

    @Slot()
    def check_now(self) -> None:
        self.notifier.request_check()

    @Slot(bool, bool)
    def set_dnd(self, on: bool, stop_calls: bool) -> None:
        """Switch DND; silencing takes effect at once, the API call (if any) follows."""
        self.notifier.set_silenced(on)
        self._spawn(self.dnd.set_on(on, stop_calls=stop_calls), f"dnd-{'on' if on else 'off'}")

    @Slot()
    def end_dnd(self) -> None:
        """Turn DND off (the window's indicator)."""
        self.set_dnd(False, False)

    @Slot()
    def retry_dnd(self) -> None:
        self._spawn(self.dnd.retry(), "dnd-retry")

