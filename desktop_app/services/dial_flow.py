"""A dial's whole life as one Qt-free state machine: placed, followed, checked, reported.

`DialFlow` runs every click-to-call of the dialer over a `DialGuard` (one click, at most
one request, never a retry; its `DialRecords` keep each dial across restarts):

- **placing**: `request` sends through the guard, never while a dial is being placed
  (a new dial can never cancel a request already on its way); a question the guard asks
  instead of sending (the same number moments ago, an unclear earlier call) waits for
  `confirm` or `cancel`;
- **following**: a placed call is followed until its own log shows how it went;
- **checking**: an unclear outcome is looked for in the call log after each pause of
  `check_delays_s`, then once more when its absence would mean "not placed"; `check_now`
  looks at once ("Check again");
- **the earlier run**: `start` checks the unclear dials an earlier run (or another
  instance) left, and looks again when the log can settle the ones still unclear;
- **the status line**: the newest dial owns it. An older dial's follow-up or check goes
  on quietly: it still settles the guard's records and still reports its call.

Every change is reported, in order and synchronously, as an immutable `DialSnapshot` to
the listeners (`add_listener`): the presenter turns each into one signal. The coroutines
run under a `TaskSupervisor` (the presenter's, so failures reach the window and close
cancels them) with the names in ``*_TASK``/`follow_task`/`check_task`; waits go through
the injected `sleep`, so tests drive a whole dial with a `ManualClock`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Final

from desktop_app.api.models import CallLog
from desktop_app.api.waits import format_wait
from desktop_app.services.clock import Sleep
from desktop_app.services.dialer import (
    CheckKind,
    DialAttempt,
    DialGuard,
    DialKind,
    UnknownCheck,
    outcome_text,
)
from desktop_app.services.listeners import Listeners
from desktop_app.services.phone_input import ParsedNumber
from desktop_app.services.tasks import FailureHandler, TaskFailure, TaskSupervisor

# Status kinds (a `DialStatus.kind`); the dialer panel styles its status line by them.
KIND_IDLE: Final = "idle"
KIND_INFO: Final = "info"
KIND_IN_FLIGHT: Final = "in_flight"
KIND_PLACED: Final = "placed"
KIND_UNKNOWN: Final = "unknown"
KIND_CHECKING: Final = "checking"
KIND_OUTCOME: Final = "outcome"
#: How a logged call went, when nobody answered: a warning, not a success.
KIND_NOT_ANSWERED: Final = "not_answered"
#: The kinds of a logged call's outcome.
OUTCOME_KINDS: Final = (KIND_OUTCOME, KIND_NOT_ANSWERED)
KIND_ERROR: Final = "error"

#: Pauses before each automatic look in the call log after an unclear dial: reads only,
#: about seven requests over five minutes, then the person can press "Check again".
CHECK_DELAYS_S: Final = (10.0, 10.0, 20.0, 30.0, 30.0, 60.0, 120.0)

#: Task names, as the window's status bar reports a failure.
DIAL_TASK: Final = "dialer-dial"
CHECK_NOW_TASK: Final = "dialer-check-now"
EARLIER_CHECK_TASK: Final = "dialer-earlier-check"

PLACING: Final = "Placing the call…"


def outcome_kind(call: CallLog) -> str:
    """The status kind of a logged call: "Not answered" must not look like a success."""
    return KIND_OUTCOME if call.answered else KIND_NOT_ANSWERED


def follow_task(owner: int) -> str:
    """The name of the task following dial `owner`'s placed call."""
    return f"dialer-follow-{owner}"


def check_task(owner: int) -> str:
    """The name of the task checking dial `owner`'s unclear outcome."""
    return f"dialer-check-{owner}"


@dataclass(frozen=True, slots=True)
class DialStatus:
    """One status line: its words, its kind (a ``KIND_*``), the number it is about
    (E.164) and the id of the logged call it reports, when it does."""

    text: str = ""
    kind: str = KIND_IDLE
    number: str | None = None
    call_id: str | None = None


class DialEvent(StrEnum):
    """What a `DialSnapshot` reports as having just happened."""

    #: `busy` changed: a dial started or stopped being placed.
    BUSY = "busy"
    #: The status line says `status` now (also when it says the same again).
    STATUS = "status"
    #: `question` was asked instead of sending; `confirm` sends, `cancel` does not.
    ASKED = "asked"
    #: The question is gone (answered, or replaced by a new request).
    ANSWERED = "answered"
    #: A request may have left for `number` (placed, or unclear): a recent number.
    DIALLED = "dialled"
    #: `call` is a dial's call, now in the log (the person may follow it in the feed).
    LOGGED = "logged"


