"""The screen-pop's state: which ringing call it shows, its card, and the note being typed
(saved a moment after the last keystroke, and when the pop is dismissed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop_app.relay.events import LiveCall
from desktop_app.services.screen_pop import CallerCard, ScreenPops, rings_for_me
from desktop_app.ui.common.presenter import Presenter

#: How long after the last keystroke a note is saved.
NOTE_SAVE_MS = 600
CARD_TASK = "screen-pop-card"
NOTE_TASK = "screen-pop-note"


class ScreenPopPresenter(Presenter):
    #: The card to show (None: nothing rings for this agent any more, or dismissed).
    cardChanged = Signal(object)
    #: The agent asked to see the caller's earlier calls (the card).
    openRequested = Signal(object)

    def __init__(
        self, pops: ScreenPops, me: Callable[[], str | None], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("screenPopPresenter")
        self._pops = pops
        self._me = me
        self._card: CallerCard | None = None
        self._note: str | None = None  # typed, not saved yet
        self._save_timer = QTimer(self)
        self._save_timer.setObjectName("screenPopNoteTimer")
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(NOTE_SAVE_MS)
        self._save_timer.timeout.connect(self.save_note)

    @property
    def card(self) -> CallerCard | None:
        return self._card

    def live_call(self, call: LiveCall) -> None:
        """The relay's live In-Call events: a call ringing for this agent pops up; the
        call shown, answered, says by whom."""
        if self.closed:
            return
        shown = self._card
        if call.answered:
            if shown is not None and shown.call_id == call.call_id:
                self._show(self._pops.answered(shown, call))
            return
        if rings_for_me(call, self._me()) and (shown is None or shown.call_id != call.call_id):
            self._spawn(self._pop(call), CARD_TASK)

    async def _pop(self, call: LiveCall) -> None:
        card = await self._pops.card_for(call, self._me())
        self.save_note()  # one typed for the call shown before, under that caller
        self._show(card)

    @Slot(str)
    def note_edited(self, text: str) -> None:
        if self._card is None or text == self._card.note:
            return
        self._note = text
        self._save_timer.start()

    @Slot()
    def save_note(self) -> None:
        self._save_timer.stop()
        if self._note is not None and self._card is not None and not self.closed:
            self._spawn(self._save(self._card, self._note), NOTE_TASK)

    async def _save(self, card: CallerCard, text: str) -> None:
        self._note = None
        await self._pops.save_note(card.caller_e164, text)
        if self._card is not None and self._card.call_id == card.call_id:
            self._card = replace(self._card, note=text.strip())

    @Slot()
    def open_caller(self) -> None:
        if self._card is not None:
            self.openRequested.emit(self._card)

    @Slot()
    def dismiss(self) -> None:
        self.save_note()
        self._show(None)

    def _show(self, card: CallerCard | None) -> None:
        self._card = card
        self.cardChanged.emit(card)
