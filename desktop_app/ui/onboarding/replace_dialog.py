"""Preferences → Replace token: the same token form, tested before anything changes.

The account stays open on the old token until the new one has been accepted by the
service and kept; a rejected one changes nothing and stays in the field to be corrected.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from desktop_app.ui.onboarding.presenter import SignInPresenter, bind_form
from desktop_app.ui.onboarding.token_form import TokenForm


class ReplaceTokenDialog(QDialog):
    """Non-modal to the loop (``open()``, never ``exec()``), window-modal to the person."""

    def __init__(self, *, token_file: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replaceTokenDialog")
        self.setWindowTitle("Replace the API token")
        self.setAccessibleName("Replace the API token")
        self.form = TokenForm(
            file_path=token_file, submit_label="&Test and replace", parent=self
        )
        self.form.back_button.setText("Cancel")
        self.form.back_button.setAccessibleName("Cancel: keep the current token")
        self.form.backRequested.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(self.form)
        self.resize(560, 320)
        self.finished.connect(self.deleteLater)

    def bind(self, presenter: SignInPresenter) -> None:
        bind_form(self.form, presenter)
        self.rejected.connect(presenter.cancel_tasks)

    def open(self) -> None:
        super().open()
        self.form.focus_field()
