"""The dial guard: one deliberate click is at most one click-to-call, and never a retry.

A click-to-call is not idempotent: a second request is a second phone call, to a customer
who already picked up once. So the guard

- refuses a dial while another is in flight (double clicks, key repeat), without a request;
- asks for confirmation before calling a number it called less than `repeat_window_s` ago;
- reports an unclear outcome (timeout, dropped connection, 5xx after sending) as "may have
  been placed" and asks before any redial of that number until `check_unknown` finds the
  call in the call log, or has not found it `settle_s` after the request could last have
  left (the live service logs a call only when it ends, so "not in the log yet" after a
  minute or two means "may still be ringing", never "not placed");
- gives every request `dial_deadline_s` to be answered (a budget wait included), then
  calls its outcome unclear: a row still "in flight" after that belongs to a process that
  died, so another instance's log check can count from a known last moment of sending;
- never resends anything by itself: every request comes from one `dial` call;
- remembers all of this in `DialRecords` (the cache file), each dial written as "in
  flight" before its request leaves: a restart, a crash mid-request or a second instance
  on the same file still sees a call that may have been placed, and never sends it twice.
  If the dial cannot be recorded, it is not sent.

`follow` then waits for a placed call's own log to show how it went (answered, talk time).
Qt-free: `desktop_app.services.dial_flow.DialFlow` runs a dial's whole life over it (the
follow-up, the checks of an unclear outcome, the status line) for the dialer's presenter;
tests drive both with a manual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final, Protocol

from desktop_app.api.errors import (
    MyOperatorError,
    NetworkError,
    OutcomeUnknown,
    RateLimited,
    RelayRefused,
    TokenRejected,
    ValidationError,
)
from desktop_app.api.models import CallLog, CallPlaced, Direction
from desktop_app.api.validation import DEFAULT_COUNTRY_CODE, click_to_call_params, validate_uuid
from desktop_app.api.waits import format_wait
from desktop_app.services.clock import Clock, Sleep
from desktop_app.services.formatting import format_duration
from desktop_app.services.phone_input import ParsedNumber, PhoneInputError, parse_dialable
from desktop_app.services.settings import (
    COUNTRY_CODE,
    ME,
    RECENT_NUMBERS,
    MemoryBackend,
    Settings,
)
from desktop_app.services.sync import LogSource, SyncEngine
from desktop_app.store import CallQuery, CallStore
from desktop_app.store.dials import DialRecord, DialRecordError, DialRecords, DialState, NumberView

log = logging.getLogger(__name__)

#: A second call to the same number within this many seconds needs a confirmation.
REPEAT_WINDOW_S: Final = 30.0
#: A dial this soon after the previous request ended is the rest of a double click (or a
#: key repeat queued behind it) and is dropped, whatever the number.
DOUBLE_CLICK_S: Final = 1.0
#: An unclear attempt whose call is not in the log this long after its request could
#: last have left is taken as not placed. The live service logs a call when it ends, so
#: this is longer than any plausible call; until then a redial asks first.
SETTLE_S: Final = 1800.0
#: The emulated service logs a placed call 5-20 s after it is placed: an unclear call
#: still not in the log this long after is more likely not placed, or still in progress
#: (the live service logs it when it ends). Only the wording changes.
LOG_DELAY_S: Final = 90.0
#: The longest one click-to-call may take, the request budget's wait (at most 90 s)
#: included; after it the outcome is unclear and the request is abandoned.
DIAL_DEADLINE_S: Final = 180.0
#: Calls whose start is this much before the attempt still count as its call (clock skew).
MATCH_SLACK_S: Final = 15.0
#: Seconds between the looks `follow` takes while the call is young (then the last one
#: repeats until `follow_active_s`); each look is a cache query and at most one request.
FOLLOW_POLLS_S: Final = (8.0, 7.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 180.0)
FOLLOW_ACTIVE_S: Final = 600.0
FOLLOW_TIMEOUT_S: Final = 3600.0
#: Other dials started this long before an attempt may own logs it could match.
_ATTRIBUTION_HORIZON_S: Final = 2 * FOLLOW_TIMEOUT_S


class ClickToCallClient(Protocol):
    """The part of `MyOperatorClient` the guard sends with."""

    async def click_to_call(
        self, customer_number: str, customer_cc: str | int | None, support_user_id: str
    ) -> CallPlaced: ...


class DialKind(StrEnum):
    PLACED = "placed"
    #: The same number was called moments ago: nothing sent; `dial(confirmed=True)` sends.
    NEEDS_CONFIRMATION = "needs_confirmation"
    #: Another dial is in flight: refused, nothing sent.
    BUSY = "busy"
    #: An earlier attempt to this number may have been placed and is still being checked.
    BLOCKED = "blocked"
    #: Definitely not placed: invalid input, rate-limited, never sent, refused.
    FAILED = "failed"
    #: May have been placed: the request left, no clear answer came back.
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DialAttempt:
    """One request that was sent (or is being sent); `at` is the guard's clock (wall-clock
    epoch seconds, as stored). `seq` is the dial's record id in `DialRecords`; `ended_at`
    is when its request ended, None while it is (or was left) in flight."""

    seq: int
    number: ParsedNumber
    agent_uuid: str
    at: float
    unique_id: str | None = None
    ended_at: float | None = None


@dataclass(frozen=True, slots=True)
class DialOutcome:
    """What one `dial` did; `sent` tells whether a request left this machine."""

    kind: DialKind
    message: str
    number: ParsedNumber | None = None
    attempt: DialAttempt | None = None
    sent: bool = False
    retry_after: float | None = None
    error: Exception | None = None

    @property
    def unique_id(self) -> str | None:
        return self.attempt.unique_id if self.attempt is not None else None


class CheckKind(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    UNCLEAR = "unclear"


@dataclass(frozen=True, slots=True)
class UnknownCheck:
    kind: CheckKind
    attempt: DialAttempt
    message: str
    log: CallLog | None = None


# ---------------------------------------------------------------------------------------
# Looking for a call in the log


def same_number(log: CallLog, number: ParsedNumber) -> bool:
    """Whether a log's (customer) number is `number`, whichever form the service gave."""
    if log.caller_number == number.e164:
        return True
    raw = "".join(c for c in log.caller_number_raw if c.isdigit())
    return bool(raw) and raw.lstrip("0") == number.national


