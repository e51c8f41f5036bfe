"""The users directory's state machines (no Qt): a dialog's `EditSession` and the
`UsersActivity` (refresh, receives-calls switch), against the emulated service in-process.

Every step is recorded as the listeners hear it, so the order of answers is asserted, not
only the end; requests are counted at the server ("never resent"); a request is held on
its way by a gate in the client, never by timing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

import httpx
import pytest

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import MyOperatorClient, RetryPolicy
from desktop_app.api.models import User, UserUpdate
from desktop_app.sandbox import BASIC_TOKEN, SandboxApp, SandboxConfig, SandboxState, create_app
from desktop_app.sandbox.model import SandboxUser
from desktop_app.services.clock import ManualClock
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.services.user_edit import (
    CHECKING,
    LOAD_TASK,
    RECEIVES_CALLS_TASK,
    RECHECK_TASK,
    REFRESH_TASK,
    SAVE_TASK,
    UNDO_TASK,
    ActivityState,
    EditPhase,
    EditSession,
    EditState,
    UsersActivity,
)
from desktop_app.services.users import UserForm, UserPermissions, UsersService
from desktop_app.store import CallStore, UserStore
from tests.helpers.tokens import FAKE_TOKEN

TIMEOUT = 10.0
NEW_NUMBER = "98765 43219"
GHOST = User(uuid="gone-0000", name="Gone Away", country_code="91",
             contact_number="9876500001", number_e164="+919876500001", extension=88)
READONLY = "the call cache could not be used: attempt to write a readonly database"

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)


async def _no_wait(_seconds: float) -> None:
    return None


class HeldClient(MyOperatorClient):
    """The client with every user update held before it is sent, until `release`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._gate = asyncio.Event()
        #: One uuid per update that is held.
        self.arrived: asyncio.Queue[str] = asyncio.Queue()

    def release(self) -> None:
        self._gate.set()

    async def update_user(self, update: UserUpdate) -> str | None:
        self.arrived.put_nowait(update.uuid)
        await self._gate.wait()
        return await super().update_user(update)


@dataclass
class Rig:
    state: SandboxState
    client: MyOperatorClient
    service: UsersService
    tasks: TaskSupervisor
    activity: UsersActivity
    cache: CallStore
    #: Failures the supervisor took for bugs (none expected: every failure here is the
    #: world's, a cache that refuses writes).
    bugs: list[BaseException]

    @property
    def held(self) -> HeldClient:
        assert isinstance(self.client, HeldClient)
        return self.client

    def user(self, name: str) -> User:
        return next(u for u in self.service.users() if u.name == name)

    def edit(self, name: str) -> EditSession:
        session = self.activity.start_edit(self.user(name).uuid)
        assert session is not None
        return session


@pytest.fixture
def app() -> SandboxApp:
    return create_app(
        SandboxConfig(n_logs=20, rate_limit=None, tokens={FAKE_TOKEN: 2, BASIC_TOKEN: 8})
    )


@pytest.fixture
def cache(store: CallStore) -> CallStore:
    """The call cache the users list shares (the unit tests' `store`)."""
    return store


@contextlib.asynccontextmanager
async def make_rig(
    app: SandboxApp,
    cache: CallStore,
    *,
    token: str = FAKE_TOKEN,
    held: bool = False,
    extra_cached: tuple[User, ...] = (),
) -> AsyncIterator[Rig]:
    """`held`: the client is a `HeldClient`."""
    client = (HeldClient if held else MyOperatorClient)(
        token,
        base_url="http://sandbox",
        transport=httpx.ASGITransport(app=app),
        budget=RequestBudget.unlimited(sleep=_no_wait),
        retry=RetryPolicy(attempts=2),
        sleep=_no_wait,
    )
    store = UserStore.sharing(cache)
    service = UsersService(client, store)
    await service.refresh()
    if extra_cached:
        store.replace_all([*store.all(), *extra_cached])
        service = UsersService(client, store)
    bugs: list[BaseException] = []
    tasks = TaskSupervisor("users", bug_hook=bugs.append)
    try:
        yield Rig(app.sandbox, client, service, tasks, UsersActivity(service, tasks), cache, bugs)
    finally:
        await tasks.aclose()
        await client.aclose()
    assert bugs == []


