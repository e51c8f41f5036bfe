"""The dialer's item model (recent numbers), the country choices, and the status kinds
(defined with the dial's state machine in `desktop_app.services.dial_flow`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import phonenumbers
from PySide6.QtCore import (
    QAbstractListModel,
    QLocale,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from desktop_app.api.validation import DEFAULT_COUNTRY_CODE
from desktop_app.services.dial_flow import (
    KIND_CHECKING,
    KIND_ERROR,
    KIND_IDLE,
    KIND_IN_FLIGHT,
    KIND_INFO,
    KIND_NOT_ANSWERED,
    KIND_OUTCOME,
    KIND_PLACED,
    KIND_UNKNOWN,
)
from desktop_app.services.formatting import calling_codes
from desktop_app.services.phone_input import PhoneInputError, parse_dialable

KEYPAD: Final = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "0", "⌫")
ROLE_E164: Final = int(Qt.ItemDataRole.UserRole)

# The status kinds (the `kind` of `show_status`, also the label's "kind" property).
__all__ = [
    "KIND_CHECKING",
    "KIND_ERROR",
    "KIND_IDLE",
    "KIND_INFO",
    "KIND_IN_FLIGHT",
    "KIND_NOT_ANSWERED",
    "KIND_OUTCOME",
    "KIND_PLACED",
    "KIND_UNKNOWN",
    "RecentNumbersModel",
    "country_choices",
]


def country_choices() -> list[tuple[str, str, str]]:
    """(label, dialling code, region) for every region phonenumbers knows, by name."""
    choices: list[tuple[str, str, str]] = []
    codes = calling_codes()
    for region in phonenumbers.SUPPORTED_REGIONS:
        cc = str(codes[region])
        name = QLocale.territoryToString(QLocale.codeToTerritory(region)) or region
        choices.append((f"{name} (+{cc})", cc, region))
    choices.sort(key=lambda item: item[0].casefold())
    return choices


class RecentNumbersModel(QAbstractListModel):
    """Recently dialled numbers (E.164), shown formatted; `ROLE_E164` gives the number."""

    def __init__(self, parent: QObject | None = None, *, home_cc: str = DEFAULT_COUNTRY_CODE):
        super().__init__(parent)
        self._numbers: list[str] = []
        self._home_cc = home_cc

    def set_numbers(self, numbers: Sequence[str]) -> None:
        self.beginResetModel()
        self._numbers = list(numbers)
        self.endResetModel()

    def numbers(self) -> list[str]:
        return list(self._numbers)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._numbers)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._numbers):
            return None
        e164 = self._numbers[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return _formatted(e164, self._home_cc)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{e164}: click to put it in the number field"
        if role == ROLE_E164:
            return e164
        return None


def _formatted(e164: str, home_cc: str) -> str:
    try:
        return parse_dialable(e164).formatted(home_cc)
    except PhoneInputError:
        return e164
