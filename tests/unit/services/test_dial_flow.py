"""A dial's whole life in `DialFlow`, on a plain asyncio loop with one `ManualClock`.

The flow runs over a real `DialGuard` (records in memory) whose click-to-call client is
scripted (`Clicks`) and whose call log is a `FakeLogSource`; every pause the flow itself
asks for is recorded (`Pace`), so the checking schedule is asserted exactly and nothing
waits for real time.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator, Callable
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from desktop_app.api.errors import OutcomeUnknown
from desktop_app.api.models import CallLog, CallPlaced, Direction
from desktop_app.services.clock import ManualClock
from desktop_app.services.dial_flow import (
    CHECK_NOW_TASK,
    DIAL_TASK,
    EARLIER_CHECK_TASK,
    KIND_CHECKING,
    KIND_ERROR,
    KIND_IN_FLIGHT,
    KIND_INFO,
    KIND_NOT_ANSWERED,
    KIND_OUTCOME,
    KIND_PLACED,
    KIND_UNKNOWN,
    PLACING,
    DialEvent,
    DialFlow,
    DialSnapshot,
    DialStatus,
    check_task,
    follow_task,
    outcome_kind,
)
from desktop_app.services.dialer import CallLogFinder, DialGuard, DialOutcome, outcome_text
from desktop_app.services.tasks import TaskFailure, TaskSupervisor
from desktop_app.store.dials import DialRecords, DialState
from tests.helpers.builders import make_log
from tests.helpers.fakes import FakeLogSource

T = 1_700_000_000
AGENT = "a1b2c3d4-0000-4000-8000-000000000001"
NUMBER = "98123 45678"
E164 = "+919812345678"
OTHER = "98123 45679"
OTHER_E164 = "+919812345679"
SETTLE_S = 60.0
FOLLOW_S = 5.0


class Clicks:
    """The guard's click-to-call client: each request gets the next scripted reply (by
    default a placed call with its own id); `gate` holds requests in flight."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.replies: list[CallPlaced | BaseException] = []
        self.gate: asyncio.Event | None = None

    async def click_to_call(
        self, customer_number: str, customer_cc: str | int | None, support_user_id: str
    ) -> CallPlaced:
        self.sent.append(customer_number)
        if self.gate is not None:
            await self.gate.wait()
        reply = self.replies.pop(0) if self.replies else CallPlaced(f"call-{len(self.sent)}")
        if isinstance(reply, BaseException):
            raise reply
        return reply