@pytest.fixture
async def rig(app: SandboxApp, cache: CallStore) -> AsyncIterator[Rig]:
    async with make_rig(app, cache) as made:
        yield made


class Machine(Protocol[S_co]):
    """An `EditSession` or a `UsersActivity`."""

    @property
    def state(self) -> S_co: ...

    def add_listener(self, listener: Callable[[S_co, S_co], None]) -> Callable[[], None]: ...


def steps(machine: Machine[S]) -> list[S]:
    """Every snapshot `machine` hands its listeners from now on, in order."""
    seen: list[S] = []
    machine.add_listener(lambda _before, after: seen.append(after))
    return seen


async def until(machine: Machine[S], done: Callable[[S], bool]) -> S:
    """The first snapshot (the current one included) for which `done` holds."""
    if done(machine.state):
        return machine.state
    found: asyncio.Future[S] = asyncio.get_running_loop().create_future()

    def listener(_before: S, after: S) -> None:
        if done(after) and not found.done():
            found.set_result(after)

    unsubscribe = machine.add_listener(listener)
    try:
        return await asyncio.wait_for(found, TIMEOUT)
    finally:
        unsubscribe()


def settled(state: EditState) -> bool:
    return not state.busy


def new_form(**changes: Any) -> UserForm:
    base = UserForm(name="Kavya Menon", country_code="91", contact_number=NEW_NUMBER)
    return replace(base, **changes)


def phases(seen: list[EditState]) -> list[EditPhase]:
    return [s.phase for s in seen]


def said(seen: list[ActivityState]) -> list[str]:
    """What the status line was told, in order."""
    return [s.status for s in seen if s.status]


def confirmed(session: EditSession, form: UserForm) -> None:
    """Save an edit of another user and answer its question yes."""
    assert session.submit(form)
    assert session.state.phase is EditPhase.CONFIRMING and session.state.question
    assert session.answer(True)


def switched(activity: UsersActivity, uuid: str, on: bool) -> bool:
    """Switch another user's calls, answering the question yes (False: refused)."""
    if not activity.set_receives_calls(uuid, on):
        return False
    assert activity.state.question is not None
    return activity.answer(True)


# ------------------------------------------------------------------- a dialog's save


async def test_an_add_saves_once_and_ends_the_session(rig: Rig) -> None:
    session = rig.activity.start_add()
    seen = steps(session)
    assert session.original is None and session.state == EditState()
    assert session.submit(new_form())
    assert rig.tasks.running(f"{SAVE_TASK}{session.number}")
    assert session.state.busy and not session.state.may_save
    assert not session.submit(new_form(name="Twice"))  # nothing sent twice
    await until(session, settled)
    assert phases(seen) == [EditPhase.SAVING, EditPhase.SAVED]
    assert (seen[-1].message, seen[-1].status) == ("Added Kavya Menon.", "Added Kavya Menon.")
    assert seen[0].status == "" and seen[0].message == ""
    assert [r.params["name"] for r in rig.state.requests_to("/user", "POST")] == ["Kavya Menon"]
    assert not session.submit(new_form())  # a saved session is over
    assert len(rig.state.requests_to("/user", "POST")) == 1


async def test_an_edit_without_changes_sends_nothing(rig: Rig) -> None:
    session = rig.edit("Rohan Verma")
    assert session.submit(UserForm.from_user(rig.user("Rohan Verma")))
    state = await until(session, settled)
    assert (state.phase, state.message, state.status) == (
        EditPhase.SAVED, "Nothing changed.", "Nothing changed.",
    )
    assert rig.state.requests_to("/user", "PUT") == []


