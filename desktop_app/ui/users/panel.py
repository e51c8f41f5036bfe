"""The Users panel: the table, search, Add/Edit, Call, Copy number, This is me.

The panel renders and forwards; it knows no presenter. What it shows arrives through
`attach_model` (the sorted, searched table) and setters (status, count, "me", the
permissions, which users' switches are saving, whether a refresh runs, a question, what
Undo would put back). What may be changed of the selected user is the permissions' answer
(`Permissions.for_user`), shown as enabled or not with the reason as the tooltip. What the
person does leaves as signals carrying the user's uuid. The Add/Edit dialog is opened over
the panel by whoever binds it (`ui/users/feature.py`: one dialog per edit session) through
`open_dialog`, which keeps it window-modal and remembers it while it is open.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.api.models import User
from desktop_app.services.user_edit import Confirmation
from desktop_app.services.users import Permissions
from desktop_app.ui.common.confirm import ConfirmBar
from desktop_app.ui.users.dialog import UserDialog
from desktop_app.ui.users.model import Column, UsersProxyModel, shown_number

#: The widest a name or e-mail column is fitted (longer ones are elided).
_WIDEST = 260


class UsersPanel(QWidget):
    """Search box, users table, actions and a status line; renders what it is given and
    forwards what the person does. Embeddable as is: ``UsersPanel()`` then
    `attach_model`; the users feature's ``bind`` does both for a presenter."""

    refreshRequested = Signal()
    addRequested = Signal()
    editRequested = Signal(str)
    """uuid of the user to edit (the button, Enter or a double-click on a row)."""
    callRequested = Signal(str)
    """uuid of the user to ring through the dialer."""
    copyRequested = Signal(str)
    """uuid of the user whose number goes to the clipboard."""
    receivesCallsRequested = Signal(str, bool)
    """(uuid, on): switch IVR calls on or off for the user."""
    searchTextChanged = Signal(str)
    thisIsMeRequested = Signal(str)
    """uuid of the user the person says they are."""
    confirmationAnswered = Signal(bool)
    """The answer to the question `set_question` showed."""
    undoRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("usersPanel")
        self.setAccessibleName("Users")
        self._proxy: UsersProxyModel | None = None
        self._permissions = Permissions()
        self._pending: frozenset[str] = frozenset()
        self._dialog: UserDialog | None = None
        self._selected_uuid: str | None = None
        self._fit_pending = True
        self._build()
        self._update_actions()

    def attach_model(self, proxy: UsersProxyModel) -> None:
        """Show `proxy` (sorted and searched users) in the table; the selection follows
        a user across resets."""
        self._proxy = proxy
        self._table.setModel(proxy)
        self._table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        proxy.modelReset.connect(self._fit_columns)
        proxy.modelAboutToBeReset.connect(self._remember_selection)
        proxy.modelReset.connect(self._restore_selection)
        proxy.layoutChanged.connect(self._update_actions)
        self._table.selectionModel().selectionChanged.connect(self._update_actions)
        self._fit_columns()
        self._update_actions()

    # -- reading ----------------------------------------------------------------------

    @property
    def table(self) -> QTableView:
        return self._table

    @property
    def search_box(self) -> QLineEdit:
        return self._search

    @property
    def dialog(self) -> UserDialog | None:
        """The Add/Edit dialog last opened, while it is open."""
        return self._dialog

    def button(self, name: str) -> QAbstractButton:
        """One of "add", "edit", "call", "copy", "receives", "refresh", "undo"."""
        return self._buttons[name]

    @property
    def confirm_bar(self) -> ConfirmBar:
        return self._confirm

    def current_user(self) -> User | None:
        if self._proxy is None:
            return None
        index = self._table.currentIndex()
        rows = self._table.selectionModel().selectedRows()
        if not rows and not index.isValid():
            return None
        row = rows[0].row() if rows else index.row()
        return self._proxy.user_at(row)

    def select_user(self, uuid: str) -> bool:
        row = self._proxy.row_of(uuid) if self._proxy is not None else -1
        if self._proxy is None or row < 0:
            return False
        self._table.selectRow(row)
        self._table.scrollTo(self._proxy.index(row, 0))
        return True

    # -- rendering --------------------------------------------------------------------

    @Slot(str)
    def set_status_text(self, text: str) -> None:
        """The last thing that happened, as a sentence."""
        self._status.setText(text)

    @Slot(str)
    def set_count_text(self, text: str) -> None:
        self._count.setText(text)

    @Slot(str)
    def set_me_text(self, text: str) -> None:
        self._me.setText(text)

    @Slot(object)
    def set_permissions(self, permissions: Permissions) -> None:
        """Who may add or edit, and why not (the buttons' tooltips say it)."""
        self._permissions = permissions
        self._update_actions()

    @Slot(object)
    def set_pending(self, uuids: frozenset[str]) -> None:
        """The users whose receives-calls switch is saving: theirs stays off meanwhile."""
        self._pending = frozenset(uuids)
        self._update_actions()

    @Slot(bool)
    def set_refreshing(self, on: bool) -> None:
        self._buttons["refresh"].setEnabled(not on)

    @Slot(object)
    def set_question(self, confirmation: Confirmation | None) -> None:
        """Ask before a change to another user is sent (None: nothing to ask)."""
        if confirmation is None:
            self._confirm.dismiss()
        else:
            self._confirm.ask(
                confirmation.title, confirmation.consequence, confirmation.confirm_label
            )

    @Slot(str)
    def set_undo(self, text: str) -> None:
        """Offer Undo beside the status line; `text` says what it puts back ("": none)."""
        undo = self._buttons["undo"]
        undo.setVisible(bool(text))
        undo.setToolTip(text)
        undo.setAccessibleDescription(text)

    def open_dialog(self, dialog: UserDialog) -> None:
        """Open an Add/Edit dialog over the panel, window-modal (``open()``, never
        ``exec()``: a nested loop would stall the qasync loop's coroutines). It deletes
        itself when closed; `dialog` names it until then."""
        if dialog.parentWidget() is not self:
            dialog.setParent(self, dialog.windowFlags())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._forget_dialog)
        self._dialog = dialog
        dialog.open()

    # -- forwarding -------------------------------------------------------------------

    @Slot()
    def open_add_dialog(self) -> UserDialog | None:
        """Ask for the Add user dialog (`addRequested`); the dialog it opened, if any."""
        self.addRequested.emit()
        return self._dialog

    @Slot()
    def open_edit_dialog(self, uuid: str | None = None) -> UserDialog | None:
        """Ask for the Edit dialog of `uuid` (default: the selected user); the dialog it
        opened, if any (none for a user the list no longer has)."""
        if uuid is None:
            user = self.current_user()
            uuid = user.uuid if user is not None else None
        if not uuid:
            return None
        before = self._dialog
        self.editRequested.emit(uuid)
        return self._dialog if self._dialog is not before else None

    @Slot()
    def _forget_dialog(self) -> None:
        self._dialog = None

    @Slot()
    def _call(self) -> None:
        user = self.current_user()
        if user is not None:
            self.callRequested.emit(user.uuid)

    @Slot()
    def _copy(self) -> None:
        user = self.current_user()
        if user is not None:
            self.copyRequested.emit(user.uuid)

    @Slot(bool)
    def _toggle_receives(self, checked: bool) -> None:
        user = self.current_user()
        if user is not None:
            self.receivesCallsRequested.emit(user.uuid, checked)
        self._update_actions()  # the button shows the saved state until the list says else

    @Slot(str)
    def _search_changed(self, text: str) -> None:
        """Forward the text (the table is filtered before the emit returns); a selected
        user the search hides is deselected, so no action lands on a neighbour Qt would
        otherwise make current."""
        user = self.current_user()
        self.searchTextChanged.emit(text)
        if user is None or not self.select_user(user.uuid):
            self._table.clearSelection()
            self._table.setCurrentIndex(QModelIndex())
        self._update_actions()

    @Slot()
    def _this_is_me(self) -> None:
        user = self.current_user()
        if user is not None:
            self.thisIsMeRequested.emit(user.uuid)

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        if self._buttons["edit"].isEnabled() and self._proxy is not None:
            user = self._proxy.user_at(index.row())
            if user is not None:
                self.open_edit_dialog(user.uuid)

    @Slot(QPoint)
    def _context_menu(self, pos: QPoint) -> None:
        index = self._table.indexAt(pos)
        if not index.isValid():
            return
        self._table.selectRow(index.row())
        menu = QMenu(self)
        menu.setObjectName("usersContextMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.setToolTipsVisible(True)
        for name in ("edit", "call", "copy", "receives"):
            button = self._buttons[name]
            action = menu.addAction(button.text().replace("&", ""))
            action.setEnabled(button.isEnabled())
            action.setToolTip(button.toolTip())
            if button.isCheckable():
                action.setCheckable(True)
                action.setChecked(button.isChecked())
                action.toggled.connect(self._toggle_receives)
            else:
                action.triggered.connect(button.click)
        menu.addSeparator()
        me = menu.addAction("This is &me")
        me.setToolTip("Your own user: its role decides whom you may add or change")
        me.triggered.connect(self._this_is_me)
        menu.popup(self._table.viewport().mapToGlobal(pos))

    # -- state ------------------------------------------------------------------------

    @Slot()
    def _update_actions(self) -> None:
        user = self.current_user()
        permissions = self._permissions
        allowed = permissions.for_user(user.uuid) if user is not None else None
        b = self._buttons
        b["add"].setEnabled(permissions.may_add)
        b["add"].setToolTip(
            "Add a user to the account" if permissions.may_add else permissions.add_reason
        )
        b["edit"].setEnabled(allowed is not None and allowed.may_edit)
        if allowed is None:
            b["edit"].setToolTip(permissions.edit_reason or "Select a user to edit")
        else:
            b["edit"].setToolTip(
                "Edit the selected user" if allowed.may_edit else allowed.edit_reason
            )
        number = user.number_e164 if user is not None else None
        b["call"].setEnabled(bool(number))
        b["call"].setToolTip(
            f"Ring {shown_number(user)} through the dialer" if user and number else
            "Select a user with a number to call"
        )
        b["copy"].setEnabled(bool(user and (user.number_e164 or user.contact_number)))
        receives = b["receives"]
        pending = user is not None and user.uuid in self._pending
        receives.blockSignals(True)
        receives.setChecked(bool(user and user.receives_calls))
        receives.blockSignals(False)
        receives.setEnabled(allowed is not None and allowed.may_switch_calls and not pending)
        if user is None or allowed is None:
            receives.setToolTip("Select a user to switch their calls on or off")
        elif not allowed.may_switch_calls:
            receives.setToolTip(allowed.switch_reason)
        elif pending:
            receives.setToolTip("Saving…")
        else:
            receives.setToolTip(
                f"{user.name} receives IVR calls: click to stop" if user.receives_calls
                else f"{user.name} does not receive IVR calls: click to start"
            )

    @Slot()
    def _remember_selection(self) -> None:
        user = self.current_user()
        self._selected_uuid = user.uuid if user is not None else None

    @Slot()
    def _restore_selection(self) -> None:
        if self._selected_uuid is not None:
            self.select_user(self._selected_uuid)
        self._update_actions()

    # -- building ---------------------------------------------------------------------

    def focus_search(self) -> None:
        self._search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._search.selectAll()

    @Slot()
    def clear_search(self) -> None:
        self._search.clear()

    def _build(self) -> None:
        self._search = QLineEdit(self)
        self._search.setObjectName("usersSearch")
        self._search.setAccessibleName("Search users")
        self._search.setPlaceholderText("Search name, extension, number or email")
        self._search.setClearButtonEnabled(True)
        self._search.textChanged.connect(self._search_changed)
        #: Ctrl+F when the panel stands alone; a window with one Find for every dock
        #: switches it off and calls `focus_search` instead.
        self.find_shortcut = QShortcut(QKeySequence.StandardKey.Find, self)
        self.find_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.find_shortcut.activated.connect(self.focus_search)

        self._buttons: dict[str, QAbstractButton] = {}
        refresh = self._button("refresh", "&Refresh", "usersRefresh", "Refresh users")
        refresh.setToolTip("Read the users from MyOperator again (one request)")
        refresh.clicked.connect(self.refreshRequested)

        table = QTableView(self)
        table.setObjectName("usersTable")
        table.setAccessibleName("Users")
        table.setSortingEnabled(True)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        table.verticalHeader().setVisible(False)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._context_menu)
        table.activated.connect(self._activated)
        copy = QShortcut(QKeySequence.StandardKey.Copy, table)
        copy.setContext(Qt.ShortcutContext.WidgetShortcut)
        copy.activated.connect(self._copy)
        self._table = table

        add = self._button("add", "&Add user…", "usersAdd", "Add user")
        add.clicked.connect(self.open_add_dialog)
        edit = self._button("edit", "&Edit…", "usersEdit", "Edit user")
        edit.clicked.connect(lambda: self.open_edit_dialog())
        call = self._button("call", "&Call", "usersCall", "Call user")
        call.clicked.connect(self._call)
        copy_button = self._button("copy", "Copy &number", "usersCopyNumber", "Copy number")
        copy_button.setToolTip("Copy the number to the clipboard (Ctrl+C in the table)")
        copy_button.clicked.connect(self._copy)
        receives = QCheckBox("Receives ca&lls", self)
        receives.setObjectName("usersReceivesCalls")
        receives.setAccessibleName("Receives calls")
        receives.toggled.connect(self._toggle_receives)
        self._buttons["receives"] = receives

        self._count = QLabel(self)
        self._count.setObjectName("usersCount")
        self._count.setAccessibleName("User count")
        self._me = QLabel(self)
        self._me.setObjectName("usersMe")
        self._me.setAccessibleName("Your user")
        self._me.setToolTip(
            "Right-click your own row and choose \u201cThis is me\u201d: your role decides "
            "whom you may add or change"
        )
        self._status = QLabel(self)
        self._status.setObjectName("usersStatus")
        self._status.setAccessibleName("Users status")
        self._status.setWordWrap(True)
        self._status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        undo = self._button("undo", "&Undo", "usersUndo", "Undo the last change")
        undo.clicked.connect(self.undoRequested)
        undo.hide()
        self._confirm = ConfirmBar("usersConfirm", self)
        self._confirm.answered.connect(self.confirmationAnswered)

        top = QHBoxLayout()
        top.addWidget(self._search, 1)
        top.addWidget(refresh)
        actions = QHBoxLayout()
        for name in ("add", "edit", "call", "copy", "receives"):
            actions.addWidget(self._buttons[name])
        actions.addStretch(1)
        info = QHBoxLayout()
        info.addWidget(self._count)
        info.addStretch(1)
        info.addWidget(self._me)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(table, 1)
        layout.addLayout(actions)
        layout.addLayout(info)
        layout.addWidget(self._confirm)
        status = QHBoxLayout()
        status.addWidget(self._status, 1)
        status.addWidget(undo, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(status)

    def _button(self, key: str, text: str, object_name: str, accessible: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(object_name)
        button.setAccessibleName(accessible)
        self._buttons[key] = button
        return button

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._fit_pending:
            self._fit_columns()

    @Slot()
    def _fit_columns(self) -> None:
        """Columns as wide as their texts (names and e-mails at most `_WIDEST` pixels).

        Measured from each cell's text with the table's font metrics: Qt's own
        `resizeColumnsToContents` asks every cell's size through the styled delegate,
        15-50 ms for a dozen users, frames of a frozen window while a sync runs. A list
        nobody sees (its dock behind another tab) is measured when first shown.
        """
        if not self.isVisible():
            self._fit_pending = True
            return
        self._fit_pending = False
        model = self._table.model()
        header = self._table.horizontalHeader()
        metrics = self._table.fontMetrics()
        padding = 2 * metrics.averageCharWidth() + 8  # the cell's margins, italics' slant
        for column in range(model.columnCount()):
            widest = max(
                (
                    metrics.horizontalAdvance(str(model.index(row, column).data() or ""))
                    for row in range(model.rowCount())
                ),
                default=0,
            )
            width = max(header.sectionSizeFromContents(column).width(), widest + padding)
            if column in (Column.NAME, Column.EMAIL):
                width = min(width, _WIDEST)
            header.resizeSection(column, width)
