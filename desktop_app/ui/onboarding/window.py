"""The first run: Connect my account (its token, or the team relay), or Try the demo;
then who I am.

Shown when no account is configured (and again after Sign out). Each step is a page of one
small window, so the person never loses their place: Back returns to the choice, and a
rejected token stays in its field. The window renders and forwards; the sign-in presenter
does the checking and keeping, the app controller opens what was chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api.models import User
from desktop_app.ui.common.theme import message_colour
from desktop_app.ui.onboarding.token_form import KIND_ERROR, RelayForm, TokenForm
from desktop_app.ui.preferences.country import CountryCombo
from desktop_app.ui.preferences.me_picker import MePicker
from desktop_app.ui.shell.main_window import APP_TITLE

WELCOME_TEXT: Final = (
    "See your account's calls as they happen, play recordings, and call customers back "
    "with one click."
)
DEMO_TEXT: Final = (
    "Look around first: an emulated MyOperator service with a month of realistic calls. "
    "Nothing real is called."
)
PAGE_WELCOME: Final = "welcome"
PAGE_TOKEN: Final = "token"
PAGE_RELAY: Final = "relay"
PAGE_PROFILE: Final = "profile"
PAGE_OPENING: Final = "opening"


def _heading(text: str, parent: QWidget, scale: float = 1.6) -> QLabel:
    label = QLabel(text, parent)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    label.setWordWrap(True)
    return label


class FirstRunWindow(QWidget):
    """Welcome → token (or the team relay) → "Which user are you?"; or the demo."""

    connectRequested = Signal()
    relayRequested = Signal()
    demoRequested = Signal()
    closeRequested = Signal()
    #: The profile step's answers: (uuid or "" for nobody, dialling code).
    profileChosen = Signal(str, str)
    profileSkipped = Signal()

    def __init__(
        self,
        *,
        token_file: str,
        relay_file: str = "",
        relay_address: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunWindow")
        self.setAccessibleName("Welcome")
        self.setWindowTitle(APP_TITLE)
        self._closing_allowed = False
        self._carried_me = ""
        self.pages = QStackedWidget(self)
        self.pages.setObjectName("firstRunPages")
        self._names: dict[str, QWidget] = {}
        self._add(PAGE_WELCOME, self._build_welcome())
        self.token_form = TokenForm(file_path=token_file, parent=self.pages)
        self.token_form.backRequested.connect(lambda: self.show_page(PAGE_WELCOME))
        self._add(PAGE_TOKEN, self.token_form)
        self.relay_form = RelayForm(
            file_path=relay_file, address=relay_address, parent=self.pages
        )
        self.relay_form.backRequested.connect(lambda: self.show_page(PAGE_WELCOME))
        self._add(PAGE_RELAY, self.relay_form)
        self._add(PAGE_PROFILE, self._build_profile())
        self._add(PAGE_OPENING, self._build_opening())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.addWidget(self.pages)
        self.resize(620, 540)
        self.show_page(PAGE_WELCOME)

    def _add(self, name: str, page: QWidget) -> None:
        page.setObjectName(page.objectName() or f"page_{name}")
        self._names[name] = page
        self.pages.addWidget(page)

    # ------------------------------------------------------------------ pages

    def _build_welcome(self) -> QWidget:
        page = QWidget(self)
        page.setObjectName("firstRunWelcome")
        title = _heading(f"Welcome to {APP_TITLE}", page)
        title.setObjectName("firstRunTitle")
        intro = QLabel(WELCOME_TEXT, page)
        intro.setWordWrap(True)
        self.connect_button = QPushButton("&Connect my account", page)
        self.connect_button.setObjectName("firstRunConnect")
        self.connect_button.setAccessibleName("Connect my account")
        self.connect_button.setDefault(True)
        self.connect_button.setMinimumHeight(36)
        self.connect_button.clicked.connect(self.connectRequested)
        connect_note = QLabel(
            "You need the account's API token (an administrator can copy it in the "
            "MyOperator panel).", page
        )
        connect_note.setWordWrap(True)
        self.relay_button = QPushButton("Connect through the team &relay", page)
        self.relay_button.setObjectName("firstRunRelay")
        self.relay_button.setAccessibleName("Connect through the team relay")
        self.relay_button.setMinimumHeight(36)
        self.relay_button.clicked.connect(self.relayRequested)
        relay_note = QLabel(
            "Where your team shares one account through its relay: your admin gives you "
            "its address and a credential of your own.", page
        )
        relay_note.setWordWrap(True)
        self.demo_button = QPushButton("&Try the demo", page)
        self.demo_button.setObjectName("firstRunDemo")
        self.demo_button.setAccessibleName("Try the demo")
        self.demo_button.setMinimumHeight(36)
        self.demo_button.clicked.connect(self.demoRequested)
        demo_note = QLabel(DEMO_TEXT, page)
        demo_note.setWordWrap(True)
        self.welcome_message = QLabel(page)
        self.welcome_message.setObjectName("firstRunMessage")
        self.welcome_message.setWordWrap(True)
        self.welcome_message.hide()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addSpacing(12)
        layout.addWidget(self.welcome_message)
        layout.addWidget(self.connect_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(connect_note)
        layout.addSpacing(8)
        layout.addWidget(self.relay_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(relay_note)
        layout.addSpacing(8)
        layout.addWidget(self.demo_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(demo_note)
        layout.addStretch(1)
        return page

    def _build_profile(self) -> QWidget:
        page = QWidget(self)
        page.setObjectName("firstRunProfile")
        title = _heading("Which user are you?", page, 1.15)
        intro = QLabel(
            "Click-to-call rings your phone first, and your own missed calls are told "
            "apart. You can change this later in Preferences.", page
        )
        intro.setWordWrap(True)
        self.me_picker = MePicker(page)
        self.country = CountryCombo(page)
        self.profile_message = QLabel(page)
        self.profile_message.setObjectName("profileMessage")
        self.profile_message.setWordWrap(True)
        self.profile_message.hide()
        form = QFormLayout()
        form.addRow("Default country:", self.country)
        self.skip_button = QPushButton("&Skip", page)
        self.skip_button.setObjectName("profileSkip")
        self.skip_button.clicked.connect(self.profileSkipped)
        self.finish_button = QPushButton("&Open my calls", page)
        self.finish_button.setObjectName("profileFinish")
        self.finish_button.setDefault(True)
        self.finish_button.clicked.connect(self._finish_profile)
        buttons = QHBoxLayout()
        buttons.addWidget(self.skip_button)
        buttons.addStretch(1)
        buttons.addWidget(self.finish_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(self.profile_message)
        layout.addWidget(self.me_picker, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        return page

    def _build_opening(self) -> QWidget:
        page = QWidget(self)
        page.setObjectName("firstRunOpening")
        self.opening_label = _heading("Opening your account…", page, 1.15)
        self.opening_label.setObjectName("openingText")
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.opening_label, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(2)
        return page

    # ------------------------------------------------------------------ rendering

    def show_page(self, name: str) -> None:
        page = self._names[name]
        self.pages.setCurrentWidget(page)
        if name == PAGE_TOKEN:
            self.token_form.focus_field()
        elif name == PAGE_RELAY:
            self.relay_form.focus_field()
        elif name == PAGE_WELCOME:
            self.connect_button.setFocus(Qt.FocusReason.OtherFocusReason)
        elif name == PAGE_PROFILE:
            self.me_picker.setFocus(Qt.FocusReason.OtherFocusReason)

    @property
    def page(self) -> str:
        current = self.pages.currentWidget()
        return next((name for name, page in self._names.items() if page is current), "")

    def show_opening(self, text: str) -> None:
        self.opening_label.setText(text)
        self.show_page(PAGE_OPENING)

    def show_welcome_message(self, text: str) -> None:
        """Why the person is back at the start (a demo that failed, a signed-out account)."""
        self.welcome_message.setText(text)
        colour = message_colour(KIND_ERROR, self.palette())
        self.welcome_message.setStyleSheet(f"QLabel {{ color: {colour.name()}; }}")
        self.welcome_message.setVisible(bool(text))

    def set_demo_opening(self, opening: bool) -> None:
        self.demo_button.setEnabled(not opening)
        self.connect_button.setEnabled(not opening)
        self.relay_button.setEnabled(not opening)
        self.demo_button.setText("Opening the demo…" if opening else "&Try the demo")

    @Slot(list)
    def show_profile(self, users: Sequence[User], me: str | None, country_code: str) -> None:
        self.me_picker.setEnabled(True)
        self.me_picker.set_users(list(users))
        self.me_picker.set_current(me)
        self.country.set_code(country_code)
        self.profile_message.hide()
        self.show_page(PAGE_PROFILE)

    def show_profile_unavailable(self, text: str, me: str | None, country_code: str) -> None:
        """The users could not be listed: the country can still be chosen, and the "me"
        chosen before is kept as it was."""
        self._carried_me = me or ""
        self.me_picker.set_users([])
        self.me_picker.setEnabled(False)
        self.country.set_code(country_code)
        self.profile_message.setText(text)
        self.profile_message.show()
        self.show_page(PAGE_PROFILE)

    @Slot()
    def _finish_profile(self) -> None:
        picked = self.me_picker.current_uuid() or ""
        me = picked if self.me_picker.isEnabled() else self._carried_me
        self.profileChosen.emit(me, self.country.code())

    # ------------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closing_allowed:
            event.accept()
            return
        event.ignore()
        self.closeRequested.emit()

    def close_now(self) -> None:
        self._closing_allowed = True
        self.close()