async def test_wrong_fields_are_answered_beside_them_and_the_form_may_be_saved_again(
    rig: Rig,
) -> None:
    session = rig.activity.start_add()
    seen = steps(session)
    session.submit(new_form(name="", extension="5"))
    state = await until(session, settled)
    assert phases(seen) == [EditPhase.SAVING, EditPhase.EDITING]
    assert list(state.field_errors) == ["name", "extension"]
    assert state.message == "" and state.status == ""  # beside the fields only
    assert state.may_save and not state.may_recheck
    assert rig.state.requests_to("/user", "POST") == []
    session.submit(new_form())
    assert (await until(session, settled)).phase is EditPhase.SAVED


async def test_a_server_refusal_of_a_field_goes_beside_that_field(rig: Rig) -> None:
    rig.state.add_user({"name": "Elsewhere", "contact_number": "9876543219",
                        "country_code": "91"})
    session = rig.activity.start_add()
    session.submit(new_form())
    state = await until(session, settled)
    assert list(state.field_errors) == ["contact_number"]
    assert "already assigned" in state.field_errors["contact_number"]
    assert state.phase is EditPhase.EDITING and state.status == ""


async def test_a_refused_token_is_one_sentence(app: SandboxApp, cache: CallStore) -> None:
    async with make_rig(app, cache, token=BASIC_TOKEN) as rig:
        add = rig.activity.start_add()
        add.submit(new_form())
        state = await until(add, settled)
        assert state.field_errors == {} and state.kind == "error"
        assert state.message.endswith("This API token may not add users: nothing was saved.")
        edit = rig.edit("Rohan Verma")
        confirmed(edit, replace(UserForm.from_user(rig.user("Rohan Verma")), name="Nope"))
        state = await until(edit, settled)
        assert state.message.endswith("This API token may not change users: nothing was saved.")
        assert state.phase is EditPhase.EDITING


async def test_a_user_gone_from_the_server_is_one_sentence(
    app: SandboxApp, cache: CallStore
) -> None:
    async with make_rig(app, cache, extra_cached=(GHOST,)) as rig:
        session = rig.edit("Gone Away")
        confirmed(session, replace(UserForm.from_user(GHOST), name="Still Here?"))
        state = await until(session, settled)
        assert state.message == (
            "This user is no longer in MyOperator's list (removed elsewhere?): nothing was "
            "saved. The list has been refreshed."
        )
        assert (state.phase, state.kind, state.field_errors) == (EditPhase.EDITING, "error", {})


# ------------------------------------------------------------------ unknown outcome


async def test_an_unanswered_save_is_checked_and_found(rig: Rig) -> None:
    rig.state.faults.add("503:path=/user,method=PUT,after=1,count=1")
    session = rig.edit("Rohan Verma")
    seen = steps(session)
    confirmed(session, replace(UserForm.from_user(rig.user("Rohan Verma")), name="Rohan Two"))
    await until(session, settled)
    assert phases(seen) == [
        EditPhase.CONFIRMING, EditPhase.SAVING, EditPhase.CHECKING, EditPhase.SAVED,
    ]
    checking = seen[2]
    assert (checking.message, checking.kind, checking.status) == (CHECKING, "warning", CHECKING)
    assert checking.pending is not None and checking.pending.params["name"] == "Rohan Two"
    assert seen[3].message.startswith("It was saved") and seen[3].status == seen[3].message
    assert len(rig.state.requests_to("/user", "PUT")) == 1  # never resent
    assert rig.user("Rohan Two").uuid == checking.pending.uuid


async def test_an_unanswered_save_that_did_not_arrive_may_be_saved_again(rig: Rig) -> None:
    rig.state.faults.add("503:path=/user,method=PUT,count=1")  # refused unprocessed
    session = rig.edit("Rohan Verma")
    form = replace(UserForm.from_user(rig.user("Rohan Verma")), name="Rohan Two")
    confirmed(session, form)
    state = await until(session, lambda s: not s.busy)
    assert state.phase is EditPhase.EDITING and state.pending is None
    assert state.message.startswith("It was not saved") and state.kind == "warning"
    assert state.status == state.message and state.may_save and not state.may_recheck
    confirmed(session, form)
    assert (await until(session, settled)).phase is EditPhase.SAVED
    assert len(rig.state.requests_to("/user", "PUT")) == 2


