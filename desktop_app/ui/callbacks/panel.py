"""The callback list panel: renders rows and forwards clicks.

Through the team relay it also offers "I'm on it" / "Release" for the selected row (a
button, the row's context menu, Ctrl+I): the presenter asks the relay, the team sees it.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.services.worklist import WorklistRow
from desktop_app.ui.callbacks.model import ClaimedByMeRole, WorklistColumn, WorklistModel

EMPTY_TEXT = "No missed calls to call back"
CLAIM_TEXT = "I'm on it"
RELEASE_TEXT = "Release"


class WorklistPanel(QWidget):
    """The dock's widget: a summary line, the table, Call back / Mark handled / Undo."""

    callBackRequested = Signal(str)
    """E.164 number to ring back (prefills the dialer; the dial guard still applies)."""
    markHandledRequested = Signal(str)
    undoRequested = Signal()
    openCallRequested = Signal(str)
    """The latest missed call of a row (double-click), to show in the log."""
    claimRequested = Signal(str)
    """Through the team relay: tell the team this agent is on the number's callback."""
    releaseRequested = Signal(str)
    """Through the team relay: this agent is no longer on the number's callback."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("worklistPanel")
        self.setAccessibleName("Callback list")
        self._model: WorklistModel | None = None
        self._keep_number: str | None = None
        self._keep_row = -1
        self._claims_enabled = False

        self.summary_label = QLabel(EMPTY_TEXT)
        self.summary_label.setObjectName("worklistSummary")
        self.summary_label.setAccessibleName("Callback list summary")

        self.table = QTableView()
        self.table.setObjectName("worklistTable")
        self.table.setAccessibleName("Numbers to call back")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.doubleClicked.connect(self._on_double_click)

        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("worklistEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.table)

        self.call_back_button = self._button("worklistCallBack", "Call back",
                                             "Call the selected number back")
        self.handled_button = self._button("worklistMarkHandled", "Mark handled",
                                           "Remove the selected number from the list")
        self.undo_button = self._button("worklistUndo", "Undo", "Undo the last mark handled")
        self.undo_button.setEnabled(False)
        self.claim_button = self._button("worklistClaim", CLAIM_TEXT,
                                         "Tell the team you are on the selected callback")
        self.claim_button.setVisible(False)  # through the team relay only
        self.claim_action = QAction(CLAIM_TEXT, self)
        self.claim_action.setObjectName("worklistClaimAction")
        self.claim_action.setShortcut(QKeySequence("Ctrl+I"))
        self.claim_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.claim_action.setEnabled(False)
        font = self.call_back_button.font()
        font.setBold(True)
        self.call_back_button.setFont(font)

        buttons = QHBoxLayout()
        buttons.addWidget(self.call_back_button)
        buttons.addWidget(self.handled_button)
        buttons.addWidget(self.claim_button)
        buttons.addStretch(1)
        buttons.addWidget(self.undo_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.stack, 1)
        layout.addLayout(buttons)

        self.call_back_button.clicked.connect(self._call_back)
        self.handled_button.clicked.connect(self._mark_handled)
        self.undo_button.clicked.connect(self.undoRequested)
        self.claim_button.clicked.connect(self._claim_or_release)
        self.claim_action.triggered.connect(self._claim_or_release)
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            (QKeySequence(Qt.Key.Key_Return), self._call_back),
            (QKeySequence(Qt.Key.Key_Enter), self._call_back),
            (QKeySequence("Ctrl+D"), self._mark_handled),
            (QKeySequence(QKeySequence.StandardKey.Undo), self._undo),
        ):
            shortcut = QShortcut(keys, self)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)
        self.call_back_button.setToolTip("Call the selected number back (Enter)")
        self.handled_button.setToolTip("Remove the selected number from the list (Ctrl+D)")
        self.undo_button.setToolTip("Undo the last mark handled (Ctrl+Z)")
        self._update_buttons()

    def _button(self, name: str, text: str, accessible: str) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(accessible)
        return button

    # -- model ----------------------------------------------------------------------------

    def attach_model(self, model: WorklistModel) -> None:
        self._model = model
        self.table.setModel(model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        widths = {
            WorklistColumn.NUMBER: 124, WorklistColumn.ATTEMPTS: 44,
            WorklistColumn.FIRST: 84, WorklistColumn.LAST: 84, WorklistColumn.DEPARTMENT: 96,
            WorklistColumn.FLAGS: 128,
        }
        for column, width in widths.items():
            self.table.setColumnWidth(column, width)
        header.setStretchLastSection(True)
        model.modelAboutToBeReset.connect(self._remember_selection)
        model.modelReset.connect(self._after_change)
        model.dataChanged.connect(self._after_change)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._after_change()

    def _remember_selection(self) -> None:
        self._keep_number = self.current_number()
        selected = self.table.selectionModel().selectedRows()
        self._keep_row = selected[0].row() if selected else -1

    def _after_change(self) -> None:
        model = self._model
        rows = model.rows() if model is not None else []
        if self._keep_number is not None and model is not None:
            # The same number if it is still listed, else the row that took its place, so
            # the keyboard can work down the list (Ctrl+D, Ctrl+D, …).
            if not self.select_number(self._keep_number) and rows and self._keep_row >= 0:
                self.table.selectRow(min(self._keep_row, len(rows) - 1))
            self._keep_number = None
        self.stack.setCurrentWidget(self.table if rows else self.empty_label)
        if rows:
            calls = sum(r.attempts for r in rows)
            numbers = "number" if len(rows) == 1 else "numbers"
            missed = "missed call" if calls == 1 else "missed calls"
            priority = sum(1 for r in rows if r.priority)
            text = f"{len(rows)} {numbers} to call back · {calls} {missed}"
            if priority:
                text += f" · {priority} priority"
            self.summary_label.setText(text)
        else:
            self.summary_label.setText(EMPTY_TEXT)
        self._update_buttons()

    # -- selection ------------------------------------------------------------------------

    def focus_list(self) -> None:
        """Keyboard focus into the list (its first row selected if none is), so Enter
        calls back and Ctrl+D marks handled at once; on the panel when the list is empty."""
        if self.stack.currentWidget() is not self.table:
            self.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        if self.current_row() is None:
            self.table.selectRow(0)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def current_row(self) -> WorklistRow | None:
        if self._model is None:
            return None
        selected = self.table.selectionModel().selectedRows()
        return self._model.row_at(selected[0].row()) if selected else None

    def current_number(self) -> str | None:
        row = self.current_row()
        return row.number if row is not None else None

    def select_number(self, number: str) -> bool:
        if self._model is None:
            return False
        row = self._model.row_of(number)
        if row < 0:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self._model.index(row, 0))
        return True

    # -- actions --------------------------------------------------------------------------

    @Slot(bool, str)
    def set_undo(self, available: bool, text: str = "") -> None:
        """The presenter says whether there is something to undo, and what."""
        self.undo_button.setEnabled(available)
        self.undo_button.setText(text if available and text else "Undo")

    def enable_claims(self) -> None:
        """Through the team relay: offer "I'm on it" / "Release" (button, context menu,
        Ctrl+I)."""
        self._claims_enabled = True
        self.claim_button.setVisible(True)
        self.claim_button.setToolTip("Tell the team you are on the selected callback (Ctrl+I)")
        self.addAction(self.claim_action)
        self.table.addAction(self.claim_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._update_buttons()

    def _selected_is_mine(self) -> bool:
        selected = self.table.selectionModel().selectedRows() if self._model else []
        return bool(selected and self._model and self._model.data(selected[0], ClaimedByMeRole))

    def _update_buttons(self) -> None:
        has = self.current_row() is not None
        self.call_back_button.setEnabled(has)
        self.handled_button.setEnabled(has)
        text = RELEASE_TEXT if has and self._selected_is_mine() else CLAIM_TEXT
        for control in (self.claim_button, self.claim_action):
            control.setEnabled(has)
            control.setText(text)

    def _claim_or_release(self) -> None:
        number = self.current_number()
        if not number or not self._claims_enabled:
            return
        if self._selected_is_mine():
            self.releaseRequested.emit(number)
        else:
            self.claimRequested.emit(number)

    def _call_back(self) -> None:
        number = self.current_number()
        if number:
            self.callBackRequested.emit(number)

    def _mark_handled(self) -> None:
        number = self.current_number()
        if number:
            self.markHandledRequested.emit(number)

    def _undo(self) -> None:
        if self.undo_button.isEnabled():
            self.undoRequested.emit()

    def _on_double_click(self, index: QModelIndex) -> None:
        row = self._model.row_at(index.row()) if self._model is not None else None
        if row is not None:
            self.openCallRequested.emit(row.last_call_id)
