"""The dialer: a panel to type, paste or prefill a number and place one click-to-call.

`DialerPanel` only renders and forwards (number field with the parsed number shown live,
country, keypad, agent, recent numbers, Call, an in-panel confirmation and a status line);
`DialerPresenter` owns the tasks: it runs every dial through the `DialGuard`, follows a
placed call until its log shows the outcome, and checks the call log after an unclear one,
also for unclear dials an earlier run (or another instance) left behind (`start`).
`bind_dialer` connects the two. Nothing here ever dials without the Call button (or Enter
in the number field, or the confirmation's "Call again"): prefilling never calls.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from functools import partial
from typing import Any, Final

import phonenumbers
from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api.models import CallLog, User
from desktop_app.api.validation import DEFAULT_COUNTRY_CODE
from desktop_app.services.clock import Sleep
from desktop_app.services.dialer import (
    CheckKind,
    DialAttempt,
    DialerSettings,
    DialGuard,
    DialKind,
    UnknownCheck,
    outcome_text,
)
from desktop_app.services.phone_input import ParsedNumber, PhoneInputError, parse_dialable
from desktop_app.services.tasks import TaskFailure
from desktop_app.ui.presenters import _TaskOwner
from desktop_app.ui.theme import LIGHT_COLORS, ThemeColors

#: Pauses before each automatic look in the call log after an unclear dial: reads only,
#: about seven requests over five minutes, then the person can press "Check again".
CHECK_DELAYS_S: Final = (10.0, 10.0, 20.0, 30.0, 30.0, 60.0, 120.0)
_KEYPAD: Final = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "0", "⌫")
_ROLE_E164: Final = int(Qt.ItemDataRole.UserRole)

# Status kinds (the `kind` of `show_status`), also set as the label's "kind" property.
KIND_IDLE: Final = "idle"
KIND_INFO: Final = "info"
KIND_IN_FLIGHT: Final = "in_flight"
KIND_PLACED: Final = "placed"
KIND_UNKNOWN: Final = "unknown"
KIND_CHECKING: Final = "checking"
KIND_OUTCOME: Final = "outcome"
KIND_ERROR: Final = "error"


def country_choices() -> list[tuple[str, str, str]]:
    """(label, dialling code, region) for every region phonenumbers knows, by name."""
    choices: list[tuple[str, str, str]] = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        cc = str(phonenumbers.country_code_for_region(region))
        name = QLocale.territoryToString(QLocale.codeToTerritory(region)) or region
        choices.append((f"{name} (+{cc})", cc, region))
    choices.sort(key=lambda item: item[0].casefold())
    return choices


def agents_from_users(users: Sequence[User]) -> list[tuple[str, str]]:
    """(uuid, name) of the users a call can be placed through (disabled ones cannot),
    for `DialerPanel.set_agents`."""
    return [
        (user.uuid, user.name or user.email or user.uuid)
        for user in users
        if user.uuid and user.is_enabled is not False
    ]


class RecentNumbersModel(QAbstractListModel):
    """Recently dialled numbers (E.164), shown formatted; `_ROLE_E164` gives the number."""

    def __init__(self, parent: QObject | None = None, *, home_cc: str = DEFAULT_COUNTRY_CODE):
        super().__init__(parent)
        self._numbers: list[str] = []
        self._home_cc = home_cc

    def set_numbers(self, numbers: Sequence[str]) -> None:
        self.beginResetModel()
        self._numbers = list(numbers)
        self.endResetModel()

    def numbers(self) -> list[str]:
        return list(self._numbers)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._numbers)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._numbers):
            return None
        e164 = self._numbers[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return _formatted(e164, self._home_cc)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{e164}: click to put it in the number field"
        if role == _ROLE_E164:
            return e164
        return None


def _formatted(e164: str, home_cc: str) -> str:
    try:
        return parse_dialable(e164).formatted(home_cc)
    except PhoneInputError:
        return e164


# ---------------------------------------------------------------------------------------
# The panel


class DialerPanel(QWidget):
    """The dialer's widgets; embeddable in a dock as ``DialerPanel()``.

    Feed it `set_agents([(uuid, name), …])`; connect it with `bind_dialer`. `prefill`
    is the entry for Call back, ``tel:`` links and the clipboard.
    """

    callRequested = Signal(str, str, str)
    """The number as typed, the country's dialling code, the agent's uuid."""
    confirmAccepted = Signal()
    confirmRejected = Signal()
    rememberMeRequested = Signal(str)
    """The agent uuid to remember as "me"."""
    checkRequested = Signal()
    """"Check again": look in the call log for an unclear call now."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dialerPanel")
        self.setAccessibleName("Dialer")
        self._busy = False
        self._me: str | None = None
        self._agents: list[tuple[str, str]] = []
        self._parsed: ParsedNumber | None = None
        self._colors = LIGHT_COLORS

        self.country_combo = QComboBox()
        self.country_combo.setObjectName("dialerCountry")
        self.country_combo.setAccessibleName("Country")
        self.country_combo.setToolTip("Country of numbers written without +country code")
        for label, cc, region in country_choices():
            self.country_combo.addItem(label, (cc, region))
        self.country_combo.setMaxVisibleItems(20)
        self.country_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.country_combo.setMinimumContentsLength(10)
        self.country_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

        self.number_edit = QLineEdit()
        self.number_edit.setObjectName("dialerNumber")
        self.number_edit.setAccessibleName("Number to call")
        self.number_edit.setPlaceholderText("Number, e.g. 98123 45678")
        self.number_edit.setClearButtonEnabled(True)
        self.number_edit.setMaxLength(200)
        font = self.number_edit.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.number_edit.setFont(font)
        self.number_edit.installEventFilter(self)

        self.parsed_label = QLabel()
        self.parsed_label.setObjectName("dialerParsed")
        self.parsed_label.setWordWrap(True)
        self.parsed_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        keypad = QGridLayout()
        keypad.setSpacing(4)
        self.keypad_buttons: dict[str, QPushButton] = {}
        for i, key in enumerate(_KEYPAD):
            button = QPushButton(key)
            name = {"+": "plus", "⌫": "backspace"}.get(key, key)
            button.setObjectName(f"dialerKey_{name}")
            button.setAccessibleName("Delete last digit" if key == "⌫" else f"Key {key}")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the number field keeps focus
            button.setMinimumSize(36, 34)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setAutoRepeat(key == "⌫")
            button.clicked.connect(lambda _=False, k=key: self.press_key(k))
            keypad.addWidget(button, i // 3, i % 3)
            self.keypad_buttons[key] = button

        self.agent_combo = QComboBox()
        self.agent_combo.setObjectName("dialerAgent")
        self.agent_combo.setAccessibleName("Agent who takes the call")
        self.agent_combo.setPlaceholderText("Choose an agent")
        self.agent_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.agent_combo.setMinimumContentsLength(8)
        self.agent_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.remember_button = QPushButton("Remember as me")
        self.remember_button.setObjectName("dialerRememberMe")
        self.remember_button.setToolTip("Pre-select this agent every time: your own phone rings")
        self.remember_button.clicked.connect(self._on_remember)

        self.call_button = QPushButton("Call")
        self.call_button.setObjectName("dialerCall")
        self.call_button.setAccessibleName("Place the call")
        self.call_button.setToolTip("Ring the agent's phone, then the customer (Enter)")
        self.call_button.setMinimumHeight(38)
        self.call_button.setAutoDefault(False)
        call_font = self.call_button.font()
        call_font.setBold(True)
        self.call_button.setFont(call_font)
        self.call_button.clicked.connect(self._on_call)

        self.confirm_frame = QFrame()
        self.confirm_frame.setObjectName("dialerConfirm")
        self.confirm_frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.confirm_label = QLabel()
        self.confirm_label.setObjectName("dialerConfirmText")
        self.confirm_label.setWordWrap(True)
        self.confirm_yes = QPushButton("Call again")
        self.confirm_yes.setObjectName("dialerConfirmYes")
        self.confirm_yes.setAutoDefault(False)
        self.confirm_no = QPushButton("Cancel")
        self.confirm_no.setObjectName("dialerConfirmNo")
        self.confirm_no.setAutoDefault(False)
        self.confirm_yes.clicked.connect(self._on_confirm_yes)
        self.confirm_no.clicked.connect(self._on_confirm_no)
        confirm_buttons = QHBoxLayout()
        confirm_buttons.addStretch(1)
        confirm_buttons.addWidget(self.confirm_no)
        confirm_buttons.addWidget(self.confirm_yes)
        confirm_layout = QVBoxLayout(self.confirm_frame)
        confirm_layout.setContentsMargins(8, 6, 8, 6)
        confirm_layout.addWidget(self.confirm_label)
        confirm_layout.addLayout(confirm_buttons)
        self.confirm_frame.hide()

        self.status_label = QLabel()
        self.status_label.setObjectName("dialerStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Call status")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label.setProperty("kind", KIND_IDLE)
        self.check_button = QPushButton("Check again")
        self.check_button.setObjectName("dialerCheckAgain")
        self.check_button.setToolTip("Look in the call log for the unclear call now")
        self.check_button.setAutoDefault(False)
        self.check_button.clicked.connect(self.checkRequested)
        self.check_button.hide()

        self.recent_model = RecentNumbersModel(self)
        self.recent_view = QListView()
        self.recent_view.setObjectName("dialerRecent")
        self.recent_view.setAccessibleName("Recent numbers")
        self.recent_view.setModel(self.recent_model)
        self.recent_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.recent_view.setUniformItemSizes(True)
        self.recent_view.clicked.connect(self._on_recent)
        self.recent_view.activated.connect(self._on_recent)

        country_row = QHBoxLayout()
        country_caption = QLabel("Country")
        country_caption.setObjectName("dialerCountryCaption")
        country_caption.setBuddy(self.country_combo)
        country_row.addWidget(country_caption)
        country_row.addWidget(self.country_combo, 1)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.check_button, 0, Qt.AlignmentFlag.AlignTop)
        agent_caption = QLabel("Agent who takes the call")
        agent_caption.setObjectName("dialerAgentCaption")
        agent_caption.setBuddy(self.agent_combo)
        recent_caption = QLabel("Recent numbers")
        recent_caption.setObjectName("dialerRecentCaption")
        recent_caption.setBuddy(self.recent_view)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(country_row)
        layout.addWidget(self.number_edit)
        layout.addWidget(self.parsed_label)
        layout.addLayout(keypad)
        layout.addSpacing(4)
        agent_row = QHBoxLayout()
        agent_row.addWidget(agent_caption, 1)
        agent_row.addWidget(self.remember_button)
        layout.addLayout(agent_row)
        layout.addWidget(self.agent_combo)
        layout.addSpacing(4)
        layout.addWidget(self.call_button)
        layout.addWidget(self.confirm_frame)
        layout.addLayout(status_row)
        layout.addSpacing(4)
        layout.addWidget(recent_caption)
        layout.addWidget(self.recent_view, 1)

        self.number_edit.textChanged.connect(self._refresh)
        self.country_combo.currentIndexChanged.connect(self._refresh)
        self.agent_combo.currentIndexChanged.connect(self._refresh)
        self.set_country(DEFAULT_COUNTRY_CODE)
        self.apply_theme(LIGHT_COLORS)
        self._refresh()

    # -- reading ----------------------------------------------------------------------

    def number_text(self) -> str:
        return self.number_edit.text()

    def country_code(self) -> str:
        data = self.country_combo.currentData()
        return str(data[0]) if isinstance(data, tuple) else DEFAULT_COUNTRY_CODE

    def agent_uuid(self) -> str:
        data = self.agent_combo.currentData()
        return str(data) if isinstance(data, str) else ""

    def parsed_number(self) -> ParsedNumber | None:
        return self._parsed

    def is_busy(self) -> bool:
        return self._busy

    # -- state from the presenter -----------------------------------------------------

    @Slot(bool)
    def set_busy(self, busy: bool) -> None:
        """While a request is in flight the Call button (and Enter) do nothing."""
        self._busy = busy
        if busy:
            self.hide_confirmation()
        self._refresh()

    @Slot(str, str)
    def show_status(self, text: str, kind: str = KIND_INFO) -> None:
        self.status_label.setText(text)
        self.status_label.setProperty("kind", kind)
        self.status_label.setStyleSheet(self._status_style(kind))
        self.check_button.setVisible(kind == KIND_UNKNOWN)

    @Slot(str)
    def ask_confirmation(self, text: str) -> None:
        """A non-modal "call again?" inside the panel (never a nested event loop)."""
        self.confirm_label.setText(text)
        self.confirm_frame.show()
        self.confirm_yes.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot()
    def hide_confirmation(self) -> None:
        if self.confirm_frame.isVisible() and self.confirm_frame.isAncestorOf(
            self.focusWidget()
        ):
            self.number_edit.setFocus(Qt.FocusReason.OtherFocusReason)
        self.confirm_frame.hide()

    def confirmation_visible(self) -> bool:
        return not self.confirm_frame.isHidden()

    @Slot(list)
    def set_recent_numbers(self, numbers: list[str]) -> None:
        self.recent_model.set_numbers(numbers)

    @Slot(list)
    def set_agents(self, agents: list[tuple[str, str]]) -> None:
        """The users who can take a call, as (uuid, name); keeps the current choice when
        it is still listed, else selects "me"."""
        current = self.agent_uuid()
        self._agents = [(str(uuid), str(name)) for uuid, name in agents if uuid]
        self._fill_agents(current or self._me)

    @Slot(str)
    def set_me(self, uuid: str) -> None:
        """The remembered "me": selected by default, marked in the list."""
        self._me = uuid or None
        self._fill_agents(self.agent_uuid() or self._me)

    def _fill_agents(self, select: str | None) -> None:
        self.agent_combo.blockSignals(True)
        self.agent_combo.clear()
        for uuid, name in sorted(self._agents, key=lambda a: (a[0] != self._me, a[1].casefold())):
            self.agent_combo.addItem(f"{name} (me)" if uuid == self._me else name, uuid)
        index = self.agent_combo.findData(select) if select else -1
        if index < 0 and self._me:
            index = self.agent_combo.findData(self._me)
        self.agent_combo.setCurrentIndex(index)
        self.agent_combo.blockSignals(False)
        self._refresh()

    @Slot(str)
    def set_country(self, cc: str) -> None:
        region = phonenumbers.region_code_for_country_code(int(cc)) if cc.isdigit() else "ZZ"
        index = self.country_combo.findData((cc, region))
        if index < 0:
            index = next(
                (i for i in range(self.country_combo.count())
                 if self.country_combo.itemData(i)[0] == cc),
                -1,
            )
        if index >= 0:
            self.country_combo.setCurrentIndex(index)

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        self.confirm_frame.setStyleSheet(
            f"QFrame#dialerConfirm {{ background: {colors.banner_bg.name()}; "
            f"border: 1px solid {colors.chip_border.name()}; border-radius: 4px; }}"
            f"QLabel#dialerConfirmText {{ color: {colors.banner_fg.name()}; }}"
        )
        self.show_status(self.status_label.text(), str(self.status_label.property("kind")))
        self._refresh()

    def _status_style(self, kind: str) -> str:
        colors = self._colors
        color = {
            KIND_ERROR: colors.missed_fg,
            KIND_UNKNOWN: colors.banner_fg,
            KIND_OUTCOME: colors.answered_fg,
            KIND_PLACED: colors.answered_fg,
        }.get(kind)
        style = "font-weight: bold;" if kind in (KIND_UNKNOWN, KIND_ERROR) else ""
        if kind == KIND_UNKNOWN:
            style += f"background: {colors.banner_bg.name()}; padding: 4px;"
        return f"QLabel {{ color: {color.name()}; {style} }}" if color else ""

    # -- prefill (Call back, tel: links, the clipboard) -------------------------------

    @Slot(str)
    def prefill(self, text: str) -> bool:
        """Put a number (or a ``tel:``/``callto:`` link) in the field, ready for one click
        on Call. Refused input leaves the field alone and says why. Never dials."""
        try:
            parsed = parse_dialable(text, self.country_code())
        except PhoneInputError as exc:
            self.show_rejected(exc.message)
            return False
        self.hide_confirmation()
        self.set_country(parsed.country_code)
        self.number_edit.setText(parsed.formatted(parsed.country_code))
        self.show_status(f"Ready to call {parsed.international}: press Call.", KIND_INFO)
        self.call_button.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    @Slot(str)
    def show_rejected(self, message: str) -> None:
        """A link or copied text that was not one dialable number."""
        self.show_status(message, KIND_ERROR)

    # -- keys -------------------------------------------------------------------------

    def press_key(self, key: str) -> None:
        """A keypad button or a digit key typed anywhere in the panel."""
        if key == "⌫":
            self.number_edit.backspace()
        else:
            self.number_edit.insert(key)
        if not self.number_edit.hasFocus():
            self.number_edit.setFocus(Qt.FocusReason.OtherFocusReason)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.number_edit
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            if not event.isAutoRepeat():  # a held Enter is one call, not many
                self._on_call()
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if text and (text.isdigit() or text == "+") and len(text) == 1 and text.isascii():
            self.press_key(text)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Backspace:
            self.press_key("⌫")
            event.accept()
            return
        super().keyPressEvent(event)

    # -- forwarding -------------------------------------------------------------------

    def _refresh(self) -> None:
        text = self.number_edit.text()
        self._parsed = None
        if not text.strip():
            self.parsed_label.setText("Type or paste a number, or use the keypad.")
            self.parsed_label.setStyleSheet(f"color: {self._colors.muted_fg.name()};")
        else:
            try:
                self._parsed = parse_dialable(text, self.country_code())
            except PhoneInputError as exc:
                self.parsed_label.setText(exc.message)
                self.parsed_label.setStyleSheet(f"color: {self._colors.missed_fg.name()};")
            else:
                region = self._parsed.region
                name = QLocale.territoryToString(QLocale.codeToTerritory(region))
                where = f" · {name}" if name and region not in ("ZZ", "001") else ""
                self.parsed_label.setText(f"✓ {self._parsed.international}{where}")
                self.parsed_label.setStyleSheet(
                    f"color: {self._colors.answered_fg.name()}; font-weight: bold;"
                )
        agent = self.agent_uuid()
        self.call_button.setEnabled(self._parsed is not None and bool(agent) and not self._busy)
        self.call_button.setText("Calling…" if self._busy else "Call")
        self.remember_button.setEnabled(bool(agent) and agent != self._me)

    def _on_call(self) -> None:
        if not self.call_button.isEnabled():
            return
        self.callRequested.emit(self.number_edit.text(), self.country_code(), self.agent_uuid())

    def _on_confirm_yes(self) -> None:
        self.hide_confirmation()
        self.confirmAccepted.emit()

    def _on_confirm_no(self) -> None:
        self.hide_confirmation()
        self.confirmRejected.emit()

    def _on_remember(self) -> None:
        uuid = self.agent_uuid()
        if uuid:
            self.rememberMeRequested.emit(uuid)

    def _on_recent(self, index: QModelIndex) -> None:
        e164 = index.data(_ROLE_E164)
        if isinstance(e164, str):
            self.prefill(e164)