async def test_an_unclear_check_offers_only_a_recheck(rig: Rig) -> None:
    rig.state.faults.add("503:path=/user,method=POST,after=1,count=1")
    reads = rig.state.faults.add("503:path=/user,method=GET")
    session = rig.activity.start_add()
    seen = steps(session)
    session.submit(new_form())
    state = await until(session, settled)
    assert phases(seen) == [EditPhase.SAVING, EditPhase.CHECKING, EditPhase.UNCLEAR]
    assert state.message.startswith("Could not check") and state.status == state.message
    assert state.may_recheck and not state.may_save and state.pending is not None
    assert not session.submit(new_form())  # a save could add the user twice

    rig.state.faults.remove(reads)
    assert session.recheck()
    assert rig.tasks.running(f"{RECHECK_TASK}{session.number}")
    recheck = seen[3]
    assert (recheck.phase, recheck.pending, recheck.message, recheck.status) == (
        EditPhase.CHECKING, state.pending, "", "",  # nothing new to say until it answers
    )
    assert not session.recheck()  # one check at a time
    assert (await until(session, settled)).phase is EditPhase.SAVED
    assert len(rig.state.requests_to("/user", "POST")) == 1
    assert rig.user("Kavya Menon")


async def test_recheck_needs_a_change_to_look_for(rig: Rig) -> None:
    session = rig.activity.start_add()
    assert not session.recheck()
    assert session.state == EditState() and rig.tasks.names == []


# --------------------------------------------------------------- nothing stuck, nothing lost


async def test_an_unexpected_failure_of_a_save_frees_the_form(rig: Rig) -> None:
    session = rig.edit("Rohan Verma")
    rig.cache.connection.execute("PRAGMA query_only = ON")  # the refresh after the PUT fails
    confirmed(session, replace(UserForm.from_user(rig.user("Rohan Verma")), name="Rohan Two"))
    state = await until(session, settled)
    text = f"Check the list before saving again: it may or may not have been saved ({READONLY})."
    assert (state.phase, state.message, state.kind, state.status) == (
        EditPhase.EDITING, text, "warning", text,
    )
    assert state.may_save


async def test_an_unexpected_failure_of_a_check_offers_check_again_not_save(rig: Rig) -> None:
    rig.state.faults.add("503:path=/user,method=POST,after=1,count=1")
    session = rig.activity.start_add()
    rig.cache.connection.execute("PRAGMA query_only = ON")
    session.submit(new_form())
    state = await until(session, settled)
    assert state.phase is EditPhase.UNCLEAR and state.pending is not None
    assert state.message == (
        f"Check again before saving again: it could not be checked whether it was saved "
        f"({READONLY})."
    )
    rig.cache.connection.execute("PRAGMA query_only = OFF")
    session.recheck()
    assert (await until(session, settled)).phase is EditPhase.SAVED
    assert len(rig.state.requests_to("/user", "POST")) == 1  # never resent


async def test_two_sessions_saves_never_cancel_each_other(
    app: SandboxApp, cache: CallStore
) -> None:
    async with make_rig(app, cache, held=True) as rig:
        first, second = rig.edit("Rohan Verma"), rig.edit("Deepa Patel")
        assert first.number != second.number
        confirmed(first, replace(UserForm.from_user(rig.user("Rohan Verma")), name="Rohan Two"))
        await asyncio.wait_for(rig.held.arrived.get(), TIMEOUT)
        confirmed(second, replace(UserForm.from_user(rig.user("Deepa Patel")), name="Deepa Two"))
        await asyncio.wait_for(rig.held.arrived.get(), TIMEOUT)
        assert {f"{SAVE_TASK}{first.number}", f"{SAVE_TASK}{second.number}"} <= set(
            rig.tasks.names
        )
        rig.held.release()
        assert (await until(first, settled)).phase is EditPhase.SAVED
        assert (await until(second, settled)).phase is EditPhase.SAVED
        assert [r.params["name"] for r in rig.state.requests_to("/user", "PUT")] == [
            "Rohan Two", "Deepa Two",
        ]


