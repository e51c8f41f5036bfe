"""Where the API token is pasted: the first run's second page and Replace token.

The form only renders and forwards: `submitted` carries the text as typed (trimming,
checking and testing are the sign-in presenter's), and whatever goes wrong is shown with
`show_message` while the field keeps what was typed. Where no keyring works, the storage
choice (this session only, or a plain-text file after a warning) appears under it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.account import CREDENTIAL_WHERE, TOKEN_WHERE
from desktop_app.ui.common.confirm import ConfirmBar
from desktop_app.ui.common.theme import message_colour

KIND_ERROR: Final = "error"
KIND_PROGRESS: Final = "progress"
KIND_WARNING: Final = "warning"
KIND_NONE: Final = ""


@dataclass(frozen=True)
class SecretWords:
    """How a form names the secret it asks for (the API token, or a relay credential)."""

    noun: str
    heading: str
    where: str
    field_name: str
    placeholder: str


TOKEN_WORDS: Final = SecretWords(
    noun="token",
    heading="Paste your account's API token",
    where=f"{TOKEN_WHERE} Only an administrator of the account can copy it.",
    field_name="API token",
    placeholder="32 characters, letters a–f and digits",
)
RELAY_WORDS: Final = SecretWords(
    noun="credential",
    heading="Connect through your team's relay",
    where=CREDENTIAL_WHERE,
    field_name="Relay credential",
    placeholder="mor_… (your own, from your admin)",
)


class TokenForm(QWidget):
    """The token field, where to find the token, Test and continue, and what happened."""

    #: The text as typed, when the person asks to test it.
    submitted = Signal(str)
    #: Keep the token for this session only (no keyring works).
    sessionChosen = Signal()
    #: Store it in a plain-text file (after the warning was confirmed).
    fileChosen = Signal()
    backRequested = Signal()

    def __init__(
        self,
        *,
        file_path: str,
        submit_label: str = "&Test and continue",
        secret: SecretWords = TOKEN_WORDS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("tokenForm")
        self._file_path = file_path
        self._noun = secret.noun

        heading = QLabel(secret.heading, self)
        heading.setObjectName("tokenHeading")
        bold = QFont(heading.font())
        bold.setBold(True)
        bold.setPointSizeF(bold.pointSizeF() * 1.15)
        heading.setFont(bold)
        where = QLabel(secret.where, self)
        where.setObjectName("tokenWhere")
        where.setWordWrap(True)

        self.field = QLineEdit(self)
        self.field.setObjectName("tokenField")
        self.field.setAccessibleName(secret.field_name)
        self.field.setPlaceholderText(secret.placeholder)
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setClearButtonEnabled(True)
        self.field.returnPressed.connect(self._submit)
        self.show_action = QAction("Show", self.field)
        self.show_action.setObjectName("tokenShow")
        self.show_action.setCheckable(True)
        self.show_action.setToolTip(f"Show or hide the {secret.noun}")
        self.show_action.toggled.connect(self._toggle_echo)
        self.field.addAction(self.show_action, QLineEdit.ActionPosition.TrailingPosition)

        self.message = QLabel(self)
        self.message.setObjectName("tokenMessage")
        self.message.setAccessibleName("Token check")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        # No keyring: keep it for this session, or in a plain-text file after a warning.
        self.storage = QWidget(self)
        self.storage.setObjectName("tokenStorage")
        self.storage_text = QLabel(self.storage)
        self.storage_text.setObjectName("tokenStorageText")
        self.storage_text.setWordWrap(True)
        self.session_button = QPushButton("Continue for this &session only", self.storage)
        self.session_button.setObjectName("tokenKeepForSession")
        self.session_button.clicked.connect(self.sessionChosen)
        self.file_button = QPushButton("Store it in a plain-text &file…", self.storage)
        self.file_button.setObjectName("tokenKeepInFile")
        self.file_button.clicked.connect(self._ask_file)
        self.file_confirm = ConfirmBar("tokenFileConfirm", self.storage)
        self.file_confirm.answered.connect(self._file_answered)
        storage_buttons = QHBoxLayout()
        storage_buttons.addWidget(self.session_button)
        storage_buttons.addWidget(self.file_button)
        storage_buttons.addStretch(1)
        storage_layout = QVBoxLayout(self.storage)
        storage_layout.setContentsMargins(0, 0, 0, 0)
        storage_layout.addWidget(self.storage_text)
        storage_layout.addLayout(storage_buttons)
        storage_layout.addWidget(self.file_confirm)
        self.storage.hide()

        self.back_button = QPushButton("&Back", self)
        self.back_button.setObjectName("tokenBack")
        self.back_button.clicked.connect(self.backRequested)
        self.submit_button = QPushButton(submit_label, self)
        self.submit_button.setObjectName("tokenSubmit")
        self.submit_button.setAccessibleName(submit_label.replace("&", ""))
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self._submit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.submit_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        layout.addWidget(heading)
        layout.addWidget(where)
        #: Where a form with more than the secret puts its other fields (`RelayForm`).
        self.fields = layout
        layout.addWidget(self.field)
        layout.addWidget(self.message)
        layout.addWidget(self.storage)
        layout.addStretch(1)
        layout.addLayout(buttons)

    # ------------------------------------------------------------------ rendering

    @Slot(str, str)
    def show_message(self, text: str, kind: str) -> None:
        """What the check said (kind: error, progress, warning; "" hides it)."""
        self.message.setText(text)
        self.message.setAccessibleDescription(text)
        self.message.setProperty("kind", kind)
        colour = message_colour(kind, self.palette())
        weight = "bold" if kind == KIND_ERROR else "normal"
        self.message.setStyleSheet(
            f"QLabel#tokenMessage {{ color: {colour.name()}; font-weight: {weight}; }}"
        )
        self.message.setVisible(bool(text))

    @Slot(bool)
    def set_busy(self, busy: bool) -> None:
        """While a check runs: no second submission, the text stays as typed."""
        self.submit_button.setEnabled(not busy)
        self.back_button.setEnabled(not busy)
        self.field.setReadOnly(busy)
        self.session_button.setEnabled(not busy)
        self.file_button.setEnabled(not busy)

    @Slot(str)
    def offer_storage(self, why: str) -> None:
        """No keyring works: say why and offer the two other places."""
        self.storage_text.setText(
            f"{why} The {self._noun} can be kept for this session only (you paste it again next "
            "time), or stored in a plain-text file that anyone with access to your files "
            "could read."
        )
        self.storage.show()
        self.session_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def hide_storage(self) -> None:
        self.file_confirm.dismiss()
        self.storage.hide()

    @property
    def text(self) -> str:
        return self.field.text()

    def focus_field(self) -> None:
        self.field.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ requests

    @Slot()
    def _submit(self) -> None:
        if self.submit_button.isEnabled():
            self.hide_storage()
            self._emit_submitted()

    def _emit_submitted(self) -> None:
        self.submitted.emit(self.field.text())

    @Slot(bool)
    def _toggle_echo(self, shown: bool) -> None:
        self.field.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )
        self.show_action.setText("Hide" if shown else "Show")

    @Slot()
    def _ask_file(self) -> None:
        self.file_confirm.ask(
            f"Store the {self._noun} in plain text?",
            f"It will be written to {self._file_path}, readable only by your user account "
            "(mode 0600), but not encrypted: anyone who can read your files, or a backup "
            "of them, can use it to place calls and change users on this account.",
            "Store in plain text",
        )

    @Slot(bool)
    def _file_answered(self, yes: bool) -> None:
        if yes:
            self.fileChosen.emit()


class RelayForm(TokenForm):
    """The relay's address above the credential field; `relaySubmitted(address,
    credential)` carries both as typed (checking is the sign-in presenter's)."""

    relaySubmitted = Signal(str, str)

    def __init__(self, *, file_path: str, submit_label: str = "&Test and continue",
                 address: str = "", parent: QWidget | None = None) -> None:
        super().__init__(
            file_path=file_path, submit_label=submit_label, secret=RELAY_WORDS, parent=parent
        )
        self.setObjectName("relayForm")
        self.address = QLineEdit(address, self)
        self.address.setObjectName("relayAddress")
        self.address.setAccessibleName("Relay address")
        self.address.setPlaceholderText("https://relay.example.com")
        self.address.returnPressed.connect(self.focus_field)
        caption = QLabel("&Relay address:", self)
        caption.setBuddy(self.address)
        secret_caption = QLabel("Your &credential:", self)
        secret_caption.setBuddy(self.field)
        index = self.fields.indexOf(self.field)
        self.fields.insertWidget(index, caption)
        self.fields.insertWidget(index + 1, self.address)
        self.fields.insertWidget(index + 2, secret_caption)

    def focus_field(self) -> None:
        """The address first when it is still empty, else the credential."""
        if not self.address.text().strip():
            self.address.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            super().focus_field()

    def _emit_submitted(self) -> None:
        self.relaySubmitted.emit(self.address.text(), self.field.text())

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        self.address.setReadOnly(busy)