class CallLogFinder:
    """Finds the outgoing log of a dial attempt: in the cache first (free), then with one
    narrow ``/search`` (the number, from the attempt on), never more per look.

    With a sync engine, `add_listener` also hears of calls the regular sync stores, so a call
    shows up without any extra request when the feed syncs first.
    """

    def __init__(
        self,
        client: LogSource | None = None,
        store: CallStore | None = None,
        *,
        engine: SyncEngine | None = None,
        clock: Clock = time.time,
        slack_s: float = MATCH_SLACK_S,
        page_size: int = 50,
    ) -> None:
        self._client = client
        self._store = store
        self._engine = engine
        self._clock = clock
        self.slack_s = slack_s
        self._page_size = page_size

    @property
    def can_fetch(self) -> bool:
        return self._client is not None

    def matches(
        self, log: CallLog, attempt: DialAttempt, exclude: Collection[str] = ()
    ) -> bool:
        if log.id in exclude:
            return False
        if attempt.unique_id is not None and log.id == attempt.unique_id:
            return True
        return (
            log.direction is Direction.OUTGOING
            and log.start_time >= attempt.at - self.slack_s
            and same_number(log, attempt.number)
        )

    def _pick(
        self, logs: Sequence[CallLog], attempt: DialAttempt, exclude: Collection[str]
    ) -> CallLog | None:
        """The attempt's own id first; else the earliest matching call after the attempt."""
        for call in logs:
            if attempt.unique_id is not None and call.id == attempt.unique_id:
                return call
        candidates = [c for c in logs if self.matches(c, attempt, exclude)]
        return min(candidates, key=lambda c: c.start_time) if candidates else None

    def _cached(self, attempt: DialAttempt, exclude: Collection[str]) -> CallLog | None:
        assert self._store is not None
        if attempt.unique_id is not None:
            held = self._store.get(attempt.unique_id)
            if held is not None and held.id not in exclude:
                return held
        query = CallQuery(
            text=attempt.number.national,
            start=math.floor(attempt.at - self.slack_s),
            directions=frozenset({Direction.OUTGOING}),
        )
        return self._pick(self._store.fetch(query, limit=self._page_size), attempt, exclude)

    async def find(
        self, attempt: DialAttempt, *, fetch: bool = True, exclude: Collection[str] = ()
    ) -> CallLog | None:
        """The attempt's call, or None. A failed request raises the client's error."""
        if self._store is not None:
            found = await asyncio.to_thread(self._cached, attempt, exclude)
            if found is not None:
                return found
        if not fetch or self._client is None:
            return None
        page = await self._client.search_logs(
            start=max(0, math.floor(attempt.at - self.slack_s)),
            end=max(math.ceil(self._clock()), math.ceil(attempt.at)) + 1,
            search=attempt.number.national,
            page_size=self._page_size,
        )
        found = self._pick(page.logs, attempt, exclude)
        if found is not None and self._engine is not None:
            # The feed has not stored it yet: a sync shows it there too.
            self._engine.request_refresh()
        return found

    def add_listener(self, listener: Callable[[Sequence[CallLog]], None]) -> Callable[[], None]:
        """Hear of calls the sync engine stores; returns the unsubscribe function."""
        if self._engine is None:
            return lambda: None
        return self._engine.add_new_calls_listener(listener)