async def test_closing_the_owner_cancels_a_save_and_refuses_new_ones(
    app: SandboxApp, cache: CallStore
) -> None:
    async with make_rig(app, cache, held=True) as rig:
        session = rig.edit("Rohan Verma")
        seen = steps(session)
        confirmed(session, replace(UserForm.from_user(rig.user("Rohan Verma")), name="Rohan Two"))
        await asyncio.wait_for(rig.held.arrived.get(), TIMEOUT)
        await rig.tasks.aclose()
        assert phases(seen) == [EditPhase.CONFIRMING, EditPhase.SAVING]  # cancelled: no answer
        assert not rig.activity.start_add().submit(new_form())
        assert not rig.activity.refresh()
        assert not rig.activity.set_receives_calls(rig.user("Deepa Patel").uuid, True)
        assert rig.activity.state == ActivityState()


async def test_sessions_are_numbered_and_an_unknown_user_has_none(rig: Rig) -> None:
    numbers = [rig.activity.start_add().number for _ in range(3)]
    assert numbers == sorted(set(numbers))
    assert rig.activity.start_edit("no-such-uuid") is None
    edit = rig.edit("Rohan Verma")
    assert edit.original == rig.user("Rohan Verma") and edit.number > numbers[-1]


# ------------------------------------------------------------------------- refresh


async def test_refresh_says_what_it_does_and_runs_once_at_a_time(rig: Rig) -> None:
    rig.state.add_user({"name": "New Colleague", "contact_number": "9876501111",
                        "country_code": "91"})
    seen = steps(rig.activity)
    gets = len(rig.state.requests_to("/user", "GET"))
    assert rig.activity.refresh()
    assert rig.tasks.running(REFRESH_TASK) and rig.activity.state.refreshing
    assert not rig.activity.refresh()  # ignored while one runs
    await until(rig.activity, lambda s: not s.refreshing)
    assert seen == [
        ActivityState(refreshing=True),
        ActivityState(refreshing=True, status="Refreshing the users…"),
        ActivityState(refreshing=True, status="Users refreshed: 13."),
        ActivityState(),
    ]
    assert len(rig.state.requests_to("/user", "GET")) == gets + 1
    assert rig.user("New Colleague")


async def test_a_failed_refresh_says_so(rig: Rig) -> None:
    rig.state.faults.add("503:path=/user,method=GET")
    seen = steps(rig.activity)
    rig.activity.refresh()
    await until(rig.activity, lambda s: not s.refreshing)
    assert seen[-2].status.startswith("Could not refresh the users: ")
    assert len(rig.service.users()) == 12  # the cached list stays


async def test_an_unexpected_failure_of_a_refresh_frees_it_and_says_so(rig: Rig) -> None:
    rig.cache.connection.execute("PRAGMA query_only = ON")
    seen = steps(rig.activity)
    rig.activity.refresh()
    said = "Could not refresh the users: The call cache could not be used: attempt to write a " \
        "readonly database."
    await until(rig.activity, lambda s: s.status == said)
    assert [s.status for s in seen if s.status] == ["Refreshing the users…", said]
    assert not rig.activity.state.refreshing
    assert rig.activity.refresh()  # works again


# --------------------------------------------------------------- receives-calls switch


async def test_the_switch_runs_per_user_and_says_what_it_did(
    app: SandboxApp, cache: CallStore
) -> None:
    async with make_rig(app, cache, held=True) as rig:
        deepa, rohan = rig.user("Deepa Patel").uuid, rig.user("Rohan Verma").uuid
        seen = steps(rig.activity)
        assert switched(rig.activity, deepa, True)
        assert rig.activity.is_switching(deepa) and not rig.activity.is_switching(rohan)
        assert not rig.activity.set_receives_calls(deepa, False)  # one change at a time
        assert switched(rig.activity, rohan, False)  # another user's may run
        for _ in range(2):
            await asyncio.wait_for(rig.held.arrived.get(), TIMEOUT)
        assert {f"{RECEIVES_CALLS_TASK}{deepa}", f"{RECEIVES_CALLS_TASK}{rohan}"} <= set(
            rig.tasks.names
        )
        rig.held.release()
        await until(rig.activity, lambda s: not s.switching)
        said = [s.status for s in seen if s.status]
        assert said[:2] == ["Turning calls on for Deepa Patel…",
                            "Turning calls off for Rohan Verma…"]
        assert sorted(said[2:]) == [
            "Deepa Patel now receives calls.", "Rohan Verma no longer receives calls.",
        ]
        assert rig.user("Deepa Patel").receives_calls is True
        assert rig.user("Rohan Verma").receives_calls is False
        sent = {r.params["uuid"]: r.params for r in rig.state.requests_to("/user", "PUT")}
        assert sent == {
            deepa: {"uuid": deepa, "receive_calls": "1"},
            rohan: {"uuid": rohan, "receive_calls": "2"},
        }