# ---------------------------------------------------------------------------------------
# The presenter


class DialerPresenter(_TaskOwner):
    """Runs dials through the guard and reports them as signals for `DialerPanel`.

    A newer dial takes over the status line; an older call's follow-up or check goes on
    quietly (it still settles the guard's state and still reports `callLogged`).
    `start` looks for the calls of unclear dials left by an earlier run.
    """

    busyChanged = Signal(bool)
    statusChanged = Signal(str, str)
    """Text and kind (see the ``KIND_*`` constants)."""
    confirmationRequested = Signal(str)
    confirmationCleared = Signal()
    recentNumbersChanged = Signal(list)
    meChanged = Signal(str)
    outcomeReady = Signal(object)
    """The `CallLog` of a placed call once it is in the call log."""
    callLogged = Signal(str)
    """That call's id: select it in the feed ("follow it in the log feed")."""

    def __init__(
        self,
        guard: DialGuard,
        settings: DialerSettings,
        *,
        sleep: Sleep = asyncio.sleep,
        check_delays_s: Sequence[float] = CHECK_DELAYS_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("dialerPresenter")
        self.guard = guard
        self.settings = settings
        self._sleep = sleep
        self._check_delays = tuple(check_delays_s)
        self._busy = False
        self._generation = 0
        self._pending: tuple[str, str, str] | None = None
        self._checking = False
        self._last_status: tuple[str, str] | None = None

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def awaiting_confirmation(self) -> bool:
        return self._pending is not None

    def start(self) -> None:
        """Look in the call log for every unclear dial an earlier run (or another
        instance) left, and settle the ones old enough for the log to answer; the ones
        still unclear are shown with "Check again". Reads only, never a dial."""
        if self.closed or not self.guard.unknown_attempts:
            return
        self._spawn(self._check_pending(self._generation, earlier=True), "dialer-earlier-check")

    # -- slots ------------------------------------------------------------------------

    @Slot(str, str, str)
    def request_call(self, number_text: str, cc: str, agent_uuid: str) -> None:
        """One deliberate click: at most one request, and none while one is in flight."""
        if self._busy or self.closed:
            return
        self._clear_confirmation()
        self._start(number_text, cc, agent_uuid, confirmed=False)

    @Slot()
    def confirm_call(self) -> None:
        """"Call again" in the confirmation: the same request, confirmed."""
        pending = self._pending
        if pending is None or self._busy or self.closed:
            return
        self._clear_confirmation()
        self._start(*pending, confirmed=True)

    @Slot()
    def cancel_confirmation(self) -> None:
        """"Cancel" in the confirmation: nothing is sent; the status line goes back to
        what it said before (an unclear call's check, a call's outcome)."""
        if self._pending is not None:
            self._clear_confirmation()
            self._restore_status(fallback="Not called.")

    @Slot(str)
    def remember_me(self, uuid: str) -> None:
        self.settings.set_me_uuid(uuid)
        self.meChanged.emit(uuid)

    @Slot()
    def check_now(self) -> None:
        """Look in the call log for every unclear call now (reads, never a dial)."""
        if self.closed or self._checking or not self.guard.unknown_attempts:
            return
        self._spawn(self._check_pending(self._generation, earlier=False), "dialer-check-now")

    # -- work -------------------------------------------------------------------------

    def _start(self, number_text: str, cc: str, agent_uuid: str, *, confirmed: bool) -> None:
        self._set_busy(True)  # synchronously: a second click finds the button disabled
        reserved: list[DialAttempt] = []  # this dial's record, once the guard wrote it
        self._spawn(
            self._dial(number_text, cc, agent_uuid, confirmed, reserved), "dialer-dial",
            on_failure=partial(self._dial_failed, reserved),
        )

    def _dial_failed(self, reserved: Sequence[DialAttempt], failure: TaskFailure) -> None:
        """The dial ended in something the guard does not answer for (never retried): the
        Call button comes back and "Placing the call…" gives way to a sentence. Whether
        the call may have been placed depends on this dial alone: once its record was
        written the request may have left (the guard counts it as possibly sent, and the
        call log is checked as after any unclear answer); before that, nothing was sent."""
        self._set_busy(False)
        self._generation += 1
        gen = self._generation
        if reserved:
            self._status(
                gen,
                f"The call may or may not have been placed: {failure.sentence} "
                "Press Check again to look in the call log before calling again.",
                KIND_UNKNOWN,
            )
            self._spawn(self._resolve_unknown(gen, reserved[0]), f"dialer-check-{gen}")
        else:
            self._status(gen, f"The call was not placed: {failure.sentence}", KIND_ERROR)

    def _task_failed(self, failure: TaskFailure) -> None:
        """A follow-up or a check that failed: the status line says so instead of
        "checking…" forever (the window's status bar has the details)."""
        current = (f"dialer-follow-{self._generation}", f"dialer-check-{self._generation}",
                   "dialer-check-now", "dialer-earlier-check")
        if failure.name in current:  # an older call's follow-up does not own the line
            self._status(
                self._generation, f"The call log could not be checked: {failure.sentence}",
                KIND_ERROR,
            )

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def _clear_confirmation(self) -> None:
        self._pending = None
        self.confirmationCleared.emit()

    def _status(self, generation: int, text: str, kind: str) -> None:
        """Show a status unless a newer dial owns the status line by now."""
        if generation == self._generation:
            self._last_status = (text, kind)
            self.statusChanged.emit(text, kind)

    def _restore_status(self, *, fallback: str = "") -> None:
        text, kind = self._last_status or (fallback, KIND_IDLE)
        self.statusChanged.emit(text, kind)

    async def _dial(
        self, number_text: str, cc: str, agent_uuid: str, confirmed: bool,
        reserved: list[DialAttempt],
    ) -> None:
        self.statusChanged.emit("Placing the call…", KIND_IN_FLIGHT)
        try:
            outcome = await self.guard.dial(
                number_text, cc, agent_uuid, confirmed=confirmed, on_reserved=reserved.append
            )
        finally:
            self._set_busy(False)
        kind = outcome.kind
        if kind in (DialKind.NEEDS_CONFIRMATION, DialKind.BLOCKED):
            # Nothing was sent: an earlier call's check keeps the status line.
            self._pending = (number_text, cc, agent_uuid)
            self._restore_status()
            self.confirmationRequested.emit(outcome.message)
            return
        if kind is DialKind.BUSY:
            self._restore_status()
            return
        self._generation += 1
        gen = self._generation
        if kind is DialKind.FAILED:
            self._status(gen, outcome.message, KIND_ERROR)
            return
        attempt = outcome.attempt
        assert attempt is not None and outcome.number is not None
        self.settings.add_recent(outcome.number.e164)
        self.recentNumbersChanged.emit(list(self.settings.recent_numbers))
        if kind is DialKind.PLACED:
            self._status(gen, outcome.message, KIND_PLACED)
            self._spawn(self._follow(gen, attempt), f"dialer-follow-{gen}")
        else:
            self._status(gen, outcome.message, KIND_UNKNOWN)
            self._spawn(self._resolve_unknown(gen, attempt), f"dialer-check-{gen}")

    async def _follow(self, gen: int, attempt: DialAttempt) -> None:
        call = await self.guard.follow(attempt)
        shown = attempt.number.formatted()
        if call is None:
            self._status(gen, f"The call to {shown} has not appeared in the call log.", KIND_INFO)
            return
        self._report_call(gen, f"Call to {shown}", call)

    def _report_call(self, gen: int, what: str, call: CallLog) -> None:
        self._status(gen, f"{what}: {outcome_text(call)}.", KIND_OUTCOME)
        self.outcomeReady.emit(call)
        self.callLogged.emit(call.id)

    async def _resolve_unknown(self, gen: int, attempt: DialAttempt) -> None:
        """Look in the call log now and then until the unclear call is found, then once
        more when its absence would mean "not placed"; reads only, never a dial."""
        shown = attempt.number.formatted()
        for i, delay in enumerate(self._check_delays):
            await self._sleep(delay)
            if not self._still_unclear(attempt):
                return  # settled meanwhile ("Check again", or a confirmed redial)
            following = self._check_delays[i + 1] if i + 1 < len(self._check_delays) else None
            then = (
                f" Checking again in {math.ceil(following)} s…" if following is not None
                else " Press Check again, or call again (you will be asked first)."
            )
            result = await self._check_once(gen, attempt, then=then)
            if result is None or result.kind is not CheckKind.UNCLEAR:
                return
        if not self._check_delays:
            self._status(
                gen, f"The call to {shown} may have been placed. Press Check again.",
                KIND_UNKNOWN,
            )
        # The last look: when the log has surely shown the call if it was placed.
        left = self.guard.seconds_until_settled(attempt)
        if left > 0:
            await self._sleep(left)
        if self._still_unclear(attempt):
            await self._check_once(gen, attempt, then=" Press Check again.")

    def _still_unclear(self, attempt: DialAttempt) -> bool:
        return any(a.seq == attempt.seq for a in self.guard.unknown_attempts)

    async def _check_pending(self, gen: int, *, earlier: bool) -> None:
        """Check every unclear dial (the latest per number); the last one still unclear
        keeps the status line, with "Check again". For `earlier` dials (left by an
        earlier run) wait until the log can settle the ones that stay unclear, then look
        once more."""
        then = " Press Check again to look now."
        while True:
            unclear: list[tuple[DialAttempt, str]] = []
            for attempt in self.guard.unknown_attempts:
                result = await self._check_once(gen, attempt, then=then, earlier=earlier)
                if result is not None and result.kind is CheckKind.UNCLEAR:
                    unclear.append((attempt, result.message + then))
            if not unclear:
                return
            shown = (unclear[-1][1], KIND_UNKNOWN)
            if self._last_status != shown:  # another number's answer took the line
                self._status(gen, *shown)
            waits = [w for a, _ in unclear if (w := self.guard.seconds_until_settled(a)) > 0]
            if not earlier or not waits:
                return  # the log could not be read: the person presses Check again
            await self._sleep(min(waits))

    async def _check_once(
        self, gen: int, attempt: DialAttempt, *, then: str = "", earlier: bool = False
    ) -> UnknownCheck | None:
        """One look in the call log for `attempt`. A call found for a dial of an earlier
        run is only described: the feed's selection is the person's, not the past's."""
        shown = attempt.number.formatted()
        self._checking = True
        try:
            self._status(
                gen, f"The call to {shown} may have been placed — checking the call log…",
                KIND_CHECKING,
            )
            result = await self.guard.check_unknown(attempt.number)
        finally:
            self._checking = False
        if result is None:
            return None
        if result.kind is CheckKind.FOUND and result.log is not None:
            if earlier:
                self._status(
                    gen, f"An earlier call to {shown} was placed: {outcome_text(result.log)}.",
                    KIND_OUTCOME,
                )
            else:
                self._report_call(gen, f"The call to {shown} was placed", result.log)
        elif result.kind is CheckKind.NOT_FOUND:
            self._status(gen, result.message, KIND_INFO)
        else:
            self._status(gen, result.message + then, KIND_UNKNOWN)
        return result


def bind_dialer(panel: DialerPanel, presenter: DialerPresenter) -> None:
    """Connect the panel and the presenter, and show the remembered state."""
    panel.callRequested.connect(presenter.request_call)
    panel.confirmAccepted.connect(presenter.confirm_call)
    panel.confirmRejected.connect(presenter.cancel_confirmation)
    panel.rememberMeRequested.connect(presenter.remember_me)
    panel.checkRequested.connect(presenter.check_now)
    presenter.busyChanged.connect(panel.set_busy)
    presenter.statusChanged.connect(panel.show_status)
    presenter.confirmationRequested.connect(panel.ask_confirmation)
    presenter.confirmationCleared.connect(panel.hide_confirmation)
    presenter.recentNumbersChanged.connect(panel.set_recent_numbers)
    presenter.meChanged.connect(panel.set_me)
    settings = presenter.settings
    panel.set_country(settings.country_code)
    panel.set_me(settings.me_uuid or "")
    panel.set_recent_numbers(list(settings.recent_numbers))


def make_dialer_dock(panel: DialerPanel, parent: QWidget | None = None) -> QDockWidget:
    """The panel in a dock named for `saveState` ("dialerDock")."""
    dock = QDockWidget("Dialer", parent)
    dock.setObjectName("dialerDock")
    dock.setWidget(panel)
    return dock
