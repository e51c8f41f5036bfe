"""What the app shows when no API token is configured: try the demo, or how to connect.

A stop-gap for the full first-run flow (token entry and the OS keyring come later).
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app.ui.shell.main_window import APP_TITLE

HOW_TO_CONNECT: Final = (
    "<p>No API token is set, so there is no account to show yet.</p>"
    "<p><b>To connect your account:</b> in the MyOperator panel open "
    "<i>Manage → API integration</i> and copy the <i>Public API token</i>. Then start the "
    "app with it in the environment:</p>"
    "<pre>  export MYOPERATOR_TOKEN=&lt;your 32-character token&gt;\n"
    "  myoperator-desktop</pre>"
    "<p>Or look around first in the demo workspace: an emulated MyOperator service with "
    "realistic calls. Nothing real is called.</p>"
)


class StartPanel(QWidget):
    """A small window: "Open the demo workspace", or how to set the token."""

    demoRequested = Signal()
    closeRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startPanel")
        self.setAccessibleName("Welcome")
        self.setWindowTitle(APP_TITLE)
        self._closing_allowed = False

        title = QLabel(APP_TITLE, self)
        title.setObjectName("startTitle")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)

        text = QLabel(HOW_TO_CONNECT, self)
        text.setObjectName("startHowTo")
        text.setAccessibleName("How to connect an account")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.demo_button = QPushButton("Open the &demo workspace", self)
        self.demo_button.setObjectName("startOpenDemo")
        self.demo_button.setAccessibleName("Open the demo workspace")
        self.demo_button.setDefault(True)
        self.demo_button.clicked.connect(self.demoRequested)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.setSpacing(12)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addStretch(1)
        self.resize(560, 380)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing_allowed:
            event.accept()
            return
        event.ignore()
        self.closeRequested.emit()

    def close_now(self) -> None:
        self._closing_allowed = True
        self.close()
