"""What the log feed shows and where its answer comes from, Qt-free.

The feed's inputs (search text, date preset, filter chips) make a `FeedView`. The cache
answers every view it can evaluate at once; MyOperator is asked where the cache cannot
(a range it does not cover, a filter it does not hold, the API's wider search). This
module decides all of that, and keeps what the server said:

- which view is current, and so which server answer is stale (a slower answer to an
  older view is dropped, never shown over the newer one);
- the server's total, kept current as calls arrive (`count_arrivals`), and the cache's
  exact count where it covers the whole range (`total`);
- "load more": the server's next page of this view, an older week of the log, or the rest
  of a range the cache does not hold; what the button says (`load_more_state`);
- the notice line above the feed (a filter only MyOperator can evaluate, a failure).

The presenter (`ui/feed/presenter.py`) forwards the panel's input here, runs the
coroutines under its task supervisor (the newest request wins) and puts the answers into
its table model; nothing here knows Qt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, NamedTuple, Protocol

from desktop_app.api.errors import MyOperatorError, ValidationError
from desktop_app.api.filters import build_filter_expression
from desktop_app.api.models import CallLog, Direction, FilterGroup
from desktop_app.services.clock import Clock
from desktop_app.services.formatting import prepare_number_formats
from desktop_app.services.sync import DAY_S, LogSource, SyncEngine
from desktop_app.store import CallQuery, CallStore

log = logging.getLogger(__name__)
#: Calls a server page holds when the feed asks for more.
SERVER_PAGE_SIZE = 100
#: Days fetched per "load older calls".
OLDER_DAYS = 7
#: Pages a "load the rest of this range" may fetch.
RANGE_PAGES = 5

NoticeListener = Callable[[str], None]


def preset_range(
    key: str, today: date, custom: tuple[date, date] | None = None
) -> tuple[int | None, int | None]:
    """(start, end) in UTC seconds for a date preset, in the local time zone.

    Ranges reaching today are left open at the end (None), so calls arriving while the
    view is open belong to it.
    """

    def midnight(day: date) -> int:
        return int(datetime.combine(day, dtime()).astimezone().timestamp())

    if key == "today":
        return midnight(today), None
    if key == "yesterday":
        return midnight(today - timedelta(days=1)), midnight(today) - 1
    if key == "last7":
        return midnight(today - timedelta(days=6)), None
    if key == "month":
        return midnight(today.replace(day=1)), None
    if key == "custom" and custom is not None:
        first, last = sorted(custom)
        end = None if last >= today else midnight(last + timedelta(days=1)) - 1
        return midnight(first), end
    return None, None


#: `/filters` names the cache can evaluate, and what they mean there. "Call" is every
#: cached record (the cache holds calls only).
_LOCAL_FILTERS: Mapping[str, tuple[str, object]] = {
    "incoming": ("direction", Direction.INCOMING),
    "outgoing": ("direction", Direction.OUTGOING),
    "connected": ("answered", True),
    "answered": ("answered", True),
    "missed": ("answered", False),
    "call": ("all", None),
}


def local_filter_fields(
    groups: Sequence[FilterGroup], selected: Iterable[int]
) -> tuple[dict[str, Any], list[str]]:
    """CallQuery fields for the selected filters, and the names the cache cannot evaluate.

    Alternatives under one header are OR-ed (Incoming + Outgoing is no restriction).
    """
    names = {f.id: f.name for g in groups for f in g.filters}
    directions: set[Direction] = set()
    answered: set[bool] = set()
    server_only: list[str] = []
    for filter_id in selected:
        name = names.get(filter_id)
        if name is None:
            continue
        meaning = _LOCAL_FILTERS.get(name.strip().casefold())
        if meaning is None:
            server_only.append(name)
        elif isinstance(meaning[1], Direction):
            directions.add(meaning[1])
        elif isinstance(meaning[1], bool):
            answered.add(meaning[1])
    fields: dict[str, Any] = {}
    if directions and len(directions) < len(Direction):
        fields["directions"] = frozenset(directions)
    if len(answered) == 1:
        fields["answered"] = next(iter(answered))
    return fields, server_only


class FeedApi(LogSource, Protocol):
    """What the feed asks the client directly: the account's filter chips and the
    server's next page of a view (the rest goes through the sync engine)."""

    async def filters(self) -> tuple[FilterGroup, ...]: ...


