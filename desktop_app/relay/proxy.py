"""MyOperator's API, proxied for agents: the desktop's own client, pointed at the relay.

A desktop connected through the relay builds its usual `MyOperatorClient` on
``<relay>/v1/myoperator`` with its agent credential where the API token would go. The relay
checks the credential, puts the account's token in its place and forwards the request, so
the desktop's users, recordings, filters, searches and calls work as they do direct, and:

- every request spends the team's one budget (`relay.budget`): click-to-call and changes
  to users may take the reserve, everything else is background;
- click-to-call passes the team-wide dial guard (`RelayEngine.claim_dial`);
- the user list and the filters are answered from a short cache in Redis: thirty desktops
  starting at nine cost one request per replica, not thirty;
- adding or changing users is for agents issued with ``--admin``; an agent issued with
  ``--user`` may switch their own do-not-disturb (and only that).

What the relay itself refuses to send is answered 409 with the reason, which the desktop
reads as a clear refusal (nothing was done); a read the budget cannot afford yet gets a
429 with ``Retry-After``, as from MyOperator. Answers from MyOperator pass through as they
came, so the desktop's parser judges them exactly as it would direct.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import httpx
import redis.exceptions
from starlette.responses import JSONResponse, Response

from desktop_app.api import parsing, validation
from desktop_app.api.budget import Priority, RequestBudget
from desktop_app.api.client import CLEAR_REFUSALS, TLS
from desktop_app.api.errors import (
    BudgetUnavailable,
    MyOperatorError,
    RateLimited,
    ValidationError,
)
from desktop_app.api.waits import format_wait
from desktop_app.relay.engine import REDIS_DOWN, AgentRecord, DialClaim, RelayEngine

log = logging.getLogger(__name__)

#: What may be asked through the relay, and whose request it is.
ROUTES: Final[dict[tuple[str, str], Priority]] = {
    ("POST", "/search"): Priority.BACKGROUND,
    ("GET", "/filters"): Priority.BACKGROUND,
    ("GET", "/user"): Priority.BACKGROUND,
    ("GET", "/recordings/link"): Priority.BACKGROUND,
    ("POST", "/user"): Priority.RESERVED,
    ("PUT", "/user"): Priority.RESERVED,
    ("POST", "/clickOcall"): Priority.RESERVED,
}
#: Reads answered from Redis for this many seconds.
CACHED_S: Final[dict[tuple[str, str], int]] = {("GET", "/filters"): 3600, ("GET", "/user"): 60}
#: How long a number being called back is refused to everyone else.
DIAL_GUARD_MS: Final = 60_000
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: How long every replica pauses after a 429 that does not say (a minute's window).
_PAUSE_UNSAID_S: Final = 60.0

Params = Sequence[tuple[str, str]]


#: Redis unreachable, for a request that changes nothing (the relay's routes say it so).
STORE_DOWN: Final = "The relay cannot reach its store right now; retry later."


#: What an agent not issued ``--admin`` may change: their own do-not-disturb switch.
_OWN_SWITCH: Final = frozenset({"uuid", "receive_calls"})


def _not_theirs(agent: AgentRecord, method: str, query: Params, form: Params) -> str | None:
    """Why an agent who is not an admin may not make this user change (None: they may).
    Their own do-not-disturb is theirs to switch, when the relay knows which user they
    are (``agent add --user``); nothing else about users is. The query is forwarded too,
    so a field there (``?name=``) is as much a change as one in the form."""
    fields = dict(form)
    if method != "PUT" or query or set(fields) != _OWN_SWITCH:
        return f"{agent.name} is not allowed to add or change users through the relay."
    if not agent.user:
        return (
            f"{agent.name} may switch only their own do-not-disturb, and the relay does not "
            "know which user they are: ask your admin to issue the credential with --user."
        )
    if fields["uuid"] != agent.user:
        return f"{agent.name} may switch only their own do-not-disturb, not a colleague's."
    return None


def envelope(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error as MyOperator words one, so the desktop's parser reads it as it would."""
    return JSONResponse(
        {"status": "error", "code": status, "message": message}, status, headers=headers
    )


def guard_sentence(claim: DialClaim, agent: str, now_ms: int) -> str:
    """Why a call back was not placed: who is calling the number, and since when."""
    ago = format_wait(max(0, now_ms - claim.at_ms) / 1000)
    if claim.agent == agent:
        return f"You called this number back {ago} ago; it was not placed again."
    return f"{claim.agent} is calling this number back (since {ago} ago); your call was not placed."


