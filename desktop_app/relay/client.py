"""A desktop's side of the relay's event stream (no Qt, no Redis).

`EventStream.events()` yields the team's events in order, each once, for as long as it is
iterated: when the connection drops (sleep, Wi-Fi, a relay replica restarting) it
reconnects, to the next relay address if it was given several, and resumes after the last
event it yielded. Only a refused credential ends it, with `RelayAuthError`: retrying that
would never succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from enum import Enum
from typing import cast

import httpx

from desktop_app.relay.events import EventKind, RelayEvent, event_id_key, valid_event_id

log = logging.getLogger(__name__)

_KINDS = {kind.value: kind for kind in EventKind}


class RelayAuthError(Exception):
    """The relay refused this agent's credential (unknown or revoked)."""


class StreamMark(Enum):
    """What `EventStream.updates` says between events."""

    #: Connected and caught up with what was stored before: events are live from here.
    READY = "ready"
    #: The connection dropped; the stream is reconnecting and will resume where it was.
    DROPPED = "dropped"


class EventStream:
    def __init__(
        self,
        base_urls: str | Sequence[str],
        credential: str,
        *,
        last_event_id: str | None = "0-0",
        backfill_s: int = 0,
        client: httpx.AsyncClient | None = None,
        retry_first_s: float = 0.5,
        retry_most_s: float = 15.0,
        read_timeout_s: float = 60.0,
    ) -> None:
        self._urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not self._urls:
            raise ValueError("an event stream needs at least one relay address")
        self._credential = credential
        #: Where the stream resumes. None, the first time: from `backfill_s` ago by the
        #: relay's clock.
        self.last_event_id = last_event_id
        #: Where the first connection's stream began, by the relay's clock (its first
        #: ``ready`` says): what a first read can vouch for reaches back that far.
        self.read_from: str | None = None
        self._backfill_s = backfill_s
        self._client = client
        self._own_client = client is None
        self._retry_first_s = retry_first_s
        self._retry_most_s = retry_most_s
        self._timeout = httpx.Timeout(10.0, read=read_timeout_s)
        self._url_index = 0
        #: Set while connected and caught up with what was stored before connecting.
        self.caught_up = asyncio.Event()
        self.reconnects = 0

    async def aclose(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def events(self) -> AsyncIterator[RelayEvent]:
        """The events alone (see `updates`)."""
        async for item in self.updates():
            if isinstance(item, RelayEvent):
                yield item

    async def updates(self) -> AsyncIterator[RelayEvent | StreamMark]:
        """The events, with `StreamMark.READY` each time the stream has caught up and
        `StreamMark.DROPPED` each time the connection is lost (before reconnecting)."""
        delay = self._retry_first_s
        while True:
            base_url = self._urls[self._url_index % len(self._urls)]
            try:
                # Closed at once however the loop ends: an HTTP stream left to the garbage
                # collector is closed outside the event loop, and fails there.
                async with contextlib.aclosing(self._connect(base_url)) as connection:
                    async for item in connection:
                        delay = self._retry_first_s
                        yield item
            except (httpx.TransportError, _RelayUnavailable) as exc:
                log.info("The relay's event stream dropped (%s); reconnecting", _why(exc))
            self.caught_up.clear()
            yield StreamMark.DROPPED
            self.reconnects += 1
            self._url_index += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_most_s)

    async def _connect(self, base_url: str) -> AsyncGenerator[RelayEvent | StreamMark, None]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        headers = {"Authorization": f"Bearer {self._credential}", "Accept": "text/event-stream"}
        params: dict[str, str] = {}
        if self.last_event_id is None:
            params["backfill"] = str(self._backfill_s)
        else:
            headers["Last-Event-ID"] = self.last_event_id
        url = base_url.rstrip("/") + "/v1/events"
        async with self._client.stream("GET", url, headers=headers, params=params) as response:
            if response.status_code in (401, 403):
                await response.aread()
                raise RelayAuthError(_message(response))
            if response.status_code != 200:
                await response.aread()
                raise _RelayUnavailable(f"HTTP {response.status_code}")
            kind = ""
            event_id = ""
            data: list[str] = []
            revoked = False
            # An async generator under its iterator type: closed like one.
            lines = cast(AsyncGenerator[str, None], response.aiter_lines())
            async with contextlib.aclosing(lines):
                async for line in lines:
                    if line:
                        field, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if field == "event":
                            kind = value
                        elif field == "id":
                            event_id = value
                        elif field == "data":
                            data.append(value)
                        continue
                    if kind == "revoked":
                        # Said once the relay ends the stream (it does at once): raised
                        # here, it would leave httpx's inner readers to the collector.
                        revoked = True
                    item = self._dispatch(kind, event_id, "\n".join(data))
                    kind, event_id, data = "", "", []
                    if isinstance(item, RelayEvent):
                        self.last_event_id = item.id
                    if item is not None:
                        yield item
        if revoked:
            raise RelayAuthError("This agent credential was revoked.")
        raise _RelayUnavailable("the relay ended the stream")

    def _dispatch(self, kind: str, event_id: str, data: str) -> RelayEvent | StreamMark | None:
        if kind == "ready":
            # Caught up to the relay's position: a restart resumes there, whether or not
            # any event came since.
            ready_at = _ready_position(data, "last_event_id")
            if self.read_from is None:
                self.read_from = _ready_position(data, "from")
            if ready_at is not None and self._is_new(ready_at):
                self.last_event_id = ready_at
            self.caught_up.set()
            return StreamMark.READY
        if kind in _KINDS and valid_event_id(event_id) and self._is_new(event_id):
            return RelayEvent.from_json(event_id, data)
        return None

    def _is_new(self, event_id: str) -> bool:
        """Whether `event_id` comes after what this stream has already yielded."""
        return self.last_event_id is None or (
            event_id_key(event_id) > event_id_key(self.last_event_id)
        )


class _RelayUnavailable(Exception):
    pass


def _ready_position(data: str, key: str) -> str | None:
    try:
        position = json.loads(data).get(key)
    except (ValueError, AttributeError):
        return None
    return position if isinstance(position, str) and valid_event_id(position) else None


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _message(response: httpx.Response) -> str:
    try:
        message = json.loads(response.content).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or "The relay refused this agent credential.")
