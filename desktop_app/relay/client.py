"""A desktop's side of the relay's event stream (no Qt, no Redis).

`EventStream.events()` yields the team's events in order, each once, for as long as it is
iterated: when the connection drops (sleep, Wi-Fi, a relay replica restarting) it
reconnects, to the next relay address if it was given several, and resumes after the last
event it yielded. Only a refused credential ends it, with `RelayAuthError`: retrying that
would never succeed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence

import httpx

from desktop_app.relay.events import EventKind, RelayEvent, event_id_key

log = logging.getLogger(__name__)

_KINDS = {kind.value: kind for kind in EventKind}


class RelayAuthError(Exception):
    """The relay refused this agent's credential (unknown or revoked)."""


class EventStream:
    def __init__(
        self,
        base_urls: str | Sequence[str],
        credential: str,
        *,
        last_event_id: str = "0-0",
        client: httpx.AsyncClient | None = None,
        retry_first_s: float = 0.5,
        retry_most_s: float = 15.0,
        read_timeout_s: float = 60.0,
    ) -> None:
        self._urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not self._urls:
            raise ValueError("an event stream needs at least one relay address")
        self._credential = credential
        self.last_event_id = last_event_id
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
        delay = self._retry_first_s
        while True:
            base_url = self._urls[self._url_index % len(self._urls)]
            try:
                async for event in self._connect(base_url):
                    delay = self._retry_first_s
                    yield event
            except (httpx.TransportError, _RelayUnavailable) as exc:
                log.info("The relay's event stream dropped (%s); reconnecting", _why(exc))
            self.caught_up.clear()
            self.reconnects += 1
            self._url_index += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_most_s)

    async def _connect(self, base_url: str) -> AsyncIterator[RelayEvent]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        headers = {
            "Authorization": f"Bearer {self._credential}",
            "Accept": "text/event-stream",
            "Last-Event-ID": self.last_event_id,
        }
        url = base_url.rstrip("/") + "/v1/events"
        async with self._client.stream("GET", url, headers=headers) as response:
            if response.status_code in (401, 403):
                await response.aread()
                raise RelayAuthError(_message(response))
            if response.status_code != 200:
                await response.aread()
                raise _RelayUnavailable(f"HTTP {response.status_code}")
            kind = ""
            event_id = ""
            data: list[str] = []
            async for line in response.aiter_lines():
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
                event = self._dispatch(kind, event_id, "\n".join(data))
                kind, event_id, data = "", "", []
                if event is not None:
                    self.last_event_id = event.id
                    yield event
        raise _RelayUnavailable("the relay ended the stream")

    def _dispatch(self, kind: str, event_id: str, data: str) -> RelayEvent | None:
        if kind == "ready":
            self.caught_up.set()
        elif kind == "revoked":
            raise RelayAuthError("This agent credential was revoked.")
        elif (
            kind in _KINDS
            and event_id
            and event_id_key(event_id) > event_id_key(self.last_event_id)
        ):
            return RelayEvent.from_json(event_id, data)
        return None


class _RelayUnavailable(Exception):
    pass


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _message(response: httpx.Response) -> str:
    try:
        message = json.loads(response.content).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or "The relay refused this agent credential.")
