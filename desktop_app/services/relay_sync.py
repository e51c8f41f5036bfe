"""Keeping the cache in step through the team relay: its stream instead of polling.

A desktop connected through the relay never asks MyOperator for its call log: it follows
the relay's event stream from the last event it stored (`SyncEngine.relay_position`), so
a restart, a sleep or a lost network misses nothing and repeats nothing. What the stream
delivers goes through `SyncEngine.ingest`, the same store, listeners and status as a
poll: the feed, the callback list and the missed-call notifications update within a
second of the webhook, with no code of their own for the relay.

- Catching up (after a restart or an outage), events are stored in batches; live, each
  at once.
- A first connection starts `backfill_s` back by the relay's clock (the history the cache
  keeps), not at the stream's beginning: the relay keeps weeks of the team's calls.
- In-Call events (ringing, answered) are not stored: listeners hear of the live ones (a
  screen-pop), never of those replayed from before the stream caught up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final, Protocol

from desktop_app.api.errors import MalformedResponse
from desktop_app.api.models import CallLog
from desktop_app.relay.client import RelayAuthError, StreamMark
from desktop_app.relay.events import EventKind, LiveCall, RelayEvent, event_id_key
from desktop_app.services.listeners import Listeners
from desktop_app.services.sync import SyncEngine

log = logging.getLogger(__name__)

#: How many ended calls a catch-up stores per transaction.
BATCH: Final = 200
#: How far back a first connection reads when the cache keeps everything.
DEFAULT_BACKFILL_S: Final = 7 * 86400


class Stream(Protocol):
    """The part of `relay.client.EventStream` this uses."""

    last_event_id: str | None
    read_from: str | None

    def updates(self) -> AsyncIterator[RelayEvent | StreamMark]: ...

    async def aclose(self) -> None: ...


#: Opens the stream from a position (None: the first time, `backfill_s` back).
RelayConnect = Callable[[str | None, int], Stream]


class RelaySync:
    """Runs as the workspace's sync loop in relay mode (`run`); see the module docstring."""

    def __init__(
        self,
        engine: SyncEngine,
        connect: RelayConnect,
        *,
        batch: int = BATCH,
    ) -> None:
        self._engine = engine
        self._connect = connect
        self._batch = batch
        self._live_calls: Listeners[[LiveCall]] = Listeners()

    def add_live_call_listener(self, listener: Callable[[LiveCall], None]) -> Callable[[], None]:
        """Hear of each call ringing or answered now (not of those replayed on catching up);
        returns the unsubscribe."""
        return self._live_calls.add(listener)

    def backfill_s(self) -> int:
        """How far back a first connection reads: the history the cache keeps."""
        return self._engine.keep_s or DEFAULT_BACKFILL_S

    async def run(self) -> None:
        """Follow the stream until cancelled; returns only when the relay refuses the
        credential (the status says so: retrying would never succeed)."""
        position = self._engine.relay_position()
        backfill = self.backfill_s()
        stream = self._connect(position, backfill)
        self._engine.report_link("syncing", "Catching up with the team relay…")
        # What the cache will hold everything since: from the stored position, or (the
        # first time) from where the relay began the stream, by its clock, not this one's.
        covered_since = None if position is None else event_id_key(position)[0] // 1000
        pending: list[RelayEvent] = []
        live = False
        try:
            async for item in stream.updates():
                if item is StreamMark.READY:
                    live = True
                    if covered_since is None and stream.read_from is not None:
                        covered_since = event_id_key(stream.read_from)[0] // 1000
                    await self._store(pending, stream, caught_up=True, since=covered_since)
                elif item is StreamMark.DROPPED:
                    live = False
                    await self._store(pending, stream, caught_up=False)
                    self._engine.report_link(
                        "offline", "The team relay cannot be reached: reconnecting"
                    )
                elif isinstance(item, RelayEvent):
                    if item.kind is not EventKind.CALL_ENDED:
                        # Nothing to store: its position is kept with the next call's.
                        if live:
                            self._live_calls.emit(item.live_call())
                        continue
                    pending.append(item)
                    if live:  # and the cache holds everything up to now
                        await self._store(pending, stream, caught_up=True, since=covered_since)
                    elif len(pending) >= self._batch:
                        await self._store(pending, stream, caught_up=False)
        except RelayAuthError as exc:
            await self._store(pending, stream, caught_up=False)
            self._engine.report_link(
                "auth_failed", f"The team relay refused this agent credential: {exc}"
            )
        finally:
            await stream.aclose()

    async def _store(
        self,
        pending: list[RelayEvent],
        stream: Stream,
        *,
        caught_up: bool,
        since: int | None = None,
    ) -> None:
        """Store the pending calls with the position they were read up to; empties
        `pending`. Caught up with nothing pending, it only says so."""
        events = list(pending)
        pending.clear()
        if not events and not caught_up:
            return
        position = stream.last_event_id
        if position is None:  # nothing read yet, not even the relay's position
            return
        calls = await asyncio.to_thread(_parsed, events) if events else []
        await self._engine.ingest(
            calls, position=position, caught_up=caught_up, covered_since=since
        )


def _parsed(events: Sequence[RelayEvent]) -> list[CallLog]:
    """The calls of After Call events (parsing numbers is work for a worker thread); one the
    desktop cannot read is logged and passed over, not allowed to stop the stream."""
    calls = []
    for event in events:
        try:
            calls.append(event.call_log())
        except MalformedResponse as exc:
            log.warning("A call from the team relay could not be read: %s", exc)
    return calls
