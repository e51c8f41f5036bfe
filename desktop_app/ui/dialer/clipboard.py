"""'Dial number from clipboard' (Ctrl+Shift+D): prefill the dialer from copied text.

Copied text is anything (an e-mail, a CRM page, a chat line): it must hold exactly one
phone number (`number_from_text`), which goes into the dialer ready for one click on
Call. Nothing is dialled from here.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QClipboard, QGuiApplication, QKeySequence

from desktop_app.services.phone_input import PhoneInputError, number_from_text
from desktop_app.ui.dialer.panel import DialerPanel

SHORTCUT: Final = "Ctrl+Shift+D"


def prefill_from_text(panel: DialerPanel, text: str) -> bool:
    """Put the one number in `text` into the panel; else show why not. Never dials."""
    try:
        parsed = number_from_text(text, panel.country_code())
    except PhoneInputError as exc:
        panel.show_rejected(exc.message)
        return False
    return panel.prefill(parsed.e164)


class ClipboardDialer(QObject):
    """Owns the "Dial Number from Clipboard" action (`action`, Ctrl+Shift+D).

    Add `action` to the window (and a menu); connect `prefilled` to show the dialer dock.
    """

    prefilled = Signal(str)
    """The E.164 number now in the dialer."""
    rejected = Signal(str)
    """Why the clipboard held no single dialable number."""

    def __init__(
        self,
        panel: DialerPanel,
        parent: QObject | None = None,
        *,
        clipboard: QClipboard | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("clipboardDialer")
        self._panel = panel
        self._clipboard = clipboard
        self.action = QAction("Dial Number from Clipboard", self)
        self.action.setObjectName("actionDialFromClipboard")
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.action.setToolTip("Put the phone number you copied into the dialer")
        self.action.triggered.connect(self.dial_from_clipboard)

    @Slot()
    def dial_from_clipboard(self) -> bool:
        clipboard = self._clipboard or QGuiApplication.clipboard()
        text = clipboard.text(QClipboard.Mode.Clipboard)
        if prefill_from_text(self._panel, text):
            parsed = self._panel.parsed_number()
            self.prefilled.emit(parsed.e164 if parsed is not None else "")
            return True
        self.rejected.emit(self._panel.status_label.text())
        return False