class MyOperatorProxy:
    """Forwards an agent's request to MyOperator with the account's token; see the module
    docstring."""

    def __init__(
        self,
        engine: RelayEngine,
        token: str,
        base_url: str,
        budget: RequestBudget,
        *,
        namespace: str,
        timeout: float = 15.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._token = token
        self.budget = budget
        self._ns = namespace
        self._http = httpx.AsyncClient(
            base_url=base_url,
            verify=TLS.get(),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers={"User-Agent": "MyOperator-Relay/0.1", "Accept": "application/json"},
        )
        self._clock = clock
        #: Reads of the cache being filled now, by key: asked once per replica.
        self._asking: dict[str, asyncio.Future[Response]] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def forward(
        self, agent: AgentRecord, method: str, path: str, query: Params, form: Params
    ) -> Response:
        route = (method, path)
        priority = ROUTES.get(route)
        if priority is None:
            return envelope(404, f"The relay does not pass on {method} {path}.")
        if path == "/user" and method != "GET" and not agent.admin:
            refusal = _not_theirs(agent, method, query, form)
            if refusal is not None:
                return envelope(403, refusal)
        try:
            if route in CACHED_S:
                return await self._cached(route, query)
            if route == ("POST", "/clickOcall"):
                return await self._call_back(agent, form)
            answer = await self._send(priority, method, path, query, form)
            if method != "GET" and path == "/user" and answer.status_code == 200:
                # Done at MyOperator: the answer must say so even if the cache cannot be
                # told (its lists then live out their 60 s).
                with _best_effort("a user change could not refresh the cached lists"):
                    await self._engine.redis.incr(self._ns + "users-version")
            return answer
        except REDIS_DOWN:
            return envelope(409 if priority is Priority.RESERVED else 503, _STORE_DOWN)

    # -- sending ---------------------------------------------------------------------------

    async def _send(
        self, priority: Priority, method: str, path: str, query: Params, form: Params
    ) -> Response:
        mutation = priority is Priority.RESERVED
        try:
            await self.budget.acquire(priority, max_wait=0)
        except RateLimited as exc:
            wait = math.ceil(exc.retry_after or 1)
            if mutation:
                return envelope(
                    409,
                    "The team's MyOperator allowance is spent for now: nothing was sent; "
                    f"try again in {format_wait(wait)}.",
                )
            return envelope(429, exc.message, {"Retry-After": str(wait)})
        except BudgetUnavailable as exc:
            return envelope(409 if mutation else 503, exc.message)
        params = httpx.QueryParams([*query, ("token", self._token)])
        try:
            if method == "GET":
                response = await self._http.request(method, path, params=params)
            else:
                response = await self._http.request(method, path, params=params, data=dict(form))
        except _NOT_SENT:
            sentence = "MyOperator could not be reached"
            if mutation:
                return envelope(409, f"{sentence}: nothing was sent.")
            return envelope(502, f"{sentence}.")
        except httpx.HTTPError:
            # Sent, no complete answer: the desktop says "unknown" for a mutation.
            return envelope(502, "MyOperator's answer did not arrive complete.")
        if response.status_code == 429:
            # Every replica pauses; the ledger is Redis, so not on the event loop.
            said = parsing.parse_retry_after(response.headers.get("retry-after"))
            with contextlib.suppress(BudgetUnavailable):
                await asyncio.to_thread(
                    self.budget.penalize, _PAUSE_UNSAID_S if said is None else max(1.0, said)
                )
        headers = {
            name: value
            for name in ("content-type", "retry-after")
            if (value := response.headers.get(name)) is not None
        }
        # Should MyOperator ever quote the request, the token stays with the relay.
        content = response.content.replace(self._token.encode(), b"[redacted]")
        return Response(content, response.status_code, headers=headers)

    async def _cached(self, route: tuple[str, str], query: Params) -> Response:
        """The answer from Redis while fresh; else one request, however many desktops of
        this replica ask at once (they all get its answer), stored for the next."""
        method, path = route
        version = await self._engine.redis.get(self._ns + "users-version") or b"0"
        key = self._ns + "cache:" + hashlib.sha256(
            repr((method, path, sorted(query), version)).encode()
        ).hexdigest()
        stored: Any = await self._engine.redis.hgetall(key)
        if stored:
            return Response(
                stored[b"body"], 200, headers={"content-type": stored[b"type"].decode()}
            )
        asking = self._asking.get(key)
        if asking is None:
            asking = asyncio.ensure_future(self._fill(route, query, key))
            self._asking[key] = asking
            asking.add_done_callback(lambda _done: self._asking.pop(key, None))
        return await asyncio.shield(asking)

    async def _fill(self, route: tuple[str, str], query: Params, key: str) -> Response:
        method, path = route
        answer = await self._send(ROUTES[route], method, path, query, ())
        if answer.status_code == 200 and _clear_answer(answer) is None:
            with _best_effort("an answer could not be cached"):
                async with self._engine.redis.pipeline(transaction=True) as pipe:
                    pipe.hset(key, mapping={
                        "body": bytes(answer.body),
                        "type": answer.headers.get("content-type", "application/json"),
                    })
                    pipe.expire(key, CACHED_S[route])
                    await pipe.execute()
        return answer

    async def _call_back(self, agent: AgentRecord, form: Params) -> Response:
        asked = dict(form)
        try:
            params = validation.click_to_call_params(
                asked.get("customer_number", ""),
                asked.get("customer_cc") or None,
                asked.get("support_user_id", ""),
            )
        except ValidationError as exc:
            return envelope(400, exc.message)
        claim = await self._engine.claim_dial(
            params["customer_cc"] + params["customer_number"], agent.name, DIAL_GUARD_MS
        )
        if not claim.taken:
            now_ms = int(self._clock() * 1000)
            return envelope(409, guard_sentence(claim, agent.name, now_ms))
        answer = await self._send(
            Priority.RESERVED, "POST", "/clickOcall", (), tuple(params.items())
        )
        if isinstance(_clear_answer(answer), CLEAR_REFUSALS):
            # Nothing was placed (MyOperator refused, or the relay did not send: a 409,
            # read as `RelayRefused`): a colleague may call the customer now.
            with contextlib.suppress(*REDIS_DOWN):
                await self._engine.release_dial(claim)
        return answer


_STORE_DOWN: Final = "The relay cannot reach its store right now: nothing was sent; retry later."


@contextlib.contextmanager
def _best_effort(what: str) -> Iterator[None]:
    """Redis work the answer does not depend on: a failure is logged, not answered."""
    try:
        yield
    except redis.exceptions.RedisError as exc:
        log.warning("The relay's store failed: %s (%s)", what, type(exc).__name__)


def _clear_answer(answer: Response) -> MyOperatorError | None:
    """What the desktop's parser will make of `answer`: None for a success, else the error."""
    try:
        parsing.interpret_response(answer.status_code, answer.headers, bytes(answer.body))
    except MyOperatorError as exc:
        return exc
    return None

