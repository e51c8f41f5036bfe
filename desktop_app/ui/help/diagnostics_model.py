"""The diagnostics table: one row per check, in order, filled in as each finishes.

Every row is there from the start ("Waiting"), so a person sees what will be checked; the
row being checked says so; a finished row shows its status, what was found and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import QApplication, QStyle

from desktop_app.services.diagnostics import CHECK_NAMES, CheckResult, CheckStatus

AnyIndex = QModelIndex | QPersistentModelIndex

ResultRole: Final = Qt.ItemDataRole.UserRole + 1
"""The row's `CheckResult` (None until it has one)."""


class DiagnosticsColumn(IntEnum):
    CHECK = 0
    STATUS = 1
    RESULT = 2
    ADVICE = 3


_HEADERS: Final = {
    DiagnosticsColumn.CHECK: "Check",
    DiagnosticsColumn.STATUS: "Status",
    DiagnosticsColumn.RESULT: "Result",
    DiagnosticsColumn.ADVICE: "What to do",
}


class RowState(Enum):
    WAITING = "Waiting"
    RUNNING = "Checking…"
    DONE = "Done"
    NOT_RUN = "Not run"


_ICONS: Final = {
    CheckStatus.OK: QStyle.StandardPixmap.SP_DialogApplyButton,
    CheckStatus.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
    CheckStatus.FAILED: QStyle.StandardPixmap.SP_MessageBoxCritical,
    CheckStatus.SKIPPED: QStyle.StandardPixmap.SP_MessageBoxInformation,
}


@dataclass
class _Row:
    name: str
    state: RowState = RowState.WAITING
    result: CheckResult | None = None


class DiagnosticsModel(QAbstractTableModel):
    """The rows of `CHECK_NAMES` (or the names given) and what each found."""

    def __init__(
        self, names: Sequence[str] = CHECK_NAMES, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._rows = [_Row(name, RowState.NOT_RUN) for name in names]
        self._bold = QFont()
        self._bold.setBold(True)

    # -- content --------------------------------------------------------------------------

    def start_run(self) -> None:
        """Every row waiting again, the first one being checked."""
        for row in self._rows:
            row.state, row.result = RowState.WAITING, None
        if self._rows:
            self._rows[0].state = RowState.RUNNING
        self._changed(0, len(self._rows) - 1)

    def add_result(self, result: CheckResult) -> None:
        """`result`'s row is done; the next waiting row is being checked."""
        index = next((i for i, r in enumerate(self._rows) if r.name == result.name), -1)
        if index < 0:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
            self._rows.append(_Row(result.name))
            self.endInsertRows()
            index = len(self._rows) - 1
        row = self._rows[index]
        row.state, row.result = RowState.DONE, result
        following = next(
            (i for i in range(index + 1, len(self._rows))
             if self._rows[i].state is RowState.WAITING),
            None,
        )
        if following is not None:
            self._rows[following].state = RowState.RUNNING
        self._changed(index, following if following is not None else index)

    def stop(self) -> None:
        """The run ended early: rows without a result were not run."""
        for row in self._rows:
            if row.state in (RowState.WAITING, RowState.RUNNING):
                row.state = RowState.NOT_RUN
        self._changed(0, len(self._rows) - 1)

    def results(self) -> list[CheckResult]:
        """The results so far, in the order of the rows."""
        return [row.result for row in self._rows if row.result is not None]

    def state_of(self, row: int) -> RowState:
        return self._rows[row].state

    @property
    def done(self) -> int:
        return sum(row.result is not None for row in self._rows)

    @property
    def running_row(self) -> int:
        """The row being checked, or -1."""
        return next(
            (i for i, r in enumerate(self._rows) if r.state is RowState.RUNNING), -1
        )

    def _changed(self, first: int, last: int) -> None:
        if self._rows and first <= last:
            self.dataChanged.emit(
                self.index(first, 0), self.index(last, len(DiagnosticsColumn) - 1)
            )

    # -- Qt -------------------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(DiagnosticsColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(DiagnosticsColumn)
        ):
            return _HEADERS[DiagnosticsColumn(section)]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        if not 0 <= index.row() < len(self._rows):
            return None
        if not 0 <= index.column() < len(DiagnosticsColumn):
            return None
        row = self._rows[index.row()]
        column = DiagnosticsColumn(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == ResultRole:
            return row.result
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{row.name}: {self._display(row, DiagnosticsColumn.STATUS)}. " + (
                self._tooltip(row) if row.result is not None else ""
            )
        if role == Qt.ItemDataRole.DecorationRole and column is DiagnosticsColumn.STATUS:
            return self._icon(row)
        if role == Qt.ItemDataRole.FontRole and row.state is RowState.RUNNING:
            return self._bold
        return None

    @staticmethod
    def _display(row: _Row, column: DiagnosticsColumn) -> str:
        match column:
            case DiagnosticsColumn.CHECK:
                return row.name
            case DiagnosticsColumn.STATUS:
                if row.result is not None:
                    return row.result.status.label
                return row.state.value
            case DiagnosticsColumn.RESULT:
                return row.result.result if row.result is not None else ""
            case DiagnosticsColumn.ADVICE:
                return row.result.advice if row.result is not None else ""

    @staticmethod
    def _tooltip(row: _Row) -> str:
        if row.result is None:
            return row.state.value
        parts = [row.result.result]
        if row.result.advice:
            parts.append(f"What to do: {row.result.advice}")
        return "\n".join(parts)

    @staticmethod
    def _icon(row: _Row) -> QIcon | None:
        if row.result is None:
            return None
        style = QApplication.style()
        return style.standardIcon(_ICONS[row.result.status]) if style is not None else None
