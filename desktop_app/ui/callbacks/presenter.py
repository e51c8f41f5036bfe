"""The callback list's presenter: keeps the worklist fresh and runs mark handled / undo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop_app.api.models import CallLog
from desktop_app.services.formatting import format_number
from desktop_app.services.worklist import WorkingHours, Worklist, WorklistRow
from desktop_app.ui.callbacks.model import WorklistModel
from desktop_app.ui.common.presenter import Presenter

#: The refresh after new calls or the periodic one, worked out on a worker thread.
BACKGROUND_REFRESH: Final = "worklist-refresh"


class WorklistPresenter(Presenter):
    """Keeps the model in step with the cache: refreshes after new calls (coalesced: a
    first sync reports a page at a time) and every few minutes (rows age out of the
    horizon, "today" changes); runs mark handled and undo.

    Those refreshes, and the first at start, read and work out the rows on a worker
    thread (over a big cache, tens of milliseconds: frames of a frozen window) and only
    the answer is applied here. A refresh the person's own action makes (mark handled,
    undo, new working hours) is immediate, and supersedes one in flight."""

    countChanged = Signal(int)
    """Missed calls still owed a call back (the tray's count)."""
    rowsChanged = Signal(object)
    """The open numbers (frozenset[str]) after a refresh."""
    undoChanged = Signal(bool, str)
    """(something to undo, the Undo button's text)."""

    def __init__(
        self,
        worklist: Worklist,
        model: WorklistModel,
        *,
        coalesce_ms: int = 200,
        refresh_interval_ms: int = 300_000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("worklistPresenter")
        self.worklist = worklist
        self.model = model
        self._count = -1
        # Bumped by every change made here: a refresh worked out on a worker thread
        # applies its answer only if none came in between.
        self._generation = 0
        self._pending = QTimer(self)
        self._pending.setObjectName("worklistRefreshPending")
        self._pending.setSingleShot(True)
        self._pending.setInterval(coalesce_ms)
        self._pending.timeout.connect(self.refresh_in_background)
        self._ticker = QTimer(self)
        self._ticker.setObjectName("worklistRefreshTicker")
        self._ticker.setInterval(refresh_interval_ms)
        self._ticker.timeout.connect(self.refresh_in_background)

    def start(self) -> None:
        """Show the rows the cache holds (worked out off the GUI thread: over a big
        cache that is frames of work while the window opens), then keep them fresh."""
        self.refresh_in_background()
        self._ticker.start()

    def stop(self) -> None:
        self._pending.stop()
        self._ticker.stop()
        self.cancel_tasks()

    @property
    def count(self) -> int:
        return max(0, self._count)

    @Slot(object)
    def on_new_calls(self, calls: Sequence[CallLog]) -> None:
        """New calls were stored: refresh soon (once for a burst of pages)."""
        if calls:
            self._pending.start()

    @Slot()
    def refresh(self) -> None:
        self._pending.stop()
        self._generation += 1  # an answer being worked out would be older than this one
        self._apply(self.worklist.refresh())

    @Slot()
    def refresh_in_background(self) -> None:
        """Work the rows out on a worker thread, then show them (a newer refresh wins)."""
        self._pending.stop()
        if not self.closed:
            self._spawn(self._refresh_off_thread(), BACKGROUND_REFRESH)

    async def _refresh_off_thread(self) -> None:
        generation = self._generation
        rows = await asyncio.to_thread(self.worklist.compute)
        if generation == self._generation:  # else read before a change made since
            self._apply(self.worklist.adopt(rows))

    @Slot(str)
    def mark_handled(self, number: str) -> None:
        self._generation += 1  # one in flight read before the mark: it would undo it
        if self.worklist.mark_handled(number):
            self._apply(self.worklist.rows())

    @Slot()
    def undo(self) -> None:
        self._generation += 1
        if self.worklist.undo() is not None:
            self._apply(self.worklist.rows())

    @Slot(str)
    def set_my_uuid(self, uuid: str) -> None:
        self.worklist.set_my_uuid(uuid or None)
        self.refresh()

    def set_hours(self, hours: WorkingHours) -> None:
        """New working hours: the "after hours" flags are worked out again now."""
        if hours == self.worklist.hours:
            return
        self.worklist.set_hours(hours)
        self.refresh()

    def _apply(self, rows: list[WorklistRow]) -> None:
        self.model.set_rows(rows)
        count = sum(r.attempts for r in rows)
        if count != self._count:
            self._count = count
            self.countChanged.emit(count)
        self.rowsChanged.emit(frozenset(r.number for r in rows))
        number = self.worklist.undo_number
        if number is None:
            self.undoChanged.emit(False, "Undo")
        else:
            self.undoChanged.emit(True, f"Undo: {format_number(number)} handled")
