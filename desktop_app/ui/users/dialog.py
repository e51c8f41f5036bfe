"""The Add user / Edit user dialog: every API field, errors beside the field they are about.

The dialog checks nothing itself: Save emits `submitted` with a `UserForm`, and whoever
listens (an edit session, bound by the users feature's `open_dialog`) answers with
`show_field_errors`, `show_message`, `ask` (a change to another user is confirmed inside
the dialog, the form kept as typed whatever the answer) or `accept`. So a rejection never
closes it and never clears what was typed. Open it with ``open()`` (window-modal, returns
at once), never ``exec()``: a nested event loop inside the qasync loop breaks the running
coroutines.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import phonenumbers
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api import validation
from desktop_app.api.models import ContactType, User
from desktop_app.services.user_edit import Confirmation
from desktop_app.services.users import CONTACT_TYPE_LABELS, FIELD_LABELS, FORM_FIELDS, UserForm
from desktop_app.ui.common.confirm import ConfirmBar
from desktop_app.ui.common.countries import country_choices
from desktop_app.ui.common.theme import message_colour

_CODE_IN_LABEL = re.compile(r"\(\+(\d{1,4})\)\s*$")
_PANEL_CHOICES = (("May log in to the panel", True), ("May not log in", False))
_CALL_CHOICES = (("Receives IVR calls", True), ("Does not receive calls", False))
_CONTACT_CHOICES = tuple((label, kind) for kind, label in CONTACT_TYPE_LABELS.items())


class CountryCodeBox(QComboBox):
    """A dialling-code picker: choose "India (+91)" from the list or type "+91", "91"; what
    is typed is passed on as it is, for the validation to judge (a state code is refused
    there, with a sentence)."""

    def __init__(self, parent: QWidget | None = None, *, placeholder: str = "") -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.setMinimumContentsLength(12)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._by_label: dict[str, str] = {}
        for label, code, region in country_choices():
            self.addItem(label, code)
            self.setItemData(self.count() - 1, region, Qt.ItemDataRole.UserRole + 1)
            self._by_label[label] = code
        completer = QCompleter(self.model(), self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.setCompleter(completer)
        line = self.lineEdit()
        assert line is not None  # editable
        line.setPlaceholderText(placeholder)
        line.setClearButtonEnabled(True)

    def code_text(self) -> str:
        """The code as chosen ("91") or, if typed, the text as typed."""
        text = self.currentText().strip()
        if text in self._by_label:
            return self._by_label[text]
        match = _CODE_IN_LABEL.search(text)
        return match.group(1) if match else text

    def set_code(self, code: str) -> None:
        """Show `code` as its country's entry ("91" → "India (+91)"); blank clears."""
        code = code.strip().lstrip("+")
        if not code:
            self.setCurrentIndex(-1)
            self.setEditText("")
            return
        region = phonenumbers.region_code_for_country_code(int(code)) if code.isdigit() else ""
        row = self.findData(region, Qt.ItemDataRole.UserRole + 1)
        if row < 0 or self.itemData(row) != code:
            row = self.findData(code)
        if row >= 0:
            self.setCurrentIndex(row)
        else:
            self.setCurrentIndex(-1)
            self.setEditText(code)