async def test_an_unanswered_switch_is_checked_not_resent(rig: Rig) -> None:
    rig.state.faults.add("503:path=/user,method=PUT,after=1,count=1")
    rohan = rig.user("Rohan Verma").uuid
    seen = steps(rig.activity)
    switched(rig.activity, rohan, False)
    await until(rig.activity, lambda s: not s.switching)
    assert [s.status for s in seen if s.status] == [
        "Turning calls off for Rohan Verma…", CHECKING, "Rohan Verma no longer receives calls.",
    ]
    assert len(rig.state.requests_to("/user", "PUT")) == 1


async def test_an_unexpected_failure_of_a_switch_says_so_and_frees_it(rig: Rig) -> None:
    deepa = rig.user("Deepa Patel").uuid
    rig.cache.connection.execute("PRAGMA query_only = ON")
    switched(rig.activity, deepa, True)
    said = (
        "Check the list before switching again: the change may or may not have been saved "
        f"({READONLY})."
    )
    state = await until(rig.activity, lambda s: s.status == said)
    assert state.switching == frozenset()
    rig.cache.connection.execute("PRAGMA query_only = OFF")
    assert switched(rig.activity, deepa, True)  # works again


async def test_a_first_load_that_fails_is_tried_again_until_it_succeeds(rig: Rig) -> None:
    time = ManualClock()
    tasks = TaskSupervisor("users-load", sleep=time.sleep)
    activity = UsersActivity(rig.service, tasks)
    reads = rig.state.faults.add("503:path=/user,method=GET")
    gets = len(rig.state.requests_to("/user", "GET"))
    try:
        activity.load()
        waited = await asyncio.wait_for(time.next_sleep(), timeout=10)
        assert activity.state.status.startswith("Could not load the users: ")
        assert not activity.state.refreshing
        assert len(rig.state.requests_to("/user", "GET")) > gets
        rig.state.faults.remove(reads)
        time.advance(waited)
        await until(activity, lambda s: s.status == "Users refreshed: 12.")
        assert not tasks.running(LOAD_TASK)
    finally:
        await tasks.aclose()


async def test_a_refresh_while_the_first_load_waits_tries_it_at_once(rig: Rig) -> None:
    time = ManualClock()
    tasks = TaskSupervisor("users-load", sleep=time.sleep)
    activity = UsersActivity(rig.service, tasks)
    reads = rig.state.faults.add("503:path=/user,method=GET")
    try:
        activity.load()
        await asyncio.wait_for(time.next_sleep(), timeout=10)
        rig.state.faults.remove(reads)
        assert activity.refresh()  # no clock advance: the wait is cut short
        await until(activity, lambda s: s.status == "Users refreshed: 12.")
    finally:
        await tasks.aclose()


# ------------------------------------------------- who may change whom, asked, undone


def at_sandbox(rig: Rig, name: str) -> SandboxUser:
    """The user as the emulated service holds them."""
    user = rig.state.find_user(rig.user(name).uuid)
    assert user is not None
    return user