class FeedView(NamedTuple):
    """What the feed shows: the inputs that decide the query, local and remote."""

    text: str
    start: int | None
    end: int | None
    expr: str | None
    local: bool  # the cache can evaluate it (no server-only filter selected)


@dataclass(frozen=True, slots=True)
class ViewChange:
    """A new view: the cache query to show at once, and whether to ask MyOperator (after
    the presenter's pause, so typing does not spend requests)."""

    view: FeedView
    query: CallQuery
    ask_server: bool


@dataclass(frozen=True, slots=True)
class LoadedFilters:
    """The filter groups arrived; `reapply`: chips were selected before they did, so the
    view must be made again with them."""

    groups: tuple[FilterGroup, ...]
    reapply: bool


@dataclass(frozen=True, slots=True)
class MoreLoaded:
    """What a "load more" brought: server calls to show (they may not be in the cache's
    query), and whether the cache's rows changed (False: it failed or the view moved on)."""

    calls: tuple[CallLog, ...] = ()
    refresh: bool = False


class LoadMoreState(NamedTuple):
    enabled: bool
    label: str


class MatchCounter:
    """Exact counts of the feed's matches, taken off the GUI thread.

    An exact count scans every match (a LIKE over all 100,000 calls for a one-letter
    search, 40-80 ms), several frames, so it runs in a worker thread on a read-only
    connection of its own (`CallStore.sibling`: in WAL mode it never waits for the
    sync's writes, nor they for it). A new count interrupts the one before it: a keystroke makes
    the previous count worthless, and its thread stops at once instead of holding the
    connection until it is done. One count at a time is awaited (the presenter's task of
    one name), so the interruption reaches only a superseded count.
    """

    def __init__(self, reader: CallStore) -> None:
        self._reader = reader

    async def count(self, query: CallQuery) -> int:
        self._reader.interrupt()
        return await asyncio.to_thread(self._reader.count, query)

    def close(self) -> None:
        self._reader.interrupt()
        self._reader.close()


def prepare_cached_number_formats(store: CallStore) -> int:
    """Have the number format of every country in the cache ready before a view needs it
    (`prepare_number_formats`), the samples read on a read-only connection of its own.
    For a worker thread; returns how many numbers were formatted."""
    reader = store.sibling(read_only=True)
    try:
        numbers = reader.number_samples()
    finally:
        reader.close()
    prepare_number_formats(numbers)
    return len(numbers)


