"""The users directory's presenter and the edit session behind the user dialog.

The panel opens `UserDialog` with ``open()`` and connects it to a `UserEditSession`, which
runs the save, re-checks an unknown outcome and answers the dialog: field errors beside
fields, other failures as a sentence, success closes it. Each session's save runs under
its own task name (a second dialog's save must not cancel a PUT still on its way), and a
save, refresh or switch that ends in anything unexpected gives its control back with a
sentence saying what is not known.
"""

from __future__ import annotations

import itertools
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication

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
from desktop_app.ui.common.presenter import Presenter
from desktop_app.ui.users.model import Column, UsersModel, UsersProxyModel

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


class UsersPresenter(Presenter):
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