async def test_a_basic_me_may_change_no_one_else_and_only_my_own_calls(rig: Rig) -> None:
    kavya, rohan = rig.user("Kavya Rao"), rig.user("Rohan Verma")
    rig.service.set_my_uuid(kavya.uuid)
    others = "Only an admin can change other users; you are a Basic user."
    permissions = rig.service.permissions()
    assert permissions.for_user(rohan.uuid) == UserPermissions(False, others, False, others)
    mine = permissions.for_user(kavya.uuid)
    assert mine.may_switch_calls and not mine.may_edit
    assert "you are a Basic user" in mine.edit_reason

    seen = steps(rig.activity)
    assert not rig.activity.set_receives_calls(rohan.uuid, False)
    assert rig.activity.start_edit(rohan.uuid) is None
    assert rig.activity.start_edit(kavya.uuid) is None
    assert [s.status for s in seen] == [others, others, mine.edit_reason]
    assert rig.activity.state.question is None and rig.tasks.names == []

    assert rig.activity.set_receives_calls(kavya.uuid, False)  # mine: no question
    assert rig.activity.state.question is None
    await until(rig.activity, lambda s: not s.switching)
    assert [r.params for r in rig.state.requests_to("/user", "PUT")] == [
        {"uuid": kavya.uuid, "receive_calls": "2"},
    ]
    assert rig.activity.state.undo is None  # undo is for changes to someone else


async def test_a_dialog_opened_before_i_became_basic_saves_nothing(rig: Rig) -> None:
    session = rig.edit("Rohan Verma")
    rig.service.set_my_uuid(rig.user("Kavya Rao").uuid)
    assert not session.submit(replace(UserForm.from_user(rig.user("Rohan Verma")), name="X"))
    assert session.state.phase is EditPhase.EDITING and session.state.may_save
    assert session.state.message.endswith("you are a Basic user.")
    assert rig.state.requests_to("/user", "PUT") == []


async def test_another_users_switch_is_asked_and_no_sends_nothing(rig: Rig) -> None:
    rig.service.set_my_uuid(rig.user("Rohan Verma").uuid)  # an admin
    priya = rig.user("Deepa Patel")
    assert rig.activity.set_receives_calls(priya.uuid, True)
    question = rig.activity.state.question
    assert question is not None and question.title == "Send calls to Deepa Patel's phone?"
    assert not rig.activity.set_receives_calls(priya.uuid, True)  # one question at a time
    assert rig.activity.answer(False)
    assert rig.activity.state.question is None
    assert rig.activity.state.status == "Nothing was changed."
    assert not rig.activity.answer(True)  # nothing asked any more
    assert rig.tasks.names == [] and rig.state.requests_to("/user", "PUT") == []
    assert at_sandbox(rig, "Deepa Patel").receive_calls == 2


async def test_another_users_switch_confirmed_is_sent_and_undone(rig: Rig) -> None:
    rohan = rig.user("Rohan Verma")
    assert rig.activity.set_receives_calls(rohan.uuid, False)
    question = rig.activity.state.question
    assert question is not None and question.title == "Stop calls to Rohan Verma's phone?"
    assert "no longer ring Rohan Verma (" in question.consequence
    assert question.confirm_label == "Stop calls"
    assert rig.activity.answer(True)
    state = await until(rig.activity, lambda s: not s.switching)
    assert at_sandbox(rig, "Rohan Verma").receive_calls == 2
    assert state.undo is not None and state.undo.text == "Switch calls back on for Rohan Verma"

    seen = steps(rig.activity)
    assert rig.activity.undo()
    assert rig.tasks.running(UNDO_TASK) and rig.activity.state.undo is None
    assert not rig.activity.undo()  # one undo
    await until(rig.activity, lambda s: not s.undoing)
    assert said(seen) == [
        "Undoing: Switch calls back on for Rohan Verma…",
        "Undone: Rohan Verma receives calls again.",
    ]
    assert at_sandbox(rig, "Rohan Verma").receive_calls == 1
    assert [r.params["receive_calls"] for r in rig.state.requests_to("/user", "PUT")] == [
        "2", "1",
    ]
    assert rig.user("Rohan Verma").receives_calls is True


