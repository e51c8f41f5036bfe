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
- Claims on callbacks (``callback.claimed`` / ``callback.released``) are not calls:
  claim listeners hear of each, replayed or live (`services.team_claims`). A restart
  resumes after the stored position, so claims made before it would not come again:
  with claim listeners, it first reads back the claims' lifetime (`CLAIM_LOOKBACK_S`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Final, Protocol, cast

from desktop_app.api.errors import MalformedResponse
from desktop_app.api.models import CallLog
from desktop_app.relay.client import RelayAuthError, StreamMark
from desktop_app.relay.events import CLAIM_KINDS, EventKind, LiveCall, RelayEvent, event_id_key
from desktop_app.services.listeners import Listeners
from desktop_app.services.sync import SyncEngine

log = logging.getLogger(__name__)

#: How many ended calls a catch-up stores per transaction.
BATCH: Final = 200
#: How far back a first connection reads when the cache keeps everything.
DEFAULT_BACKFILL_S: Final = 7 * 86400
#: How far back a restart looks for claims still held: a claim's lifetime (30 min).
CLAIM_LOOKBACK_S: Final = 30 * 60
#: How long that look back may take before the sync goes on without it.
CLAIM_LOOKBACK_TIMEOUT_S: Final = 10.0


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
        self._claims: Listeners[[RelayEvent, bool]] = Listeners()

    def add_live_call_listener(self, listener: Callable[[LiveCall], None]) -> Callable[[], None]:
        """Hear of each call ringing or answered now (not of those replayed on catching up);
        returns the unsubscribe."""
        return self._live_calls.add(listener)

    def add_claim_listener(
        self, listener: Callable[[RelayEvent, bool], None]
    ) -> Callable[[], None]:
        """Hear of each claim event, replayed or live (the flag: live), in stream order,
        a replay possibly repeating some (`TeamClaims.apply` skips those), and of every
        other live event too: its id tells the relay's clock, by which claims lapse;
        returns the unsubscribe."""
        return self._claims.add(listener)

    def backfill_s(self) -> int:
        """How far back a first connection reads: the history the cache keeps."""
        return self._engine.keep_s or DEFAULT_BACKFILL_S

    async def run(self) -> None:
        """Follow the stream until cancelled; returns only when the relay refuses the
        credential (the status says so: retrying would never succeed)."""
        position = self._engine.relay_position()
        backfill = self.backfill_s()
        self._engine.report_link("syncing", "Catching up with the team relay…")
        if position is not None and self._claims:
            await self._recall_claims()
        stream = self._connect(position, backfill)
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
                    if item.kind in CLAIM_KINDS or live:
                        self._claims.emit(item, live)
                    if item.kind in CLAIM_KINDS:
                        continue  # not a call; its position is kept with the next call's
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

    async def _recall_claims(self) -> None:
        """Claims still held from before the stored position (a restart resumes after
        it): read from `CLAIM_LOOKBACK_S` back, up to the relay's present, and no further.
        An unreachable relay is not waited for: the stream says what comes."""
        stream = self._connect(None, CLAIM_LOOKBACK_S)
        # Closed at once when left early (an HTTP stream left to the collector fails).
        updates = cast(AsyncGenerator[RelayEvent | StreamMark, None], stream.updates())
        try:
            async with asyncio.timeout(CLAIM_LOOKBACK_TIMEOUT_S), contextlib.aclosing(updates):
                async for item in updates:
                    if item is StreamMark.READY:
                        return
                    if isinstance(item, RelayEvent) and item.kind in CLAIM_KINDS:
                        self._claims.emit(item, False)
        except (TimeoutError, RelayAuthError) as exc:  # the stream itself will say
            log.info("Claims held before this start were not read: %s", type(exc).__name__)
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
