"""The log feed's presenter: the cache answers at once, the server is asked after a pause,
and older calls are fetched on request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop_app.api.errors import MyOperatorError, ValidationError
from desktop_app.api.filters import build_filter_expression
from desktop_app.api.models import CallLog, Direction, FilterGroup, LogPage
from desktop_app.services.export import write_calls_csv
from desktop_app.services.sync import SyncEngine, SyncResult, SyncStatus
from desktop_app.store import CallQuery, CallStore
from desktop_app.ui.common.presenter import Presenter
from desktop_app.ui.feed.model import FeedModel, row_from_log

log = logging.getLogger(__name__)
#: Calls a server page holds when the feed asks for more.
SERVER_PAGE_SIZE = 100
#: Days fetched per "load older calls".
OLDER_DAYS = 7


# ------------------------------------------------------------------------------ feed


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


class FeedApi(Protocol):
    """What the feed asks the client directly (the rest goes through the sync engine)."""

    async def filters(self) -> tuple[FilterGroup, ...]: ...

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


def count_text(shown: int, total: int | None) -> str:
    noun = "call" if shown == 1 else "calls"
    if total is None:
        return f"{shown:,} {noun} in the cache"
    if total <= shown:
        return f"{shown:,} {noun}"
    return f"{shown:,} of {total:,} calls"


class _View(NamedTuple):
    """What the feed shows: the inputs that decide the query, local and remote."""

    text: str
    start: int | None
    end: int | None
    expr: str | None
    local: bool  # the cache can evaluate it (no server-only filter selected)


class FeedPresenter(Presenter):
    """The log feed's brain: query, search (local at once, the server where needed),
    filters, load more, selection and export. The FeedPanel forwards input here."""

    countTextChanged = Signal(str)
    noticeChanged = Signal(str)
    #: Whether "load more" can do anything, and its label.
    loadMoreChanged = Signal(bool, str)
    filtersLoaded = Signal(object)
    #: The selected call (CallLog) or None.
    callSelected = Signal(object)
    #: Export done: success and a sentence for the status bar.
    exportFinished = Signal(bool, str)
    #: The server's part of the current view arrived (or failed).
    remoteFinished = Signal()
    #: A "load more" finished.
    loadMoreFinished = Signal()

    def __init__(
        self,
        model: FeedModel,
        store: CallStore,
        engine: SyncEngine,
        api: FeedApi,
        *,
        clock: Callable[[], float] = time.time,
        debounce_ms: int = 0,
        remote_delay_ms: int = 600,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("feedPresenter")
        self._model = model
        self._store = store
        self._engine = engine
        self._api = api
        self._clock = clock
        self._text = ""
        self._preset = "all"
        self._custom: tuple[date, date] | None = None
        self._filter_ids: list[int] = []
        self._groups: tuple[FilterGroup, ...] = ()
        self._view: _View | None = None
        self._expr: str | None = None
        self._server_only: list[str] = []
        self._api_total: int | None = None
        # What the server's last answer covered, to keep its total current (on_new_calls).
        self._total_ids: set[str] = set()
        self._total_floor = 0
        self._server_offset = 0
        self._server_more = False
        self._notice = ""
        self._remote_task: asyncio.Task[Any] | None = None
        self._more_task: asyncio.Task[Any] | None = None
        self._filters_task: asyncio.Task[Any] | None = None
        self._extra_logs: dict[str, CallLog] = {}

        self._debounce = QTimer(self)
        self._debounce.setObjectName("feedSearchDebounce")
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.apply_now)
        self._remote_timer = QTimer(self)
        self._remote_timer.setObjectName("feedRemoteDelay")
        self._remote_timer.setSingleShot(True)
        self._remote_timer.setInterval(remote_delay_ms)
        self._remote_timer.timeout.connect(self._start_remote)
        model.countsChanged.connect(self._update_counts)

    # -------------------------------------------------------------- reading

    @property
    def model(self) -> FeedModel:
        return self._model

    @property
    def groups(self) -> tuple[FilterGroup, ...]:
        return self._groups

    @property
    def filter_expression(self) -> str | None:
        """The API expression of the selected chips (None when none are selected)."""
        return self._expr

    @property
    def api_total(self) -> int | None:
        return self._api_total

    @property
    def remote_pending(self) -> bool:
        return self._remote_timer.isActive() or (
            self._remote_task is not None and not self._remote_task.done()
        )

    @property
    def loading_more(self) -> bool:
        return self._more_task is not None and not self._more_task.done()

    @property
    def notice(self) -> str:
        return self._notice

    # --------------------------------------------------------------- inputs

    @Slot(str)
    def set_search_text(self, text: str) -> None:
        """Typing: the cache answers on the next turn of the event loop, so keystrokes that
        arrive together (a paste, fast typing) make one query, and a lone keystroke shows
        its matches within a frame or two; the server is asked only after a longer pause."""
        self._text = text
        if not text.strip():
            self.apply_now()  # clearing is instant
        else:
            self._debounce.start()

    def set_date_selection(
        self, key: str, custom_from: date | None = None, custom_to: date | None = None
    ) -> None:
        self._preset = key
        if custom_from is not None and custom_to is not None:
            self._custom = (custom_from, custom_to)
        self.apply_now()

    def set_filter_ids(self, ids: Sequence[int]) -> None:
        self._filter_ids = list(ids)
        self.apply_now()

    @Slot()
    def apply_now(self) -> None:
        """Show the view for the current inputs: the cache at once, the server if needed."""
        self._debounce.stop()
        if self._closed:
            return
        start, end = preset_range(self._preset, date.today(), self._custom)
        fields, server_only = local_filter_fields(self._groups, self._filter_ids)
        try:
            expr = build_filter_expression(self._groups, self._filter_ids) if self._groups else None
        except ValidationError as exc:
            expr, server_only = None, []
            self._set_notice(exc.message)
        text = self._text.strip()
        local = not server_only
        view = _View(text, start, end, expr, local)
        if view == self._view:
            return
        self._view = view
        self._expr = expr
        self._server_only = server_only
        self._cancel_remote()
        self._api_total = None
        self._server_offset = 0
        self._server_more = False
        self._extra_logs.clear()
        query = CallQuery(text=text, start=start, end=end, **fields)
        self._model.set_query(query, local=local)
        if local and self._covered(start, end):
            self._set_notice("")
        else:
            if not local:
                names = ", ".join(server_only)
                self._set_notice(
                    f"{names}: only MyOperator can tell, so this view shows its answer."
                )
            else:
                self._set_notice("")
            self._remote_timer.start()
        self._update_counts()
        self._update_load_more()

    @Slot(str)
    def select_call(self, call_id: str) -> None:
        call = (self._store.get(call_id) or self._extra_logs.get(call_id)) if call_id else None
        self.callSelected.emit(call)

    @Slot(object)
    def on_new_calls(self, calls: Sequence[CallLog]) -> None:
        """Merge what a sync (or a search) stored; the view keeps the reading row in place."""
        if not calls:
            return
        self._model.refresh(since=min(c.start_time for c in calls))
        view = self._view
        plain = view is not None and not view.text and view.expr is None and view.start is None
        if plain and self._api_total is not None:
            # The server's total of the whole log grows by the calls that arrived since it
            # answered: within the span of its answer (the newest calls) any call it did not
            # list is new; older ones come from "load more" and were counted already.
            arrived = [
                c for c in calls
                if c.start_time >= self._total_floor and c.id not in self._total_ids
            ]
            self._total_ids.update(c.id for c in arrived)
            self._api_total += len(arrived)
        self._update_counts()

    @Slot(object)
    def on_sync_status(self, status: SyncStatus) -> None:
        """The first successful sync is the moment to fetch filters that failed before."""
        if status.state == "idle" and not self._groups:
            self.load_filters()
        if status.state == "idle":
            self._update_load_more()

    def load_filters(self) -> None:
        if self._closed:
            return
        if self._filters_task is not None and not self._filters_task.done():
            return
        self._filters_task = self._spawn(self._load_filters(), "feed-filters")

    @Slot()
    def load_more(self) -> None:
        """Older calls: the server's next page of this view, or an older week of the log."""
        if self.loading_more or self._closed:
            return
        self._more_task = self._spawn(self._load_more(), "feed-load-more")
        self._update_load_more()

    def export_csv(self, path: str | Path) -> None:
        """Write the current view to `path` (off the UI thread); emits `exportFinished`."""
        if self._closed:
            return
        rows = self._model.rows_for_export()
        # Named by file: a second export elsewhere does not cancel the first.
        self._spawn(self._export(Path(path), rows), f"feed-export:{path}")

    # --------------------------------------------------------------- tasks

    async def _load_filters(self) -> None:
        try:
            groups = await self._api.filters()
        except MyOperatorError as exc:
            log.info("filters not loaded yet: %s", exc.message)
            return
        self._groups = tuple(groups)
        self.filtersLoaded.emit(self._groups)
        if self._filter_ids:
            self._view = None
            self.apply_now()

    @Slot()
    def _start_remote(self) -> None:
        if self._view is None or self._closed:
            return
        self._cancel_remote()
        self._remote_task = self._spawn(self._remote(self._view), "feed-remote-search")
        self._update_counts()

    async def _remote(self, view: _View) -> None:
        text, start, end, expr, _local = view
        try:
            try:
                result = await self._engine.search_remote(text, start, end, expr, max_pages=1)
            except MyOperatorError as exc:
                if view == self._view:
                    self._set_notice(
                        f"MyOperator could not be asked ({exc.message}): showing cached calls."
                    )
                return
            if view != self._view:
                return
            self._take_remote(result, view)
        finally:
            if self._remote_task is asyncio.current_task():
                self._remote_task = None
            if view == self._view:
                self._update_counts()
                self._update_load_more()
                self.remoteFinished.emit()

    def _take_remote(self, result: SyncResult, view: _View) -> None:
        text, start, end, expr, _local = view
        whole_range = expr is not None or start is None
        self._merge_server_calls(result.fetched)
        self._total_ids = {c.id for c in result.fetched}
        self._total_floor = (
            min(c.start_time for c in result.fetched) if result.fetched else int(self._clock())
        )
        if whole_range:
            self._api_total = result.api_total
            self._server_offset = len(result.fetched)
            self._server_more = not result.complete and bool(text or expr)
        else:
            # Only the uncovered parts were asked: add the matches the cache holds elsewhere.
            self._api_total = self._count_covered(start, end) + (result.api_total or 0)

    async def _load_more(self) -> None:
        view = self._view
        try:
            if view is None:
                return
            text, start, end, expr, _local = view
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
                    if view != self._view:
                        return
                    self._server_offset += len(page.logs) + page.skipped
                    self._server_more = not page.is_last and bool(page.logs)
                    self._api_total = page.total
                    self._merge_server_calls(page.logs)
                elif start is None:
                    result = await self._engine.load_older(days=OLDER_DAYS)
                    if view == self._view and not result.new_calls:
                        self._set_notice("No calls in the week before; Load more goes further.")
                elif not self._covered(start, end):
                    await self._engine.search_remote("", start, end, None, max_pages=5)
                    if view == self._view and self._covered(start, end):
                        self._api_total = None
                self._model.refresh()
            except MyOperatorError as exc:
                self._set_notice(f"Older calls could not be loaded: {exc.message}")
        finally:
            if self._more_task is asyncio.current_task():
                self._more_task = None
            self._update_counts()
            self._update_load_more()
            self.loadMoreFinished.emit()

    async def _export(self, path: Path, rows: Sequence[Any]) -> None:
        try:
            count = await asyncio.to_thread(write_calls_csv, path, rows)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.exportFinished.emit(False, f"Export failed: {reason}")
            return
        noun = "call" if count == 1 else "calls"
        self.exportFinished.emit(True, f"Exported {count:,} {noun} to {path.name}")

    # -------------------------------------------------------------- private

    def _merge_server_calls(self, calls: Sequence[CallLog]) -> None:
        for call in calls:
            self._extra_logs[call.id] = call
        if not self._model.local:
            self._model.merge_extra(row_from_log(c) for c in calls)
            return
        # In a cache view, the server's matches the cache query cannot produce (the API's
        # search also looks at fields the cache lacks) are shown beside it.
        self._model.refresh()
        self._model.merge_extra(row_from_log(c) for c in calls)

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
        query = self._model.query
        total = 0
        for low, high in self._store.coverage():
            lo, hi = max(low, start), min(high, until)
            if lo <= hi:
                total += self._store.count(replace(query, start=lo, end=hi))
        return total

    def _cancel_remote(self) -> None:
        self._remote_timer.stop()
        if self._remote_task is not None:
            self._remote_task.cancel()
            self._remote_task = None

    def _set_notice(self, text: str) -> None:
        if text != self._notice:
            self._notice = text
            self.noticeChanged.emit(text)

    @Slot()
    def _update_counts(self) -> None:
        shown = self._model.total_count
        view = self._view
        if view is not None and view.local and self._covered(view.start, view.end):
            total: int | None = shown  # the cache holds the whole range: exact
        else:
            total = self._api_total
        text = count_text(shown, total)
        if self.remote_pending:
            text += " · asking MyOperator…"
        self.countTextChanged.emit(text)

    def _update_load_more(self) -> None:
        view = self._view
        if self.loading_more:
            self.loadMoreChanged.emit(False, "Loading…")
        elif view is None:
            self.loadMoreChanged.emit(False, "Load older calls")
        elif self._server_more:
            self.loadMoreChanged.emit(True, "Load more from MyOperator")
        elif not view.local or (view.text and view.start is None and self._api_total is not None):
            self.loadMoreChanged.emit(False, "All matches shown")
        elif view.start is None:
            self.loadMoreChanged.emit(True, "Load older calls")
        elif not self._covered(view.start, view.end):
            self.loadMoreChanged.emit(True, "Load the rest of this range")
        else:
            self.loadMoreChanged.emit(False, "All calls of this range shown")
