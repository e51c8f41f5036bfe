""""Which user are you?": the account's users, searchable, and one of them chosen.

Used by Preferences (Account page) and the first-run flow. The widget renders and
forwards: the users come in through `set_users`, the answer leaves through `chosen`
(a uuid, or "" for "Not in the list"). Typing in the search filters the list (every
word must match a name, an email, an extension or a fragment of a number's digits, as
the users panel's search does); Down goes into the list, Up from its first row back to
the search; Enter, Space or a click chooses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api.models import User
from desktop_app.ui.users.model import shown_number

ModelIndex = QModelIndex | QPersistentModelIndex

UuidRole = Qt.ItemDataRole.UserRole + 1
#: The second line: extension, number, email.
DetailRole = Qt.ItemDataRole.UserRole + 2
#: True on the row of the user chosen as me.
ChosenRole = Qt.ItemDataRole.UserRole + 3
#: The `User` of a row (None on the "Not in the list" row).
UserRole = Qt.ItemDataRole.UserRole + 4

SKIP_LABEL = "Not in the list — skip"
SKIP_DETAIL = "No user is me; this can be chosen later in Preferences"
_CHOSEN_TAG = "✓ You"


def user_detail(user: User) -> str:
    """Extension, number and email: the second line of a user's row."""
    parts = []
    if user.extension is not None:
        parts.append(f"Ext. {user.extension}")
    number = shown_number(user)
    if number:
        parts.append(number)
    if user.email:
        parts.append(user.email)
    return "  ·  ".join(parts)


def user_matches(user: User, text: str) -> bool:
    """Every word of `text` is in the name, email or extension (any case), or, for a
    word with digits, in the digits of the contact number (with or without a trunk 0)."""
    haystack = " ".join(
        str(part) for part in (user.name, user.email, user.extension) if part is not None
    ).casefold()
    digits = "".join(
        c for c in f"{user.number_e164 or ''} {user.contact_number or ''}" if c.isdigit()
    )
    for word in text.casefold().split():
        if word in haystack:
            continue
        typed = "".join(c for c in word if c.isdigit())
        if typed and (typed in digits or (typed.lstrip("0") or typed) in digits):
            continue
        return False
    return True


class MeUsersModel(QAbstractListModel):
    """The users, then one "Not in the list" row (uuid "")."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("meUsersModel")
        self._users: tuple[User, ...] = ()
        self._chosen: str | None = None

    @property
    def users(self) -> tuple[User, ...]:
        return self._users

    def set_users(self, users: Sequence[User]) -> None:
        self.beginResetModel()
        self._users = tuple(users)
        self.endResetModel()

    def set_chosen(self, uuid: str | None) -> None:
        self._chosen = uuid or None
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0), self.index(self.rowCount() - 1), [ChosenRole]
            )

    def user(self, uuid: str) -> User | None:
        return next((u for u in self._users if u.uuid == uuid), None)

    def row_of(self, uuid: str) -> int:
        """The row of `uuid` ("" is the "Not in the list" row), or -1."""
        if not uuid:
            return len(self._users)
        return next((i for i, u in enumerate(self._users) if u.uuid == uuid), -1)

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._users) + 1

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() <= len(self._users):
            return None
        user = self._users[index.row()] if index.row() < len(self._users) else None
        if user is None:
            return {
                Qt.ItemDataRole.DisplayRole: SKIP_LABEL,
                DetailRole: SKIP_DETAIL,
                UuidRole: "",
                ChosenRole: False,
                Qt.ItemDataRole.AccessibleTextRole: SKIP_LABEL,
                Qt.ItemDataRole.ToolTipRole: SKIP_DETAIL,
            }.get(role)
        if role == Qt.ItemDataRole.DisplayRole:
            return user.name or "(no name)"
        if role == DetailRole:
            return user_detail(user)
        if role == UuidRole:
            return user.uuid
        if role == UserRole:
            return user
        if role == ChosenRole:
            return user.uuid == self._chosen
        if role == Qt.ItemDataRole.AccessibleTextRole:
            text = ", ".join(p for p in (user.name, user_detail(user)) if p)
            return text + (", chosen as you" if user.uuid == self._chosen else "")
        if role == Qt.ItemDataRole.ToolTipRole:
            return user_detail(user) or None
        return None


class MeUsersFilter(QSortFilterProxyModel):
    """The users matching the search (`user_matches`); "Not in the list" always shows."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("meUsersFilter")
        self._text = ""

    def set_text(self, text: str) -> None:
        if text == self._text:
            return
        self.beginFilterChange()
        self._text = text
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:
        user = self.sourceModel().index(source_row, 0, source_parent).data(UserRole)
        return not isinstance(user, User) or user_matches(user, self._text)


