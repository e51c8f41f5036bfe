"""The callback list's table model over `Worklist` rows.

The rules (what makes a row, when it clears, what the flags mean) are in
`desktop_app.services.worklist`. Through the team relay, a row someone is on says so
("Priya is on it", "You are on it": `services.team_claims`) in its "Missed by" column.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import tzinfo
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QFont

from desktop_app.services.formatting import format_local_time
from desktop_app.services.worklist import WorklistRow, format_try
from desktop_app.ui.common.theme import LIGHT_COLORS, ThemeColors

AnyIndex = QModelIndex | QPersistentModelIndex

NumberRole = Qt.ItemDataRole.UserRole + 1
"""The row's E.164 number."""
RowRole = Qt.ItemDataRole.UserRole + 2
"""The `WorklistRow` itself."""
ClaimRole = Qt.ItemDataRole.UserRole + 3
"""Who is on the row's callback ("Priya is on it"), or None."""
ClaimedByMeRole = Qt.ItemDataRole.UserRole + 4
"""Whether this agent is on the row's callback (its action is then Release)."""


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
        self._claims: dict[str, str] = {}
        self._mine: frozenset[str] = frozenset()
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

    def set_claims(self, sentences: Mapping[str, str], mine: frozenset[str]) -> None:
        """Who is on which number's callback (number → sentence), and which are this
        agent's."""
        if dict(sentences) == self._claims and mine == self._mine:
            return
        self._claims = dict(sentences)
        self._mine = mine
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(WorklistColumn) - 1)
            )

    def claim_of(self, number: str) -> str | None:
        return self._claims.get(number)

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
        if role == ClaimRole:
            return self._claims.get(row.number)
        if role == ClaimedByMeRole:
            return row.number in self._mine
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
                claim = self._claims.get(row.number)
                return row.missed_by_text if claim is None else f"{claim} · {row.missed_by_text}"

    def _tooltip(self, row: WorklistRow, column: WorklistColumn) -> str:
        if column in (WorklistColumn.FIRST, WorklistColumn.LAST):
            stamp = row.first_try if column is WorklistColumn.FIRST else row.last_try
            return format_local_time(stamp)
        if column is WorklistColumn.DEPARTMENT and len(row.departments) > 1:
            return "Departments: " + ", ".join(row.departments)
        claim = self._claims.get(row.number)
        if column is WorklistColumn.MISSED_BY and row.rang:
            return "\n".join([*([claim] if claim else []), "Rang: " + ", ".join(row.rang)])
        lines = [f"{row.display} ({row.number})", f"{row.attempts} missed, unanswered"]
        if claim:
            lines.append(claim)
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
        if claim := self._claims.get(row.number):
            parts.append(claim)
        return ", ".join(parts)