class UserDialog(QDialog):
    """Add (``original`` None) or edit one user. Emits `submitted` on Save; stays open
    until `accept` is called, so every rejection keeps what was typed."""

    submitted = Signal(object)
    """The `UserForm` to save."""
    recheckRequested = Signal()
    """"Check again": look once more whether a save with no clear answer went through."""
    confirmationAnswered = Signal(bool)
    """The answer to `ask`: True sends the change, False sends nothing."""

    def __init__(
        self,
        original: User | None = None,
        parent: QWidget | None = None,
        *,
        default_country_code: str = validation.DEFAULT_COUNTRY_CODE,
    ) -> None:
        super().__init__(parent)
        self._original = original
        self.setObjectName("userDialog")
        if original is None:
            self.setWindowTitle("Add user")
            self.setAccessibleName("Add user")
        else:
            self.setWindowTitle(f"Edit user: {original.name}")
            self.setAccessibleName(f"Edit user {original.name}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._inputs: dict[str, QWidget] = {}
        self._errors: dict[str, QLabel] = {}
        self._busy = False
        self._build()
        if original is None:
            self.set_form(UserForm(country_code=default_country_code))
        else:
            self.set_form(UserForm.from_user(original))

    # -- reading ----------------------------------------------------------------------

    @property
    def original(self) -> User | None:
        return self._original

    def form(self) -> UserForm:
        """Everything as typed and chosen."""
        return UserForm(
            name=self._name.text(),
            country_code=self._cc.code_text(),
            contact_number=self._number.text(),
            extension=self._extension.text(),
            email=self._email.text(),
            alternate_cc=self._alt_cc.code_text(),
            alternate_contact_number=self._alt_number.text(),
            panel_access=bool(self._panel.currentData()),
            receive_calls=bool(self._calls.currentData()),
            contact_type=ContactType(self._contact_type.currentData()),
        )

    def input(self, field: str) -> QWidget:
        """The widget that edits an API field (for tests and focus)."""
        return self._inputs[field]

    def field_error(self, field: str) -> str:
        """The error shown beside a field ("" when none)."""
        label = self._errors[field]
        return label.text() if not label.isHidden() else ""

    def field_errors(self) -> dict[str, str]:
        return {name: self.field_error(name) for name in FORM_FIELDS if self.field_error(name)}

    @property
    def message(self) -> str:
        return self._message.text() if not self._message.isHidden() else ""

    @property
    def save_button(self) -> QPushButton:
        return self._save

    @property
    def recheck_button(self) -> QPushButton:
        return self._recheck

    @property
    def confirm_bar(self) -> ConfirmBar:
        """The question before a change to another user is sent (hidden otherwise)."""
        return self._confirm

    # -- answering --------------------------------------------------------------------

    def set_form(self, form: UserForm) -> None:
        self._name.setText(form.name)
        self._cc.set_code(form.country_code)
        self._number.setText(form.contact_number)
        self._extension.setText(form.extension)
        self._email.setText(form.email)
        self._alt_cc.set_code(form.alternate_cc)
        self._alt_number.setText(form.alternate_contact_number)
        self._panel.setCurrentIndex(self._panel.findData(form.panel_access))
        self._calls.setCurrentIndex(self._calls.findData(form.receive_calls))
        self._contact_type.setCurrentIndex(self._contact_type.findData(form.contact_type.value))
        self.clear_errors()

    @Slot(object)
    def show_field_errors(self, errors: Mapping[str, str]) -> None:
        """Show each error beside its field and focus the first; an error about no known
        field goes to the message line."""
        self.clear_errors()
        others: list[str] = []
        first: QWidget | None = None
        for field, text in errors.items():
            if field in self._errors:
                self._set_error(field, text)
                if first is None:
                    first = self._inputs[field]
            else:
                others.append(text)
        if others:
            self.show_message(" ".join(others))
        if first is not None:
            first.setFocus(Qt.FocusReason.OtherFocusReason)
        self._fit_height()

    def clear_errors(self) -> None:
        for field in self._errors:
            self._set_error(field, "")
        self.show_message("")

    @Slot(str, str)
    def show_message(self, text: str, kind: str = "error") -> None:
        """A sentence about the whole save (kind: "error", "warning" or "info")."""
        self._message.setText(text)
        self._message.setVisible(bool(text))
        self._message.setProperty("kind", kind)
        palette = self._message.palette()
        palette.setColor(QPalette.ColorRole.WindowText, message_colour(kind, self.palette()))
        self._message.setPalette(palette)
        self._fit_height()

    @Slot(bool)
    def set_busy(self, busy: bool) -> None:
        """While a save is on its way: nothing can be edited or sent twice."""
        self._busy = busy
        self._fields.setEnabled(not busy)
        self._save.setEnabled(not busy and self._recheck.isHidden())
        self._recheck.setEnabled(not busy)
        if busy:
            self.show_message("Saving…" if self._original else "Adding…", "info")

    @Slot(object)
    def ask(self, confirmation: Confirmation) -> None:
        """Put the question under the form; the form waits (unchanged) for the answer."""
        self._fields.setEnabled(False)
        self._save.setEnabled(False)
        self.show_message("")
        self._confirm.ask(
            confirmation.title, confirmation.consequence, confirmation.confirm_label
        )
        self._fit_height()

    def reject(self) -> None:
        """Cancel or Esc while a question is open answers it no: the form stays."""
        if self._confirm.asking:
            self._confirm.no_button.click()
            return
        super().reject()

    @Slot(bool)
    def _answered(self, yes: bool) -> None:
        self._fields.setEnabled(True)
        self._save.setEnabled(self._recheck.isHidden())
        if not yes:
            self._name.setFocus(Qt.FocusReason.OtherFocusReason)
        self.confirmationAnswered.emit(yes)

    @Slot(bool)
    def set_recheck_available(self, available: bool) -> None:
        """While it is unclear whether a save went through, only "Check again" is offered:
        Save could send it a second time."""
        self._recheck.setVisible(available)
        self._save.setEnabled(not available and not self._busy)

    # -- building ---------------------------------------------------------------------

    def _build(self) -> None:
        self._message = QLabel(self)
        self._message.setObjectName("userDialogMessage")
        self._message.setAccessibleName("Save status")
        self._message.setWordWrap(True)
        self._message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._message.hide()
        self._recheck = QPushButton("Check &again", self)
        self._recheck.setObjectName("userDialogRecheck")
        self._recheck.setAccessibleName("Check again whether it was saved")
        self._recheck.setToolTip("Look at MyOperator's list again (nothing is sent)")
        self._recheck.clicked.connect(self.recheckRequested)
        self._recheck.hide()
        self._confirm = ConfirmBar("userDialogConfirm", self)
        self._confirm.answered.connect(self._answered)

        self._fields = QWidget(self)
        self._fields.setObjectName("userDialogFields")
        form = QFormLayout(self._fields)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)

        self._name = self._line("name", "userDialogName", "Full name")
        self._cc = CountryCodeBox(self._fields, placeholder="Country")
        self._register("country_code", self._cc, "userDialogCountryCode")
        self._number = self._line("contact_number", "userDialogContactNumber", "98765 43210")
        self._number.setToolTip(
            "The phone the cloud rings: with or without spaces, dashes, a leading 0 or +code"
        )
        low, high = validation.EXTENSION_RANGE
        self._extension = self._line("extension", "userDialogExtension", f"{low}–{high}")
        self._extension.setMaxLength(9)
        self._extension.setToolTip(
            f"A number, usually {low} to {high}, unique in the company (optional)"
        )
        self._email = self._line("email", "userDialogEmail", "name@example.com")
        self._alt_cc = CountryCodeBox(self._fields, placeholder="Country")
        self._register("alternate_cc", self._alt_cc, "userDialogAlternateCountryCode")
        self._alt_number = self._line(
            "alternate_contact_number", "userDialogAlternateNumber", "Optional"
        )
        self._panel = self._choices("panel_access", "userDialogPanelAccess", _PANEL_CHOICES)
        self._calls = self._choices("receive_calls", "userDialogReceiveCalls", _CALL_CHOICES)
        self._contact_type = self._choices(
            "contact_type",
            "userDialogContactType",
            tuple((label, value.value) for label, value in _CONTACT_CHOICES),
        )

        self._row(form, "&Name *", self._name, ("name",))
        number_row = QHBoxLayout()
        number_row.addWidget(self._cc, 2)
        number_row.addWidget(self._number, 3)
        self._row(form, "&Contact number *", number_row, ("country_code", "contact_number"),
                  buddy=self._number)
        self._row(form, "E&xtension", self._extension, ("extension",))
        self._row(form, "&Email", self._email, ("email",))
        alt_row = QHBoxLayout()
        alt_row.addWidget(self._alt_cc, 2)
        alt_row.addWidget(self._alt_number, 3)
        self._row(form, "&Alternate number", alt_row,
                  ("alternate_cc", "alternate_contact_number"), buddy=self._alt_number)
        self._row(form, "&Panel access", self._panel, ("panel_access",))
        self._row(form, "&Receives calls", self._calls, ("receive_calls",))
        self._row(form, "Contact &type", self._contact_type, ("contact_type",))

        required = QLabel("* required", self)
        required.setObjectName("userDialogRequiredHint")
        small = QFont(required.font())
        small.setPointSizeF(small.pointSizeF() * 0.9)
        required.setFont(small)

        buttons = QDialogButtonBox(self)
        buttons.setObjectName("userDialogButtons")
        self._save = buttons.addButton(
            "Add user" if self._original is None else "&Save changes",
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self._save.setObjectName("userDialogSave")
        self._save.setAccessibleName("Add user" if self._original is None else "Save changes")
        self._save.setDefault(True)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setObjectName("userDialogCancel")
        cancel.setAccessibleName("Cancel")
        buttons.accepted.connect(self._submit)
        buttons.rejected.connect(self.reject)

        message_row = QHBoxLayout()
        message_row.addWidget(self._message, 1)
        message_row.addWidget(self._recheck, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addWidget(self._fields)
        layout.addWidget(required)
        layout.addLayout(message_row)
        layout.addWidget(self._confirm)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def _register(self, field: str, widget: QWidget, object_name: str) -> None:
        widget.setObjectName(object_name)
        widget.setAccessibleName(FIELD_LABELS[field])
        self._inputs[field] = widget
        error = QLabel(self._fields)
        error.setObjectName(f"userDialogError_{field}")
        error.setAccessibleName(f"{FIELD_LABELS[field]} error")
        error.setWordWrap(True)
        palette = error.palette()
        palette.setColor(QPalette.ColorRole.WindowText, message_colour("error", self.palette()))
        error.setPalette(palette)
        error.hide()
        self._errors[field] = error
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(lambda _text, f=field: self._set_error(f, ""))
        elif isinstance(widget, CountryCodeBox):
            widget.editTextChanged.connect(lambda _text, f=field: self._set_error(f, ""))

    def _line(self, field: str, object_name: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit(self._fields)
        edit.setPlaceholderText(placeholder)
        self._register(field, edit, object_name)
        return edit

    def _choices(
        self, field: str, object_name: str, choices: tuple[tuple[str, object], ...]
    ) -> QComboBox:
        box = QComboBox(self._fields)
        for label, value in choices:
            box.addItem(label, value)
        self._register(field, box, object_name)
        box.currentIndexChanged.connect(lambda _i, f=field: self._set_error(f, ""))
        return box

    def _row(
        self,
        form: QFormLayout,
        caption: str,
        editor: QWidget | QHBoxLayout,
        fields: tuple[str, ...],
        *,
        buddy: QWidget | None = None,
    ) -> None:
        column = QVBoxLayout()
        column.setSpacing(2)
        if isinstance(editor, QWidget):
            column.addWidget(editor)
        else:
            column.addLayout(editor)
        for field in fields:
            column.addWidget(self._errors[field])
        label = QLabel(caption, self._fields)
        label.setBuddy(buddy if buddy is not None else self._inputs[fields[0]])
        form.addRow(label, column)

    def _fit_height(self) -> None:
        """Grow to show wrapped error lines whole (a shown dialog does not by itself)."""
        layout = self.layout()
        if layout is None or not self.isVisible():
            return
        layout.activate()
        wanted = (
            layout.totalHeightForWidth(self.width())
            if layout.hasHeightForWidth()
            else layout.totalSizeHint().height()
        )
        if wanted > self.height():
            self.resize(self.width(), wanted)

    def _set_error(self, field: str, text: str) -> None:
        label = self._errors[field]
        label.setText(text)
        label.setVisible(bool(text))
        self._inputs[field].setAccessibleDescription(text)

    @Slot()
    def _submit(self) -> None:
        self.submitted.emit(self.form())