def outcome_text(call: CallLog) -> str:
    """How a placed call went, for the dialer's status line."""
    if call.answered:
        talk = call.talk_s
        return f"Answered · talk time {format_duration(talk)}" if talk else "Answered"
    return "Not answered"


def whose_phone(agent_name: str | None) -> str:
    """The phone the cloud rings first, in the dialer's words: "your phone" when the
    agent is me (`agent_name` None), else the agent's by name. A call that rings a
    colleague must never read as one that rings you."""
    return "your phone" if agent_name is None else f"{agent_name}'s phone"


def _ago(seconds: float) -> str:
    return f"{max(1, round(seconds))} s ago"


def _attempt(record: DialRecord) -> DialAttempt:
    """A stored dial as the attempt the guard and its presenter work with."""
    return DialAttempt(
        record.id, ParsedNumber(record.country_code, record.national), record.agent_uuid,
        record.started_at, record.unique_id, record.ended_at,
    )


# ---------------------------------------------------------------------------------------
# The guard


class DialGuard:
    """One click, at most one click-to-call; see the module docstring.

    `finder` is a `CallLogFinder`, or a `CallStore` (the cache, plus narrow searches with
    `client` when it can search), or None (searches only). `records` is where the guard
    remembers its dials (`DialRecords.sharing(store)` in the app): what it knows then
    survives a restart and is shared with a second instance on the same file. Without
    it the guard remembers in memory only, for as long as it lives.

    All methods run on one event loop; the in-flight check and the record of the dial
    happen before the first ``await``, so concurrent `dial` calls (a double click) cannot
    both pass them, and the record exists before the request can leave.
    """

    def __init__(
        self,
        client: ClickToCallClient,
        finder: CallLogFinder | CallStore | None = None,
        clock: Clock = time.time,
        *,
        records: DialRecords | None = None,
        sleep: Sleep = asyncio.sleep,
        repeat_window_s: float = REPEAT_WINDOW_S,
        double_click_s: float = DOUBLE_CLICK_S,
        settle_s: float = SETTLE_S,
        log_delay_s: float = LOG_DELAY_S,
        dial_deadline_s: float = DIAL_DEADLINE_S,
        follow_polls_s: Sequence[float] = FOLLOW_POLLS_S,
        follow_active_s: float = FOLLOW_ACTIVE_S,
        follow_timeout_s: float = FOLLOW_TIMEOUT_S,
    ) -> None:
        if not isinstance(finder, CallLogFinder):
            searcher: Any = client if hasattr(client, "search_logs") else None
            finder = CallLogFinder(searcher, finder, clock=clock)
        self._client = client
        self.finder = finder
        self.records = records if records is not None else DialRecords.in_memory()
        self._clock = clock
        self._sleep = sleep
        self.repeat_window_s = repeat_window_s
        self.double_click_s = double_click_s
        self.settle_s = settle_s
        self.log_delay_s = log_delay_s
        self.dial_deadline_s = dial_deadline_s
        self._follow_polls = tuple(follow_polls_s) or (30.0,)
        self._follow_active_s = follow_active_s
        self._follow_timeout_s = follow_timeout_s
        self._in_flight: DialAttempt | None = None
        #: Logs this guard attributed to an attempt, also ones the records could not keep.
        self._claimed: set[str] = set()
        #: The last unresolved attempts read, answered when the records cannot be read.
        self._last_unresolved: tuple[DialAttempt, ...] = ()

    # -- state ------------------------------------------------------------------------

    @property
    def in_flight(self) -> bool:
        return self._in_flight is not None

    @property
    def _mine(self) -> int | None:
        """The record this guard is sending right now (in flight for it, unclear for
        everyone else)."""
        return None if self._in_flight is None else self._in_flight.seq

    @property
    def unknown_attempts(self) -> tuple[DialAttempt, ...]:
        """Attempts that may have been placed, not yet resolved, oldest first: the latest
        per number, from this run, an earlier run, or another instance on the same file."""
        try:
            records = self.records.unresolved(self._mine)
        except DialRecordError as exc:
            log.warning("could not read the dial records (%s); using the last read", exc)
            return self._last_unresolved
        self._last_unresolved = tuple(_attempt(r) for r in records)
        return self._last_unresolved

    def is_blocked(self, number: ParsedNumber) -> bool:
        return any(a.number.e164 == number.e164 for a in self.unknown_attempts)

    def sent_by(self, attempt: DialAttempt) -> float:
        """The latest moment the attempt's request could have left: when it ended, or, for
        one left in flight (a process that died, or one still sending), its deadline."""
        return attempt.ended_at if attempt.ended_at is not None else (
            attempt.at + self.dial_deadline_s
        )

    def seconds_until_settled(self, attempt: DialAttempt) -> float:
        """How long until `check_unknown` may take the attempt's absence from the call log
        as "not placed" (0 once it may)."""
        return max(0.0, self.sent_by(attempt) + self.settle_s - self._clock())

    def seconds_since_placed(self, number: ParsedNumber) -> float | None:
        try:
            at = self.records.view(number.e164, self._mine).last_placed_at
        except DialRecordError as exc:
            log.warning("could not read the dial records: %s", exc)
            return None
        return None if at is None else self._clock() - at

    # -- dialling ---------------------------------------------------------------------

    async def dial(
        self,
        number: ParsedNumber | str,
        cc: str | int | None = DEFAULT_COUNTRY_CODE,
        agent_uuid: str = "",
        *,
        confirmed: bool = False,
        on_reserved: Callable[[DialAttempt], None] | None = None,
        agent_name: str | None = None,
    ) -> DialOutcome:
        """Send one click-to-call, unless a rule says not to (see `DialKind`): nothing is
        sent while another dial is in flight or within `double_click_s` after one ended,
        and nothing is sent unless the dial could be recorded first.

        `confirmed` is the person's explicit "call again anyway": it passes the repeat
        window and the block of an unclear earlier attempt, never the in-flight check.
        `on_reserved` hears of this dial's record as soon as it is written: from then on
        the request may leave, so whatever ends `dial` (even an exception) leaves a call
        that may have been placed; before it, nothing was sent. `agent_name` names the
        agent whose phone rings first when that is not me (None: it is mine).
        """
        if self._in_flight is not None:
            return DialOutcome(
                DialKind.BUSY, "A call is already being placed: wait for MyOperator's answer.",
                number=self._in_flight.number,
            )
        try:
            parsed = (
                number if isinstance(number, ParsedNumber)
                else parse_dialable(number, cc if cc is not None else DEFAULT_COUNTRY_CODE)
            )
            params = click_to_call_params(parsed.e164, None, agent_uuid)
        except PhoneInputError as exc:
            return DialOutcome(DialKind.FAILED, exc.message, error=exc)
        except ValidationError as exc:
            message = (
                "Choose the agent who takes the call." if exc.field == "support_user_id"
                else exc.message
            )
            return DialOutcome(DialKind.FAILED, message, error=exc)
        shown = parsed.formatted()
        now = self._clock()

        def refusal(view: NumberView) -> DialOutcome | None:
            """The rules, over what every run and instance recorded for this number."""
            ended = view.last_request_end
            if ended is not None and 0.0 <= now - ended < self.double_click_s:
                return DialOutcome(
                    DialKind.BUSY, "That click was already handled.", number=parsed
                )
            if view.unresolved is not None and not confirmed:
                pending = _attempt(view.unresolved)
                message = (
                    f"The last call to {shown} is not in the call log yet — it may still be "
                    "in progress. Call again?"
                    if now - self.sent_by(pending) >= self.log_delay_s
                    else f"The last call to {shown} may have been placed and is not in the "
                    "call log yet. Call again anyway?"
                )
                return DialOutcome(DialKind.BLOCKED, message, number=parsed, attempt=pending)
            last = view.last_placed_at
            if last is not None and now - last < self.repeat_window_s and not confirmed:
                return DialOutcome(
                    DialKind.NEEDS_CONFIRMATION,
                    f"You called {shown} {_ago(now - last)}. Call again?",
                    number=parsed,
                )
            return None

        try:
            # Recorded as in flight before anything is sent: a crash from here on leaves
            # a record every later run reads as "may have been placed".
            reserved = self.records.reserve(
                parsed.country_code, parsed.national, params["support_user_id"], now, refusal
            )
        except DialRecordError as exc:
            return DialOutcome(
                DialKind.FAILED,
                f"The call to {shown} was not placed: this computer could not record it "
                f"first ({exc}).",
                number=parsed, error=exc,
            )
        if isinstance(reserved, DialOutcome):
            return reserved
        attempt = DialAttempt(reserved, parsed, params["support_user_id"], now)
        self._in_flight = attempt  # before the first await: a double click stops here
        state = DialState.UNKNOWN  # a cancellation or a bug: the request may have left
        unique_id: str | None = None
        try:
            if on_reserved is not None:
                on_reserved(attempt)
            placed = await self._send(params)
        except OutcomeUnknown as exc:
            return DialOutcome(
                DialKind.UNKNOWN,
                f"The call to {shown} may have been placed: MyOperator gave no clear answer. "
                "Checking the call log before it can be called again…",
                number=parsed, attempt=attempt, sent=True, error=exc,
            )
        except NetworkError as exc:
            state = DialState.NOT_PLACED
            return DialOutcome(
                DialKind.FAILED,
                f"Could not reach MyOperator: the call to {shown} was not placed. "
                f"({exc.message})",
                number=parsed, error=exc,
            )
        except RateLimited as exc:
            state = DialState.NOT_PLACED
            wait = "" if exc.retry_after is None else (
                f" Try again in {format_wait(max(1.0, exc.retry_after))}."
            )
            return DialOutcome(
                DialKind.FAILED,
                f"MyOperator is rate-limiting this account: the call to {shown} was not "
                f"placed.{wait}",
                number=parsed, sent=True, retry_after=exc.retry_after, error=exc,
            )
        except TokenRejected as exc:
            state = DialState.NOT_PLACED
            return DialOutcome(
                DialKind.FAILED, "The API token was rejected: the call was not placed.",
                number=parsed, sent=True, error=exc,
            )
        except RelayRefused as exc:  # the team relay's own words say it all
            state = DialState.NOT_PLACED
            return DialOutcome(
                DialKind.FAILED, exc.message, number=parsed, sent=True, error=exc
            )
        except MyOperatorError as exc:
            state = DialState.NOT_PLACED
            return DialOutcome(
                DialKind.FAILED,
                f"MyOperator refused the call to {shown}: {exc.message}",
                number=parsed, sent=True, error=exc,
            )
        else:
            state = DialState.PLACED
            unique_id = placed.unique_id
        finally:
            self._in_flight = None
            self._settle(attempt, state, unique_id)
        attempt = replace(attempt, unique_id=unique_id)
        return DialOutcome(
            DialKind.PLACED,
            f"Call placed: {whose_phone(agent_name)} rings first, then {shown}.",
            number=parsed, attempt=attempt, sent=True,
        )

    async def _send(self, params: dict[str, str]) -> CallPlaced:
        """The one request, abandoned (outcome unclear) after `dial_deadline_s`: so no
        process of ours still sends a dial recorded longer ago than that."""
        sending = asyncio.ensure_future(self._client.click_to_call(
            params["customer_number"], params["customer_cc"], params["support_user_id"]
        ))
        deadline: asyncio.Future[Any] = asyncio.ensure_future(self._sleep(self.dial_deadline_s))
        try:
            await asyncio.wait((sending, deadline), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sending.cancel()  # a no-op once it is done
            deadline.cancel()
            await asyncio.wait((sending, deadline))
            if not sending.cancelled():
                sending.exception()  # retrieved, even when `dial` itself was cancelled
        if sending.cancelled():
            raise OutcomeUnknown(
                "MyOperator did not answer the click-to-call request within "
                f"{math.ceil(self.dial_deadline_s)} s.",
                operation="click-to-call",
            )
        return sending.result()

    def _settle(self, attempt: DialAttempt, state: DialState, unique_id: str | None) -> None:
        """Record how the request ended. A request that may have reached the service
        replaces the number's earlier unclear attempts (the person confirmed it). If the
        record cannot be written it stays "in flight", which reads as "may have been
        placed": the safe side."""
        try:
            self.records.settle(
                attempt.seq, state, self._clock(), unique_id=unique_id,
                supersede=state in (DialState.PLACED, DialState.UNKNOWN),
            )
        except DialRecordError as exc:
            log.warning(
                "could not record how dial %s ended (%s): it counts as maybe placed",
                attempt.seq, exc,
            )

    # -- unclear outcomes -------------------------------------------------------------

    def _excluded(self, attempt: DialAttempt) -> set[str]:
        """Logs that cannot be this attempt's: already attributed, or another placed
        attempt's own id (so one log never answers for two attempts)."""
        try:
            others = self.records.attributed_call_ids(
                attempt.seq, attempt.at - _ATTRIBUTION_HORIZON_S
            )
        except DialRecordError as exc:
            log.warning("could not read the dial records: %s", exc)
            others = set()
        return (self._claimed | others) - ({attempt.unique_id} - {None})

    def _pending(self, number: ParsedNumber | str | None) -> DialAttempt | None:
        attempts = self.unknown_attempts
        if number is None:
            return attempts[-1] if attempts else None
        key = number.e164 if isinstance(number, ParsedNumber) else number
        return next((a for a in reversed(attempts) if a.number.e164 == key), None)

    def _resolve(self, attempt: DialAttempt, state: DialState, call_id: str | None) -> None:
        try:
            self.records.resolve(attempt.seq, state, call_id)
        except DialRecordError as exc:
            log.warning("could not record that dial %s is settled: %s", attempt.seq, exc)

    async def check_unknown(self, number: ParsedNumber | str | None = None) -> UnknownCheck | None:
        """Look in the call log for an unclear attempt (to `number`, else the latest one).

        FOUND: it was placed (the number is then under the repeat window from the
        attempt). NOT_FOUND: no call `settle_s` after its request could last have left
        (`sent_by`): a redial is allowed. UNCLEAR: too early to tell (a redial asks
        first), or the log could not be read. None: nothing pending. The attempt may
        come from an earlier run or another instance: the answer is recorded for all of
        them. A row another live process is still sending is never taken as not placed:
        its `sent_by` is its deadline, and `settle_s` starts only there.
        """
        attempt = self._pending(number)
        if attempt is None:
            return None
        shown = attempt.number.formatted()
        try:
            found = await self.finder.find(attempt, exclude=self._excluded(attempt))
        except MyOperatorError as exc:
            return UnknownCheck(
                CheckKind.UNCLEAR, attempt,
                f"Could not look in the call log ({exc.message}). The call to {shown} may "
                "have been placed.",
            )
        if found is not None:
            self._claimed.add(found.id)
            self._resolve(attempt, DialState.FOUND, found.id)
            return UnknownCheck(
                CheckKind.FOUND, attempt,
                f"The call to {shown} was placed (it is in the call log).", log=found,
            )
        waited = self._clock() - self.sent_by(attempt)
        if waited >= self.settle_s:
            self._resolve(attempt, DialState.NOT_FOUND, None)
            return UnknownCheck(
                CheckKind.NOT_FOUND, attempt,
                f"The call to {shown} is not in the call log: it was not placed. "
                "You can call again.",
            )
        if waited >= self.log_delay_s:
            return UnknownCheck(
                CheckKind.UNCLEAR, attempt,
                f"The call to {shown} is not in the call log yet — it may still be in "
                "progress (a call is logged when it ends).",
            )
        return UnknownCheck(
            CheckKind.UNCLEAR, attempt,
            f"The call to {shown} is not in the call log yet: it may still have been "
            "placed (did your phone ring?).",
        )

    def dismiss_unknown(self, number: ParsedNumber | str) -> bool:
        """The person says the unclear call was not placed: allow a redial. Returns whether
        anything was pending. Raises `DialRecordError` if that could not be recorded."""
        key = number.e164 if isinstance(number, ParsedNumber) else number
        return self.records.dismiss(key, self._mine)

    # -- following a placed call ------------------------------------------------------

    async def follow(self, target: DialAttempt | str) -> CallLog | None:
        """Wait until the attempt's (or the unique id's) call is in the call log.

        Looks with growing pauses (cache first, then one narrow search) for
        `follow_active_s`, then only listens to the sync engine until
        `follow_timeout_s`; returns None if the call never showed up.
        """
        attempt = target if isinstance(target, DialAttempt) else self._placed(target)
        if attempt is None:
            raise KeyError(f"no placed call with id {target!r}")
        loop = asyncio.get_running_loop()
        heard: asyncio.Future[CallLog] = loop.create_future()

        def on_new_calls(calls: Sequence[CallLog]) -> None:
            for call in calls:
                if not heard.done() and self.finder.matches(
                    call, attempt, self._excluded(attempt)
                ):
                    heard.set_result(call)

        unsubscribe = self.finder.add_listener(on_new_calls)
        polls = iter(self._follow_polls)
        pause = self._follow_polls[-1]
        try:
            while True:
                pause = next(polls, pause)
                if await self._wait_or_heard(heard, pause):
                    found: CallLog | None = heard.result()
                else:
                    elapsed = self._clock() - attempt.at
                    try:
                        found = await self.finder.find(
                            attempt, fetch=elapsed < self._follow_active_s,
                            exclude=self._excluded(attempt),
                        )
                    except MyOperatorError as exc:
                        log.info("following call %s: %s", attempt.seq, exc.message)
                        found = None
                if found is not None:
                    self._claimed.add(found.id)
                    self._claim(attempt, found.id)
                    return found
                if self._clock() - attempt.at >= self._follow_timeout_s:
                    return None
        finally:
            unsubscribe()

    def _placed(self, unique_id: str) -> DialAttempt | None:
        """The recorded attempt the service gave `unique_id` (this run or an earlier one)."""
        try:
            record = self.records.by_unique_id(unique_id)
        except DialRecordError as exc:
            log.warning("could not read the dial records: %s", exc)
            return None
        return None if record is None else _attempt(record)

    def _claim(self, attempt: DialAttempt, call_id: str) -> None:
        try:
            self.records.claim(attempt.seq, call_id)
        except DialRecordError as exc:
            log.warning("could not record the call of dial %s: %s", attempt.seq, exc)

    async def _wait_or_heard(self, heard: asyncio.Future[CallLog], seconds: float) -> bool:
        """Sleep `seconds` unless the sync engine reports the call first."""
        if heard.done():
            return True
        sleeper: asyncio.Future[Any] = asyncio.ensure_future(self._sleep(seconds))
        waiting: list[asyncio.Future[Any]] = [sleeper, heard]
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sleeper
        return heard.done()


# ---------------------------------------------------------------------------------------
# Remembered choices


_E164 = re.compile(r"\+[1-9][0-9]{4,15}")
MAX_RECENT: Final = 10


class DialerSettings:
    """The dialer's remembered choices: who "me" is, the default country, recent numbers.

    A view of the declared settings (`ME`, `COUNTRY_CODE`, `RECENT_NUMBERS`: per account,
    the demo keeping its own), so Preferences, the first-run flow and the dialer read and
    change one value; `watch_me` and `watch_country` hear a change made anywhere. Without
    `settings` the values live in memory.
    """

    def __init__(self, settings: Settings | None = None, *, max_recent: int = MAX_RECENT) -> None:
        self.settings = settings if settings is not None else Settings(MemoryBackend())
        self._max_recent = max_recent

    @property
    def me_uuid(self) -> str | None:
        return self.settings.get(ME) or None

    def set_me_uuid(self, uuid: str | None) -> None:
        checked = validate_uuid(uuid, field="support_user_id") if uuid else ""
        self.settings.set(ME, checked)

    def watch_me(self, listener: Callable[[str | None], None]) -> Callable[[], None]:
        """Call `listener` with the new "me" (None: nobody) whenever it changes; returns
        the unsubscribe."""
        return self.settings.subscribe(ME, lambda uuid: listener(uuid or None))

    @property
    def country_code(self) -> str:
        return self.settings.get(COUNTRY_CODE)

    def set_country_code(self, cc: str) -> None:
        """Raises ValueError with a sentence for something that is not a dialling code."""
        self.settings.set(COUNTRY_CODE, cc)

    def watch_country(self, listener: Callable[[str], None]) -> Callable[[], None]:
        return self.settings.subscribe(COUNTRY_CODE, listener)

    @property
    def recent_numbers(self) -> tuple[str, ...]:
        """E.164 numbers, most recent first, no repeats."""
        kept = (n for n in self.settings.get(RECENT_NUMBERS) if _E164.fullmatch(n))
        return tuple(dict.fromkeys(kept))[: self._max_recent]

    def add_recent(self, e164: str) -> None:
        if not _E164.fullmatch(e164):
            raise ValueError(f"not an E.164 number: {e164!r}")
        recent = [e164, *(n for n in self.recent_numbers if n != e164)]
        self.settings.set(RECENT_NUMBERS, tuple(recent[: self._max_recent]))

    def clear_recent(self) -> None:
        self.settings.set(RECENT_NUMBERS, ())

    def watch_recent(self, listener: Callable[[tuple[str, ...]], None]) -> Callable[[], None]:
        return self.settings.subscribe(
            RECENT_NUMBERS, lambda _numbers: listener(self.recent_numbers)
        )
