"""Notifications inside the window: where there is no system tray (many Linux desktops,
offscreen, Xvfb), and where a clicked tray message brings the agent back to act on it.

A queue of one-line cards, each with the actions a notification offers: Call back, Open,
Mark handled (a summary offers the callback list), and a notice line above them for things
said once ("The system tray is unavailable; notifications appear here") or a problem with
a retry. It renders and forwards; `TrayController` decides what goes here.

Calm by construction, because an agent may be aiming at a button when a call comes in:

- **Nothing moves under the pointer.** Cards queue in arrival order and a new one is only
  ever added at the end: collapsed, the first card stays where it is and "+2 more" counts
  the rest; expanded, the new card appears below the others. The "+N more" and "Dismiss
  all" controls keep their place (and their width) even while hidden, so the first card
  is as wide with one card as with ten.
- **The feed keeps its room.** The strip is one card high however many wait; expanding
  drops the others down over the window (never into its layout) in a list that scrolls
  beyond `MAX_EXPANDED_ROWS` cards.
- **Dismiss all** clears the queue in one click.
"""

from __future__ import annotations

from collections.abc import Collection

from PySide6.QtCore import QEvent, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.notifier import MissedCallNotice, MissedCallsSummary, Notification
from desktop_app.ui.common.theme import LIGHT_COLORS, ThemeColors

TRAY_UNAVAILABLE_TEXT = "The system tray is unavailable; notifications appear here."
#: Cards kept waiting; beyond it the oldest waiting one (never the one shown) is dropped.
#: The callback list still holds every missed call.
DEFAULT_MAX_CARDS = 20
#: Cards the expanded list shows before it scrolls.
MAX_EXPANDED_ROWS = 6
CARD_SPACING = 4
FRAME_PADDING = 4


class NotificationCard(QFrame):
    """One notification with its actions, on one line (every card is as high as another,
    so the strip's height is known from its number of rows)."""

    def __init__(self, note: Notification, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = note
        self.setObjectName("notificationCard")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAccessibleName(note.title)
        self.setAccessibleDescription(note.message)
        self.setToolTip(f"{note.title}\n{note.message}")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 3, 4, 3)
        layout.setSpacing(8)
        self.title_label = QLabel(note.title)
        self.title_label.setObjectName("notificationTitle")
        font = self.title_label.font()
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label = QLabel(note.message)
        self.message_label.setObjectName("notificationMessage")
        # Clipped rather than wrapped or widening the window: the tooltip has it all.
        self.message_label.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        layout.addWidget(self.title_label)
        layout.addWidget(self.message_label, 1)
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
        layout.addWidget(self.dismiss_button, 0, Qt.AlignmentFlag.AlignVCenter)

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


