"""Item model of a call's legs (``log_details``): who was rung and what happened."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from desktop_app.api.models import Agent, CallLeg, LegStatus
from desktop_app.services.formatting import format_duration, local_datetime

STATUS_WORDS: Final[dict[LegStatus, str]] = {
    LegStatus.ANSWER: "Answered",
    LegStatus.NOANSWER: "Not answered",
    LegStatus.CANCEL: "Cancelled",
    LegStatus.UNKNOWN: "Unknown",
}
STATUS_EXPLANATIONS: Final[dict[LegStatus, str]] = {
    LegStatus.ANSWER: "The agent picked up.",
    LegStatus.NOANSWER: "It rang, but nobody picked up.",
    LegStatus.CANCEL: "The ringing was stopped before anyone picked up "
    "(the caller hung up, or another agent answered).",
    LegStatus.UNKNOWN: "MyOperator did not say what happened on this leg.",
}

AnyIndex = QModelIndex | QPersistentModelIndex
LegRole: Final = Qt.ItemDataRole.UserRole + 1
"""`data(index, LegRole)` gives the row's `CallLeg`."""


class Column(IntEnum):
    STARTED = 0
    AGENTS = 1
    ACTION = 2
    STATUS = 3
    TIME = 4


HEADERS: Final[dict[Column, str]] = {
    Column.STARTED: "Started",
    Column.AGENTS: "Rang",
    Column.ACTION: "Action",
    Column.STATUS: "Result",
    Column.TIME: "Ring / talk",
}


def describe_agent(agent: Agent) -> str:
    """``Asha Rao (ext. 12)``; the extension alone when the name is missing."""
    name = agent.name.strip()
    if agent.extension:
        return f"{name} (ext. {agent.extension})" if name else f"ext. {agent.extension}"
    return name or "Unnamed agent"


def describe_agents(leg: CallLeg, separator: str = ", ") -> str:
    return separator.join(describe_agent(a) for a in leg.received_by) or "Nobody"


def describe_time(leg: CallLeg) -> str:
    """Talk time of an answered leg, ring time of the others."""
    if leg.duration_s is None:
        return "—"
    verb = "talked" if leg.answered else "rang"
    return f"{verb} {format_duration(leg.duration_s)}"


class LegsModel(QAbstractTableModel):
    """Read-only rows of `CallLeg`s, replaced whole when another call is shown."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._legs: tuple[CallLeg, ...] = ()

    @property
    def legs(self) -> tuple[CallLeg, ...]:
        return self._legs

    def set_legs(self, legs: tuple[CallLeg, ...]) -> None:
        self.beginResetModel()
        self._legs = tuple(legs)
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._legs)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return HEADERS[Column(section)] if 0 <= section < len(Column) else None
        return str(section + 1) if 0 <= section < len(self._legs) else None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._legs):
            return None
        if not 0 <= index.column() < len(Column):
            return None
        leg = self._legs[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole and column is Column.AGENTS:
            return describe_agents(leg, "\n")  # one agent a line reads best in a narrow dock
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._display(leg, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.STATUS:
                return STATUS_EXPLANATIONS[leg.status]
            if column is Column.STARTED and leg.start_time is not None:
                return local_datetime(leg.start_time).strftime("%Y-%m-%d %H:%M:%S %Z")
            return self._display(leg, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (Column.STARTED, Column.TIME):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == LegRole:
            return leg
        return None

    @staticmethod
    def _display(leg: CallLeg, column: Column) -> str:
        if column is Column.STARTED:
            if leg.start_time is None:
                return "—"
            return local_datetime(leg.start_time).strftime("%H:%M:%S")
        if column is Column.AGENTS:
            return describe_agents(leg)
        if column is Column.ACTION:
            return (leg.action or "—").strip().capitalize() or "—"
        if column is Column.STATUS:
            return STATUS_WORDS[leg.status]
        return describe_time(leg)
