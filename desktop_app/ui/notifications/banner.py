"""Notifications inside the window: where there is no system tray (many Linux desktops,
offscreen, Xvfb), and where a clicked tray message brings the agent back to act on it.

A strip of cards, newest on top, each with the actions a notification offers: Call back,
Open, Mark handled (a summary offers the callback list), and a notice line for things
said once ("The system tray is unavailable; notifications appear here") or a problem
with a retry. It renders and forwards; `TrayController` decides what goes here.
"""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.notifier import MissedCallNotice, MissedCallsSummary, Notification
from desktop_app.ui.common.theme import LIGHT_COLORS, ThemeColors

TRAY_UNAVAILABLE_TEXT = "The system tray is unavailable; notifications appear here."
DEFAULT_MAX_CARDS = 3


class NotificationCard(QFrame):
    """One notification with its actions."""

    def __init__(self, note: Notification, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = note
        self.setObjectName("notificationCard")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName(note.title)
        self.setAccessibleDescription(note.message)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.setSpacing(8)
        texts = QVBoxLayout()
        texts.setSpacing(1)
        self.title_label = QLabel(note.title)
        self.title_label.setObjectName("notificationTitle")
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label = QLabel(note.message)
        self.message_label.setObjectName("notificationMessage")
        self.message_label.setWordWrap(True)
        texts.addWidget(self.title_label)
        texts.addWidget(self.message_label)
        layout.addLayout(texts, 1)
        self.buttons: dict[str, QPushButton] = {}
        if isinstance(note, MissedCallNotice):
            self._button("callBack", "Call back", f"Call {note.caller} back", default=True)
            self._button("open", "Open", "Open this call in the log")
            self._button("markHandled", "Mark handled", "Remove this number from the list")
        else:
            self._button("openList", "Open callback list", "Show the callback list",
                         default=True)
        for button in self.buttons.values():
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.dismiss_button = QToolButton()
        self.dismiss_button.setObjectName("notificationDismiss")
        self.dismiss_button.setText("✕")
        self.dismiss_button.setToolTip("Dismiss")
        self.dismiss_button.setAccessibleName("Dismiss notification")
        self.dismiss_button.setAutoRaise(True)
        layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignTop)

    def _button(self, name: str, text: str, accessible: str, *, default: bool = False) -> None:
        button = QPushButton(text)
        button.setObjectName(f"notification_{name}")
        button.setAccessibleName(accessible)
        button.setToolTip(accessible)
        button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        if default:
            font = button.font()
            font.setBold(True)
            button.setFont(font)
        self.buttons[name] = button

    @property
    def number(self) -> str | None:
        return self.note.caller_e164 if isinstance(self.note, MissedCallNotice) else None


