"""The relay's end-to-end fixtures: a real Redis server (tests.helpers.redis_server) and
relay replicas as real processes (tests.helpers.relay), and headless desktops following
the stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from desktop_app.relay.client import EventStream, RelayAuthError
from desktop_app.relay.events import RelayEvent
from tests.helpers.redis_server import redis_server as redis_server
from tests.helpers.relay import HOOK_AUTH as HOOK_AUTH
from tests.helpers.relay import HOOK_SECRET as HOOK_SECRET
from tests.helpers.relay import Replica as Replica
from tests.helpers.relay import relay_engine as relay_engine
from tests.helpers.relay import relay_environ as relay_environ
from tests.helpers.relay import run_cli as run_cli
from tests.helpers.relay import start_relay as start_relay


class Desktop:
    """A headless desktop: follows the relay's stream on a task and keeps every event."""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.events: list[RelayEvent] = []
        self.error: RelayAuthError | None = None
        self._changed = asyncio.Event()
        self._task = asyncio.ensure_future(self._follow())

    async def _follow(self) -> None:
        try:
            async for event in self.stream.events():
                self.events.append(event)
                self._changed.set()
        except RelayAuthError as exc:
            self.error = exc
            self._changed.set()

    @property
    def call_ids(self) -> list[str]:
        return [event.call_id for event in self.events]

    async def wait_until(self, condition: Callable[[Desktop], bool]) -> None:
        """Wait (at most 20 s) until `condition` holds."""
        async with asyncio.timeout(20):
            while not condition(self):
                self._changed.clear()
                await self._changed.wait()

    async def aclose(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.stream.aclose()
