"""Missed-call notifications: which calls to announce, once each, and how (no Qt).

The sync engine's "new calls" are only a trigger: the first sync reports a whole week as
new, and a page stored just before the app was killed is never reported again. So the
notifier asks the cache itself, after each sync, for missed incoming calls it has not
announced, and records every call it announces (or silences, or folds into a summary) in
the ``notified`` table in the same step. That is the watermark:

- **Never twice.** A call id in ``notified`` is never a candidate again: not after a
  re-sync (the overlap re-fetches calls), not after a restart with the same cache file.
  An id set rather than a "newest start time" because calls are logged when they *end*:
  a missed call can arrive after a later-starting call was already announced.
- **A floor.** Calls that started more than `lookback_s` (12 h) ago are never announced
  (they are in the worklist). The floor only rises (it is kept in ``meta``, so a clock
  set back cannot lower it), and ``notified`` rows below it are pruned: the table holds
  about half a day of missed calls.
- **First start** is an absence like any other: the floor starts `lookback_s` back, so the
  agent gets one summary of the last 12 hours' missed calls (or a single notice when
  there was just one), never a week's flood.
- **Summary instead of a flood.** One check that finds `summary_threshold` (5) or more
  calls, or two or more of which one started over `absence_s` (10 min) ago (the laptop
  slept, the app was closed, the network was down), announces a single summary: "14
  missed calls since 09:10". Otherwise each call gets its own notice, oldest first.
- **Do not disturb** silences: the calls are recorded (so they are not announced when DND
  ends) and counted in `silenced_count`; the worklist still counts them.
- **Announcing turned off** (Preferences: "Announce missed calls"): the calls are recorded
  the same way, so turning it on again announces only what is missed from then on, never
  the backlog; the worklist still counts them.

Off the window's thread: a check's reads and writes run on a worker thread
(`asyncio.to_thread`), through a connection the window does not read through (the
feature gives the notifier a `CallStore.sibling`), and only the announcing is done on the
loop. Checks are serialised (one at a time, in the order asked): two overlapping checks
would read the same candidates before either recorded them, and announce them twice. A
sync that lands while a check runs asks for one more check after it (`request_check`
coalesces). A check cancelled (the workspace closes) still lets its thread finish its
transaction before the cancellation goes on, so the connection is never closed under it.
Whether to announce, silence or only record is decided when the check starts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Protocol

from desktop_app.api.models import CallLog
from desktop_app.services.clock import Clock
from desktop_app.services.formatting import DEFAULT_HOME_REGION, format_number
from desktop_app.services.listeners import Listeners
from desktop_app.services.tasks import TaskSupervisor
from desktop_app.services.worklist import CallReach, classify, format_try, local_midnight
from desktop_app.store import CallStore
from desktop_app.store.notified import MissedCallRecords

log = logging.getLogger(__name__)

#: Meta key: the start time below which no call is ever announced (only rises).
META_FLOOR = "notifier.floor"

DEFAULT_SUMMARY_THRESHOLD = 5
DEFAULT_ABSENCE_S = 600
DEFAULT_LOOKBACK_S = 12 * 3600
#: The task under which requested checks run, one after another.
CHECK_TASK = "missed-call-check"


@dataclass(frozen=True, slots=True)
class MissedCallNotice:
    """One missed call to announce; `title` and `message` are ready to show."""

    call_id: str
    caller_e164: str
    caller: str  # formatted for people
    department: str
    start_time: int
    attempts_today: int  # incoming calls from this number today, this one included
    reach: CallReach
    title: str
    message: str


@dataclass(frozen=True, slots=True)
class MissedCallsSummary:
    """Several missed calls announced as one (after an absence, or a burst)."""

    count: int
    since: int  # the oldest call's start time
    newest_call_id: str
    call_ids: tuple[str, ...]
    title: str
    message: str


Notification = MissedCallNotice | MissedCallsSummary
NotificationListener = Callable[[Notification], None]


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one check's worker-thread part found: notes to announce, calls silenced."""

    notes: list[Notification]
    silenced: int = 0


class _SyncEvents(Protocol):
    """The part of `SyncEngine` `Notifier.attach` uses."""

    def add_new_calls_listener(
        self, listener: Callable[[Sequence[CallLog]], None]
    ) -> Callable[[], None]: ...

    def add_listener(self, listener: Callable[[_Status], None]) -> Callable[[], None]: ...