class NotificationBanner(QWidget):
    """The in-window notification strip; hidden while it has nothing to say."""

    callBackRequested = Signal(str)
    """E.164 number to ring back (through the dialer and its guard)."""
    openCallRequested = Signal(str)
    """A call id to show in the log."""
    markHandledRequested = Signal(str)
    """E.164 number whose worklist row the agent has dealt with."""
    openWorklistRequested = Signal()
    retryRequested = Signal()
    """The agent pressed Retry on the notice (e.g. switching calls back on failed)."""
    noticeDismissed = Signal()

    def __init__(
        self, parent: QWidget | None = None, *, max_cards: int = DEFAULT_MAX_CARDS
    ) -> None:
        super().__init__(parent)
        self.setObjectName("notificationBanner")
        self.setAccessibleName("Notifications")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._max_cards = max(1, max_cards)
        self._cards: list[NotificationCard] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(4)

        self.notice = QFrame()
        self.notice.setObjectName("notificationNotice")
        notice_layout = QHBoxLayout(self.notice)
        notice_layout.setContentsMargins(10, 4, 6, 4)
        self.notice_label = QLabel()
        self.notice_label.setObjectName("notificationNoticeText")
        self.notice_label.setWordWrap(True)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("notificationRetry")
        self.retry_button.setAccessibleName("Retry")
        self.notice_ok = QPushButton("OK")
        self.notice_ok.setObjectName("notificationNoticeOk")
        self.notice_ok.setAccessibleName("Dismiss notice")
        notice_layout.addWidget(self.notice_label, 1)
        notice_layout.addWidget(self.retry_button)
        notice_layout.addWidget(self.notice_ok)
        self.notice.hide()
        layout.addWidget(self.notice)
        self._cards_layout = QVBoxLayout()
        self._cards_layout.setSpacing(4)
        layout.addLayout(self._cards_layout)

        self.retry_button.clicked.connect(self.retryRequested)
        self.notice_ok.clicked.connect(self._dismiss_notice)
        self.apply_theme(LIGHT_COLORS)
        self._update_visibility()

    # -- cards ----------------------------------------------------------------------------

    @property
    def cards(self) -> list[NotificationCard]:
        """Newest first."""
        return list(self._cards)

    @Slot(object)
    def show_notification(self, note: Notification) -> NotificationCard:
        """Add a card on top (a card for the same call or summary is replaced)."""
        for card in self._cards:
            if _same(card.note, note):
                self._remove(card)
                break
        card = NotificationCard(note, self)
        self._wire(card)
        self._cards.insert(0, card)
        self._cards_layout.insertWidget(0, card)
        while len(self._cards) > self._max_cards:
            self._remove(self._cards[-1])
        self._update_visibility()
        return card

    def _wire(self, card: NotificationCard) -> None:
        note = card.note
        if isinstance(note, MissedCallNotice):
            number, call_id = note.caller_e164, note.call_id

            def call_back() -> None:
                self._remove(card)
                self.callBackRequested.emit(number)

            def mark_handled() -> None:
                self._remove(card)
                self.markHandledRequested.emit(number)

            card.buttons["callBack"].clicked.connect(call_back)
            card.buttons["open"].clicked.connect(lambda: self.openCallRequested.emit(call_id))
            card.buttons["markHandled"].clicked.connect(mark_handled)
        else:

            def open_list() -> None:
                self._remove(card)
                self.openWorklistRequested.emit()

            card.buttons["openList"].clicked.connect(open_list)
        card.dismiss_button.clicked.connect(lambda: self._remove(card))

    def _remove(self, card: NotificationCard) -> None:
        if card in self._cards:
            self._cards.remove(card)
            self._cards_layout.removeWidget(card)
            card.hide()
            card.deleteLater()
            self._update_visibility()

    @Slot()
    def clear(self) -> None:
        for card in list(self._cards):
            self._remove(card)

    def keep_numbers(self, open_numbers: Collection[str]) -> None:
        """Drop cards of numbers no longer on the callback list (called back, handled)."""
        for card in list(self._cards):
            if card.number is not None and card.number not in open_numbers:
                self._remove(card)

    # -- the notice -----------------------------------------------------------------------

    @property
    def notice_text(self) -> str:
        return self.notice_label.text() if self.notice.isVisibleTo(self) else ""

    @Slot(str)
    def set_notice(self, text: str, *, retry: bool = False) -> None:
        """Say something once (with a Retry button when `retry`); empty text hides it."""
        self.notice_label.setText(text)
        self.notice_label.setAccessibleName(text)
        self.retry_button.setVisible(retry)
        self.notice.setVisible(bool(text))
        self._update_visibility()

    def _dismiss_notice(self) -> None:
        self.set_notice("")
        self.noticeDismissed.emit()

    # -- looks ----------------------------------------------------------------------------

    def apply_theme(self, colors: ThemeColors) -> None:
        bg, fg = colors.banner_bg.name(), colors.banner_fg.name()
        border = colors.chip_border.name()
        # Qt 6.12 keeps the first sheet of a not-yet-shown widget when a second one with
        # the same selectors follows; clearing in between makes the new one stick.
        self.setStyleSheet("")
        self.setStyleSheet(
            f"#notificationCard, #notificationNotice {{ background: {bg}; color: {fg};"
            f" border: 1px solid {border}; border-radius: 4px; }}"
            f" #notificationCard QLabel, #notificationNotice QLabel {{ color: {fg};"
            " background: transparent; border: none; }"
        )

    @property
    def has_content(self) -> bool:
        return bool(self._cards) or self.notice.isVisibleTo(self)

    def _update_visibility(self) -> None:
        # Never pop up as a window of its own before it is placed in one.
        if self.parentWidget() is not None or not self.has_content:
            self.setVisible(self.has_content)


def _same(a: Notification, b: Notification) -> bool:
    if isinstance(a, MissedCallNotice) and isinstance(b, MissedCallNotice):
        return a.call_id == b.call_id
    return isinstance(a, MissedCallsSummary) and isinstance(b, MissedCallsSummary)
