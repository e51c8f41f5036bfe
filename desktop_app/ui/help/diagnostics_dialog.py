"""Help → Diagnostics: the checks' table, Run again, Copy report, Close.

Non-modal, opened with ``show()``: a nested ``exec()`` inside the qasync loop would stall
the very checks it shows. Closing it (Close, Esc, the title bar) emits `finished`, which
the feature connects to the presenter's `cancel`.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.ui.help.diagnostics_model import DiagnosticsColumn, DiagnosticsModel

TITLE: Final = "Diagnostics"
COPY_TEXT: Final = "&Copy report"
COPIED_TEXT: Final = "Copied"
INTRO: Final = (
    "Checks of the connection to MyOperator, the token, and this computer. Nothing is "
    "changed. Copy report puts the results, versions, settings (without secrets) and the "
    "end of the log on the clipboard, to send to whoever helps you."
)


class DiagnosticsDialog(QDialog):
    """The table of checks over a `DiagnosticsModel`; requests go out as signals."""

    def __init__(self, model: DiagnosticsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagnosticsDialog")
        self.setAccessibleName(TITLE)
        self.setWindowTitle(TITLE)
        self.setModal(False)
        self.resize(900, 460)
        self._model = model

        intro = QLabel(INTRO, self)
        intro.setObjectName("diagnosticsIntro")
        intro.setAccessibleName("About the diagnostics")
        intro.setWordWrap(True)

        table = QTableView(self)
        table.setObjectName("diagnosticsTable")
        table.setAccessibleName("Checks and their results")
        table.setModel(model)
        table.setWordWrap(True)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        fit, stretch = QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch
        header.setSectionResizeMode(DiagnosticsColumn.CHECK, fit)
        header.setSectionResizeMode(DiagnosticsColumn.STATUS, fit)
        header.setSectionResizeMode(DiagnosticsColumn.RESULT, stretch)
        header.setSectionResizeMode(DiagnosticsColumn.ADVICE, stretch)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table = table

        self.progress = QProgressBar(self)
        self.progress.setObjectName("diagnosticsProgress")
        self.progress.setAccessibleName("Checks done")
        self.progress.setRange(0, model.rowCount())
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(160)
        self.summary_label = QLabel("", self)
        self.summary_label.setObjectName("diagnosticsSummary")
        self.summary_label.setAccessibleName("Diagnostics summary")
        self.summary_label.setWordWrap(True)
        status = QHBoxLayout()
        status.addWidget(self.progress)
        status.addWidget(self.summary_label, 1)

        buttons = QDialogButtonBox(self)
        buttons.setObjectName("diagnosticsButtons")
        self.run_button = QPushButton("&Run again", self)
        self.run_button.setObjectName("diagnosticsRunAgain")
        self.run_button.setAccessibleName("Run the checks again")
        self.copy_button = QPushButton(COPY_TEXT, self)
        self.copy_button.setObjectName("diagnosticsCopyReport")
        self.copy_button.setAccessibleName("Copy report")
        self.copy_button.setToolTip("Copy a report without secrets to the clipboard")
        buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        assert self.close_button is not None
        self.close_button.setObjectName("diagnosticsClose")
        self.close_button.setAccessibleName("Close diagnostics")
        buttons.rejected.connect(self.reject)
        # Buttons of an ActionRole do not close the dialog; Close rejects it.
        self.run_button.setAutoDefault(False)
        self.copy_button.setAutoDefault(False)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(table, 1)
        layout.addLayout(status)
        layout.addWidget(buttons)

        model.dataChanged.connect(self._show_progress)
        model.modelReset.connect(self._show_progress)
        self._show_progress()

    # -------------------------------------------------------------- rendering

    @Slot(bool)
    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        if running:
            self.copy_button.setText(COPY_TEXT)
        self._show_progress()

    @Slot(str)
    def set_summary(self, text: str) -> None:
        self.summary_label.setText(text)
        self.summary_label.setAccessibleDescription(text)

    @Slot()
    def show_copied(self) -> None:
        self.copy_button.setText(COPIED_TEXT)

    def _show_progress(self, *_args: object) -> None:
        self.progress.setRange(0, max(1, self._model.rowCount()))
        self.progress.setValue(self._model.done)
        self.table.resizeRowsToContents()
