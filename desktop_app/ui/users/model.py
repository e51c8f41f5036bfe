"""The users table: one row per user of the account, and the proxy that sorts and filters it.

The model holds the service's list as it is (a team is small: a reset per refresh is
cheaper than diffing and keeps the code plain). Filtering does not re-implement the search
rules: the proxy is handed the set of uuids the cache's search matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QFont, QPalette
from PySide6.QtWidgets import QApplication

from desktop_app.api.models import User
from desktop_app.services.formatting import DEFAULT_HOME_REGION, format_number
from desktop_app.services.users import CONTACT_TYPE_LABELS

ModelIndex = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    NAME = 0
    EXTENSION = 1
    NUMBER = 2
    EMAIL = 3
    ROLE = 4
    RECEIVES_CALLS = 5
    PANEL_ACCESS = 6
    CONTACT_TYPE = 7


HEADERS: dict[Column, tuple[str, str]] = {
    Column.NAME: ("Name", "The user's name"),
    Column.EXTENSION: ("Ext.", "Extension"),
    Column.NUMBER: ("Number", "Contact number (the phone the cloud rings)"),
    Column.EMAIL: ("Email", "Email address"),
    Column.ROLE: ("Role", "SuperAdmin, Admin, Manager or Basic"),
    Column.RECEIVES_CALLS: ("Receives calls", "Whether IVR calls ring this user"),
    Column.PANEL_ACCESS: ("Panel access", "Whether the user may log in to the panel"),
    Column.CONTACT_TYPE: ("Contact type", "Mobile, SIP or landline"),
}
#: The `User` of a row.
UserRole = Qt.ItemDataRole.UserRole + 1
#: What the proxy sorts by: numbers as numbers, text without case, unknowns last.
SortRole = Qt.ItemDataRole.UserRole + 2
#: The user's uuid.
UuidRole = Qt.ItemDataRole.UserRole + 3

_LAST = "\U0010ffff"  # sorts text after everything
_UNKNOWN_NUMBER = 1 << 40


def yes_no(value: bool | None) -> str:
    return "—" if value is None else ("Yes" if value else "No")


def shown_number(user: User, home_region: str = DEFAULT_HOME_REGION) -> str:
    """The contact number as a person reads it (national at home, else international)."""
    if user.number_e164:
        return format_number(user.number_e164, home_region)
    if user.contact_number:
        return f"+{user.country_code} {user.contact_number}" if user.country_code else (
            user.contact_number
        )
    return ""


class UsersModel(QAbstractTableModel):
    """Read-only table over a list of `User` (see `Column`)."""

    def __init__(
        self, parent: QObject | None = None, *, home_region: str = DEFAULT_HOME_REGION
    ) -> None:
        super().__init__(parent)
        self.setObjectName("usersModel")
        self._users: tuple[User, ...] = ()
        self._rows: dict[str, int] = {}
        self._home_region = home_region

    # -- content ----------------------------------------------------------------------

    def set_users(self, users: Sequence[User]) -> None:
        self.beginResetModel()
        self._users = tuple(users)
        self._rows = {u.uuid: i for i, u in enumerate(self._users)}
        self.endResetModel()

    @property
    def users(self) -> tuple[User, ...]:
        return self._users

    def user_at(self, row: int) -> User | None:
        return self._users[row] if 0 <= row < len(self._users) else None

    def row_of(self, uuid: str) -> int:
        """The row of the user with `uuid`, or -1."""
        return self._rows.get(uuid, -1)

    # -- Qt ---------------------------------------------------------------------------

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._users)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        title, tip = HEADERS[Column(section)]
        if role == Qt.ItemDataRole.DisplayRole:
            return title
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return tip
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        user = self.user_at(index.row())
        if user is None or not 0 <= index.column() < len(Column):
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(user, column)
        if role == UserRole:
            return user
        if role == UuidRole:
            return user.uuid
        if role == SortRole:
            return _sort_key(user, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(user, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            text = self._text(user, column) or "none"
            if column is Column.NAME and user.is_enabled is False:
                text += ", account disabled"
            return f"{HEADERS[column][1]}: {text}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.EXTENSION:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if user.is_enabled is False:
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QApplication.palette().color(QPalette.ColorRole.PlaceholderText))
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setItalic(True)
                return font
        return None

    def _text(self, user: User, column: Column) -> str:
        if column is Column.NAME:
            return user.name or "(no name)"
        if column is Column.EXTENSION:
            return "" if user.extension is None else str(user.extension)
        if column is Column.NUMBER:
            return shown_number(user, self._home_region)
        if column is Column.EMAIL:
            return user.email or ""
        if column is Column.ROLE:
            return "—" if user.role is None else user.role.label
        if column is Column.RECEIVES_CALLS:
            return yes_no(user.receives_calls)
        if column is Column.PANEL_ACCESS:
            return yes_no(user.panel_access)
        return "—" if user.contact_type is None else CONTACT_TYPE_LABELS[user.contact_type]

    def _tooltip(self, user: User, column: Column) -> str | None:
        if column is Column.NAME and user.is_enabled is False:
            return f"{user.name}: this account is disabled"
        if column is Column.NUMBER:
            lines = [user.number_e164 or self._text(user, column)]
            if user.alternate_contact_number:
                cc = f"+{user.alternate_cc} " if user.alternate_cc else ""
                lines.append(f"Alternate: {cc}{user.alternate_contact_number}")
            return "\n".join(line for line in lines if line) or None
        return None


def _sort_key(user: User, column: Column) -> Any:
    if column is Column.NAME:
        return (user.name or _LAST).casefold()
    if column is Column.EXTENSION:
        return _UNKNOWN_NUMBER if user.extension is None else user.extension
    if column is Column.NUMBER:
        return user.number_e164 or user.contact_number or _LAST
    if column is Column.EMAIL:
        return (user.email or _LAST).casefold()
    if column is Column.ROLE:
        return _UNKNOWN_NUMBER if user.role is None else int(user.role)
    if column is Column.RECEIVES_CALLS:
        return _flag_order(user.receives_calls)
    if column is Column.PANEL_ACCESS:
        return _flag_order(user.panel_access)
    return CONTACT_TYPE_LABELS[user.contact_type] if user.contact_type else _LAST


def _flag_order(value: bool | None) -> int:
    return 2 if value is None else (0 if value else 1)


class UsersProxyModel(QSortFilterProxyModel):
    """Sorts by `SortRole` (ties by name) and shows only the rows `set_matches` allows."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("usersProxyModel")
        self.setSortRole(SortRole)
        self.setDynamicSortFilter(True)
        self._matches: frozenset[str] | None = None

    @property
    def matches(self) -> frozenset[str] | None:
        return self._matches

    def set_matches(self, uuids: frozenset[str] | None) -> None:
        """Show only these users (None: everyone)."""
        if uuids == self._matches:
            return
        self.beginFilterChange()
        self._matches = uuids
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        if self._matches is None:
            return True
        source = self.sourceModel()
        uuid = source.index(source_row, 0, source_parent).data(UuidRole)
        return uuid in self._matches

    def lessThan(self, left: ModelIndex, right: ModelIndex) -> bool:
        a, b = left.data(SortRole), right.data(SortRole)
        if a != b:
            return bool(a < b)
        model = left.model()
        name_a = model.index(left.row(), Column.NAME).data(SortRole)
        name_b = model.index(right.row(), Column.NAME).data(SortRole)
        return bool(name_a < name_b)

    def user_at(self, row: int) -> User | None:
        """The `User` of a proxy row."""
        value = self.index(row, 0).data(UserRole)
        return value if isinstance(value, User) else None

    def row_of(self, uuid: str) -> int:
        """The proxy row showing `uuid`, or -1 (filtered out or unknown)."""
        source = self.sourceModel()
        if not isinstance(source, UsersModel):
            return -1
        row = source.row_of(uuid)
        if row < 0:
            return -1
        return self.mapFromSource(source.index(row, 0)).row()
