"""The callback worklist: who still needs a call back, computed from the call cache.

Rules (no Qt; the dock only renders them):

- One row per number with missed incoming calls inside the horizon (default 3 days: long
  enough to span a weekend) that came *after* the last connected call with that number.
  A connected call in either direction clears the row by itself: the customer got through,
  or someone called back and reached them. Calls without a number cannot be called back
  and make no row.
- A row counts its open attempts, first and last try, the last try's department, and is
  flagged *priority* from `priority_attempts` attempts (3) and *after hours* when any
  attempt started outside the working hours (configurable days and times, in an
  injectable time zone).
- "Missed by me" or "by the team" comes from the legs (``log_details``): whether an attempt
  rang this agent (their uuid, as it appears in ``received_by[].user_id``; None = unknown)
  and whether a colleague answered a leg of it.
- "Mark handled" stores, per number, the last try it covered: the row goes, and a later
  missed call from that number opens a fresh row. Marks persist in the cache; `undo`
  restores the mark before (this session's marks, newest first).

Rows are recomputed from the cache on `refresh` (after each sync): the cache is the one
truth, so a restart, a re-sync or a call logged late cannot leave the list out of step.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import time as dtime
from enum import StrEnum

from desktop_app.api.models import CallLog, Direction
from desktop_app.services.clock import Clock
from desktop_app.services.formatting import DEFAULT_HOME_REGION, format_number
from desktop_app.store import CallStore
from desktop_app.store.notified import HandledMark, MissedCallRecords

DAY_S = 86400
DEFAULT_HORIZON_S = 3 * DAY_S
PRIORITY_ATTEMPTS = 3
_UNDO_DEPTH = 20
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# ---------------------------------------------------------------------------- whose call


class Reach(StrEnum):
    """What a call's legs say about this agent."""

    MISSED_BY_ME = "missed_by_me"  # it rang me; nobody answered
    MISSED_BY_TEAM = "missed_by_team"  # it rang colleagues only (or nobody); nobody answered
    ANSWERED_BY_ME = "answered_by_me"
    ANSWERED_BY_COLLEAGUE = "answered_by_colleague"  # it may have rung me first
    UNKNOWN = "unknown"  # my uuid is not known


@dataclass(frozen=True, slots=True)
class CallReach:
    """One call seen from this agent: did it ring me, who answered a leg of it."""

    reach: Reach
    rang_me: bool | None
    rang: tuple[str, ...]  # names of every agent a leg rang
    answered_by: tuple[str, ...]  # names of agents with an answered leg


def classify(call: CallLog, my_uuid: str | None) -> CallReach:
    """Read the legs of `call` from the point of view of the agent `my_uuid`."""
    rang_me = False
    answered_by_me = False
    answered_by: dict[str, None] = {}
    for leg in call.legs:
        for agent in leg.received_by:
            mine = my_uuid is not None and agent.user_id == my_uuid
            rang_me = rang_me or mine
            if leg.answered:
                answered_by_me = answered_by_me or mine
                if agent.name:
                    answered_by.setdefault(agent.name, None)
    if my_uuid is None:
        reach = Reach.UNKNOWN
        mine_flag: bool | None = None
    else:
        mine_flag = rang_me
        if answered_by_me:
            reach = Reach.ANSWERED_BY_ME
        elif answered_by or call.answered:
            reach = Reach.ANSWERED_BY_COLLEAGUE
        elif rang_me:
            reach = Reach.MISSED_BY_ME
        else:
            reach = Reach.MISSED_BY_TEAM
    return CallReach(reach, mine_flag, call.agents, tuple(answered_by))


# ------------------------------------------------------------------------- working hours


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """When the team answers the phone: local times on some weekdays (Monday = 0).

    An `end` before `start` is a shift past midnight; its early hours belong to the day it
    started. `tz` None means this machine's zone.
    """

    start: dtime = dtime(9, 0)
    end: dtime = dtime(18, 0)
    days: frozenset[int] = frozenset(range(6))  # Monday to Saturday
    tz: tzinfo | None = None

    def contains(self, timestamp: int) -> bool:
        moment = _local(timestamp, self.tz)
        clock = moment.time().replace(tzinfo=None)
        day = moment.weekday()
        if self.start <= self.end:
            return day in self.days and self.start <= clock < self.end
        if clock >= self.start:
            return day in self.days
        return clock < self.end and (day - 1) % 7 in self.days

    @classmethod
    def parse(
        cls, hours: str = "09:00-18:00", days: str = "mon-sat", tz: tzinfo | None = None
    ) -> WorkingHours:
        """From settings text: ``"09:00-18:00"`` and ``"mon-fri"`` or ``"mon,wed,sat"``.

        Raises ValueError with a plain message for anything else.
        """
        try:
            first, last = hours.split("-")
            start, end = _clock_time(first), _clock_time(last)
        except ValueError:
            raise ValueError(f"Working hours must look like 09:00-18:00, not {hours!r}") from None
        return cls(start=start, end=end, days=_parse_days(days), tz=tz)


