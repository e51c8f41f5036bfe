"""The callback worklist dock: a table model over `Worklist` rows, the panel, a presenter.

The rules (what makes a row, when it clears, what the flags mean) are in
`desktop_app.services.worklist`; the panel renders rows and forwards clicks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import tzinfo
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QFont, QKeySequence, QShortcut
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

from desktop_app.api.models import CallLog
from desktop_app.services.formatting import format_local_time, format_number
from desktop_app.services.worklist import Worklist, WorklistRow, format_try
from desktop_app.ui.theme import LIGHT_COLORS, ThemeColors

AnyIndex = QModelIndex | QPersistentModelIndex

NumberRole = Qt.ItemDataRole.UserRole + 1
"""The row's E.164 number."""
RowRole = Qt.ItemDataRole.UserRole + 2
"""The `WorklistRow` itself."""

EMPTY_TEXT = "No missed calls to call back"


class WorklistColumn(IntEnum):
    NUMBER = 0
    ATTEMPTS = 1
    FIRST = 2
    LAST = 3
    DEPARTMENT = 4
    FLAGS = 5
    MISSED_BY = 6


_HEADERS = {
    WorklistColumn.NUMBER: "Number",
    WorklistColumn.ATTEMPTS: "Tries",
    WorklistColumn.FIRST: "First try",
    WorklistColumn.LAST: "Last try",
    WorklistColumn.DEPARTMENT: "Department",
    WorklistColumn.FLAGS: "Flags",
    WorklistColumn.MISSED_BY: "Missed by",
}
_HEADER_TIPS = {
    WorklistColumn.ATTEMPTS: "Missed calls since the number last got through",
    WorklistColumn.FLAGS: "Priority: 3 or more tries. After hours: a try outside working hours",
    WorklistColumn.MISSED_BY: "Whether the calls rang you, or only your colleagues",
}


def flags_text(row: WorklistRow) -> str:
    parts = []
    if row.priority:
        parts.append("Priority")
    if row.after_hours:
        parts.append("After hours")
    return " · ".join(parts)