class TwoLineDelegate(QStyledItemDelegate):
    """Name on the first line (bold for the chosen user, with a tag), details muted on
    the second."""

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        line = option.fontMetrics.height()
        return QSize(200, line * 2 + 14)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        name, detail = opt.text, str(index.data(DetailRole) or "")
        chosen = bool(index.data(ChosenRole))
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette: QPalette = opt.palette
        main = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        muted = main if selected else palette.color(QPalette.ColorRole.PlaceholderText)
        rect: QRect = opt.rect.adjusted(10, 6, -10, -6)
        line = opt.fontMetrics.height()
        painter.save()
        font = opt.font
        if chosen:
            font.setBold(True)
        painter.setFont(font)
        painter.setPen(main)
        tag_width = 0
        if chosen:
            tag_width = painter.fontMetrics().horizontalAdvance(_CHOSEN_TAG) + 12
            painter.drawText(
                QRect(rect.left(), rect.top(), rect.width(), line),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                _CHOSEN_TAG,
            )
        first = QRect(rect.left(), rect.top(), rect.width() - tag_width, line)
        painter.drawText(
            first, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, first.width()),
        )
        font.setBold(False)
        painter.setFont(font)
        painter.setPen(muted)
        second = QRect(rect.left(), rect.top() + line + 2, rect.width(), line)
        painter.drawText(
            second, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            painter.fontMetrics().elidedText(detail, Qt.TextElideMode.ElideRight, second.width()),
        )
        painter.restore()


class _UsersList(QListView):
    """A list as tall as `rows` whole rows (no half row cut at the bottom)."""

    def __init__(self, rows: int) -> None:
        super().__init__()
        self._rows = rows

    def sizeHint(self) -> QSize:
        row = self.sizeHintForRow(0) if self.model() and self.model().rowCount() else 0
        if row <= 0:
            row = self.fontMetrics().height() * 2 + 14
        frame = self.frameWidth() * 2
        return QSize(super().sizeHint().width(), row * self._rows + frame)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()


