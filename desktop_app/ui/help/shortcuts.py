"""Help → Keyboard shortcuts: every key the window answers to, read from the window itself.

The list is collected when the dialog opens, from the actions that carry the shortcuts
(the menus' and the window's own) and the window's `QShortcut` objects, so it can never
disagree with what the keys do. A `QShortcut` has no text of its own: its ``whatsThis``
says what it does (the window's Esc and Space set one); a panel's shortcut without one is
left out rather than shown as a riddle.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMenuBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

AnyIndex = QModelIndex | QPersistentModelIndex

TITLE: Final = "Keyboard shortcuts"
#: Where a shortcut that no menu holds is listed.
ANYWHERE: Final = "Window"
_MNEMONIC = re.compile(r"&(?!&)")


@dataclass(frozen=True, slots=True)
class ShortcutEntry:
    """One thing a key does: what, which keys (as this platform writes them), and where."""

    what: str
    keys: str
    where: str


def action_text(text: str) -> str:
    """A menu text as a sentence: no mnemonic ampersand, no trailing ellipsis."""
    return _MNEMONIC.sub("", text).replace("&&", "&").rstrip("…").rstrip(".").strip()


def keys_text(sequences: Iterable[QKeySequence]) -> str:
    return ", ".join(
        s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences if not s.isEmpty()
    )


def collect_shortcuts(window: QMainWindow) -> list[ShortcutEntry]:
    """Every shortcut of `window`: its menus' actions (menu by menu, in order), the actions
    added to the window itself, then its documented `QShortcut` objects."""
    entries: list[ShortcutEntry] = []
    seen: set[int] = set()

    def add_action(action: QAction, where: str) -> None:
        if id(action) in seen or action.isSeparator():
            return
        seen.add(id(action))
        keys = keys_text(action.shortcuts())
        if keys:
            entries.append(ShortcutEntry(action_text(action.text()), keys, where))

    def walk(menu: QMenu, where: str) -> None:
        for action in menu.actions():
            submenu = action.menu()
            if isinstance(submenu, QMenu):
                walk(submenu, f"{where} → {action_text(submenu.title())}")
            else:
                add_action(action, where)

    for bar in window.findChildren(QMenuBar):
        for entry in bar.actions():
            menu = entry.menu()
            if isinstance(menu, QMenu):
                walk(menu, action_text(menu.title()))
    for action in window.actions():
        add_action(action, ANYWHERE)
    for shortcut in window.findChildren(QShortcut):
        what = shortcut.whatsThis().strip()
        keys = keys_text([shortcut.key()])
        if what and keys and shortcut.isEnabled():
            entries.append(ShortcutEntry(what, keys, ANYWHERE))
    return entries


class ShortcutsColumn(IntEnum):
    WHAT = 0
    KEYS = 1
    WHERE = 2


_HEADERS: Final = {
    ShortcutsColumn.WHAT: "What",
    ShortcutsColumn.KEYS: "Keys",
    ShortcutsColumn.WHERE: "Menu",
}


class ShortcutsModel(QAbstractTableModel):
    """The entries of `collect_shortcuts`, one row each."""

    def __init__(
        self, entries: Sequence[ShortcutEntry] = (), parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._entries = list(entries)

    def set_entries(self, entries: Sequence[ShortcutEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()

    def entries(self) -> list[ShortcutEntry]:
        return list(self._entries)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(ShortcutsColumn)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(ShortcutsColumn)
        ):
            return _HEADERS[ShortcutsColumn(section)]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        if not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return (entry.what, entry.keys, entry.where)[index.column()]
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{entry.what}: {entry.keys}"
        return None


class ShortcutsDialog(QDialog):
    """The shortcuts table with a search box over it; non-modal (``show()``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setAccessibleName(TITLE)
        self.setWindowTitle(TITLE)
        self.setModal(False)
        self.resize(560, 480)
        self.model = ShortcutsModel(parent=self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setObjectName("shortcutsFilter")
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.search = QLineEdit(self)
        self.search.setObjectName("shortcutsSearch")
        self.search.setAccessibleName("Search shortcuts")
        self.search.setPlaceholderText("Search: a word or a key (Ctrl, F5…)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)

        self.table = QTableView(self)
        self.table.setObjectName("shortcutsTable")
        self.table.setAccessibleName("Keyboard shortcuts")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(ShortcutsColumn.WHAT, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(ShortcutsColumn.KEYS, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(
            ShortcutsColumn.WHERE, QHeaderView.ResizeMode.ResizeToContents
        )

        self.empty_label = QLabel("No shortcut matches the search.", self)
        self.empty_label.setObjectName("shortcutsEmpty")
        self.empty_label.setAccessibleName("No matching shortcut")
        self.empty_label.hide()
        self.proxy.rowsInserted.connect(self._show_empty)
        self.proxy.rowsRemoved.connect(self._show_empty)
        self.proxy.modelReset.connect(self._show_empty)
        self.proxy.layoutChanged.connect(self._show_empty)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.setObjectName("shortcutsButtons")
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(buttons)

    def show_entries(self, entries: Sequence[ShortcutEntry]) -> None:
        self.model.set_entries(entries)
        self._show_empty()

    def _show_empty(self, *_args: object) -> None:
        self.empty_label.setVisible(self.proxy.rowCount() == 0)
