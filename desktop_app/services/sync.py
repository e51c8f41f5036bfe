"""The log sync engine: pulls ``/search`` into the SQLite cache, plain asyncio, no Qt.

How it stays correct with a feed that grows at the top and a budget of 20 requests a minute:

- Every range it fetches has a fixed ``to`` (the time the sync started), so new calls
  arriving meanwhile cannot shift the newest-first pages under it; the next incremental sync
  starts at the newest held start time minus `overlap_s`, and upserts by the stable id
  absorb the re-fetched calls.
- A call is logged when it *ends*, with its *start* time: a 20-minute call shows up 20
  minutes "in the past", below calls already synced. So the incremental range reaches back
  `late_window_s` (default an hour) before the last sync's end. That costs no extra
  requests in the usual case: paging stops as soon as the cache holds as many calls in the
  range as the API's ``total`` says there are.
- Each page is stored together with the cursor that says where to continue and the time
  range it proves complete, in one transaction. Killing the app mid-sync loses nothing
  stored, and the next start resumes the interrupted range where it stopped.
- Failures never touch the cache: the UI keeps showing and searching it while the engine
  backs off (the 429's Retry-After; exponential with jitter for outages) and says so in its
  `SyncStatus`.
- Store writes run on a worker thread (`asyncio.to_thread`), so the event loop, which is
  the Qt loop in the app, never stalls on a big upsert. The app gives the engine a store
  connection of its own and a `LogSource` that requests and parses on another thread
  (`services/sync_thread.py`); `reader` is the connection the loop's thread reads from.
- With `keep_s` set ("keep calls for 90 days"), calls older than that are pruned after
  every sync (`prune`), and nothing older is fetched again: every range the engine pages
  starts at that horizon at the earliest, an interrupted range is cut there, and "load
  older" stops there (`at_horizon`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from desktop_app.api.errors import (
    MalformedResponse,
    MyOperatorError,
    RateLimited,
    TokenRejected,
)
from desktop_app.api.models import CallLog, LogPage
from desktop_app.api.waits import format_wait
from desktop_app.services.clock import Clock, Sleep
from desktop_app.services.listeners import Listeners
from desktop_app.services.tasks import describe_failure
from desktop_app.store import CallQuery, CallStore

log = logging.getLogger(__name__)

DAY_S = 86400
MAX_PAGE_SIZE = 100  # the API refuses larger pages

#: Meta keys this engine owns.
META_FEED_CURSOR = "sync.feed_cursor"
META_OLDER_CURSOR = "sync.older_cursor"
META_LAST_SUCCESS = "sync.last_success"
META_API_TOTAL = "sync.api_total"
#: The id of the last team relay event stored (see `SyncEngine.ingest`).
META_RELAY_POSITION = "relay.last_event_id"

#: "failed": something other than the service went wrong (the cache could not be saved,
#: a bug); the task supervisor restarts the loop and says when (`report_failure`).
SyncState = Literal["idle", "syncing", "backing_off", "offline", "auth_failed", "failed"]


class LogSource(Protocol):
    """The part of `MyOperatorClient` the engine uses."""

    async def search_logs(
        self,
        *,
        start: int | None = None,
        end: int | None = None,
        offset: int = 0,
        page_size: int = 20,
        search: str | None = None,
        filters: str | None = None,
    ) -> LogPage: ...


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the status bar shows; a new snapshot is sent to listeners on every change."""

    state: SyncState = "idle"
    last_success: float | None = None
    offline_since: float | None = None
    retry_at: float | None = None
    message: str = ""
    api_total: int | None = None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one operation did.

    `new_calls` were not in the cache before. `api_total` is the match count the API
    reported for the last range asked. `fetched` (search_remote only) is every call the
    API matched, new or not, since the API's search_key matches fields the cache cannot
    search locally. `complete` is False when search_remote stopped at its page limit.
    """

    new_calls: tuple[CallLog, ...] = ()
    pages: int = 0
    api_total: int | None = None
    fetched: tuple[CallLog, ...] = ()
    complete: bool = True


@dataclass(frozen=True, slots=True)
class _Cursor:
    """A range being paged newest first: [start, end] inclusive, next page at `offset`."""

    start: int
    end: int
    offset: int = 0

    def dumps(self) -> str:
        return json.dumps({"from": self.start, "to": self.end, "offset": self.offset})

    @staticmethod
    def loads(text: str | None) -> _Cursor | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            cursor = _Cursor(int(data["from"]), int(data["to"]), int(data["offset"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable sync cursor: %r", text)
            return None
        return cursor if cursor.start <= cursor.end and cursor.offset >= 0 else None


@dataclass(slots=True)
class _Tally:
    new_calls: list[CallLog] = field(default_factory=list)
    fetched: list[CallLog] = field(default_factory=list)
    pages: int = 0
    api_total: int | None = None

    def result(self, *, complete: bool = True, keep_fetched: bool = False) -> SyncResult:
        return SyncResult(
            new_calls=tuple(self.new_calls),
            pages=self.pages,
            api_total=self.api_total,
            fetched=tuple(self.fetched) if keep_fetched else (),
            complete=complete,
        )


StatusListener = Callable[[SyncStatus], None]
NewCallsListener = Callable[[Sequence[CallLog]], None]


class SyncEngine:
    """Keeps the cache in step with the account's call log; see the module docstring.

    `sync_once`, `load_older` and `search_remote` may run concurrently (each kind is
    serialised with itself). Listeners are called on the event loop's thread.
    """

    def __init__(
        self,
        client: LogSource,
        store: CallStore,
        *,
        clock: Clock = time.time,
        initial_window_s: int = 7 * DAY_S,
        overlap_s: int = 120,
        page_size: int = 100,
        late_window_s: int = 3600,
        sleep: Sleep = asyncio.sleep,
        backoff_base_s: float = 5.0,
        backoff_cap_s: float = 300.0,
        jitter: float = 0.2,
        rng: random.Random | None = None,
        search_page_limit: int = 5,
        reader: CallStore | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE} (the API's max)")
        if initial_window_s < 1 or overlap_s < 0 or late_window_s < 0:
            raise ValueError("initial_window_s must be positive; the other windows at least 0")
        self._client = client
        self._store = store
        # What the loop's own thread reads without waiting for a page being written.
        self._reader = reader if reader is not None else store
        self._clock = clock
        self._initial_window_s = initial_window_s
        self._overlap_s = overlap_s
        self._late_window_s = late_window_s
        self._page_size = page_size
        self._sleep = sleep
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._jitter = jitter
        self._rng = rng or random.Random()
        self._search_page_limit = search_page_limit
        self._feed_lock = asyncio.Lock()
        self._older_lock = asyncio.Lock()
        self._refresh = asyncio.Event()
        self._status_listeners: Listeners[[SyncStatus]] = Listeners()
        self._new_calls_listeners: Listeners[[Sequence[CallLog]]] = Listeners()
        self._status = SyncStatus(
            last_success=_float_or_none(store.get_meta(META_LAST_SUCCESS)),
            api_total=_int_or_none(store.get_meta(META_API_TOTAL)),
        )
        self._keep_s: int | None = None
        self._repace = asyncio.Event()
        self._pruned_listeners: Listeners[[int]] = Listeners()

    @property
    def store(self) -> CallStore:
        """The connection the engine writes through."""
        return self._store

    # -- how much history -----------------------------------------------------------------

    @property
    def keep_s(self) -> int | None:
        """Seconds of history the cache keeps (None: all of it)."""
        return self._keep_s

    @keep_s.setter
    def keep_s(self, seconds: int | None) -> None:
        if seconds is not None and seconds < 1:
            raise ValueError("keep_s must be positive (or None to keep everything)")
        self._keep_s = seconds

    def horizon(self, now: float | None = None) -> int | None:
        """The oldest start time the cache keeps and the engine fetches (None: no limit)."""
        if self._keep_s is None:
            return None
        return int(self._clock() if now is None else now) - self._keep_s

    def at_horizon(self) -> bool:
        """Whether the cache already reaches back as far as it keeps: "load older" has
        nothing to fetch."""
        horizon = self.horizon()
        if horizon is None:
            return False
        coverage = self._reader.coverage()
        return bool(coverage) and coverage[0][0] <= horizon

    def add_pruned_listener(self, listener: Callable[[int], None]) -> Callable[[], None]:
        """Call `listener` with the horizon after a prune removed calls; returns the
        unsubscribe (a view drops the rows it shows from before it)."""
        return self._pruned_listeners.add(listener)

    async def prune(self) -> int:
        """Remove the calls older than `keep_s` from the cache (off the event loop's
        thread); returns how many went. Waits for a sync in progress (whose range may
        reach back before a horizon just moved); a "load older" in progress is not waited
        for (it may wait long for the budget): a page it stores from before the horizon
        goes with the next prune."""
        if self._keep_s is None:
            return 0
        async with self._feed_lock:
            return await self._prune_unlocked(raise_errors=True)

    async def _prune_unlocked(self, *, raise_errors: bool = False) -> int:
        horizon = self.horizon()
        if horizon is None:
            return 0
        try:
            removed = await asyncio.to_thread(self._prune_store, horizon)
        except Exception:
            if raise_errors:
                raise
            # After a sync: the calls it stored are safe; the next sync tries again.
            log.exception("removing calls older than the %d days kept failed",
                          (self._keep_s or 0) // DAY_S)
            return 0
        if removed:
            log.info("removed %d call(s) older than the %d days kept", removed,
                     (self._keep_s or 0) // DAY_S)
            self._pruned_listeners.emit(horizon)
        return removed

    def _prune_store(self, horizon: int) -> int:
        removed = self._store.prune_older_than(horizon)
        for key in (META_FEED_CURSOR, META_OLDER_CURSOR):  # no resuming into pruned history
            cursor = _Cursor.loads(self._store.get_meta(key))
            if cursor is not None:
                clamped = _clamp(cursor, horizon)
                self._store.set_meta(key, None if clamped is None else clamped.dumps())
        return removed

    # -- listeners ------------------------------------------------------------------------

    @property
    def status(self) -> SyncStatus:
        return self._status

    def add_listener(self, listener: StatusListener) -> Callable[[], None]:
        """Call `listener` with every new status; returns a function that unsubscribes."""
        return self._status_listeners.add(listener)

    def add_new_calls_listener(self, listener: NewCallsListener) -> Callable[[], None]:
        """Call `listener` with the calls each stored page added (never repeats a call id).

        The first sync reports the whole initial window as new: a notifier should judge
        calls by its own persisted watermark, not by arrival here.
        """
        return self._new_calls_listeners.add(listener)

    def _set_status(self, status: SyncStatus) -> None:
        if status == self._status:
            return
        self._status = status
        self._status_listeners.emit(status)

    def _emit_new(self, calls: Sequence[CallLog]) -> None:
        if not calls:
            return
        self._new_calls_listeners.emit(calls)

    # -- the feed -------------------------------------------------------------------------

    async def sync_once(self) -> SyncResult:
        """Finish any interrupted range, then fetch everything since the newest held call.

        With an empty cache that is the last `initial_window_s`. Raises the client's error
        after setting the status it implies; the cache is untouched by a failure.
        """
        return await self._sync_once(report_failure=True)

    async def _sync_once(self, *, report_failure: bool) -> SyncResult:
        async with self._feed_lock:
            before = self._status
            self._set_status(
                replace(before, state="syncing", retry_at=None, message="Syncing…")
            )
            try:
                result = await self._sync_feed()
            except MyOperatorError as exc:
                if report_failure:  # else the caller reports it, with the retry time
                    self._set_status(self._failure_status(exc, retry_in=None))
                raise
            except Exception as exc:
                # Not the service's doing (a full disk, a bug): say so rather than show the
                # status from before as if nothing had happened.
                self._set_status(replace(
                    before, state="failed", retry_at=None, message=describe_failure(exc)
                ))
                raise
            except BaseException:
                self._set_status(before)
                raise
            # Still "syncing": a refresh asked for meanwhile is served by this sync.
            await self._prune_unlocked()
            now = self._clock()
            await asyncio.to_thread(self._store.set_meta, META_LAST_SUCCESS, repr(now))
            n = len(result.new_calls)
            self._set_status(
                SyncStatus(
                    state="idle",
                    last_success=now,
                    offline_since=None,
                    retry_at=None,
                    message=f"{n} new call{'s' if n != 1 else ''}" if n else "Up to date",
                    api_total=result.api_total
                    if result.api_total is not None
                    else self._status.api_total,
                )
            )
            return result

    async def _sync_feed(self) -> SyncResult:
        tally = _Tally()
        cursor = _Cursor.loads(await asyncio.to_thread(self._store.get_meta, META_FEED_CURSOR))
        horizon = self.horizon()
        if cursor is not None and horizon is not None:
            cursor = _clamp(cursor, horizon)
        if cursor is not None:
            log.info("resuming an interrupted sync of [%d, %d] at offset %d",
                     cursor.start, cursor.end, cursor.offset)
            await self._page_range(cursor, META_FEED_CURSOR, tally)
        now = int(self._clock())
        start = await asyncio.to_thread(self._incremental_start, now)
        horizon = self.horizon(now)
        if horizon is not None:
            start = min(max(start, horizon), now)
        await self._page_range(_Cursor(start, now), META_FEED_CURSOR, tally)
        return tally.result()

    def _incremental_start(self, now: int) -> int:
        """Where the next feed range begins: `overlap_s` before the newest held call of the
        newest covered range, and at least `late_window_s` before that range's end (for
        long calls logged after the last sync with an earlier start time)."""
        coverage = self._store.coverage()
        if not coverage:
            return now - self._initial_window_s
        low, high = coverage[-1]
        anchor = min(high, now)
        newest = self._store.newest_start_time(at_most=anchor)
        if newest is None or newest < low:
            newest = anchor
        return min(newest - self._overlap_s, anchor - self._late_window_s)

    async def load_older(self, days: int = 7) -> SyncResult:
        """Fetch `days` more before the oldest covered time ("load more"); resumable."""
        if days < 1:
            raise ValueError("days must be at least 1")
        async with self._older_lock:
            tally = _Tally()
            raw = await asyncio.to_thread(self._store.get_meta, META_OLDER_CURSOR)
            cursor = _Cursor.loads(raw)
            if cursor is None:
                coverage = await asyncio.to_thread(self._store.coverage)
                anchor = coverage[0][0] if coverage else int(self._clock())
                cursor = _Cursor(anchor - days * DAY_S, anchor - 1)
            horizon = self.horizon()
            if horizon is not None:
                cursor = _clamp(cursor, horizon)
                if cursor is None:  # the cache reaches back as far as it keeps
                    await asyncio.to_thread(self._store.set_meta, META_OLDER_CURSOR, None)
                    return tally.result()
            await self._page_range(cursor, META_OLDER_CURSOR, tally)
            return tally.result()

    async def _page_range(self, cursor: _Cursor, cursor_key: str, tally: _Tally) -> None:
        """Page [start, end] newest first from `cursor.offset` until the range is held."""
        offset = cursor.offset
        previous_ids: list[str] | None = None
        while True:
            page = await self._client.search_logs(
                start=cursor.start, end=cursor.end, offset=offset, page_size=self._page_size
            )
            tally.pages += 1
            tally.api_total = page.total
            previous_ids = _check_advanced(page, previous_ids)
            new, done = await asyncio.to_thread(
                self._store_page, page, cursor, offset, cursor_key
            )
            tally.new_calls.extend(new)
            self._emit_new(new)
            if done:
                return
            offset += len(page.logs)

    def _store_page(
        self, page: LogPage, cursor: _Cursor, offset: int, cursor_key: str
    ) -> tuple[list[CallLog], bool]:
        """Store one page with its consequences, in one transaction; return (new, done).

        The range is done after a short page, or once the cache holds as many calls in it
        as the API counts (the rest are calls already held). Until then the cursor for the
        next page is saved, with the coverage the pages so far prove: everything newer
        than the oldest call seen (that second itself may continue on the next page).
        """
        logs = page.logs
        n = len(logs)
        with self._store.transaction():
            new = self._store.upsert_calls(logs)
            done = self._is_last(page, offset)
            if not done and page.total > 0:
                held = self._store.count(CallQuery(start=cursor.start, end=cursor.end))
                done = held == page.total
            if done:
                self._store.add_coverage(cursor.start, cursor.end)
                self._store.set_meta(cursor_key, None)
            else:
                proven = _proven_range(logs, cursor.end)
                if proven is not None:
                    self._store.add_coverage(*proven)
                self._store.set_meta(cursor_key, replace(cursor, offset=offset + n).dumps())
            self._store.set_meta(META_API_TOTAL, page.total)
        return new, done

    def _is_last(self, page: LogPage, offset: int) -> bool:
        n = len(page.logs)
        return n < self._page_size or (page.total > 0 and offset + n >= page.total)

    def _write_page(
        self, logs: Sequence[CallLog], covered: tuple[int, int] | None
    ) -> list[CallLog]:
        with self._store.transaction():
            new = self._store.upsert_calls(logs)
            if covered is not None:
                self._store.add_coverage(*covered)
        return new

    # -- remote search --------------------------------------------------------------------

    async def search_remote(
        self,
        text: str,
        start: int | None = None,
        end: int | None = None,
        filters: str | None = None,
        *,
        max_pages: int | None = None,
    ) -> SyncResult:
        """Ask the API where the cache cannot answer, and merge what it finds.

        Without `filters`, only the parts of [start, end] the cache does not cover are
        asked (newest first). Filter ids (tags, "star marked", …) are not in the cache, so
        with `filters` the whole range is asked. Stops after `max_pages` pages in all
        (default `search_page_limit`); `complete` says whether it got everything.
        """
        limit = self._search_page_limit if max_pages is None else max_pages
        until = int(self._clock()) if end is None else end
        search = text.strip() or None
        if start is not None and filters is None:
            gaps = await asyncio.to_thread(self._store.uncovered, start, until)
            ranges: list[tuple[int | None, int]] = [(lo, hi) for lo, hi in reversed(gaps)]
        else:
            ranges = [(start, until)]
        tally = _Tally()
        for low, high in ranges:
            offset = 0
            previous_ids: list[str] | None = None
            while True:
                if tally.pages >= limit:
                    return tally.result(complete=False, keep_fetched=True)
                page = await self._client.search_logs(
                    start=low, end=high, offset=offset, page_size=self._page_size,
                    search=search, filters=filters,
                )
                tally.pages += 1
                previous_ids = _check_advanced(page, previous_ids)
                if offset == 0:  # the sum over the ranges asked
                    tally.api_total = (tally.api_total or 0) + page.total
                last = self._is_last(page, offset)
                # An unfiltered search of a bounded range is a plain fetch: it proves coverage.
                covered = (
                    (low, high) if last and search is None and filters is None and low is not None
                    else None
                )
                new = await asyncio.to_thread(self._write_page, page.logs, covered)
                tally.new_calls.extend(new)
                tally.fetched.extend(page.logs)
                self._emit_new(new)
                if last:
                    break
                offset += len(page.logs)
        return tally.result(keep_fetched=True)

    # -- the loop -------------------------------------------------------------------------

    def repace(self) -> None:
        """The pace changed (the budget's room, say): the wait in progress between two
        syncs is measured again from when it began, without syncing early."""
        self._repace.set()

    def request_refresh(self) -> None:
        """Sync now instead of at the next interval (F5). Repeated requests coalesce into
        one sync; requests made while a sync runs are served by that sync. While the
        service is rate-limiting, the wait for its Retry-After is not cut short."""
        self._refresh.set()

    async def run(
        self, interval_s: float = 60.0, *, pace: Callable[[float], float] | None = None
    ) -> None:
        """Sync every `interval_s` until cancelled, backing off on failures.

        `pace` (the request budget's `background_interval`) stretches each wait so that
        syncing never spends what the account keeps for calls, and slows down as the
        account's allowance fills, whoever spent it.

        Returns only when the token is rejected (status ``auth_failed``): retrying would
        fail the same way until the user enters a new token. The service's failures are
        handled here (it knows Retry-After); anything else (the cache could not be saved,
        a bug) ends the call with status "failed": run it under
        `TaskSupervisor.keep_running`, which restarts it with a backoff.
        """
        failures = 0
        self._refresh.clear()  # a request made while no loop ran is served by the first sync
        while True:
            try:
                await self._sync_once(report_failure=False)
            except TokenRejected as exc:
                self._set_status(self._failure_status(exc, retry_in=None))
                return
            except RateLimited as exc:
                self._refresh.clear()
                delay = exc.retry_after if exc.retry_after is not None else self._backoff(1)
                delay = max(1.0, delay)
                self._set_status(self._failure_status(exc, retry_in=delay))
                await self._wait(delay, wake_on_refresh=False)
                continue
            except MyOperatorError as exc:
                self._refresh.clear()
                failures += 1
                delay = self._backoff(failures)
                self._set_status(self._failure_status(exc, retry_in=delay))
                await self._wait(delay, wake_on_refresh=True)
                continue
            self._refresh.clear()
            failures = 0
            if pace is None:
                await self._wait(interval_s, wake_on_refresh=True)
            else:
                await self._paced_wait(interval_s, pace)

    # -- through the team relay -------------------------------------------------------------

    def relay_position(self) -> str | None:
        """The id of the last relay event whose calls are stored (None: never connected)."""
        return self._reader.get_meta(META_RELAY_POSITION)

    async def ingest(
        self,
        calls: Sequence[CallLog],
        *,
        position: str,
        caught_up: bool,
        covered_since: int | None = None,
    ) -> list[CallLog]:
        """Store calls the team relay delivered, with the stream `position` they were read
        up to, in one transaction (a restart resumes exactly there); listeners hear of the
        new ones. Once `caught_up`, the status says so with a fresh last success (the
        notifier checks on it), and the cache is known to hold every call since
        `covered_since`: the feed need not ask MyOperator about that time."""
        horizon = self.horizon()
        kept = [call for call in calls if horizon is None or call.start_time >= horizon]
        now = self._clock()
        covered = None if covered_since is None or not caught_up else (covered_since, int(now))
        async with self._feed_lock:
            new = await asyncio.to_thread(self._store_delivered, kept, position, covered, now)
        self._emit_new(new)
        if caught_up:
            n = len(new)
            self._set_status(SyncStatus(
                state="idle",
                last_success=now,
                message=f"{n} new call{'s' if n != 1 else ''}" if n else "Up to date",
                api_total=self._status.api_total,
            ))
        return new

    def _store_delivered(
        self,
        logs: Sequence[CallLog],
        position: str,
        covered: tuple[int, int] | None,
        now: float,
    ) -> list[CallLog]:
        with self._store.transaction():
            new = self._store.upsert_calls(logs)
            self._store.set_meta(META_RELAY_POSITION, position)
            if covered is not None:
                low, high = covered
                if low <= high:
                    self._store.add_coverage(low, high)
                self._store.set_meta(META_LAST_SUCCESS, repr(now))
        return new

    def report_link(self, state: SyncState, message: str) -> None:
        """How the team relay's stream stands ("syncing" while catching up, "offline" while
        reconnecting, "auth_failed" when the credential is refused), in `message`'s words."""
        now = self._clock()
        offline_since = None
        if state == "offline":
            offline_since = self._status.offline_since or now
        self._set_status(replace(
            self._status, state=state, offline_since=offline_since, retry_at=None,
            message=message,
        ))

    def report_failure(self, sentence: str, *, retry_in: float | None) -> None:
        """What the supervisor of `run` decided after the loop failed with something other
        than the service's errors: shown as the "failed" status until the next sync."""
        retry_at = None if retry_in is None else self._clock() + retry_in
        self._set_status(
            replace(self._status, state="failed", retry_at=retry_at, message=sentence)
        )

    def _backoff(self, failures: int) -> float:
        """5 s, 10 s, 20 s … capped at 5 min, each shortened by up to `jitter` at random so
        many desktops sharing an account do not retry in lockstep."""
        ceiling = min(self._backoff_cap_s, self._backoff_base_s * 2.0 ** min(failures - 1, 30))
        return ceiling * (1.0 - self._jitter * self._rng.random())

    async def _wait(self, seconds: float, *, wake_on_refresh: bool) -> None:
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        if not wake_on_refresh:
            try:
                await sleeper
            finally:
                sleeper.cancel()
            return
        waker = asyncio.ensure_future(self._refresh.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    async def _paced_wait(self, interval_s: float, pace: Callable[[float], float]) -> None:
        """Wait `pace(interval_s)`, asked again whenever `repace` is called (counting the
        time already waited); a refresh request ends it at once."""
        began = self._clock()
        self._repace.clear()
        while True:
            left = pace(interval_s) - (self._clock() - began)
            if left <= 0:
                return
            sleeper = asyncio.ensure_future(self._sleep(left))
            waker = asyncio.ensure_future(self._refresh.wait())
            repacer = asyncio.ensure_future(self._repace.wait())
            waiters = {sleeper, waker, repacer}
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waiters:
                    task.cancel()
                await asyncio.gather(*waiters, return_exceptions=True)
            if not repacer.done() or repacer.cancelled():
                return  # slept its time, or a refresh was asked for
            self._repace.clear()

    def _failure_status(self, exc: MyOperatorError, *, retry_in: float | None) -> SyncStatus:
        now = self._clock()
        current = self._status
        retry_at = None if retry_in is None else now + retry_in
        when = "" if retry_in is None else f": retrying in {format_wait(retry_in)}"
        if isinstance(exc, TokenRejected):
            return replace(
                current, state="auth_failed", retry_at=None,
                message="The API token was rejected: enter a valid token to resume syncing",
            )
        if isinstance(exc, RateLimited):
            return replace(
                current, state="backing_off", retry_at=retry_at, message=f"rate-limited{when}"
            )
        return replace(
            current,
            state="offline",
            offline_since=current.offline_since if current.offline_since is not None else now,
            retry_at=retry_at,
            message=f"offline ({exc.message}){when}",
        )


def _clamp(cursor: _Cursor, horizon: int) -> _Cursor | None:
    """`cursor`'s range without what lies before `horizon` (None when nothing is left).
    Pages run newest first, so the offset into the rest stays right."""
    if cursor.end < horizon:
        return None
    if cursor.start >= horizon:
        return cursor
    return replace(cursor, start=horizon)


def _check_advanced(page: LogPage, previous_ids: list[str] | None) -> list[str]:
    """Refuse a page identical to the one before: a server ignoring ``log_from`` would
    otherwise be paged forever. Returns this page's ids for the next check."""
    ids = [c.id for c in page.logs]
    if ids and ids == previous_ids:
        raise MalformedResponse("The service returned the same page twice.")
    return ids


def _proven_range(logs: Sequence[CallLog], end: int) -> tuple[int, int] | None:
    """What a full, newest-first page proves held: (oldest start seen, end]. Nothing, if
    the page is not in newest-first order after all."""
    if not logs:
        return None
    starts = [c.start_time for c in logs]
    if any(a < b for a, b in itertools.pairwise(starts)):
        return None
    low = starts[-1] + 1
    return (low, end) if low <= end else None


def _float_or_none(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _int_or_none(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None
