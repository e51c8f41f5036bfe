"""The log feed's presenter: forwards the panel's input to the feed's query service
(`services/feed_query.py`, which decides the view, when to ask MyOperator and which answer
is stale), runs its coroutines under this presenter's task supervisor (one remote search,
one "load more", one filter fetch at a time: the newest request wins), puts the answers
into the table model and says what they mean in signals.

The cache answers at once; the server is asked after a pause (`remote_delay_ms`), so
typing spends no requests. `preset_range` and `local_filter_fields` live in the service
and are re-exported here, where the feed's tests have always found them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop_app.api.models import CallLog, FilterGroup
from desktop_app.services.export import write_calls_csv
from desktop_app.services.feed_query import (
    FeedApi,
    FeedQuery,
    FeedView,
    MatchCounter,
    prepare_cached_number_formats,
)
from desktop_app.services.feed_query import local_filter_fields as local_filter_fields
from desktop_app.services.feed_query import preset_range as preset_range
from desktop_app.services.sync import SyncEngine, SyncStatus
from desktop_app.store import CallQuery, CallStore
from desktop_app.ui.common.presenter import Presenter
from desktop_app.ui.feed.model import FeedModel, row_from_log

log = logging.getLogger(__name__)

#: The task names: a new one of each replaces (cancels) the one before.
REMOTE_SEARCH: Final = "feed-remote-search"
LOAD_MORE: Final = "feed-load-more"
LOAD_FILTERS: Final = "feed-filters"
COUNT: Final = "feed-count"
#: The exact count starts this long after the view changed: after the new rows are painted
#: (a worker thread counting takes a core from the GUI thread on a small machine), and
#: once for keystrokes that come together.
COUNT_DELAY_MS: Final = 100
NUMBER_FORMATS: Final = "feed-number-formats"
#: The number formats are readied this long after the start: after the first paint, and
#: beside the first sync rather than in the way of the first page.
NUMBER_FORMATS_DELAY_S: Final = 2.0


def count_text(shown: int | None, total: int | None) -> str:
    """The footer's count, e.g. "200 of 6,740 calls" (`total` None: the server is unheard;
    `shown` None: the cache's matches are being counted)."""
    if shown is None:
        return "Counting calls…"
    noun = "call" if shown == 1 else "calls"
    if total is None:
        return f"{shown:,} {noun} in the cache"
    if total <= shown:
        return f"{shown:,} {noun}"
    return f"{shown:,} of {total:,} calls"


