"""The dialer panel: type, paste or prefill a number, pick the agent, press Call.

It only renders and forwards (number field with the parsed number shown live, country,
keypad, agent, recent numbers, Call, an in-panel confirmation and a status line). Nothing
here ever dials without the Call button (or Enter in the number field, or the
confirmation's "Call again"): prefilling never calls.

A prefilled number brings its own country, for that number only: once the field is
cleared or its whole text replaced, the Country box is back at the home country. While
the person types, a number that is only unfinished is not called wrong until they leave
the field or press Enter.
"""

from __future__ import annotations

import phonenumbers
from PySide6.QtCore import (
    QEvent,
    QLocale,
    QModelIndex,
    QObject,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
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

from desktop_app.api.validation import DEFAULT_COUNTRY_CODE
from desktop_app.services.dialer import whose_phone
from desktop_app.services.phone_input import (
    ParsedNumber,
    PhoneInputError,
    may_be_unfinished,
    parse_dialable,
)
from desktop_app.ui.common.countries import country_choices
from desktop_app.ui.common.theme import LIGHT_COLORS, ThemeColors
from desktop_app.ui.dialer.model import (
    KEYPAD,
    KIND_ERROR,
    KIND_IDLE,
    KIND_INFO,
    KIND_NOT_ANSWERED,
    KIND_OUTCOME,
    KIND_PLACED,
    KIND_UNKNOWN,
    ROLE_E164,
    RecentNumbersModel,
)

# ---------------------------------------------------------------------------------------
# The panel


class DialerPanel(QWidget):
    """The dialer's widgets; embeddable in a dock as ``DialerPanel()``.

    Feed it `set_agents([(uuid, name), …])`; the dialer feature binds it to its presenter
    (`feature.bind`). `prefill` is the entry for Call back, ``tel:`` links and the clipboard.
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
        self._home_cc = DEFAULT_COUNTRY_CODE
        #: The Country box shows the country a prefilled number brought with it.
        self._country_from_number = False
        #: The person is typing the number (its errors wait while it may be unfinished).
        self._typing = False
        self._edited = False  # textEdited came just before this textChanged
        self._all_selected = False  # before the current change

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
        for i, key in enumerate(KEYPAD):
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
        self.rings_label = QLabel()
        self.rings_label.setObjectName("dialerRingsOther")
        self.rings_label.setWordWrap(True)
        self.rings_label.setAccessibleName("Whose phone rings first")
        self.rings_label.hide()

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
        self.recent_view.setTabKeyNavigation(False)  # Tab leaves the list
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
        layout.addWidget(self.rings_label)
        layout.addWidget(self.call_button)
        layout.addWidget(self.confirm_frame)
        layout.addLayout(status_row)
        layout.addSpacing(4)
        layout.addWidget(recent_caption)
        layout.addWidget(self.recent_view, 1)

        self.number_edit.textEdited.connect(self._on_text_edited)
        self.number_edit.textChanged.connect(self._on_text_changed)
        self.number_edit.selectionChanged.connect(self._on_selection_changed)
        self.number_edit.editingFinished.connect(self._stop_typing)
        self.country_combo.currentIndexChanged.connect(self._refresh)
        self.country_combo.activated.connect(self._on_country_chosen)
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

    @Slot()
    def choose_me(self) -> None:
        """Back to "me" after a call (or for a call back): another agent is chosen for
        one call only. Without a remembered "me" the choice stays as it is."""
        index = self.agent_combo.findData(self._me) if self._me else -1
        if index >= 0:
            self.agent_combo.setCurrentIndex(index)

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
    def set_country(self, cc: str, region: str | None = None) -> None:
        """Select dialling code `cc`: as `region` when given, else the code's main
        country (United Kingdom for +44, not Guernsey, which shares it)."""
        if not cc.isdigit():
            return
        main = str(phonenumbers.region_code_for_country_code(int(cc)))
        choices = [self.country_combo.itemData(i) for i in range(self.country_combo.count())]
        for wanted in ((cc, region), (cc, main)):
            if wanted in choices:
                self.country_combo.setCurrentIndex(choices.index(wanted))
                return
        index = next((i for i, data in enumerate(choices) if data[0] == cc), -1)
        if index >= 0:
            self.country_combo.setCurrentIndex(index)

    @Slot(str)
    def set_home_country(self, cc: str) -> None:
        """The country of numbers typed without +code (the settings' default): selected
        now, and again whenever a prefilled number's own country is done with."""
        self._home_cc = cc
        self._country_from_number = False
        self.set_country(cc)

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        self.confirm_frame.setStyleSheet(
            f"QFrame#dialerConfirm {{ background: {colors.banner_bg.name()}; "
            f"border: 1px solid {colors.chip_border.name()}; border-radius: 4px; }}"
            f"QLabel#dialerConfirmText {{ color: {colors.banner_fg.name()}; }}"
        )
        self.rings_label.setStyleSheet(
            f"QLabel {{ color: {colors.banner_fg.name()}; background: {colors.banner_bg.name()}; "
            "font-weight: bold; padding: 4px; }"
        )
        self.show_status(self.status_label.text(), str(self.status_label.property("kind")))
        self._refresh()

    def _status_style(self, kind: str) -> str:
        colors = self._colors
        color = {
            KIND_ERROR: colors.missed_fg,
            KIND_UNKNOWN: colors.banner_fg,
            KIND_OUTCOME: colors.answered_fg,
            KIND_NOT_ANSWERED: colors.missed_fg,
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
        on Call, its country in the Country box until the number is replaced. Refused
        input (a bad link) says why and empties the field: the number before it must
        not stay ready for an Enter meant for the new one. Never dials."""
        try:
            parsed = parse_dialable(text, self.country_code())
        except PhoneInputError as exc:
            self.hide_confirmation()
            self.number_edit.clear()
            self.show_rejected(exc.message)
            return False
        self.hide_confirmation()
        # Not yet the number's country: setting the text must not put the home one back.
        self._country_from_number = False
        self.set_country(parsed.country_code, parsed.region)
        self.number_edit.setText(parsed.formatted(parsed.country_code))
        self._country_from_number = True
        self.show_status(f"Ready to call {parsed.international}: press Call.", KIND_INFO)
        self.call_button.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    @Slot()
    def focus_number(self) -> None:
        """Keyboard focus into the number field, its text selected to type over."""
        self.number_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.number_edit.selectAll()

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

    def _on_text_edited(self, _text: str) -> None:
        self._edited = True  # Qt says textEdited first, then textChanged

    def _on_selection_changed(self) -> None:
        selected = self.number_edit.selectedText()
        self._all_selected = bool(selected) and selected == self.number_edit.text()

    def _on_text_changed(self, text: str) -> None:
        """A prefilled number's country goes once the number does (cleared, or its whole
        text replaced: typed over, pasted over, set anew)."""
        typing, self._edited = self._edited, False
        replaced = not text.strip() or self._all_selected or not typing
        self._typing = typing
        if self._country_from_number and replaced:
            self._country_from_number = False
            self.set_country(self._home_cc)
        self._refresh()

    def _on_country_chosen(self, _index: int) -> None:
        self._country_from_number = False  # the person's own choice stays

    def _stop_typing(self) -> None:
        """Left the field (or pressed Enter): an unfinished number is now just wrong."""
        if self._typing:
            self._typing = False
            self._refresh()

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
                if self._typing and may_be_unfinished(text, self.country_code()):
                    self.parsed_label.setText("Keep typing: not a whole number yet.")
                    self.parsed_label.setStyleSheet(f"color: {self._colors.muted_fg.name()};")
                else:
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
        self._show_whose_phone(agent)

    def _show_whose_phone(self, agent: str) -> None:
        """Said plainly beside Call whenever it will not ring my phone."""
        if not agent or agent == self._me:
            self.rings_label.hide()
            return
        name = dict(self._agents).get(agent, self.agent_combo.currentText())
        mine = ", not yours." if self._me else "."
        self.rings_label.setText(f"Rings {whose_phone(name)} first{mine}")
        self.rings_label.show()

    def _on_call(self) -> None:
        if not self.call_button.isEnabled():
            self._stop_typing()  # Enter on an unfinished number: say what is wrong
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
        e164 = index.data(ROLE_E164)
        if isinstance(e164, str):
            self.prefill(e164)