class _Status(Protocol):
    @property
    def state(self) -> str: ...


class Notifier:
    """Decides what to announce; see the module docstring for the rules."""

    def __init__(
        self,
        store: CallStore,
        clock: Clock = time.time,
        *,
        summary_threshold: int = DEFAULT_SUMMARY_THRESHOLD,
        absence_s: int = DEFAULT_ABSENCE_S,
        lookback_s: int = DEFAULT_LOOKBACK_S,
        my_uuid: str | None = None,
        tz: tzinfo | None = None,
        home_region: str = DEFAULT_HOME_REGION,
        tasks: TaskSupervisor | None = None,
    ) -> None:
        if summary_threshold < 2 or absence_s < 0 or lookback_s <= 0:
            raise ValueError("summary_threshold must be 2 or more; absence_s, lookback_s >= 0")
        self._store = store
        self._records = MissedCallRecords(store)
        self._clock = clock
        self._summary_threshold = summary_threshold
        self._absence_s = absence_s
        self._lookback_s = lookback_s
        self._tz = tz
        self._home_region = home_region
        self.my_uuid = my_uuid
        self._listeners: Listeners[[Notification]] = Listeners()
        self._silenced = False
        self._silenced_count = 0
        self._announcing = True
        self._pending = False
        #: One check at a time (see the module docstring).
        self._one_at_a_time = asyncio.Lock()
        #: A check asked for while one runs: `_run_checks` runs one more.
        self._requested = False
        self.tasks = tasks if tasks is not None else TaskSupervisor("Notifier")
        self._floor = self._load_floor()

    # -- state ----------------------------------------------------------------------------

    def _load_floor(self) -> int:
        now = int(self._clock())
        stored = self._store.get_meta(META_FLOOR)
        try:
            floor = int(stored) if stored is not None else None
        except ValueError:
            floor = None
        if floor is None:
            floor = now - self._lookback_s
            self._store.set_meta(META_FLOOR, floor)
            log.info("notifier: first start, announcing missed calls from %d on", floor)
        return floor

    @property
    def floor(self) -> int:
        return self._floor

    @property
    def silenced(self) -> bool:
        return self._silenced

    def set_silenced(self, silenced: bool) -> None:
        """Do not disturb: calls are still recorded and counted, nothing is announced."""
        if silenced and not self._silenced:
            self._silenced_count = 0
        self._silenced = silenced

    @property
    def announcing(self) -> bool:
        return self._announcing

    def set_announcing(self, announcing: bool) -> None:
        """Whether missed calls are announced at all (a setting, unlike do not disturb):
        while off they are recorded as seen, not announced, and not counted as held back."""
        self._announcing = announcing

    @property
    def silenced_count(self) -> int:
        """Missed calls held back since Do not disturb was last switched on."""
        return self._silenced_count

    # -- listeners ------------------------------------------------------------------------

    def set_my_uuid(self, uuid: str | None) -> None:
        """Whose phone "rang me" means (the workspace's `Identity` calls this)."""
        self.my_uuid = uuid

    def add_listener(self, listener: NotificationListener) -> Callable[[], None]:
        """Call `listener` with every notification; returns a function that unsubscribes."""
        return self._listeners.add(listener)

    def attach(self, engine: _SyncEvents) -> Callable[[], None]:
        """Check after every sync that stored new calls (when its status leaves "syncing"),
        and at once for calls stored outside a sync (a remote search). Returns a detacher."""

        def on_new(_calls: Sequence[CallLog]) -> None:
            self._pending = True

        def on_status(status: _Status) -> None:
            if status.state != "syncing" and self._pending:
                self._pending = False
                self.request_check()

        # The first sync after attaching checks even without new calls: calls stored by an
        # earlier run that ended before its check are announced now.
        self._pending = True
        detachers = [engine.add_new_calls_listener(on_new), engine.add_listener(on_status)]

        def detach() -> None:
            for detacher in detachers:
                detacher()

        return detach

    def on_new_calls(self, calls: Sequence[CallLog]) -> None:
        """For callers without the engine at hand: new calls stored, check soon."""
        if calls:
            self.request_check()

    # -- checks ---------------------------------------------------------------------------

    def request_check(self) -> None:
        """Check soon, under `tasks`; asked while a check runs, one more follows it (a
        burst of requests is one check, never a check cancelled half-way)."""
        self._requested = True
        if not self.tasks.closed and not self.tasks.running(CHECK_TASK):
            self.tasks.spawn(CHECK_TASK, self._run_checks())

    async def _run_checks(self) -> None:
        while self._requested:
            self._requested = False
            await self.check()

    async def wait_checked(self) -> None:
        """Until the checks asked for so far (`request_check`) have run."""
        while (task := self.tasks.task(CHECK_TASK)) is not None:
            await asyncio.wait([task])

    async def check(self) -> list[Notification]:
        """Find missed calls not yet announced, record them, and announce them (unless
        silenced or turned off). Returns what was announced. The database work runs on a
        worker thread; checks run one at a time."""
        async with self._one_at_a_time:
            now = int(self._clock())
            work = asyncio.ensure_future(asyncio.to_thread(
                self._decide, now, announcing=self._announcing, silenced=self._silenced
            ))
            try:
                outcome = await asyncio.shield(work)
            except asyncio.CancelledError:
                # The thread runs on regardless: let it end its transaction before the
                # owner closes the connection (what it recorded is not announced: the
                # workspace is closing).
                await asyncio.wait([work])
                raise
            self._silenced_count += outcome.silenced
            for note in outcome.notes:
                self._emit(note)
            return outcome.notes

    # -- the rules (on the worker thread) -------------------------------------------------

    def _decide(self, now: int, *, announcing: bool, silenced: bool) -> _Outcome:
        """The rules over the cache: candidates read, recorded, and made into notes."""
        self._raise_floor(now - self._lookback_s)
        candidates = self._records.unnotified_missed(self._floor)
        if not candidates:
            return _Outcome([])
        if not announcing:
            self._records.record_notified(candidates, "off", now)
            log.info("notifier: %d missed call(s) not announced (turned off)", len(candidates))
            return _Outcome([])
        if silenced:
            self._records.record_notified(candidates, "silenced", now)
            log.info("notifier: %d missed call(s) silenced (do not disturb)", len(candidates))
            return _Outcome([], silenced=len(candidates))
        notes: list[Notification]
        stale = candidates[0].start_time < now - self._absence_s
        if len(candidates) >= self._summary_threshold or (len(candidates) >= 2 and stale):
            self._records.record_notified(candidates, "summary", now)
            notes = [self._summary(candidates, now)]
        else:
            self._records.record_notified(candidates, "single", now)
            notes = [self._notice(c, now) for c in candidates]
        return _Outcome(notes)

    def _raise_floor(self, floor: int) -> None:
        if floor <= self._floor:
            return
        self._floor = floor
        self._store.set_meta(META_FLOOR, floor)
        self._records.prune_notified(floor)

    def _emit(self, note: Notification) -> None:
        self._listeners.emit(note)

    def _notice(self, call: CallLog, now: int) -> MissedCallNotice:
        caller = format_number(call.caller_number, self._home_region) or "Unknown number"
        attempts = (
            self._records.incoming_count(
                call.caller_number, local_midnight(call.start_time, self._tz), call.start_time
            )
            if call.caller_number
            else 1
        )
        reach = classify(call, self.my_uuid)
        parts = [call.department] if call.department else []
        parts.append(format_try(call.start_time, now, self._tz))
        if attempts > 1:
            parts.append(f"{_ordinal(attempts)} try today")
        if reach.rang_me:
            parts.append("rang you")
        return MissedCallNotice(
            call_id=call.id,
            caller_e164=call.caller_number,
            caller=caller,
            department=call.department,
            start_time=call.start_time,
            attempts_today=attempts,
            reach=reach,
            title=f"Missed call from {caller}",
            message=" · ".join(parts),
        )

    def _summary(self, calls: Sequence[CallLog], now: int) -> MissedCallsSummary:
        since = calls[0].start_time
        numbers = {c.caller_number for c in calls}
        callers = f"From {len(numbers)} numbers. " if len(numbers) > 1 else ""
        return MissedCallsSummary(
            count=len(calls),
            since=since,
            newest_call_id=max(calls, key=lambda c: c.start_time).id,
            call_ids=tuple(c.id for c in calls),
            title=f"{len(calls)} missed calls since {format_try(since, now, self._tz)}",
            message=f"{callers}Open the callback list to call back.",
        )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