class FeedPresenter(Presenter):
    """The log feed's presenter: the FeedPanel forwards input here; the view and the
    server side are `FeedQuery`'s; this runs its coroutines, fills the model and emits
    what changed (counts, notice, "load more", the selected call, exports)."""

    countTextChanged = Signal(str)
    noticeChanged = Signal(str)
    #: Whether "load more" can do anything, and its label.
    loadMoreChanged = Signal(bool, str)
    filtersLoaded = Signal(object)
    #: The selected call (CallLog) or None.
    callSelected = Signal(object)
    #: Export done: success and a sentence for the status bar.
    exportFinished = Signal(bool, str)
    #: An export was written to this file.
    exportSaved = Signal(str)
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
        self._query = FeedQuery(store, engine, api, clock=clock, on_notice=self.noticeChanged.emit)
        self._counter = MatchCounter(store.sibling(read_only=True))
        self.on_close(self._counter.close)
        self._counting: CallQuery | None = None

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
        self._count_timer = QTimer(self)
        self._count_timer.setObjectName("feedCountDelay")
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(COUNT_DELAY_MS)
        self._count_timer.timeout.connect(self._count)
        model.countsChanged.connect(self._update_counts)

    # -------------------------------------------------------------- reading

    @property
    def model(self) -> FeedModel:
        return self._model

    @property
    def query(self) -> FeedQuery:
        """The feed's view and server side (Qt-free)."""
        return self._query

    @property
    def groups(self) -> tuple[FilterGroup, ...]:
        return self._query.groups

    @property
    def filter_expression(self) -> str | None:
        """The API expression of the selected chips (None when none are selected)."""
        return self._query.filter_expression

    @property
    def api_total(self) -> int | None:
        return self._query.api_total

    @property
    def remote_pending(self) -> bool:
        """The server is still to be asked, or being asked, for the current view."""
        return self._remote_timer.isActive() or self._busy(REMOTE_SEARCH)

    @property
    def loading_more(self) -> bool:
        return self._busy(LOAD_MORE)

    @property
    def notice(self) -> str:
        return self._query.notice

    # --------------------------------------------------------------- inputs

    @Slot(str)
    def set_search_text(self, text: str) -> None:
        """Typing: the cache answers on the next turn of the event loop, so keystrokes that
        arrive together (a paste, fast typing) make one query, and a lone keystroke shows
        its matches within a frame or two; the server is asked only after a longer pause."""
        self._query.set_text(text)
        if not text.strip():
            self.apply_now()  # clearing is instant
        else:
            self._debounce.start()

    def set_date_selection(
        self, key: str, custom_from: date | None = None, custom_to: date | None = None
    ) -> None:
        self._query.set_dates(key, custom_from, custom_to)
        self.apply_now()

    def set_filter_ids(self, ids: Sequence[int]) -> None:
        self._query.set_filter_ids(ids)
        self.apply_now()

    @Slot()
    def apply_now(self) -> None:
        """Show the view for the current inputs: the cache at once, the server if needed."""
        self._debounce.stop()
        if self.closed:
            return
        change = self._query.apply()
        if change is None:
            return
        self._cancel_remote()
        self._model.set_query(change.query, local=change.view.local)
        if change.ask_server:
            self._remote_timer.start()
        self._update_counts()
        self._update_load_more()

    @Slot(str)
    def select_call(self, call_id: str) -> None:
        self.callSelected.emit(self._query.call(call_id))

    @Slot(object)
    def on_new_calls(self, calls: Sequence[CallLog]) -> None:
        """Merge what a sync (or a search) stored; the view keeps the reading row in place."""
        if not calls:
            return
        starts = [c.start_time for c in calls]
        self._model.refresh(since=min(starts), until=max(starts))
        self._query.count_arrivals(calls)
        self._update_counts()

    @Slot(int)
    def on_calls_pruned(self, start_time: int) -> None:
        """The cache let go of calls older than `start_time`: so does the view."""
        if self._model.drop_older_than(start_time):
            self._update_counts()

    @Slot(object)
    def on_sync_status(self, status: SyncStatus) -> None:
        """The first successful sync is the moment to fetch filters that failed before."""
        if status.state == "idle" and not self._query.groups:
            self.load_filters()
        if status.state == "idle":
            self._update_load_more()

    def prepare_number_formats(self) -> None:
        """Ready the formats of the cache's countries on a worker thread, shortly after
        the start: a country's first number otherwise costs a paint 4-19 ms."""
        self._spawn(self._prepare_number_formats(), NUMBER_FORMATS)

    def load_filters(self) -> None:
        if self.closed or self.tasks.running(LOAD_FILTERS):
            return
        self._spawn(self._load_filters(), LOAD_FILTERS)

    @Slot()
    def load_more(self) -> None:
        """Older calls: the server's next page of this view, or an older week of the log."""
        if self.closed or self.tasks.running(LOAD_MORE):
            return
        self._spawn(self._load_more(), LOAD_MORE)
        self._update_load_more()

    def export_csv(self, path: str | Path) -> None:
        """Write the current view to `path` (off the UI thread); emits `exportFinished`."""
        if self.closed:
            return
        rows = self._model.rows_for_export()
        # Named by file: a second export elsewhere does not cancel the first.
        self._spawn(self._export(Path(path), rows), f"feed-export:{path}")

    # --------------------------------------------------------------- tasks

    async def _prepare_number_formats(self) -> None:
        await asyncio.sleep(NUMBER_FORMATS_DELAY_S)
        await asyncio.to_thread(prepare_cached_number_formats, self._store)

    async def _load_filters(self) -> None:
        loaded = await self._query.load_filters()
        if loaded is None:
            return
        self.filtersLoaded.emit(loaded.groups)
        if loaded.reapply:
            self.apply_now()

    @Slot()
    def _start_remote(self) -> None:
        view = self._query.view
        if view is None or self.closed:
            return
        self._spawn(self._remote(view), REMOTE_SEARCH)  # replaces an older search
        self._update_counts()

    async def _remote(self, view: FeedView) -> None:
        try:
            calls = await self._query.search_server(view)
            if calls is not None:
                self._merge_server_calls(calls)
        finally:
            if self._query.is_current(view):
                self._update_counts()
                self._update_load_more()
                self.remoteFinished.emit()

    async def _load_more(self) -> None:
        try:
            more = await self._query.load_more()
            if more.calls:
                self._merge_server_calls(more.calls)
            if more.refresh:
                self._model.refresh()
        finally:
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
        self.exportSaved.emit(str(path))

    # -------------------------------------------------------------- private

    def _busy(self, name: str) -> bool:
        """A task of `name` runs and it is not the caller: a task finishing its own work
        updates the controls as if it were done."""
        return self.tasks.running(name) and not self.tasks.is_current(name)

    def _merge_server_calls(self, calls: Sequence[CallLog]) -> None:
        if self._model.local:
            # A cache view re-reads what the search stored; the server's matches the cache
            # query cannot produce (the API's search also looks at fields the cache lacks)
            # are shown beside it.
            self._model.refresh()
        self._model.merge_extra(row_from_log(c) for c in calls)

    def _cancel_remote(self) -> None:
        self._remote_timer.stop()
        self.tasks.cancel(REMOTE_SEARCH)

    @Slot()
    def _count(self) -> None:
        """Count the cache's matches of the view off the GUI thread, once per query (a
        newer query's count replaces and interrupts an older one)."""
        query = self._model.query
        if self.closed or not self._model.needs_count:
            return
        if self._counting == query and self.tasks.running(COUNT):
            return
        self._counting = query
        self._spawn(self._counted(query), COUNT)

    async def _counted(self, query: CallQuery) -> None:
        as_of = self._model.changes
        total = await self._counter.count(query)
        # Stored meanwhile (a sync's next page): shown, and counted again after it.
        self._model.set_local_total(query, total, as_of=as_of)

    @Slot()
    def _update_counts(self) -> None:
        if self._model.needs_count and not self._count_timer.isActive():
            self._count_timer.start()
        shown = self._model.total_count
        text = count_text(shown, None if shown is None else self._query.total(shown))
        if self.remote_pending:
            text += " · asking MyOperator…"
        self.countTextChanged.emit(text)

    def _update_load_more(self) -> None:
        state = self._query.load_more_state(loading=self.loading_more)
        self.loadMoreChanged.emit(state.enabled, state.label)
