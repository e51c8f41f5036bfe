"""The emulated service's webhooks: After Call and In-Call, posted as MyOperator posts them.

When a call is logged (a live arrival, a click-to-call's log, a call a test injects), the
emitter posts its In-Call events (``call_state`` 0 for each leg that rang agents, then 1
for the agent who answered) and its After Call record (the log record, with ``_id`` and
``uid``) to the configured URLs, with the configured auth header. A delivery that fails
(no connection, a timeout, any answer but 2xx) is tried again three times, 30 s apart,
then dropped: MyOperator's policy, which is why the team relay reconciles.

The faults a receiver must survive, as specs like the HTTP faults' (``kind:key=value,…``,
several joined with ``;``):

==========  ============================================================================
drop        the webhook is never sent (as if every retry had failed)
duplicate   the webhook is sent twice
late        the webhook waits ``ms`` (default 5000) before its first try
reorder     the call's webhooks go last first (After Call before its In-Call events)
==========  ============================================================================

Options: ``p=`` probability (seeded), ``count=`` fire that many times then retire,
``hook=after-call`` or ``hook=in-call`` only those.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import httpx

from desktop_app.sandbox.model import SandboxCall

if TYPE_CHECKING:
    from desktop_app.sandbox.state import SandboxState

log = logging.getLogger(__name__)

AFTER_CALL: Final = "after-call"
IN_CALL: Final = "in-call"
WEBHOOK_FAULT_KINDS: Final = ("drop", "duplicate", "late", "reorder")
#: MyOperator's retry policy: the first try and three more, 30 seconds apart.
ATTEMPTS: Final = 4
RETRY_INTERVAL_S: Final = 30.0
#: How often the emitter looks for calls that have ended without any request asking.
TICK_S: Final = 0.5


@dataclass
class WebhookFault:
    kind: str
    p: float = 1.0
    count: int | None = None
    ms: int = 5000
    hook: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in WEBHOOK_FAULT_KINDS:
            raise ValueError(
                f"unknown webhook fault {self.kind!r}; one of {', '.join(WEBHOOK_FAULT_KINDS)}"
            )
        if not 0 <= self.p <= 1:
            raise ValueError("p must be between 0 and 1")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1")
        if self.ms < 0:
            raise ValueError("ms must not be negative")
        if self.hook not in (None, AFTER_CALL, IN_CALL):
            raise ValueError(f"hook must be {AFTER_CALL} or {IN_CALL}")


def parse_webhook_faults(text: str) -> tuple[WebhookFault, ...]:
    """``drop:p=0.2;duplicate:count=1,hook=after-call`` as faults; ValueError says what is
    wrong."""
    faults = []
    for spec in (part.strip() for part in text.split(";")):
        if not spec:
            continue
        kind, _, options = spec.partition(":")
        values: dict[str, Any] = {}
        for option in (o.strip() for o in options.split(",") if o.strip()):
            key, equals, value = option.partition("=")
            if not equals:
                raise ValueError(f"webhook fault option {option!r} is not key=value")
            try:
                if key == "p":
                    values[key] = float(value)
                elif key in ("count", "ms"):
                    values[key] = int(value)
                elif key == "hook":
                    values[key] = value
                else:
                    raise ValueError(f"unknown webhook fault option {key!r}")
            except ValueError as exc:
                raise ValueError(f"webhook fault {spec!r}: {exc}") from None
        faults.append(WebhookFault(kind.strip(), **values))
    return tuple(faults)


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Where the emulated account posts its webhooks (None: that webhook is off)."""

    after_call_url: str | None = None
    in_call_url: str | None = None
    #: (header name, value) sent with every webhook.
    auth_header: tuple[str, str] | None = None
    faults: tuple[WebhookFault, ...] = ()
    attempts: int = ATTEMPTS
    retry_interval_s: float = RETRY_INTERVAL_S


def after_call_payload(call: SandboxCall) -> dict[str, Any]:
    """The After Call body: the call's log record, as ``/search`` gives it, with its id."""
    return {"_id": call.id, "uid": call.id, "user_id": call.agent_user_id, **call.to_source()}


def in_call_payloads(call: SandboxCall) -> list[dict[str, Any]]:
    """In-Call bodies in the order they happened: ringing for each leg that rang agents,
    then answered, naming the agent who took it."""
    def body(state: int, agents: tuple[Any, ...]) -> dict[str, Any]:
        return {
            "uid": call.id,
            "clid": call.caller_number,
            "call_state": state,
            "users": [
                {"name": a.name, "extension": a.extension, "user_id": a.user_id} for a in agents
            ],
        }

    bodies = [body(0, leg.agents) for leg in call.legs if leg.agents]
    answered = next((leg for leg in call.legs if leg.ds == "ANSWER" and leg.agents), None)
    if answered is not None:
        bodies.append(body(1, answered.agents[:1]))
    return bodies


