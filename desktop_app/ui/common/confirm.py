"""A question asked inside a panel or a dialog: a title, what follows, yes and no.

Never a nested event loop (``QMessageBox.exec``), and never modal over the whole window:
the question shows in place, the rest of the window keeps working, and the answer leaves
as one signal. Escape answers no.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class ConfirmBar(QFrame):
    """Hidden until `ask`; `answered(True)` for yes, `answered(False)` for no (or Esc)."""

    answered = Signal(bool)

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title_label = QLabel(self)
        self.title_label.setObjectName(f"{object_name}Title")
        bold = QFont(self.title_label.font())
        bold.setBold(True)
        self.title_label.setFont(bold)
        self.title_label.setWordWrap(True)
        self.text_label = QLabel(self)
        self.text_label.setObjectName(f"{object_name}Text")
        self.text_label.setWordWrap(True)
        self.yes_button = QPushButton(self)
        self.yes_button.setObjectName(f"{object_name}Yes")
        self.yes_button.setAutoDefault(True)
        self.no_button = QPushButton("Cancel", self)
        self.no_button.setObjectName(f"{object_name}No")
        self.no_button.setAccessibleName("Cancel: change nothing")
        self.no_button.setAutoDefault(True)
        self.yes_button.clicked.connect(lambda: self._answer(True))
        self.no_button.clicked.connect(lambda: self._answer(False))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.no_button)
        buttons.addWidget(self.yes_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.title_label)
        layout.addWidget(self.text_label)
        layout.addLayout(buttons)
        self.hide()

    @property
    def asking(self) -> bool:
        return not self.isHidden()

    def ask(self, title: str, text: str, yes_label: str) -> None:
        """Show the question and put the focus on its yes button."""
        self.title_label.setText(title)
        self.text_label.setText(text)
        self.yes_button.setText(yes_label)
        self.yes_button.setAccessibleName(yes_label)
        self.setAccessibleName(title)
        self.show()
        self.yes_button.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot()
    def dismiss(self) -> None:
        """Hide the question without answering it."""
        self.hide()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc inside the question answers no (before a dialog around it would close)."""
        if event.key() == Qt.Key.Key_Escape and self.asking:
            event.accept()
            self._answer(False)
            return
        super().keyPressEvent(event)

    def _answer(self, yes: bool) -> None:
        if self.isHidden():
            return
        self.hide()
        self.answered.emit(yes)
