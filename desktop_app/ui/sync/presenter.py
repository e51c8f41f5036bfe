"""The sync loop's presenter: runs the background sync and turns its state into the status
bar's sentences (connection, last sync, requests left).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from typing import Final

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop_app.api.budget import RequestBudget
from desktop_app.api.models import CallLog
from desktop_app.api.waits import format_wait
from desktop_app.services.sync import DAY_S, SyncEngine, SyncStatus
from desktop_app.services.tasks import TaskFailure
from desktop_app.ui.common.presenter import Presenter

log = logging.getLogger(__name__)

#: Seconds between background syncs of a real account: 480 requests a day at most, under
#: the account's 500 (shared with searches and recordings, which the budget also paces).
LIVE_SYNC_INTERVAL_S = 180.0
#: The sync loop's task name.
SYNC_LOOP = "sync-loop"
#: Removing calls older than the setting keeps, after it was lowered.
PRUNE_TASK = "sync-prune"


# ---------------------------------------------------------------------------- status


def connection_text(status: SyncStatus, now: float, *, relay: bool = False) -> str:
    """The status bar's sentence for the connection, e.g. "Offline since 14:02"; `relay`
    when the desktop connects through the team relay."""
    if status.state == "syncing":
        return "Syncing…"
    if status.state == "auth_failed":
        if relay:
            return "Relay credential refused: ask your admin for a new one"
        return "Token rejected: set a valid API token"
    retry = ""
    if status.retry_at is not None:
        retry = f"retrying in {format_wait(status.retry_at - now)}"
    if status.state == "failed":
        # The sentence says what failed ("The call cache could not be saved: the disk is
        # full."); the countdown says the sync has not given up.
        text = status.message or "Syncing failed."
        return f"{text} {retry[0].upper()}{retry[1:]}." if retry else text
    if status.state == "backing_off":
        return f"Rate-limited: {retry}" if retry else "Rate-limited"
    if status.state == "offline":
        since = status.offline_since if status.offline_since is not None else now
        text = f"Offline since {datetime.fromtimestamp(since).strftime('%H:%M')}"
        return f"{text} ({retry})" if retry else text
    return "Online" if status.last_success is not None else "Connecting…"


def last_sync_text(status: SyncStatus) -> str:
    if status.last_success is None:
        return "Not synced yet"
    moment = datetime.fromtimestamp(status.last_success)
    fmt = "%H:%M:%S" if moment.date() == date.today() else "%d %b %H:%M"
    return f"Last sync {moment.strftime(fmt)}"


_PERIODS = {"minute": "this minute", "hour": "this hour", "day": "today"}


#: Through the team relay the account's allowance is the relay's to keep, for everyone.
RELAY_BUDGET_TEXT: Final = "Requests go through the team relay"


def budget_text(budget: RequestBudget, interval_s: float) -> str:
    """The account's allowance in words, from its tightest long window, and what that does
    to syncing: "96 requests left this hour; syncing every 6 min"."""
    status = budget.status(interval_s)
    states = [s for s in status.windows if s.name != "minute"] or list(status.windows)
    if not states:
        return "Requests: unlimited"
    tightest = min(states, key=lambda s: s.background_left / max(1, s.limit))
    period = _PERIODS.get(tightest.name, f"this {tightest.name}")
    every = status.background_interval
    if tightest.background_left == 0:
        return (
            f"{tightest.left} requests left {period}, kept for calls: next sync in "
            f"{format_wait(every)}"
        )
    return f"{tightest.left} requests left {period}; syncing every {format_wait(every)}"


class SyncPresenter(Presenter):
    """Runs the sync loop and reports its state as Qt signals for the status bar."""

    #: A new `SyncStatus` snapshot.
    statusChanged = Signal(object)
    #: Calls a sync, a search or "load more" stored for the first time (tuple[CallLog]).
    newCalls = Signal(object)
    #: Calls that started before this time were removed from the cache (kept long enough).
    callsPruned = Signal(int)
    connectionTextChanged = Signal(str)
    lastSyncTextChanged = Signal(str)
    budgetTextChanged = Signal(str)

    def __init__(
        self,
        engine: SyncEngine,
        budget: RequestBudget,
        *,
        interval_s: float = LIVE_SYNC_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        loop: Callable[[], Awaitable[None]] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("syncPresenter")
        self._engine = engine
        #: What keeps the cache in step instead of polling (the team relay's stream).
        self._loop = loop
        self._budget = budget
        self._interval_s = interval_s
        self._clock = clock
        self._texts = ("", "", "")
        self.on_close(engine.add_listener(self._on_status))
        self.on_close(engine.add_new_calls_listener(self._on_new_calls))
        self.on_close(engine.add_pruned_listener(self.callsPruned.emit))
        self._ticker = QTimer(self)
        self._ticker.setObjectName("syncStatusTicker")
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._update_texts)

    @property
    def status(self) -> SyncStatus:
        return self._engine.status

    @property
    def running(self) -> bool:
        """Whether the sync loop is alive (syncing, waiting, or waiting to restart)."""
        return self.tasks.running(SYNC_LOOP)

    @property
    def connection_text(self) -> str:
        return self._texts[0]

    @property
    def last_sync_text(self) -> str:
        return self._texts[1]

    @property
    def budget_text(self) -> str:
        return self._texts[2]

    def start(self) -> None:
        """Start the background sync loop (a first sync at once, then every interval)."""
        if self.running or self.closed:
            return
        loop = self._loop or (
            lambda: self._engine.run(self._interval_s, pace=self._budget.background_interval)
        )
        self.tasks.keep_running(SYNC_LOOP, loop, on_failure=self._loop_failed)
        self._ticker.start()
        self._update_texts()

    @Slot()
    def refresh_now(self) -> None:
        """F5: sync now (restarting the loop if it had stopped, e.g. after a bad token)."""
        if self.running:
            self._engine.request_refresh()
            self.tasks.retry_now(SYNC_LOOP)  # F5 also cuts a restart's backoff short
        elif not self.closed:
            self.start()

    def set_keep_days(self, days: int) -> None:
        """Keep calls for `days` (the setting): fewer than before removes the older ones
        now, in a worker thread; every sync removes what has grown too old since."""
        before = self._engine.keep_s
        self._engine.keep_s = days * DAY_S
        if before is not None and days * DAY_S < before and not self.closed:
            self._spawn(self._engine.prune(), PRUNE_TASK)

    def set_desktops_sharing(self, desktops: int) -> None:
        """How many desktops share the account (the setting): the background pace makes
        room for that many, from the wait in progress on."""
        if self._budget.room == desktops:
            return
        self._budget.room = desktops
        self._engine.repace()
        self._update_texts()

    def stop(self) -> None:
        self._ticker.stop()
        self.cancel_tasks()

    def _loop_failed(self, failure: TaskFailure) -> None:
        """The loop died of something the engine does not handle (a full disk, a bug):
        the status bar says what, and when the supervisor starts it again."""
        self._engine.report_failure(failure.sentence, retry_in=failure.retry_in)

    def _on_status(self, status: SyncStatus) -> None:
        if status.state == "idle":
            self.tasks.report_recovered(SYNC_LOOP)
        self.statusChanged.emit(status)
        self._update_texts()

    def _on_new_calls(self, calls: Sequence[CallLog]) -> None:
        self.newCalls.emit(tuple(calls))
        self._update_texts()

    @Slot()
    def _update_texts(self) -> None:
        status = self._engine.status
        texts = (
            connection_text(status, self._clock(), relay=self._loop is not None),
            last_sync_text(status),
            RELAY_BUDGET_TEXT if self._loop is not None
            else budget_text(self._budget, self._interval_s),
        )
        old, self._texts = self._texts, texts
        for signal, before, after in zip(
            (self.connectionTextChanged, self.lastSyncTextChanged, self.budgetTextChanged),
            old,
            texts,
            strict=True,
        ):
            if before != after:
                signal.emit(after)