@dataclass
class Delivery:
    """One webhook and what became of it, for tests and the log."""

    hook: str
    url: str
    payload: dict[str, Any]
    tries: int = 0
    statuses: list[int | None] = field(default_factory=list)
    #: "delivered", "dropped" (a fault), "given up" (every try failed), or "" while sending.
    outcome: str = ""


class WebhookEmitter:
    """Posts the webhooks of every call the state logs from now on; see the module
    docstring. Runs on the event loop it is started on; calls logged on other threads
    (a test injecting one) are handed over safely."""

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        seed: int = 7,
        http: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._rng = random.Random(f"{seed}/webhooks")
        self._faults = [WebhookFault(**vars(fault)) for fault in settings.faults]  # own counts
        self._http = http or httpx.AsyncClient(timeout=5.0)
        self._owns_http = http is None
        self._sleep = sleep
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.deliveries: list[Delivery] = []
        self._changed = asyncio.Event()

    async def follow(self, state: SandboxState, tick_s: float = TICK_S) -> None:
        """Post the webhooks of every call `state` logs, until cancelled. Looks for ended
        calls every `tick_s`, so they go out without any request asking."""
        self._loop = asyncio.get_running_loop()
        unsubscribe = state.on_logged(self.call_logged)
        try:
            while True:
                state.advance()
                await asyncio.sleep(tick_s)
        finally:
            unsubscribe()
            self._loop = None

    def call_logged(self, call: SandboxCall) -> None:
        """The state's listener: any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile
            loop.call_soon_threadsafe(self._send_call, call)

    async def wait_for(self, condition: Callable[[list[Delivery]], bool]) -> None:
        """Until `condition` holds of the deliveries (a test waits with its own timeout),
        on the emitter's own event loop only."""
        while not condition(self.deliveries):
            self._changed.clear()
            await self._changed.wait()

    async def aclose(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._owns_http:
            await self._http.aclose()

    # -- private -------------------------------------------------------------------------

    def _send_call(self, call: SandboxCall) -> None:
        if self._closed:  # handed over just before the emitter closed
            return
        planned = list(self._planned(call))
        if self._fires("reorder", None):
            planned.reverse()
        task = asyncio.get_running_loop().create_task(self._send_in_order(planned))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _planned(self, call: SandboxCall) -> Iterator[Delivery]:
        if self.settings.in_call_url:
            for payload in in_call_payloads(call):
                yield Delivery(IN_CALL, self.settings.in_call_url, payload)
        if self.settings.after_call_url:
            yield Delivery(AFTER_CALL, self.settings.after_call_url, after_call_payload(call))

    async def _send_in_order(self, planned: list[Delivery]) -> None:
        for delivery in planned:
            copies = 2 if self._fires("duplicate", delivery.hook) else 1
            if self._fires("drop", delivery.hook):
                self._record(delivery, "dropped")
                continue
            late = self._fires("late", delivery.hook)
            if late is not None:
                await self._sleep(late.ms / 1000)
            for _ in range(copies):
                copy = Delivery(delivery.hook, delivery.url, delivery.payload)
                self._record(copy, await self._deliver(copy))

    async def _deliver(self, delivery: Delivery) -> str:
        headers = dict([self.settings.auth_header]) if self.settings.auth_header else {}
        for attempt in range(self.settings.attempts):
            if attempt:
                await self._sleep(self.settings.retry_interval_s)
            delivery.tries += 1
            try:
                response = await self._http.post(
                    delivery.url, json=delivery.payload, headers=headers
                )
            except httpx.HTTPError:
                delivery.statuses.append(None)
                continue
            delivery.statuses.append(response.status_code)
            if 200 <= response.status_code < 300:
                return "delivered"
        log.info("A %s webhook was given up after %d tries", delivery.hook, delivery.tries)
        return "given up"

    def _record(self, delivery: Delivery, outcome: str) -> None:
        delivery.outcome = outcome
        self.deliveries.append(delivery)
        self._changed.set()

    def _fires(self, kind: str, hook: str | None) -> WebhookFault | None:
        for fault in self._faults:
            if fault.kind != kind or (hook is not None and fault.hook not in (None, hook)):
                continue
            if fault.count == 0 or self._rng.random() >= fault.p:
                continue
            if fault.count is not None:
                fault.count -= 1
            return fault
        return None