def _clock_time(text: str) -> dtime:
    hour, minute = text.strip().split(":")
    return dtime(int(hour), int(minute))


def _parse_days(text: str) -> frozenset[int]:
    found: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        if not part:
            continue
        ends = part.split("-")
        try:
            numbers = [_DAY_NAMES.index(name[:3]) for name in ends]
        except ValueError:
            raise ValueError(f"Unknown day in {text!r}: use mon, tue, … sun") from None
        if len(numbers) == 1:
            found.add(numbers[0])
        elif len(numbers) == 2:
            day = numbers[0]
            found.add(day)
            while day != numbers[1]:
                day = (day + 1) % 7
                found.add(day)
        else:
            raise ValueError(f"Cannot read the days {text!r}")
    if not found:
        raise ValueError("Working days must name at least one day")
    return frozenset(found)


def _local(timestamp: int, tz: tzinfo | None) -> datetime:
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def local_midnight(timestamp: float, tz: tzinfo | None) -> int:
    """The UTC seconds of the start of `timestamp`'s local day."""
    moment = _local(int(timestamp), tz)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    # Going by the wall clock keeps DST days right; fold=0 picks the first midnight.
    return int(midnight.timestamp())


# ------------------------------------------------------------------------------ the rows


@dataclass(frozen=True, slots=True)
class WorklistRow:
    """One number to call back."""

    number: str  # E.164
    display: str  # formatted for people
    attempts: int  # missed incoming calls since the last connect (or mark)
    first_try: int
    last_try: int
    department: str  # the last try's
    departments: tuple[str, ...]
    priority: bool
    after_hours: bool
    rang_me: bool | None  # None: my uuid unknown
    missed_by_me: bool | None  # an attempt rang me and nobody answered it
    answered_by: tuple[str, ...]  # colleagues with an answered leg in an attempt
    rang: tuple[str, ...]  # every agent the attempts rang
    call_ids: tuple[str, ...]  # the attempts, oldest first
    callback_attempts: int = 0  # outgoing calls to the number since, not connected

    @property
    def last_call_id(self) -> str:
        return self.call_ids[-1]

    @property
    def missed_by_text(self) -> str:
        """"Me" / "Team", with a colleague who took a leg; "—" when I am not known."""
        if self.missed_by_me is None:
            base = "—"
        elif self.rang_me:
            base = "Me"
        elif self.rang:
            base = "Team"
        else:
            base = "Not routed"
        if self.answered_by:
            base += f" (answered by {', '.join(self.answered_by)})"
        return base


@dataclass(slots=True)
class _Open:
    """The open streak of one number while walking its calls oldest first."""

    missed: list[CallLog] = field(default_factory=list)
    callbacks: int = 0


def compute_rows(
    calls: Iterable[CallLog],
    *,
    my_uuid: str | None,
    hours: WorkingHours,
    handled: dict[str, HandledMark] | None = None,
    priority_attempts: int = PRIORITY_ATTEMPTS,
    home_region: str = DEFAULT_HOME_REGION,
) -> list[WorklistRow]:
    """The rule itself, over any calls (oldest first or not): see the module docstring.

    Priority rows first, then the most recent last try first.
    """
    ordered = sorted(calls, key=lambda c: (c.start_time, c.answered, c.id))
    handled = handled or {}
    streaks: dict[str, _Open] = {}
    for call in ordered:
        number = call.caller_number
        if not number:
            continue
        if call.answered:
            streaks.pop(number, None)  # connected, either direction: nothing is owed
            continue
        if call.direction is Direction.INCOMING:
            mark = handled.get(number)
            if mark is not None and call.start_time <= mark.until_time:
                continue
            streaks.setdefault(number, _Open()).missed.append(call)
        elif number in streaks:
            streaks[number].callbacks += 1
    rows = [
        _row(number, streak, my_uuid, hours, priority_attempts, home_region)
        for number, streak in streaks.items()
        if streak.missed
    ]
    rows.sort(key=lambda r: (not r.priority, -r.last_try, r.number))
    return rows


def _row(
    number: str,
    streak: _Open,
    my_uuid: str | None,
    hours: WorkingHours,
    priority_attempts: int,
    home_region: str,
) -> WorklistRow:
    missed = streak.missed
    reaches = [classify(c, my_uuid) for c in missed]
    departments: dict[str, None] = {}
    rang: dict[str, None] = {}
    answered_by: dict[str, None] = {}
    for call, reach in zip(missed, reaches, strict=True):
        if call.department:
            departments.setdefault(call.department, None)
        for name in reach.rang:
            rang.setdefault(name, None)
        for name in reach.answered_by:
            answered_by.setdefault(name, None)
    known = my_uuid is not None
    return WorklistRow(
        number=number,
        display=format_number(number, home_region),
        attempts=len(missed),
        first_try=missed[0].start_time,
        last_try=missed[-1].start_time,
        department=missed[-1].department,
        departments=tuple(departments),
        priority=len(missed) >= priority_attempts,
        after_hours=any(not hours.contains(c.start_time) for c in missed),
        rang_me=any(r.rang_me for r in reaches) if known else None,
        missed_by_me=any(r.reach is Reach.MISSED_BY_ME for r in reaches) if known else None,
        answered_by=tuple(answered_by),
        rang=tuple(rang),
        call_ids=tuple(c.id for c in missed),
        callback_attempts=streak.callbacks,
    )


