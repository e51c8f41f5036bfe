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
- **Changes to someone else.** What "my" role may not change is refused here too, not
  only greyed out (`Permissions.for_user`). A change to another user (any user while
  "me" is not chosen) is put as a question first (`Confirmation`: the switch's in
  `ActivityState.question`, a dialog's in `EditPhase.CONFIRMING`); only "yes" sends it,
  "no" sends nothing and keeps the form as typed. Once it is saved, `ActivityState.undo`
  offers the PUT that sets back the previous values, when every one of them is known
  and can be sent; an undo is refused if the user no longer holds what was saved
  (someone changed them since). The undo is one more change through the same path
  (task ``users-undo``), not confirmed again: the person is taking back their own.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Final, Generic, Literal, TypeVar

from desktop_app.api.errors import MyOperatorError, NotFound, PermissionDenied, ValidationError
from desktop_app.api.models import ContactType, User, UserUpdate
from desktop_app.services.formatting import format_number
from desktop_app.services.listeners import Listeners
from desktop_app.services.tasks import TaskFailure, TaskSupervisor
from desktop_app.services.users import (
    CONTACT_TYPE_LABELS,
    FIELD_LABELS,
    FORM_FIELDS,
    FieldErrors,
    PendingChange,
    SaveOutcomeUnknown,
    SaveResult,
    UserForm,
    UsersService,
    Verdict,
    holds_all,
    restoring_update,
)

REFRESH_TASK: Final = "users-refresh"
#: The first load of the list, tried again until it succeeds (`UsersActivity.load`).
LOAD_TASK: Final = "users-load"
#: Followed by the user's uuid.
RECEIVES_CALLS_TASK: Final = "users-receives-calls-"
#: Followed by the session's number.
SAVE_TASK: Final = "users-save-"
RECHECK_TASK: Final = "users-recheck-"
UNDO_TASK: Final = "users-undo"

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


# -- questions and undo -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A change to another user, put as a question before it is sent."""

    title: str
    """E.g. "Stop calls to Priya Sharma's phone?"."""
    consequence: str
    """What follows if the answer is yes."""
    confirm_label: str
    """The "yes" button's text ("Stop calls")."""


@dataclass(frozen=True, slots=True)
class UndoOffer:
    """How to take back a saved change to another user: one more PUT of the previous
    values, sent only while the user still holds what was saved."""

    uuid: str
    update: UserUpdate
    #: What the change saved (the params sent, uuid included).
    saved: Mapping[str, str]
    #: "Switch calls back on for Priya Sharma" (the Undo button's tooltip).
    text: str
    #: "Priya Sharma receives calls again."
    done: str


def switch_confirmation(user: User | None, on: bool) -> Confirmation:
    """The question before switching another user's calls on or off."""
    name = user.name if user is not None and user.name else "this user"
    phone = _phone(user)
    if on:
        return Confirmation(
            f"Send calls to {name}'s phone?",
            f"IVR calls will ring {name}{phone} again, for everyone calling the account.",
            "Send calls",
        )
    return Confirmation(
        f"Stop calls to {name}'s phone?",
        f"IVR calls will no longer ring {name}{phone} until someone switches them back "
        "on. Customers will be routed to other agents, or missed.",
        "Stop calls",
    )


def edit_confirmation(before: User, update: UserUpdate) -> Confirmation:
    """The question before saving an edit of another user: each change, old → new."""
    lines = [
        f"{FIELD_LABELS[name]}: {_shown(name, _value(before, name))} → "
        f"{_shown(name, _value(update, name))}"
        for name in FORM_FIELDS
        if name not in ("country_code", "alternate_cc") and getattr(update, name) is not None
    ]
    name = before.name or "this user"
    return Confirmation(
        f"Change {name}'s details?",
        "\n".join([*lines, f"MyOperator applies this to {name} at once."]),
        "Save changes",
    )


def undo_offer(before: User | None, saved: Mapping[str, str]) -> UndoOffer | None:
    """The undo of a saved change to `before` (None: a previous value is not known or
    cannot be sent)."""
    if before is None:
        return None
    update = restoring_update(before, saved)
    if update is None:
        return None
    name = before.name or "the user"
    if set(saved) == {"uuid", "receive_calls"}:
        on = bool(update.receive_calls)
        return UndoOffer(
            before.uuid,
            update,
            saved,
            f"Switch calls back {'on' if on else 'off'} for {name}",
            f"{name} receives calls again." if on else f"{name} no longer receives calls again.",
        )
    return UndoOffer(
        before.uuid,
        update,
        saved,
        f"Put back {name}'s previous details",
        f"{name}'s previous details are back.",
    )


def _phone(user: User | None) -> str:
    number = user.number_e164 if user is not None else None
    return f" ({format_number(number)})" if number else ""


def _value(user: User | UserUpdate, name: str) -> object:
    """A field of a user, or of an update, numbers with their country codes."""
    if name == "receive_calls":
        return user.receives_calls if isinstance(user, User) else user.receive_calls
    if name == "contact_number":
        return (user.country_code, user.contact_number) if user.contact_number else None
    if name == "alternate_contact_number":
        number = user.alternate_contact_number
        return (user.alternate_cc, number) if number else None
    return getattr(user, name, None)


def _shown(name: str, value: object) -> str:
    """A field's value as a person reads it in a confirmation."""
    if value is None or value == "":
        return "(none)"
    if name == "panel_access":
        return "may log in" if value else "may not log in"
    if name == "receive_calls":
        return "receives calls" if value else "does not receive calls"
    if isinstance(value, ContactType):
        return CONTACT_TYPE_LABELS[value]
    if isinstance(value, tuple):
        cc, number = value
        return f"+{cc} {number}" if cc else str(number)
    return str(value)


# -- a dialog's saves ---------------------------------------------------------------------


class EditPhase(Enum):
    EDITING = "editing"
    """The form may be saved: at first, or again after an answer that sent nothing."""
    CONFIRMING = "confirming"
    """A change to another user waits for the person's yes or no (`EditState.question`)."""
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
    #: While CONFIRMING: the question.
    question: Confirmation | None = None
    #: When SAVED: how to take the change back (changes to another user only).
    undo: UndoOffer | None = None

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
        self._asked: UserUpdate | None = None

    @property
    def original(self) -> User | None:
        return self._original

    @property
    def number(self) -> int:
        """In the task names, so no other session's save replaces this one's."""
        return self._number

    def submit(self, form: UserForm) -> bool:
        """Save `form` (task ``users-save-<n>``); False, and nothing sent, unless the
        session may save now (`EditState.may_save`), its owner is open and "my" role may
        change this user. An edit of another user is put as a question first
        (CONFIRMING: `answer` decides)."""
        if not self._state.may_save or self._tasks.closed:
            return False
        original = self._original
        if original is not None:
            if self._role_refuses(original.uuid):
                return False
            if not self._service.is_me(original.uuid):
                return self._ask(original, form)
        self._start_saving(self._save(form))
        return True

    def answer(self, yes: bool) -> bool:
        """The person's answer to the question (CONFIRMING): yes sends the change, no
        sends nothing and lets the form be saved again. False when nothing was asked."""
        update, self._asked = self._asked, None
        if self._state.phase is not EditPhase.CONFIRMING or update is None:
            return False
        if not yes or self._tasks.closed:
            self._move(EditState(message="Nothing was sent: your changes are still here.",
                                 kind="info"))
            return True
        assert self._original is not None  # only an edit is asked
        if self._role_refuses(self._original.uuid):  # "me" changed while it was asked
            return True
        # A confirmed edit of another user: its success offers the undo.
        self._start_saving(
            self._send(self._service.apply_update(update, before=self._original), undo=True)
        )
        return True

    def _role_refuses(self, uuid: str) -> bool:
        """Whether "my" role may not change `uuid`; if so, the session says why."""
        allowed = self._service.permissions().for_user(uuid)
        if allowed.may_edit:
            return False
        self._move(EditState(message=f"Nothing was saved: {allowed.edit_reason}"))
        return True

    def _start_saving(self, saving: Coroutine[Any, Any, None]) -> None:
        self._move(EditState(EditPhase.SAVING))
        self._tasks.spawn(f"{SAVE_TASK}{self._number}", saving, on_failure=self._failed)

    def _ask(self, original: User, form: UserForm) -> bool:
        """Check `form` now (field errors come back at once) and ask before sending it."""
        try:
            update = self._service.build_update(original, form)
        except FieldErrors as exc:
            self._move(EditState(field_errors=exc.errors))
            return True
        if update is None:
            text = "Nothing changed."
            self._move(EditState(EditPhase.SAVED, message=text, kind="info", status=text))
            return True
        self._asked = update
        self._move(EditState(EditPhase.CONFIRMING, question=edit_confirmation(original, update)))
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
        service, original = self._service, self._original

        async def sending() -> SaveResult | None:
            # Inside `_send`'s handling: the form's own errors are a refusal too.
            if original is None:
                return await service.add(service.new_user(form))
            return await service.update(original, form)

        await self._send(sending())

    async def _send(self, sending: Awaitable[SaveResult | None], *, undo: bool = False) -> None:
        """Await one save and show its answer: saved (`undo`: offering to take it back),
        refused (the form may be saved again), or unclear (checked, never resent)."""
        try:
            result = await sending
        except SaveOutcomeUnknown as exc:
            change = exc.change
        except MyOperatorError as exc:
            self._move(self._refusal(exc))
            return
        else:
            text = "Nothing changed." if result is None else _saved_text(result)
            offer = undo_offer(self._original, result.sent) if undo and result is not None else None
            self._move(EditState(EditPhase.SAVED, message=text, kind="info", status=text,
                                 undo=offer))
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
            other = change.before is not None and not self._service.is_me(change.before.uuid)
            undo = undo_offer(change.before, change.params) if other else None
            self._move(
                EditState(EditPhase.SAVED, message=text, kind="info", status=text, undo=undo)
            )
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
    #: A switch of another user's calls waiting for the person's yes or no (`answer`).
    question: Confirmation | None = None
    #: The last change to another user, to take back (`undo`).
    undo: UndoOffer | None = None
    undoing: bool = False


class UsersActivity(_Published[ActivityState]):
    """The directory's own requests (refresh, receives-calls switch), and the factory of
    the dialogs' `EditSession`s, all run as tasks of `tasks`; see the module docstring."""

    def __init__(self, service: UsersService, tasks: TaskSupervisor) -> None:
        super().__init__(ActivityState())
        self._service = service
        self._tasks = tasks
        self._session_numbers = itertools.count(1)
        #: The switch the question is about: (uuid, on).
        self._asked: tuple[str, bool] | None = None

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
        ``users-receives-calls-<uuid>``); another user's switch is asked first
        (`ActivityState.question`, then `answer`). False, and nothing sent or asked, while
        that user's last switch is on its way, a question waits, when closed, or when "my"
        role may not switch this user's calls (the status says why)."""
        if uuid in self._state.switching or self._state.question or self._tasks.closed:
            return False
        allowed = self._service.permissions().for_user(uuid)
        if not allowed.may_switch_calls:
            self._step(status=allowed.switch_reason)
            return False
        if self._service.is_me(uuid):
            self._start_switch(uuid, on)
        else:
            self._asked = (uuid, on)
            self._step(question=switch_confirmation(self._service.get(uuid), on))
        return True

    def answer(self, yes: bool) -> bool:
        """The person's answer to `ActivityState.question`: yes sends the switch, no
        sends nothing. False when nothing was asked."""
        asked, self._asked = self._asked, None
        if self._state.question is None or asked is None:
            return False
        if not yes:
            self._step(question=None, status="Nothing was changed.")
            return True
        allowed = self._service.permissions().for_user(asked[0])
        if not allowed.may_switch_calls:  # "me" changed while the question was open
            self._step(question=None, status=allowed.switch_reason)
            return False
        self._step(question=None)
        if self._tasks.closed or asked[0] in self._state.switching:
            return False
        self._start_switch(*asked)
        return True

    def undo(self) -> bool:
        """Send `ActivityState.undo` (task ``users-undo``); False when there is none, one
        is on its way, or the owner is closed."""
        offer = self._state.undo
        if offer is None or self._state.undoing or self._tasks.closed:
            return False
        self._step(undo=None, undoing=True)
        self._tasks.spawn(UNDO_TASK, self._undo(offer), on_failure=self._undo_failed)
        return True

    def start_add(self) -> EditSession:
        return self._session(None)

    def start_edit(self, uuid: str) -> EditSession | None:
        """An Edit dialog's session for `uuid` (None: not in the list, or "my" role may
        not edit this user: the status says why)."""
        user = self._service.get(uuid)
        if user is None:
            return None
        allowed = self._service.permissions().for_user(uuid)
        if not allowed.may_edit:
            self._step(status=allowed.edit_reason)
            return None
        return self._session(user)

    def _session(self, original: User | None) -> EditSession:
        session = EditSession(
            self._service, original, self._tasks, number=next(self._session_numbers)
        )
        session.add_listener(self._on_session_step)
        return session

    def _on_session_step(self, before: EditState, after: EditState) -> None:
        """A save starting takes the last undo away (it may undo what this saves); a
        saved change to another user offers its own."""
        if after.phase is EditPhase.SAVING and before.phase is not EditPhase.SAVING:
            if self._state.undo is not None:
                self._step(undo=None)
        elif after.phase is EditPhase.SAVED and after.undo is not None:
            self._step(undo=after.undo)

    def _start_switch(self, uuid: str, on: bool) -> None:
        self._step(switching=self._state.switching | {uuid}, undo=None)
        self._tasks.spawn(
            f"{RECEIVES_CALLS_TASK}{uuid}", self._switch(uuid, on), on_failure=self._switch_failed
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
            saved = await self._send(
                UserUpdate(uuid=uuid, receive_calls=on), user, done, f"Could not change {name}"
            )
            if saved is not None and not self._service.is_me(uuid):
                self._step(undo=undo_offer(user, saved))
        finally:
            self._step(switching=self._state.switching - {uuid})

    async def _undo(self, offer: UndoOffer) -> None:
        user = self._service.get(offer.uuid)
        try:
            allowed = self._service.permissions().for_user(offer.uuid)
            if user is None or not holds_all(user, offer.saved):
                name = user.name if user is not None else "The user"
                self._step(status=f"{name} changed since: nothing was undone.")
            elif not (allowed.may_edit or (
                allowed.may_switch_calls and set(offer.saved) == {"uuid", "receive_calls"}
            )):
                self._step(status=f"Nothing was undone: {allowed.edit_reason}")
            else:
                self._step(status=f"Undoing: {offer.text}…")
                await self._send(offer.update, user, f"Undone: {offer.done}", "Could not undo")
        finally:
            self._step(undoing=False)

    async def _send(
        self, update: UserUpdate, before: User | None, done: str, failed: str
    ) -> Mapping[str, str] | None:
        """One change through `UsersService.apply_update`, re-checked if unanswered;
        says how it ended. What was saved (the params sent), or None if not known saved."""
        try:
            result = await self._service.apply_update(update, before=before)
        except SaveOutcomeUnknown as exc:
            self._step(status=CHECKING)
            check = await self._service.verify_after_unknown(exc.change)
            if check.verdict is Verdict.APPLIED:
                self._step(status=done)
                return exc.change.params
            if check.verdict is Verdict.NOT_APPLIED:
                self._step(status=f"The change did not reach MyOperator: {check.message}")
            else:
                self._step(status=check.message)
        except MyOperatorError as exc:
            self._step(status=f"{failed}: {exc.message}")
        else:
            refresh_error = result.refresh_error
            self._step(status=done if refresh_error is None else (
                f"{done} The list could not be refreshed: {refresh_error.message}"
            ))
            return result.sent
        return None

    def _switch_failed(self, failure: TaskFailure) -> None:
        self._step(
            status="Check the list before switching again: the change may or may not have "
            f"been saved ({_clause(failure)})."
        )

    def _undo_failed(self, failure: TaskFailure) -> None:
        self._step(
            status="Check the list: the undo may or may not have been saved "
            f"({_clause(failure)})."
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
