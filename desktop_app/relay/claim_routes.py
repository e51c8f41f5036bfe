"""The relay's claims on callbacks: an agent says "I'm on it" for a customer's number.

``POST /v1/claims`` (form or JSON ``number``) puts the calling agent on that number's
callback for `CLAIM_HOLD_MS` (claiming it again renews it); ``DELETE /v1/claims/<number>``
lets it go. Who holds a number is decided in Redis by one script
(`RelayEngine.claim_callback`), so two agents claiming at once on two replicas cannot
both win; the loser is answered 409 with a sentence naming the holder, which the desktop
shows as it is. Each claim or release is then an event of the team's stream
(``callback.claimed``, ``callback.released``), so every desktop shows the row as taken,
live and after resuming, with no state protocol of its own. A forgotten claim lapses by
itself: the key expires, and the event says until when (by the relay's clock).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from desktop_app.api.parsing import e164
from desktop_app.api.waits import format_wait
from desktop_app.relay.engine import REDIS_DOWN, CallbackHold, RelayEngine
from desktop_app.relay.events import CallbackClaim
from desktop_app.relay.proxy import STORE_DOWN, envelope

#: How long a claim lasts unless released: long enough to work one customer, short
#: enough that a claim forgotten over lunch frees itself.
CLAIM_HOLD_MS: Final = 30 * 60 * 1000

#: `RelayApp._agent`: the calling agent and their credential, or the refusal to answer.
Authenticate = Callable[[Request], Awaitable["tuple[str, str] | Response"]]


def held_sentence(holder: CallbackClaim, now_ms: int) -> str:
    """Why a claim was refused: who is on the callback, and since when."""
    ago = format_wait(max(0, now_ms - holder.at_ms) / 1000)
    return f"{holder.agent} is already on this callback (since {ago} ago)."


class ClaimRoutes:
    """The claim routes of one replica; see the module docstring."""

    def __init__(
        self, engine: RelayEngine, authenticate: Authenticate, *, hold_ms: int = CLAIM_HOLD_MS
    ) -> None:
        self._engine = engine
        self._authenticate = authenticate
        self._hold_ms = hold_ms

    def routes(self) -> list[Route]:
        return [
            Route("/v1/claims", self._claim, methods=["POST"]),
            Route("/v1/claims/{number}", self._release, methods=["DELETE"]),
        ]

    async def _claim(self, request: Request) -> Response:
        signed_in = await self._authenticate(request)
        if isinstance(signed_in, Response):
            return signed_in
        agent = signed_in[0]
        number = e164(str((await _fields(request)).get("number", "")))
        if number is None:
            return envelope(400, "Give the customer's phone number to claim their callback.")
        try:
            hold = await self._engine.claim_callback(number, agent, self._hold_ms)
        except REDIS_DOWN:
            return envelope(503, STORE_DOWN)
        if not hold.done and hold.holder is not None:
            return envelope(409, held_sentence(hold.holder, hold.now_ms))
        return _answer(hold)

    async def _release(self, request: Request) -> Response:
        signed_in = await self._authenticate(request)
        if isinstance(signed_in, Response):
            return signed_in
        agent = signed_in[0]
        number = e164(request.path_params["number"])
        if number is None:
            return envelope(400, "Give the customer's phone number to release their callback.")
        try:
            hold = await self._engine.release_callback(number, agent)
        except REDIS_DOWN:
            return envelope(503, STORE_DOWN)
        if not hold.done and hold.holder is not None:
            return envelope(
                409, f"{hold.holder.agent} is on this callback: only they can release it."
            )
        return _answer(hold, released=hold.done)


def _answer(hold: CallbackHold, **extra: bool) -> Response:
    """The claim as it now stands (`agent`, `at_ms`, `until_ms`), with the relay's clock."""
    body: dict[str, Any] = {"status": "success", "code": 200, "number": hold.number}
    if hold.holder is not None:
        body.update(
            agent=hold.holder.agent, at_ms=hold.holder.at_ms, until_ms=hold.holder.until_ms
        )
    body.update(now_ms=hold.now_ms, **extra)
    return JSONResponse(body)


async def _fields(request: Request) -> dict[str, Any]:
    """The request's form or JSON object (a number may come either way)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    try:
        decoded = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}
