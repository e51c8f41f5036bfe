"""One reader of the event stream per relay process, handing each new event to every
desktop connected to that process.

Two hundred desktops cost Redis one blocking read, not two hundred. A desktop that cannot
keep up (its queue full) is dropped, not waited for: it reads what it missed from the
stream itself (`RelayApp._stream`), so a slow desktop never slows the others.
While Redis is unreachable the reader retries; it resumes from the last id it handed out,
so nothing stored meanwhile is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from desktop_app.relay.engine import REDIS_DOWN, RelayEngine
from desktop_app.relay.events import RelayEvent

log = logging.getLogger(__name__)

QUEUE_SIZE = 2000
_RETRY_FIRST_S = 0.2
_RETRY_MOST_S = 5.0


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[RelayEvent] = field(
        default_factory=lambda: asyncio.Queue(maxsize=QUEUE_SIZE)
    )
    #: Set when the queue filled: the fan-out hands this subscriber nothing more.
    overflowed: bool = False


class EventFanout:
    def __init__(self, engine: RelayEngine, *, block_ms: int = 5000) -> None:
        self._engine = engine
        self._block_ms = block_ms
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        #: Whether the last read reached Redis: an outage is logged once, not every retry.
        self._reachable = True

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="relay-fanout")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def subscribe(self) -> Subscription:
        subscription = Subscription()
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    async def _run(self) -> None:
        last: str | None = None
        delay = _RETRY_FIRST_S
        while True:
            try:
                if last is None:
                    last = await self._engine.last_event_id()
                events = await self._engine.wait_events(last, self._block_ms)
                self._reachable = True
                delay = _RETRY_FIRST_S
            except REDIS_DOWN as exc:
                if self._reachable:
                    log.warning("Redis is unreachable (%s); retrying", type(exc).__name__)
                self._reachable = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MOST_S)
                continue
            for event in events:
                self._hand_out(event)
                last = event.id

    def _hand_out(self, event: RelayEvent) -> None:
        for subscription in tuple(self._subscribers):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscription.overflowed = True
                self._subscribers.discard(subscription)
