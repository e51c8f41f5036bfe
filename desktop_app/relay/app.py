"""The relay's HTTP face: MyOperator's webhooks in, the team's events out.

- ``/hooks/<secret>/after-call`` and ``/hooks/<secret>/in-call`` (GET or POST) take
  MyOperator's webhooks. A wrong secret is a 404, as if nothing were there; a missing or
  wrong auth header (when one is configured) a 401. A webhook is acknowledged only once it
  is stored: with Redis unreachable the answer is a 503 and MyOperator retries it.
- ``/v1/events`` streams the team's events to a desktop as server-sent events, after the
  ``Last-Event-ID`` it sends (the header every SSE client resends on reconnecting), so a
  desktop that slept or lost its network misses nothing. SSE rather than WebSocket: one
  direction is all a feed needs, it passes every HTTP proxy, and resuming is in the
  protocol. The agent's relay credential is checked on connecting and again every
  heartbeat: a revoked one is cut off within one heartbeat.
- ``/v1/myoperator/…`` is MyOperator's API for the agents' desktops, through the team's
  one request budget and dial guard (`relay.proxy`).
- ``/v1/agent`` says whose credential was sent (name, admin): a desktop's sign-in test.
- ``/v1/claims`` (POST a number; DELETE ``/v1/claims/<number>``) puts the agent on a
  customer's callback, or lets it go: one holder at a time across replicas, the others
  answered 409 naming them, and each change an event of the stream (`relay.claim_routes`).
- ``/v1/health`` answers whether this replica reaches Redis, for a load balancer, and
  whether it is the one that polls MyOperator (`reconcile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from desktop_app.api.budget import RequestBudget
from desktop_app.api.client import LIVE_BASE_URL, MyOperatorClient
from desktop_app.relay.budget import RedisLedger
from desktop_app.relay.claim_routes import ClaimRoutes
from desktop_app.relay.config import RelayConfig
from desktop_app.relay.engine import REDIS_DOWN, AgentRecord, RelayEngine
from desktop_app.relay.events import (
    RelayEvent,
    WebhookRejected,
    after_call_event,
    event_id_key,
    in_call_event,
    valid_event_id,
)
from desktop_app.relay.fanout import EventFanout, Subscription
from desktop_app.relay.proxy import STORE_DOWN, MyOperatorProxy, envelope
from desktop_app.relay.reconcile import Reconciler

log = logging.getLogger(__name__)

_BACKFILL_BATCH = 500
#: Milliseconds a desktop's SSE client waits before reconnecting.
_RETRY_MS = 1000


_CREDENTIAL_INVALID: Final = "This agent credential is not valid (unknown or revoked)."


def sse_message(event: RelayEvent) -> bytes:
    return f"id: {event.id}\nevent: {event.kind.value}\ndata: {event.to_json()}\n\n".encode()


class RelayApp:
    """The ASGI app and what it holds: the engine (Redis) and this process's fan-out."""

    def __init__(
        self,
        config: RelayConfig,
        engine: RelayEngine | None = None,
        *,
        token: str | None = None,
    ) -> None:
        self.config = config
        self.engine = engine or RelayEngine.from_url(config.redis_url, config.namespace)
        self.fanout = EventFanout(self.engine, block_ms=config.read_block_ms)
        self._token = token
        #: MyOperator for the agents' desktops (None without a token); it and the poll
        #: spend from one budget, kept in Redis.
        self.proxy: MyOperatorProxy | None = None
        self.reconciler: Reconciler | None = None
        hooks: list[str] = ["GET", "POST"]
        self.app = Starlette(
            routes=[
                Route("/hooks/{secret}/after-call", self._after_call, methods=hooks),
                Route("/hooks/{secret}/in-call", self._in_call, methods=hooks),
                Route("/v1/events", self._events, methods=["GET"]),
                Route("/v1/agent", self._whoami, methods=["GET"]),
                Route(
                    "/v1/myoperator/{path:path}", self._proxied, methods=["GET", "POST", "PUT"]
                ),
                Route("/v1/health", self._health, methods=["GET"]),
                *ClaimRoutes(self.engine, self._agent).routes(),
            ],
            lifespan=self._lifespan,
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.fanout.start()
        polling: asyncio.Task[None] | None = None
        client: MyOperatorClient | None = None
        budget: RequestBudget | None = None
        if self._token:
            base_url = self.config.api_base_url or LIVE_BASE_URL
            budget = RequestBudget(
                ledger=RedisLedger.from_url(self.config.redis_url, self.config.namespace)
            )
            client = MyOperatorClient(self._token, base_url=base_url, budget=budget)
            self.proxy = MyOperatorProxy(
                self.engine, self._token, base_url, budget, namespace=self.config.namespace
            )
            self.reconciler = Reconciler(
                self.engine, client, interval_s=self.config.poll_interval_s
            )
            polling = asyncio.get_running_loop().create_task(
                self.reconciler.run(), name="relay-reconciler"
            )
        else:
            log.warning("No API token: the relay relays webhooks but cannot fill their gaps")
        try:
            yield
        finally:
            if polling is not None:
                polling.cancel()
                await asyncio.gather(polling, return_exceptions=True)
            if client is not None:
                await client.aclose()
            if self.proxy is not None:
                await self.proxy.aclose()
            if budget is not None:
                budget.close()
            await self.fanout.aclose()
            await self.engine.aclose()

    # -- webhooks --------------------------------------------------------------------------

    async def _after_call(self, request: Request) -> Response:
        return await self._webhook(request, after_call_event)

    async def _in_call(self, request: Request) -> Response:
        return await self._webhook(request, in_call_event)

    async def _webhook(
        self, request: Request, to_event: Callable[[Mapping[str, Any]], RelayEvent]
    ) -> Response:
        if not hmac.compare_digest(
            request.path_params["secret"].encode(), self.config.hook_secret.encode()
        ):
            return envelope(404, "Not found.")
        if self.config.hook_auth is not None:
            name, expected = self.config.hook_auth
            given = request.headers.get(name, "")
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return envelope(401, f"The webhook's {name} header is missing or wrong.")
        try:
            event = to_event(await _payload(request))
        except WebhookRejected as exc:
            log.warning("A webhook was refused: %s", exc)
            return envelope(400, f"The webhook was refused: {exc}.")
        try:
            stored = await self.engine.append(event)
        except REDIS_DOWN:
            log.warning("A webhook could not be stored: Redis is unreachable")
            return envelope(503, "The relay cannot store events right now; retry later.")
        return JSONResponse({"status": "success", "code": 200, "duplicate": stored is None})

    # -- desktops --------------------------------------------------------------------------

    async def _agent(self, request: Request) -> tuple[str, str] | Response:
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        credential = credential.strip()
        if scheme.lower() != "bearer" or not credential:
            return envelope(401, "Sign in to the relay with your agent credential.")
        try:
            agent = await self.engine.agent_for(credential)
        except REDIS_DOWN:
            return envelope(503, STORE_DOWN)
        if agent is None:
            return envelope(401, _CREDENTIAL_INVALID)
        return agent, credential

    async def _agent_record(self, request: Request) -> AgentRecord | Response:
        """The signed-in agent's record (what they may do), or the refusal to answer."""
        signed_in = await self._agent(request)
        if isinstance(signed_in, Response):
            return signed_in
        try:
            record = await self.engine.agent_record(signed_in[0])
        except REDIS_DOWN:
            return envelope(503, STORE_DOWN)
        if record is None:  # revoked in between
            return envelope(401, _CREDENTIAL_INVALID)
        return record

    async def _whoami(self, request: Request) -> Response:
        """Whom the credential belongs to: the desktop tests a pasted credential with it."""
        record = await self._agent_record(request)
        if isinstance(record, Response):
            return record
        return JSONResponse(
            {"status": "success", "code": 200, "agent": record.name, "admin": record.admin,
             "user": record.user, "proxy": self.proxy is not None}
        )

    async def _events(self, request: Request) -> Response:
        signed_in = await self._agent(request)
        if isinstance(signed_in, Response):
            return signed_in
        agent, credential = signed_in
        after = (
            request.headers.get("last-event-id") or request.query_params.get("after") or ""
        ).strip()
        backfill = request.query_params.get("backfill", "").strip()
        if not after and backfill:
            # A first connection: from this long ago by the relay's clock (the desktop's
            # may be wrong by days).
            if not (backfill.isascii() and backfill.isdigit()) or len(backfill) > 10:
                return envelope(400, "backfill must be a whole number of seconds.")
            try:
                after = await self.engine.id_before(int(backfill))
            except REDIS_DOWN:
                return envelope(503, STORE_DOWN)
        after = after or "0-0"
        if not valid_event_id(after):
            return envelope(400, "Last-Event-ID is not an event id of this relay.")
        return StreamingResponse(
            self._stream(agent, credential, after),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _proxied(self, request: Request) -> Response:
        """MyOperator's API for an agent's desktop (`relay.proxy`), its credential sent as
        a bearer token (never in the URL, which proxies log)."""
        record = await self._agent_record(request)
        if isinstance(record, Response):
            return record
        if self.proxy is None:
            return envelope(
                409, "The relay has no MyOperator API token, so it cannot pass this on."
            )
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        form: list[tuple[str, str]] = []
        if request.method != "GET":
            form = [
                (k, v) for k, v in (await request.form()).multi_items()
                if isinstance(v, str) and k != "token"
            ]
        path = "/" + request.path_params["path"]
        return await self.proxy.forward(record, request.method, path, query, form)

    async def _stream(self, agent: str, credential: str, after: str) -> AsyncIterator[bytes]:
        """The desktop's events: first what it missed, from the stream, then live ones from
        this process's fan-out; ids at or before the last one sent are skipped, so joining
        the two never repeats an event."""
        heartbeat = self.config.heartbeat_s
        last = after
        checked_at = time.monotonic()
        subscription: Subscription | None = None
        yield f"retry: {_RETRY_MS}\n\n".encode()
        try:
            ready_sent = False
            while True:
                if (
                    subscription is not None
                    and subscription.overflowed
                    and subscription.queue.empty()
                ):
                    # Dropped by the fan-out for falling behind, and what it was handed is
                    # sent: read on from the stream.
                    subscription = None
                if subscription is None:
                    subscription = self.fanout.subscribe()
                    async for event in self._stored_after(last):
                        yield sse_message(event)
                        last = event.id
                        # A catch-up writes thousands of events without waiting on
                        # anything: one turn of the loop each lets a desktop that left
                        # be noticed before the next write, not a batch later.
                        await asyncio.sleep(0)
                    if not ready_sent:
                        ready = json.dumps(
                            {"agent": agent, "last_event_id": last, "from": after}
                        )
                        yield f"event: ready\ndata: {ready}\n\n".encode()
                        ready_sent = True
                if time.monotonic() - checked_at >= heartbeat:
                    if await self.engine.agent_for(credential) != agent:
                        yield b"event: revoked\ndata: {}\n\n"
                        return
                    checked_at = time.monotonic()
                try:
                    event = await asyncio.wait_for(subscription.queue.get(), heartbeat)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if event_id_key(event.id) > event_id_key(last):
                    yield sse_message(event)
                    last = event.id
        except REDIS_DOWN:
            # The desktop reconnects after `retry` and resumes from `last`.
            log.info("An event stream ended: Redis is unreachable")
        finally:
            if subscription is not None:
                self.fanout.unsubscribe(subscription)

    async def _stored_after(self, after: str) -> AsyncIterator[RelayEvent]:
        while True:
            batch = await self.engine.events_after(after, _BACKFILL_BATCH)
            for event in batch:
                yield event
                after = event.id
            if len(batch) < _BACKFILL_BATCH:
                return

    async def _health(self, _request: Request) -> Response:
        polling = False
        try:
            reachable = await self.engine.ping()
            if self.reconciler is not None:
                polling = await self.engine.leader() == self.reconciler.owner
        except REDIS_DOWN:
            reachable = False
        status = 200 if reachable else 503
        return JSONResponse(
            {
                "status": "success" if reachable else "error",
                "redis": reachable,
                "polling": polling,
                "polls": 0 if self.reconciler is None else self.reconciler.polls,
            },
            status,
        )


async def _payload(request: Request) -> dict[str, Any]:
    """What MyOperator sent: query parameters, overlaid by a JSON or form body."""
    payload: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return payload
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body.strip():
        return payload
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        payload.update({key: value for key, value in form.items() if isinstance(value, str)})
        return payload
    try:
        decoded = json.loads(body)
    except ValueError:
        raise WebhookRejected("the body is neither JSON nor a form") from None
    if not isinstance(decoded, dict):
        raise WebhookRejected("the body is not a JSON object")
    payload.update(decoded)
    return payload