@dataclass(frozen=True, slots=True)
class DialSnapshot:
    """The dialer's state after one change (`event`): the status line, whether a dial is
    being placed, the question asked, which dial owns the line (`owner`, counted from 1
    in this run; 0 before any), and the event's own number or call."""

    event: DialEvent
    status: DialStatus
    busy: bool
    question: str | None
    owner: int
    number: str | None = None
    call: CallLog | None = None


Listener = Callable[[DialSnapshot], None]


@dataclass(frozen=True, slots=True)
class _Request:
    number_text: str
    cc: str
    agent_uuid: str
    #: Whose phone rings first when it is not mine (None: mine).
    agent_name: str | None = None


class DialFlow:
    """The dialer's state machine over `guard`; see the module docstring.

    `tasks` runs its coroutines (a presenter passes its own supervisor); `sleep` and
    `check_delays_s` set the pace of the checks after an unclear dial. All methods run
    on one event loop; `request` marks the dial busy before it returns, so a second click
    finds it busy.
    """

    def __init__(
        self,
        guard: DialGuard,
        *,
        tasks: TaskSupervisor | None = None,
        sleep: Sleep = asyncio.sleep,
        check_delays_s: Sequence[float] = CHECK_DELAYS_S,
    ) -> None:
        self.guard = guard
        self.tasks = tasks if tasks is not None else TaskSupervisor("DialFlow")
        self._sleep = sleep
        self._check_delays = tuple(check_delays_s)
        self._listeners: Listeners[[DialSnapshot]] = Listeners()
        self._busy = False
        self._owner = 0
        self._question: tuple[_Request, str] | None = None
        self._checking = False
        #: The owner's last status: shown again once a question is answered.
        self._owned: DialStatus | None = None
        self._shown = DialStatus()

    # -- reading ----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.tasks.closed

    @property
    def busy(self) -> bool:
        """A dial is being placed: its request may be on its way."""
        return self._busy

    @property
    def checking(self) -> bool:
        """A look in the call log for an unclear dial is under way."""
        return self._checking

    @property
    def awaiting_confirmation(self) -> bool:
        return self._question is not None

    @property
    def question(self) -> str | None:
        return None if self._question is None else self._question[1]

    @property
    def owner(self) -> int:
        """The dial that owns the status line (1 for this run's first; 0 before any)."""
        return self._owner

    @property
    def status(self) -> DialStatus:
        """What the status line says now."""
        return self._shown

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Hear of every change, in order; returns the unsubscribe function."""
        return self._listeners.add(listener)

    # -- what the person does ---------------------------------------------------------

    def start(self) -> bool:
        """Look in the call log for every unclear dial an earlier run (or another
        instance) left, and settle the ones old enough for the log to answer; the ones
        still unclear are shown with "Check again". Reads only, never a dial."""
        if self.closed or not self.guard.unknown_attempts:
            return False
        return self._spawn(EARLIER_CHECK_TASK, self._check_pending(self._owner, earlier=True))

    def request(
        self, number_text: str, cc: str, agent_uuid: str, agent_name: str | None = None
    ) -> bool:
        """One deliberate click: at most one request, and none while one is in flight.
        `agent_name` names the agent when the phone that rings first is not mine.
        Returns whether a dial started (it may still end in a question)."""
        if self._busy or self.closed:
            return False
        self._clear_question()
        self._begin(_Request(number_text, cc, agent_uuid, agent_name), confirmed=False)
        return True

    def confirm(self) -> bool:
        """"Call again" in the question: the same request, confirmed."""
        if self._question is None or self._busy or self.closed:
            return False
        request = self._question[0]
        self._clear_question()
        self._begin(request, confirmed=True)
        return True

    def cancel(self) -> None:
        """"Cancel" in the question: nothing is sent; the status line goes back to what
        it said before (an unclear call's check, a call's outcome)."""
        if self._question is not None:
            self._clear_question()
            self._restore(fallback="Not called.")

    def check_now(self) -> bool:
        """Look in the call log for every unclear call now (reads, never a dial)."""
        if self.closed or self._checking or not self.guard.unknown_attempts:
            return False
        return self._spawn(CHECK_NOW_TASK, self._check_pending(self._owner, earlier=False))

    # -- reporting --------------------------------------------------------------------

    def _publish(
        self, event: DialEvent, *, number: str | None = None, call: CallLog | None = None
    ) -> None:
        snapshot = DialSnapshot(
            event, self._shown, self._busy, self.question, self._owner, number, call
        )
        self._listeners.emit(snapshot)

    def _show(self, status: DialStatus) -> None:
        self._shown = status
        self._publish(DialEvent.STATUS)

    def _status(
        self, owner: int, text: str, kind: str, number: ParsedNumber | None = None,
        call_id: str | None = None,
    ) -> None:
        """Show a status unless a newer dial owns the status line by now."""
        if owner == self._owner:
            e164 = number.e164 if number is not None else None
            self._owned = DialStatus(text, kind, e164, call_id)
            self._show(self._owned)

    def _restore(self, *, fallback: str = "") -> None:
        self._show(self._owned or DialStatus(fallback, KIND_IDLE))

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self._publish(DialEvent.BUSY)

    def _clear_question(self) -> None:
        self._question = None
        self._publish(DialEvent.ANSWERED)

    def _spawn(self, name: str, coro: Coroutine[Any, Any, None],
               on_failure: FailureHandler | None = None) -> bool:
        """Run `coro` as `name`; a closed flow starts nothing."""
        if self.closed:
            coro.close()
            return False
        self.tasks.spawn(name, coro, on_failure=on_failure or self._check_failed)
        return True

    def _check_failed(self, failure: TaskFailure) -> None:
        """A follow-up or a check that failed: the status line says so instead of
        "checking…" forever (the window's status bar has the details)."""
        owner = self._owner
        current = (follow_task(owner), check_task(owner), CHECK_NOW_TASK, EARLIER_CHECK_TASK)
        if failure.name in current:  # an older call's follow-up does not own the line
            self._status(
                owner, f"The call log could not be checked: {failure.sentence}", KIND_ERROR
            )

    # -- placing ----------------------------------------------------------------------

    def _begin(self, request: _Request, *, confirmed: bool) -> None:
        self._set_busy(True)  # synchronously: a second click finds the dial busy
        reserved: list[DialAttempt] = []  # this dial's record, once the guard wrote it
        started = self._spawn(
            DIAL_TASK, self._dial(request, confirmed, reserved),
            on_failure=partial(self._dial_failed, reserved),
        )
        if not started:
            self._set_busy(False)

    def _dial_failed(self, reserved: Sequence[DialAttempt], failure: TaskFailure) -> None:
        """The dial ended in something the guard does not answer for (never retried): the
        dial is no longer busy and "Placing the call…" gives way to a sentence. Whether
        the call may have been placed depends on this dial alone: once its record was
        written the request may have left (the guard counts it as possibly sent, and the
        call log is checked as after any unclear answer); before that, nothing was sent."""
        self._set_busy(False)
        self._owner += 1
        owner = self._owner
        if reserved:
            attempt = reserved[0]
            self._status(
                owner,
                f"The call may or may not have been placed: {failure.sentence} "
                "Press Check again to look in the call log before calling again.",
                KIND_UNKNOWN, attempt.number,
            )
            self._spawn(check_task(owner), self._resolve_unknown(owner, attempt))
        else:
            self._status(owner, f"The call was not placed: {failure.sentence}", KIND_ERROR)

    async def _dial(
        self, request: _Request, confirmed: bool, reserved: list[DialAttempt]
    ) -> None:
        self._show(DialStatus(PLACING, KIND_IN_FLIGHT))
        try:
            outcome = await self.guard.dial(
                request.number_text, request.cc, request.agent_uuid, confirmed=confirmed,
                on_reserved=reserved.append, agent_name=request.agent_name,
            )
        finally:
            self._set_busy(False)
        kind = outcome.kind
        if kind in (DialKind.NEEDS_CONFIRMATION, DialKind.BLOCKED):
            # Nothing was sent: an earlier call's check keeps the status line.
            self._question = (request, outcome.message)
            self._restore()
            self._publish(DialEvent.ASKED)
            return
        if kind is DialKind.BUSY:
            self._restore()
            return
        self._owner += 1
        owner = self._owner
        if kind is DialKind.FAILED:
            self._status(owner, outcome.message, KIND_ERROR, outcome.number)
            return
        attempt = outcome.attempt
        assert attempt is not None and outcome.number is not None
        self._publish(DialEvent.DIALLED, number=outcome.number.e164)
        if kind is DialKind.PLACED:
            self._status(owner, outcome.message, KIND_PLACED, attempt.number)
            self._spawn(follow_task(owner), self._follow(owner, attempt))
        else:
            self._status(owner, outcome.message, KIND_UNKNOWN, attempt.number)
            self._spawn(check_task(owner), self._resolve_unknown(owner, attempt))

    # -- following a placed call ------------------------------------------------------

    async def _follow(self, owner: int, attempt: DialAttempt) -> None:
        call = await self.guard.follow(attempt)
        shown = attempt.number.formatted()
        if call is None:
            self._status(
                owner, f"The call to {shown} has not appeared in the call log.", KIND_INFO,
                attempt.number,
            )
            return
        self._report_call(owner, f"Call to {shown}", attempt, call)

    def _report_call(self, owner: int, what: str, attempt: DialAttempt, call: CallLog) -> None:
        self._status(
            owner, f"{what}: {outcome_text(call)}.", outcome_kind(call), attempt.number,
            call.id,
        )
        self._publish(DialEvent.LOGGED, number=attempt.number.e164, call=call)

    # -- unclear outcomes -------------------------------------------------------------

    async def _resolve_unknown(self, owner: int, attempt: DialAttempt) -> None:
        """Look in the call log now and then until the unclear call is found, then once
        more when its absence would mean "not placed"; reads only, never a dial."""
        shown = attempt.number.formatted()
        delays = self._check_delays
        for i, delay in enumerate(delays):
            await self._sleep(delay)
            if not self._still_unclear(attempt):
                return  # settled meanwhile ("Check again", or a confirmed redial)
            following = delays[i + 1] if i + 1 < len(delays) else None
            then = (
                f" Checking again in {format_wait(following)}…" if following is not None
                else " Press Check again, or call again (you will be asked first)."
            )
            result = await self._check_once(owner, attempt, then=then)
            if result is None or result.kind is not CheckKind.UNCLEAR:
                return
        if not delays:
            self._status(
                owner, f"The call to {shown} may have been placed. Press Check again.",
                KIND_UNKNOWN, attempt.number,
            )
        # The last look: when the log has surely shown the call if it was placed.
        left = self.guard.seconds_until_settled(attempt)
        if left > 0:
            await self._sleep(left)
        if self._still_unclear(attempt):
            await self._check_once(owner, attempt, then=" Press Check again.")

    def _still_unclear(self, attempt: DialAttempt) -> bool:
        return any(a.seq == attempt.seq for a in self.guard.unknown_attempts)

    async def _check_pending(self, owner: int, *, earlier: bool) -> None:
        """Check every unclear dial (the latest per number); the last one still unclear
        keeps the status line, with "Check again". For `earlier` dials (left by an
        earlier run) wait until the log can settle the ones that stay unclear, then look
        once more."""
        then = " Press Check again to look now."
        while True:
            unclear: list[tuple[DialAttempt, str]] = []
            for attempt in self.guard.unknown_attempts:
                result = await self._check_once(owner, attempt, then=then, earlier=earlier)
                if result is not None and result.kind is CheckKind.UNCLEAR:
                    unclear.append((attempt, result.message + then))
            if not unclear:
                return
            last, text = unclear[-1]
            owned = self._owned
            if owned is None or (owned.text, owned.kind) != (text, KIND_UNKNOWN):
                # Another number's answer took the line.
                self._status(owner, text, KIND_UNKNOWN, last.number)
            waits = [w for a, _ in unclear if (w := self.guard.seconds_until_settled(a)) > 0]
            if not earlier or not waits:
                return  # the log could not be read: the person presses Check again
            await self._sleep(min(waits))

    async def _check_once(
        self, owner: int, attempt: DialAttempt, *, then: str = "", earlier: bool = False
    ) -> UnknownCheck | None:
        """One look in the call log for `attempt`. A call found for a dial of an earlier
        run is only described: the feed's selection is the person's, not the past's."""
        shown = attempt.number.formatted()
        self._checking = True
        try:
            self._status(
                owner, f"The call to {shown} may have been placed — checking the call log…",
                KIND_CHECKING, attempt.number,
            )
            result = await self.guard.check_unknown(attempt.number)
        finally:
            self._checking = False
        if result is None:
            return None
        if result.kind is CheckKind.FOUND and result.log is not None:
            if earlier:
                self._status(
                    owner,
                    f"An earlier call to {shown} was placed: {outcome_text(result.log)}.",
                    outcome_kind(result.log), attempt.number, result.log.id,
                )
            else:
                self._report_call(owner, f"The call to {shown} was placed", attempt, result.log)
        elif result.kind is CheckKind.NOT_FOUND:
            self._status(owner, result.message, KIND_INFO, attempt.number)
        else:
            self._status(owner, result.message + then, KIND_UNKNOWN, attempt.number)
        return result