# ---------------------------------------------------------------------------- the list


class Worklist:
    """The worklist over one call cache; `refresh` after each sync, read `rows`."""

    def __init__(
        self,
        store: CallStore,
        *,
        clock: Clock = time.time,
        my_uuid: str | None = None,
        hours: WorkingHours | None = None,
        horizon_s: int = DEFAULT_HORIZON_S,
        priority_attempts: int = PRIORITY_ATTEMPTS,
        home_region: str = DEFAULT_HOME_REGION,
    ) -> None:
        if horizon_s <= 0 or priority_attempts < 1:
            raise ValueError("horizon_s and priority_attempts must be positive")
        self._records = MissedCallRecords(store)
        self._clock = clock
        self._my_uuid = my_uuid
        self._hours = hours if hours is not None else WorkingHours()
        self._horizon_s = horizon_s
        self._priority_attempts = priority_attempts
        self._home_region = home_region
        self._rows: list[WorklistRow] | None = None
        self._undo: list[tuple[str, HandledMark | None]] = []

    @property
    def my_uuid(self) -> str | None:
        return self._my_uuid

    def set_my_uuid(self, uuid: str | None) -> None:
        """Once the app knows who the agent is (after listing users), "missed by me" works."""
        if uuid != self._my_uuid:
            self._my_uuid = uuid
            self._rows = None

    @property
    def hours(self) -> WorkingHours:
        return self._hours

    def set_hours(self, hours: WorkingHours) -> None:
        self._hours = hours
        self._rows = None

    def refresh(self) -> list[WorklistRow]:
        """Recompute the rows from the cache (and forget marks older than the horizon)."""
        return self.adopt(self.compute())

    def compute(self) -> list[WorklistRow]:
        """The rows as the cache has them now, without making them this list's: safe on a
        worker thread (a sync's refresh), whose answer the caller `adopt`s unless a newer
        one was made meanwhile."""
        since = int(self._clock()) - self._horizon_s
        self._records.prune_handled(since)
        return compute_rows(
            self._records.calls_of_missed_numbers(since),
            my_uuid=self._my_uuid,
            hours=self._hours,
            handled=self._records.handled_marks(),
            priority_attempts=self._priority_attempts,
            home_region=self._home_region,
        )

    def adopt(self, rows: list[WorklistRow]) -> list[WorklistRow]:
        """Make `compute`'s answer the current rows; returns a copy."""
        self._rows = rows
        return list(rows)

    def rows(self) -> list[WorklistRow]:
        """The rows as of the last `refresh` (computing them the first time)."""
        if self._rows is None:
            return self.refresh()
        return list(self._rows)

    def row(self, number: str) -> WorklistRow | None:
        return next((r for r in self.rows() if r.number == number), None)

    def row_for_call(self, call_id: str) -> WorklistRow | None:
        """The row a call belongs to (a notification's "open" or "mark handled")."""
        return next((r for r in self.rows() if call_id in r.call_ids), None)

    @property
    def unhandled_calls(self) -> int:
        """Missed calls still owed a call back: the tray's count."""
        return sum(r.attempts for r in self.rows())

    def mark_handled(self, number: str) -> bool:
        """Clear `number`'s row up to its last try; False if it has no row (now)."""
        row = next((r for r in self.refresh() if r.number == number), None)
        if row is None:
            return False
        previous = self._records.handled_marks().get(number)
        self._records.set_handled(HandledMark(number, row.last_try, int(self._clock())))
        self._undo.append((number, previous))
        del self._undo[:-_UNDO_DEPTH]
        self.refresh()
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def undo_number(self) -> str | None:
        """The number the next `undo` brings back."""
        return self._undo[-1][0] if self._undo else None

    def undo(self) -> str | None:
        """Take back the latest "mark handled"; returns its number (None: nothing to undo)."""
        if not self._undo:
            return None
        number, previous = self._undo.pop()
        if previous is None:
            self._records.clear_handled(number)
        else:
            self._records.set_handled(previous)
        self.refresh()
        return number


def format_try(timestamp: int, now: float, tz: tzinfo | None = None) -> str:
    """"14:05" today, "Tue 14:05" this week, "12 Mar 14:05" before: for tables and toasts."""
    moment = _local(timestamp, tz)
    today = _local(int(now), tz).date()
    if moment.date() == today:
        return moment.strftime("%H:%M")
    if today - moment.date() < timedelta(days=6):
        return moment.strftime("%a %H:%M")
    return moment.strftime("%d %b %H:%M")
