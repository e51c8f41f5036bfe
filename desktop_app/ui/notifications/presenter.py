"""The missed-call notifications' presenter: runs the notifier after each sync and do not
disturb, and reports both as signals for the tray or the banner.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop_app.services.availability import DndController, DndState
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

    def __init__(
        self, notifier: Notifier, dnd: DndController, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("notificationPresenter")
        self.notifier = notifier
        self.dnd = dnd
        self.on_close(notifier.add_listener(self._on_note))
        self.on_close(dnd.add_listener(self._on_dnd))
        notifier.set_silenced(dnd.state.on)

    def attach(self, engine: Any) -> None:
        """Check for missed calls after every sync of `engine` (a `SyncEngine`)."""
        self.on_close(self.notifier.attach(engine))

    def _on_note(self, note: Notification) -> None:
        self.notified.emit(note)

    def _on_dnd(self, state: DndState) -> None:
        self.notifier.set_silenced(state.on)
        self.dndStateChanged.emit(state)

    @Slot()
    def check_now(self) -> None:
        self.notifier.check()

    @Slot(bool, bool)
    def set_dnd(self, on: bool, stop_calls: bool) -> None:
        """Switch DND; silencing takes effect at once, the API call (if any) follows."""
        self.notifier.set_silenced(on)
        self._spawn(self.dnd.set_on(on, stop_calls=stop_calls), f"dnd-{'on' if on else 'off'}")

    @Slot()
    def retry_dnd(self) -> None:
        self._spawn(self.dnd.retry(), "dnd-retry")