async def test_an_undo_is_refused_when_the_user_changed_since(rig: Rig) -> None:
    deepa = rig.user("Deepa Patel")
    assert switched(rig.activity, deepa.uuid, True)
    await until(rig.activity, lambda s: not s.switching and s.undo is not None)
    rig.state.update_user({"uuid": deepa.uuid, "receive_calls": "2"})  # someone else
    await rig.service.refresh()
    seen = steps(rig.activity)
    assert rig.activity.undo()
    await until(rig.activity, lambda s: not s.undoing)
    assert said(seen) == ["Deepa Patel changed since: nothing was undone."]
    assert len(rig.state.requests_to("/user", "PUT")) == 1


async def test_an_edit_of_another_user_is_asked_and_no_keeps_the_form(rig: Rig) -> None:
    rohan = rig.user("Rohan Verma")
    session = rig.edit("Rohan Verma")
    seen = steps(session)
    form = replace(UserForm.from_user(rohan), name="Rohan Two", extension="42")
    assert session.submit(form)
    question = session.state.question
    assert question is not None and question.title == "Change Rohan Verma's details?"
    assert "Name: Rohan Verma → Rohan Two" in question.consequence
    assert "Extension: 12 → 42" in question.consequence
    assert not session.submit(form)  # nothing sent twice while asking
    assert session.answer(False)
    assert phases(seen) == [EditPhase.CONFIRMING, EditPhase.EDITING]
    assert session.state.may_save and "Nothing was sent" in session.state.message
    assert rig.state.requests_to("/user", "PUT") == [] and rig.tasks.names == []

    confirmed(session, form)
    assert (await until(session, settled)).phase is EditPhase.SAVED
    offer = rig.activity.state.undo
    assert offer is not None and offer.text == "Put back Rohan Verma's previous details"
    seen = steps(rig.activity)
    rig.activity.undo()
    await until(rig.activity, lambda s: not s.undoing)
    assert said(seen)[-1] == "Undone: Rohan Verma's previous details are back."
    assert (at_sandbox(rig, "Rohan Verma").name, at_sandbox(rig, "Rohan Verma").extension) == (
        "Rohan Verma", 12,
    )
    assert rig.state.requests_to("/user", "PUT")[-1].params == {
        "uuid": rohan.uuid, "name": "Rohan Verma", "extension": "12",
    }


async def test_no_undo_when_a_previous_value_cannot_be_sent_back(rig: Rig) -> None:
    aarav = rig.user("Aarav Menon")
    assert aarav.alternate_contact_number is None  # blank cannot be sent back
    session = rig.edit("Aarav Menon")
    confirmed(session, replace(UserForm.from_user(aarav), alternate_cc="91",
                               alternate_contact_number="98765 01234"))
    state = await until(session, settled)
    assert state.phase is EditPhase.SAVED and state.undo is None
    assert rig.activity.state.undo is None and not rig.activity.undo()


async def test_my_own_edit_is_not_asked(rig: Rig) -> None:
    rohan = rig.user("Rohan Verma")
    rig.service.set_my_uuid(rohan.uuid)
    session = rig.edit("Rohan Verma")
    seen = steps(session)
    assert session.submit(replace(UserForm.from_user(rohan), name="Rohan Two"))
    assert (await until(session, settled)).phase is EditPhase.SAVED
    assert phases(seen) == [EditPhase.SAVING, EditPhase.SAVED]
    assert rig.activity.state.undo is None


async def test_a_yes_after_i_became_basic_sends_nothing(rig: Rig) -> None:
    """The question was asked while "me" was an admin; by the answer, "me" is Basic."""
    rig.service.set_my_uuid(rig.user("Rohan Verma").uuid)
    deepa = rig.user("Deepa Patel")
    session = rig.edit("Deepa Patel")
    assert session.submit(replace(UserForm.from_user(deepa), name="Deepa Two"))
    assert rig.activity.set_receives_calls(deepa.uuid, True)
    rig.service.set_my_uuid(rig.user("Kavya Rao").uuid)
    assert not rig.activity.answer(True)
    assert rig.activity.state.question is None
    assert rig.activity.state.status.startswith("Only an admin can change other users")
    assert session.answer(True)
    assert session.state.phase is EditPhase.EDITING
    assert session.state.message.endswith("you are a Basic user.")
    assert rig.tasks.names == [] and rig.state.requests_to("/user", "PUT") == []