class MePicker(QWidget):
    """A search field over the users and "Not in the list"; one of them is chosen.

    `set_users` (keeps the search and the choice), `set_current` (shows a choice without
    announcing it), `current_uuid` (None when no user is chosen), and `chosen` (the uuid
    the person chose, "" for "Not in the list"). `prompt` is a question above the search
    (none by default: a form's label asks it); the list shows `visible_rows` whole rows
    and grows if its layout gives it room.
    """

    chosen = Signal(str)

    def __init__(
        self, parent: QWidget | None = None, *, prompt: str = "", visible_rows: int = 4
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mePicker")
        self.setAccessibleName("Which user are you?")
        self._current: str | None = None

        self.model = MeUsersModel(self)
        self.proxy = MeUsersFilter(self)
        self.proxy.setSourceModel(self.model)

        self.prompt = QLabel(prompt)
        self.prompt.setObjectName("mePrompt")
        self.prompt.setAccessibleName("Question")
        self.prompt.setVisible(bool(prompt))
        self.search = QLineEdit()
        self.search.setObjectName("meSearch")
        self.search.setAccessibleName("Search users")
        self.search.setPlaceholderText("Search by name, extension, number or email")
        self.search.setClearButtonEnabled(True)
        self.prompt.setBuddy(self.search)

        self.list = _UsersList(visible_rows)
        self.list.setObjectName("meList")
        self.list.setAccessibleName("Users")
        self.list.setModel(self.proxy)
        self.list.setItemDelegate(TwoLineDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.chosen_label = QLabel()
        self.chosen_label.setObjectName("meChosen")
        self.chosen_label.setAccessibleName("Chosen user")
        self.chosen_label.setTextFormat(Qt.TextFormat.PlainText)
        self.chosen_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.prompt)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.chosen_label)
        self.setFocusProxy(self.search)

        self.search.textChanged.connect(self._filter)
        self.search.installEventFilter(self)
        self.list.installEventFilter(self)
        self.list.clicked.connect(self._choose)
        self.list.activated.connect(self._choose)
        self._show_chosen()

    # -- the interface ------------------------------------------------------------------

    def set_users(self, users: Sequence[User]) -> None:
        if tuple(users) == self.model.users:
            return  # the same list again (a permissions change): keep the keyboard's place
        self.model.set_users(users)
        self.model.set_chosen(self._current)
        self._select(self._current)
        self._show_chosen()

    def set_current(self, uuid: str | None) -> None:
        """Show `uuid` as chosen (None or "": no user), without emitting `chosen`."""
        self._current = uuid or None
        self.model.set_chosen(self._current)
        self._select(self._current)
        self._show_chosen()

    def current_uuid(self) -> str | None:
        return self._current

    # -- what the person does ----------------------------------------------------------

    def _choose(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        uuid = str(index.data(UuidRole) or "")
        self.set_current(uuid)
        self.chosen.emit(uuid)

    def _filter(self, text: str) -> None:
        self.proxy.set_text(text)
        if text.strip() and self.proxy.rowCount() > 0:
            self.list.setCurrentIndex(self.proxy.index(0, 0))
        else:
            self._select(self._current)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key = event.key()
        if watched is self.search:
            if key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown):
                self._enter_list()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.search.text().strip():
                index = self.list.currentIndex()
                if index.isValid():
                    self._choose(index)
                    return True
        elif watched is self.list:
            if key == Qt.Key.Key_Up and self.list.currentIndex().row() <= 0:
                self.search.setFocus(Qt.FocusReason.OtherFocusReason)
                return True
            if key == Qt.Key.Key_Space:
                self._choose(self.list.currentIndex())
                return True
            if event.text().isprintable() and event.text().strip():
                # Typing in the list goes on searching.
                self.search.setFocus(Qt.FocusReason.OtherFocusReason)
                self.search.insert(event.text())
                return True
        return super().eventFilter(watched, event)

    # -- what is shown -----------------------------------------------------------------

    def _enter_list(self) -> None:
        if not self.list.currentIndex().isValid() and self.proxy.rowCount() > 0:
            self.list.setCurrentIndex(self.proxy.index(0, 0))
        self.list.setFocus(Qt.FocusReason.OtherFocusReason)

    def _select(self, uuid: str | None) -> None:
        row = self.model.row_of(uuid) if uuid else -1
        if row < 0:
            self.list.clearSelection()
            return
        index = self.proxy.mapFromSource(self.model.index(row))
        if index.isValid():
            self.list.setCurrentIndex(index)
            self.list.scrollTo(index)

    def _show_chosen(self) -> None:
        if self._current is None:
            text = "No user chosen as you."
        else:
            user = self.model.user(self._current)
            if user is not None:
                ext = f" (ext. {user.extension})" if user.extension is not None else ""
                text = f"You are {user.name or '(no name)'}{ext}."
            elif self.model.users:
                text = "The user chosen as you is no longer in the account's list."
            else:
                text = "A user is chosen as you; the users list has not loaded yet."
        self.chosen_label.setText(text)
