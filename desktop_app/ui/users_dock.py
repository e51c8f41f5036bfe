"""The Users directory dock: presenter (tasks, signals), panel (render and forward), dock.

Wiring for the main window::

    presenter = UsersPresenter(UsersService(client, UserStore.sharing(call_store)))
    dock = UsersDock(presenter, window)
    presenter.callRequested.connect(dialer.call_number)   # an E.164 number
    presenter.start()                                      # first refresh
    ...
    await presenter.aclose()

Every coroutine runs in the presenter (`_TaskOwner`: strong references, names, cancelled
on close). The panel opens `UserDialog` with ``open()`` and connects it to a
`UserEditSession`, which runs the save, re-checks an unknown outcome and answers the
dialog: field errors beside fields, other failures as a sentence, success closes it. Each
session's save runs under its own task name (a second dialog's save must not cancel a PUT
still on its way), and a save, refresh or switch that ends in anything unexpected gives
its control back with a sentence saying what is not known.
"""

from __future__ import annotations

import itertools
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
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

from desktop_app.api.errors import (
    MyOperatorError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from desktop_app.api.models import User
from desktop_app.services.formatting import DEFAULT_HOME_REGION
from desktop_app.services.tasks import FailureHandler, TaskFailure
from desktop_app.services.users import (
    FORM_FIELDS,
    FieldErrors,
    PendingChange,
    Permissions,
    SaveOutcomeUnknown,
    SaveResult,
    UserForm,
    UsersService,
    Verdict,
)
from desktop_app.ui.presenters import _TaskOwner
from desktop_app.ui.user_dialog import UserDialog
from desktop_app.ui.users_model import Column, UsersModel, UsersProxyModel, shown_number

_CHECKING = "MyOperator gave no clear answer: checking whether it was saved…"
_REFRESH_TASK = "users-refresh"
_RECEIVES_CALLS_TASK = "users-receives-calls-"


def _reason(failure: TaskFailure) -> str:
    """The failure's sentence as a clause inside another sentence."""
    text = failure.sentence.rstrip(".")
    return text[:1].lower() + text[1:]


def _saved_text(result: SaveResult) -> str:
    if result.refresh_error is None:
        return result.message
    return f"{result.message} The list could not be refreshed: {result.refresh_error.message}"


class UsersPresenter(_TaskOwner):
    """Owns the users model, the search, and every users request (as named tasks)."""

    statusTextChanged = Signal(str)
    """The last thing that happened, as a sentence ("Saved Asha Rao.", an error)."""
    countTextChanged = Signal(str)
    """"12 users" or "3 of 12 users"."""
    meTextChanged = Signal(str)
    usersChanged = Signal(object)
    """The whole list (tuple[User, ...]) after every refresh, e.g. for the dialer's agents."""
    permissionsChanged = Signal(object)
    """A new `Permissions` (who may add or edit, and why not)."""
    refreshingChanged = Signal(bool)
    pendingChanged = Signal()
    """A user's receives-calls switch started or finished saving (see `is_pending`)."""
    callRequested = Signal(str)
    """Ring this number (E.164) through the dialer."""
    numberCopied = Signal(str)

    def __init__(
        self,
        service: UsersService,
        parent: QObject | None = None,
        *,
        home_region: str = DEFAULT_HOME_REGION,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("usersPresenter")
        self._service = service
        self._model = UsersModel(self, home_region=home_region)
        self._proxy = UsersProxyModel(self)
        self._proxy.setSourceModel(self._model)
        self._proxy.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
        self._search = ""
        self._status = ""
        self._refreshing = False
        self._pending: set[str] = set()
        #: Numbers the edit sessions, so each one's save runs under its own task name.
        self._session_numbers = itertools.count(1)
        self._permissions = service.permissions()
        self._unsubscribe = service.add_listener(self._on_service_changed)
        self._model.set_users(service.users())

    # -- reading ----------------------------------------------------------------------

    @property
    def service(self) -> UsersService:
        return self._service

    @property
    def model(self) -> UsersModel:
        return self._model

    @property
    def proxy(self) -> UsersProxyModel:
        return self._proxy

    @property
    def permissions(self) -> Permissions:
        return self._permissions

    @property
    def status_text(self) -> str:
        return self._status

    @property
    def count_text(self) -> str:
        total = self._model.rowCount()
        shown = self._proxy.rowCount()
        noun = "user" if total == 1 else "users"
        return f"{total} {noun}" if shown == total else f"{shown} of {total} {noun}"

    @property
    def me_text(self) -> str:
        me = self._service.me()
        if me is None:
            return "You: not chosen"
        role = f" ({me.role.label})" if me.role is not None else ""
        return f"You: {me.name}{role}"

    @property
    def refreshing(self) -> bool:
        return self._refreshing

    def is_pending(self, uuid: str) -> bool:
        """Whether a receives-calls change of this user is on its way."""
        return uuid in self._pending

    def user(self, uuid: str) -> User | None:
        return self._service.get(uuid)

    # -- actions ----------------------------------------------------------------------

    def start(self) -> None:
        """The first refresh (the cached list shows meanwhile)."""
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Re-read the users from MyOperator (one request); ignored while one runs."""
        if self._refreshing or self.closed:
            return
        self._set_refreshing(True)
        self._spawn(self._refresh(), _REFRESH_TASK)

    @Slot(str)
    def set_search_text(self, text: str) -> None:
        """Filter the table at once by the cache's local search."""
        self._search = text
        self._apply_search()

    @Slot(str)
    def request_call(self, uuid: str) -> None:
        user = self._service.get(uuid)
        if user is None or not user.number_e164:
            self._set_status("This user has no number to call.")
            return
        self.callRequested.emit(user.number_e164)

    @Slot(str)
    def copy_number(self, uuid: str) -> None:
        """Put the user's number (E.164: it pastes into any dialer) on the clipboard."""
        user = self._service.get(uuid)
        number = (user.number_e164 or user.contact_number) if user is not None else None
        if not number:
            self._set_status("This user has no number to copy.")
            return
        QGuiApplication.clipboard().setText(number)
        self.numberCopied.emit(number)
        self._set_status(f"Copied {number} to the clipboard.")

    @Slot(str, bool)
    def set_receives_calls(self, uuid: str, on: bool) -> None:
        """Switch IVR calls on or off for a user (one PUT; re-checked if unanswered)."""
        if uuid in self._pending or self.closed:
            return
        self._pending.add(uuid)
        self.pendingChanged.emit()
        self._spawn(self._toggle(uuid, on), f"{_RECEIVES_CALLS_TASK}{uuid}")

    @Slot(str)
    def set_my_uuid(self, uuid: str) -> None:
        """"This is me": the user whose role decides whether Add is offered ("" forgets)."""
        self._service.set_my_uuid(uuid or None)

    def start_add(self) -> UserEditSession:
        return UserEditSession(self, None, number=next(self._session_numbers))

    def start_edit(self, uuid: str) -> UserEditSession | None:
        user = self._service.get(uuid)
        if user is None:
            return None
        return UserEditSession(self, user, number=next(self._session_numbers))

    async def aclose(self) -> None:
        self._unsubscribe()
        await super().aclose()

    # -- tasks ------------------------------------------------------------------------

    async def _refresh(self) -> None:
        self._set_status("Refreshing the users…")
        try:
            users = await self._service.refresh()
        except MyOperatorError as exc:
            self._set_status(f"Could not refresh the users: {exc.message}")
        else:
            self._set_status(f"Users refreshed: {len(users)}.")
        finally:
            self._set_refreshing(False)

    async def _toggle(self, uuid: str, on: bool) -> None:
        user = self._service.get(uuid)
        name = user.name if user is not None else "The user"
        done = f"{name} now receives calls." if on else f"{name} no longer receives calls."
        try:
            self._set_status(f"Turning calls {'on' if on else 'off'} for {name}…")
            result = await self._service.set_receives_calls(uuid, on)
        except SaveOutcomeUnknown as exc:
            self._set_status(_CHECKING)
            check = await self._service.verify_after_unknown(exc.change)
            if check.verdict is Verdict.APPLIED:
                self._set_status(done)
            elif check.verdict is Verdict.NOT_APPLIED:
                self._set_status(f"The change did not reach MyOperator: {check.message}")
            else:
                self._set_status(check.message)
        except MyOperatorError as exc:
            self._set_status(f"Could not change {name}: {exc.message}")
        else:
            self._set_status(done if result.refresh_error is None else (
                f"{done} The list could not be refreshed: {result.refresh_error.message}"
            ))
        finally:
            self._pending.discard(uuid)
            self.pendingChanged.emit()

    # -- internals --------------------------------------------------------------------

    def _on_service_changed(self) -> None:
        self._model.set_users(self._service.users())
        self.usersChanged.emit(self._service.users())
        self._apply_search()
        permissions = self._service.permissions()
        if permissions != self._permissions:
            self._permissions = permissions
            self.permissionsChanged.emit(permissions)
        self.meTextChanged.emit(self.me_text)

    def _apply_search(self) -> None:
        if self._search.strip():
            found = frozenset(u.uuid for u in self._service.search(self._search))
            self._proxy.set_matches(found)
        else:
            self._proxy.set_matches(None)
        self.countTextChanged.emit(self.count_text)

    def _set_status(self, text: str) -> None:
        self._status = text
        self.statusTextChanged.emit(text)

    def _set_refreshing(self, on: bool) -> None:
        self._refreshing = on
        self.refreshingChanged.emit(on)

    def _task_failed(self, failure: TaskFailure) -> None:
        """A refresh or a switch that ended in something unexpected (a cache that cannot
        be written, a bug): the status line says so instead of "Refreshing…" forever."""
        if failure.name == _REFRESH_TASK:
            self._set_status(f"Could not refresh the users: {failure.sentence}")
        elif failure.name.startswith(_RECEIVES_CALLS_TASK):
            self._set_status(
                "Check the list before switching again: the change may or may not have "
                f"been saved ({_reason(failure)})."
            )

    def _run(
        self, coro: Coroutine[Any, Any, Any], name: str, on_failure: FailureHandler
    ) -> None:
        """For the edit sessions: their saves are this presenter's tasks too."""
        self._spawn(coro, name, on_failure=on_failure)


class UserEditSession(QObject):
    """One Add or Edit dialog's saves: `submit` a form, then answer through signals.

    A save that got no clear answer is checked against a fresh list before anything else
    may be sent: `APPLIED` closes the dialog, `NOT_APPLIED` lets Save retry, `UNCLEAR`
    offers "Check again" and keeps Save off.
    """

    fieldErrors = Signal(object)
    """dict API field → sentence, to show beside the fields."""
    messageChanged = Signal(str, str)
    """(sentence, kind: "error" / "warning" / "info") about the save as a whole."""
    busyChanged = Signal(bool)
    recheckAvailable = Signal(bool)
    succeeded = Signal(str)

    def __init__(
        self, presenter: UsersPresenter, original: User | None, *, number: int = 0
    ) -> None:
        super().__init__(presenter)
        self.setObjectName("userEditSession")
        #: In the task names: a save of another dialog must not replace this one's (newest
        #: wins would cancel a PUT whose outcome nobody then checks).
        self.number = number
        self._presenter = presenter
        self._service = presenter.service
        self._original = original
        self._busy = False
        self._pending: PendingChange | None = None
        self._released = False

    @property
    def original(self) -> User | None:
        return self._original

    @property
    def busy(self) -> bool:
        return self._busy

    @Slot(object)
    def submit(self, form: UserForm) -> None:
        if self._busy or self._pending is not None or self._presenter.closed:
            return
        self._set_busy(True)
        self._presenter._run(
            self._save(form), f"users-save-{self.number}", on_failure=self._save_failed
        )

    @Slot()
    def recheck(self) -> None:
        if self._busy or self._pending is None or self._presenter.closed:
            return
        self._set_busy(True)
        self._presenter._run(
            self._verify(self._pending), f"users-recheck-{self.number}",
            on_failure=self._save_failed,
        )

    @Slot()
    def release(self) -> None:
        """The dialog is gone: delete this session once no save is running."""
        self._released = True
        if not self._busy:
            self.deleteLater()

    async def _save(self, form: UserForm) -> None:
        service = self._service
        errors: dict[str, str] = {}
        message = ""
        try:
            if self._original is None:
                result: SaveResult | None = await service.add(service.new_user(form))
            else:
                result = await service.update(self._original, form)
        except FieldErrors as exc:
            errors = exc.errors
        except SaveOutcomeUnknown as exc:
            self._pending = exc.change
            self.messageChanged.emit(_CHECKING, "warning")
            self._presenter._set_status(_CHECKING)
            await self._verify(exc.change)
            return
        except ValidationError as exc:
            if exc.field in FORM_FIELDS:
                errors = {exc.field: exc.message}
            else:
                message = exc.message
        except PermissionDenied as exc:
            what = "add users" if self._original is None else "change users"
            message = f"{exc.message} This API token may not {what}: nothing was saved."
        except NotFound:
            message = (
                "This user is no longer in MyOperator's list (removed elsewhere?): nothing "
                "was saved. The list has been refreshed."
            )
        except MyOperatorError as exc:
            message = f"Nothing was saved: {exc.message}"
        else:
            text = "Nothing changed." if result is None else _saved_text(result)
            self._presenter._set_status(text)
            self._finish()
            self.succeeded.emit(text)
            return
        self._finish()  # first: the dialog's fields are editable again, and can take focus
        if errors:
            self.fieldErrors.emit(errors)
        else:
            self.messageChanged.emit(message, "error")

    async def _verify(self, change: PendingChange) -> None:
        self.recheckAvailable.emit(False)
        check = await self._service.verify_after_unknown(change)
        self._presenter._set_status(check.message)
        if check.verdict is Verdict.APPLIED:
            self._pending = None
            self._finish()
            self.succeeded.emit(check.message)
            return
        if check.verdict is Verdict.NOT_APPLIED:
            self._pending = None
            self._finish()
            self.messageChanged.emit(check.message, "warning")
            return
        self._finish()
        self.messageChanged.emit(check.message, "warning")
        self.recheckAvailable.emit(True)

    def _save_failed(self, failure: TaskFailure) -> None:
        """A save or a re-check that ended in something unexpected (a cache that cannot
        be written, a bug): whether the change arrived is not known. The dialog works
        again, keeps what was typed and says so; with a change still to check, only
        "Check again" is offered."""
        reason = _reason(failure)
        if self._pending is not None:
            text = (
                "Check again before saving again: it could not be checked whether it was "
                f"saved ({reason})."
            )
        else:
            text = (
                "Check the list before saving again: it may or may not have been saved "
                f"({reason})."
            )
        self._presenter._set_status(text)
        self._finish()
        self.messageChanged.emit(text, "warning")
        if self._pending is not None:
            self.recheckAvailable.emit(True)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.busyChanged.emit(busy)

    def _finish(self) -> None:
        self._set_busy(False)
        if self._released:
            self.deleteLater()


class UsersPanel(QWidget):
    """Search box, users table, actions and a status line; renders the presenter's state
    and forwards what the person does. Embeddable as is: ``UsersPanel(presenter)``."""

    def __init__(self, presenter: UsersPresenter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("usersPanel")
        self.setAccessibleName("Users")
        self._presenter = presenter
        self._dialog: UserDialog | None = None
        self._selected_uuid: str | None = None
        self._build()
        presenter.statusTextChanged.connect(self._status.setText)
        presenter.countTextChanged.connect(self._count.setText)
        presenter.meTextChanged.connect(self._me.setText)
        presenter.permissionsChanged.connect(self._update_actions)
        presenter.pendingChanged.connect(self._update_actions)
        presenter.refreshingChanged.connect(self._on_refreshing)
        proxy = presenter.proxy
        proxy.modelAboutToBeReset.connect(self._remember_selection)
        proxy.modelReset.connect(self._restore_selection)
        proxy.layoutChanged.connect(self._update_actions)
        self._table.selectionModel().selectionChanged.connect(self._update_actions)
        self._count.setText(presenter.count_text)
        self._me.setText(presenter.me_text)
        self._status.setText(presenter.status_text)
        self._update_actions()

    # -- reading ----------------------------------------------------------------------

    @property
    def presenter(self) -> UsersPresenter:
        return self._presenter

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
        """One of "add", "edit", "call", "copy", "receives", "refresh"."""
        return self._buttons[name]

    def current_user(self) -> User | None:
        index = self._table.currentIndex()
        rows = self._table.selectionModel().selectedRows()
        if not rows and not index.isValid():
            return None
        row = rows[0].row() if rows else index.row()
        return self._presenter.proxy.user_at(row)

    def select_user(self, uuid: str) -> bool:
        row = self._presenter.proxy.row_of(uuid)
        if row < 0:
            return False
        self._table.selectRow(row)
        self._table.scrollTo(self._presenter.proxy.index(row, 0))
        return True

    # -- forwarding -------------------------------------------------------------------

    @Slot()
    def open_add_dialog(self) -> UserDialog:
        """The Add user dialog, opened window-modal (never ``exec()``)."""
        dialog = UserDialog(None, self)
        self._attach(dialog, self._presenter.start_add())
        return dialog

    @Slot()
    def open_edit_dialog(self, uuid: str | None = None) -> UserDialog | None:
        """The Edit dialog of `uuid` (default: the selected user)."""
        if uuid is None:
            user = self.current_user()
            uuid = user.uuid if user is not None else None
        session = self._presenter.start_edit(uuid) if uuid else None
        if session is None or session.original is None:
            return None
        dialog = UserDialog(session.original, self)
        self._attach(dialog, session)
        return dialog

    def _attach(self, dialog: UserDialog, session: UserEditSession) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.submitted.connect(session.submit)
        dialog.recheckRequested.connect(session.recheck)
        session.fieldErrors.connect(dialog.show_field_errors)
        session.messageChanged.connect(dialog.show_message)
        session.busyChanged.connect(dialog.set_busy)
        session.recheckAvailable.connect(dialog.set_recheck_available)
        session.succeeded.connect(dialog.accept)
        dialog.finished.connect(session.release)
        dialog.finished.connect(self._forget_dialog)
        self._dialog = dialog
        dialog.open()

    @Slot()
    def _forget_dialog(self) -> None:
        self._dialog = None

    @Slot()
    def _call(self) -> None:
        user = self.current_user()
        if user is not None:
            self._presenter.request_call(user.uuid)

    @Slot()
    def _copy(self) -> None:
        user = self.current_user()
        if user is not None:
            self._presenter.copy_number(user.uuid)

    @Slot(bool)
    def _toggle_receives(self, checked: bool) -> None:
        user = self.current_user()
        if user is not None:
            self._presenter.set_receives_calls(user.uuid, checked)
        self._update_actions()  # the button shows the saved state until the list says else

    @Slot(str)
    def _search_changed(self, text: str) -> None:
        """Forward the text; a selected user the search hides is deselected, so no action
        lands on a neighbour Qt would otherwise make current."""
        user = self.current_user()
        self._presenter.set_search_text(text)
        if user is None or not self.select_user(user.uuid):
            self._table.clearSelection()
            self._table.setCurrentIndex(QModelIndex())
        self._update_actions()

    @Slot()
    def _this_is_me(self) -> None:
        user = self.current_user()
        if user is not None:
            self._presenter.set_my_uuid(user.uuid)

    @Slot(QModelIndex)
    def _activated(self, index: QModelIndex) -> None:
        if self._buttons["edit"].isEnabled():
            user = self._presenter.proxy.user_at(index.row())
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
        for name in ("edit", "call", "copy", "receives"):
            button = self._buttons[name]
            action = menu.addAction(button.text().replace("&", ""))
            action.setEnabled(button.isEnabled())
            if button.isCheckable():
                action.setCheckable(True)
                action.setChecked(button.isChecked())
                action.toggled.connect(self._toggle_receives)
            else:
                action.triggered.connect(button.click)
        menu.addSeparator()
        me = menu.addAction("This is &me")
        me.setToolTip("Your own user: its role decides whether Add user is offered")
        me.triggered.connect(self._this_is_me)
        menu.popup(self._table.viewport().mapToGlobal(pos))

    # -- state ------------------------------------------------------------------------

    @Slot()
    def _update_actions(self) -> None:
        user = self.current_user()
        permissions = self._presenter.permissions
        b = self._buttons
        b["add"].setEnabled(permissions.may_add)
        b["add"].setToolTip(
            "Add a user to the account" if permissions.may_add else permissions.add_reason
        )
        may_edit = user is not None and permissions.may_edit
        b["edit"].setEnabled(may_edit)
        b["edit"].setToolTip(
            permissions.edit_reason if not permissions.may_edit else "Edit the selected user"
        )
        number = user.number_e164 if user is not None else None
        b["call"].setEnabled(bool(number))
        b["call"].setToolTip(
            f"Ring {shown_number(user)} through the dialer" if user and number else
            "Select a user with a number to call"
        )
        b["copy"].setEnabled(bool(user and (user.number_e164 or user.contact_number)))
        receives = b["receives"]
        pending = user is not None and self._presenter.is_pending(user.uuid)
        receives.blockSignals(True)
        receives.setChecked(bool(user and user.receives_calls))
        receives.blockSignals(False)
        receives.setEnabled(may_edit and not pending)
        if user is None:
            receives.setToolTip("Select a user to switch their calls on or off")
        elif not permissions.may_edit:
            receives.setToolTip(permissions.edit_reason)
        elif pending:
            receives.setToolTip("Saving…")
        else:
            receives.setToolTip(
                f"{user.name} receives IVR calls: click to stop" if user.receives_calls
                else f"{user.name} does not receive IVR calls: click to start"
            )

    @Slot(bool)
    def _on_refreshing(self, on: bool) -> None:
        self._buttons["refresh"].setEnabled(not on)

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

    def _build(self) -> None:
        self._search = QLineEdit(self)
        self._search.setObjectName("usersSearch")
        self._search.setAccessibleName("Search users")
        self._search.setPlaceholderText("Search name, extension, number or email")
        self._search.setClearButtonEnabled(True)
        self._search.textChanged.connect(self._search_changed)
        focus_search = QShortcut(QKeySequence.StandardKey.Find, self)
        focus_search.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        focus_search.activated.connect(lambda: self._search.setFocus())

        self._buttons: dict[str, QAbstractButton] = {}
        refresh = self._button("refresh", "&Refresh", "usersRefresh", "Refresh users")
        refresh.setToolTip("Read the users from MyOperator again (one request)")
        refresh.clicked.connect(self._presenter.refresh)

        table = QTableView(self)
        table.setObjectName("usersTable")
        table.setAccessibleName("Users")
        table.setModel(self._presenter.proxy)
        table.setSortingEnabled(True)
        table.sortByColumn(Column.NAME, Qt.SortOrder.AscendingOrder)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
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
        self._presenter.proxy.modelReset.connect(self._fit_columns)
        self._fit_columns()

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
            "whether Add user is offered"
        )
        self._status = QLabel(self)
        self._status.setObjectName("usersStatus")
        self._status.setAccessibleName("Users status")
        self._status.setWordWrap(True)
        self._status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

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
        layout.addWidget(self._status)

    def _button(self, key: str, text: str, object_name: str, accessible: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName(object_name)
        button.setAccessibleName(accessible)
        self._buttons[key] = button
        return button

    @Slot()
    def _fit_columns(self) -> None:
        self._table.resizeColumnsToContents()
        header = self._table.horizontalHeader()
        for column in (Column.NAME, Column.EMAIL):
            header.resizeSection(column, min(header.sectionSize(column), 260))


class UsersDock(QDockWidget):
    """The Users directory as a dock: ``UsersDock(presenter, window)``."""

    def __init__(self, presenter: UsersPresenter, parent: QWidget | None = None) -> None:
        super().__init__("Users", parent)
        self.setObjectName("usersDock")
        self.setAccessibleName("Users")
        self._panel = UsersPanel(presenter, self)
        self.setWidget(self._panel)
        self._toggle = self.toggleViewAction()
        self._toggle.setObjectName("usersDockToggle")

    @property
    def panel(self) -> UsersPanel:
        return self._panel

    @property
    def toggle_action(self) -> QAction:
        return self._toggle
