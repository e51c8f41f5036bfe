"""The users directory's presenter, and the Qt face of a dialog's edit session.

`UsersPresenter` owns the table's models and the search, and turns the Qt-free
`UsersActivity` (desktop_app.services.user_edit: the refresh, the receives-calls switch
and the dialogs' `EditSession`s, all run as this presenter's tasks) into signals and the
status line. It knows no widget: ``ui/users/feature.py`` binds it to the panel. Each Add or
Edit it starts is announced as a `UserEditSession` (`sessionStarted`); the feature opens a
`UserDialog` for it over the panel, and the session forwards Save and "Check again" to its
`EditSession` and answers the dialog from each step: field errors beside fields, other
failures as a sentence, a change to another user as a question, success closes it. The
switch's question and the Undo of a change to another user are the activity's, shown by
`questionChanged` and `undoChanged`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication

from desktop_app.api.models import User
from desktop_app.services.formatting import DEFAULT_HOME_REGION
from desktop_app.services.user_edit import (
    ActivityState,
    Confirmation,
    EditPhase,
    EditSession,
    EditState,
    UsersActivity,
)
from desktop_app.services.users import Permissions, UserForm, UsersService
from desktop_app.ui.common.presenter import Presenter
from desktop_app.ui.users.model import Column, UsersModel, UsersProxyModel


class UsersPresenter(Presenter):
    """Owns the users model and the search; shows the `UsersActivity` that runs every
    users request (as this presenter's named tasks)."""

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
    pendingChanged = Signal(object)
    """A user's receives-calls switch started or finished saving: the uuids of those
    saving now (frozenset[str]; see `is_pending`)."""
    callRequested = Signal(str)
    """Ring this number (E.164) through the dialer."""
    numberCopied = Signal(str)
    sessionStarted = Signal(object)
    """A new `UserEditSession` (Add or Edit) wants its dialog."""
    questionChanged = Signal(object)
    """A switch of another user's calls to confirm (`Confirmation`), or None: answered."""
    undoChanged = Signal(str)
    """What Undo would put back ("": nothing to undo)."""

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
        self._activity = UsersActivity(service, self.tasks)
        self._activity.add_listener(self._on_activity)
        self._permissions = service.permissions()
        self.on_close(service.add_listener(self._on_service_changed))
        self._model.set_users(service.users())

    # -- reading ----------------------------------------------------------------------

    @property
    def service(self) -> UsersService:
        return self._service

    @property
    def activity(self) -> UsersActivity:
        """The refresh, the receives-calls switch and the edit sessions, Qt-free."""
        return self._activity

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
        return self._activity.state.refreshing

    @property
    def pending(self) -> frozenset[str]:
        """The users whose receives-calls change is on its way."""
        return self._activity.state.switching

    @property
    def question(self) -> Confirmation | None:
        """The switch waiting for the person's yes or no."""
        return self._activity.state.question

    @property
    def undo_text(self) -> str:
        """What Undo would put back ("": nothing to undo)."""
        offer = self._activity.state.undo
        return "" if offer is None else offer.text

    def is_pending(self, uuid: str) -> bool:
        """Whether a receives-calls change of this user is on its way."""
        return self._activity.is_switching(uuid)

    def user(self, uuid: str) -> User | None:
        return self._service.get(uuid)

    # -- actions ----------------------------------------------------------------------

    def start(self) -> None:
        """The first load (the cached list shows meanwhile), tried until it succeeds."""
        self._activity.load()

    @Slot()
    def refresh(self) -> None:
        """Re-read the users from MyOperator (one request); ignored while one runs."""
        self._activity.refresh()

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
        """Switch IVR calls on or off for a user (one PUT; re-checked if unanswered);
        ignored while that user's last switch is on its way."""
        self._activity.set_receives_calls(uuid, on)

    @Slot(bool)
    def answer(self, yes: bool) -> None:
        """The answer to the question (`questionChanged`)."""
        self._activity.answer(yes)

    @Slot()
    def undo(self) -> None:
        """Take back the last change to another user (one more PUT)."""
        self._activity.undo()

    @Slot(str)
    def set_my_uuid(self, uuid: str) -> None:
        """"This is me": the user whose role decides whether Add is offered ("" forgets)."""
        self._service.set_my_uuid(uuid or None)

    @Slot()
    def start_add(self) -> UserEditSession:
        """Start adding a user: the session, also announced by `sessionStarted`."""
        return self._session(self._activity.start_add())

    @Slot(str)
    def start_edit(self, uuid: str) -> UserEditSession | None:
        """Start editing `uuid`: the session, also announced by `sessionStarted` (None,
        and nothing announced, when the list does not have the user or "my" role may not
        edit them: the status line says why)."""
        edit = self._activity.start_edit(uuid)
        return None if edit is None else self._session(edit)

    # -- internals --------------------------------------------------------------------

    def _session(self, edit: EditSession) -> UserEditSession:
        # First the status line hears of each step, then the dialog (which may close).
        edit.add_listener(self._on_edit_step)
        session = UserEditSession(edit, self)
        self.sessionStarted.emit(session)
        return session

    def _on_activity(self, before: ActivityState, after: ActivityState) -> None:
        if after.status:
            self._set_status(after.status)
        if after.refreshing != before.refreshing:
            self.refreshingChanged.emit(after.refreshing)
        if after.switching != before.switching:
            self.pendingChanged.emit(after.switching)
        if after.question != before.question:
            self.questionChanged.emit(after.question)
        if after.undo != before.undo:
            self.undoChanged.emit(self.undo_text)

    def _on_edit_step(self, _before: EditState, after: EditState) -> None:
        if after.status:
            self._set_status(after.status)

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


class UserEditSession(QObject):
    """One Add or Edit dialog's `EditSession` as slots and signals: `submit` and
    `recheck` forward, and each step answers through the signals below (a save with no
    clear answer is checked before anything else may be sent: found closes the dialog,
    absent lets Save retry, unclear offers "Check again" and keeps Save off)."""

    fieldErrors = Signal(object)
    """dict API field → sentence, to show beside the fields."""
    messageChanged = Signal(str, str)
    """(sentence, kind: "error" / "warning" / "info") about the save as a whole."""
    busyChanged = Signal(bool)
    recheckAvailable = Signal(bool)
    succeeded = Signal(str)
    confirmationRequested = Signal(object)
    """A `Confirmation` to put to the person before an edit of another user is sent."""

    def __init__(self, edit: EditSession, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("userEditSession")
        self._edit = edit
        self._released = False
        self._unsubscribe = edit.add_listener(self._on_step)

    @property
    def edit(self) -> EditSession:
        return self._edit

    @property
    def number(self) -> int:
        """The session's number in its task names (``users-save-<n>``)."""
        return self._edit.number

    @property
    def original(self) -> User | None:
        return self._edit.original

    @property
    def busy(self) -> bool:
        return self._edit.state.busy

    @Slot(object)
    def submit(self, form: UserForm) -> None:
        self._edit.submit(form)

    @Slot()
    def recheck(self) -> None:
        self._edit.recheck()

    @Slot(bool)
    def answer(self, yes: bool) -> None:
        self._edit.answer(yes)

    @Slot()
    def release(self) -> None:
        """The dialog is gone: delete this session once no save is running (a question
        still open is answered no: nothing is sent)."""
        self._released = True
        if self._edit.state.phase is EditPhase.CONFIRMING:
            self._edit.answer(False)  # its step lets this session go
        elif not self.busy:
            self._delete()

    def _on_step(self, before: EditState, after: EditState) -> None:
        if after.busy != before.busy:
            # First: the dialog's fields are editable again, and can take focus.
            self.busyChanged.emit(after.busy)
        if after.phase is EditPhase.CONFIRMING and after.question is not None:
            self.confirmationRequested.emit(after.question)
        elif after.phase is EditPhase.SAVED:
            self.succeeded.emit(after.message)
        elif after.field_errors:
            self.fieldErrors.emit(dict(after.field_errors))
        elif after.message:
            self.messageChanged.emit(after.message, after.kind)
        if after.may_recheck != before.may_recheck:
            self.recheckAvailable.emit(after.may_recheck)
        if self._released and not after.busy:
            self._delete()

    def _delete(self) -> None:
        self._unsubscribe()
        self.deleteLater()
