"""The life of what a person does to the users directory, Qt-free: the Add/Edit dialog's
saves (`EditSession`), and the refresh and receives-calls switch (`UsersActivity`).

Each is a small state machine that hands every step to its listeners as an immutable
snapshot, with the previous one (the users presenter turns the difference into signals).
The work runs as named tasks of the owner's `TaskSupervisor`: closing the owner cancels
it, and a failure nobody planned for is reported, never lost.

- **A dialog's save** answers field errors beside the fields, other refusals as one
  sentence, and a success by ending the session (`SAVED`: the dialog closes). A save with
  no clear answer (`SaveOutcomeUnknown`) is never resent: it is looked for in a fresh list
  (`CHECKING`) before anything else may be sent; found, the session ends; absent, Save may
  retry; neither, only a re-check is offered (`UNCLEAR`).
- **Task names.** Each session's tasks carry its number (``users-save-<n>``,
  ``users-recheck-<n>``): a second dialog's save must not replace, and so cancel, a PUT
  still on its way whose outcome nobody would then check. The refresh is
  ``users-refresh`` (ignored while one runs); a switch is
  ``users-receives-calls-<uuid>`` (one change per user at a time, re-checked like a save
  when unanswered).
- **Nothing stuck.** A save, check, refresh or switch that ends in anything unexpected (a
  cache that cannot be written, a bug) gives its control back with a sentence saying what
  is not known, never "Saving…" or "Refreshing…" for good.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Final, Generic, Literal, TypeVar

from desktop_app.api.errors import MyOperatorError, NotFound, PermissionDenied, ValidationError
from desktop_app.api.models import User
from desktop_app.services.listeners import Listeners
from desktop_app.services.tasks import TaskFailure, TaskSupervisor
from desktop_app.services.users import (
    FORM_FIELDS,
    FieldErrors,
    PendingChange,
    SaveOutcomeUnknown,
    SaveResult,
    UserForm,
    UsersService,
    Verdict,
)

REFRESH_TASK: Final = "users-refresh"
#: The first load of the list, tried again until it succeeds (`UsersActivity.load`).
LOAD_TASK: Final = "users-load"
#: Followed by the user's uuid.
RECEIVES_CALLS_TASK: Final = "users-receives-calls-"
#: Followed by the session's number.
SAVE_TASK: Final = "users-save-"
RECHECK_TASK: Final = "users-recheck-"

CHECKING: Final = "MyOperator gave no clear answer: checking whether it was saved…"

MessageKind = Literal["error", "warning", "info"]
S = TypeVar("S")


class _Published(Generic[S]):
    """A state that listeners hear of at every step, as (before, after)."""

    def __init__(self, initial: S) -> None:
        self._state = initial
        self._listeners: Listeners[[S, S]] = Listeners()

    @property
    def state(self) -> S:
        return self._state

    def add_listener(self, listener: Callable[[S, S], None]) -> Callable[[], None]:
        """Call `listener(before, after)` at every step; returns an unsubscribe function."""
        return self._listeners.add(listener)

    def _move(self, state: S) -> None:
        before, self._state = self._state, state
        self._listeners.emit(before, state)


# -- a dialog's saves ---------------------------------------------------------------------


class EditPhase(Enum):
    EDITING = "editing"
    """The form may be saved: at first, or again after an answer that sent nothing."""
    SAVING = "saving"
    CHECKING = "checking"
    """The save got no clear answer: looking for it in a fresh list."""
    UNCLEAR = "unclear"
    """Still not known whether it was saved: only a re-check may follow (a save could
    send it twice)."""
    SAVED = "saved"
    """Done: the dialog closes."""


@dataclass(frozen=True, slots=True)
class EditState:
    """One step of an `EditSession`: where it is, and what this step answers."""

    phase: EditPhase = EditPhase.EDITING
    #: The change whose outcome is not known yet (while CHECKING or UNCLEAR).
    pending: PendingChange | None = None
    #: This step's answer beside the fields: API field → sentence.
    field_errors: Mapping[str, str] = field(default_factory=dict)
    #: This step's answer as one sentence ("" when it says nothing new); when SAVED, what
    #: was saved.
    message: str = ""
    kind: MessageKind = "error"
    #: The sentence for the directory's status line ("" leaves it as it is).
    status: str = ""

    @property
    def busy(self) -> bool:
        """A request or a check is on its way: nothing can be edited or sent."""
        return self.phase in (EditPhase.SAVING, EditPhase.CHECKING)

    @property
    def may_save(self) -> bool:
        return self.phase is EditPhase.EDITING

    @property
    def may_recheck(self) -> bool:
        return self.phase is EditPhase.UNCLEAR


class EditSession(_Published[EditState]):
    """One Add (`original` None) or Edit dialog's saves: `submit` a form, `recheck` a save
    with no clear answer, and listen to the steps; see the module docstring."""

    def __init__(
        self,
        service: UsersService,
        original: User | None,
        tasks: TaskSupervisor,
        *,
        number: int,
    ) -> None:
        super().__init__(EditState())
        self._service = service
        self._original = original
        self._tasks = tasks
        self._number = number

    @property
    def original(self) -> User | None:
        return self._original

    @property
    def number(self) -> int:
        """In the task names, so no other session's save replaces this one's."""
        return self._number

    def submit(self, form: UserForm) -> bool:
        """Save `form` (task ``users-save-<n>``); False, and nothing sent, unless the
        session may save now (`EditState.may_save`) and its owner is open."""
        if not self._state.may_save or self._tasks.closed:
            return False
        self._move(EditState(EditPhase.SAVING))
        self._tasks.spawn(f"{SAVE_TASK}{self._number}", self._save(form), on_failure=self._failed)
        return True

    def recheck(self) -> bool:
        """Look once more for a change with no clear answer (task ``users-recheck-<n>``);
        never resends it. False unless UNCLEAR and the owner is open."""
        pending = self._state.pending
        if not self._state.may_recheck or pending is None or self._tasks.closed:
            return False
        self._move(EditState(EditPhase.CHECKING, pending))
        self._tasks.spawn(
            f"{RECHECK_TASK}{self._number}", self._verify(pending), on_failure=self._failed
        )
        return True

    async def _save(self, form: UserForm) -> None:
        service = self._service
        try:
            if self._original is None:
                result: SaveResult | None = await service.add(service.new_user(form))
            else:
                result = await service.update(self._original, form)
        except SaveOutcomeUnknown as exc:
            change = exc.change
        except MyOperatorError as exc:
            self._move(self._refusal(exc))
            return
        else:
            text = "Nothing changed." if result is None else _saved_text(result)
            self._move(EditState(EditPhase.SAVED, message=text, kind="info", status=text))
            return
        self._move(
            EditState(EditPhase.CHECKING, change, message=CHECKING, kind="warning", status=CHECKING)
        )
        await self._verify(change)

    def _refusal(self, exc: MyOperatorError) -> EditState:
        """The answer to a save that was refused (or not sent): the form may be saved again."""
        if isinstance(exc, FieldErrors):
            return EditState(field_errors=exc.errors)
        if isinstance(exc, ValidationError):
            if exc.field in FORM_FIELDS:
                return EditState(field_errors={exc.field: exc.message})
            return EditState(message=exc.message)
        if isinstance(exc, PermissionDenied):
            what = "add users" if self._original is None else "change users"
            return EditState(
                message=f"{exc.message} This API token may not {what}: nothing was saved."
            )
        if isinstance(exc, NotFound):
            return EditState(
                message="This user is no longer in MyOperator's list (removed elsewhere?): "
                "nothing was saved. The list has been refreshed."
            )
        return EditState(message=f"Nothing was saved: {exc.message}")

    async def _verify(self, change: PendingChange) -> None:
        check = await self._service.verify_after_unknown(change)
        text = check.message
        if check.verdict is Verdict.APPLIED:
            self._move(EditState(EditPhase.SAVED, message=text, kind="info", status=text))
        elif check.verdict is Verdict.NOT_APPLIED:
            self._move(EditState(message=text, kind="warning", status=text))
        else:
            self._move(
                EditState(EditPhase.UNCLEAR, change, message=text, kind="warning", status=text)
            )

    def _failed(self, failure: TaskFailure) -> None:
        """A save or a check that ended in something unexpected: whether the change
        arrived is not known. The form may be saved again, unless a change is still to be
        checked: then only a re-check is offered."""
        pending = self._state.pending
        if pending is not None:
            text = (
                "Check again before saving again: it could not be checked whether it was "
                f"saved ({_clause(failure)})."
            )
            self._move(
                EditState(EditPhase.UNCLEAR, pending, message=text, kind="warning", status=text)
            )
        else:
            text = (
                "Check the list before saving again: it may or may not have been saved "
                f"({_clause(failure)})."
            )
            self._move(EditState(message=text, kind="warning", status=text))


# -- the refresh and the receives-calls switch -------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityState:
    """One step of `UsersActivity`."""

    refreshing: bool = False
    #: Users whose receives-calls change is on its way.
    switching: frozenset[str] = frozenset()
    #: The sentence for the directory's status line ("" leaves it as it is).
    status: str = ""


class UsersActivity(_Published[ActivityState]):
    """The directory's own requests (refresh, receives-calls switch), and the factory of
    the dialogs' `EditSession`s, all run as tasks of `tasks`; see the module docstring."""

    def __init__(self, service: UsersService, tasks: TaskSupervisor) -> None:
        super().__init__(ActivityState())
        self._service = service
        self._tasks = tasks
        self._session_numbers = itertools.count(1)

    def is_switching(self, uuid: str) -> bool:
        return uuid in self._state.switching

    def load(self) -> None:
        """The first read of the list (task ``users-load``), tried again with a growing wait
        until it succeeds: without it the Users list and the dialer's agents stay empty
        for the whole session."""
        if self._tasks.closed:
            return
        self._tasks.keep_running(LOAD_TASK, self._load_once)

    def refresh(self) -> bool:
        """Re-read the users (task ``users-refresh``); False while one runs or when closed.

        While the first load is still failing, a refresh only cuts its wait short."""
        if self._state.refreshing or self._tasks.closed:
            return False
        if self._tasks.running(LOAD_TASK):
            self._tasks.retry_now(LOAD_TASK)
            return True
        self._step(refreshing=True)
        self._tasks.spawn(REFRESH_TASK, self._refresh(), on_failure=self._refresh_failed)
        return True

    def set_receives_calls(self, uuid: str, on: bool) -> bool:
        """Switch IVR calls on or off for a user (one PUT, re-checked if unanswered, task
        ``users-receives-calls-<uuid>``); False while that user's last switch is on its way
        or when closed."""
        if uuid in self._state.switching or self._tasks.closed:
            return False
        self._step(switching=self._state.switching | {uuid})
        self._tasks.spawn(
            f"{RECEIVES_CALLS_TASK}{uuid}", self._switch(uuid, on), on_failure=self._switch_failed
        )
        return True

    def start_add(self) -> EditSession:
        return self._session(None)

    def start_edit(self, uuid: str) -> EditSession | None:
        """An Edit dialog's session for `uuid` (None: not in the list)."""
        user = self._service.get(uuid)
        return None if user is None else self._session(user)

    def _session(self, original: User | None) -> EditSession:
        return EditSession(
            self._service, original, self._tasks, number=next(self._session_numbers)
        )

    def _step(self, *, status: str = "", **changes: Any) -> None:
        """A new snapshot with `changes`; its status is `status` ("" says nothing new)."""
        self._move(replace(self._state, status=status, **changes))

    async def _refresh(self) -> None:
        self._step(status="Refreshing the users…")
        try:
            users = await self._service.refresh()
        except MyOperatorError as exc:
            self._step(status=f"Could not refresh the users: {exc.message}")
        else:
            self._step(status=f"Users refreshed: {len(users)}.")
        finally:
            self._step(refreshing=False)

    async def _load_once(self) -> None:
        """One try of `load`: a failure is raised, for the supervisor to try again."""
        self._step(refreshing=True, status="Loading the users…")
        try:
            users = await self._service.refresh()
        except MyOperatorError as exc:
            self._step(refreshing=False, status=f"Could not load the users: {exc.message}")
            raise
        except BaseException:
            self._step(refreshing=False)
            raise
        self._tasks.report_recovered(LOAD_TASK)
        self._step(refreshing=False, status=f"Users refreshed: {len(users)}.")

    def _refresh_failed(self, failure: TaskFailure) -> None:
        """A refresh that ended in something unexpected: the status line says so instead
        of "Refreshing…" forever."""
        self._step(status=f"Could not refresh the users: {failure.sentence}")

    async def _switch(self, uuid: str, on: bool) -> None:
        user = self._service.get(uuid)
        name = user.name if user is not None else "The user"
        done = f"{name} now receives calls." if on else f"{name} no longer receives calls."
        try:
            self._step(status=f"Turning calls {'on' if on else 'off'} for {name}…")
            result = await self._service.set_receives_calls(uuid, on)
        except SaveOutcomeUnknown as exc:
            self._step(status=CHECKING)
            check = await self._service.verify_after_unknown(exc.change)
            if check.verdict is Verdict.APPLIED:
                self._step(status=done)
            elif check.verdict is Verdict.NOT_APPLIED:
                self._step(status=f"The change did not reach MyOperator: {check.message}")
            else:
                self._step(status=check.message)
        except MyOperatorError as exc:
            self._step(status=f"Could not change {name}: {exc.message}")
        else:
            refresh_error = result.refresh_error
            self._step(status=done if refresh_error is None else (
                f"{done} The list could not be refreshed: {refresh_error.message}"
            ))
        finally:
            self._step(switching=self._state.switching - {uuid})

    def _switch_failed(self, failure: TaskFailure) -> None:
        self._step(
            status="Check the list before switching again: the change may or may not have "
            f"been saved ({_clause(failure)})."
        )


# -- wording ------------------------------------------------------------------------------


def _clause(failure: TaskFailure) -> str:
    """The failure's sentence as a clause inside another sentence."""
    text = failure.sentence.rstrip(".")
    return text[:1].lower() + text[1:]


def _saved_text(result: SaveResult) -> str:
    """A confirmed save, with the refresh that failed after it if one did."""
    if result.refresh_error is None:
        return result.message
    return f"{result.message} The list could not be refreshed: {result.refresh_error.message}"