class FeedQuery:
    """The feed's view and its server side; see the module docstring.

    One instance per feed. Its coroutines may run concurrently (a search and a load
    more): each one checks, after every wait, that the view it worked for is still the
    current one before it changes anything the view shows.
    """

    def __init__(
        self,
        store: CallStore,
        engine: SyncEngine,
        api: FeedApi,
        *,
        clock: Clock = time.time,
        today: Callable[[], date] = date.today,
        on_notice: NoticeListener | None = None,
    ) -> None:
        self._store = store
        self._engine = engine
        self._api = api
        self._clock = clock
        self._today = today
        self._on_notice = on_notice
        # The inputs.
        self._text = ""
        self._preset = "all"
        self._custom: tuple[date, date] | None = None
        self._filter_ids: list[int] = []
        self._groups: tuple[FilterGroup, ...] = ()
        # The view they make, and what the server said about it.
        self._view: FeedView | None = None
        self._query = CallQuery()
        self._expr: str | None = None
        self._api_total: int | None = None
        # What the server's last answer covered, to keep its total current (count_arrivals).
        self._total_ids: set[str] = set()
        self._total_floor = 0
        # The server's paging of this view ("load more from MyOperator").
        self._server_offset = 0
        self._server_more = False
        self._notice = ""
        #: Calls the server listed for this view: selectable though not in the cache.
        self._extra_logs: dict[str, CallLog] = {}

    # -------------------------------------------------------------- reading

    @property
    def view(self) -> FeedView | None:
        return self._view

    @property
    def query(self) -> CallQuery:
        """The cache query of the current view."""
        return self._query

    @property
    def groups(self) -> tuple[FilterGroup, ...]:
        return self._groups

    @property
    def filter_expression(self) -> str | None:
        """The API expression of the selected chips (None when none are selected)."""
        return self._expr

    @property
    def api_total(self) -> int | None:
        """The server's count of the view's matches, once it answered."""
        return self._api_total

    @property
    def notice(self) -> str:
        return self._notice

    def is_current(self, view: FeedView) -> bool:
        return view == self._view

    def call(self, call_id: str) -> CallLog | None:
        """The call `call_id` from the cache, or as the server listed it for this view."""
        if not call_id:
            return None
        return self._store.get(call_id) or self._extra_logs.get(call_id)

    def total(self, shown: int) -> int | None:
        """How many calls the view has in all, given `shown` rows: exact where the cache
        covers the whole range, else the server's count (None until it answered)."""
        view = self._view
        if view is not None and view.local and self._covered(view.start, view.end):
            return shown
        return self._api_total

    def load_more_state(self, *, loading: bool) -> LoadMoreState:
        """Whether "load more" can do anything for the current view, and its label."""
        view = self._view
        if loading:
            return LoadMoreState(False, "Loading…")
        if view is None:
            return LoadMoreState(False, "Load older calls")
        if self._server_more:
            return LoadMoreState(True, "Load more from MyOperator")
        if not view.local or (view.text and view.start is None and self._api_total is not None):
            return LoadMoreState(False, "All matches shown")
        if view.start is None:
            return LoadMoreState(True, "Load older calls")
        if not self._covered(view.start, view.end):
            return LoadMoreState(True, "Load the rest of this range")
        return LoadMoreState(False, "All calls of this range shown")

    # --------------------------------------------------------------- inputs

    def set_text(self, text: str) -> None:
        """The search text; takes effect at the next `apply`."""
        self._text = text

    def set_dates(
        self, key: str, custom_from: date | None = None, custom_to: date | None = None
    ) -> None:
        self._preset = key
        if custom_from is not None and custom_to is not None:
            self._custom = (custom_from, custom_to)

    def set_filter_ids(self, ids: Sequence[int]) -> None:
        self._filter_ids = list(ids)

    def apply(self) -> ViewChange | None:
        """Make the view of the current inputs; None when it is the one shown already.

        A new view forgets what the server said about the old one (its total, its paging,
        its extra calls): an answer still on its way for the old view is stale.
        """
        start, end = preset_range(self._preset, self._today(), self._custom)
        fields, server_only = local_filter_fields(self._groups, self._filter_ids)
        try:
            expr = build_filter_expression(self._groups, self._filter_ids) if self._groups else None
        except ValidationError as exc:
            expr, server_only = None, []
            self._set_notice(exc.message)
        text = self._text.strip()
        local = not server_only
        view = FeedView(text, start, end, expr, local)
        if view == self._view:
            return None
        self._view = view
        self._expr = expr
        self._api_total = None
        self._server_offset = 0
        self._server_more = False
        self._extra_logs.clear()
        self._query = CallQuery(text=text, start=start, end=end, **fields)
        ask_server = not (local and self._covered(start, end))
        if not local:
            names = ", ".join(server_only)
            self._set_notice(f"{names}: only MyOperator can tell, so this view shows its answer.")
        else:
            self._set_notice("")
        return ViewChange(view, self._query, ask_server)

    def count_arrivals(self, calls: Sequence[CallLog]) -> None:
        """Calls a sync stored: in the plain view (the whole log), the server's total
        grows by those it had not counted."""
        view = self._view
        plain = view is not None and not view.text and view.expr is None and view.start is None
        if not plain or self._api_total is None:
            return
        # Within the span of the server's answer (the newest calls) any call it did not
        # list is new; older ones come from "load more" and were counted already.
        arrived = [
            c for c in calls if c.start_time >= self._total_floor and c.id not in self._total_ids
        ]
        self._total_ids.update(c.id for c in arrived)
        self._api_total += len(arrived)

    # ------------------------------------------------------------- the server

    async def load_filters(self) -> LoadedFilters | None:
        """Fetch the account's filter chips; None when MyOperator cannot be asked yet (the
        next successful sync is the moment to try again)."""
        try:
            groups = await self._api.filters()
        except MyOperatorError as exc:
            log.info("filters not loaded yet: %s", exc.message)
            return None
        self._groups = tuple(groups)
        reapply = bool(self._filter_ids)
        if reapply:
            self._view = None  # the same inputs now make another view
        return LoadedFilters(self._groups, reapply)

    async def search_server(self, view: FeedView) -> tuple[CallLog, ...] | None:
        """Ask MyOperator for `view` (one page) and take its answer: the calls to show,
        or None when it failed (the notice says so) or the view has moved on."""
        text, start, end, expr, _local = view
        whole_range = expr is not None or start is None
        # Without a filter only the parts the cache lacks are asked, and a range fetched
        # whole becomes covered: count the cache's part before, or it is counted twice.
        held = 0 if whole_range else self._count_covered(start, end)
        try:
            result = await self._engine.search_remote(text, start, end, expr, max_pages=1)
        except MyOperatorError as exc:
            if self.is_current(view):
                reason = exc.message.rstrip()
                reason += "" if reason.endswith((".", "!", "?")) else "."
                self._set_notice(f"Showing cached calls only. {reason}")
            return None
        if not self.is_current(view):
            return None
        self._remember(result.fetched)
        self._total_ids = {c.id for c in result.fetched}
        self._total_floor = (
            min(c.start_time for c in result.fetched) if result.fetched else int(self._clock())
        )
        if whole_range:
            self._api_total = result.api_total
            self._server_offset = len(result.fetched)
            self._server_more = not result.complete and bool(text or expr)
        else:
            # Only the uncovered parts were asked: add the matches the cache held elsewhere.
            self._api_total = held + (result.api_total or 0)
        return result.fetched

    async def load_more(self) -> MoreLoaded:
        """Older calls for the current view: the server's next page of it, an older week
        of the log, or the rest of its range; a failure goes to the notice."""
        view = self._view
        if view is None:
            return MoreLoaded()
        text, start, end, expr, _local = view
        calls: tuple[CallLog, ...] = ()
        try:
            if self._server_more:
                page = await self._api.search_logs(
                    start=start,
                    end=end,
                    offset=self._server_offset,
                    page_size=SERVER_PAGE_SIZE,
                    search=text or None,
                    filters=expr,
                )
                if not self.is_current(view):
                    return MoreLoaded()
                self._server_offset += len(page.logs) + page.skipped
                self._server_more = not page.is_last and bool(page.logs)
                self._api_total = page.total
                calls = page.logs
                self._remember(calls)
            elif start is None:
                result = await self._engine.load_older(days=OLDER_DAYS)
                if self.is_current(view) and not result.new_calls:
                    self._set_notice(self._nothing_older())
            elif not self._covered(start, end):
                await self._engine.search_remote("", start, end, None, max_pages=RANGE_PAGES)
                if self.is_current(view) and self._covered(start, end):
                    self._api_total = None  # the cache counts it exactly now
        except MyOperatorError as exc:
            self._set_notice(f"Older calls could not be loaded: {exc.message}")
            return MoreLoaded()
        return MoreLoaded(calls, refresh=True)

    # -------------------------------------------------------------- private

    def _nothing_older(self) -> str:
        """Why "load more" found nothing: an empty week, or the history kept ends here."""
        keep_s = self._engine.keep_s
        if keep_s is not None and self._engine.at_horizon():
            return (
                f"Calls older than {keep_s // DAY_S} days are not kept on this computer "
                "(Preferences → Calls and sync)."
            )
        return "No calls in the week before; Load more goes further."

    def _remember(self, calls: Iterable[CallLog]) -> None:
        for call in calls:
            self._extra_logs[call.id] = call

    def _covered(self, start: int | None, end: int | None) -> bool:
        if start is None:
            return False
        until = int(self._clock()) if end is None else end
        return self._store.covers(start, until)

    def _count_covered(self, start: int | None, end: int | None) -> int:
        """Matches the cache holds within the covered parts of [start, end]."""
        if start is None:
            return 0
        until = int(self._clock()) if end is None else end
        total = 0
        for low, high in self._store.coverage():
            lo, hi = max(low, start), min(high, until)
            if lo <= hi:
                total += self._store.count(replace(self._query, start=lo, end=hi))
        return total

    def _set_notice(self, text: str) -> None:
        if text != self._notice:
            self._notice = text
            if self._on_notice is not None:
                self._on_notice(text)
