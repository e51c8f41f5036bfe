"""Preferences → Replace token, or Connect through the team relay: the same forms as the
first run, tested before anything changes.

The account stays open as it is until the new secret has been accepted (by MyOperator or
by the relay) and kept; a rejected one changes nothing and stays in the field to be
corrected.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from desktop_app.ui.onboarding.presenter import SignInPresenter, bind_form
from desktop_app.ui.onboarding.token_form import RelayForm, TokenForm


class ReplaceTokenDialog(QDialog):
    """Non-modal to the loop (``open()``, never ``exec()``), window-modal to the person.
    With `relay_address` (None: the API token), the relay's address and credential."""

    def __init__(
        self,
        *,
        token_file: str,
        relay_address: str | None = None,
        title: str = "Replace the API token",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("replaceTokenDialog")
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.form: TokenForm
        if relay_address is None:
            self.form = TokenForm(
                file_path=token_file, submit_label="&Test and replace", parent=self
            )
        else:
            self.form = RelayForm(
                file_path=token_file, submit_label="&Test and connect",
                address=relay_address, parent=self,
            )
        self.form.back_button.setText("Cancel")
        self.form.back_button.setAccessibleName("Cancel: keep the current connection")
        self.form.backRequested.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(self.form)
        self.resize(560, 320 if relay_address is None else 400)
        self.finished.connect(self.deleteLater)

    def bind(self, presenter: SignInPresenter) -> None:
        bind_form(self.form, presenter)
        self.rejected.connect(presenter.cancel_tasks)

    def open(self) -> None:
        super().open()
        self.form.focus_field()