class _WaitingList(QFrame):
    """The cards behind the first, dropped down over the window under it (so expanding
    never squeezes the feed), oldest first; a new card joins at the bottom and the list
    scrolls beyond `MAX_EXPANDED_ROWS`. Its scroll bar is always there, so a card joining
    never narrows the others."""

    escapePressed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notificationWaiting")
        self.setAccessibleName("More notifications")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(FRAME_PADDING, FRAME_PADDING, FRAME_PADDING, FRAME_PADDING)
        self.area = QScrollArea(self)
        self.area.setObjectName("notificationWaitingScroll")
        self.area.setFrameShape(QFrame.Shape.NoFrame)
        self.area.setWidgetResizable(True)
        self.area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        content = QWidget()
        content.setObjectName("notificationWaitingContent")
        self.rows = QVBoxLayout(content)
        self.rows.setContentsMargins(0, 0, 0, 0)
        self.rows.setSpacing(CARD_SPACING)
        self.rows.addStretch(1)
        self.area.setWidget(content)
        outer.addWidget(self.area)
        self.hide()

    def cards(self) -> list[NotificationCard]:
        items = (self.rows.itemAt(i) for i in range(self.rows.count()))
        widgets = (item.widget() for item in items if item is not None)
        return [w for w in widgets if isinstance(w, NotificationCard)]

    def append(self, card: NotificationCard) -> None:
        self.rows.insertWidget(self.rows.count() - 1, card)  # before the stretch
        card.show()

    def take_first(self) -> NotificationCard | None:
        cards = self.cards()
        if cards:
            self.rows.removeWidget(cards[0])
            return cards[0]
        return None

    def place(self, under: QWidget, row_height: int) -> None:
        """Drop down under `under` (the first card's slot), as wide as it plus the scroll
        bar, as high as the rows it shows."""
        host = under.window()
        if self.parentWidget() is not host:
            self.setParent(host)
        rows = min(len(self.cards()), MAX_EXPANDED_ROWS)
        height = rows * row_height + max(0, rows - 1) * CARD_SPACING + 2 * (FRAME_PADDING + 1)
        width = under.width() + self.area.verticalScrollBar().sizeHint().width()
        width += 2 * (FRAME_PADDING + 1)
        top_left = under.mapTo(host, QPoint(-FRAME_PADDING - 1, under.height() + CARD_SPACING))
        self.setGeometry(top_left.x(), top_left.y(), width, height)
        self.show()
        self.raise_()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escapePressed.emit()
            return
        super().keyPressEvent(event)


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

        self.queue = QWidget(self)
        self.queue.setObjectName("notificationQueue")
        self._row = row = QHBoxLayout(self.queue)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        self.first_slot = QWidget(self.queue)
        self.first_slot.setObjectName("notificationFirst")
        self._first_layout = QVBoxLayout(self.first_slot)
        self._first_layout.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.first_slot, 1)
        self.waiting = _WaitingList(self)
        self.controls = QWidget(self.queue)
        self.controls.setObjectName("notificationControls")
        controls_layout = QHBoxLayout(self.controls)
        controls_layout.setContentsMargins(0, 3, 0, 0)  # level with a card's buttons
        controls_layout.setSpacing(4)
        self.more_button = QPushButton()
        self.more_button.setObjectName("notificationMore")
        self.more_button.setCheckable(True)
        self.more_button.setText(_more_text(99, expanded=False))
        self.more_button.setFixedWidth(
            max(self.more_button.sizeHint().width(), _text_width(self.more_button, True))
        )
        self.dismiss_all_button = QPushButton("Dismiss all")
        self.dismiss_all_button.setObjectName("notificationDismissAll")
        self.dismiss_all_button.setAccessibleName("Dismiss all notifications")
        self.dismiss_all_button.setToolTip("Dismiss every notification")
        controls_layout.addWidget(self.more_button)
        controls_layout.addWidget(self.dismiss_all_button)
        policy = self.controls.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the first card keeps its width
        self.controls.setSizePolicy(policy)
        row.addWidget(self.controls, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.queue)

        self.retry_button.clicked.connect(self.retryRequested)
        self.notice_ok.clicked.connect(self._dismiss_notice)
        self.more_button.toggled.connect(lambda _on: self._arrange())
        self.dismiss_all_button.clicked.connect(self.clear)
        self.waiting.escapePressed.connect(self._collapse)
        self.apply_theme(LIGHT_COLORS)
        self._arrange()
        self._update_visibility()

    # -- cards ----------------------------------------------------------------------------

    @property
    def cards(self) -> list[NotificationCard]:
        """In arrival order; the first is the one shown while collapsed."""
        return list(self._cards)

    @property
    def expanded(self) -> bool:
        return self.more_button.isChecked()

    @Slot(bool)
    def set_expanded(self, expanded: bool) -> None:
        self.more_button.setChecked(expanded and len(self._cards) > 1)

    @Slot(object)
    def show_notification(self, note: Notification) -> NotificationCard:
        """Queue a card at the end; a card for the same call (or the summary) is replaced
        where it stands."""
        card = NotificationCard(note)
        self._wire(card)
        old = next((c for c in self._cards if _same(c.note, note)), None)
        if old is not None:
            index = self._cards.index(old)
            self._cards[index] = card
            layout = self._first_layout if index == 0 else self.waiting.rows
            layout.replaceWidget(old, card)
            old.hide()
            old.deleteLater()
            card.show()
        else:
            self._cards.append(card)
            if len(self._cards) == 1:
                self._first_layout.addWidget(card)
            else:
                self.waiting.append(card)
            if len(self._cards) > self._max_cards:
                self._remove(self._cards[1])  # the oldest waiting, never the one shown
        self._arrange()
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
        if card not in self._cards:
            return
        first = card is self._cards[0]
        self._cards.remove(card)
        card.hide()
        card.deleteLater()
        if first:
            self._first_layout.removeWidget(card)
            following = self.waiting.take_first()  # the next in line steps up
            if following is not None:
                self._first_layout.addWidget(following)
        else:
            self.waiting.rows.removeWidget(card)
        self._arrange()
        self._update_visibility()

    def _collapse(self) -> None:
        self.more_button.setChecked(False)
        self.more_button.setFocus()

    def _arrange(self) -> None:
        """What the controls say about the cards behind the first, and whether they show."""
        waiting = len(self._cards) - 1
        if waiting < 1 and self.more_button.isChecked():
            self.more_button.setChecked(False)  # toggled: comes back here
            return
        expanded = self.more_button.isChecked()
        self.more_button.setText(_more_text(waiting, expanded=expanded))
        self.more_button.setAccessibleName(
            "Show fewer notifications" if expanded else f"Show {waiting} more notifications"
        )
        self.more_button.setToolTip(self.more_button.accessibleName())
        self.controls.setVisible(waiting > 0)
        self.queue.setVisible(bool(self._cards))
        self._place_waiting()

    def _place_waiting(self) -> None:
        if not (self.more_button.isChecked() and self.isVisible() and len(self._cards) > 1):
            self.waiting.hide()
            return
        self._row.activate()  # the slot's geometry before the list is put under it
        self.waiting.place(self.first_slot, self._cards[0].sizeHint().height())

    def event(self, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Move, QEvent.Type.Resize, QEvent.Type.Show,
                            QEvent.Type.Hide):
            self._place_waiting()
        return super().event(event)

    @Slot()
    def clear(self) -> None:
        """Dismiss every card (the notice stays: it has its own OK)."""
        for card in reversed(list(self._cards)):  # the shown card last: nothing steps into view
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
        sheet = (
            f"#notificationCard, #notificationNotice {{ background: {bg}; color: {fg};"
            f" border: 1px solid {border}; border-radius: 4px; }}"
            f" #notificationCard QLabel, #notificationNotice QLabel {{ color: {fg};"
            " background: transparent; border: none; }"
        )
        for widget in (self, self.waiting):  # the list drops down outside the banner
            widget.setStyleSheet("")
            widget.setStyleSheet(sheet)

    @property
    def has_content(self) -> bool:
        return bool(self._cards) or self.notice.isVisibleTo(self)

    def _update_visibility(self) -> None:
        # Never pop up as a window of its own before it is placed in one.
        if self.parentWidget() is not None or not self.has_content:
            self.setVisible(self.has_content)


def _more_text(waiting: int, *, expanded: bool) -> str:
    return "Show less ▴" if expanded else f"+{waiting} more ▾"


def _text_width(button: QPushButton, expanded: bool) -> int:
    """The width `button` needs for its other text, so switching never resizes it."""
    text = button.text()
    button.setText(_more_text(99, expanded=expanded))
    width = button.sizeHint().width()
    button.setText(text)
    return width


def _same(a: Notification, b: Notification) -> bool:
    if isinstance(a, MissedCallNotice) and isinstance(b, MissedCallNotice):
        return a.call_id == b.call_id
    return isinstance(a, MissedCallsSummary) and isinstance(b, MissedCallsSummary)
