"""The screen-pop window: a small card that stays on top, in the screen's corner, shown
without taking the keyboard from what the agent is typing elsewhere."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.screen_pop import CallerCard

NOTE_PLACEHOLDER = "Notes about this caller: kept for their next call"


class ScreenPopPanel(QFrame):
    noteEdited = Signal(str)
    openClicked = Signal()
    dismissClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
        self.setObjectName("screenPop")
        self.setAccessibleName("Incoming call")
        self.setWindowTitle("Incoming call")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(340)

        self.state = self._label("screenPopState")
        self.caller = self._label("screenPopCaller")
        font = QFont(self.caller.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.caller.setFont(font)
        self.caller.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.ringing = self._label("screenPopRinging")
        self.history = self._label("screenPopHistory")
        self.last_outcome = self._label("screenPopLastOutcome")
        self.last_outcome.setWordWrap(True)
        self.note = QPlainTextEdit(self)
        self.note.setObjectName("screenPopNote")
        self.note.setAccessibleName("Notes about this caller")
        self.note.setPlaceholderText(NOTE_PLACEHOLDER)
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(self.note.fontMetrics().lineSpacing() * 4 + 12)
        self.note.textChanged.connect(lambda: self.noteEdited.emit(self.note.toPlainText()))
        self.open_button = QPushButton("&Open", self)
        self.open_button.setObjectName("screenPopOpen")
        self.open_button.setToolTip("Show this caller's earlier calls in the feed")
        self.open_button.clicked.connect(self.openClicked)
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.setObjectName("screenPopDismiss")
        self.dismiss_button.setToolTip("Close this card (Esc); the note is kept")
        self.dismiss_button.clicked.connect(self.dismissClicked)
        self.dismiss_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self.dismiss_shortcut.activated.connect(self.dismissClicked)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.dismiss_button)
        layout = QVBoxLayout(self)
        for widget in (self.state, self.caller, self.ringing, self.history, self.last_outcome):
            layout.addWidget(widget)
        layout.addWidget(self.note)
        layout.addLayout(buttons)

    def _label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        return label

    def show_card(self, card: CallerCard | None) -> None:
        """Show `card` (None: hide); the note is replaced only for another call, never
        under the agent's typing."""
        if card is None:
            self.hide()
            return
        new_call = self.property("callId") != card.call_id
        self.setProperty("callId", card.call_id)
        self.state.setText(
            f"Answered by {card.answered_by}" if card.answered else "Incoming call"
        )
        self.caller.setText(card.caller)
        self.ringing.setText(card.ringing)
        self.ringing.setVisible(not card.answered)
        self.history.setText(card.history)
        self.last_outcome.setText(card.last_outcome)
        self.last_outcome.setVisible(bool(card.last_outcome))
        self.note.setEnabled(bool(card.caller_e164))
        if new_call:
            self.note.blockSignals(True)
            self.note.setPlainText(card.note)
            self.note.blockSignals(False)
        self.open_button.setEnabled(bool(card.caller_e164))
        if not self.isVisible():
            self.adjustSize()
            self._to_corner()
            self.show()

    def _to_corner(self) -> None:
        area = self.screen().availableGeometry()
        margin = 16
        self.move(
            area.right() - self.width() - margin, area.bottom() - self.height() - margin
        )