class Pace:
    """The flow's own sleep: on the shared clock, each pause it asks for recorded."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.asked: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self.clock.sleep(seconds)


@dataclass
class Rig:
    clock: ManualClock
    clicks: Clicks
    logs: FakeLogSource
    guard: DialGuard
    pace: Pace
    flow: DialFlow
    snapshots: list[DialSnapshot] = field(default_factory=list)
    failures: list[TaskFailure] = field(default_factory=list)

    def statuses(self) -> list[DialStatus]:
        return [s.status for s in self.snapshots if s.event is DialEvent.STATUS]

    def kinds(self) -> list[str]:
        return [s.kind for s in self.statuses()]

    def events(self, event: DialEvent) -> list[DialSnapshot]:
        return [s for s in self.snapshots if s.event is event]

    def log_call(self, call_id: str, number: str = E164, *, answered: bool = True) -> CallLog:
        """The service logs an outgoing call to `number`, started now."""
        call = make_log(
            call_id, int(self.clock()), number=number, direction=Direction.OUTGOING,
            answered=answered,
        )
        self.logs.add(call)
        return call

    async def pause(self, count: int) -> float:
        """Wait until the flow has asked for its `count`-th pause; return its length."""
        await until(lambda: len(self.pace.asked) >= count)
        await until(lambda: self.clock.sleeping > 0)
        return self.pace.asked[count - 1]


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Let the loop run until `condition` holds (clock sleepers and requests announce
    nothing, so they are polled); fails after `within` real seconds."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling state no event announces
            await asyncio.sleep(0)


def build(
    *,
    check_delays_s: tuple[float, ...] = (10.0, 20.0),
    guard_type: type[DialGuard] = DialGuard,
    records: DialRecords | None = None,
) -> Rig:
    clock = ManualClock(T)
    clicks = Clicks()
    logs = FakeLogSource()
    guard = guard_type(
        clicks, CallLogFinder(logs, None, clock=clock), clock, records=records,
        sleep=clock.sleep, settle_s=SETTLE_S, follow_polls_s=(FOLLOW_S,),
    )
    pace = Pace(clock)
    tasks = TaskSupervisor("dialer")
    flow = DialFlow(guard, tasks=tasks, sleep=pace.sleep, check_delays_s=check_delays_s)
    rig = Rig(clock, clicks, logs, guard, pace, flow)
    flow.add_listener(rig.snapshots.append)
    tasks.add_failure_listener(rig.failures.append)
    return rig


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    built = build()
    yield built
    await built.flow.tasks.aclose()


async def placed(rig: Rig, number: str = NUMBER) -> None:
    """One click on Call, until its request has been answered."""
    assert rig.flow.request(number, "91", AGENT)
    await until(lambda: not rig.flow.busy)


async def two_dials(rig: Rig) -> None:
    """`NUMBER` placed at T (its follow-up looks at T + 5), `OTHER` at T + 2 (T + 7)."""
    await placed(rig, NUMBER)
    await until(lambda: rig.clock.sleeping == 1)
    rig.clock.advance(2)
    await placed(rig, OTHER)
    await until(lambda: rig.clock.sleeping == 2)


# ------------------------------------------------------------------------- a placed call


async def test_a_placed_call_is_followed_until_its_log_shows_the_outcome(rig: Rig) -> None:
    await placed(rig)
    assert rig.clicks.sent == ["9812345678"]
    assert [s.event for s in rig.snapshots] == [
        DialEvent.ANSWERED, DialEvent.BUSY, DialEvent.STATUS, DialEvent.BUSY,
        DialEvent.DIALLED, DialEvent.STATUS,
    ]
    busy = [s.busy for s in rig.events(DialEvent.BUSY)]
    assert busy == [True, False]
    assert rig.statuses()[0] == DialStatus(PLACING, KIND_IN_FLIGHT)
    assert rig.events(DialEvent.DIALLED)[0].number == E164
    line = rig.flow.status
    assert (line.kind, line.number, line.call_id) == (KIND_PLACED, E164, None)
    assert rig.flow.owner == 1 == rig.snapshots[-1].owner
    assert rig.flow.tasks.running(follow_task(1))
    with pytest.raises(FrozenInstanceError):
        rig.snapshots[-1].busy = True  # type: ignore[misc]

    await until(lambda: rig.clock.sleeping > 0)
    rig.clock.advance(FOLLOW_S)  # a look, not in the log yet
    await until(lambda: len(rig.logs.requests) == 1)
    assert not rig.events(DialEvent.LOGGED)
    call = rig.log_call("call-1", answered=False)
    await until(lambda: rig.clock.sleeping > 0)
    rig.clock.advance(FOLLOW_S)
    await until(lambda: bool(rig.events(DialEvent.LOGGED)))
    (logged,) = rig.events(DialEvent.LOGGED)
    assert logged.call == call
    assert logged.status == DialStatus(
        # Not answered reads as a warning, not as the success an answered call is.
        "Call to 098123 45678: Not answered.", KIND_NOT_ANSWERED, E164, "call-1"
    )
    assert rig.snapshots[-1] is logged  # the line first, then the call
    assert not rig.flow.tasks.names
    assert rig.pace.asked == []  # a placed call is never "checked"
    assert rig.clicks.sent == ["9812345678"]


async def test_no_second_request_while_one_is_on_its_way(rig: Rig) -> None:
    rig.clicks.gate = asyncio.Event()
    assert rig.flow.request(NUMBER, "91", AGENT)
    assert rig.flow.busy  # before the task ran: a second click finds it busy
    await until(lambda: rig.guard.in_flight)
    dial = rig.flow.tasks.task(DIAL_TASK)
    assert dial is not None
    assert not rig.flow.request(NUMBER, "91", AGENT)
    assert not rig.flow.request(OTHER, "91", AGENT)
    assert not rig.flow.confirm()
    assert rig.flow.tasks.task(DIAL_TASK) is dial and not dial.cancelled()
    rig.clicks.gate.set()
    await until(lambda: not rig.flow.busy)
    assert rig.clicks.sent == ["9812345678"]
    assert rig.flow.status.kind == KIND_PLACED
    assert rig.flow.owner == 1


async def test_a_repeat_asks_first_and_cancel_shows_the_line_again(rig: Rig) -> None:
    await placed(rig)
    placed_line = rig.flow.status
    rig.clock.advance(5)
    await placed(rig)
    assert rig.flow.awaiting_confirmation
    asked = rig.snapshots[-1]
    assert asked.event is DialEvent.ASKED
    assert asked.question == "You called 098123 45678 5 s ago. Call again?"
    assert asked.status == placed_line  # the earlier call keeps the line
    assert rig.clicks.sent == ["9812345678"] and rig.flow.owner == 1

    rig.flow.cancel()
    assert [s.event for s in rig.snapshots[-2:]] == [DialEvent.ANSWERED, DialEvent.STATUS]
    assert rig.snapshots[-1].status == placed_line and rig.snapshots[-1].question is None
    assert not rig.flow.confirm()  # nothing left to confirm
    assert rig.clicks.sent == ["9812345678"]

    await placed(rig)
    assert rig.flow.confirm()
    await until(lambda: not rig.flow.busy)
    assert rig.clicks.sent == ["9812345678"] * 2
    assert rig.flow.owner == 2 and rig.flow.status.kind == KIND_PLACED


async def test_the_newest_dial_owns_the_status_line(rig: Rig) -> None:
    await two_dials(rig)
    second = rig.flow.status
    assert (second.kind, second.number, rig.flow.owner) == (KIND_PLACED, OTHER_E164, 2)
    first_call = rig.log_call("call-1")
    rig.clock.advance(3)  # the first call's look comes first (placed 2 s earlier)
    await until(lambda: len(rig.events(DialEvent.LOGGED)) == 1)
    assert rig.events(DialEvent.LOGGED)[0].call == first_call  # still reported
    assert rig.flow.status == second  # ...but quietly
    assert rig.statuses()[-1] == second
    other_call = rig.log_call("call-2", OTHER_E164)
    await until(lambda: rig.clock.sleeping > 0)
    rig.clock.advance(FOLLOW_S)
    await until(lambda: len(rig.events(DialEvent.LOGGED)) == 2)
    assert rig.flow.status == DialStatus(
        f"Call to 098123 45679: {outcome_text(other_call)}.", outcome_kind(other_call),
        OTHER_E164,
        "call-2",
    )


# ------------------------------------------------------------------------ unclear answers


async def test_an_unclear_dial_is_checked_on_the_schedule_then_settled(rig: Rig) -> None:
    rig.clicks.replies.append(OutcomeUnknown("no answer", operation="click-to-call"))
    await placed(rig)
    assert rig.flow.status.kind == KIND_UNKNOWN
    assert rig.events(DialEvent.DIALLED)[0].number == E164  # it may have left
    assert rig.flow.tasks.running(check_task(1))
    for count in (1, 2, 3):
        rig.clock.advance(await rig.pause(count))
        await until(lambda: len(rig.logs.requests) == count)  # noqa: B023
    await until(lambda: rig.flow.status.kind == KIND_INFO)
    # 10 s, 20 s, then until the log would surely show the call: as before the flow,
    # counted from the request's deadline (180 s), plus 60 s, 30 s having passed.
    assert rig.pace.asked == [10.0, 20.0, 210.0]
    assert rig.kinds() == [
        KIND_IN_FLIGHT, KIND_UNKNOWN,
        KIND_CHECKING, KIND_UNKNOWN, KIND_CHECKING, KIND_UNKNOWN, KIND_CHECKING, KIND_INFO,
    ]
    texts = [s.text for s in rig.statuses()]
    assert texts[3].endswith(" Checking again in 20 s…")
    assert texts[5].endswith(" Press Check again, or call again (you will be asked first).")
    assert "it was not placed" in texts[-1]
    assert not rig.guard.unknown_attempts
    assert not rig.events(DialEvent.LOGGED)
    assert rig.clicks.sent == ["9812345678"]


async def test_an_unclear_dial_found_in_the_log_is_reported(rig: Rig) -> None:
    rig.clicks.replies.append(OutcomeUnknown("no answer", operation="click-to-call"))
    await placed(rig)
    call = rig.log_call("call-9")
    rig.clock.advance(await rig.pause(1))
    await until(lambda: bool(rig.events(DialEvent.LOGGED)))
    assert rig.events(DialEvent.LOGGED)[0].call == call
    assert rig.flow.status == DialStatus(
        f"The call to 098123 45678 was placed: {outcome_text(call)}.", outcome_kind(call),
        E164,
        "call-9",
    )
    assert rig.guard.records.get(1).state is DialState.FOUND  # type: ignore[union-attr]
    await until(lambda: not rig.flow.tasks.names)
    assert rig.pace.asked == [10.0]  # found: no more looks


async def test_check_now_looks_once_and_keeps_the_line(rig: Rig) -> None:
    rig.clicks.replies.append(OutcomeUnknown("no answer", operation="click-to-call"))
    await placed(rig)
    assert rig.flow.check_now()
    assert rig.flow.tasks.running(CHECK_NOW_TASK)
    await until(lambda: len(rig.logs.requests) == 1 and not rig.flow.checking)
    await until(lambda: not rig.flow.tasks.running(CHECK_NOW_TASK))
    assert rig.kinds()[-2:] == [KIND_CHECKING, KIND_UNKNOWN]
    assert rig.flow.status.text.endswith(" Press Check again to look now.")
    assert rig.flow.tasks.running(check_task(1))  # the schedule goes on


async def test_check_now_with_nothing_unclear_does_nothing(rig: Rig) -> None:
    await placed(rig)
    assert not rig.flow.check_now()
    assert not rig.flow.start()
    assert not rig.flow.tasks.running(CHECK_NOW_TASK)


# ------------------------------------------------------------------ what an earlier run left


async def test_start_settles_what_an_earlier_run_left_and_waits_for_the_rest() -> None:
    records = DialRecords.in_memory()

    def earlier(national: str, at: float, state: DialState | None) -> int:
        row = records.reserve("91", national, AGENT, at, lambda _view: None)
        assert isinstance(row, int)
        if state is not None:
            records.settle(row, state, at + 1)
        return row

    found = earlier("9812345670", T - 3600, DialState.UNKNOWN)
    gone = earlier("9812345671", T - 3 * 3600, DialState.UNKNOWN)
    crashed = earlier("9812345679", T - 30, None)  # died mid-request
    rig = build(records=records)
    try:
        call = make_log("old", T - 3595, number="+919812345670", direction=Direction.OUTGOING)
        rig.logs.add(call)
        assert rig.flow.start()
        assert rig.flow.tasks.running(EARLIER_CHECK_TASK)
        # The crashed dial could have been sent until its deadline (180 s): the log can
        # settle it 60 s after that.
        assert await rig.pause(1) == T - 30 + 180 + SETTLE_S - T
        assert records.get(found).state is DialState.FOUND  # type: ignore[union-attr]
        assert records.get(gone).state is DialState.NOT_FOUND  # type: ignore[union-attr]
        lines = rig.statuses()
        assert DialStatus(
            f"An earlier call to 098123 45670 was placed: {outcome_text(call)}.",
            KIND_OUTCOME, "+919812345670", "old",
        ) in lines
        assert any(s.kind == KIND_INFO and s.number == "+919812345671" for s in lines)
        assert rig.flow.status == DialStatus(
            "The call to 098123 45679 is not in the call log yet: it may still have been "
            "placed (did your phone ring?). Press Check again to look now.",
            KIND_UNKNOWN, OTHER_E164,
        )
        assert not rig.events(DialEvent.LOGGED)  # described, not shown in the feed
        rig.clock.advance(rig.pace.asked[0])
        await until(lambda: not rig.guard.unknown_attempts)
        assert records.get(crashed).state is DialState.NOT_FOUND  # type: ignore[union-attr]
        await until(lambda: rig.flow.status.kind == KIND_INFO)
        assert rig.clicks.sent == []
    finally:
        await rig.flow.tasks.aclose()
        records.close()


# ------------------------------------------------------------------------------ failures


class GuardFailingBeforeItRecords(DialGuard):
    async def dial(self, *args: Any, **kwargs: Any) -> DialOutcome:
        raise OSError(errno.EIO, "Input/output error")


async def test_a_dial_failing_before_its_record_was_not_placed() -> None:
    rig = build(guard_type=GuardFailingBeforeItRecords)
    try:
        assert rig.flow.request(NUMBER, "91", AGENT)
        await until(lambda: rig.flow.status.kind == KIND_ERROR)
        assert rig.flow.status.text == (
            "The call was not placed: A file could not be read or written: "
            "Input/output error."
        )
        assert not rig.flow.busy and rig.flow.owner == 1
        assert [f.name for f in rig.failures] == [DIAL_TASK]
        assert not rig.flow.tasks.names  # nothing to check
    finally:
        await rig.flow.tasks.aclose()


async def test_a_dial_failing_after_its_record_may_have_been_placed(rig: Rig) -> None:
    rig.clicks.replies.append(OSError(errno.EIO, "Input/output error"))
    assert rig.flow.request(NUMBER, "91", AGENT)
    await until(lambda: rig.flow.status.kind == KIND_UNKNOWN)
    assert rig.flow.status.text.startswith("The call may or may not have been placed: ")
    assert rig.flow.status.number == E164
    assert not rig.flow.busy
    assert rig.flow.tasks.running(check_task(1))
    assert rig.clicks.sent == ["9812345678"]


async def test_a_failed_follow_up_speaks_only_for_the_dial_owning_the_line(rig: Rig) -> None:
    await two_dials(rig)
    second = rig.flow.status
    rig.logs.fail_next.append(OSError(errno.EIO, "Input/output error"))
    rig.clock.advance(3)  # only the first dial's follow-up looks (and fails)
    await until(lambda: len(rig.failures) == 1)
    assert rig.failures[0].name == follow_task(1)
    assert rig.flow.status == second
    rig.logs.fail_next.append(OSError(errno.EIO, "Input/output error"))
    rig.clock.advance(2)
    await until(lambda: len(rig.failures) == 2)
    assert rig.failures[1].name == follow_task(2)
    assert rig.flow.status.kind == KIND_ERROR
    assert rig.flow.status.text.startswith("The call log could not be checked: ")


async def test_a_closed_flow_starts_nothing(rig: Rig) -> None:
    await rig.flow.tasks.aclose()
    seen = len(rig.snapshots)
    assert not rig.flow.request(NUMBER, "91", AGENT)
    assert not rig.flow.busy
    assert len(rig.snapshots) == seen
    assert rig.clicks.sent == []
