"""The emulated service's webhooks into real relay replicas: a call's In-Call and After
Call events reach a desktop in order; a delivery refused while Redis is down is retried on
MyOperator's schedule and arrives; one nobody takes is given up after four tries; and with
webhooks dropped, duplicated, late and out of order, the relay's poll fills the gaps and
every desktop ends with every call exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import pytest

from desktop_app.api.client import BASE_URL_ENV
from desktop_app.relay.client import EventStream
from desktop_app.relay.config import POLL_ENV
from desktop_app.relay.engine import RelayEngine
from desktop_app.relay.events import EventKind
from desktop_app.sandbox import SandboxConfig, SandboxServer
from desktop_app.sandbox.state import SandboxState
from desktop_app.sandbox.webhooks import (
    AFTER_CALL,
    IN_CALL,
    Delivery,
    WebhookEmitter,
    WebhookSettings,
    parse_webhook_faults,
)
from tests.e2e.relay.conftest import HOOK_AUTH, Desktop, Replica
from tests.helpers.loopback import HISTORY_AGE_S
from tests.helpers.redis_server import RedisServer
from tests.helpers.sign_in import closed_port as closed_port
from tests.helpers.tokens import FAKE_TOKEN


def hooks(replica: Replica, faults: str = "") -> WebhookSettings:
    return WebhookSettings(
        after_call_url=replica.hook("after-call"),
        in_call_url=replica.hook("in-call"),
        auth_header=HOOK_AUTH,
        faults=parse_webhook_faults(faults),
    )


@pytest.fixture
def service() -> Iterator[Callable[[WebhookSettings], SandboxServer]]:
    """The emulated service, served with the given webhooks (started on demand: the
    relay's URL is known only once a replica runs)."""
    started: list[SandboxServer] = []

    def start(settings: WebhookSettings) -> SandboxServer:
        server = SandboxServer(
            SandboxConfig(
                n_logs=200,
                now=time.time() - HISTORY_AGE_S,
                rate_limit=None,
                tokens={FAKE_TOKEN: 2},
                webhooks=settings,
            )
        ).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def test_a_calls_in_call_and_after_call_events_reach_a_desktop_in_order(
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
    service: Callable[[WebhookSettings], SandboxServer],
) -> None:
    replica = start_relay()
    server = service(hooks(replica))
    desktop = Desktop(EventStream(replica.base_url, await engine.issue_credential("Priya")))
    try:
        await asyncio.wait_for(desktop.stream.caught_up.wait(), timeout=20)
        call = server.state.add_call(answered=True, caller_number="9811100077")

        await desktop.wait_until(lambda d: call.id in d.call_ids and any(
            e.kind is EventKind.CALL_ENDED and e.call_id == call.id for e in d.events
        ))

        kinds = [e.kind for e in desktop.events if e.call_id == call.id]
        assert kinds == [EventKind.CALL_RINGING, EventKind.CALL_ANSWERED, EventKind.CALL_ENDED]
        ringing = next(e for e in desktop.events if e.kind is EventKind.CALL_RINGING)
        assert ringing.body["caller"] == "+919811100077"
        assert ringing.body["agents"][0]["user_id"] == server.state.users[0].uuid
        ended = next(e for e in desktop.events if e.kind is EventKind.CALL_ENDED)
        assert ended.call_log().id == call.id
        assert ended.call_log().answered
    finally:
        await desktop.aclose()


async def emitter_following(
    emitter: WebhookEmitter, state: SandboxState
) -> asyncio.Task[None]:
    task = asyncio.ensure_future(emitter.follow(state, tick_s=0.05))
    await asyncio.sleep(0)  # subscribed before the test logs a call
    return task


async def test_a_webhook_refused_while_redis_is_down_is_retried_and_arrives(
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
    redis_server: RedisServer,
) -> None:
    replica = start_relay()
    waits: list[float] = []
    asked_to_wait = asyncio.Event()
    may_retry = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        asked_to_wait.set()
        await may_retry.wait()

    state = SandboxState(SandboxConfig(n_logs=10, rate_limit=None))
    emitter = WebhookEmitter(
        WebhookSettings(after_call_url=replica.hook("after-call"), auth_header=HOOK_AUTH),
        sleep=sleep,
    )
    following = await emitter_following(emitter, state)
    try:
        redis_server.stop()
        call = state.add_call(answered=False)
        async with asyncio.timeout(20):
            await asked_to_wait.wait()  # the first try was refused: the relay cannot store
            redis_server.start()
            may_retry.set()
            await emitter.wait_for(lambda done: len(done) == 1)
    finally:
        following.cancel()
        await emitter.aclose()

    [delivery] = emitter.deliveries
    assert (delivery.outcome, delivery.statuses, waits) == ("delivered", [503, 200], [30.0])
    assert [e.call_id for e in await engine.events_after("0-0")] == [call.id]


async def test_a_webhook_nobody_takes_is_given_up_after_four_tries(closed_port: int) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    state = SandboxState(SandboxConfig(n_logs=10, rate_limit=None))
    emitter = WebhookEmitter(
        WebhookSettings(after_call_url=f"http://127.0.0.1:{closed_port}/hooks/x/after-call"),
        sleep=sleep,
    )
    following = await emitter_following(emitter, state)
    try:
        state.add_call()
        async with asyncio.timeout(20):
            await emitter.wait_for(lambda done: len(done) == 1)
    finally:
        following.cancel()
        await emitter.aclose()

    [delivery] = emitter.deliveries
    assert (delivery.outcome, delivery.tries, delivery.statuses) == ("given up", 4, [None] * 4)
    assert waits == [30.0, 30.0, 30.0]


def outcomes(deliveries: list[Delivery], hook: str) -> list[str]:
    return [d.outcome for d in deliveries if d.hook == hook]


async def test_through_dropped_duplicated_late_and_reordered_webhooks_every_desktop_ends_with_every_call_once(  # noqa: E501
    relay_environ: dict[str, str],
    start_relay: Callable[[], Replica],
    engine: RelayEngine,
    service: Callable[[WebhookSettings], SandboxServer],
) -> None:
    first = start_relay()
    server = service(
        hooks(first, "drop:count=3,hook=after-call;duplicate:p=0.5;late:ms=300,p=0.3;reorder:p=0.5")
    )
    # A second replica that polls the service: it finds what the webhooks dropped.
    relay_environ.update(
        # Every 4 s: the minute's background share (15) lasts, however slow the start.
        {"MYOPERATOR_TOKEN": FAKE_TOKEN, BASE_URL_ENV: server.base_url, POLL_ENV: "4"}
    )
    second = start_relay()
    credentials = [await engine.issue_credential(f"Agent {n}") for n in range(4)]
    desktops = [
        Desktop(EventStream((first, second)[n % 2].base_url, credential))
        for n, credential in enumerate(credentials)
    ]
    try:
        for desktop in desktops:
            await asyncio.wait_for(desktop.stream.caught_up.wait(), timeout=20)
        calls = [
            server.state.add_call(answered=n % 3 != 0, caller_number=f"98111{n:05d}")
            for n in range(12)
        ]
        wanted = {call.id for call in calls}

        def has_every_call_ended(desktop: Desktop) -> bool:
            ended = {e.call_id for e in desktop.events if e.kind is EventKind.CALL_ENDED}
            return wanted <= ended

        for desktop in desktops:
            await desktop.wait_until(has_every_call_ended)

        emitter = server.state.webhooks
        assert emitter is not None
        def every_after_call_handled() -> bool:
            handled = list(emitter.deliveries)  # appended on the service's thread
            return wanted <= {d.payload["uid"] for d in handled if d.hook == AFTER_CALL}

        async with asyncio.timeout(20):  # polled: no event crosses the service's thread
            while not every_after_call_handled():  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert outcomes(emitter.deliveries, AFTER_CALL).count("dropped") == 3
        sent = [d.payload for d in emitter.deliveries if d.outcome == "delivered"]
        assert len(sent) > len({(p.get("uid"), p.get("call_state")) for p in sent})  # dupes
        for desktop in desktops:
            ended = [e.call_id for e in desktop.events if e.kind is EventKind.CALL_ENDED]
            assert sorted(i for i in ended if i in wanted) == sorted(wanted)  # once each
            in_call = [(e.call_id, e.kind) for e in desktop.events if e.kind is not
                       EventKind.CALL_ENDED]
            assert len(in_call) == len(set(in_call))
        assert outcomes(emitter.deliveries, IN_CALL)
    finally:
        for desktop in desktops:
            await desktop.aclose()