class WorklistModel(QAbstractTableModel):
    """The worklist's rows, in the service's order (priority first, then latest)."""

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.time,
        tz: tzinfo | None = None,
    ) -> None:
        super().__init__(parent)
        self._rows: list[WorklistRow] = []
        self._clock = clock
        self._tz = tz
        self._colors = LIGHT_COLORS
        self._bold = QFont()
        self._bold.setBold(True)

    # -- content --------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[WorklistRow]) -> None:
        """Replace the rows: in place when the same numbers come in the same order
        (keeps the selection and scroll), else a reset."""
        rows = list(rows)
        if [r.number for r in rows] == [r.number for r in self._rows]:
            self._rows = rows
            if rows:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(rows) - 1, len(WorklistColumn) - 1)
                )
            return
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def rows(self) -> list[WorklistRow]:
        return list(self._rows)

    def row_at(self, row: int) -> WorklistRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, number: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.number == number), -1)

    def set_colors(self, colors: ThemeColors) -> None:
        self._colors = colors
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(WorklistColumn) - 1)
            )

    # -- Qt -------------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(WorklistColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(WorklistColumn):
            return None
        column = WorklistColumn(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return _HEADERS[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return _HEADER_TIPS.get(column)
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row = self.row_at(index.row())
        if row is None or not 0 <= index.column() < len(WorklistColumn):
            return None
        column = WorklistColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == NumberRole:
            return row.number
        if role == RowRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._accessible(row)
        if role == Qt.ItemDataRole.FontRole and row.priority and column in (
            WorklistColumn.NUMBER, WorklistColumn.ATTEMPTS, WorklistColumn.FLAGS
        ):
            return self._bold
        if role == Qt.ItemDataRole.ForegroundRole:
            if column is WorklistColumn.FLAGS and row.priority:
                return self._colors.missed_fg
            if column is WorklistColumn.MISSED_BY and row.rang_me:
                return self._colors.missed_fg
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column is WorklistColumn.ATTEMPTS:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    def _display(self, row: WorklistRow, column: WorklistColumn) -> str:
        now = self._clock()
        match column:
            case WorklistColumn.NUMBER:
                return row.display
            case WorklistColumn.ATTEMPTS:
                return str(row.attempts)
            case WorklistColumn.FIRST:
                return format_try(row.first_try, now, self._tz)
            case WorklistColumn.LAST:
                return format_try(row.last_try, now, self._tz)
            case WorklistColumn.DEPARTMENT:
                return row.department or "—"
            case WorklistColumn.FLAGS:
                return flags_text(row)
            case WorklistColumn.MISSED_BY:
                return row.missed_by_text

    def _tooltip(self, row: WorklistRow, column: WorklistColumn) -> str:
        if column in (WorklistColumn.FIRST, WorklistColumn.LAST):
            stamp = row.first_try if column is WorklistColumn.FIRST else row.last_try
            return format_local_time(stamp)
        if column is WorklistColumn.DEPARTMENT and len(row.departments) > 1:
            return "Departments: " + ", ".join(row.departments)
        if column is WorklistColumn.MISSED_BY and row.rang:
            return "Rang: " + ", ".join(row.rang)
        lines = [f"{row.display} ({row.number})", f"{row.attempts} missed, unanswered"]
        if row.callback_attempts:
            lines.append(f"{row.callback_attempts} call-back attempt(s) did not connect")
        return "\n".join(lines)

    def _accessible(self, row: WorklistRow) -> str:
        last = format_try(row.last_try, self._clock(), self._tz)
        parts = [row.display, f"{row.attempts} tries", f"last at {last}"]
        if row.department:
            parts.append(row.department)
        flags = flags_text(row)
        if flags:
            parts.append(flags)
        parts.append(f"missed by {row.missed_by_text}")
        return ", ".join(parts)


class WorklistPanel(QWidget):
    """The dock's widget: a summary line, the table, Call back / Mark handled / Undo."""

    callBackRequested = Signal(str)
    """E.164 number to ring back (prefills the dialer; the dial guard still applies)."""
    markHandledRequested = Signal(str)
    undoRequested = Signal()
    openCallRequested = Signal(str)
    """The latest missed call of a row (double-click), to show in the log."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("worklistPanel")
        self.setAccessibleName("Callback list")
        self._model: WorklistModel | None = None
        self._keep_number: str | None = None
        self._keep_row = -1

        self.summary_label = QLabel(EMPTY_TEXT)
        self.summary_label.setObjectName("worklistSummary")
        self.summary_label.setAccessibleName("Callback list summary")

        self.table = QTableView()
        self.table.setObjectName("worklistTable")
        self.table.setAccessibleName("Numbers to call back")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
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
        font = self.call_back_button.font()
        font.setBold(True)
        self.call_back_button.setFont(font)

        buttons = QHBoxLayout()
        buttons.addWidget(self.call_back_button)
        buttons.addWidget(self.handled_button)
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

    def _update_buttons(self) -> None:
        has = self.current_row() is not None
        self.call_back_button.setEnabled(has)
        self.handled_button.setEnabled(has)

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


class WorklistPresenter(QObject):
    """Keeps the model in step with the cache: refreshes after new calls (coalesced: a
    first sync reports a page at a time) and every few minutes (rows age out of the
    horizon, "today" changes); runs mark handled and undo."""

    countChanged = Signal(int)
    """Missed calls still owed a call back (the tray's count)."""
    rowsChanged = Signal(object)
    """The open numbers (frozenset[str]) after a refresh."""
    undoChanged = Signal(bool, str)
    """(something to undo, the Undo button's text)."""

    def __init__(
        self,
        worklist: Worklist,
        model: WorklistModel,
        *,
        coalesce_ms: int = 200,
        refresh_interval_ms: int = 300_000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("worklistPresenter")
        self.worklist = worklist
        self.model = model
        self._count = -1
        self._pending = QTimer(self)
        self._pending.setObjectName("worklistRefreshPending")
        self._pending.setSingleShot(True)
        self._pending.setInterval(coalesce_ms)
        self._pending.timeout.connect(self.refresh)
        self._ticker = QTimer(self)
        self._ticker.setObjectName("worklistRefreshTicker")
        self._ticker.setInterval(refresh_interval_ms)
        self._ticker.timeout.connect(self.refresh)

    def start(self) -> None:
        """Show the rows the cache holds now, then keep them fresh."""
        self.refresh()
        self._ticker.start()

    def stop(self) -> None:
        self._pending.stop()
        self._ticker.stop()

    @property
    def count(self) -> int:
        return max(0, self._count)

    @Slot(object)
    def on_new_calls(self, calls: Sequence[CallLog]) -> None:
        """New calls were stored: refresh soon (once for a burst of pages)."""
        if calls:
            self._pending.start()

    @Slot()
    def refresh(self) -> None:
        self._pending.stop()
        self._apply(self.worklist.refresh())

    @Slot(str)
    def mark_handled(self, number: str) -> None:
        if self.worklist.mark_handled(number):
            self._apply(self.worklist.rows())

    @Slot()
    def undo(self) -> None:
        if self.worklist.undo() is not None:
            self._apply(self.worklist.rows())

    @Slot(str)
    def set_my_uuid(self, uuid: str) -> None:
        self.worklist.set_my_uuid(uuid or None)
        self.refresh()

    def _apply(self, rows: list[WorklistRow]) -> None:
        self.model.set_rows(rows)
        count = sum(r.attempts for r in rows)
        if count != self._count:
            self._count = count
            self.countChanged.emit(count)
        self.rowsChanged.emit(frozenset(r.number for r in rows))
        number = self.worklist.undo_number
        if number is None:
            self.undoChanged.emit(False, "Undo")
        else:
            self.undoChanged.emit(True, f"Undo: {format_number(number)} handled")
